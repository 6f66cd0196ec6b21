// ControlServer: one thread accepts connections on the control socket and answers their requests
// in turn. Requests are rare (an operator's command) and each is short, so one thread is enough;
// an idle connection is closed after a timeout so it cannot block the others.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "protocol.h"
#include "sentinel_gateway/control.h"
#include "sentinel_gateway/thread_name.h"
#include "unix_socket.h"

namespace sg::control {
namespace {

using wire::json;

class ServerImpl final : public ControlServer {
 public:
  ServerImpl(spool::Spool* spool, ControlServerOptions options)
      : spool_(spool), options_(std::move(options)) {}
  ~ServerImpl() override { Stop(); }

  Status Init();
  void Stop() override;
  const std::string& socket_path() const override { return options_.socket_path; }
  uint64_t requests_served() const override { return served_.load(); }

 private:
  void Run();
  void Serve(net::Fd client, uid_t uid);
  json Handle(const json& request, uid_t uid);
  void Log(const std::string& line) {
    if (options_.log) options_.log(line);
  }

  spool::Spool* const spool_;
  ControlServerOptions options_;
  net::Fd listen_;
  net::Fd wake_read_, wake_write_;  // a byte written here interrupts every poll of the thread
  ino_t socket_ino_ = 0;            // so Stop() removes our socket, never a successor's
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> served_{0};
};

Status ServerImpl::Init() {
  if (options_.socket_path.empty()) options_.socket_path = SocketPath(spool_->path());
  sockaddr_un addr;
  socklen_t len = 0;
  net::Fd dir;
  Status s = net::MakeAddress(options_.socket_path, &addr, &len, &dir);
  if (!s.ok()) return s;

  // A socket file left by a killed gateway refuses connections; one that answers belongs to a live
  // server (which cannot be ours to replace).
  {
    net::Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) {
      return Status::Busy(fmt::format("another process serves {}", options_.socket_path));
    }
  }
  if (::unlink(options_.socket_path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError(
        fmt::format("cannot remove stale {}: {}", options_.socket_path, std::strerror(errno)));
  }

  listen_ = net::Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_.valid()) return Status::IOError(fmt::format("socket: {}", std::strerror(errno)));
  // No umask games (umask is process-wide and the gateway has other threads creating files): the
  // spool directory is 0700, the socket gets 0600 right after bind, and peers are checked by uid.
  if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    return Status::IOError(fmt::format("cannot bind {}: {}", options_.socket_path, std::strerror(errno)));
  }
  struct stat st;
  if (::stat(options_.socket_path.c_str(), &st) == 0) socket_ino_ = st.st_ino;
  if (::chmod(options_.socket_path.c_str(), 0600) != 0) {
    return Status::IOError(fmt::format("cannot chmod {}: {}", options_.socket_path, std::strerror(errno)));
  }
  if (::listen(listen_.get(), 16) != 0) {
    return Status::IOError(fmt::format("listen on {}: {}", options_.socket_path, std::strerror(errno)));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  wake_read_ = net::Fd(pipe_fds[0]);
  wake_write_ = net::Fd(pipe_fds[1]);
  thread_ = std::thread([this] {
    NameThisThread("sg-control");
    Run();
  });
  return Status::OK();
}

void ServerImpl::Stop() {
  if (stopped_.exchange(true)) return;
  if (wake_write_.valid()) {
    char b = 1;
    (void)!::write(wake_write_.get(), &b, 1);
  }
  if (thread_.joinable()) thread_.join();
  listen_.Reset();
  struct stat st;
  if (socket_ino_ != 0 && ::stat(options_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_ino_) {
    ::unlink(options_.socket_path.c_str());
  }
}

void ServerImpl::Run() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      Log(fmt::format("control: poll failed: {}; control socket stopped", std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    net::Fd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: the pending connection stays readable, so back off
        // instead of spinning (Stop still interrupts the wait).
        Log(fmt::format("control: accept failed: {}", std::strerror(errno)));
        pollfd wake = {wake_read_.get(), POLLIN, 0};
        if (::poll(&wake, 1, 1000) > 0) return;
      }
      continue;  // the peer gave up already, or a transient error
    }
    ucred cred{};
    socklen_t cred_len = sizeof(cred);
    if (::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) continue;
    if (cred.uid != ::geteuid() && cred.uid != 0) {
      // The directory's mode should already keep them out; answer once so they learn why.
      Log(fmt::format("control: refused uid {} (only uid {} and root may control the spool)",
                      cred.uid, ::geteuid()));
      // Best effort: the refusal is logged above, and a peer that does not read it is dropped anyway.
      net::WriteAll(client.get(),
                    wire::Dump(wire::EncodeStatus(Status::InvalidArgument(
                        "permission denied: run as the gateway's user"))) + "\n",
                    1000)
          .IgnoreError();
      continue;
    }
    Serve(std::move(client), cred.uid);
  }
}

