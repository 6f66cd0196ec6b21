// Opening the spool's RocksDB database (SpoolImpl::Init): the directory checks made before
// anything is written, the database and column family options, the three open modes (writer,
// read-only, secondary), the format version check, and the recovery of the next sequence number
// and batch id. An open either succeeds or reports why and leaves the spool as it found it: a
// corrupted, foreign or newer-format spool is never rewritten. The pid lock and the atomic
// creation of a new spool are the writer's, in reopening_spool.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>

#include "coding.h"
#include "meta_counters.h"
#include "rocksdb_log.h"
#include "sentinel_gateway/spool.h"
#include "spool_impl.h"

namespace sg::spool {

namespace fs = std::filesystem;

namespace {

// A pending key's table: the key without its 8-byte sequence number (coding.h, PendingKey).
class TablePrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "sg.TablePrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > 8; }
};

rocksdb::ColumnFamilyOptions QueueFamilyOptions(size_t write_buffer) {
  rocksdb::ColumnFamilyOptions cf;
  cf.compression = rocksdb::kLZ4Compression;
  cf.write_buffer_size = write_buffer;
  // Deletion-triggered compaction: an SST whose window of 8192 entries holds 4096 tombstones is
  // compacted soon, so acked heads do not pile up tombstones that every head read would skip.
  cf.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(8192, 4096, 0.5));
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 << 10;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace

// Before anything is written there: no spool where one must exist, or a directory that holds
// something else.
Status CheckSpoolDir(const SpoolOptions& options, const std::string& path) {
  std::error_code ec;
  if (fs::exists(fs::path(path) / "CURRENT", ec)) return Status::OK();
  if (options.read_only || options.secondary || !options.create_if_missing) {
    return Status::NotFound(fmt::format("no spool at {}", path));
  }
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      if (name != kLockFile && name != "README.md" && name != ".gitignore") {
        return Status::InvalidArgument(fmt::format(
            "{} is not a spool (it holds {} but no RocksDB CURRENT file); refusing to touch it", path, name));
      }
    }
  }
  return Status::OK();
}

