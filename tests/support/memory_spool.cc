#include "memory_spool.h"

#include <algorithm>
#include <chrono>

namespace sg::testing {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// As the RocksDB spool's ValidateRoute.
Status ValidateRoute(const std::string& route) {
  if (route.empty()) return Status::InvalidArgument("event has an empty route");
  if (route.find('\0') != std::string::npos || route.size() > 1024) {
    return Status::InvalidArgument("route name has a NUL byte or is longer than 1024 bytes");
  }
  return Status::OK();
}

}  // namespace

MemorySpool::MemorySpool(spool::SpoolOptions options) : options_(std::move(options)) {}

void MemorySpool::SetFault(std::function<Status(std::string_view op)> fault) {
  std::lock_guard<std::mutex> l(mu_);
  fault_ = std::move(fault);
}

Status MemorySpool::FaultLocked(std::string_view op) {
  return fault_ ? fault_(op) : Status::OK();
}

void MemorySpool::PromoteInFlight() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [key, range] : in_flight_) in_doubt_[key] = range;
  in_flight_.clear();
}

std::vector<spool::InDoubtRange> MemorySpool::InFlight() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<spool::InDoubtRange> out;
  for (const auto& [key, range] : in_flight_) out.push_back(range);
  return out;
}

uint64_t MemorySpool::redundant_acks() {
  std::lock_guard<std::mutex> l(mu_);
  return redundant_acks_;
}

uint64_t MemorySpool::acked_payload_bytes_held() {
  std::lock_guard<std::mutex> l(mu_);
  return acked_payload_bytes_held_;
}

Status MemorySpool::Append(const spool::AppendBatch& batch) {
  for (const spool::NewEvent& e : batch.events) {
    if (Status s = ValidateRoute(e.route); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("append"); !s.ok()) return s;
  // The recorded mark of each partition, as it was before this batch; a rewound partition has none.
  std::map<std::pair<std::string, int32_t>, int64_t> marks = offsets_;
  for (const spool::PartitionOffset& o : batch.offsets) {
    if (o.rewound) marks.erase({o.topic, o.partition});
  }
  auto spooled = [&](const spool::SourceRef& src) {
    if (src.topic.empty() || src.offset < 0) return false;
    auto it = marks.find({src.topic, src.partition});
    return it != marks.end() && src.offset <= it->second;
  };
  uint64_t bytes = 0;
  size_t skipped = 0;
  for (const spool::NewEvent& e : batch.events) {
    if (spooled(e.source)) {
      ++skipped;
    } else {
      bytes += e.payload.size();
    }
  }
  for (const spool::QuarantinedMessage& q : batch.quarantined) skipped += spooled(q.source) ? 1 : 0;
  duplicates_skipped_ += skipped;
  if (bytes > 0 && UsedBytesLocked() + bytes > options_.max_bytes) {
    return Status::Full("memory spool is full");
  }
  const int64_t now = NowMs();
  for (const spool::NewEvent& e : batch.events) {
    if (spooled(e.source)) continue;
    spool::PendingEvent pe;
    pe.seq = next_seq_++;
    pe.payload = e.payload;
    pe.payload_bytes = e.payload.size();
    pe.source = e.source;
    pe.enqueued_ms = now;
    pending_[e.route].emplace(pe.seq, std::move(pe));
    routes_.insert(e.route);
    ++appended_;
  }
  for (const spool::QuarantinedMessage& q : batch.quarantined) {
    if (spooled(q.source)) continue;
    spool::FailedBatch fb;
    fb.id = next_batch_id_++;
    fb.route = q.route;
    fb.why = q.why;
    if (fb.why.first_failure_ms == 0) fb.why.first_failure_ms = now;
    if (fb.why.last_failure_ms == 0) fb.why.last_failure_ms = now;
    spool::PendingEvent pe;
    pe.payload = q.payload;
    pe.payload_bytes = q.payload.size();
    pe.source = q.source;
    pe.enqueued_ms = now;
    fb.bytes = static_cast<int64_t>(q.payload.size());
    fb.events.push_back(std::move(pe));
    failed_.emplace(fb.id, std::move(fb));
    ++quarantined_;
  }
  for (const spool::PartitionOffset& o : batch.offsets) {
    auto it = offsets_.find({o.topic, o.partition});
    if (o.rewound || it == offsets_.end() || o.offset > it->second) offsets_[{o.topic, o.partition}] = o.offset;
  }
  return Status::OK();
}

Status MemorySpool::Read(const std::string& route, uint64_t after_seq, size_t max_events, size_t max_bytes,
                         std::vector<spool::PendingEvent>* out) {
  out->clear();
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("read"); !s.ok()) return s;
  if (max_events == 0) return Status::OK();
  auto r = pending_.find(route);
  if (r == pending_.end()) return Status::OK();
  size_t bytes = 0;
  for (auto it = r->second.upper_bound(after_seq); it != r->second.end() && out->size() < max_events; ++it) {
    if (!out->empty() && bytes + it->second.payload.size() > max_bytes) break;
    bytes += it->second.payload.size();
    out->push_back(it->second);
  }
  return Status::OK();
}

