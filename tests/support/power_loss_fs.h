// PowerLossFileSystem: a RocksDB FileSystem over the real one that can forget what was never synced.
//
// Debian's librocksdb-dev (7.8) does not ship RocksDB's FaultInjectionTestFS, so this is the part of
// it the spool tests need. Every file written through it records its size and the size at its last
// Sync/Fsync. PowerCut() makes every later write and sync a silent no-op (the machine is off);
// after the database is closed, DropUnsyncedData() truncates each file to its last synced size,
// which is what a power cut leaves of data that sat only in the page cache. File creation, rename
// and deletion are taken as durable (RocksDB fsyncs the directory after each), so only data is lost.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace sg::testing {

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerLossFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(std::move(base)) {}
  const char* Name() const override { return "PowerLossFileSystem"; }

  // From now on nothing written reaches the disk.
  void PowerCut() { off_ = true; }

  // Truncates every file to what was synced before the cut. Call with the database closed.
  void DropUnsyncedData() {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [name, state] : files_) {
      if (state->synced < state->size) {
        if (::truncate(name.c_str(), static_cast<off_t>(state->synced)) != 0) std::abort();
      }
    }
    files_.clear();
  }

  // Bytes written to files whose name ends with `suffix` (".log": the WAL) but not yet synced.
  uint64_t UnsyncedBytes(const std::string& suffix) {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t n = 0;
    for (const auto& [name, state] : files_) {
      if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        n += state->size - state->synced;
      }
    }
    return n;
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (off_) return rocksdb::IOStatus::IOError("power is off");
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) {
      auto state = std::make_shared<State>();
      {
        std::lock_guard<std::mutex> l(mu_);
        files_[f] = state;
      }
      *r = std::make_unique<File>(std::move(*r), this, state);
    }
    return s;
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    if (off_) return rocksdb::IOStatus::IOError("power is off");
    uint64_t size = 0;
    if (!target()->GetFileSize(f, rocksdb::IOOptions(), &size, dbg).ok()) size = 0;
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, o, r, dbg);
    if (s.ok()) {
      auto state = std::make_shared<State>();
      state->size = state->synced = size;
      {
        std::lock_guard<std::mutex> l(mu_);
        files_[f] = state;
      }
      *r = std::make_unique<File>(std::move(*r), this, state);
    }
    return s;
  }

  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    if (off_) return rocksdb::IOStatus::IOError("power is off");
    rocksdb::IOStatus s = target()->RenameFile(src, dst, o, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = files_.find(src);
      if (it != files_.end()) {
        files_[dst] = it->second;
        files_.erase(it);
      } else {
        files_.erase(dst);
      }
    }
    return s;
  }

  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    if (off_) return rocksdb::IOStatus::IOError("power is off");
    rocksdb::IOStatus s = target()->DeleteFile(f, o, dbg);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      files_.erase(f);
    }
    return s;
  }

 private:
  struct State {
    uint64_t size = 0;
    uint64_t synced = 0;
  };

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, PowerLossFileSystem* fs, std::shared_ptr<State> state)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), state_(std::move(state)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->off_) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Append(d, o, dbg);
      if (s.ok()) Grow(d.size());
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* dbg) override {
      if (fs_->off_) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Append(d, o, v, dbg);
      if (s.ok()) Grow(d.size());
      return s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                       rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::NotSupported("PowerLossFileSystem: positioned append");
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                       const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::NotSupported("PowerLossFileSystem: positioned append");
    }
    rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->off_) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Truncate(size, o, dbg);
      if (s.ok()) {
        std::lock_guard<std::mutex> l(fs_->mu_);
        state_->size = size;
        state_->synced = std::min(state_->synced, size);
      }
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->off_) return rocksdb::IOStatus::OK();
      const uint64_t at = Size();
      rocksdb::IOStatus s = target()->Sync(o, dbg);
      if (s.ok()) Synced(at);
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->off_) return rocksdb::IOStatus::OK();
      const uint64_t at = Size();
      rocksdb::IOStatus s = target()->Fsync(o, dbg);
      if (s.ok()) Synced(at);
      return s;
    }
    // A range sync may cover only part of the file: count nothing as synced (conservative).
    rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::OK();
    }
    rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return target()->Close(o, dbg);
    }

   private:
    void Grow(size_t n) {
      std::lock_guard<std::mutex> l(fs_->mu_);
      state_->size += n;
    }
    uint64_t Size() {
      std::lock_guard<std::mutex> l(fs_->mu_);
      return state_->size;
    }
    // What was appended before the sync began is on the disk now.
    void Synced(uint64_t at) {
      std::lock_guard<std::mutex> l(fs_->mu_);
      state_->synced = std::max(state_->synced, at);
    }
    PowerLossFileSystem* fs_;
    std::shared_ptr<State> state_;
  };

  std::atomic<bool> off_{false};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<State>> files_;
};

}  // namespace sg::testing
