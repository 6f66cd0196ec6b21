// RocksDB implementation of sg::Spool: the operations (append, read, ack, fail, requeue, drop,
// marks, stats). See include/sentinel_gateway/spool.h for the guarantees.
//
// Column families: "pending" (route\0seq -> event), "failed" (batch id -> failed batch), "meta"
// (format version, routes, per-partition offsets, counters). Counters and high-water marks are
// merge operands (add / max) written in the same WriteBatch as the data they describe, so opening
// reads only the meta family and never scans the events (meta_counters.h). Opening the database is
// in spool_open.cc; the writer's decorator that reopens it after an I/O error and Spool::Open are
// in reopening_spool.cc.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "coding.h"
#include "meta_counters.h"
#include "sentinel_gateway/spool.h"
#include "spool_impl.h"

namespace sg::spool {
namespace {

namespace fs = std::filesystem;

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsNotSupported()) return Status::Unsupported(msg);
  if (s.IsNoSpace()) return Status::IOError(msg + " (disk full)");
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

Status SpoolImpl::Write(rocksdb::WriteBatch* wb, bool sync, std::string_view what) {
  // After an I/O error (disk full) RocksDB refuses writes until resumed; try that first so the
  // spool works again as soon as the cause is gone.
  if (need_resume_.load()) {
    rocksdb::Status rs = db_->Resume();
    if (rs.IsBusy()) {
      // RocksDB's own background recovery is under way. Writing now would reuse the WAL writer
      // that failed (RocksDB asserts on that); the caller retries.
      return Status::IOError(fmt::format("spool {} waits for RocksDB to recover from an I/O error", what));
    }
    if (!rs.ok()) {
      // RocksDB cannot leave a fatal error in-process, and sometimes keeps a disk-full error after
      // space has returned: once the disk has room again, a reopen clears both.
      if (rs.severity() >= rocksdb::Status::Severity::kFatalError || HasFreeSpace()) needs_reopen_.store(true);
      return FromRocks(rs, fmt::format("spool {} is still failing", what));
    }
    need_resume_.store(false);
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  const uint64_t acks_before = sync ? AcksWritten() : 0;
  rocksdb::Status rs = db_->Write(wo, wb);
  if (!rs.ok()) {
    need_resume_.store(true);
    // Only a full disk says for sure that the record is not in the WAL. After any other I/O error
    // (an fsync's EIO, say) the record may be in the file although the write failed; a reopen
    // replays what is really there, so the in-memory state (offsets, counters) matches the disk
    // before the caller retries, and the retry is recognised as already spooled.
    if (rs.severity() >= rocksdb::Status::Severity::kFatalError || (rs.IsIOError() && !rs.IsNoSpace())) {
      needs_reopen_.store(true);
    }
    return FromRocks(rs, fmt::format("spool {} failed", what));
  }
  if (sync) SyncedUpTo(acks_before);
  return Status::OK();
}

void SpoolImpl::SyncAcksIfDue() {
  if (!writable() || needs_reopen_.load() || need_resume_.load()) return;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    if (acks_written_ == acks_synced_) return;
    if (std::chrono::steady_clock::now() - last_sync_ < std::chrono::milliseconds(options_.ack_sync_interval_ms)) return;
  }
  const uint64_t before = AcksWritten();
  rocksdb::Status rs = db_->SyncWAL();
  if (!rs.ok()) {
    spdlog::warn("spool: cannot sync the acks of {}: {}", path_, rs.ToString());
    if (!rs.IsNoSpace()) needs_reopen_.store(true);
    return;
  }
  SyncedUpTo(before);
}

namespace {

Status ValidateRoute(const std::string& route) {
  if (route.empty()) return Status::InvalidArgument("event has an empty route");
  if (route.find('\0') != std::string::npos || route.size() > 1024) {
    return Status::InvalidArgument("route name has a NUL byte or is longer than 1024 bytes");
  }
  return Status::OK();
}

}  // namespace

// Idempotent: an event or quarantined message whose Kafka offset is at or below the offset the
// spool has recorded for its partition is already spooled (the offset is written in the same
// batch as the events) and is not written again. A retried batch whose first attempt reached the
// disk after all (an fsync that failed, a reopen that replayed the WAL) is then spooled once; of a
// partly covered batch only the part above the mark is written. Items without a Kafka offset are
// always written; so is everything of a partition whose offset the batch rewinds (`rewound`: the
// log was recreated or truncated). Appends that carry a common partition are serialised (the second waits until the
// first has committed or failed), so the mark an append checks cannot move under it.
Status SpoolImpl::Append(const AppendBatch& batch) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  for (const NewEvent& e : batch.events) {
    if (s = ValidateRoute(e.route); !s.ok()) return s;
  }
  using TP = std::pair<std::string, int32_t>;
  std::vector<TP> parts;
  auto find_part = [&](const std::string& topic, int32_t partition) {
    return std::find_if(parts.begin(), parts.end(),
                        [&](const TP& tp) { return tp.second == partition && tp.first == topic; });
  };
  auto add_part = [&](const std::string& topic, int32_t partition) {
    if (find_part(topic, partition) == parts.end()) parts.emplace_back(topic, partition);
  };
  for (const NewEvent& e : batch.events) {
    if (!e.source.topic.empty() && e.source.offset >= 0) add_part(e.source.topic, e.source.partition);
  }
  for (const QuarantinedMessage& q : batch.quarantined) {
    if (!q.source.topic.empty() && q.source.offset >= 0) add_part(q.source.topic, q.source.partition);
  }
  for (const PartitionOffset& o : batch.offsets) add_part(o.topic, o.partition);