Status SpoolImpl::Init() {
  std::error_code ec;
  bool has_current = fs::exists(fs::path(path_) / "CURRENT", ec);
  if (!writable()) {
    if (Status s = CheckSpoolDir(options_, path_); !s.ok()) return s;
    if (::access((path_ + "/CURRENT").c_str(), R_OK) != 0) {
      return Status::IOError(fmt::format("cannot read spool {}: {}", path_, std::strerror(errno)));
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // One bound for all memtables together (RocksDB flushes the largest when it is reached).
  db_options.db_write_buffer_size = 64 << 20;
  // RocksDB ignores the pending family's insert hints (below) in a parallel memtable write.
  db_options.allow_concurrent_memtable_write = false;
  // RocksDB's diagnostics go to the process log, never to a LOG file on the spool's disk: see
  // rocksdb_log.h for the abort a full disk caused otherwise.
  db_options.info_log = spool::NewRocksLog();
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  if (options_.env != nullptr) db_options.env = options_.env;
  if (options_.secondary) db_options.max_open_files = -1;

  std::vector<std::string> existing;
  if (has_current) {
    rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(db_options, path_, &existing);
    if (!ls.ok()) return FromRocks(ls, fmt::format("cannot open spool {}", path_));
    for (const char* needed : {kPendingCF, kFailedCF, kMetaCF}) {
      if (std::find(existing.begin(), existing.end(), needed) == existing.end()) {
        return Status::Corruption(fmt::format(
            "{} is a RocksDB database without a '{}' column family: a damaged spool or not a "
            "sentinel-gateway spool (the spool was left untouched)",
            path_, needed));
      }
    }
  } else {
    existing = {rocksdb::kDefaultColumnFamilyName, kPendingCF, kFailedCF, kMetaCF};
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : existing) {
    rocksdb::ColumnFamilyOptions cf;
    // Memtables are the spool's main memory cost: pending gets most of it, the failed area and
    // meta (small and rare writes) little.
    if (name == kPendingCF) {
      cf = QueueFamilyOptions(32 << 20);
      // Each table's memtable inserts start from where its previous one ended: an ack deletes a run
      // of consecutive keys, whose tombstones interleave with the puts they cover, so the skip
      // list's one shared hint missed on every key and searched from the top (RocksDB's
      // Insert(key) recomputes the whole splice when the key is past it). With a hint per table
      // the search is O(log distance). Needs inserts without the parallel memtable write (below).
      cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<TablePrefix>();
    }
    if (name == kFailedCF) cf = QueueFamilyOptions(4 << 20);
    if (name == kMetaCF || name == rocksdb::kDefaultColumnFamilyName) cf.write_buffer_size = 1 << 20;
    if (name == kMetaCF) cf.merge_operator = NewMetaMergeOperator();
    cfs.emplace_back(name, cf);
  }
  rocksdb::Status rs;
  if (options_.secondary) {
    std::string secondary = options_.secondary_path;
    if (secondary.empty()) secondary = fs::temp_directory_path() / fmt::format("sg-secondary-{}", ::getpid());
    rs = rocksdb::DB::OpenAsSecondary(db_options, path_, secondary, cfs, &handles_, &db_);
  } else if (options_.read_only) {
    rs = rocksdb::DB::OpenForReadOnly(db_options, path_, cfs, &handles_, &db_);
  } else {
    rs = rocksdb::DB::Open(db_options, path_, cfs, &handles_, &db_);
  }
  if (!rs.ok()) {
    Status s = FromRocks(rs, fmt::format("cannot open spool {}", path_));
    if (s.IsCorruption()) {
      return Status::Corruption(s.message() +
                                " (the spool was left untouched; move it aside to start afresh)");
    }
    return s;
  }
  for (size_t i = 0; i < existing.size(); ++i) {
    if (existing[i] == kPendingCF) pending_ = handles_[i];
    if (existing[i] == kFailedCF) failed_ = handles_[i];
    if (existing[i] == kMetaCF) meta_ = handles_[i];
  }

  // Format version: written once at creation, checked on every open.
  std::string version;
  rocksdb::Status vs = db_->Get(rocksdb::ReadOptions(), meta_, std::string(kMetaFormatVersion), &version);
  if (vs.IsNotFound()) {
    if (has_current) {
      return Status::Corruption(fmt::format("spool {} has no format version record", path_));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    vs = db_->Put(wo, meta_, std::string(kMetaFormatVersion), std::to_string(kFormatVersion));
    if (!vs.ok()) return FromRocks(vs, "cannot write spool format version");
  } else if (!vs.ok()) {
    return FromRocks(vs, fmt::format("cannot read spool {}", path_));
  } else {
    unsigned long v = std::strtoul(version.c_str(), nullptr, 10);
    if (v == 0) return Status::Corruption(fmt::format("spool {} has a bad format version '{}'", path_, version));
    if (v > kFormatVersion) {
      return Status::Unsupported(fmt::format(
          "spool {} has format version {}, newer than this build supports ({}); use a newer "
          "sentinel-gateway",
          path_, v, kFormatVersion));
    }
  }

  if (writable()) {
    for (const auto& entry : fs::directory_iterator(path_, ec)) {
      if (entry.is_regular_file(ec)) ::chmod(entry.path().c_str(), 0600);
    }
  }
  Status s = LoadMeta();
  if (!s.ok()) return s;
  return RecoverSequences();
}

// The high-water marks already give the next seq and batch id; the last keys are a cross-check
// that costs one seek per route (never a scan).
Status SpoolImpl::RecoverSequences() {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [route, state] : routes_) {
    std::string prefix = PendingPrefix(route);
    std::string upper = PendingKey(route, UINT64_MAX);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), pending_));
    it->SeekForPrev(upper);
    std::string_view r;
    uint64_t seq = 0;
    if (it->Valid() && ParsePendingKey(std::string_view(it->key().data(), it->key().size()), &r, &seq) &&
        r == route) {
      next_seq_ = std::max(next_seq_, seq + 1);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "cannot read spool");
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), failed_));
  it->SeekToLast();
  uint64_t id = 0;
  if (it->Valid() && ParseFailedKey(std::string_view(it->key().data(), it->key().size()), &id)) {
    next_batch_id_ = std::max(next_batch_id_, id + 1);
  }
  return FromRocks(it->status(), "cannot read spool");
}

}  // namespace sg::spool
