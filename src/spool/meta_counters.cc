// Meta counters: see meta_counters.h. The merge operator, and SpoolImpl's side of the counters:
// loading them at open, adding a change's deltas to its WriteBatch, and applying them to the
// in-memory mirror once that write succeeded.
#include "meta_counters.h"

#include <algorithm>
#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

#include "coding.h"
#include "spool_impl.h"

namespace sg::spool {
namespace {

bool StartsWith(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}

// Meta merge: offsets and high-water marks keep the maximum, counters add up. Both are
// commutative, so concurrent appends that commit in either order leave the same value.
class MetaMergeOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    bool is_max = StartsWith(key, kMetaOffsetPrefix) || StartsWith(key, kHwmPrefix);
    int64_t v = DecodeI64(value);
    if (existing != nullptr) {
      int64_t e = DecodeI64(*existing);
      v = is_max ? std::max(e, v) : e + v;
    }
    *new_value = EncodeI64(v);
    return true;
  }
  const char* Name() const override { return "sg.MetaMerge"; }
};

}  // namespace

std::string EncodeI64(int64_t v) {
  std::string s;
  PutFixed64BE(&s, static_cast<uint64_t>(v));
  return s;
}

int64_t DecodeI64(const rocksdb::Slice& s) {
  if (s.size() != 8) return 0;
  return static_cast<int64_t>(DecodeFixed64BE(s.data()));
}

std::shared_ptr<rocksdb::MergeOperator> NewMetaMergeOperator() { return std::make_shared<MetaMergeOperator>(); }

const SpoolImpl::Counter SpoolImpl::kCounters[6] = {
    {kCtrFailedBatches, &SpoolImpl::failed_batches_, &Deltas::failed_batches},
    {kCtrFailedEvents, &SpoolImpl::failed_events_, &Deltas::failed_events},
    {kCtrFailedBytes, &SpoolImpl::failed_bytes_, &Deltas::failed_bytes},
    {kCtrAppended, &SpoolImpl::appended_, &Deltas::appended},
    {kCtrAcked, &SpoolImpl::acked_, &Deltas::acked},
    {kCtrQuarantined, &SpoolImpl::quarantined_, &Deltas::quarantined},
};

Status SpoolImpl::LoadMeta() {
  std::lock_guard<std::mutex> l(mu_);
  routes_.clear();
  offsets_.clear();
  failed_batches_ = failed_events_ = failed_bytes_ = appended_ = acked_ = quarantined_ = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view key(k.data(), k.size());
    if (key.starts_with(kMetaRoutePrefix)) {
      routes_[std::string(key.substr(kMetaRoutePrefix.size()))];
    } else if (key.starts_with(kMetaOffsetPrefix)) {
      std::string topic;
      int32_t partition = 0;
      if (ParseOffsetKey(key, &topic, &partition)) offsets_[{topic, partition}] = DecodeI64(it->value());
    } else if (key.starts_with(kCtrRouteEvents)) {
      routes_[std::string(key.substr(kCtrRouteEvents.size()))].events = DecodeI64(it->value());
    } else if (key.starts_with(kCtrRouteBytes)) {
      routes_[std::string(key.substr(kCtrRouteBytes.size()))].bytes = DecodeI64(it->value());
    } else if (key == kHwmSeq) {
      next_seq_ = std::max<uint64_t>(next_seq_, static_cast<uint64_t>(DecodeI64(it->value())));
    } else if (key == kHwmBatch) {
      next_batch_id_ = std::max<uint64_t>(next_batch_id_, static_cast<uint64_t>(DecodeI64(it->value())));
    } else {
      for (const Counter& c : kCounters) {
        if (key == c.key) this->*c.value = DecodeI64(it->value());
      }
    }
  }
  return FromRocks(it->status(), "cannot read spool meta");
}

void SpoolImpl::AddDeltasToBatch(const Deltas& d, rocksdb::WriteBatch* wb) {
  for (const auto& [route, eb] : d.route) {
    if (eb.first != 0) wb->Merge(meta_, std::string(kCtrRouteEvents) + route, EncodeI64(eb.first));
    if (eb.second != 0) wb->Merge(meta_, std::string(kCtrRouteBytes) + route, EncodeI64(eb.second));
  }
  for (const Counter& c : kCounters) {
    if (d.*c.delta != 0) wb->Merge(meta_, c.key, EncodeI64(d.*c.delta));
  }
  for (const PartitionOffset& o : d.offsets) {
    if (o.rewound) {
      wb->Put(meta_, OffsetKey(o.topic, o.partition), EncodeI64(o.offset));  // a Put ends the max merge
    } else {
      wb->Merge(meta_, OffsetKey(o.topic, o.partition), EncodeI64(o.offset));
    }
  }
}

void SpoolImpl::ApplyDeltasLocked(const Deltas& d) {
  for (const auto& [route, eb] : d.route) {
    RouteState& r = routes_[route];
    r.events += eb.first;
    r.bytes += eb.second;
  }
  for (const Counter& c : kCounters) this->*c.value += d.*c.delta;
  for (const PartitionOffset& o : d.offsets) {
    int64_t& cur = offsets_.try_emplace({o.topic, o.partition}, -1).first->second;
    cur = o.rewound ? o.offset : std::max(cur, o.offset);
  }
  if (d.failed_bytes != 0) WarnFailedBudgetLocked();
}

}  // namespace sg::spool