  // Filled under mu_: which items are new, and the marks they were checked against.
  std::vector<bool> skip_event(batch.events.size(), false), skip_quarantined(batch.quarantined.size(), false);
  std::vector<PartitionOffset> new_offsets;
  size_t events = 0, quarantined = 0;
  int64_t event_bytes = 0;
  uint64_t first_seq = 0, first_batch = 0;
  {
    std::unique_lock<std::mutex> l(mu_);
    claim_cv_.wait(l, [&] {
      for (const TP& tp : parts) {
        if (claimed_.count(tp) != 0) return false;
      }
      return true;
    });
    // The recorded mark of each partition of the batch (-1: none), looked up once.
    // A partition whose offset the batch rewinds (its log was recreated or truncated) has no mark:
    // its offsets start again, and everything of it in the batch is new.
    std::vector<int64_t> marks(parts.size(), -1);
    for (size_t i = 0; i < parts.size(); ++i) {
      auto it = offsets_.find(parts[i]);
      if (it != offsets_.end()) marks[i] = it->second;
    }
    for (const PartitionOffset& o : batch.offsets) {
      if (o.rewound) marks[static_cast<size_t>(find_part(o.topic, o.partition) - parts.begin())] = -1;
    }
    auto spooled = [&](const SourceRef& src) {
      if (src.topic.empty() || src.offset < 0) return false;
      return src.offset <= marks[static_cast<size_t>(find_part(src.topic, src.partition) - parts.begin())];
    };
    for (size_t i = 0; i < batch.events.size(); ++i) {
      skip_event[i] = spooled(batch.events[i].source);
      if (skip_event[i]) continue;
      ++events;
      event_bytes += static_cast<int64_t>(batch.events[i].payload.size());
    }
    for (size_t i = 0; i < batch.quarantined.size(); ++i) {
      skip_quarantined[i] = spooled(batch.quarantined[i].source);
      if (skip_quarantined[i]) continue;
      ++quarantined;
    }
    for (const PartitionOffset& o : batch.offsets) {
      auto it = offsets_.find({o.topic, o.partition});
      if (o.rewound || it == offsets_.end() || o.offset > it->second) new_offsets.push_back(o);
    }
    const size_t skipped = batch.events.size() - events + batch.quarantined.size() - quarantined;
    if (skipped > 0) {
      duplicates_skipped_ += skipped;
      spdlog::info("spool: {} of {} events and quarantined messages of an append were spooled before "
                   "(a retry after a failed fsync or a re-read); not written again",
                   skipped, batch.events.size() + batch.quarantined.size());
    }
    if (events == 0 && quarantined == 0 && new_offsets.empty()) return Status::OK();

    // Only pending events count against max_bytes: the failed area has its own budget, and
    // quarantined input is never refused for room (see SpoolOptions::failed_max_bytes).
    int64_t used = reserved_bytes_;
    for (const auto& [name, r] : routes_) used += r.bytes;
    if (event_bytes > 0 && static_cast<uint64_t>(used + event_bytes) > options_.max_bytes) {
      return Status::Full(fmt::format("spool {} is full: {} bytes pending, {} to append, maximum {}",
                                      path_, used, event_bytes, options_.max_bytes));
    }
    for (const TP& tp : parts) claimed_.insert(tp);
    first_seq = next_seq_;
    next_seq_ += events;
    if (events > 0) inflight_.insert(first_seq);
    first_batch = next_batch_id_;
    next_batch_id_ += quarantined;
    reserved_bytes_ += event_bytes;
  }

