#include "sentinel_gateway/azure/builtin_streams.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace sg::azure {
namespace {

// CMake writes the .inc from config/azure/citrix-analytics-streams.json as one raw string literal.
constexpr char kBuiltinStreamsJson[] =
#include "builtin_streams_json.inc"
    ;

}  // namespace

const std::map<std::string, StreamSchema>& BuiltinStreamSchemas() {
  static const std::map<std::string, StreamSchema> schemas = [] {
    std::map<std::string, StreamSchema> out;
    nlohmann::json doc = nlohmann::json::parse(kBuiltinStreamsJson, nullptr, /*allow_exceptions=*/false);
    // The file is the project's own and a test parses it: a failure here is a broken build.
    if (!ParseStreamSchemas(doc, &out).ok()) std::abort();
    for (auto& [stream, schema] : out) schema.keep_undeclared = true;
    return out;
  }();
  return schemas;
}

}  // namespace sg::azure
