// ReopeningSpool: the Spool handed out for read-write use (see its comment), and Spool::Open.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "coding.h"
#include "pid_lock.h"
#include "rocksdb_log.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/thread_name.h"
#include "spool_impl.h"

namespace sg {
namespace spool {
namespace {

namespace fs = std::filesystem;


// ReopeningSpool: the Spool handed out for read-write use. It forwards every call to a SpoolImpl
// under a shared lock and, when RocksDB has met an error it cannot leave in-process (a fatal
// background error after a disk-full, say), closes and reopens the database, so the gateway
// recovers without a restart. It holds the pid lock itself, so no other process can take the spool
// while it reopens. Everything acknowledged is in the WAL; a reopen loses nothing.
//
// Who reopens: the next change (append, ack, ...) and, without any caller, the maintenance thread,
// which retries with backoff (kReopenBackoffMin doubling to kReopenBackoffMax) for as long as the
// spool is closed or needs a reopen. So a spool never stays closed once its disk works again, even
// when nothing writes to it (ingest paused by the closed spool's watermark, the drainer with
// nothing to ack). The same thread syncs an idle tail of acks (SpoolOptions::ack_sync_interval_ms).
class ReopeningSpool final : public Spool {
 public:
  static constexpr std::chrono::milliseconds kReopenBackoffMin{50};
  static constexpr std::chrono::milliseconds kReopenBackoffMax{1000};

  ReopeningSpool(SpoolOptions options, std::string path) : options_(std::move(options)), path_(std::move(path)) {}
  ~ReopeningSpool() override {
    {
      std::lock_guard<std::mutex> l(bg_mu_);
      stop_ = true;
    }
    bg_cv_.notify_all();
    if (!bg_.joinable()) return;  // Init failed: this process never ran on the spool
    bg_.join();
    // A clean stop: the next open finds no run record, so nothing is put in doubt for a power cut.
    std::unique_lock<std::shared_mutex> l(mu_);
    if (inner_ == nullptr) return;  // closed after an I/O error: the next start takes it as a crash
    if (Status s = inner_->EndRun(); !s.ok()) {
      spdlog::warn("spool {}: cannot record the clean stop ({}); after a power cut before the next "
                   "start, the head of each table would be checked again", path_, s.ToString());
    }
  }

  Status Init() {
    if (Status s = CheckSpoolDir(options_, path_); !s.ok()) return s;
    std::error_code ec;
    if (!fs::exists(fs::path(path_) / "CURRENT", ec)) {
      if (Status s = CreateAtomically(); !s.ok()) return s;
    }
    fs::create_directories(path_, ec);
    if (ec) return Status::IOError(fmt::format("cannot create spool {}: {}", path_, ec.message()));
    if (::chmod(path_.c_str(), 0700) != 0) {
      return Status::IOError(fmt::format("cannot set mode 0700 on {}: {}", path_, std::strerror(errno)));
    }
    Status s = lock_.Acquire(path_ + "/" + kLockFile, options_.lock_wait_ms);
    if (!s.ok()) return s;
    s = OpenInner();
    if (!s.ok()) return s;
    size_t promoted = 0;
    s = inner_->PromoteInFlight(&promoted);
    if (!s.ok()) return s;
    if (promoted > 0) {
      spdlog::warn("spool {}: {} batch(es) were being posted when the previous process stopped; "
                   "their delivery is in doubt", path_, promoted);
    }
    size_t heads = 0;
    s = inner_->BeginRun(&heads);
    if (!s.ok()) return s;
    if (heads > 0) {
      spdlog::warn("spool {}: the previous gateway never stopped and the machine has restarted since "
                   "(a power cut?): what it acked or posted last may not have reached the disk, so the "
                   "head of {} table(s) is in doubt", path_, heads);
    }
    bg_ = std::thread([this] {
      NameThisThread("sg-spool-maint");
      Maintain();
    });
    return Status::OK();
  }

