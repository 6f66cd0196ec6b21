#include "sentinel_gateway/azure/column_index.h"

#include <set>

namespace sg::azure {
namespace {

size_t TableSize(size_t entries) {
  size_t n = 8;
  while (n < entries * 2) n *= 2;
  return n;
}

}  // namespace

ColumnIndex::ColumnIndex(const StreamSchema& schema) : schema_(&schema) {
  // Every "<name>" before an underscore: "a_b_c" is under "a" and under "a_b". An empty name
  // counts too ("_a" is under ""), as the map's prefix scan finds it.
  std::set<std::string_view> prefixes;
  for (const auto& [name, type] : schema.columns) {
    for (size_t at = name.find('_'); at != std::string::npos; at = name.find('_', at + 1)) {
      prefixes.insert(std::string_view(name).substr(0, at));
    }
  }
  columns_.resize(TableSize(schema.columns.size()));
  for (const auto& [name, type] : schema.columns) Insert(&columns_, name, Hash(name), type);
  prefixes_.resize(TableSize(prefixes.size()));
  for (std::string_view p : prefixes) Insert(&prefixes_, p, Hash(p), ColumnType::kString);
}

void ColumnIndex::Insert(std::vector<Slot>* table, std::string_view name, size_t hash, ColumnType type) {
  const size_t mask = table->size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& s = (*table)[i];
    if (!s.used) {
      s = Slot{hash, true, type, std::string(name)};
      return;
    }
  }
}

const ColumnIndex::Slot* ColumnIndex::Lookup(const std::vector<Slot>& table, std::string_view name,
                                             size_t hash) {
  const size_t mask = table.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = table[i];
    if (!s.used) return nullptr;
    if (s.hash == hash && s.name == name) return &s;
  }
}

const ColumnType* ColumnIndex::Find(std::string_view name, size_t hash) const {
  const Slot* s = Lookup(columns_, name, hash);
  return s == nullptr ? nullptr : &s->type;
}

bool ColumnIndex::HasColumnsUnder(std::string_view name) const {
  return Lookup(prefixes_, name, Hash(name)) != nullptr;
}

}  // namespace sg::azure