Status MemorySpool::Ack(const std::string& route, const std::vector<spool::PendingEvent>& events) {
  return Ack(route, events, 0, events.size());
}

Status MemorySpool::Ack(const std::string& route, const std::vector<spool::PendingEvent>& events, size_t begin,
                        size_t end) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("ack"); !s.ok()) return s;
  if (end > events.size() || begin > end) return Status::InvalidArgument("ack range out of bounds");
  for (size_t i = begin + 1; i < end; ++i) {
    if (events[i].seq <= events[i - 1].seq) return Status::InvalidArgument("ack events are not in seq order");
  }
  auto& route_events = pending_[route];
  for (size_t i = begin; i < end; ++i) {
    // The real spool takes this size off its byte count without reading the event (SpoolImpl::Ack):
    // a caller that lost it would drift the count there, so it is checked here.
    auto stored = route_events.find(events[i].seq);
    const uint64_t told = std::max<uint64_t>(events[i].payload_bytes, events[i].payload.size());
    if (stored != route_events.end() && told != stored->second.payload.size()) {
      return Status::InvalidArgument("ack of seq " + std::to_string(events[i].seq) + " tells " +
                                     std::to_string(told) + " payload bytes, " +
                                     std::to_string(stored->second.payload.size()) + " spooled");
    }
  }
  for (size_t i = begin; i < end; ++i) {
    acked_payload_bytes_held_ += events[i].payload.size();
    if (route_events.erase(events[i].seq) > 0) {
      ++acked_;
    } else {
      ++redundant_acks_;
    }
  }
  return Status::OK();
}

Status MemorySpool::Fail(const std::string& route, const std::vector<uint64_t>& seqs, const spool::FailureInfo& why,
                         uint64_t* batch_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("fail"); !s.ok()) return s;
  if (seqs.empty()) return Status::InvalidArgument("fail needs at least one event");
  auto& route_events = pending_[route];
  for (uint64_t seq : seqs) {
    if (route_events.count(seq) == 0) {
      return Status::NotFound("route " + route + " has no pending event " + std::to_string(seq));
    }
  }
  spool::FailedBatch fb;
  fb.id = next_batch_id_++;
  fb.route = route;
  fb.why = why;
  const int64_t now = NowMs();
  if (fb.why.first_failure_ms == 0) fb.why.first_failure_ms = now;
  if (fb.why.last_failure_ms == 0) fb.why.last_failure_ms = now;
  for (uint64_t seq : seqs) {
    auto it = route_events.find(seq);
    fb.bytes += static_cast<int64_t>(it->second.payload.size());
    fb.events.push_back(std::move(it->second));
    route_events.erase(it);
  }
  if (batch_id != nullptr) *batch_id = fb.id;
  failed_.emplace(fb.id, std::move(fb));
  return Status::OK();
}

Status MemorySpool::Requeue(uint64_t batch_id, size_t* moved) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("requeue"); !s.ok()) return s;
  auto it = failed_.find(batch_id);
  if (it == failed_.end()) return Status::NotFound("no failed batch " + std::to_string(batch_id));
  if (it->second.route.empty()) {
    return Status::InvalidArgument("failed batch " + std::to_string(batch_id) + " has no route");
  }
  const std::string route = it->second.route;
  for (spool::PendingEvent& e : it->second.events) {
    e.seq = next_seq_++;  // the original enqueue time is kept
    pending_[route].emplace(e.seq, std::move(e));
  }
  routes_.insert(route);
  if (moved != nullptr) *moved = it->second.events.size();
  failed_.erase(it);
  return Status::OK();
}

Status MemorySpool::Drop(uint64_t batch_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("drop"); !s.ok()) return s;
  if (failed_.erase(batch_id) == 0) return Status::NotFound("no failed batch " + std::to_string(batch_id));
  return Status::OK();
}