  const int64_t now = NowMs();
  rocksdb::WriteBatch wb;
  Deltas d;
  std::string value;
  uint64_t seq = first_seq;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    if (skip_event[i]) continue;
    const NewEvent& e = batch.events[i];
    value.clear();
    EncodePendingValue(e.source, now, e.payload, &value);
    wb.Put(pending_, PendingKey(e.route, seq++), value);
    auto& rd = d.route[e.route];
    rd.first += 1;
    rd.second += static_cast<int64_t>(e.payload.size());
  }
  for (const auto& [route, unused] : d.route) {
    wb.Put(meta_, std::string(kMetaRoutePrefix) + route, rocksdb::Slice());
  }
  uint64_t id = first_batch;
  for (size_t i = 0; i < batch.quarantined.size(); ++i) {
    if (skip_quarantined[i]) continue;
    const QuarantinedMessage& q = batch.quarantined[i];
    FailedBatch fb;
    fb.id = id;
    fb.route = q.route;
    fb.why = q.why;
    if (fb.why.first_failure_ms == 0) fb.why.first_failure_ms = now;
    if (fb.why.last_failure_ms == 0) fb.why.last_failure_ms = now;
    PendingEvent pe;
    pe.payload = q.payload;
    pe.source = q.source;
    pe.enqueued_ms = now;
    fb.events.push_back(std::move(pe));
    value.clear();
    EncodeFailedBatch(fb, &value);
    wb.Put(failed_, FailedKey(id++), value);
    d.failed_batches += 1;
    d.failed_events += 1;
    d.failed_bytes += static_cast<int64_t>(q.payload.size());
  }
  d.appended = static_cast<int64_t>(events);
  d.quarantined = static_cast<int64_t>(quarantined);
  d.offsets = std::move(new_offsets);
  AddDeltasToBatch(d, &wb);
  if (events > 0) wb.Merge(meta_, kHwmSeq, EncodeI64(static_cast<int64_t>(seq)));
  if (quarantined > 0) wb.Merge(meta_, kHwmBatch, EncodeI64(static_cast<int64_t>(id)));

  s = Write(&wb, /*sync=*/true, "append");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (events > 0) inflight_.erase(first_seq);
    reserved_bytes_ -= event_bytes;
    for (const TP& tp : parts) claimed_.erase(tp);
    if (s.ok()) ApplyDeltasLocked(d);
  }
  claim_cv_.notify_all();
  return s;
}

Status SpoolImpl::Read(const std::string& route, uint64_t after_seq, size_t max_events,
                       size_t max_bytes, std::vector<PendingEvent>* out) {
  out->clear();
  if (max_events == 0) return Status::OK();
  uint64_t limit, hint;
  {
    std::lock_guard<std::mutex> l(mu_);
    limit = VisibleLimitLocked();
    auto it = routes_.find(route);
    hint = it == routes_.end() ? 0 : it->second.head_hint;
  }
  const uint64_t start = std::max(after_seq + 1, hint);
  if (start >= limit) return Status::OK();
  // Bounded iterator starting at the remembered head: acked tombstones below it are never visited.
  const std::string lower = PendingKey(route, start);
  const std::string upper = limit == UINT64_MAX ? PendingKey(route, UINT64_MAX) : PendingKey(route, limit);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, pending_));
  size_t bytes = 0;
  for (it->Seek(lower_slice); it->Valid() && out->size() < max_events; it->Next()) {
    rocksdb::Slice v = it->value();
    PendingEvent e;
    std::string_view r;
    if (!ParsePendingKey(std::string_view(it->key().data(), it->key().size()), &r, &e.seq)) {
      return Status::Corruption(fmt::format("malformed pending key in route {}", route));
    }
    Status s = DecodePendingValue(std::string_view(v.data(), v.size()), &e);
    if (!s.ok()) {
      const std::string why = fmt::format("route {} seq {}: {}", route, e.seq, s.message());
      if (!writable()) return Status::Corruption(why);
      // One bad record must not block its route for ever: it goes to the failed area with its
      // reason, and the read goes on with the next event.
      Status q = QuarantineCorrupt(route, e.seq, std::string(v.data(), v.size()), why);
      if (!q.ok()) return Status::Corruption(fmt::format("{} (and it could not be moved aside: {})", why, q.message()));
      continue;
    }
    if (!out->empty() && bytes + e.payload.size() > max_bytes) break;
    bytes += e.payload.size();
    out->push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "spool read failed");
  // Started at the head (not at a caller's cursor): the first event found is the head.
  if (!out->empty() && after_seq + 1 <= std::max<uint64_t>(hint, 1) && writable()) {
    std::lock_guard<std::mutex> l(mu_);
    RouteState& rs = routes_[route];
    rs.head_hint = std::max(rs.head_hint, out->front().seq);
  }
  return Status::OK();
}

