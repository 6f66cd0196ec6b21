// ColumnIndex: constant-time lookups into one StreamSchema, for code that asks once per field.
//
// StreamSchema keeps its columns in a std::map (ordered: the prefix scan for flattened objects,
// stable output). Looking a field up there compares strings that share long prefixes
// ("occurrence_details_..."), which the shaper did for every field of every event. The index
// answers the same questions by hash. It copies the names it needs, so it stays valid as long as
// the schema it was built from is neither changed nor destroyed; `schema()` names that schema so
// a user can check it is the one in hand.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::azure {

class ColumnIndex {
 public:
  explicit ColumnIndex(const StreamSchema& schema);

  const StreamSchema* schema() const { return schema_; }
  // The declared type of column `name`, or null when the schema does not declare it.
  const ColumnType* Find(std::string_view name) const;
  // True when the schema declares a column named `<name>_...` (the object `name` is flattened).
  bool HasColumnsUnder(std::string_view name) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const StreamSchema* schema_;
  std::unordered_map<std::string, ColumnType, Hash, std::equal_to<>> types_;
  std::unordered_set<std::string, Hash, std::equal_to<>> prefixes_;  // "a" for a column "a_b"
};

}  // namespace sg::azure
