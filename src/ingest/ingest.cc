// The Kafka consumer stage: the consumer's lifecycle (create, subscribe, recreate after a fatal
// error, close), the poll loop, the batch's way into the spool on the append thread, pause,
// commits and lag. Rebalancing and start offsets are in rebalance.cc, the librdkafka properties
// in kafka_config.cc, the batch in batch.cc.
//
// One thread polls librdkafka, classifies each message, gathers one poll cycle's messages into
// one spool append, and stores offsets only once that append is durable. Rebalance, error and
// commit callbacks run on the same thread (the main queue is forwarded to the consumer queue), so
// the batch in hand needs no lock.
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "ingest_impl.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/thread_name.h"

namespace sg {
namespace ingest {
namespace {

// Waits before recreating a consumer after a fatal error, when such errors repeat.
constexpr int kConsumerRestartInitialMs = 500;
constexpr int kConsumerRestartMaxMs = 30000;

}  // namespace

Status IngestImpl::Init() {
  if (opts_.topics.empty()) return Status::InvalidArgument("kafka: topic is required");
  if (opts_.max_batch_messages == 0 || opts_.max_batch_bytes == 0) {
    return Status::InvalidArgument("ingest: batch limits must be positive");
  }
  if (spool_ == nullptr) return Status::InvalidArgument("ingest: no spool");
  Status s = ingest::ConsumerProperties(opts_, &kafka_properties_);  // brokers, group, security
  if (!s.ok()) return s;
  s = EventRouter::Create(opts_.routes, &router_);
  if (!s.ok()) return s;
  classifier_ = std::make_unique<EventClassifier>(opts_.classifier, router_.get());
  return NewConsumer();
}

Status IngestImpl::NewConsumer() {
  KafkaConfPtr conf(rd_kafka_conf_new());
  Status s = ingest::ApplyProperties(kafka_properties_, conf.get());
  if (!s.ok()) return s;
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &IngestImpl::RebalanceCb);
  rd_kafka_conf_set_error_cb(conf.get(), &IngestImpl::ErrorCb);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), &IngestImpl::CommitCb);
  rd_kafka_conf_set_log_cb(conf.get(), &IngestImpl::LogCb);

  std::string error;
  KafkaPtr rk = NewKafka(RD_KAFKA_CONSUMER, std::move(conf), &error);
  if (rk == nullptr) return Status::InvalidArgument(fmt::format("kafka: cannot create the consumer: {}", error));
  // Errors, logs and commit results are served by the consumer poll on our thread.
  rd_kafka_poll_set_consumer(rk.get());
  rk_ = std::move(rk);
  if (opts_.TEST_on_consumer_created) opts_.TEST_on_consumer_created(rk_.get());
  return Status::OK();
}

Status IngestImpl::Subscribe() {
  TopicPartitionListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(opts_.topics.size())));
  for (const std::string& t : opts_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), topics.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::InvalidArgument(fmt::format("kafka: cannot subscribe: {}", rd_kafka_err2str(err)));
  }
  return Status::OK();
}

Status IngestImpl::Start() {
  if (started_) return Status::InvalidArgument("ingest: already started");
  Status s = Subscribe();
  if (!s.ok()) return s;
  started_ = true;
  appender_ = std::make_unique<ingest::AppendThread>("sg-spool-append");  // the spool's write and fsync
  thread_ = std::thread([this] {
    NameThisThread("sg-ingest");  // polls librdkafka and classifies
    Run();
  });
  spdlog::info("ingest: consuming {} as group {}", fmt::join(opts_.topics, ","), opts_.group_id);
  return Status::OK();
}

Status IngestImpl::Stop() {
  if (!started_ || stopped_) return last_append_status_;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> l(mu_);  // wakes a consumer restart's backoff
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The consumer thread waited for its last append (Run, WaitInflight): none is pending here.
  appender_.reset();
  return last_append_status_;
}

IngestHealth IngestImpl::Health() const {
  std::lock_guard<std::mutex> l(mu_);
  IngestHealth h;
  if (!failing_reason_.empty()) {
    h.healthy = false;
    h.reason = failing_reason_;
  } else if (!kafka_error_.empty()) {
    h.healthy = false;
    h.reason = kafka_error_;
  } else if (stats_.paused) {
    h.reason = "paused: the spool is above its high watermark";
  }
  return h;
}