Status SpoolImpl::Ack(const std::string& route, const std::vector<PendingEvent>& events, size_t begin,
                      size_t end) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  if (end > events.size() || begin > end) return Status::InvalidArgument("ack range out of bounds");
  if (begin == end) return Status::OK();
  for (size_t i = begin + 1; i < end; ++i) {
    if (events[i].seq <= events[i - 1].seq) return Status::InvalidArgument("ack events are not in seq order");
  }
  // After a reopen, an ack may repeat one whose write failed yet reached the WAL (the reopen
  // replayed it): only events still pending are counted, so the counters stay true.
  std::vector<bool> gone(end - begin, false);
  if (verify_acks_) {
    std::vector<std::string> keys;
    keys.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) keys.push_back(PendingKey(route, events[i].seq));
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), pending_, keys.size(), slices.data(), values.data(), statuses.data(),
                  /*sorted_input=*/true);
    for (size_t k = 0; k < keys.size(); ++k) {
      if (statuses[k].IsNotFound()) {
        gone[k] = true;
      } else if (!statuses[k].ok()) {
        return FromRocks(statuses[k], "spool read failed");
      }
    }
  }
  Deltas d;
  int64_t bytes = 0, n = 0;
  rocksdb::WriteBatch wb;
  // Point deletes, not DeleteRange: RocksDB 7.8 re-fragments every range tombstone of the memtable
  // each time an iterator is created, so a drain-only period would make each head read cost
  // O(acks since the last flush). Point tombstones below the remembered head are never visited,
  // and deletion-triggered compaction drops them.
  for (size_t i = begin; i < end; ++i) {
    if (gone[i - begin]) continue;
    wb.Delete(pending_, PendingKey(route, events[i].seq));
    // The size Read set (the payload itself may be released by now); an event built by hand,
    // not read, has only its payload: the larger of the two is the spooled size either way.
    bytes += static_cast<int64_t>(std::max<uint64_t>(events[i].payload_bytes, events[i].payload.size()));
    ++n;
  }
  const uint64_t first = events[begin].seq, last = events[end - 1].seq;
  if (n == 0) return Status::OK();
  d.route[route] = {-n, -bytes};
  d.acked = n;
  AddDeltasToBatch(d, &wb);
  // Synced only every ack_sync_events events or ack_sync_interval_ms (the maintenance thread syncs
  // an idle tail); any synced write in between (every append) carries earlier acks to disk too. A
  // power loss can only re-deliver what was acked since, never lose.
  const bool sync = AckSyncDue(static_cast<uint64_t>(n));
  s = Write(&wb, sync, "ack");
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    acks_written_ += static_cast<uint64_t>(n);
    if (sync) acks_synced_ = std::min(acks_written_, acks_synced_ + static_cast<uint64_t>(n));
  }
  std::lock_guard<std::mutex> l(mu_);
  ApplyDeltasLocked(d);
  RouteState& rs = routes_[route];
  if (first <= rs.head_hint + 1 && last + 1 > rs.head_hint) rs.head_hint = last + 1;
  return Status::OK();
}

// A pending record that cannot be decoded becomes a failed batch of its own (reason
// "corrupt_record", the decoder's message, the raw stored bytes as its payload), in one synced
// write. Its payload size is unknown: the route's byte counter drops by the stored size, at most
// down to zero.
Status SpoolImpl::QuarantineCorrupt(const std::string& route, uint64_t seq, std::string raw, const std::string& why) {
  std::lock_guard<std::mutex> fl(failed_mu_);
  const std::string key = PendingKey(route, seq);
  rocksdb::PinnableSlice v;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), pending_, key, &v);
  if (rs.IsNotFound()) return Status::OK();  // another reader moved it already
  if (!rs.ok()) return FromRocks(rs, "spool read failed");
  spdlog::error("spool: {}; moved to the failed area (reason corrupt_record), the route goes on", why);
  const int64_t now = NowMs();
  FailedBatch fb;
  fb.route = route;
  fb.why.reason = "corrupt_record";
  fb.why.error_text = why;
  fb.why.first_failure_ms = fb.why.last_failure_ms = now;
  PendingEvent e;
  e.seq = seq;
  e.payload = std::move(raw);
  e.enqueued_ms = now;
  fb.bytes = static_cast<int64_t>(e.payload.size());
  fb.events.push_back(std::move(e));
  int64_t route_bytes = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    fb.id = next_batch_id_++;
    route_bytes = routes_[route].bytes;
  }
  std::string value;
  EncodeFailedBatch(fb, &value);
  rocksdb::WriteBatch wb;
  wb.Delete(pending_, key);
  wb.Put(failed_, FailedKey(fb.id), value);
  Deltas d;
  d.route[route] = {-1, -std::min(fb.bytes, std::max<int64_t>(route_bytes, 0))};
  d.failed_batches = 1;
  d.failed_events = 1;
  d.failed_bytes = fb.bytes;
  AddDeltasToBatch(d, &wb);
  wb.Merge(meta_, kHwmBatch, EncodeI64(static_cast<int64_t>(fb.id + 1)));
  Status s = Write(&wb, /*sync=*/true, "move of a corrupt record");
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  ApplyDeltasLocked(d);
  return Status::OK();
}

