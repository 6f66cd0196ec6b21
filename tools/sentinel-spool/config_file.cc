#include "config_file.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "sentinel_gateway/config.h"

namespace sg::spooltool {

Status ReadSpoolLocation(const std::string& config_file, SpoolLocation* out) {
  *out = SpoolLocation();
  toml::table root;
  try {
    root = toml::parse_file(config_file);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    std::error_code ec;
    if (!std::filesystem::exists(config_file, ec)) {
      return Status::NotFound(fmt::format("no config file {}", config_file));
    }
    return Status::InvalidArgument(
        fmt::format("{}:{}: {}", config_file, where.line, std::string(e.description())));
  }
  std::string path;  // empty: the gateway's default (below)
  if (auto node = root["spool"]["path"]; node) {
    auto v = node.value<std::string>();
    if (!v) {
      return Status::InvalidArgument(fmt::format("{}:{}: spool.path: expected a string", config_file,
                                                 node.node()->source().begin.line));
    }
    path = *v;
  }
  if (auto node = root["spool"]["max_bytes"]; node) {
    if (auto n = node.value<int64_t>(); n && *n > 0) {
      out->max_bytes = static_cast<uint64_t>(*n);
    } else if (auto s = node.value<std::string>(); s) {
      Status st = config::ParseSize(*s, &out->max_bytes);  // the gateway's own grammar
      if (!st.ok()) {
        return Status::InvalidArgument(fmt::format("{}:{}: spool.max_bytes: {}", config_file,
                                                   node.node()->source().begin.line, st.message()));
      }
    } else {
      return Status::InvalidArgument(fmt::format("{}:{}: spool.max_bytes: expected a size", config_file,
                                                 node.node()->source().begin.line));
    }
  }
  // Relative to the config file's directory, as the gateway resolves it; none given: the gateway's
  // default, which under systemd is in $STATE_DIRECTORY.
  const std::string config_dir = std::filesystem::absolute(config_file).parent_path().string();
  if (path.empty()) path = config::DefaultSpoolPath(config_dir, std::getenv("STATE_DIRECTORY"));
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::absolute(config_file).parent_path() / p;
  out->path = p.lexically_normal().string();
  return Status::OK();
}

}  // namespace sg::spooltool
