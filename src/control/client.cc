// ControlClient: a blocking request/answer connection to a running gateway's control socket.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "protocol.h"
#include "sentinel_gateway/control.h"
#include "unix_socket.h"

namespace sg::control {
namespace {

using wire::json;

class ClientImpl final : public ControlClient {
 public:
  ClientImpl(net::Fd fd, int timeout_ms, std::string path)
      : fd_(std::move(fd)), timeout_ms_(timeout_ms), path_(std::move(path)) {}

  Status Hello(ServerInfo* info) override {
    json answer;
    Status s = Call({{"op", "hello"}}, &answer);
    if (!s.ok()) return s;
    try {
      info->pid = answer.at("pid").get<int64_t>();
      info->protocol = answer.at("protocol").get<int>();
      info->spool = answer.at("spool").get<std::string>();
      info->max_bytes = answer.at("max_bytes").get<uint64_t>();
    } catch (const json::exception& e) {
      return Status::Corruption(fmt::format("malformed hello from {}: {}", path_, e.what()));
    }
    return Status::OK();
  }

  Status Stats(spool::SpoolStats* stats) override {
    json answer;
    Status s = Call({{"op", "stats"}}, &answer);
    if (!s.ok()) return s;
    if (!answer.contains("stats")) return Status::Corruption("stats answer without stats");
    return wire::DecodeStats(answer["stats"], stats);
  }

  Status Change(const ChangeRequest& request, ChangeResult* result) override {
    *result = ChangeResult();
    json answer;
    Status s = Call(wire::EncodeChangeRequest(request), &answer);
    // An error answer still tells what was changed before the error.
    if (answer.is_object()) {
      Status ds = wire::DecodeChangeResult(answer, result);
      if (s.ok() && !ds.ok()) return ds;
    }
    return s;
  }

 private:
  // Sends one request line and reads one answer line; the answer's own error is returned as Status.
  Status Call(const json& request, json* answer) {
    *answer = json();
    Status s = net::WriteAll(fd_.get(), wire::Dump(request) + "\n", timeout_ms_);
    if (!s.ok()) return Status::Unavailable(fmt::format("gateway at {}: {}", path_, s.message()));
    std::string line;
    s = net::ReadLine(fd_.get(), -1, timeout_ms_, wire::kMaxLine, &buffer_, &line);
    if (!s.ok()) return Status::Unavailable(fmt::format("gateway at {}: {}", path_, s.message()));
    s = wire::Parse(line, answer);
    if (!s.ok()) return Status::Corruption(fmt::format("gateway at {}: {}", path_, s.message()));
    return wire::DecodeStatus(*answer);
  }

  net::Fd fd_;
  const int timeout_ms_;
  const std::string path_;
  std::string buffer_;
};

}  // namespace

Status ControlClient::Connect(const std::string& socket_path, int timeout_ms,
                              std::unique_ptr<ControlClient>* client) {
  sockaddr_un addr;
  socklen_t len = 0;
  net::Fd dir;
  Status s = net::MakeAddress(socket_path, &addr, &len, &dir);
  if (!s.ok()) return s;
  net::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::IOError(fmt::format("socket: {}", std::strerror(errno)));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    if (err == EACCES || err == EPERM) {
      return Status::IOError(fmt::format("permission denied on {}: run as the gateway's user", socket_path));
    }
    if (err == ENOENT || err == ECONNREFUSED) {
      return Status::Unavailable(fmt::format("nothing serves {}", socket_path));
    }
    return Status::Unavailable(fmt::format("cannot connect to {}: {}", socket_path, std::strerror(err)));
  }
  *client = std::make_unique<ClientImpl>(std::move(fd), timeout_ms, socket_path);
  return Status::OK();
}

}  // namespace sg::control