Status SpoolImpl::Fail(const std::string& route, const std::vector<uint64_t>& seqs,
                       const FailureInfo& why, uint64_t* batch_id) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  if (seqs.empty()) return Status::InvalidArgument("fail needs at least one event");
  std::lock_guard<std::mutex> fl(failed_mu_);
  FailedBatch fb;
  fb.route = route;
  fb.why = why;
  const int64_t now = NowMs();
  if (fb.why.first_failure_ms == 0) fb.why.first_failure_ms = now;
  if (fb.why.last_failure_ms == 0) fb.why.last_failure_ms = now;
  rocksdb::WriteBatch wb;
  std::string value;
  for (uint64_t seq : seqs) {
    std::string key = PendingKey(route, seq);
    rocksdb::PinnableSlice v;
    rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), pending_, key, &v);
    if (rs.IsNotFound()) return Status::NotFound(fmt::format("route {} has no pending event {}", route, seq));
    if (!rs.ok()) return FromRocks(rs, "spool read failed");
    PendingEvent e;
    s = DecodePendingValue(std::string_view(v.data(), v.size()), &e);
    if (!s.ok()) return s;
    e.seq = seq;
    fb.bytes += static_cast<int64_t>(e.payload.size());
    fb.events.push_back(std::move(e));
    wb.Delete(pending_, key);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    fb.id = next_batch_id_++;
  }
  EncodeFailedBatch(fb, &value);
  wb.Put(failed_, FailedKey(fb.id), value);
  Deltas d;
  const int64_t n = static_cast<int64_t>(fb.events.size());
  d.route[route] = {-n, -fb.bytes};
  d.failed_batches = 1;
  d.failed_events = n;
  d.failed_bytes = fb.bytes;
  AddDeltasToBatch(d, &wb);
  wb.Merge(meta_, kHwmBatch, EncodeI64(static_cast<int64_t>(fb.id + 1)));
  s = Write(&wb, /*sync=*/true, "fail");
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  ApplyDeltasLocked(d);
  if (batch_id != nullptr) *batch_id = fb.id;
  return Status::OK();
}

Status SpoolImpl::Requeue(uint64_t batch_id, size_t* moved) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> fl(failed_mu_);
  FailedBatch fb;
  s = GetFailed(batch_id, &fb);
  if (!s.ok()) return s;
  if (fb.route.empty()) {
    return Status::InvalidArgument(fmt::format(
        "failed batch {} has no route (its input could not be classified); export it instead", batch_id));
  }
  uint64_t first_seq;
  {
    std::lock_guard<std::mutex> l(mu_);
    first_seq = next_seq_;
    next_seq_ += fb.events.size();
    inflight_.insert(first_seq);
  }
  rocksdb::WriteBatch wb;
  std::string value;
  uint64_t seq = first_seq;
  for (const PendingEvent& e : fb.events) {
    value.clear();
    // The original enqueue time is kept: the event's age is honest about how long it has waited.
    EncodePendingValue(e.source, e.enqueued_ms, e.payload, &value);
    wb.Put(pending_, PendingKey(fb.route, seq++), value);
  }
  wb.Delete(failed_, FailedKey(batch_id));
  wb.Put(meta_, std::string(kMetaRoutePrefix) + fb.route, rocksdb::Slice());
  Deltas d;
  const int64_t n = static_cast<int64_t>(fb.events.size());
  d.route[fb.route] = {n, fb.bytes};
  d.failed_batches = -1;
  d.failed_events = -n;
  d.failed_bytes = -fb.bytes;
  AddDeltasToBatch(d, &wb);
  wb.Merge(meta_, kHwmSeq, EncodeI64(static_cast<int64_t>(seq)));
  s = Write(&wb, /*sync=*/true, "requeue");
  std::lock_guard<std::mutex> l(mu_);
  inflight_.erase(first_seq);
  if (!s.ok()) return s;
  ApplyDeltasLocked(d);
  if (moved != nullptr) *moved = fb.events.size();
  return Status::OK();
}

Status SpoolImpl::Drop(uint64_t batch_id) {
  Status s = CheckWritable();
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> fl(failed_mu_);
  FailedBatch fb;
  s = GetFailed(batch_id, &fb);
  if (!s.ok()) return s;
  rocksdb::WriteBatch wb;
  wb.Delete(failed_, FailedKey(batch_id));
  Deltas d;
  d.failed_batches = -1;
  d.failed_events = -static_cast<int64_t>(fb.events.size());
  d.failed_bytes = -fb.bytes;
  AddDeltasToBatch(d, &wb);
  s = Write(&wb, /*sync=*/true, "drop");
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  ApplyDeltasLocked(d);
  return Status::OK();
}

