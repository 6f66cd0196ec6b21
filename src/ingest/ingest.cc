// The Kafka consumer stage. One thread polls librdkafka, classifies each message, gathers one
// poll cycle's messages into one spool append, and stores offsets only once that append is
// durable. Rebalance, error and commit callbacks run on the same thread (the main queue is
// forwarded to the consumer queue), so the batch in hand needs no lock.
#include "sentinel_gateway/ingest.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "append_thread.h"
#include "kafka_config.h"
#include "sentinel_gateway/rdkafka_handles.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/thread_name.h"

namespace sg {
namespace {

using Clock = std::chrono::steady_clock;
using TopicPartition = std::pair<std::string, int32_t>;

// Waits before recreating a consumer after a fatal error, when such errors repeat.
constexpr int kConsumerRestartInitialMs = 500;
constexpr int kConsumerRestartMaxMs = 30000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class IngestImpl final : public Ingest {
 public:
  IngestImpl(const IngestOptions& options, Spool* spool) : opts_(options), spool_(spool) {}
  ~IngestImpl() override {
    Stop();
    rk_.reset();  // before the members its callbacks could touch
  }

  Status Init();
  Status Start() override;
  Status Stop() override;
  IngestStats stats() const override {
    std::lock_guard<std::mutex> l(mu_);
    IngestStats s = stats_;
    s.consumed = consumed_.load(std::memory_order_relaxed);
    return s;
  }
  IngestHealth health() const override;

 private:
  // Messages of one or more poll cycles that go to the spool in one append.
  struct Batch {
    AppendBatch append;
    std::map<TopicPartition, int64_t> offsets;  // highest offset per partition in the batch
    std::set<TopicPartition> rewound;  // partitions whose recorded offset this batch lowers
    size_t msgs = 0;
    size_t bytes = 0;
    void Clear() {
      append.events.clear();
      append.quarantined.clear();
      append.offsets.clear();
      offsets.clear();
      rewound.clear();
      msgs = bytes = 0;
    }
  };
  // librdkafka callbacks (opaque = this).
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
    static_cast<IngestImpl*>(opaque)->OnRebalance(rk, err, parts);
  }
  static void ErrorCb(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<IngestImpl*>(opaque)->OnKafkaError(static_cast<rd_kafka_resp_err_t>(err), reason);
  }
  static void CommitCb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*,
                       void* opaque) {
    static_cast<IngestImpl*>(opaque)->OnCommit(err);
  }
  static void LogCb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
    // librdkafka redacts secret properties itself; its levels are syslog's.
    if (level <= 3) {
      spdlog::error("kafka {}: {}", fac, buf);
    } else if (level <= 4) {
      spdlog::warn("kafka {}: {}", fac, buf);
    } else if (level <= 6) {
      spdlog::info("kafka {}: {}", fac, buf);
    } else {
      spdlog::debug("kafka {}: {}", fac, buf);
    }
  }

  Status NewConsumer();
  Status Subscribe();
  bool Fatal() const { return rd_kafka_fatal_error(rk_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR; }
  void RecreateConsumer();
  void Run();
  void CollectBatch();
  void HandleMessage(KafkaMessagePtr m);
  bool TryAppend();
  Status AppendTimed(Batch* b);
  void OnAppended(Batch* b);
  void OnAppendFailed(const Status& s);
  void ClearFailure();
  void Launch();
  void WaitInflight();
  void StoreOffsets(const std::map<TopicPartition, int64_t>& offsets);
  void ClearBatch();
  void DropPartitionsFromBatch(const std::set<TopicPartition>& revoked);
  void ServeFor(int ms);
  void UpdatePause();
  void SetPaused(bool paused);
  void CommitSync();
  void UpdateLag();
  void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void SetStartOffsets(rd_kafka_topic_partition_list_t* parts, std::map<TopicPartition, int64_t>* ahead);
  int64_t RetentionPassed(const TopicPartition& tp, int64_t position, int64_t lo, int64_t hi);
  // Logs and counts messages from `position` up to `resumed_at` that were never spooled, of which
  // those below `lo` were deleted by retention.
  void CountRetentionLoss(const TopicPartition& tp, int64_t position, int64_t lo, int64_t resumed_at);
  // A message arrived at `offset`, above the partition's next offset `expected`.
  void CheckGap(const TopicPartition& tp, int64_t expected, int64_t offset);
  int64_t RewindStart(const TopicPartition& tp, int64_t committed, int64_t spooled, int64_t lo, int64_t hi);
  void OnKafkaError(rd_kafka_resp_err_t err, const char* reason);
  void OnCommit(rd_kafka_resp_err_t err);
  void RecordError(std::string msg);

  const IngestOptions opts_;
  Spool* const spool_;
  ingest::KafkaProperties kafka_properties_;  // from opts_, once: every consumer gets the same
  std::unique_ptr<EventRouter> router_;
  std::unique_ptr<EventClassifier> classifier_;
  KafkaPtr rk_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> consumed_{0};
  bool started_ = false;
  bool stopped_ = false;
  bool closing_ = false;

  // Poll-thread state.
  // The batch being filled, and the one being appended on appender_'s thread meanwhile
  // (throughput: the next poll cycle's messages are gathered while the previous batch is written
  // and fsync'd). At most one append is in flight, so batches reach the spool in order.
  Batch cur_;
  Batch inflight_batch_;
  std::set<TopicPartition> assigned_;
  // Highest offset this spool holds per assigned partition: messages at or below it are already
  // spooled (an offset reset to earliest, a re-delivery) and are skipped, not spooled twice.
  std::map<TopicPartition, int64_t> spooled_high_;
  // Where each assigned partition started (for the lag of partitions that have not delivered yet).
  std::map<TopicPartition, int64_t> start_offset_;
  // The offset each assigned partition's next message should have (the start, then the last
  // message + 1): a message above it means librdkafka reset the position, which while assigned
  // only retention makes it do (a long pause), so the gap is said and counted (CheckGap).
  std::map<TopicPartition, int64_t> next_offset_;
  // A paused partition is not fetched, so librdkafka's cached high watermark (and the lag
  // computed from it) would stand still while the topic grows: while paused, the log ends are
  // asked of the broker now and then instead.
  std::map<TopicPartition, std::pair<int64_t, int64_t>> paused_ends_;  // log start, log end
  Clock::time_point next_paused_query_{};
  // Partitions whose log was found to end below this spool's offset (topic recreated or
  // truncated): their next append records the lower offset instead of keeping the maximum.
  std::set<TopicPartition> rewind_pending_;

  bool failing_ = false;       // the batch in hand could not be appended
  bool backpressure_ = false;  // the spool is above its high watermark
  bool paused_ = false;        // partitions are paused (failing_ || backpressure_)
  int backoff_ms_ = 0;
  Status last_append_status_;

  // Consumer restarts after fatal errors: the wait before the next one (doubling while they come
  // quickly one after the other) and when the last one was.
  int restart_backoff_ms_ = 0;
  Clock::time_point last_restart_{};
  bool restarted_ = false;  // the new consumer has not been assigned partitions yet

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;  // with mu_: Stop() wakes a restart's backoff
  IngestStats stats_;
  std::string failing_reason_;  // guarded by mu_
  std::string kafka_error_;     // guarded by mu_; cleared when messages flow again

  // Runs the appends of inflight_batch_ (AppendTimed). Exists from Start() until Stop() has
  // joined the consumer thread, which drains it first; declared last, so it is gone before
  // anything its appends touch.
  std::unique_ptr<ingest::AppendThread> appender_;
};

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