void IngestImpl::RecordError(std::string msg) {
  std::lock_guard<std::mutex> l(mu_);
  stats_.last_error = std::move(msg);
  stats_.last_error_ms = NowMs();
}

void IngestImpl::OnKafkaError(rd_kafka_resp_err_t err, const char* reason) {
  std::string msg = fmt::format("kafka: {}: {}", rd_kafka_err2name(err), reason ? reason : "");
  if (rd_kafka_fatal_error(rk_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) msg += " (fatal)";
  spdlog::warn("ingest: {}", msg);
  {
    std::lock_guard<std::mutex> l(mu_);
    kafka_error_ = msg;
  }
  RecordError(std::move(msg));
}

void IngestImpl::OnCommit(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing new to commit
  std::lock_guard<std::mutex> l(mu_);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++stats_.commits;
  } else {
    ++stats_.commit_failures;
    stats_.last_error = fmt::format("kafka: offset commit failed: {}", rd_kafka_err2str(err));
    stats_.last_error_ms = NowMs();
  }
}

void IngestImpl::Run() {
  auto next_commit = Clock::now() + opts_.commit_interval;
  while (!stop_) {
    if (failing_) {
      ServeFor(backoff_ms_);
      if (stop_) break;
      if (!Fatal()) TryAppend();
    } else {
      CollectBatch();  // while the previous batch is being appended
      WaitInflight();
      if (!failing_ && cur_.msgs > 0 && !Fatal()) Launch();
    }
    if (Fatal()) {
      RecreateConsumer();
      if (rk_ == nullptr) break;  // stopped during the restart's backoff
      next_commit = Clock::now() + opts_.commit_interval;
      continue;
    }
    UpdatePause();
    if (Clock::now() >= next_commit) {
      rd_kafka_commit(rk_.get(), nullptr, 1 /* async */);
      UpdateLag();
      next_commit = Clock::now() + opts_.commit_interval;
    }
  }

  // Shutdown: spool the batches in hand (bounded), commit, leave the group.
  closing_ = true;
  if (rk_ == nullptr) {  // stopped while a consumer restart waited: nothing in hand, no group
    spdlog::info("ingest: stopped");
    return;
  }
  WaitInflight();
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts_.close_timeout_ms);
  while (cur_.msgs > 0 && !TryAppend() && Clock::now() < deadline) {
    ServeFor(std::min<int>(backoff_ms_, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - Clock::now())
                                            .count())));
  }
  if (cur_.msgs > 0) {
    spdlog::warn("ingest: stopping with {} messages not spooled; their offsets are not committed",
                 cur_.msgs);
    ClearBatch();
  }
  CommitSync();
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    RecordError(fmt::format("kafka: consumer close: {}", rd_kafka_err2str(err)));
  }
  spdlog::info("ingest: stopped");
}

