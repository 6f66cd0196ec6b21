// MemorySpool: the Spool interface in memory, for unit tests of the stages that use a spool (the
// drainer above all), without RocksDB or a disk.
//
// It mirrors the semantics of the RocksDB spool (src/spool/spool.cc) that a caller can observe:
//  - Sequence numbers are one counter across routes, from 1, in append order; Read returns a
//    route's pending events with seq > after_seq in seq order, at most max_events and max_bytes of
//    payload (at least one event when any is pending); an unknown route reads empty.
//  - Append validates routes, is idempotent over the recorded Kafka offsets (an event or
//    quarantined message at or below its partition's offset is skipped and counted, unless the
//    batch rewinds that partition), refuses with Full past max_bytes of pending payload, and puts
//    quarantined messages into failed batches of their own. All of it at once or nothing.
//  - Ack takes events in seq order (InvalidArgument otherwise) and counts only those still pending.
//  - Fail moves the given pending events into one new failed batch (NotFound, nothing moved, when
//    one is not pending); Requeue puts a failed batch back at the tail of its route with new seqs
//    and its events' enqueue times; Drop deletes it; ListFailed/GetFailed read them.
//  - In-flight marks keyed by (route, first_seq), replaced when marked again; in-doubt ranges
//    listed by route then first seq; Stats counts each pending event in doubt once (MergeInDoubt).
//  - Watermarks and UsedBytes from the pending payload bytes, as the real spool's.
// It does not model durability: nothing is written anywhere, there is no fsync, ack-sync window,
// run record or power-loss head range, no reopen after an I/O error, no corrupt records, no
// read-only or secondary open; CatchUp does nothing and disk_bytes is 0. A test makes a previous
// run's in-flight marks "in doubt" with PromoteInFlight (what the writer's next open does), and
// makes any operation fail with SetFault.
//
// Thread-safe: every method takes one mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sentinel_gateway/spool.h"

namespace sg::testing {

class MemorySpool : public spool::Spool {
 public:
  // Of the options, max_bytes, the watermarks and failed_max_bytes apply; the rest is ignored.
  explicit MemorySpool(spool::SpoolOptions options = spool::SpoolOptions());

  // Test hooks.
  // A fault: called with the operation's name ("append", "read", "ack", "fail", "requeue",
  // "drop", "mark", "clear_mark", "clear_in_doubt") before it runs; a non-OK Status fails it with
  // nothing changed. Unset (the default): every operation runs.
  void SetFault(std::function<Status(std::string_view op)> fault);
  // What a writer's next open does after a process stopped mid-request: every in-flight mark
  // becomes an in-doubt range.
  void PromoteInFlight();
  // The in-flight marks now set, by route then first seq.
  std::vector<spool::InDoubtRange> InFlight();
  // Ack calls that named an event no longer pending (a double ack): 0 for a correct caller.
  uint64_t redundant_acks();
  // Payload bytes the acked events still held when their ack came (0 once a reader releases each
  // payload when it is done with it, as the drainer does after shaping).
  uint64_t acked_payload_bytes_held();

  // Spool.
  Status Append(const spool::AppendBatch& batch) override;
  Status Read(const std::string& route, uint64_t after_seq, size_t max_events, size_t max_bytes,
              std::vector<spool::PendingEvent>* out) override;
  Status Ack(const std::string& route, const std::vector<spool::PendingEvent>& events) override;
  Status Ack(const std::string& route, const std::vector<spool::PendingEvent>& events, size_t begin,
             size_t end) override;
  Status Fail(const std::string& route, const std::vector<uint64_t>& seqs, const spool::FailureInfo& why,
              uint64_t* batch_id) override;
  Status Requeue(uint64_t batch_id, size_t* moved) override;
  Status Drop(uint64_t batch_id) override;
  Status ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                    std::vector<spool::FailedBatch>* out) const override;
  Status GetFailed(uint64_t batch_id, spool::FailedBatch* out) const override;
  Status MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) override;
  Status ClearInFlight(const std::string& route, uint64_t first_seq) override;
  Status InDoubt(std::vector<spool::InDoubtRange>* out) const override;
  Status ClearInDoubt(const std::string& route, uint64_t first_seq) override;
  std::vector<std::string> Routes() const override;
  Status Stats(spool::SpoolStats* out) override;
  Status SourceOffsets(std::vector<spool::PartitionOffset>* out) const override;
  int64_t SourceOffset(const std::string& topic, int32_t partition) const override;
  bool AboveHighWatermark() const override;
  bool BelowLowWatermark() const override;
  uint64_t UsedBytes() const override;
  Status CatchUp() override { return Status::OK(); }
  const std::string& path() const override { return path_; }

 private:
  using Marks = std::map<std::pair<std::string, uint64_t>, spool::InDoubtRange>;  // (route, first_seq)

  Status FaultLocked(std::string_view op);
  uint64_t UsedBytesLocked() const;

  const spool::SpoolOptions options_;
  const std::string path_ = "memory:";
  mutable std::mutex mu_;
  std::function<Status(std::string_view)> fault_;
  std::map<std::string, std::map<uint64_t, spool::PendingEvent>> pending_;  // route -> seq -> event
  std::set<std::string> routes_;  // every route that ever held events
  std::map<uint64_t, spool::FailedBatch> failed_;
  std::map<std::pair<std::string, int32_t>, int64_t> offsets_;
  Marks in_flight_;
  Marks in_doubt_;
  uint64_t next_seq_ = 1;
  uint64_t next_batch_id_ = 1;
  uint64_t appended_ = 0, acked_ = 0, quarantined_ = 0, duplicates_skipped_ = 0;
  uint64_t redundant_acks_ = 0;
  uint64_t acked_payload_bytes_held_ = 0;
};

}  // namespace sg::testing
