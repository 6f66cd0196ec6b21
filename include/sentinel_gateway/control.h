// Control: the live-mode channel between the `sentinel-spool` tool and a running gateway.
//
// A running gateway holds its spool open read-write (and its pid lock), so no other process may
// write to it. Operators still need to requeue and drop failed batches then. The gateway therefore
// hosts a ControlServer: a Unix domain socket `<spool>/control.sock` (mode 0600 inside the 0700
// spool directory; peers of another uid than the gateway's, or root, are refused) on which a client
// sends one JSON request per line and reads one JSON answer per line. The server applies each
// change to the gateway's own Spool, whose Requeue and Drop are atomic WriteBatches, so a change
// never races the drainer or the consumer.
//
// ApplyChange is the single implementation of requeue and drop: the tool calls it directly when
// the gateway is stopped and the server calls it when the gateway runs, so both paths behave alike.
//
// Guarantees: no exception crosses this interface; errors are sg::Status. Stop() joins the server
// thread and removes the socket; a stale socket left by a killed gateway is replaced on Start().
//
// Hosting it (the gateway, once its spool is open read-write):
//   control::ControlServerOptions co;
//   co.log = [](const std::string& line) { spdlog::info("{}", line); };
//   co.on_change = [&](const auto&, const auto&) { drainer->Notify(); };
//   Status s = control::ControlServer::Start(spool.get(), co, &control_server);
//   ...
//   control_server->Stop();  // on shutdown, before the drainer and the spool go away
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/status.h"

namespace sg::control {

inline constexpr char kSocketName[] = "control.sock";
inline constexpr int kProtocolVersion = 1;

// "<spool_dir>/control.sock".
std::string SocketPath(const std::string& spool_dir);

// A change to the failed area.
struct ChangeRequest {
  enum class Op { kRequeue, kDrop };
  Op op = Op::kRequeue;
  // Explicit failed batch ids. They are all checked first: if one is unknown (or, for requeue, has
  // no route) the answer is an error and nothing is changed.
  std::vector<uint64_t> ids;
  // Requeue only: every failed batch that exists when the request starts and matches the filters.
  bool all = false;
  std::string route;     // with `all`: only batches of this route ("" = any)
  int http_status = -1;  // with `all`: only batches with this HTTP status (0 = no answer; -1 = any)
};

struct BatchChange {
  uint64_t id = 0;
  std::string route;
  uint64_t events = 0;
};

struct ChangeResult {
  std::vector<BatchChange> changed;  // batches requeued or dropped, in id order
  // With `all`: batches left alone and why (a batch without a route cannot be requeued; a batch
  // dropped or requeued by someone else meanwhile).
  std::vector<std::pair<uint64_t, std::string>> skipped;
  uint64_t events = 0;  // events moved back to pending (requeue) or deleted (drop)
};

// Applies `request` to `spool` (open read-write). On an error part of the work may be done already
// (each batch is atomic); `result` then lists the batches that were changed.
Status ApplyChange(spool::Spool* spool, const ChangeRequest& request, ChangeResult* result);

// What a running gateway says about itself.
struct ServerInfo {
  int64_t pid = 0;
  int protocol = 0;
  std::string spool;       // the spool directory it serves
  uint64_t max_bytes = 0;  // the configured spool maximum
};

struct ControlServerOptions {
  // Default: SocketPath(spool->path()).
  std::string socket_path;
  // A connection that sends nothing for this long is closed, so one idle client cannot hold the
  // (single) server thread.
  int idle_timeout_ms = 30'000;
  // Called on the server thread with one line per change applied or refused, for the gateway's
  // log ("control: requeued 3 batches (150 events) for uid 1000"). May be empty.
  std::function<void(const std::string&)> log;
  // Called on the server thread after a change moved or deleted events (even if it then stopped
  // on an error), so the gateway can wake its drainer (Drainer::Notify) at once instead of at its
  // next poll, and count the change in its metrics. May be empty.
  std::function<void(const ChangeRequest&, const ChangeResult&)> on_change;
};

// Serves the control socket on its own thread. The spool must be open read-write and outlive the
// server. Only the process holding the spool's lock may host it (that is what makes replacing a
// stale socket safe).
class ControlServer {
 public:
  // Binds the socket (Busy if another live server answers on it) and starts the thread.
  static Status Start(spool::Spool* spool, const ControlServerOptions& options,
                      std::unique_ptr<ControlServer>* server);

  virtual ~ControlServer() = default;  // implementations Stop() on destruction
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting, closes connections, joins the thread and removes the socket. Idempotent. A
  // change being applied finishes first (each batch is atomic anyway).
  virtual void Stop() = 0;
  virtual const std::string& socket_path() const = 0;
  virtual uint64_t requests_served() const = 0;

 protected:
  ControlServer() = default;
};

// A connection to a running gateway's control socket (used by `sentinel-spool`).
class ControlClient {
 public:
  // Connects to `socket_path`. Unavailable when nothing listens there (no gateway, or a gateway
  // that serves no control socket); IOError naming "permission denied" when the socket is not ours.
  static Status Connect(const std::string& socket_path, int timeout_ms,
                        std::unique_ptr<ControlClient>* client);

  virtual ~ControlClient() = default;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  virtual Status Hello(ServerInfo* info) = 0;
  virtual Status Stats(spool::SpoolStats* stats) = 0;
  // The server's ApplyChange. On error `result` still lists what was changed before it.
  virtual Status Change(const ChangeRequest& request, ChangeResult* result) = 0;

 protected:
  ControlClient() = default;
};

}  // namespace sg::control
