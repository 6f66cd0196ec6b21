// Fuzzes the deliver shaper (sg::deliver::ShapeEvent) on arbitrary payloads, with and without a
// stream schema. Invariants besides "no crash, no UB, no leak":
//  - a payload nlohmann parses as an object is shaped; anything else is InvalidArgument;
//  - the row is a JSON object with no nested object (flattened) but in `dynamic` columns, and with a schema every column
//    of the row is declared and a reported undeclared field is not in the row;
//  - with an assumed schema (keep_undeclared), the streaming shaper gives the document path's row
//    (and the same row, byte for byte, with a ColumnIndex as without)
//    and reports the same unconvertible columns (when no two fields of the row share a name).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/deliver/shaper.h"

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fuzz_shaper: invariant broken: %s\n", what);
  std::abort();
}

const sg::azure::StreamSchema& Schema() {
  static const sg::azure::StreamSchema schema = [] {
    using sg::azure::ColumnType;
    sg::azure::StreamSchema s;
    s.columns = {{"TimeGenerated", ColumnType::kDateTime}, {"timestamp", ColumnType::kDateTime},
                 {"event_type", ColumnType::kString},      {"indicator_id", ColumnType::kString},
                 {"risk_score", ColumnType::kInt},         {"count", ColumnType::kLong},
                 {"ratio", ColumnType::kReal},             {"flag", ColumnType::kBoolean},
                 {"details", ColumnType::kDynamic},        {"id", ColumnType::kGuid},
                 {"event_id", ColumnType::kString},        {"a_b", ColumnType::kInt}};
    return s;
  }();
  return schema;
}

const sg::azure::StreamSchema& AssumedSchema() {
  static const sg::azure::StreamSchema schema = [] {
    sg::azure::StreamSchema s = Schema();
    s.keep_undeclared = true;
    return s;
  }();
  return schema;
}

// Fields of the row's top level, duplicates included (parsing keeps only the last of them).
size_t TopLevelKeys(const std::string& row) {
  size_t keys = 0;
  (void)nlohmann::json::parse(
      row,
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1) ++keys;
        return true;
      },
      /*allow_exceptions=*/false);
  return keys;
}

void CheckStreamingMatchesDocument(std::string_view payload, const sg::spool::SourceRef& source) {
  sg::deliver::ShapeOptions stream, doc;
  stream.schema = doc.schema = &AssumedSchema();
  stream.event_id_field = doc.event_id_field = "event_id";
  doc.use_document = true;
  std::string a, b;
  sg::deliver::ShapeReport ra, rb;
  const bool ok_a = sg::deliver::ShapeEvent(payload, source, stream, &a, &ra).ok();
  const bool ok_b = sg::deliver::ShapeEvent(payload, source, doc, &b, &rb).ok();
  if (ok_a != ok_b) Die("streaming and document paths disagree on accepting the event");
  // The column index (hash lookups) must not change a byte of the row or of the report.
  static const sg::azure::ColumnIndex index(AssumedSchema());
  sg::deliver::ShapeOptions indexed = stream;
  indexed.index = &index;
  std::string c;
  sg::deliver::ShapeReport rc;
  if (sg::deliver::ShapeEvent(payload, source, indexed, &c, &rc).ok() != ok_a) Die("the index changed acceptance");
  if (ok_a && (c != a || rc.undeclared != ra.undeclared || rc.unconvertible != ra.unconvertible ||
               rc.collided != ra.collided || rc.time_replaced != ra.time_replaced)) {
    Die("the index changed the row or the report");
  }
  if (!ok_a) return;
  if (!ra.undeclared.empty()) Die("an assumed schema removed a field");
  const nlohmann::json ja = nlohmann::json::parse(a, nullptr, false), jb = nlohmann::json::parse(b, nullptr, false);
  if (TopLevelKeys(a) != ja.size() || ja.size() != jb.size()) return;  // fields collide after flattening
  if (ja != jb) Die("streaming row differs from the document row under an assumed schema");
  std::set<std::string> ua(ra.unconvertible.begin(), ra.unconvertible.end());
  std::set<std::string> ub(rb.unconvertible.begin(), rb.unconvertible.end());
  if (ua != ub) Die("streaming and document paths report different unconvertible columns");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const nlohmann::json ref = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  sg::spool::SourceRef source{"citrix-topic", 3, 42};
  for (int variant = 0; variant < 2; ++variant) {
    sg::deliver::ShapeOptions options;
    if (variant == 1) {
      options.schema = &Schema();
      options.event_id_field = "event_id";
    }
    std::string row;
    sg::deliver::ShapeReport report;
    const sg::Status s = sg::deliver::ShapeEvent(payload, source, options, &row, &report);
    // nlohmann stops reading at a NUL byte and so accepts `{...}\0`; RFC 8259 does not (a raw NUL
    // is neither whitespace nor allowed in a string), and neither does the shaper.
    const bool has_nul = payload.find('\0') != std::string_view::npos;
    const bool object = !has_nul && !ref.is_discarded() && ref.is_object();
    if (s.ok() != object) Die("shaped exactly when the input is one JSON object (RFC 8259)");
    if (!s.ok()) continue;
    const nlohmann::json out = nlohmann::json::parse(row, nullptr, false);
    if (out.is_discarded() || !out.is_object()) Die("the row is not a JSON object");
    for (const auto& [k, v] : out.items()) {
      // An object stays whole only in a column the schema declares dynamic.
      if (v.is_object() && (options.schema == nullptr || options.schema->columns.count(k) == 0 ||
                            options.schema->columns.at(k) != sg::azure::ColumnType::kDynamic)) {
        Die("a nested object survived flattening outside a dynamic column");
      }
      if (options.schema != nullptr && options.schema->columns.count(k) == 0) Die("undeclared column in the row");
    }
    for (const std::string& u : report.undeclared) {
      if (out.contains(u)) Die("a reported undeclared field is in the row");
    }
  }
  CheckStreamingMatchesDocument(payload, source);
  return 0;
}