void ServerImpl::Serve(net::Fd client, uid_t uid) {
  std::string buffer, line;
  for (;;) {
    Status s = net::ReadLine(client.get(), wake_read_.get(), options_.idle_timeout_ms, wire::kMaxLine,
                             &buffer, &line);
    // Closed, idle, stopping or broken: nothing more to answer on this connection.
    if (s.code() == Status::Code::kUnavailable || s.IsIOError()) return;
    json answer;
    if (!s.ok()) {
      answer = wire::EncodeStatus(s);
    } else {
      json request;
      Status ps = wire::Parse(line, &request);
      answer = ps.ok() ? Handle(request, uid) : wire::EncodeStatus(ps);
    }
    served_.fetch_add(1);
    if (!net::WriteAll(client.get(), wire::Dump(answer) + "\n", options_.idle_timeout_ms).ok()) return;
    if (!s.ok()) return;  // an oversized line: the stream cannot be resynchronised
  }
}

json ServerImpl::Handle(const json& request, uid_t uid) {
  std::string op = request.contains("op") && request["op"].is_string() ? request["op"].get<std::string>() : "";
  if (op == "hello" || op == "stats") {
    spool::SpoolStats stats;
    Status s = spool_->Stats(&stats);
    if (!s.ok()) return wire::EncodeStatus(s);
    json answer = wire::EncodeStatus(Status::OK());
    if (op == "hello") {
      answer["pid"] = static_cast<int64_t>(::getpid());
      answer["protocol"] = kProtocolVersion;
      answer["spool"] = spool_->path();
      answer["max_bytes"] = stats.max_bytes;
    } else {
      answer["stats"] = wire::EncodeStats(stats);
    }
    return answer;
  }
  if (op == "requeue" || op == "drop") {
    ChangeRequest change;
    Status s = wire::DecodeChangeRequest(request, &change);
    ChangeResult result;
    if (s.ok()) s = ApplyChange(spool_, change, &result);
    if (!result.changed.empty() && options_.on_change) options_.on_change(change, result);
    json answer = wire::EncodeStatus(s);
    wire::EncodeChangeResult(result, &answer);
    const char* done = op == "requeue" ? "requeued" : "dropped";
    if (s.ok()) {
      Log(fmt::format("control: {} failed batches for uid {}: {} batch(es), {} event(s)", done, uid,
                      result.changed.size(), result.events));
    } else {
      Log(fmt::format("control: {} refused or cut short after {} batches for uid {}: {}", op,
                      result.changed.size(), uid, s.ToString()));
    }
    return answer;
  }
  return wire::EncodeStatus(Status::InvalidArgument(
      fmt::format("unknown control request '{}' (this gateway speaks protocol {})", op, kProtocolVersion)));
}

}  // namespace

Status ControlServer::Start(spool::Spool* spool, const ControlServerOptions& options,
                            std::unique_ptr<ControlServer>* server) {
  if (spool == nullptr) return Status::InvalidArgument("control server needs a spool");
  auto impl = std::make_unique<ServerImpl>(spool, options);
  Status s = impl->Init();
  if (!s.ok()) return s;
  *server = std::move(impl);
  return Status::OK();
}

}  // namespace sg::control
