// How sentinel-spool reaches a spool: offline (gateway stopped: open it ourselves), or live
// (gateway running: read through a RocksDB secondary instance, change through the control socket).
//
// The choice follows the spool's pid lock, never a guess: a held lock means a live gateway (or
// another tool) owns the spool, and only the owner may write to it. Reading commands and the lock
// probe never take that lock (a gateway starting at that moment must get it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sentinel_gateway/control.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/status.h"

namespace sg::spooltool {

enum class Intent { kRead, kChange };

class Access {
 public:
  enum class Mode {
    kOffline,          // opened by us (the gateway is stopped): read-only for a reading command,
                       // read-write, holding the spool's lock, for a change
    kOfflineReadOnly,  // opened read-only (no write permission, or root on another user's spool)
    kLiveSecondary,    // a RocksDB secondary instance following the running gateway
    kLiveControl,      // the running gateway's control socket
  };

  Access() = default;
  ~Access();  // closes the spool, then removes the secondary's scratch directory
  Access(const Access&) = delete;
  Access& operator=(const Access&) = delete;

  // Opens `dir` for `intent`. `config_max_bytes` (0: unknown) is the configured spool maximum.
  Status Open(const std::string& dir, Intent intent, uint64_t config_max_bytes);

  Mode mode() const { return mode_; }
  bool live() const { return mode_ == Mode::kLiveSecondary || mode_ == Mode::kLiveControl; }
  int64_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  // "offline", "offline, read-only", "live via pid 1234 (secondary instance)", ...
  std::string Describe() const;
  // Short word for JSON output: "offline" or "live".
  const char* Kind() const { return live() ? "live" : "offline"; }

  // The spool (offline and kLiveSecondary), else nullptr.
  spool::Spool* spool() { return spool_.get(); }
  // The control connection (kLiveControl), else nullptr.
  control::ControlClient* client() { return client_.get(); }

  // The spool maximum and where it came from: "config", "gateway" or "default".
  uint64_t max_bytes() const { return max_bytes_; }
  const char* max_bytes_source() const { return max_bytes_source_; }

 private:
  Status OpenLive(Intent intent);

  Mode mode_ = Mode::kOffline;
  std::string dir_;
  int64_t pid_ = 0;
  bool gateway_answered_ = false;  // the lock holder answered on the control socket
  std::string scratch_;
  std::unique_ptr<spool::Spool> spool_;
  std::unique_ptr<control::ControlClient> client_;
  uint64_t max_bytes_ = 0;
  const char* max_bytes_source_ = "default";
};

}  // namespace sg::spooltool