  Status Append(const AppendBatch& batch) override { return Change([&](SpoolImpl* s) { return s->Append(batch); }); }
  Status Read(const std::string& route, uint64_t after_seq, size_t max_events, size_t max_bytes,
              std::vector<PendingEvent>* out) override {
    return Use([&](SpoolImpl* s) { return s->Read(route, after_seq, max_events, max_bytes, out); });
  }
  Status Ack(const std::string& route, const std::vector<PendingEvent>& events) override {
    return Change([&](SpoolImpl* s) { return s->Ack(route, events); });
  }
  Status Ack(const std::string& route, const std::vector<PendingEvent>& events, size_t begin, size_t end) override {
    return Change([&](SpoolImpl* s) { return s->Ack(route, events, begin, end); });
  }
  Status Fail(const std::string& route, const std::vector<uint64_t>& seqs, const FailureInfo& why,
              uint64_t* batch_id) override {
    return Change([&](SpoolImpl* s) { return s->Fail(route, seqs, why, batch_id); });
  }
  Status Requeue(uint64_t batch_id, size_t* moved) override {
    return Change([&](SpoolImpl* s) { return s->Requeue(batch_id, moved); });
  }
  Status Drop(uint64_t batch_id) override { return Change([&](SpoolImpl* s) { return s->Drop(batch_id); }); }
  Status ListFailed(uint64_t after_id, size_t limit, const std::string& route_filter,
                    std::vector<FailedBatch>* out) const override {
    return Use([&](const SpoolImpl* s) { return s->ListFailed(after_id, limit, route_filter, out); });
  }
  Status GetFailed(uint64_t batch_id, FailedBatch* out) const override {
    return Use([&](const SpoolImpl* s) { return s->GetFailed(batch_id, out); });
  }
  Status MarkInFlight(const std::string& route, uint64_t first_seq, uint64_t last_seq) override {
    return Change([&](SpoolImpl* s) { return s->MarkInFlight(route, first_seq, last_seq); });
  }
  Status ClearInFlight(const std::string& route, uint64_t first_seq) override {
    return Change([&](SpoolImpl* s) { return s->ClearInFlight(route, first_seq); });
  }
  Status InDoubt(std::vector<InDoubtRange>* out) const override {
    return Use([&](const SpoolImpl* s) { return s->InDoubt(out); });
  }
  Status ClearInDoubt(const std::string& route, uint64_t first_seq) override {
    return Change([&](SpoolImpl* s) { return s->ClearInDoubt(route, first_seq); });
  }
  std::vector<std::string> Routes() const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    return inner_ ? inner_->Routes() : std::vector<std::string>();
  }
  Status Stats(SpoolStats* out) override { return Use([&](SpoolImpl* s) { return s->Stats(out); }); }
  // While closed, the offsets the spool held when it closed (nothing can have changed them since):
  // a consumer assigned a partition meanwhile must resume after them, not from scratch.
  Status SourceOffsets(std::vector<PartitionOffset>* out) const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (inner_ != nullptr) return inner_->SourceOffsets(out);
    *out = closed_offsets_;
    return Status::OK();
  }
  int64_t SourceOffset(const std::string& topic, int32_t partition) const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (inner_ != nullptr) return inner_->SourceOffset(topic, partition);
    for (const PartitionOffset& o : closed_offsets_) {
      if (o.topic == topic && o.partition == partition) return o.offset;
    }
    return -1;
  }
  bool AboveHighWatermark() const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    return inner_ ? inner_->AboveHighWatermark() : true;
  }
  bool BelowLowWatermark() const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    return inner_ ? inner_->BelowLowWatermark() : false;
  }
  uint64_t UsedBytes() const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    return inner_ ? inner_->UsedBytes() : 0;
  }
  Status CatchUp() override { return Status::OK(); }
  const std::string& path() const override { return path_; }

 private:
  // A new spool: built complete (RocksDB files, column families, the synced format version) in a
  // temporary directory beside `path` and renamed into place, so `path` either holds a whole spool
  // or none. RocksDB's creation is several files (IDENTITY, MANIFEST, CURRENT, OPTIONS, the WAL)
  // and the format version is a write after it: a kill in between used to leave a directory every
  // later start refused as corrupt. A directory that already exists and holds only a README or
  // .gitignore is created in place as before (rename cannot replace a non-empty directory); an
  // empty one is replaced. Leftover temporary directories (a kill during creation) hold no data.
  Status CreateAtomically() {
    std::error_code ec;
    const fs::path target(path_);
    if (fs::exists(target, ec) && !fs::is_empty(target, ec)) return Status::OK();
    fs::path parent = target.parent_path();
    if (parent.empty()) parent = ".";
    // An existing empty directory that is a mount point (its own filesystem) cannot be replaced
    // by a rename: the spool is created in place there.
    struct stat ts {}, ps {};
    if (::stat(path_.c_str(), &ts) == 0 && ::stat(parent.c_str(), &ps) == 0 && ts.st_dev != ps.st_dev) {
      return Status::OK();
    }
    fs::create_directories(parent, ec);
    if (ec) return Status::IOError(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
    std::string tmpl = (parent / ("." + target.filename().string() + ".new-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      // The parent is not ours to write (a spool directory prepared by the operator): in place.
      if (errno == EACCES || errno == EROFS || errno == EPERM) return Status::OK();
      return Status::IOError(fmt::format("cannot create a directory beside {}: {}", path_, std::strerror(errno)));
    }
    {
      SpoolImpl impl(options_, tmpl);
      if (Status s = impl.Init(); !s.ok()) {
        fs::remove_all(tmpl, ec);
        return s;
      }
    }  // closed: RocksDB synced its files, the format version was a synced write
    if (::rename(tmpl.c_str(), path_.c_str()) != 0) {
      const int err = errno;
      fs::remove_all(tmpl, ec);
      // Another process created the spool meanwhile: open that one (its lock decides who writes).
      // Or the rename is impossible here (a mount point, a directory we may not replace): the
      // spool is created in place, as without this step.
      if (err == ENOTEMPTY || err == EEXIST || err == EBUSY || err == EXDEV || err == EPERM || err == EACCES ||
          err == EINVAL) {
        return Status::OK();
      }
      return Status::IOError(fmt::format("cannot move the new spool into {}: {}", path_, std::strerror(err)));
    }
    // The rename is durable only once the parent directory is synced.
    int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      const int rc = ::fsync(dfd);
      ::close(dfd);
      if (rc != 0) return Status::IOError(fmt::format("cannot sync {}: {}", parent.string(), std::strerror(errno)));
    }
    return Status::OK();
  }

  Status OpenInner(bool reopen = false) {
    auto impl = std::make_unique<SpoolImpl>(options_, path_);
    Status s = impl->Init();
    if (!s.ok()) return s;
    if (reopen) impl->VerifyAcks();
    inner_ = std::move(impl);
    return Status::OK();
  }

  // Calls f with the open spool under the shared lock. Const: it changes nothing of the decorator;
  // the queries pass an f that takes a const SpoolImpl*, so they cannot change the spool either.
  template <typename F>
  Status Use(F&& f) const {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (inner_ == nullptr) return Status::IOError(fmt::format("spool {} is closed after an I/O error: {}", path_, last_error_));
    return f(inner_.get());
  }

  // Closes and reopens the database if it needs it. OK when the spool is open and healthy.
  Status ReopenIfNeeded() {
    std::unique_lock<std::shared_mutex> l(mu_);
    if (inner_ != nullptr && !inner_->needs_reopen()) return Status::OK();
    if (inner_ != nullptr) {
      // Kept so that SourceOffset(s) still answer while the database is closed.
      Status s = inner_->SourceOffsets(&closed_offsets_);
      if (!s.ok()) spdlog::warn("spool: {}: cannot keep the source offsets across the reopen: {}", path_, s.ToString());
    }
    inner_.reset();  // closes RocksDB; the pid lock stays with us
    Status s = OpenInner(/*reopen=*/true);
    if (!s.ok()) {
      last_error_ = s.ToString();
      return Status::IOError(fmt::format("spool {} could not be reopened yet: {}", path_, s.message()));
    }
    spdlog::info("spool: {} reopened after an I/O error", path_);
    return Status::OK();
  }

  bool Broken() {
    std::shared_lock<std::shared_mutex> l(mu_);
    return inner_ == nullptr || inner_->needs_reopen();
  }

  // The maintenance thread: reopens a broken spool with backoff, syncs idle acks.
  void Maintain() {
    const auto tick = std::chrono::milliseconds(std::clamp<uint32_t>(options_.ack_sync_interval_ms / 2, 10, 250));
    auto backoff = kReopenBackoffMin;
    bool warned = false;
    std::unique_lock<std::mutex> l(bg_mu_);
    while (!stop_) {
      const bool broken = Broken();
      bg_cv_.wait_for(l, broken ? backoff : tick, [&] { return stop_; });
      if (stop_) break;
      l.unlock();
      if (Broken()) {
        Status s = ReopenIfNeeded();
        if (s.ok()) {
          backoff = kReopenBackoffMin;
          warned = false;
        } else {
          if (!warned) spdlog::warn("spool: {}; retrying with backoff", s.message());
          warned = true;
          backoff = std::min(backoff * 2, std::chrono::milliseconds(kReopenBackoffMax));
        }
      } else {
        std::shared_lock<std::shared_mutex> sl(mu_);
        if (inner_ != nullptr) inner_->SyncAcksIfDue();
      }
      l.lock();
    }
  }

  // A change first reopens a spool that needs it (the caller retries, e.g. ingest; the
  // maintenance thread retries too).
  template <typename F>
  Status Change(F&& f) {
    {
      // The common case takes the shared lock once.
      std::shared_lock<std::shared_mutex> l(mu_);
      if (inner_ != nullptr && !inner_->needs_reopen()) return f(inner_.get());
    }
    Status s = ReopenIfNeeded();
    if (!s.ok()) return s;
    return Use(std::forward<F>(f));
  }

  const SpoolOptions options_;
  const std::string path_;
  spool::PidLock lock_;
  mutable std::shared_mutex mu_;  // shared: calls; exclusive: reopen
  std::unique_ptr<SpoolImpl> inner_;
  std::string last_error_;
  std::vector<PartitionOffset> closed_offsets_;  // inner_'s offsets when it last closed

  std::mutex bg_mu_;  // guards stop_
  std::condition_variable bg_cv_;
  bool stop_ = false;
  std::thread bg_;  // Maintain(); joined before inner_ closes
};

}  // namespace

Status Spool::Open(const SpoolOptions& options, const std::string& path, std::unique_ptr<Spool>* spool) {
  if (options.low_watermark > options.high_watermark || options.high_watermark > 1.0 ||
      options.low_watermark < 0.0) {
    return Status::InvalidArgument("spool watermarks must satisfy 0 <= low <= high <= 1");
  }
  if (!options.read_only && !options.secondary) {
    auto reopening = std::make_unique<ReopeningSpool>(options, path);
    Status s = reopening->Init();
    if (!s.ok()) return s;
    *spool = std::move(reopening);
    return Status::OK();
  }
  auto impl = std::make_unique<SpoolImpl>(options, path);
  Status s = impl->Init();
  if (!s.ok()) return s;
  *spool = std::move(impl);
  return Status::OK();
}

}  // namespace spool
}  // namespace sg
