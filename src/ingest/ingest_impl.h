// IngestImpl: the state and the member functions of the Kafka consumer stage, shared by the files
// that implement it: ingest.cc (consumer lifecycle, the poll loop, the batch's way into the
// spool, pause, commits and lag) and rebalance.cc (assignment, revocation and start offsets).
//
// Guarantees: those of sentinel_gateway/ingest.h. Everything below "Poll-thread state" is
// touched only by the consumer thread (rebalance and error callbacks run on it too), apart from
// inflight_batch_, which the append thread uses while its append runs (handed over and back
// through AppendThread's lock); what Stats() and Health() read is guarded by mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "append_thread.h"
#include "batch.h"
#include "kafka_config.h"
#include "sentinel_gateway/event_classifier.h"
#include "sentinel_gateway/event_router.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/rdkafka_handles.h"
#include "sentinel_gateway/status.h"

namespace sg {

namespace spool {
class Spool;
}

namespace ingest {

using Clock = std::chrono::steady_clock;

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class IngestImpl final : public Ingest {
 public:
  IngestImpl(const IngestOptions& options, spool::Spool* spool) : opts_(options), spool_(spool) {}
  ~IngestImpl() override {
    // Best effort: a failed append was logged when it happened (OnAppendFailed), and an owner
    // that needs the outcome calls Stop() itself before destroying us.
    Stop().IgnoreError();
    rk_.reset();  // before the members its callbacks could touch
  }

  Status Init();
  Status Start() override;
  Status Stop() override;
  IngestStats Stats() const override {
    std::lock_guard<std::mutex> l(mu_);
    IngestStats s = stats_;
    s.consumed = consumed_.load(std::memory_order_relaxed);
    return s;
  }
  IngestHealth Health() const override;

 private:
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
  // Drops the whole assignment (an eager revoke, or a failed rebalance) and forgets what this
  // consumer knew of each partition.
  void UnassignAll(rd_kafka_t* rk);
  void SetStartOffsets(rd_kafka_topic_partition_list_t* parts, std::map<TopicPartition, int64_t>* ahead);
  // Logs and counts messages from `position` up to `resumed_at` that were never spooled, of which
  // those below `lo` were deleted by retention.
  void CountRetentionLoss(const TopicPartition& tp, int64_t position, int64_t lo, int64_t resumed_at);
  // A message arrived at `offset`, above the partition's next offset `expected`.
  void CheckGap(const TopicPartition& tp, int64_t expected, int64_t offset);
  void OnKafkaError(rd_kafka_resp_err_t err, const char* reason);
  void OnCommit(rd_kafka_resp_err_t err);
  void RecordError(std::string msg);

  const IngestOptions opts_;
  spool::Spool* const spool_;
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

}  // namespace ingest
}  // namespace sg