Status MemorySpool::ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                               std::vector<spool::FailedBatch>* out) const {
  out->clear();
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = failed_.upper_bound(after_id); it != failed_.end() && out->size() < limit; ++it) {
    if (!route_filter.empty() && it->second.route != route_filter) continue;
    out->push_back(it->second);
  }
  return Status::OK();
}

Status MemorySpool::GetFailed(uint64_t batch_id, spool::FailedBatch* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = failed_.find(batch_id);
  if (it == failed_.end()) return Status::NotFound("no failed batch " + std::to_string(batch_id));
  *out = it->second;
  return Status::OK();
}

Status MemorySpool::MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("mark"); !s.ok()) return s;
  in_flight_[{route, first_seq}] = spool::InDoubtRange{route, first_seq, last_seq, NowMs()};
  return Status::OK();
}

Status MemorySpool::ClearInFlight(const std::string& route, uint64_t first_seq) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("clear_mark"); !s.ok()) return s;
  in_flight_.erase({route, first_seq});
  return Status::OK();
}

Status MemorySpool::InDoubt(std::vector<spool::InDoubtRange>* out) const {
  out->clear();
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, range] : in_doubt_) out->push_back(range);
  return Status::OK();
}

Status MemorySpool::ClearInDoubt(const std::string& route, uint64_t first_seq) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = FaultLocked("clear_in_doubt"); !s.ok()) return s;
  in_doubt_.erase({route, first_seq});
  return Status::OK();
}

std::vector<std::string> MemorySpool::Routes() const {
  std::lock_guard<std::mutex> l(mu_);
  return {routes_.begin(), routes_.end()};
}

Status MemorySpool::Stats(spool::SpoolStats* out) {
  *out = spool::SpoolStats();
  std::lock_guard<std::mutex> l(mu_);
  for (const std::string& route : routes_) {
    spool::RouteStats& rs = out->routes[route];
    for (const auto& [seq, e] : pending_[route]) {
      if (rs.pending_events == 0) rs.oldest_enqueued_ms = e.enqueued_ms;
      ++rs.pending_events;
      rs.pending_bytes += e.payload.size();
    }
    out->used_bytes += rs.pending_bytes;
  }
  std::vector<spool::InDoubtRange> doubt;
  for (const auto& [key, range] : in_doubt_) doubt.push_back(range);
  for (const spool::InDoubtRange& r : spool::MergeInDoubt(std::move(doubt))) {
    const auto& events = pending_[r.route];
    uint64_t n = 0;
    for (auto it = events.lower_bound(r.first_seq); it != events.end() && it->first <= r.last_seq; ++it) ++n;
    out->routes[r.route].in_doubt_events += n;
  }
  for (const auto& [id, fb] : failed_) {
    ++out->failed_batches;
    out->failed_events += fb.events.size();
    out->failed_bytes += static_cast<uint64_t>(fb.bytes);
  }
  out->max_bytes = options_.max_bytes;
  out->failed_max_bytes = options_.failed_max_bytes > 0 ? options_.failed_max_bytes : options_.max_bytes / 4;
  out->appended_total = appended_;
  out->acked_total = acked_;
  out->quarantined_total = quarantined_;
  out->duplicates_skipped = duplicates_skipped_;
  return Status::OK();
}

Status MemorySpool::SourceOffsets(std::vector<spool::PartitionOffset>* out) const {
  std::lock_guard<std::mutex> l(mu_);
  out->clear();
  for (const auto& [tp, offset] : offsets_) out->push_back({tp.first, tp.second, offset});
  return Status::OK();
}

int64_t MemorySpool::SourceOffset(const std::string& topic, int32_t partition) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = offsets_.find({topic, partition});
  return it == offsets_.end() ? -1 : it->second;
}

uint64_t MemorySpool::UsedBytesLocked() const {
  uint64_t used = 0;
  for (const auto& [route, events] : pending_) {
    for (const auto& [seq, e] : events) used += e.payload.size();
  }
  return used;
}

uint64_t MemorySpool::UsedBytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return UsedBytesLocked();
}

bool MemorySpool::AboveHighWatermark() const {
  return static_cast<double>(UsedBytes()) >= options_.high_watermark * static_cast<double>(options_.max_bytes);
}

bool MemorySpool::BelowLowWatermark() const {
  return static_cast<double>(UsedBytes()) < options_.low_watermark * static_cast<double>(options_.max_bytes);
}

}  // namespace sg::testing
