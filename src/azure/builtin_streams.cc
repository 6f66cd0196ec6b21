#include "sentinel_gateway/azure/builtin_streams.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

namespace sg::azure {
namespace {

// CMake writes the .inc from config/azure/citrix-analytics-streams.json as one raw string literal.
constexpr char kBuiltinStreamsJson[] =
#include "builtin_streams_json.inc"
    ;

// The four legacy tables, as one JSON array (CMake, from config/legacy-tables).
constexpr char kBuiltinLegacyJson[] =
#include "builtin_legacy_json.inc"
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

const std::map<std::string, StreamSchema>& BuiltinLegacySchemas() {
  static const std::map<std::string, StreamSchema> schemas = [] {
    std::map<std::string, StreamSchema> out;
    nlohmann::json doc = nlohmann::json::parse(kBuiltinLegacyJson, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_array()) std::abort();  // the project's own files; a test reads them
    // The Data Collector API's suffixes (Learn "HTTP Data Collector API", record type and properties).
    const std::pair<const char*, ColumnType> kSuffixes[] = {
        {"_s", ColumnType::kString}, {"_d", ColumnType::kReal}, {"_b", ColumnType::kBoolean},
        {"_t", ColumnType::kDateTime}, {"_g", ColumnType::kGuid}};
    for (const auto& table : doc) {
      std::string name = table.value("Name", "");
      if (name.size() < 4 || name.compare(name.size() - 3, 3, "_CL") != 0) std::abort();
      StreamSchema schema;
      schema.keep_undeclared = true;
      for (const auto& p : table["Properties"]) {
        const std::string column = p.value("Name", "");
        for (const auto& [suffix, type] : kSuffixes) {
          if (column.size() > 2 && column.compare(column.size() - 2, 2, suffix) == 0) {
            schema.columns[column.substr(0, column.size() - 2)] = type;
          }
        }
      }
      out[name.substr(0, name.size() - 3)] = std::move(schema);
    }
    return out;
  }();
  return schemas;
}

const StreamSchema* BuiltinSchemaFor(citrix::Layout layout, std::string_view target) {
  const auto& schemas = layout == citrix::Layout::kLegacy ? BuiltinLegacySchemas() : BuiltinStreamSchemas();
  auto it = schemas.find(std::string(target));
  return it == schemas.end() ? nullptr : &it->second;
}

}  // namespace sg::azure
