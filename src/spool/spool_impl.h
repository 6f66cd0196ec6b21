// SpoolImpl: the RocksDB spool itself, shared with the reopening decorator (reopening_spool.cc)
// that hands it out. Internal to src/spool; the guarantees are those of
// include/sentinel_gateway/spool.h. Its definitions are in three units: spool_open.cc (Init:
// opening the database), meta_counters.cc (the meta counters and their mirror), spool.cc (the
// rest: the operations).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "meta_counters.h"
#include "sentinel_gateway/spool.h"

namespace sg::spool {

constexpr char kPendingCF[] = "pending";
constexpr char kFailedCF[] = "failed";
constexpr char kMetaCF[] = "meta";
constexpr char kLockFile[] = "gateway.lock";

// Unix epoch milliseconds.
int64_t NowMs();
// A RocksDB status as the spool's Status, prefixed with what was being done.
Status FromRocks(const rocksdb::Status& s, std::string_view what);
// Before anything is written there: no spool where one must exist, or a directory that holds
// something else.
Status CheckSpoolDir(const SpoolOptions& options, const std::string& path);

struct RouteState {
  int64_t events = 0;
  int64_t bytes = 0;
  uint64_t head_hint = 0;  // no pending event of the route has a smaller seq
};

class SpoolImpl final : public Spool {
 public:
  // A writable SpoolImpl is made only by ReopeningSpool, which has created the directory and
  // holds the spool's pid lock.
  SpoolImpl(SpoolOptions options, std::string path) : options_(std::move(options)), path_(std::move(path)) {}

  ~SpoolImpl() override {
    if (db_ != nullptr) {
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
      handles_.clear();
      db_->Close();
      delete db_;
    }
  }

  Status Init();
  // RocksDB answered an error it cannot leave in-process (fatal severity): only a reopen helps.
  bool needs_reopen() const { return needs_reopen_.load(); }
  // Syncs the WAL when acks written without a sync have waited ack_sync_interval_ms (the
  // maintenance thread calls this, so the bound holds when nothing else is written).
  void SyncAcksIfDue();
  // An instance opened by a reopen: acks check which events are still pending (see Ack).
  void VerifyAcks() { verify_acks_ = true; }

