#include "config_file.h"

#include <cctype>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace sg::spooltool {

Status ParseSize(const std::string& text, uint64_t* bytes) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return Status::InvalidArgument(fmt::format("'{}' is not a size", text));
  double number = std::strtod(text.substr(0, i).c_str(), nullptr);
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},         {"B", 1},         {"KB", 1e3},         {"MB", 1e6},         {"GB", 1e9},
      {"TB", 1e12},    {"KiB", 1024.0},  {"MiB", 1048576.0},  {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      *bytes = static_cast<uint64_t>(std::llround(number * factor));
      return Status::OK();
    }
  }
  return Status::InvalidArgument(
      fmt::format("'{}': unknown size unit '{}' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", text, unit));
}

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
  std::string path = "spool";  // the gateway's default
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
      Status st = ParseSize(*s, &out->max_bytes);
      if (!st.ok()) {
        return Status::InvalidArgument(fmt::format("{}:{}: spool.max_bytes: {}", config_file,
                                                   node.node()->source().begin.line, st.message()));
      }
    } else {
      return Status::InvalidArgument(fmt::format("{}:{}: spool.max_bytes: expected a size", config_file,
                                                 node.node()->source().begin.line));
    }
  }
  // Relative to the config file's directory, as the gateway resolves it.
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::absolute(config_file).parent_path() / p;
  out->path = p.lexically_normal().string();
  return Status::OK();
}

}  // namespace sg::spooltool
