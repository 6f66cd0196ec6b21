// ColumnIndex: constant-time lookups into one StreamSchema, for code that asks once per field.
//
// StreamSchema keeps its columns in a std::map (ordered: the prefix scan for flattened objects,
// stable output). Looking a field up there compares strings that share long prefixes
// ("occurrence_details_..."), which the shaper did for every field of every event. The index
// answers the same questions by hash, and takes a hash the caller already computed (the shaper
// hashes each row key once, to find duplicate keys too). It copies the names it holds, so it stays
// valid as long as the schema it was built from is neither changed nor destroyed; `schema()` names
// that schema so a user can check it is the one in hand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::azure {

class ColumnIndex {
 public:
  explicit ColumnIndex(const StreamSchema& schema);

  // The hash Find and HasColumnsUnder take.
  static size_t Hash(std::string_view name) { return std::hash<std::string_view>{}(name); }

  const StreamSchema* schema() const { return schema_; }
  // The declared type of column `name`, or null when the schema does not declare it.
  const ColumnType* Find(std::string_view name, size_t hash) const;
  const ColumnType* Find(std::string_view name) const { return Find(name, Hash(name)); }
  // True when the schema declares a column named `<name>_...` (the object `name` is flattened).
  bool HasColumnsUnder(std::string_view name) const;

 private:
  // Open addressing, linear probing, at most half full: a miss (an undeclared field) ends at
  // the first empty slot, usually at once.
  struct Slot {
    size_t hash = 0;
    bool used = false;
    ColumnType type = ColumnType::kString;
    std::string name;
  };
  static void Insert(std::vector<Slot>* table, std::string_view name, size_t hash, ColumnType type);
  static const Slot* Lookup(const std::vector<Slot>& table, std::string_view name, size_t hash);

  const StreamSchema* schema_;
  std::vector<Slot> columns_;
  std::vector<Slot> prefixes_;  // "a" for a column "a_b"
};

}  // namespace sg::azure