void IngestImpl::RecreateConsumer() {
  // A fatal error leaves a librdkafka consumer unusable for good: it commits nothing (__FATAL),
  // joins no group, and rd_kafka_consumer_close() refuses it (rdkafka.c, rdkafka_cgrp.c). The
  // only way on is a new handle with the same configuration.
  char reason[512] = {0};
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_.get(), reason, sizeof(reason));
  std::string msg = fmt::format("kafka: fatal consumer error {}: {}; consumer recreated", rd_kafka_err2name(err), reason);
  spdlog::error("ingest: {}", msg);
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.consumer_restarts;
    kafka_error_ = msg;  // unhealthy until messages flow through the new consumer
    stats_.last_error = std::move(msg);
    stats_.last_error_ms = NowMs();
    stats_.assigned_partitions = 0;
    stats_.lag = -1;
    stats_.partition_lag.clear();
  }
  // The append in flight finishes: whatever it wrote, the spool records its offsets with it. The
  // batch in hand is not in the spool and its offsets were never stored: it is dropped, and the
  // new consumer reads it again from max(committed, spooled + 1), like any unspooled message.
  // (Appending it instead could spool twice what a member that fenced this one consumes.)
  WaitInflight();
  if (cur_.msgs > 0) {
    spdlog::warn("ingest: {} messages not spooled before the fatal error are left to be consumed again", cur_.msgs);
    ClearBatch();
  }
  ClearFailure();
  {
    std::lock_guard<std::mutex> l(mu_);
    failing_reason_.clear();
  }
  assigned_.clear();
  spooled_high_.clear();
  start_offset_.clear();
  next_offset_.clear();
  paused_ends_.clear();
  rewind_pending_.clear();
  paused_ = false;  // a new handle has nothing paused; UpdatePause and assignment set it again

  // No consumer close: it would commit and leave the group through a handle that can do neither,
  // and it waits for rebalance callbacks nobody serves here. librdkafka skips it by itself only
  // for a static member (rd_kafka_fatal_error_code() ignores the error of a dynamic consumer,
  // rdkafka_int.h), and a plain rd_kafka_destroy() of a dynamic one hung in the close.
  rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);

  // Backoff: none for a first restart, then doubling while restarts follow one another (two
  // gateways given the same group_instance_id fence each other in turn).
  const auto now = Clock::now();
  if (last_restart_ != Clock::time_point{} &&
      now - last_restart_ < std::chrono::milliseconds(2 * kConsumerRestartMaxMs)) {
    restart_backoff_ms_ = std::min(std::max(restart_backoff_ms_ * 2, kConsumerRestartInitialMs), kConsumerRestartMaxMs);
  } else {
    restart_backoff_ms_ = 0;
  }
  while (true) {
    if (restart_backoff_ms_ > 0) {
      std::unique_lock<std::mutex> l(mu_);
      stop_cv_.wait_for(l, std::chrono::milliseconds(restart_backoff_ms_), [this] { return stop_.load(); });
    }
    if (stop_) return;
    Status s = NewConsumer();
    if (s.ok()) s = Subscribe();
    if (s.ok()) break;
    // The same configuration created a consumer before: a failure here is transient (memory,
    // threads). Keep trying; health says why.
    spdlog::error("ingest: cannot recreate the Kafka consumer: {}", s.ToString());
    RecordError(s.ToString());
    rk_.reset();
    restart_backoff_ms_ = std::min(std::max(restart_backoff_ms_ * 2, kConsumerRestartInitialMs), kConsumerRestartMaxMs);
  }
  last_restart_ = Clock::now();
  restarted_ = true;
  spdlog::info("ingest: new Kafka consumer subscribed to {} as group {}", fmt::join(opts_.topics, ","), opts_.group_id);
}

void IngestImpl::CollectBatch() {
  int timeout = opts_.poll_timeout_ms;
  while (!stop_ && cur_.msgs < opts_.max_batch_messages && cur_.bytes < opts_.max_batch_bytes) {
    KafkaMessagePtr m(rd_kafka_consumer_poll(rk_.get(), timeout));
    if (m == nullptr) break;
    HandleMessage(std::move(m));
    timeout = 0;  // take what is already fetched, then append
  }
}

void IngestImpl::HandleMessage(KafkaMessagePtr m) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // __FATAL: the consumer is unusable; Run() recreates it (RecreateConsumer says why).
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && m->err != RD_KAFKA_RESP_ERR__FATAL) {
      std::string msg = fmt::format("kafka: {}: {}", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m.get()));
      spdlog::warn("ingest: {}", msg);
      {
        std::lock_guard<std::mutex> l(mu_);
        kafka_error_ = msg;
      }
      RecordError(std::move(msg));
    }
    return;
  }
  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  spool::SourceRef src{rd_kafka_topic_name(m->rkt), m->partition, m->offset};
  const TopicPartition tp(src.topic, src.partition);
  if (auto n = next_offset_.find(tp); n == next_offset_.end()) {
    next_offset_.emplace(tp, m->offset + 1);
  } else {
    if (m->offset > n->second) CheckGap(tp, n->second, m->offset);
    n->second = m->offset + 1;
  }
  if (auto h = spooled_high_.find(tp); h != spooled_high_.end() && m->offset <= h->second) {
    // At or below what this spool holds: a re-delivery. (A log recreated or truncated below it is
    // found at assignment, SetStartOffsets.)
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.skipped_duplicates;
    return;
  }
  if (!rewind_pending_.empty() && rewind_pending_.erase(tp) > 0) cur_.rewound.insert(tp);
  Classification c = classifier_->Classify(payload);
  cur_.Count(tp, m->offset, payload.size());
  if (c.ok) {
    cur_.append.events.push_back(spool::NewEvent{std::move(c.route), std::string(payload), std::move(src)});
  } else {
    const int64_t now = NowMs();
    spool::QuarantinedMessage q;
    q.route = std::move(c.route);
    q.payload.assign(payload);
    q.source = std::move(src);
    q.why.reason = c.reason;
    q.why.error_text = std::move(c.detail);
    q.why.attempts = 1;
    q.why.first_failure_ms = now;
    q.why.last_failure_ms = now;
    cur_.append.quarantined.push_back(std::move(q));
  }
  consumed_.fetch_add(1, std::memory_order_relaxed);
}

