// PidLock: one read-write owner per spool directory, named by pid in the error others get.
//
// RocksDB's own LOCK file only says "Resource temporarily unavailable". An flock'ed file holding the
// owner's pid lets a second gateway or an offline `sentinel-spool` say "spool is in use by pid N".
// The kernel releases the lock when the process dies, so kill -9 never leaves a stale lock.
#pragma once

#include <string>

#include "sentinel_gateway/status.h"

namespace sg::spool {

class PidLock {
 public:
  PidLock() = default;
  ~PidLock();
  PidLock(const PidLock&) = delete;
  PidLock& operator=(const PidLock&) = delete;

  // Takes the lock file `path` or returns Busy naming the holder's pid. A lock held by someone else
  // is tried again every 50 ms for up to `wait_ms` (a tool's probe or a stopping gateway holds it
  // briefly) before Busy is returned.
  Status Acquire(const std::string& path, int wait_ms = 0);
  // The pid recorded in a lock file that is currently held, or 0 when free or unreadable.
  static long HolderPid(const std::string& path);

 private:
  int fd_ = -1;
};

}  // namespace sg::spool
