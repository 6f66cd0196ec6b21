#include "sentinel_gateway/azure/dcr_coverage.h"

#include <fmt/format.h>

namespace sg::azure {

const char* FieldFateName(FieldFate fate) {
  switch (fate) {
    case FieldFate::kDeclared: return "declared";
    case FieldFate::kCatchAll: return "catch_all";
    case FieldFate::kLost: return "lost";
  }
  return "?";
}

bool TypeFits(ColumnType from, ColumnType to) {
  if (from == to || to == ColumnType::kDynamic) return true;
  switch (to) {
    case ColumnType::kString:
      return true;  // numbers and booleans are written as text, objects as JSON text (ConvertValue)
    case ColumnType::kReal:
      return from == ColumnType::kInt || from == ColumnType::kLong;
    case ColumnType::kLong:
      return from == ColumnType::kInt;
    default:
      // int from long may overflow; datetime or guid from string or dynamic may not parse.
      return false;
  }
}

std::vector<FieldCoverage> CompareStreams(const StreamSchema& citrix, const StreamSchema* deployed,
                                          const std::set<std::string>& skip) {
  std::vector<FieldCoverage> out;
  bool catch_all = false;
  if (deployed != nullptr) {
    auto it = deployed->columns.find("AdditionalFields");
    catch_all = it != deployed->columns.end() && it->second == ColumnType::kDynamic;
  }
  for (const auto& [field, type] : citrix.columns) {
    if (skip.count(field) != 0) continue;
    FieldCoverage c;
    c.field = field;
    if (deployed == nullptr) {
      c.fate = FieldFate::kLost;
      c.why = "stream not in the DCR";
      out.push_back(std::move(c));
      continue;
    }
    auto col = deployed->columns.find(field);
    if (col != deployed->columns.end() && TypeFits(type, col->second)) {
      c.column = field;
      out.push_back(std::move(c));
      continue;
    }
    if (col == deployed->columns.end()) {
      // A `dynamic` column named after a parent object (occurrence_details for
      // occurrence_details_event_count) takes the object whole: the shaper keeps it unflattened.
      bool in_parent = false;
      for (size_t p = field.find('_'); p != std::string::npos && !in_parent; p = field.find('_', p + 1)) {
        auto parent = deployed->columns.find(field.substr(0, p));
        if (parent != deployed->columns.end() && parent->second == ColumnType::kDynamic) {
          in_parent = true;
          c.column = parent->first;
        }
      }
      if (in_parent) {
        out.push_back(std::move(c));
        continue;
      }
      c.why = "not declared";
    } else {
      c.why = fmt::format("declared {}, Citrix's values are {}", ColumnTypeName(col->second),
                          ColumnTypeName(type));
    }
    c.fate = catch_all ? FieldFate::kCatchAll : FieldFate::kLost;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace sg::azure
