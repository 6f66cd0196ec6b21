// Batch: the messages of one or more poll cycles that go to the spool in one atomic append,
// with the highest offset per partition they carry.
//
// Guarantees: the spool offsets a batch hands over (SetSpoolOffsets) are exactly the highest
// offset of each partition whose messages it holds; merging keeps the older batch's messages
// first, so a failed batch retried together with the next one keeps the Kafka order; dropping a
// partition removes its messages and its offset together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "sentinel_gateway/spool.h"

namespace sg {
namespace ingest {

using TopicPartition = std::pair<std::string, int32_t>;

struct Batch {
  spool::AppendBatch append;
  std::map<TopicPartition, int64_t> offsets;  // highest offset per partition in the batch
  std::set<TopicPartition> rewound;  // partitions whose recorded offset this batch lowers
  size_t msgs = 0;
  size_t bytes = 0;

  void Clear();
  // Counts a message of `tp` at `offset` whose payload is `bytes` long (the event or quarantined
  // message itself is added to `append` by the caller).
  void Count(const TopicPartition& tp, int64_t offset, size_t bytes);
  // Moves the messages of `newer` behind this batch's and clears `newer`.
  void Absorb(Batch* newer);
  // Removes every message and the offset of the partitions in `gone`; returns the messages removed.
  size_t Drop(const std::set<TopicPartition>& gone);
  // Sets append.offsets, what the spool records in the same write as the events.
  void SetSpoolOffsets();
};

}  // namespace ingest
}  // namespace sg
