#include "unix_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace sg::control::net {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

void Fd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status MakeAddress(const std::string& path, sockaddr_un* addr, socklen_t* len, Fd* dir) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::string target = path;
  if (target.size() >= sizeof(addr->sun_path)) {
    size_t slash = path.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    Fd d(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!d.valid()) {
      return Status::IOError(fmt::format("cannot open {}: {}", parent, std::strerror(errno)));
    }
    target = fmt::format("/proc/self/fd/{}/{}", d.get(), name);
    if (target.size() >= sizeof(addr->sun_path)) {
      return Status::InvalidArgument(fmt::format("socket name too long: {}", path));
    }
    *dir = std::move(d);
  }
  std::memcpy(addr->sun_path, target.data(), target.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.size() + 1);
  return Status::OK();
}

Status ReadLine(int fd, int wake_fd, int timeout_ms, size_t max_len, std::string* buffer,
                std::string* line) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    size_t nl = buffer->find('\n');
    if (nl != std::string::npos) {
      line->assign(*buffer, 0, nl);
      buffer->erase(0, nl + 1);
      return Status::OK();
    }
    if (buffer->size() > max_len) {
      return Status::InvalidArgument(fmt::format("control line longer than {} bytes", max_len));
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, RemainingMs(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (n == 0) return Status::Unavailable("timed out waiting for a control message");
    if (wake_fd >= 0 && fds[1].revents != 0) return Status::Unavailable("stopping");
    char chunk[64 * 1024];
    ssize_t r = ::read(fd, chunk, sizeof(chunk));
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::IOError(fmt::format("read from control socket: {}", std::strerror(errno)));
    }
    if (r == 0) return Status::Unavailable("control connection closed");
    buffer->append(chunk, static_cast<size_t>(r));
  }
}

Status WriteAll(int fd, std::string_view data, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!data.empty()) {
    ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      data.remove_prefix(static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN) {
      return Status::IOError(fmt::format("write to control socket: {}", std::strerror(errno)));
    }
    pollfd p = {fd, POLLOUT, 0};
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n == 0) return Status::Unavailable("timed out writing a control message");
    if (n < 0 && errno != EINTR) return Status::IOError(fmt::format("poll: {}", std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace sg::control::net