void IngestImpl::ClearBatch() { cur_.Clear(); }

Status IngestImpl::AppendTimed(Batch* b) {
  b->SetSpoolOffsets();
  const auto t0 = Clock::now();
  Status s = spool_->Append(b->append);
  const uint64_t append_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  // The events are durable now: wake whoever waits for them here, not when the consumer thread
  // next collects this append's result (that is up to a poll timeout later).
  if (s.ok() && opts_.on_spooled && !b->append.events.empty()) opts_.on_spooled();
  std::lock_guard<std::mutex> l(mu_);
  stats_.append_micros += append_us;
  return s;
}

void IngestImpl::OnAppended(Batch* b) {
  // The batch is durable: only now may its offsets be committed.
  StoreOffsets(b->offsets);
  for (const auto& [tp, off] : b->offsets) {
    int64_t& h = spooled_high_.try_emplace(tp, -1).first->second;
    h = std::max(h, off);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    stats_.spooled += b->append.events.size();
    stats_.quarantined += b->append.quarantined.size();
    stats_.spooled_bytes += b->bytes;
    ++stats_.appends;
    // A delivered batch means the brokers answer: a past transient error is over.
    kafka_error_.clear();
  }
  const auto& q = b->append.quarantined;
  if (!q.empty()) {
    spdlog::warn("ingest: quarantined {} bad messages (first: {} at {}[{}]@{}: {})", q.size(), q[0].why.reason,
                 q[0].source.topic, q[0].source.partition, q[0].source.offset, q[0].why.error_text);
  }
  if (failing_) spdlog::info("ingest: spool append works again");
  ClearFailure();
  b->Clear();
}

void IngestImpl::ClearFailure() {
  if (failing_) {
    std::lock_guard<std::mutex> l(mu_);
    failing_reason_.clear();
  }
  failing_ = false;
  backoff_ms_ = 0;
  last_append_status_ = Status::OK();
}

void IngestImpl::OnAppendFailed(const Status& s) {
  // Nothing was written: keep the batch, store no offset, pause, retry after a backoff.
  last_append_status_ = s;
  backoff_ms_ = backoff_ms_ == 0 ? opts_.append_retry_initial_ms
                                 : std::min(backoff_ms_ * 2, opts_.append_retry_max_ms);
  std::string reason = "spool append failing: " + s.ToString();
  if (!failing_) spdlog::error("ingest: {}; retrying, consumption paused", reason);
  failing_ = true;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.append_failures;
    failing_reason_ = reason;
    stats_.last_error = std::move(reason);
    stats_.last_error_ms = NowMs();
  }
  UpdatePause();
}

bool IngestImpl::TryAppend() {
  if (cur_.msgs == 0) {
    // Nothing left to retry (a revoke took the failed batch's partitions): not failing any more.
    ClearFailure();
    return true;
  }
  Status s = AppendTimed(&cur_);
  if (s.ok()) {
    OnAppended(&cur_);
    return true;
  }
  OnAppendFailed(s);
  return false;
}

void IngestImpl::Launch() {
  std::swap(cur_, inflight_batch_);  // inflight_batch_ was empty
  cur_.Clear();
  appender_->Submit([this] { return AppendTimed(&inflight_batch_); });
}

void IngestImpl::WaitInflight() {
  if (appender_ == nullptr || appender_->outstanding() == 0) return;
  Status s = appender_->Wait();
  if (s.ok()) {
    OnAppended(&inflight_batch_);
    return;
  }
  // The older batch failed: the newer one joins it (in order) and they are retried as one.
  inflight_batch_.Absorb(&cur_);
  std::swap(cur_, inflight_batch_);  // inflight_batch_ is the emptied newer one
  OnAppendFailed(s);
}

void IngestImpl::StoreOffsets(const std::map<TopicPartition, int64_t>& offsets) {
  TopicPartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, off] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off + 1;
  }
  // Fails only for partitions no longer assigned; their new owner starts from the committed offset
  // and this spool's recorded offset keeps us from re-spooling them if they come back.
  rd_kafka_offsets_store(rk_.get(), list.get());
}

