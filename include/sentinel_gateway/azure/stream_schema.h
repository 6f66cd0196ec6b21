// StreamSchema: the columns a DCR stream declares (its `streamDeclarations` entry).
//
// The Logs Ingestion API keeps only declared columns and needs values of the declared type. The
// drainer uses a schema to convert values and to count undeclared fields; the emulator uses the
// same schema to refuse mismatched rows, as Azure does.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/status.h"

namespace sg::azure {

enum class ColumnType { kString, kInt, kLong, kReal, kBoolean, kDateTime, kDynamic, kGuid };

struct StreamSchema {
  std::map<std::string, ColumnType> columns;
  // False (a schema read from the user's DCR): fields it does not declare are removed and counted,
  // since Azure would drop them unseen. True (a schema assumed, not read): they are left in the
  // row for Azure, and only the declared columns are converted.
  bool keep_undeclared = false;
};

// Reads stream declarations from a JSON file: a DCR resource ({"properties": {"streamDeclarations":
// ...}}), an ARM template holding one, or a bare {"Custom-X": {"columns": [...]}} object.
Status LoadStreamSchemas(const std::string& path, std::map<std::string, StreamSchema>* out);
Status ParseStreamSchemas(const nlohmann::json& doc, std::map<std::string, StreamSchema>* out);

bool ParseColumnType(const std::string& name, ColumnType* type);
const char* ColumnTypeName(ColumnType type);

// True when `value` is acceptable for a column of `type` as Azure reads JSON (null always is).
bool ValueMatches(ColumnType type, const nlohmann::json& value);

// Converts `value` in place to `type` when a lossless conversion exists (integer -> string,
// numeric string -> int, ...). False (value unchanged) when it cannot.
bool ConvertValue(ColumnType type, nlohmann::json* value);

// True for an ISO 8601 date-time such as 2021-12-15T01:00:00Z or 2021-11-05T10:07:33.652Z.
bool IsIso8601DateTime(std::string_view s);

}  // namespace sg::azure
