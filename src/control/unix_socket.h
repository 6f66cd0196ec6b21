// Small POSIX helpers for the control socket: an owned fd, addresses for long paths, and
// line-at-a-time I/O with deadlines that a second fd (a stop pipe) can interrupt.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "sentinel_gateway/status.h"

namespace sg::control::net {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// A sockaddr_un for `path`. sun_path holds only 107 bytes; a longer path is reached through
// /proc/self/fd/<dirfd>/<name>, with the directory's O_PATH fd kept open in *dir.
Status MakeAddress(const std::string& path, sockaddr_un* addr, socklen_t* len, Fd* dir);

// Reads one '\n'-terminated line (without the '\n') from `fd` into *line, keeping any bytes past it
// in *buffer for the next call. Unavailable on EOF before a line, on timeout, or when `wake_fd`
// (if >= 0) becomes readable; InvalidArgument when a line exceeds max_len.
Status ReadLine(int fd, int wake_fd, int timeout_ms, size_t max_len, std::string* buffer,
                std::string* line);

// Writes all of `data`, waiting at most timeout_ms for the peer to make room.
Status WriteAll(int fd, std::string_view data, int timeout_ms);

}  // namespace sg::control::net
