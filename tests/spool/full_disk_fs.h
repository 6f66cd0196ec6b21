// FullDiskFileSystem: a RocksDB FileSystem over the real one that answers ENOSPC on demand.
//
// Tests use it where a small filesystem of their own cannot be mounted: every write, flush, sync
// and file creation fails with NoSpace while `full` is set, exactly as a full disk would.
#pragma once

#include <atomic>
#include <memory>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace sg::testing {

class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FullDiskFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(std::move(base)) {}
  const char* Name() const override { return "FullDiskFileSystem"; }

  std::atomic<bool> full{false};
  // Instead of ENOSPC, a plain I/O error (EIO): RocksDB treats a failed WAL write of that kind as
  // fatal and will not resume in-process.
  std::atomic<bool> io_error{false};
  // Only Sync and Fsync fail (EIO); the data was written. The case of an fsync that lost the race
  // with a failing disk: the record is in the file, the caller was told it is not durable.
  std::atomic<bool> sync_error{false};
  std::atomic<int> refused{0};

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (full || io_error) return Refuse();
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this);
    return s;
  }

  // A full disk also says so when asked how much room is left.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o, uint64_t* free,
                                 rocksdb::IODebugContext* dbg) override {
    if (full) {
      *free = 0;
      return rocksdb::IOStatus::OK();
    }
    return target()->GetFreeSpace(path, o, free, dbg);
  }

  rocksdb::IOStatus Refuse() {
    ++refused;
    if (io_error) return rocksdb::IOStatus::IOError("injected: input/output error");
    return rocksdb::IOStatus::NoSpace("injected: no space left on device");
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, FullDiskFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      return fs_->full || fs_->io_error ? fs_->Refuse() : target()->Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      return fs_->full || fs_->io_error ? fs_->Refuse() : target()->Append(d, o, v, dbg);
    }
    rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return fs_->full || fs_->io_error ? fs_->Refuse() : target()->Flush(o, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->sync_error) return FailSync();
      return fs_->full || fs_->io_error ? fs_->Refuse() : target()->Sync(o, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->sync_error) return FailSync();
      return fs_->full || fs_->io_error ? fs_->Refuse() : target()->Fsync(o, dbg);
    }
    rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) override {
      if (fs_->sync_error) return FailSync();
      return target()->RangeSync(offset, nbytes, o, dbg);
    }

   private:
    rocksdb::IOStatus FailSync() {
      ++fs_->refused;
      return rocksdb::IOStatus::IOError("injected: fsync: input/output error");
    }
    FullDiskFileSystem* fs_;
  };
};

}  // namespace sg::testing
