#include "access.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace sg::spooltool {
namespace {

namespace fs = std::filesystem;

constexpr char kLockFile[] = "gateway.lock";  // written by the spool (src/spool/pid_lock.cc)
// Live changes (requeue --all of many batches) may take a while; an answer never takes this long.
constexpr int kControlTimeoutMs = 10 * 60 * 1000;
// Reading commands only ask the gateway its pid and maximum; a gateway busy with another client's
// long change must not hold them up.
constexpr int kHelloTimeoutMs = 2000;

std::string UserName(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

// Whether the kernel lists a lock on the file with device `dev` and inode `ino` (/proc/locks:
// "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"). Looking takes no lock. nullopt when
// /proc/locks cannot be read or names the inode on another device only (some filesystems report
// a different device to stat than to /proc/locks): then the caller probes another way.
std::optional<bool> ListedInProcLocks(dev_t dev, ino_t ino) {
  std::ifstream in("/proc/locks");
  if (!in) return std::nullopt;
  const std::string want = fmt::format("{:02x}:{:02x}:{}", major(dev), minor(dev), ino);
  const std::string inode = fmt::format(":{}", ino);
  bool same_inode_elsewhere = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, kind, mode, access, pid, where;
    if (!(f >> id >> kind) || kind == "->") continue;  // "->": a waiter, not a holder
    if (!(f >> mode >> access >> pid >> where)) continue;
    if (where == want) return true;
    if (where.size() > inode.size() && where.compare(where.size() - inode.size(), inode.size(), inode) == 0) {
      same_inode_elsewhere = true;
    }
  }
  if (same_inode_elsewhere) return std::nullopt;
  return false;
}

// Whether the spool's lock is held, and by which pid (0 if unreadable). Never takes the lock, not
// even shared for an instant (a gateway starting in that instant would find it held): the kernel's
// lock table says whether the file is locked. Where /proc/locks is unreadable, a shared lock on a
// read-only descriptor probes it (the gateway retries a briefly held lock for a few seconds).
bool LockHeld(const std::string& dir, int64_t* pid) {
  *pid = 0;
  std::string path = dir + "/" + kLockFile;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // never opened read-write: nobody holds it
  bool held = false;
  struct stat st;
  std::optional<bool> listed = ::fstat(fd, &st) == 0 ? ListedInProcLocks(st.st_dev, st.st_ino) : std::nullopt;
  if (listed.has_value()) {
    held = *listed;
  } else {
    held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  }
  if (held) {
    char buf[32] = {0};
    if (::pread(fd, buf, sizeof(buf) - 1, 0) > 0) *pid = std::strtoll(buf, nullptr, 10);
  }
  ::close(fd);  // releases a shared lock, if the fallback took one
  return held;
}

}  // namespace

