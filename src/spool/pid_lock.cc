#include "pid_lock.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace sg::spool {

PidLock::~PidLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Status PidLock::Acquire(const std::string& path, int wait_ms) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a poll of another process's lock
  }
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      long pid = HolderPid(path);
      std::string dir = path.substr(0, path.find_last_of('/'));
      return Status::Busy(pid > 0 ? fmt::format("spool {} is in use by pid {}", dir, pid)
                                  : fmt::format("spool {} is in use by another process", dir));
    }
    return Status::IOError(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    ::close(fd);
    return Status::IOError(fmt::format("cannot write lock file {}: {}", path, std::strerror(err)));
  }
  fd_ = fd;
  return Status::OK();
}

long PidLock::HolderPid(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32] = {0};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  ::close(fd);
  if (n <= 0) return 0;
  return std::strtol(buf, nullptr, 10);
}

}  // namespace sg::spool