  Status Append(const AppendBatch& batch) override;
  Status Read(const std::string& route, uint64_t after_seq, size_t max_events, size_t max_bytes,
              std::vector<PendingEvent>* out) override;
  Status Ack(const std::string& route, const std::vector<PendingEvent>& events) override {
    return Ack(route, events, 0, events.size());
  }
  Status Ack(const std::string& route, const std::vector<PendingEvent>& events, size_t begin,
             size_t end) override;
  Status Fail(const std::string& route, const std::vector<uint64_t>& seqs, const FailureInfo& why,
              uint64_t* batch_id) override;
  Status Requeue(uint64_t batch_id, size_t* moved) override;
  Status Drop(uint64_t batch_id) override;
  Status ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                    std::vector<FailedBatch>* out) const override;
  Status GetFailed(uint64_t batch_id, FailedBatch* out) const override;
  Status MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) override;
  Status ClearInFlight(const std::string& route, uint64_t first_seq) override;
  Status InDoubt(std::vector<InDoubtRange>* out) const override;
  Status ClearInDoubt(const std::string& route, uint64_t first_seq) override;
  // The writer's first open: every in-flight mark becomes in doubt, in one synced write (a
  // reopen after an I/O error does not: this process's lanes still own their marks).
  Status PromoteInFlight(size_t* promoted);
  // The writer's first open, after PromoteInFlight: when the previous writer never closed and the
  // machine restarted since, puts the head of each route in doubt (see the power-loss guarantee);
  // then records this run. One synced write. *routes: routes whose head was put in doubt.
  Status BeginRun(size_t* routes);
  // A clean close: removes the run record, synced.
  Status EndRun();
  std::vector<std::string> Routes() const override;
  Status Stats(SpoolStats* out) override;
  Status SourceOffsets(std::vector<PartitionOffset>* out) const override;
  int64_t SourceOffset(const std::string& topic, int32_t partition) const override;
  bool AboveHighWatermark() const override;
  bool BelowLowWatermark() const override;
  uint64_t UsedBytes() const override;
  Status CatchUp() override;
  const std::string& path() const override { return path_; }

 private:
  // In-memory mirror of the meta counters, changed only after the write that carries them succeeded.
  struct Deltas {
    std::unordered_map<std::string, std::pair<int64_t, int64_t>> route;  // events, bytes
    int64_t failed_batches = 0, failed_events = 0, failed_bytes = 0;
    int64_t appended = 0, acked = 0, quarantined = 0;
    std::vector<PartitionOffset> offsets;
  };

  // The spool-wide counters: meta key, in-memory value, and the delta field that changes it. One
  // table serves loading, writing and applying them, so a counter cannot be half wired.
  struct Counter {
    const char* key;
    int64_t SpoolImpl::*value;
    int64_t Deltas::*delta;
  };
  static const Counter kCounters[6];

  bool writable() const { return !options_.read_only && !options_.secondary; }
  uint64_t FailedBudget() const {
    return options_.failed_max_bytes > 0 ? options_.failed_max_bytes : options_.max_bytes / 4;
  }
  // Logs once each time the failed area grows past its budget (it refuses nothing).
  void WarnFailedBudgetLocked() {
    const bool over = failed_bytes_ > 0 && static_cast<uint64_t>(failed_bytes_) > FailedBudget();
    if (over && !failed_over_budget_) {
      spdlog::warn("spool: the failed area of {} holds {} bytes, over its budget of {}; nothing is "
                   "refused, but drop or requeue failed batches (sentinel-spool ls --failed)",
                   path_, failed_bytes_, FailedBudget());
    }
    failed_over_budget_ = over;
  }
  Status CheckWritable() const {
    return writable() ? Status::OK()
                      : Status::InvalidArgument(fmt::format("spool {} is open read-only", path_));
  }
  uint64_t VisibleLimitLocked() const {
    if (!writable()) return UINT64_MAX;
    return inflight_.empty() ? next_seq_ : *inflight_.begin();
  }
  void AddDeltasToBatch(const Deltas& d, rocksdb::WriteBatch* wb);
  void ApplyDeltasLocked(const Deltas& d);
  Status Write(rocksdb::WriteBatch* wb, bool sync, std::string_view what);
  // The spool's filesystem has room for RocksDB to work again (64 MiB free).
  // Asked through RocksDB's Env so that a test's fault-injecting filesystem answers for its disk.
  bool HasFreeSpace() const {
    rocksdb::Env* env = options_.env != nullptr ? options_.env : rocksdb::Env::Default();
    uint64_t free = 0;
    return env->GetFreeSpace(path_, &free).ok() && free >= (64ull << 20);
  }
  Status LoadMeta();
  Status RecoverSequences();
  Status QuarantineCorrupt(const std::string& route, uint64_t seq, std::string raw, const std::string& why);
  Status ReadHead(const std::string& route, PendingEvent* head, bool* found);
  Status ListMarks(std::string_view prefix, std::vector<InDoubtRange>* out) const;
  // Pending events of `route` with seq in [first, last].
  Status CountPendingIn(const std::string& route, uint64_t first, uint64_t last, uint64_t* n);
  // The run record says the last writer never closed and the machine restarted since (or a boot id
  // is unknown: counted as a restart).
  Status RestartedSinceLastRun(bool* restarted) const;
  // For each route, the range from its head to its (in_flight_bound_events + ack_sync_events)-th
  // pending event outside the ranges already in doubt (`doubt`: held, so lanes posted past them).
  Status HeadRanges(const std::vector<InDoubtRange>& doubt, std::vector<InDoubtRange>* out) const;
  // Ack sync bookkeeping (see SpoolOptions::ack_sync_*): how many acked events were written, and
  // how many of them a sync is known to cover. A synced write covers every ack written before it.
  uint64_t AcksWritten() {
    std::lock_guard<std::mutex> l(sync_mu_);
    return acks_written_;
  }
  void SyncedUpTo(uint64_t acks_written_before) {
    std::lock_guard<std::mutex> l(sync_mu_);
    acks_synced_ = std::max(acks_synced_, acks_written_before);
    last_sync_ = std::chrono::steady_clock::now();
  }
  bool AckSyncDue(uint64_t more) {
    std::lock_guard<std::mutex> l(sync_mu_);
    return acks_written_ + more - acks_synced_ >= options_.ack_sync_events ||
           std::chrono::steady_clock::now() - last_sync_ >= std::chrono::milliseconds(options_.ack_sync_interval_ms);
  }

  const SpoolOptions options_;
  const std::string path_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* pending_ = nullptr;
  rocksdb::ColumnFamilyHandle* failed_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;

  mutable std::mutex mu_;  // guards everything below
  uint64_t next_seq_ = 1;
  uint64_t next_batch_id_ = 1;
  std::set<uint64_t> inflight_;  // first seq of each append not yet committed: readers stop before it
  std::map<std::string, RouteState> routes_;
  std::map<std::pair<std::string, int32_t>, int64_t> offsets_;
  int64_t failed_batches_ = 0, failed_events_ = 0, failed_bytes_ = 0;
  int64_t appended_ = 0, acked_ = 0, quarantined_ = 0;
  int64_t reserved_bytes_ = 0;  // bytes of appends in flight, counted against max_bytes

  // Partitions of the appends in flight: an append waits for another that carries the same
  // partition, so the recorded offsets it checks are final (see Append). Guarded by mu_.
  std::set<std::pair<std::string, int32_t>> claimed_;
  std::condition_variable claim_cv_;
  uint64_t duplicates_skipped_ = 0;  // events and messages of appends that were already spooled
  bool failed_over_budget_ = false;
  bool verify_acks_ = false;  // set before the instance is shared, then only read

  std::mutex sync_mu_;  // guards the ack sync bookkeeping
  uint64_t acks_written_ = 0, acks_synced_ = 0;
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();

  std::mutex failed_mu_;  // serialises Fail / Requeue / Drop, which read before they write
  std::atomic<bool> need_resume_{false};
  std::atomic<bool> needs_reopen_{false};
};

}  // namespace sg::spool
