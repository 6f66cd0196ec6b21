// Meta counters: the spool's counters and high-water marks in its "meta" column family, and the
// RocksDB merge operator that keeps them (internal to src/spool).
//
// Every counter (events appended, acked, quarantined; the failed area's batches, events and
// bytes; each route's pending events and bytes), every high-water mark (next seq, next batch id)
// and every partition's offset is a merge operand written in the same WriteBatch as the data it
// describes: it is exactly as durable as that data, and opening the spool reads the meta family
// only, never the events. The merge is commutative (counters add up, offsets and high-water marks
// keep the maximum), so concurrent writes that commit in either order leave the same value.
//
// SpoolImpl mirrors the counters in memory (SpoolImpl::Deltas, SpoolImpl::kCounters) and changes
// the mirror only after the write that carries the deltas succeeded; its LoadMeta,
// AddDeltasToBatch and ApplyDeltasLocked are defined in meta_counters.cc beside the operator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <rocksdb/slice.h>

namespace rocksdb {
class MergeOperator;
}

namespace sg::spool {

constexpr std::string_view kHwmPrefix = "hwm/";
constexpr char kHwmSeq[] = "hwm/seq";
constexpr char kHwmBatch[] = "hwm/batch";
constexpr char kCtrAppended[] = "ctr/appended";
constexpr char kCtrAcked[] = "ctr/acked";
constexpr char kCtrQuarantined[] = "ctr/quarantined";
constexpr char kCtrFailedBatches[] = "ctr/failed_batches";
constexpr char kCtrFailedEvents[] = "ctr/failed_events";
constexpr char kCtrFailedBytes[] = "ctr/failed_bytes";
constexpr std::string_view kCtrRouteEvents = "ctr/pe/";
constexpr std::string_view kCtrRouteBytes = "ctr/pb/";

// A counter's or mark's value: a big-endian 64-bit integer (a merge operand, or a Put of a
// rewound partition's offset).
std::string EncodeI64(int64_t v);
// 0 for a value that is not 8 bytes long.
int64_t DecodeI64(const rocksdb::Slice& s);

// The meta column family's merge operator ("sg.MetaMerge"; the name is recorded in the spool's
// OPTIONS, so it must not change): the maximum for offsets and high-water marks, the sum for
// everything else.
std::shared_ptr<rocksdb::MergeOperator> NewMetaMergeOperator();

}  // namespace sg::spool