IngestHealth IngestImpl::health() const {
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
  auto next_commit = Clock::now() + std::chrono::milliseconds(opts_.commit_interval_ms);
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
      next_commit = Clock::now() + std::chrono::milliseconds(opts_.commit_interval_ms);
      continue;
    }
    UpdatePause();
    if (Clock::now() >= next_commit) {
      rd_kafka_commit(rk_.get(), nullptr, 1 /* async */);
      UpdateLag();
      next_commit = Clock::now() + std::chrono::milliseconds(opts_.commit_interval_ms);
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
  SourceRef src{rd_kafka_topic_name(m->rkt), m->partition, m->offset};
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
  auto [it, inserted] = cur_.offsets.try_emplace(tp, m->offset);
  if (!inserted) it->second = std::max(it->second, m->offset);
  if (c.ok) {
    cur_.append.events.push_back(NewEvent{std::move(c.route), std::string(payload), std::move(src)});
  } else {
    const int64_t now = NowMs();
    QuarantinedMessage q;
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
  ++cur_.msgs;
  cur_.bytes += payload.size();
  consumed_.fetch_add(1, std::memory_order_relaxed);
}

void IngestImpl::ClearBatch() { cur_.Clear(); }

Status IngestImpl::AppendTimed(Batch* b) {
  b->append.offsets.clear();
  for (const auto& [tp, off] : b->offsets) {
    b->append.offsets.push_back(PartitionOffset{tp.first, tp.second, off, b->rewound.count(tp) > 0});
  }
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
  Batch& old = inflight_batch_;
  auto& ev = old.append.events;
  ev.insert(ev.end(), std::make_move_iterator(cur_.append.events.begin()),
            std::make_move_iterator(cur_.append.events.end()));
  auto& q = old.append.quarantined;
  q.insert(q.end(), std::make_move_iterator(cur_.append.quarantined.begin()),
           std::make_move_iterator(cur_.append.quarantined.end()));
  for (const auto& [tp, off] : cur_.offsets) {
    int64_t& o = old.offsets.try_emplace(tp, off).first->second;
    o = std::max(o, off);
  }
  old.rewound.insert(cur_.rewound.begin(), cur_.rewound.end());
  old.msgs += cur_.msgs;
  old.bytes += cur_.bytes;
  std::swap(cur_, old);
  old.Clear();
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

void IngestImpl::DropPartitionsFromBatch(const std::set<TopicPartition>& revoked) {
  auto gone = [&](const SourceRef& s) { return revoked.count(TopicPartition(s.topic, s.partition)) > 0; };
  size_t dropped = 0;
  size_t bytes = 0;
  auto& ev = cur_.append.events;
  for (auto it = ev.begin(); it != ev.end();) {
    if (gone(it->source)) {
      ++dropped, bytes += it->payload.size();
      it = ev.erase(it);
    } else {
      ++it;
    }
  }
  auto& q = cur_.append.quarantined;
  for (auto it = q.begin(); it != q.end();) {
    if (gone(it->source)) {
      ++dropped, bytes += it->payload.size();
      it = q.erase(it);
    } else {
      ++it;
    }
  }
  for (const TopicPartition& tp : revoked) cur_.offsets.erase(tp), cur_.rewound.erase(tp);
  cur_.msgs -= dropped;
  cur_.bytes -= bytes;
  if (cur_.msgs == 0) {
    ClearBatch();
    ClearFailure();  // the batch that failed is gone: nothing holds consumption back any more
  }
  if (dropped > 0) {
    spdlog::warn("ingest: {} unspooled messages of revoked partitions left to their next owner", dropped);
  }
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

void IngestImpl::SetStartOffsets(rd_kafka_topic_partition_list_t* parts, std::map<TopicPartition, int64_t>* ahead) {
  if (parts->cnt == 0) return;
  std::vector<int64_t> spooled(parts->cnt, -1);
  for (int i = 0; i < parts->cnt; ++i) {
    spooled[i] = spool_->SourceOffset(parts->elems[i].topic, parts->elems[i].partition);
    spooled_high_[TopicPartition(parts->elems[i].topic, parts->elems[i].partition)] = spooled[i];
  }
  TopicPartitionListPtr committed(rd_kafka_topic_partition_list_copy(parts));
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_.get(), committed.get(), opts_.assign_committed_timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Starting after the spool's offset never loses an event; at worst it re-reads what another
    // gateway of the group spooled meanwhile.
    spdlog::warn("ingest: cannot fetch committed offsets ({}); starting after the spooled offsets",
                 rd_kafka_err2str(err));
  }
  for (int i = 0; i < parts->cnt; ++i) {
    int64_t c = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && committed->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        committed->elems[i].offset >= 0) {
      c = committed->elems[i].offset;
    }
    int64_t start = c;  // -1: committed offset unknown, librdkafka applies auto.offset.reset
    if (spooled[i] >= 0) start = std::max(c, spooled[i] + 1);
    if (start >= 0) {
      // Check the position against the log: a log that ends below what this spool holds was
      // recreated or truncated (starting after the spooled offset would skip every new message
      // until the log grows past it); one that starts above it lost messages to retention.
      int64_t lo = -1, hi = -1;
      const TopicPartition tp(parts->elems[i].topic, parts->elems[i].partition);
      if (rd_kafka_query_watermark_offsets(rk_.get(), tp.first.c_str(), tp.second, &lo, &hi,
                                           opts_.assign_committed_timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          hi >= 0) {
        if (spooled[i] >= 0 && hi <= spooled[i]) {
          start = RewindStart(tp, c, spooled[i], lo, hi);
          spooled_high_[tp] = start - 1;
        } else if (start < lo) {
          start = RetentionPassed(tp, start, lo, hi);
        }
      }
      parts->elems[i].offset = start;
      // The spool holds more than the group committed (a commit refused, e.g. by a fatal error,
      // or a crash before it): commit the spool's offset too, or the partition's next owner in
      // another gateway would read those messages again.
      if (spooled[i] >= 0 && start == spooled[i] + 1 && start > c) {
        (*ahead)[TopicPartition(parts->elems[i].topic, parts->elems[i].partition)] = spooled[i];
      }
    }
    start_offset_[TopicPartition(parts->elems[i].topic, parts->elems[i].partition)] = start;
    if (start >= 0) next_offset_[TopicPartition(parts->elems[i].topic, parts->elems[i].partition)] = start;
  }
}

int64_t IngestImpl::RetentionPassed(const TopicPartition& tp, int64_t position, int64_t lo, int64_t hi) {
  const int64_t start = opts_.auto_offset_reset != "latest" ? lo : hi;
  CountRetentionLoss(tp, position, lo, start);
  return start;
}

void IngestImpl::CountRetentionLoss(const TopicPartition& tp, int64_t position, int64_t lo, int64_t resumed_at) {
  spdlog::error("ingest: {}[{}]: offsets {} to {} were deleted by Kafka's retention before this gateway spooled "
                "them ({} messages lost upstream){}; consuming from offset {}",
                tp.first, tp.second, position, lo - 1, lo - position,
                resumed_at > lo ? fmt::format(", and auto_offset_reset = \"{}\" skips the {} retained ones",
                                              opts_.auto_offset_reset, resumed_at - lo)
                                : "",
                resumed_at);
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.offset_resets;
  stats_.offset_reset_skipped += static_cast<uint64_t>(resumed_at - position);
  stats_.last_error = fmt::format("kafka: {}[{}]: {} messages deleted by retention before they were spooled",
                                  tp.first, tp.second, lo - position);
  stats_.last_error_ms = NowMs();
}

void IngestImpl::CheckGap(const TopicPartition& tp, int64_t expected, int64_t offset) {
  // The fetch response that carried this message also brought the log's start offset (Fetch v5+,
  // LogStartOffset), which librdkafka keeps: if the log now starts above where this partition
  // was, librdkafka reset an out-of-range position (auto.offset.reset) and what lies between was
  // never spooled. A gap inside the log (transaction markers, compaction) loses nothing.
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(rk_.get(), tp.first.c_str(), tp.second, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      lo <= expected) {
    return;
  }
  CountRetentionLoss(tp, expected, std::min(lo, offset), offset);
}

int64_t IngestImpl::RewindStart(const TopicPartition& tp, int64_t committed, int64_t spooled, int64_t lo,
                                int64_t hi) {
  // A committed offset past the new end means the log was truncated (an unclean leader
  // election): what lies below its end is what this spool already has. No committed offset (a
  // deleted topic loses its group offsets) or one inside the log: take it, or the log's start.
  int64_t start = lo;
  if (committed > hi) {
    start = hi;
  } else if (committed >= lo) {
    start = committed;
  }
  spdlog::warn("ingest: {}[{}] ends at offset {} (starts at {}), below offset {} that this spool holds: the "
               "topic was recreated or truncated; consuming it again from offset {}",
               tp.first, tp.second, hi, lo, spooled, start);
  rewind_pending_.insert(tp);
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.offset_rewinds;
  return start;
}

void IngestImpl::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++stats_.rebalances;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!cooperative) {  // eager: the whole assignment
      spooled_high_.clear(), start_offset_.clear(), next_offset_.clear();
    }
    std::map<TopicPartition, int64_t> ahead;
    SetStartOffsets(parts, &ahead);
    if (cooperative) {
      if (KafkaErrorPtr e{rd_kafka_incremental_assign(rk, parts)}) {
        RecordError(fmt::format("kafka: incremental assign failed: {}", rd_kafka_error_string(e.get())));
      }
    } else {
      rd_kafka_assign(rk, parts);
      assigned_.clear();
    }
    if (!ahead.empty()) StoreOffsets(ahead);  // assigned now: the next commit carries them
    for (int i = 0; i < parts->cnt; ++i) assigned_.emplace(parts->elems[i].topic, parts->elems[i].partition);
    // librdkafka keeps an application pause across unassign and assign (librdkafka issue 1849):
    // a partition paused before it was revoked would come back paused after a resume of the
    // assignment of the time. Give every assigned partition the state of now, both ways.
    if (parts->cnt > 0) {
      if (paused_) {
        rd_kafka_pause_partitions(rk, parts);
      } else {
        rd_kafka_resume_partitions(rk, parts);
      }
    }
    spdlog::info("ingest: assigned {} partitions ({}), {} in total", parts->cnt,
                 cooperative ? "cooperative" : "eager", assigned_.size());
    if (restarted_) {  // the recreated consumer is back in its group: the fatal error is over
      restarted_ = false;
      std::lock_guard<std::mutex> l(mu_);
      kafka_error_.clear();
    }
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    std::set<TopicPartition> revoked;
    for (int i = 0; i < parts->cnt; ++i) revoked.emplace(parts->elems[i].topic, parts->elems[i].partition);
    const bool lost = rd_kafka_assignment_lost(rk);
    WaitInflight();  // its offsets must be stored before the commit below
    if (!lost && cur_.msgs > 0 && !failing_) {
      // Spool what we hold of these partitions before their offsets are committed and handed on.
      TryAppend();
    }
    if (cur_.msgs > 0) DropPartitionsFromBatch(revoked);
    if (!lost) CommitSync();
    if (cooperative) {
      if (KafkaErrorPtr e{rd_kafka_incremental_unassign(rk, parts)}) {
        RecordError(fmt::format("kafka: incremental unassign failed: {}", rd_kafka_error_string(e.get())));
      }
      for (const auto& tp : revoked) {
        assigned_.erase(tp), spooled_high_.erase(tp), start_offset_.erase(tp), next_offset_.erase(tp);
        rewind_pending_.erase(tp);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
      assigned_.clear();
      spooled_high_.clear();
      start_offset_.clear();
      next_offset_.clear();
      rewind_pending_.clear();
    }
    if (lost) {
      std::lock_guard<std::mutex> l(mu_);
      stats_.partitions_lost += static_cast<uint64_t>(parts->cnt);
    }
    spdlog::info("ingest: {} {} partitions, {} left", lost ? "lost" : "revoked", parts->cnt, assigned_.size());
  } else {
    RecordError(fmt::format("kafka: rebalance failed: {}", rd_kafka_err2str(err)));
    rd_kafka_assign(rk, nullptr);
    assigned_.clear();
    spooled_high_.clear();
    start_offset_.clear();
    next_offset_.clear();
    rewind_pending_.clear();
  }
  std::lock_guard<std::mutex> l(mu_);
  stats_.assigned_partitions = static_cast<int>(assigned_.size());
}

}  // namespace

Status Ingest::Create(const IngestOptions& options, Spool* spool, std::unique_ptr<Ingest>* ingest) {
  auto impl = std::make_unique<IngestImpl>(options, spool);
  Status s = impl->Init();
  if (!s.ok()) return s;
  *ingest = std::move(impl);
  return Status::OK();
}

}  // namespace sg
