#include "config_file.h"

#include <set>

#include "sentinel_gateway/config.h"

namespace sg::spooltool {

Status ReadSpoolLocation(const std::string& config_file, SpoolLocation* out) {
  *out = SpoolLocation();
  // The gateway's own loader, [spool] only: the same types, size grammar, unknown-key check,
  // relative path resolution and default path (under systemd, in $STATE_DIRECTORY).
  config::GatewayConfig c;
  std::set<std::string> given;
  Status s = config::LoadSection(config_file, "spool", &c, &given);
  if (!s.ok()) return s;
  out->path = c.spool.path;
  if (given.count("max_bytes")) out->max_bytes = c.spool.max_bytes;
  return Status::OK();
}

}  // namespace sg::spooltool