Status SpoolImpl::GetFailed(uint64_t batch_id, FailedBatch* out) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), failed_, FailedKey(batch_id), &v);
  if (rs.IsNotFound()) return Status::NotFound(fmt::format("no failed batch {}", batch_id));
  if (!rs.ok()) return FromRocks(rs, "spool read failed");
  Status s = DecodeFailedBatch(std::string_view(v.data(), v.size()), out);
  if (!s.ok()) return Status::Corruption(fmt::format("failed batch {}: {}", batch_id, s.message()));
  out->id = batch_id;
  return Status::OK();
}

Status SpoolImpl::ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                             std::vector<FailedBatch>* out) const {
  out->clear();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), failed_));
  for (it->Seek(FailedKey(after_id + 1)); it->Valid() && out->size() < limit; it->Next()) {
    FailedBatch fb;
    if (!ParseFailedKey(std::string_view(it->key().data(), it->key().size()), &fb.id)) {
      return Status::Corruption("malformed failed batch key");
    }
    Status s = DecodeFailedBatch(std::string_view(it->value().data(), it->value().size()), &fb);
    if (!s.ok()) return Status::Corruption(fmt::format("failed batch {}: {}", fb.id, s.message()));
    if (!route_filter.empty() && fb.route != route_filter) continue;
    out->push_back(std::move(fb));
  }
  return FromRocks(it->status(), "spool read failed");
}

std::vector<std::string> SpoolImpl::Routes() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> names;
  for (const auto& [name, r] : routes_) names.push_back(name);
  return names;
}

Status SpoolImpl::ReadHead(const std::string& route, PendingEvent* head, bool* found) {
  std::vector<PendingEvent> one;
  Status s = Read(route, 0, 1, SIZE_MAX, &one);
  *found = s.ok() && !one.empty();
  if (*found) *head = std::move(one.front());
  return s;
}

namespace {
std::string EncodeMark(uint64_t last_seq, int64_t marked_ms) {
  std::string v;
  PutFixed64BE(&v, last_seq);
  PutFixed64BE(&v, static_cast<uint64_t>(marked_ms));
  return v;
}
}  // namespace

Status SpoolImpl::MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) {
  if (Status s = CheckWritable(); !s.ok()) return s;
  rocksdb::WriteBatch wb;
  wb.Put(meta_, MarkKey(kMetaInFlightPrefix, route, first_seq), EncodeMark(last_seq, NowMs()));
  return Write(&wb, /*sync=*/false, "in-flight mark");
}

Status SpoolImpl::ClearInFlight(const std::string& route, uint64_t first_seq) {
  if (Status s = CheckWritable(); !s.ok()) return s;
  rocksdb::WriteBatch wb;
  wb.Delete(meta_, MarkKey(kMetaInFlightPrefix, route, first_seq));
  return Write(&wb, /*sync=*/false, "in-flight clear");
}

Status SpoolImpl::ClearInDoubt(const std::string& route, uint64_t first_seq) {
  if (Status s = CheckWritable(); !s.ok()) return s;
  rocksdb::WriteBatch wb;
  wb.Delete(meta_, MarkKey(kMetaInDoubtPrefix, route, first_seq));
  return Write(&wb, /*sync=*/true, "in-doubt clear");
}

Status SpoolImpl::ListMarks(std::string_view prefix, std::vector<InDoubtRange>* out) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    InDoubtRange r;
    if (!ParseMarkKey(key, prefix, &r.route, &r.first_seq) || it->value().size() != 16) {
      return Status::Corruption(fmt::format("spool {}: malformed mark record", path_));
    }
    r.last_seq = DecodeFixed64BE(it->value().data());
    r.marked_ms = static_cast<int64_t>(DecodeFixed64BE(it->value().data() + 8));
    out->push_back(std::move(r));
  }
  return FromRocks(it->status(), "cannot read the spool's marks");
}

Status SpoolImpl::InDoubt(std::vector<InDoubtRange>* out) const {
  out->clear();
  if (Status s = ListMarks(kMetaInDoubtPrefix, out); !s.ok()) return s;
  if (options_.read_only && !options_.secondary) {
    if (Status s = ListMarks(kMetaInFlightPrefix, out); !s.ok()) return s;
    // What the stopped writer's next start will put in doubt after a power cut, too (it may
    // overlap the marks).
    bool restarted = false;
    if (Status s = RestartedSinceLastRun(&restarted); !s.ok()) return s;
    if (restarted) {
      std::vector<InDoubtRange> heads;
      if (Status s = HeadRanges(*out, &heads); !s.ok()) return s;
      out->insert(out->end(), heads.begin(), heads.end());
    }
    std::sort(out->begin(), out->end(), [](const InDoubtRange& a, const InDoubtRange& b) {
      return std::tie(a.route, a.first_seq) < std::tie(b.route, b.first_seq);
    });
  }
  return Status::OK();
}

