// Reads the two things sentinel-spool needs from the gateway's TOML configuration: the spool path
// and its configured maximum size, with the gateway's own loader (sg::config::LoadSection: the key
// table's types, size grammar, unknown-key check and default path). Other sections are the
// gateway's business and are not read here, so the tool works from a shell without its secrets.
#pragma once

#include <cstdint>
#include <string>

#include "sentinel_gateway/status.h"

namespace sg::spooltool {

struct SpoolLocation {
  std::string path;        // `[spool] path`, a relative one resolved against the config file's directory
  uint64_t max_bytes = 0;  // `[spool] max_bytes` (bytes or "20GiB"), 0 when the file does not set it
};

Status ReadSpoolLocation(const std::string& config_file, SpoolLocation* out);

}  // namespace sg::spooltool