Access::~Access() {
  client_.reset();
  spool_.reset();
  if (!scratch_.empty()) {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
}

std::string Access::Describe() const {
  switch (mode_) {
    case Mode::kOffline: return "offline";
    case Mode::kOfflineReadOnly: return "offline, read-only";
    case Mode::kLiveSecondary:
      return gateway_answered_
                 ? fmt::format("live via pid {} (secondary instance)", pid_)
                 : fmt::format("live via pid {} (secondary instance; pid {} serves no control socket)",
                               pid_, pid_);
    case Mode::kLiveControl: return fmt::format("live via pid {} (control socket)", pid_);
  }
  return "?";
}

Status Access::Open(const std::string& dir, Intent intent, uint64_t config_max_bytes) {
  dir_ = dir;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (config_max_bytes > 0) {
    max_bytes_ = config_max_bytes;
    max_bytes_source_ = "config";
  }

  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return Status::IOError(fmt::format("permission denied: cannot reach {}", dir_));
    }
    return Status::NotFound(fmt::format("no spool at {}: {}", dir_, std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return Status::NotFound(fmt::format("no spool at {}: not a directory", dir_));
  const std::string owner = UserName(st.st_uid);
  if (::access(dir_.c_str(), R_OK | X_OK) != 0) {
    return Status::IOError(fmt::format(
        "permission denied: the spool {} belongs to {}; run as that user (sudo -u {} sentinel-spool ...)",
        dir_, owner, owner));
  }
  if (::access((dir_ + "/CURRENT").c_str(), F_OK) != 0) {
    return Status::NotFound(fmt::format("no spool at {} (the directory holds no spool)", dir_));
  }

  if (LockHeld(dir_, &pid_)) return OpenLive(intent);

  // Root writing into another user's spool would leave root-owned files the gateway cannot open.
  const bool root_on_foreign = ::geteuid() == 0 && st.st_uid != 0;
  const bool can_write = ::access(dir_.c_str(), W_OK) == 0 && !root_on_foreign;
  if (!can_write) {
    if (intent == Intent::kChange) {
      return Status::IOError(fmt::format(
          "permission denied: changing the spool {} must run as its owner {} (sudo -u {} sentinel-spool ...)",
          dir_, owner, owner));
    }
    spool::SpoolOptions o;
    o.read_only = true;
    o.create_if_missing = false;
    Status s = spool::Spool::Open(o, dir_, &spool_);
    if (!s.ok()) return s;
    mode_ = Mode::kOfflineReadOnly;
    return Status::OK();
  }

  spool::SpoolOptions o;
  o.create_if_missing = false;
  if (max_bytes_ > 0) o.max_bytes = max_bytes_;
  // A reading command never takes the writer's lock: a gateway starting meanwhile must get it.
  // RocksDB's read-only instance takes no lock and writes nothing.
  o.read_only = intent == Intent::kRead;
  Status s = spool::Spool::Open(o, dir_, &spool_);
  if (s.IsBusy()) {  // a gateway started between the probe and our open
    LockHeld(dir_, &pid_);
    return OpenLive(intent);
  }
  if (!s.ok()) return s;
  mode_ = Mode::kOffline;
  return Status::OK();
}

Status Access::OpenLive(Intent intent) {
  // The gateway (protocol >= 1) answers on its control socket; hello also names its pid and max.
  std::unique_ptr<control::ControlClient> client;
  Status cs = control::ControlClient::Connect(
      control::SocketPath(dir_), intent == Intent::kChange ? kControlTimeoutMs : kHelloTimeoutMs, &client);
  control::ServerInfo info;
  if (cs.ok()) cs = client->Hello(&info);
  gateway_answered_ = cs.ok();
  if (cs.ok()) {
    // Only a change keeps the connection: the server answers one connection at a time, and a
    // long export must not hold it.
    if (intent == Intent::kChange) client_ = std::move(client);
    pid_ = info.pid;
    if (max_bytes_source_ == std::string_view("default")) {
      max_bytes_ = info.max_bytes;
      max_bytes_source_ = "gateway";
    }
  }

  if (intent == Intent::kChange) {
    if (!cs.ok()) {
      std::string who = pid_ > 0 ? fmt::format("pid {}", pid_) : "another process";
      return Status::Busy(fmt::format(
          "spool {} is in use by {}, which does not answer on {} ({}). It may be a gateway without "
          "a control socket or another sentinel-spool; retry when it has finished, or stop it",
          dir_, who, control::SocketPath(dir_), cs.message()));
    }
    mode_ = Mode::kLiveControl;
    return Status::OK();
  }

  std::string tmpl = (fs::temp_directory_path() / "sentinel-spool-secondary-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status::IOError(fmt::format("cannot create a scratch directory in {}: {}",
                                       fs::temp_directory_path().string(), std::strerror(errno)));
  }
  scratch_ = tmpl;
  spool::SpoolOptions o;
  o.secondary = true;
  o.secondary_path = scratch_;
  o.create_if_missing = false;
  Status s = spool::Spool::Open(o, dir_, &spool_);
  // The gateway may delete a WAL or SST file between the secondary's listing and its opening
  // (a flush or compaction finished): one more try sees the new set of files.
  if (s.IsIOError() || s.IsNotFound()) s = spool::Spool::Open(o, dir_, &spool_);
  if (!s.ok()) return s;
  mode_ = Mode::kLiveSecondary;
  return Status::OK();
}

}  // namespace sg::spooltool