Status SpoolImpl::PromoteInFlight(size_t* promoted) {
  *promoted = 0;
  std::vector<InDoubtRange> marks;
  if (Status s = ListMarks(kMetaInFlightPrefix, &marks); !s.ok()) return s;
  if (marks.empty()) return Status::OK();
  rocksdb::WriteBatch wb;
  for (const InDoubtRange& m : marks) {
    wb.Delete(meta_, MarkKey(kMetaInFlightPrefix, m.route, m.first_seq));
    wb.Put(meta_, MarkKey(kMetaInDoubtPrefix, m.route, m.first_seq), EncodeMark(m.last_seq, m.marked_ms));
  }
  *promoted = marks.size();
  return Write(&wb, /*sync=*/true, "in-doubt promotion");
}

namespace {

std::string ThisBootId(const SpoolOptions& options) {
  if (!options.boot_id.empty()) return options.boot_id;
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

}  // namespace

Status SpoolImpl::RestartedSinceLastRun(bool* restarted) const {
  *restarted = false;
  std::string previous;
  rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), meta_, rocksdb::Slice(kMetaRun.data(), kMetaRun.size()),
                                &previous);
  if (rs.IsNotFound()) return Status::OK();  // closed cleanly, or a spool from before the record
  if (!rs.ok()) return FromRocks(rs, "cannot read the spool's run record");
  const std::string now = ThisBootId(options_);
  *restarted = previous.empty() || now.empty() || previous != now;
  return Status::OK();
}

Status SpoolImpl::HeadRanges(const std::vector<InDoubtRange>& doubt, std::vector<InDoubtRange>* out) const {
  const uint64_t bound = options_.in_flight_bound_events + options_.ack_sync_events;
  const int64_t now = NowMs();
  for (const std::string& route : Routes()) {
    auto held = [&](uint64_t seq) {
      return std::any_of(doubt.begin(), doubt.end(), [&](const InDoubtRange& d) {
        return d.route == route && d.first_seq <= seq && seq <= d.last_seq;
      });
    };
    const std::string lower = PendingPrefix(route);
    const std::string upper = PendingKey(route, UINT64_MAX);
    rocksdb::ReadOptions ro;
    rocksdb::Slice ub(upper);
    ro.iterate_upper_bound = &ub;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, pending_));
    InDoubtRange r;
    r.route = route;
    r.marked_ms = now;
    uint64_t n = 0;
    bool any = false;
    for (it->Seek(lower); it->Valid() && n < bound; it->Next()) {
      std::string_view name;
      uint64_t seq = 0;
      if (!ParsePendingKey(std::string_view(it->key().data(), it->key().size()), &name, &seq)) {
        return Status::Corruption(fmt::format("spool {}: malformed pending key", path_));
      }
      if (!any) r.first_seq = seq;
      any = true;
      r.last_seq = seq;
      if (!held(seq)) ++n;
    }
    if (Status s = FromRocks(it->status(), "cannot read the head of a route"); !s.ok()) return s;
    if (any) out->push_back(std::move(r));
  }
  return Status::OK();
}

Status SpoolImpl::BeginRun(size_t* routes) {
  *routes = 0;
  bool restarted = false;
  if (Status s = RestartedSinceLastRun(&restarted); !s.ok()) return s;
  rocksdb::WriteBatch wb;
  if (restarted) {
    std::vector<InDoubtRange> doubt, heads;
    if (Status s = ListMarks(kMetaInDoubtPrefix, &doubt); !s.ok()) return s;
    if (Status s = HeadRanges(doubt, &heads); !s.ok()) return s;
    for (const InDoubtRange& h : heads) {
      // A promoted mark may start at the same seq: the range keeps the larger end.
      const std::string key = MarkKey(kMetaInDoubtPrefix, h.route, h.first_seq);
      std::string old;
      uint64_t last = h.last_seq;
      rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), meta_, key, &old);
      if (rs.ok() && old.size() == 16) last = std::max(last, DecodeFixed64BE(old.data()));
      if (!rs.ok() && !rs.IsNotFound()) return FromRocks(rs, "cannot read an in-doubt mark");
      wb.Put(meta_, key, EncodeMark(last, h.marked_ms));
    }
    *routes = heads.size();
  }
  wb.Put(meta_, rocksdb::Slice(kMetaRun.data(), kMetaRun.size()), ThisBootId(options_));
  return Write(&wb, /*sync=*/true, "run record");
}

Status SpoolImpl::EndRun() {
  rocksdb::WriteBatch wb;
  wb.Delete(meta_, rocksdb::Slice(kMetaRun.data(), kMetaRun.size()));
  return Write(&wb, /*sync=*/true, "run record removal");
}

