// DcrCoverage: what a deployed DCR stream does with each field Citrix sends to it.
//
// The fields Citrix sends to a table, with the types the gateway converts their values to, are
// the columns of the gateway's own DCR (BuiltinStreamSchemas(): config/azure declares every
// Citrix field). Against a stream as deployed, each field either lands in a declared column
// (same type, a type its values convert to losslessly, `string`, `dynamic`, or a `dynamic`
// column holding its parent object whole), goes to the catch-all column AdditionalFields (not
// declared, or declared with a type its values do not fit, and the stream has the catch-all), or
// is lost: Azure drops it and still answers 204 (docs/AZURE.md, "Fields that do not fit").
// Pure functions; the gateway's drop report and `check-azure` both print this.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::azure {

enum class FieldFate { kDeclared, kCatchAll, kLost };
const char* FieldFateName(FieldFate fate);  // "declared", "catch_all", "lost"

struct FieldCoverage {
  std::string field;   // the row's column name (flattened, as the shaper writes it)
  FieldFate fate = FieldFate::kDeclared;
  std::string column;  // where it lands (kDeclared): the field, or the dynamic parent
  std::string why;     // kCatchAll/kLost: "not declared", "declared int, Citrix sends long"
};

// `citrix`: the fields sent and their types. `deployed`: the stream as deployed (null: the DCR
// has no such stream, every field is lost). `skip`: fields that are the gateway's own (TimeGenerated,
// AdditionalFields, an unused event id column). In `citrix`'s column order (by name).
std::vector<FieldCoverage> CompareStreams(const StreamSchema& citrix, const StreamSchema* deployed,
                                          const std::set<std::string>& skip);

// True when every value of a `from` column converts losslessly into a `to` column (ConvertValue).
bool TypeFits(ColumnType from, ColumnType to);

}  // namespace sg::azure
