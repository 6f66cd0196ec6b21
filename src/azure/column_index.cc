#include "sentinel_gateway/azure/column_index.h"

namespace sg::azure {

ColumnIndex::ColumnIndex(const StreamSchema& schema) : schema_(&schema) {
  types_.reserve(schema.columns.size());
  for (const auto& [name, type] : schema.columns) {
    types_.emplace(name, type);
    // Every "<name>" before an underscore: "a_b_c" is under "a" and under "a_b". An empty name
    // counts too ("_a" is under ""), as the map's prefix scan finds it.
    for (size_t at = name.find('_'); at != std::string::npos; at = name.find('_', at + 1)) {
      prefixes_.emplace(name.substr(0, at));
    }
  }
}

const ColumnType* ColumnIndex::Find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

bool ColumnIndex::HasColumnsUnder(std::string_view name) const { return prefixes_.find(name) != prefixes_.end(); }

}  // namespace sg::azure