Status SpoolImpl::CountPendingIn(const std::string& route, uint64_t first, uint64_t last, uint64_t* n) {
  *n = 0;
  if (last < first) return Status::OK();
  const std::string lower = PendingKey(route, first);
  const std::string upper = last == UINT64_MAX ? PendingKey(route, UINT64_MAX) : PendingKey(route, last + 1);
  rocksdb::ReadOptions ro;
  rocksdb::Slice ub(upper);
  ro.iterate_upper_bound = &ub;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, pending_));
  for (it->Seek(lower); it->Valid(); it->Next()) ++*n;
  return FromRocks(it->status(), "cannot count in-doubt events");
}

Status SpoolImpl::Stats(SpoolStats* out) {
  *out = SpoolStats();
  std::vector<std::string> names = Routes();
  for (const std::string& name : names) {
    PendingEvent head;
    bool found = false;
    Status s = ReadHead(name, &head, &found);
    if (!s.ok()) return s;
    RouteStats& rs = out->routes[name];
    if (found) rs.oldest_enqueued_ms = head.enqueued_ms;
  }
  {
    std::vector<InDoubtRange> doubt;
    Status s = InDoubt(&doubt);
    if (!s.ok()) return s;
    // Ranges can overlap (a mark inside a power cut's head range): each event counts once.
    for (const InDoubtRange& r : MergeInDoubt(std::move(doubt))) {
      uint64_t n = 0;
      if (s = CountPendingIn(r.route, r.first_seq, r.last_seq, &n); !s.ok()) return s;
      out->routes[r.route].in_doubt_events += n;
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [name, rs] : out->routes) {
      const RouteState& st = routes_[name];
      rs.pending_events = static_cast<uint64_t>(std::max<int64_t>(st.events, 0));
      rs.pending_bytes = static_cast<uint64_t>(std::max<int64_t>(st.bytes, 0));
      out->used_bytes += rs.pending_bytes;
    }
    out->failed_batches = static_cast<uint64_t>(failed_batches_);
    out->failed_events = static_cast<uint64_t>(failed_events_);
    out->failed_bytes = static_cast<uint64_t>(failed_bytes_);
    out->appended_total = static_cast<uint64_t>(appended_);
    out->acked_total = static_cast<uint64_t>(acked_);
    out->quarantined_total = static_cast<uint64_t>(quarantined_);
    out->duplicates_skipped = duplicates_skipped_;
  }
  out->max_bytes = options_.max_bytes;
  out->failed_max_bytes = FailedBudget();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    if (entry.is_regular_file(ec)) out->disk_bytes += entry.file_size(ec);
  }
  return Status::OK();
}

Status SpoolImpl::SourceOffsets(std::vector<PartitionOffset>* out) const {
  std::lock_guard<std::mutex> l(mu_);
  out->clear();
  for (const auto& [tp, offset] : offsets_) out->push_back({tp.first, tp.second, offset});
  return Status::OK();
}

int64_t SpoolImpl::SourceOffset(const std::string& topic, int32_t partition) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = offsets_.find({topic, partition});
  return it == offsets_.end() ? -1 : it->second;
}

uint64_t SpoolImpl::UsedBytes() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t used = 0;
  for (const auto& [name, r] : routes_) used += r.bytes;
  return static_cast<uint64_t>(std::max<int64_t>(used, 0));
}

bool SpoolImpl::AboveHighWatermark() const {
  return static_cast<double>(UsedBytes()) >= options_.high_watermark * static_cast<double>(options_.max_bytes);
}

bool SpoolImpl::BelowLowWatermark() const {
  return static_cast<double>(UsedBytes()) < options_.low_watermark * static_cast<double>(options_.max_bytes);
}

Status SpoolImpl::CatchUp() {
  if (!options_.secondary) return Status::OK();
  rocksdb::Status rs = db_->TryCatchUpWithPrimary();
  if (!rs.ok()) return FromRocks(rs, "cannot catch up with the running gateway");
  return LoadMeta();
}

std::vector<InDoubtRange> MergeInDoubt(std::vector<InDoubtRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const InDoubtRange& a, const InDoubtRange& b) {
    return std::tie(a.route, a.first_seq) < std::tie(b.route, b.first_seq);
  });
  std::vector<InDoubtRange> merged;
  for (InDoubtRange& r : ranges) {
    if (!merged.empty() && merged.back().route == r.route && r.first_seq <= merged.back().last_seq + 1) {
      merged.back().last_seq = std::max(merged.back().last_seq, r.last_seq);
      merged.back().marked_ms = std::min(merged.back().marked_ms, r.marked_ms);
    } else {
      merged.push_back(std::move(r));
    }
  }
  return merged;
}

}  // namespace sg::spool