void IngestImpl::ServeFor(int ms) {
  // Keeps serving the consumer (group membership, callbacks) while waiting; messages that were
  // already fetched before a pause join the batch in hand.
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(ms, 0));
  do {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    KafkaMessagePtr m(rd_kafka_consumer_poll(rk_.get(), static_cast<int>(std::max<int64_t>(left, 0))));
    if (m != nullptr) HandleMessage(std::move(m));
  } while (!stop_ && Clock::now() < deadline);
}

void IngestImpl::UpdatePause() {
  if (!backpressure_ && spool_->AboveHighWatermark()) {
    backpressure_ = true;
    spdlog::warn("ingest: spool above its high watermark, pausing consumption");
  } else if (backpressure_ && spool_->BelowLowWatermark()) {
    backpressure_ = false;
    spdlog::info("ingest: spool below its low watermark, resuming consumption");
  }
  SetPaused(failing_ || backpressure_);
}

void IngestImpl::SetPaused(bool paused) {
  if (paused == paused_) return;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_.get(), &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned != nullptr) {
    TopicPartitionListPtr list(assigned);
    if (list->cnt > 0) {
      if (paused) {
        rd_kafka_pause_partitions(rk_.get(), list.get());
      } else {
        rd_kafka_resume_partitions(rk_.get(), list.get());
      }
    }
  }
  paused_ = paused;
  std::lock_guard<std::mutex> l(mu_);
  stats_.paused = paused;
  if (paused) ++stats_.pauses;
}

void IngestImpl::CommitSync() {
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), nullptr, 0 /* sync */);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  // Not fatal: the spool's recorded offsets keep the next start from re-spooling anything.
  RecordError(fmt::format("kafka: offset commit failed: {}", rd_kafka_err2str(err)));
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.commit_failures;
}

void IngestImpl::UpdateLag() {
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || assigned == nullptr) return;
  TopicPartitionListPtr list(assigned);
  int64_t lag = 0;
  bool known = list->cnt > 0;
  std::map<std::pair<std::string, int32_t>, int64_t> per_partition;
  rd_kafka_position(rk_.get(), list.get());
  if (!paused_) {
    paused_ends_.clear();
  } else if (Clock::now() >= next_paused_query_) {
    // Bounded: a broker that does not answer costs this loop at most about a second a round.
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    for (int i = 0; i < list->cnt && Clock::now() < deadline; ++i) {
      int64_t lo = -1, hi = -1;
      const int left_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (rd_kafka_query_watermark_offsets(rk_.get(), list->elems[i].topic, list->elems[i].partition, &lo, &hi,
                                           std::max(left_ms, 1)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        paused_ends_[TopicPartition(list->elems[i].topic, list->elems[i].partition)] = {lo, hi};
      }
    }
    next_paused_query_ = Clock::now() + std::chrono::seconds(5);
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    int64_t& plag = per_partition[{e.topic, e.partition}];
    plag = -1;
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(rk_.get(), e.topic, e.partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      lo = hi = -1;
    }
    if (paused_) {
      if (auto q = paused_ends_.find(TopicPartition(e.topic, e.partition)); q != paused_ends_.end()) {
        lo = std::max(lo, q->second.first);
        hi = std::max(hi, q->second.second);
      }
    }
    if (hi < 0) {
      known = false;
      continue;
    }
    int64_t pos = e.offset;
    if (pos < 0) {  // nothing delivered since the assignment: where it started
      auto it = start_offset_.find(TopicPartition(e.topic, e.partition));
      pos = it != start_offset_.end() ? it->second : -1;
    }
    if (pos < 0 && lo == hi) pos = hi;  // an empty partition
    if (pos < 0 && lo >= 0 && paused_) {  // paused before its first fetch: where the reset will start it
      pos = opts_.auto_offset_reset == "latest" ? hi : lo;
    }
    if (pos < 0) {
      known = false;
      continue;
    }
    plag = std::max<int64_t>(hi - pos, 0);
    lag += plag;
  }
  const int cnt = list->cnt;
  list.reset();
  std::lock_guard<std::mutex> l(mu_);
  stats_.lag = known ? lag : -1;
  stats_.partition_lag = std::move(per_partition);
  stats_.assigned_partitions = cnt;
}

Status Ingest::Create(const IngestOptions& options, spool::Spool* spool, std::unique_ptr<Ingest>* ingest) {
  auto impl = std::make_unique<IngestImpl>(options, spool);
  Status s = impl->Init();
  if (!s.ok()) return s;
  *ingest = std::move(impl);
  return Status::OK();
}

}  // namespace ingest
}  // namespace sg
