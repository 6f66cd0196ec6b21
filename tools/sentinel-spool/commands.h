// The commands of sentinel-spool. Each prints its result on stdout (tables, or JSON lines with
// --json), its errors on stderr, and returns the process exit code.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sentinel_gateway/status.h"

namespace sg::spooltool {

// Exit codes scripts can rely on.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,     // I/O, corruption, newer format, permission denied, ...
  kExitUsage = 2,     // bad command line
  kExitNotFound = 3,  // no spool at that path, unknown batch id or route
  kExitBusy = 4,      // a change is impossible now: the spool's owner serves no control socket
};

struct CommandOptions {
  std::string spool;        // the spool directory
  uint64_t max_bytes = 0;   // from --config, 0 when unknown
  bool json = false;
  bool failed_only = false;            // ls, export
  std::string route;                   // ls, export, requeue --all
  size_t limit = 0;                    // ls (0: all), show (events shown)
  std::vector<std::string> ids;        // show (one), export, requeue, drop; "-" reads stdin
  bool raw = false;                    // export: payloads only
  bool all = false;                    // requeue
  int http_status = -1;                // requeue --all --status
  bool yes = false;                    // drop
};

int Stats(const CommandOptions& o);
int List(const CommandOptions& o);
int Show(const CommandOptions& o);
int Export(const CommandOptions& o);
int Requeue(const CommandOptions& o);
int Drop(const CommandOptions& o);

// Prints "sentinel-spool: <message>" on stderr and returns the exit code for `s`.
int Fail(const Status& s);
int Usage(const std::string& message);

}  // namespace sg::spooltool
