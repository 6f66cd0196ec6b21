// The batch in hand: messages, their offsets, and the merge and drop that failures and revokes need.
#include "batch.h"

#include <algorithm>
#include <iterator>

namespace sg {
namespace ingest {

void Batch::Clear() {
  append.events.clear();
  append.quarantined.clear();
  append.offsets.clear();
  offsets.clear();
  rewound.clear();
  msgs = bytes = 0;
}

void Batch::Count(const TopicPartition& tp, int64_t offset, size_t payload_bytes) {
  auto [it, inserted] = offsets.try_emplace(tp, offset);
  if (!inserted) it->second = std::max(it->second, offset);
  ++msgs;
  bytes += payload_bytes;
}

void Batch::Absorb(Batch* newer) {
  auto& ev = append.events;
  ev.insert(ev.end(), std::make_move_iterator(newer->append.events.begin()),
            std::make_move_iterator(newer->append.events.end()));
  auto& q = append.quarantined;
  q.insert(q.end(), std::make_move_iterator(newer->append.quarantined.begin()),
           std::make_move_iterator(newer->append.quarantined.end()));
  for (const auto& [tp, off] : newer->offsets) {
    int64_t& o = offsets.try_emplace(tp, off).first->second;
    o = std::max(o, off);
  }
  rewound.insert(newer->rewound.begin(), newer->rewound.end());
  msgs += newer->msgs;
  bytes += newer->bytes;
  newer->Clear();
}

size_t Batch::Drop(const std::set<TopicPartition>& gone) {
  auto is_gone = [&](const spool::SourceRef& s) { return gone.count(TopicPartition(s.topic, s.partition)) > 0; };
  size_t dropped = 0;
  size_t dropped_bytes = 0;
  auto& ev = append.events;
  for (auto it = ev.begin(); it != ev.end();) {
    if (is_gone(it->source)) {
      ++dropped, dropped_bytes += it->payload.size();
      it = ev.erase(it);
    } else {
      ++it;
    }
  }
  auto& q = append.quarantined;
  for (auto it = q.begin(); it != q.end();) {
    if (is_gone(it->source)) {
      ++dropped, dropped_bytes += it->payload.size();
      it = q.erase(it);
    } else {
      ++it;
    }
  }
  for (const TopicPartition& tp : gone) offsets.erase(tp), rewound.erase(tp);
  msgs -= dropped;
  bytes -= dropped_bytes;
  return dropped;
}

void Batch::SetSpoolOffsets() {
  append.offsets.clear();
  for (const auto& [tp, off] : offsets) {
    append.offsets.push_back(spool::PartitionOffset{tp.first, tp.second, off, rewound.count(tp) > 0});
  }
}

}  // namespace ingest
}  // namespace sg
