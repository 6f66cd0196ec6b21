// Property test over a generated corpus (issue 10, "Proof"): Citrix events of every type, with
// nested objects under `dynamic` and other keys, undeclared fields (nested ones too), numbers as
// strings and strings as numbers, booleans, nulls, arrays, unicode (non-BMP, escaped or not) and
// times older than 2 days or in the future, go through the real programs: kafka-mock-cluster,
// `sentinel-gateway run` and sentinel-emulator applying a DCR as Azure does.
//
// 1. Against the project's DCR (config/azure), the gateway on its built-in schema: every leaf of
//    every event is in the recorded row (a declared column, a `dynamic` column or AdditionalFields,
//    equal up to the conversions the shaper documents) or counted by the gateway's
//    sg_undeclared_fields_total / sg_unconvertible_values_total for its table and field. Lost
//    silently: 0. Every event arrives exactly once.
// 2. Against the DCR Citrix publishes for its CCF connector, read back by the gateway: what did not
//    arrive is exactly what the gateway counted, per table and field and as often; what the emulator
//    dropped (its per-column counts) is what the gateway counted as unconvertible; the fields of the
//    project's DCR that went missing are all in the gateway's report (sg_dcr_fields fate "lost");
//    the events of the stream that DCR lacks wait in the spool.
//
// SG_CORPUS_SEED picks the corpus (printed on failure), SG_CORPUS_EVENTS its size.
//
// Two fields of one event that flatten to the same name ({"a":{"b":1}} beside "a_b", a long Citrix
// name beside its short column, the event's own sg_event_id, a key of the event's own
// AdditionalFields that the gateway uses there too) are generated: the first in key order keeps the
// column, the other lands whole in AdditionalFields under its original path ("/a_b"), or, without
// one, is counted (sg_colliding_fields_total). Integers beyond int64 are generated too. Empty
// objects hold no leaf.
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_fixture.h"
#include "http.h"
#include "kafka_produce.h"

namespace sg::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;


// ---------------------------------------------------------------------------------------------
// The catalogue: Citrix event types and the table each lands in (src/ingest/event_router.cc,
// src/deliver/routes.cc); one type no rule knows goes to the catch-all route.
struct EventType {
  const char* type;
  const char* table;  // without _V1_CL
};
const EventType kTypes[] = {
    {"userProfileRiskscore", "userProfile"},
    {"riskScoreChange", "riskScoreChange"},
    {"indicatorSummary", "indicatorSummary"},
    {"indicatorEventDetails", "indicatorEventDetails"},
    {"datasourceSPAEventDetails", "SPA_Events"},
    {"datasourceDPSEventDetails", "SPA_Events"},
    {"datasourceCVADEventDetails", "CVAD_Events"},
    {"datasourceCCCEventDetails", "CCC_Events"},
    {"datasourceNewProductEventDetails", "other"},
};

// Citrix fields whose flattened names exceed Azure's 45 characters, and the column the project's
// DCR declares for each (docs/AZURE.md, "Column and table names").
const std::map<std::string, std::string> kLongFields = {
    {"occurrence_details_exfiltrated_data_volume_in_bytes", "occurrence_details_exfiltrated_data_bytes"},
    {"occurrence_details_historical_observation_period_in_days", "occurrence_details_historical_period_days"},
    {"occurrence_details_lifetime_download_volume_in_bytes", "occurrence_details_lifetime_download_bytes"},
};
std::string ColumnFor(const std::string& field) {
  auto it = kLongFields.find(field);
  return it == kLongFields.end() ? field : it->second;
}

using Columns = std::map<std::string, std::string>;  // name -> type
// stream -> columns, from a DCR file (bare streamDeclarations or a deployed resource).
std::map<std::string, Columns> LoadDcr(const std::string& path) {
  std::ifstream in(path);
  json doc = json::parse(in);
  const json& decl = doc.contains("properties") ? doc["properties"]["streamDeclarations"] : doc["streamDeclarations"];
  std::map<std::string, Columns> out;
  for (const auto& [stream, s] : decl.items()) {
    for (const json& c : s["columns"]) out[stream][c["name"].get<std::string>()] = c["type"].get<std::string>();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The generator.
class Corpus {
 public:
  Corpus(uint64_t seed, const std::map<std::string, Columns>& ours) : rng_(seed), ours_(ours) {}

  struct Event {
    size_t id;
    std::string table;  // e.g. CitrixAnalytics_SPA_Events_V1_CL
    json doc;
    std::string payload;
    bool time_outside_window;
  };

  Event Make(size_t id, int64_t now_s) {
    const EventType& et = kTypes[id % std::size(kTypes)];
    Event e;
    e.id = id;
    e.table = fmt::format("CitrixAnalytics_{}_V1_CL", et.table);
    const Columns& cols = ours_.at(fmt::format("Custom-CitrixAnalytics_{}_V1", et.table));
    json& d = e.doc;
    d = json::object();
    used_ = {"entity_id", "event_type", "timestamp"};
    // The id: a string, sometimes with unicode after it.
    d["entity_id"] = fmt::format("corpus-{}", id) + (Chance(0.2) ? "-" + Text() : "");
    d["event_type"] = et.type;
    // Time: within Azure's window, more than 2 days old, or more than 1 day ahead (away from the
    // edges: Azure's window is measured at arrival).
    int64_t t;
    switch (Pick(4)) {
      case 0: t = now_s - 3 * 86400 - Pick(30 * 86400); e.time_outside_window = true; break;
      case 1: t = now_s + 2 * 86400 + Pick(5 * 86400); e.time_outside_window = true; break;
      case 2: t = now_s + Pick(12 * 3600); e.time_outside_window = false; break;
      default: t = now_s - Pick(86400); e.time_outside_window = false; break;
    }
    d["timestamp"] = Iso(t);
    for (const auto& [name, type] : cols) {
      if (name == "TimeGenerated" || name == "sg_event_id" || name == "AdditionalFields" || name == "entity_id" ||
          name == "event_type" || name == "timestamp") {
        continue;
      }
      if (!Chance(0.3)) continue;
      std::string field = name;
      for (const auto& [long_name, column] : kLongFields) {
        if (column == name) field = long_name;  // Citrix sends the long name
      }
      Put(&d, field, Value(type));
      if (Chance(0.1)) {
        // A twin: another field that flattens to the same name, with a value no other leaf has.
        const json twin = fmt::format("twin-{}-{}", id, field);
        Twin(&d, field, Chance(0.7) ? twin : json{{"twin", twin}});
      }
    }
    // Undeclared fields, nested ones too; some under a declared column's prefix.
    std::vector<std::string> undeclared;
    const int extra = Pick(5);
    for (int i = 0; i < extra; ++i) {
      if (Chance(0.3)) {
        auto it = std::next(cols.begin(), Pick(cols.size()));
        const size_t us = it->first.find('_');
        if (us != std::string::npos && us > 0) {
          // One key under the declared prefix (nesting can split only there): two such fields
          // never meet in an object the shaper keeps whole.
          Put(&d, it->first.substr(0, us) + "_zznew" + std::to_string(Pick(2)), Scalar());
          continue;
        }
      }
      static const char* kNames[] = {"risk_trend", "new_metric_v2", "geo", "tags", "ключ", "clé_été",
                                     "emoji_😀", "key with space", "dotted.key", "quote\"key", "back\\slash",
                                     "tab\tkey", "deep", "flags", "𝄞_score", "x"};
      const std::string name = kNames[Pick(std::size(kNames))];
      if (!used_.insert(name).second) continue;
      d[name] = Chance(0.5) ? Nested(3) : Scalar();
      undeclared.push_back(name);
    }
    if (Chance(0.03)) {
      // The event's own AdditionalFields: an object merged with the gateway's (sometimes with a key
      // the gateway puts there too), or a value kept.
      const std::string key = !undeclared.empty() && Chance(0.5) ? undeclared[Pick(undeclared.size())]
                                                                   : "af_own_" + std::to_string(Pick(3));
      d["AdditionalFields"] = Chance(0.5) ? json{{key, Scalar()}} : json(Text());
    }
    // The event's own field of the gateway's event id (the first test sets event_id_field).
    if (Chance(0.02)) d["sg_event_id"] = Text();
    // As Citrix or a proxy might encode it: raw UTF-8, \u escapes (surrogate pairs), indented.
    switch (Pick(4)) {
      case 0: e.payload = d.dump(-1, ' ', /*ensure_ascii=*/true); break;
      case 1: e.payload = d.dump(1); break;
      default: e.payload = d.dump(); break;
    }
    return e;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  static std::string Iso(int64_t t) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(static_cast<std::time_t>(t)));
  }

  std::string Text() {
    static const char* kPieces[] = {"alpha", "Bob", " ", "é", "中文", "😀", "𝄞", "\"", "\\", "\n", "\t",
                                    "\x01", "/", "</script>", "Ω", "ß", "a\u0300", "42", "\xe2\x80\xa8"};
    std::string s;
    const int n = 1 + static_cast<int>(Pick(4));
    for (int i = 0; i < n; ++i) s += kPieces[Pick(std::size(kPieces))];
    if (Chance(0.01)) s.push_back('\0');
    return s;
  }

  json Scalar() {
    switch (Pick(9)) {
      case 0: return nullptr;
      case 1: return Chance(0.5);
      case 2: return static_cast<int64_t>(Pick(1000)) - 500;
      case 3: return 3000000000LL + static_cast<int64_t>(Pick(1000));
      case 4: return 0.25 * static_cast<double>(Pick(1000)) - 7.5;
      case 5: return std::to_string(Pick(100000));  // a number as a string
      case 6: return json::array({Text(), static_cast<int64_t>(Pick(9)), nullptr});
      case 7: return json::array();
      default: return Text();
    }
  }

  // An object nested `depth` deep, with arrays of objects.
  json Nested(int depth) {
    json o = json::object();
    const int n = 1 + static_cast<int>(Pick(3));
    for (int i = 0; i < n; ++i) {
      std::string k = std::string("k") + std::to_string(i) + (Chance(0.2) ? "_é😀" : "");
      if (depth > 0 && Chance(0.4)) {
        o[k] = Chance(0.7) ? Nested(depth - 1) : json::array({Nested(depth - 1), Scalar()});
      } else {
        o[k] = Scalar();
      }
    }
    return o;
  }

  // A value for a column of `type`: of that type, convertible to it, not convertible, or null.
  json Value(const std::string& type) {
    const int v = static_cast<int>(Pick(20));
    if (v == 0) return nullptr;
    const bool convertible = v <= 4, unconvertible = v >= 5 && v <= 7;
    if (type == "string") {
      if (convertible) {
        switch (Pick(4)) {
          case 0: return static_cast<int64_t>(Pick(100000));  // a number for a string column
          case 1: return 1.5 + static_cast<double>(Pick(10));
          case 2: return Chance(0.5);
          default: return json::array({Text(), 1});
        }
      }
      if (unconvertible) return Nested(1);  // kept whole, or converted to its text
      return Text();
    }
    if (type == "int" || type == "long") {
      if (convertible) {
        switch (Pick(5)) {
          case 0: return std::to_string(static_cast<int64_t>(Pick(100000)) - 50);  // a string for a number
          case 1: return " " + std::to_string(Pick(1000));
          case 2: return 7.0;
          case 3: return Chance(0.5);
          default: return "+" + std::to_string(Pick(9));
        }
      }
      if (unconvertible) {
        switch (Pick(6)) {
          case 0: return Text();
          case 1: return type == "int" ? json(int64_t{4000000000}) : json("12x");
          case 2: return 2.5;
          case 3: return json::array({1, 2});
          case 4: return json::parse(Chance(0.5) ? "18446744073709551615" : "9223372036854775808");  // beyond int64
          default: return Nested(1);
        }
      }
      return type == "int" ? json(static_cast<int64_t>(Pick(100))) : json(int64_t{5000000000000} + Pick(1000));
    }
    if (type == "real") {
      if (convertible) return Chance(0.5) ? json(fmt::format("{}.25", Pick(100))) : json("1e3");
      if (unconvertible) return Chance(0.5) ? json("nan") : json(Text() + "x");
      return Chance(0.5) ? json(0.1 * static_cast<double>(Pick(1000))) : json(static_cast<int64_t>(Pick(50)));
    }
    if (type == "boolean") {
      if (convertible) {
        static const char* kText[] = {"true", "False", "1", "0", "True"};
        return Chance(0.6) ? json(kText[Pick(5)]) : json(static_cast<int64_t>(Pick(2)));
      }
      if (unconvertible) return Chance(0.5) ? json("yes") : json(2);
      return Chance(0.5);
    }
    if (type == "datetime") {
      if (convertible) return "2026-11-30T10:00:00.123+02:00";
      if (unconvertible) return Chance(0.5) ? json("yesterday") : json(int64_t{1764500000});
      return "2026-11-29T08:30:00Z";
    }
    // dynamic: objects and arrays whole, scalars too.
    if (convertible) return Scalar();
    return Chance(0.7) ? Nested(3) : json::array({Nested(1), Text(), 3, nullptr});
  }

  // Puts `value` under `field`, sometimes nested along its underscores as Citrix nests its objects
  // (occurrence_details.event_count); never where another field already holds a value (Twin makes
  // fields that flatten to one name).
  void Put(json* d, const std::string& field, json value) {
    if (!used_.insert(field).second) return;
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i < field.size(); ++i) {
      if (field[i] == '_' && i > start && i + 1 < field.size() && Chance(0.5)) {
        parts.push_back(field.substr(start, i - start));
        start = i + 1;
      }
    }
    parts.push_back(field.substr(start));
    if (parts.size() == 1 || Chance(0.4)) {
      if (!d->contains(field)) (*d)[field] = std::move(value);
      return;
    }
    json* at = d;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      json& next = (*at)[parts[i]];
      if (next.is_null()) next = json::object();
      if (!next.is_object()) {
        if (!d->contains(field)) (*d)[field] = std::move(value);
        return;
      }
      at = &next;
    }
    if (!at->contains(parts.back())) (*at)[parts.back()] = std::move(value);
  }

  // Puts `value` where it flattens to `field` as the field Put placed does, by another path: nested
  // at its first underscore when that one is at the top, else at the top.
  void Twin(json* d, const std::string& field, json value) {
    if (!d->contains(field)) {
      (*d)[field] = std::move(value);
      return;
    }
    const size_t us = field.find('_');
    if (us == 0 || us == std::string::npos || us + 1 == field.size()) return;
    json& parent = (*d)[field.substr(0, us)];
    if (parent.is_null()) parent = json::object();
    if (parent.is_object() && !parent.contains(field.substr(us + 1))) parent[field.substr(us + 1)] = std::move(value);
  }

  std::mt19937_64 rng_;
  const std::map<std::string, Columns>& ours_;
  std::set<std::string> used_;  // the flattened names of the event being made
};

// ---------------------------------------------------------------------------------------------
// The checker.

// One path step: an object key, or an array index (key empty, index set).
struct Step {
  std::string key;
  bool is_index = false;
  size_t index = 0;
};
struct Leaf {
  std::vector<Step> path;
  const json* value;
};

void Leaves(const json& v, std::vector<Step>* path, std::vector<Leaf>* out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, child] : v.items()) {
      path->push_back({k});
      Leaves(child, path, out);
      path->pop_back();
    }
  } else if (v.is_array() && !v.empty()) {
    for (size_t i = 0; i < v.size(); ++i) {
      path->push_back({"", true, i});
      Leaves(v[i], path, out);
      path->pop_back();
    }
  } else {
    out->push_back({*path, &v});  // a scalar, an empty array (an empty object holds no value)
  }
}

std::string PathText(const std::vector<Step>& p) {
  std::string s;
  for (const Step& st : p) s += st.is_index ? fmt::format("[{}]", st.index) : (s.empty() ? "" : ".") + st.key;
  return s;
}

bool StrToInt(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *v = n;
  return true;
}
bool StrToReal(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*v);
}

// The value `sent` landed as `got`: equal, or converted as docs/AZURE.md and the shaper say (a
// number, boolean, object or array as its JSON text in a string column; a number's text, an
// integral real or a boolean in a number column; "true"/"1"/0/1 in a boolean column).
bool Equivalent(const json& sent, const json& got) {
  if (sent == got) return true;
  if (got.is_string() && !sent.is_string() && !sent.is_null()) {
    json back = json::parse(got.get<std::string>(), nullptr, false);
    return !back.is_discarded() && back == sent;
  }
  if (sent.is_string() && got.is_number_integer()) {
    int64_t n;
    return StrToInt(sent.get<std::string>(), &n) && json(n) == got;
  }
  if (sent.is_string() && got.is_number()) {
    double d;
    return StrToReal(sent.get<std::string>(), &d) && got.get<double>() == d;
  }
  if (sent.is_string() && got.is_boolean()) {
    const std::string& s = sent.get_ref<const std::string&>();
    return got.get<bool>() ? (s == "true" || s == "True" || s == "1") : (s == "false" || s == "False" || s == "0");
  }
  if (sent.is_boolean() && got.is_number_integer()) return got.get<int64_t>() == (sent.get<bool>() ? 1 : 0);
  if (sent.is_number_integer() && got.is_boolean()) return sent.get<int64_t>() == (got.get<bool>() ? 1 : 0);
  if (sent.is_number_float() && got.is_number_integer()) return sent.get<double>() == got.get<double>();
  return false;
}

// Follows `path[from..]` inside `v` (a string holding JSON is read as that JSON: an object or
// array converted to its text for a string column). Null when absent.
const json* Follow(const json& v, const std::vector<Step>& path, size_t from, json* scratch) {
  const json* at = &v;
  for (size_t i = from; i < path.size(); ++i) {
    if (at->is_string()) {
      *scratch = json::parse(at->get<std::string>(), nullptr, false);
      if (scratch->is_discarded()) return nullptr;
      at = scratch;
    }
    const Step& st = path[i];
    if (st.is_index) {
      if (!at->is_array() || st.index >= at->size()) return nullptr;
      at = &(*at)[st.index];
    } else {
      if (!at->is_object()) return nullptr;
      auto it = at->find(st.key);
      if (it == at->end()) return nullptr;
      at = &*it;
    }
  }
  return at;
}

enum class Landing { kDeclared, kDynamic, kCatchAll, kCounted, kLost };

struct Tally {
  uint64_t events = 0, leaves = 0;
  std::map<Landing, uint64_t> by_landing;
  std::vector<std::string> lost;  // the first few, described
  std::vector<std::string> counted;
  // (route, field) -> events in which a leaf under that field did not arrive
  std::map<std::pair<std::string, std::string>, uint64_t> missing;
};

using FieldCounts = std::map<std::pair<std::string, std::string>, uint64_t>;  // (route, field) -> n

// The gateway counts at most 200 field names per route, the rest under this one (docs/AZURE.md).
const char* const kOther = "(other)";

// `missing` as the gateway's counters would show it: the names they do not hold, under (other).
FieldCounts AsCounted(const FieldCounts& missing, const FieldCounts& counted) {
  FieldCounts out;
  for (const auto& [key, n] : missing) {
    out[counted.count(key) != 0 ? key : std::make_pair(key.first, std::string(kOther))] += n;
  }
  return out;
}

// Where the leaf of `event` landed in `row` (the emulator's record), given the stream's columns.
Landing Locate(const Leaf& leaf, const json& row, const Columns& columns, std::string* missing_name) {
  // The flattened names of the leaf's object-key prefixes: a_b_c for {"a":{"b":{"c":..}}}.
  std::vector<std::string> names;
  std::string name;
  for (const Step& st : leaf.path) {
    if (st.is_index) break;
    name += (name.empty() ? "" : "_") + st.key;
    names.push_back(name);
  }
  json scratch;
  for (size_t j = 0; j < names.size(); ++j) {
    for (const std::string& n : {ColumnFor(names[j]), names[j]}) {
      auto col = row.find(n);
      if (col == row.end()) continue;
      const json* got = Follow(*col, leaf.path, j + 1, &scratch);
      if (got == nullptr) continue;
      if (j + 1 == leaf.path.size() ? Equivalent(*leaf.value, *got) : *got == *leaf.value) {
        auto t = columns.find(n);
        return t != columns.end() && t->second == "dynamic" && n != "AdditionalFields" ? Landing::kDynamic
               : n == "AdditionalFields"                                                ? Landing::kCatchAll
                                                                                        : Landing::kDeclared;
      }
    }
  }
  auto extra = row.find("AdditionalFields");
  if (extra != row.end() && extra->is_object()) {
    for (size_t j = 0; j < names.size(); ++j) {
      for (const std::string& n : {ColumnFor(names[j]), names[j]}) {
        auto f = extra->find(n);
        if (f == extra->end()) continue;
        const json* got = Follow(*f, leaf.path, j + 1, &scratch);
        if (got != nullptr && *got == *leaf.value) return Landing::kCatchAll;
      }
    }
    // A value whose name an earlier field took: under its original path, a JSON Pointer.
    json::json_pointer pointer;
    for (size_t j = 0; j < names.size(); ++j) {
      pointer /= leaf.path[j].key;
      auto f = extra->find(pointer.to_string());
      if (f == extra->end()) continue;
      const json* got = Follow(*f, leaf.path, j + 1, &scratch);
      if (got != nullptr && *got == *leaf.value) return Landing::kCatchAll;
    }
  }
  // Not in the row: the name the gateway counts is where the shaper stops flattening (docs/AZURE.md,
  // "Fields that do not fit"): an object stays whole in a `dynamic` column, or, when the stream has
  // AdditionalFields, where the stream declares no column under its name; arrays and scalars are
  // values. Long names by their column.
  const bool catch_all = columns.count("AdditionalFields") != 0;
  for (size_t j = 0; j + 1 < names.size(); ++j) {
    auto col = columns.find(ColumnFor(names[j]));
    const bool dynamic = col != columns.end() && col->second == "dynamic";
    auto under = columns.lower_bound(names[j] + "_");
    const bool has_under = under != columns.end() && under->first.rfind(names[j] + "_", 0) == 0;
    if (dynamic || (catch_all && !has_under)) {
      *missing_name = ColumnFor(names[j]);
      return Landing::kLost;
    }
  }
  *missing_name = names.empty() ? "" : ColumnFor(names.back());
  return Landing::kLost;
}

// ---------------------------------------------------------------------------------------------

class CorpusPropertyTest : public E2eFixture {
 protected:
  void SetUp() override {
    E2eFixture::SetUp();
    const char* s = std::getenv("SG_CORPUS_SEED");
    seed_ = s != nullptr ? std::strtoull(s, nullptr, 10) : std::random_device{}();
    const char* n = std::getenv("SG_CORPUS_EVENTS");
    events_ = n != nullptr ? std::strtoull(n, nullptr, 10) : 2700;
    ours_ = LoadDcr(std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json");
    std::cout << fmt::format("corpus: seed {} (SG_CORPUS_SEED), {} events\n", seed_, events_) << std::flush;
  }

  // Generates the corpus and produces it, round-robin over the partitions.
  void ProduceCorpus() {
    Corpus corpus(seed_, ours_);
    now_s_ = std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (size_t i = 0; i < events_; ++i) {
      corpus_.push_back(corpus.Make(i, now_s_));
      ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", static_cast<int32_t>(i % partitions_), corpus_.back().payload),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(producer_, 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::string Metrics() {
    std::string body;
    HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_["gateway"]), &body);
    return body;
  }

  // The samples of a labelled family: (route, field) -> value; `fate` filters sg_dcr_fields.
  static FieldCounts ByRouteAndField(const std::string& metrics, const std::string& family,
                                     const std::string& fate = "") {
    FieldCounts out;
    std::istringstream in(metrics);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(family + "{", 0) != 0) continue;
      std::map<std::string, std::string> labels;
      size_t p = family.size() + 1;
      while (p < line.size() && line[p] != '}') {
        size_t eq = line.find("=\"", p);
        std::string key = line.substr(p, eq - p), value;
        for (p = eq + 2; line[p] != '"'; ++p) {
          if (line[p] == '\\') {
            ++p;
            value.push_back(line[p] == 'n' ? '\n' : line[p]);
          } else {
            value.push_back(line[p]);
          }
        }
        labels[key] = value;
        ++p;
        if (line[p] == ',') ++p;
      }
      if (!fate.empty() && labels["fate"] != fate) continue;
      out[{labels["route"], labels["field"]}] += std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
    }
    return out;
  }

  // The recorded rows by event id, with their table.
  std::map<size_t, std::vector<std::pair<std::string, json>>> RowsById(uint64_t* unknown) {
    std::map<size_t, std::vector<std::pair<std::string, json>>> out;
    std::ifstream in(dir_ + "/rows.jsonl");
    *unknown = 0;
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      const json& row = j["row"];
      const std::string id = row.value("entity_id", "");
      if (id.rfind("corpus-", 0) != 0) {
        ++*unknown;
        continue;
      }
      out[std::strtoull(id.c_str() + 7, nullptr, 10)].emplace_back(j["table"].get<std::string>(), row);
    }
    return out;
  }

  // Checks every leaf of every event of `tables` against its row. `counted`: the gateway's
  // undeclared and unconvertible counts.
  Tally Check(const std::map<std::string, Columns>& dcr, const std::set<std::string>& tables,
              const FieldCounts& counted) {
    Tally t;
    uint64_t unknown = 0;
    auto rows = RowsById(&unknown);
    EXPECT_EQ(unknown, 0u) << "rows of no corpus event";
    for (const Corpus::Event& e : corpus_) {
      if (tables.count(e.table) == 0) continue;
      ++t.events;
      auto it = rows.find(e.id);
      if (it == rows.end() || it->second.size() != 1) {
        ADD_FAILURE() << "event " << e.id << " recorded " << (it == rows.end() ? 0 : it->second.size())
                      << " times, not once: " << e.payload;
        continue;
      }
      const auto& [table, row] = it->second[0];
      EXPECT_EQ(table, e.table) << e.payload;
      const std::string stream = "Custom-" + table.substr(0, table.size() - 3);
      const Columns& columns = dcr.at(stream);
      std::vector<Leaf> leaves;
      std::vector<Step> path;
      Leaves(e.doc, &path, &leaves);
      std::set<std::string> missing;
      for (const Leaf& leaf : leaves) {
        ++t.leaves;
        std::string name;
        Landing l = Locate(leaf, row, columns, &name);
        if (l == Landing::kLost) {
          missing.insert(name);
          auto c = counted.find({table, name});
          if (c == counted.end()) c = counted.find({table, kOther});  // past the cap of names per route
          if (c != counted.end() && c->second > 0) {
            l = Landing::kCounted;
            if (t.counted.size() < 20) {
              t.counted.push_back(fmt::format("event {} ({}): {} = {} counted as {}, not in row {}; sent {}", e.id,
                                              table, PathText(leaf.path), leaf.value->dump(), c->first.second,
                                              row.dump(), e.payload));
            }
          } else if (t.lost.size() < 20) {
            t.lost.push_back(fmt::format("event {} ({}): {} = {} not in row {}", e.id, table, PathText(leaf.path),
                                         leaf.value->dump(), row.dump()));
          }
        }
        ++t.by_landing[l];
      }
      for (const std::string& n : missing) ++t.missing[{table, n}];
    }
    return t;
  }

  static void Print(const std::string& run, const Tally& t, double wall) {
    std::cout << fmt::format(
                     "corpus {}: {} events, {} leaves: declared column {}, dynamic column {}, AdditionalFields {}, "
                     "counted drops {}, lost silently {}; wall {:.1f}s\n",
                     run, t.events, t.leaves, t.by_landing.count(Landing::kDeclared) ? t.by_landing.at(Landing::kDeclared) : 0,
                     t.by_landing.count(Landing::kDynamic) ? t.by_landing.at(Landing::kDynamic) : 0,
                     t.by_landing.count(Landing::kCatchAll) ? t.by_landing.at(Landing::kCatchAll) : 0,
                     t.by_landing.count(Landing::kCounted) ? t.by_landing.at(Landing::kCounted) : 0,
                     t.by_landing.count(Landing::kLost) ? t.by_landing.at(Landing::kLost) : 0, wall)
              << std::flush;
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << fmt::format("corpus: seed {} (rerun with SG_CORPUS_SEED={})\n", seed_, seed_);
    E2eFixture::TearDown();
  }

  uint64_t seed_ = 0;
  size_t events_ = 0;
  int64_t now_s_ = 0;
  std::map<std::string, Columns> ours_;
  std::vector<Corpus::Event> corpus_;
};

// The "lost" fields per table in check-azure's output: `TABLE  stream ...` starts a table, `  lost (N):`
// lists `field (reason)` items (a reason may hold a comma), continued on lines indented by 6.
FieldCounts CheckAzureLost(const std::string& out, const std::set<std::string>& tables) {
  std::map<std::string, std::string> text;  // table -> its lost list, one line
  std::istringstream in(out);
  std::string table;
  bool in_lost = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ') {
      table = line.substr(0, line.find(' '));
      in_lost = false;
    } else if (line.rfind("  lost (", 0) == 0) {
      in_lost = true;
      text[table] += line.substr(line.find(':') + 1);
    } else if (in_lost && line.rfind("      ", 0) == 0) {
      text[table] += line;
    } else {
      in_lost = false;
    }
  }
  FieldCounts lost;
  for (const auto& [t, list] : text) {
    if (tables.count(t) == 0) continue;
    size_t p = 0;
    while (true) {
      p = list.find_first_not_of(" ,", p);
      if (p == std::string::npos || list[p] == '-') break;
      const size_t open = list.find(" (", p);
      if (open == std::string::npos) break;
      lost[{t, list.substr(p, open - p)}] = 1;
      p = list.find(')', open);
      if (p == std::string::npos) break;
      ++p;
    }
  }
  return lost;
}

FieldCounts Sum(const FieldCounts& a, const FieldCounts& b) {
  FieldCounts out = a;
  for (const auto& [k, n] : b) out[k] += n;
  return out;
}

TEST_F(CorpusPropertyTest, EveryLeafLandsOrIsCountedWithTheProjectsDcr) {
  const auto start = std::chrono::steady_clock::now();
  StartKafka(3);
  StartEmulator({"--schema", std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json"});
  Subprocess gw;
  StartGateway(&gw, WriteConfig("[delivery]\nevent_id_field = \"sg_event_id\"\n"));
  ProduceCorpus();
  ASSERT_TRUE(WaitForRows(events_, seconds(90))) << EmulatorStats().dump();
  const std::string metrics = Metrics();
  gw.Signal(SIGTERM);
  ASSERT_EQ(gw.Wait(seconds(30)), 0);

  const FieldCounts counted = Sum(ByRouteAndField(metrics, "sg_undeclared_fields_total"),
                                  ByRouteAndField(metrics, "sg_unconvertible_values_total"));
  const FieldCounts colliding = ByRouteAndField(metrics, "sg_colliding_fields_total");
  std::set<std::string> tables;
  for (const Corpus::Event& e : corpus_) tables.insert(e.table);
  Tally t = Check(ours_, tables, Sum(counted, colliding));
  Print("project DCR", t, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  EXPECT_EQ(t.events, events_);
  EXPECT_EQ(t.by_landing[Landing::kLost], 0u) << fmt::format("{}", fmt::join(t.lost, "\n"));
  // Every stream of the project's DCR has AdditionalFields: nothing needs to be dropped, even counted.
  EXPECT_EQ(t.by_landing[Landing::kCounted], 0u) << fmt::format("{}", fmt::join(t.counted, "\n"));
  // The corpus has fields that flatten to one name; each landed (above), the later counted.
  uint64_t collisions = 0;
  for (const auto& [key, n] : colliding) collisions += n;
  std::cout << fmt::format("corpus project DCR: {} values whose name an earlier field took, in AdditionalFields "
                           "under their original path ({} (table, column) pairs)\n",
                           collisions, colliding.size());
  EXPECT_GT(collisions, 0u);
  // A field cut from its row is counted at least as often as it went missing.
  for (const auto& [key, n] : t.missing) {
    auto c = counted.find(key);
    EXPECT_GE(c == counted.end() ? 0 : c->second, n) << key.first << " " << key.second;
  }
  // The corpus exercises every landing place.
  EXPECT_GT(t.by_landing[Landing::kDeclared], 0u);
  EXPECT_GT(t.by_landing[Landing::kDynamic], 0u);
  EXPECT_GT(t.by_landing[Landing::kCatchAll], 0u);

  // Exactly once by the gateway's event id, too; and TimeGenerated replaced as often as predicted.
  std::ifstream in(dir_ + "/rows.jsonl");
  std::set<std::string> ids;
  uint64_t rows = 0;
  for (std::string line; std::getline(in, line);) {
    ++rows;
    ids.insert(json::parse(line)["row"].value("sg_event_id", ""));
  }
  EXPECT_EQ(rows, events_);
  EXPECT_EQ(ids.size(), events_);
  EXPECT_EQ(ids.count(""), 0u);
  uint64_t outside = 0;
  for (const Corpus::Event& e : corpus_) outside += e.time_outside_window ? 1 : 0;
  uint64_t replaced_gw = 0, replaced_emu = 0;
  for (const auto& [route, n] : ByRouteAndField(metrics, "sg_events_time_replaced_total")) replaced_gw += n;
  // The built-in schema is only assumed (docs/AZURE.md, "Fields that do not fit"): undeclared
  // fields and unconvertible values stay in the row as well, and Azure drops them there. Every key
  // the emulator dropped is one the gateway counted (and copied to AdditionalFields), as often.
  const json stats = EmulatorStats();
  FieldCounts emulator_dropped;
  for (const auto& [stream, d] : stats["dropped"].items()) {
    replaced_emu += d.value("time_generated_replaced", uint64_t{0});
    for (const auto& [column, n] : d["columns"].items()) {
      emulator_dropped[{stream.substr(7) + "_CL", column}] = n.get<uint64_t>();
    }
  }
  EXPECT_EQ(replaced_gw, outside);
  EXPECT_EQ(replaced_emu, outside);
  EXPECT_EQ(emulator_dropped, counted) << stats["dropped"].dump();
}

TEST_F(CorpusPropertyTest, WithThePublishedCcfDcrTheGatewayNamesExactlyWhatDidNotArrive) {
  const auto start = std::chrono::steady_clock::now();
  const std::string ccf_file = std::string(SG_SOURCE_DIR) + "/tests/azure/testdata/ccf-CitrixAnalytics_DCR.json";
  const auto ccf = LoadDcr(ccf_file);
  StartKafka(3);
  StartEmulator({"--schema", ccf_file, "--dcr-resource-id", kDcrId, "--dcr-id", "dcr-e2e"});
  Subprocess gw;
  // Citrix's fields against the CCF DCR: the gateway's own id (on by default since issue 15; the
  // CCF DCR does not declare it, so Azure would drop it, counted like any undeclared field) is
  // left out of this comparison.
  std::string config = WriteConfig(
      "[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"500ms\"\nevent_id_field = \"\"\n");
  AddToSection(config, "sentinel",
               fmt::format("dcr_resource_id = \"{}\"\nmanagement_endpoint = \"{}\"\n", kDcrId, emulator_url_));
  StartGateway(&gw, config);
  ProduceCorpus();
  // The CCF DCR declares no stream for the catch-all route: those events wait in the spool.
  std::set<std::string> tables;
  uint64_t held = 0;
  for (const Corpus::Event& e : corpus_) {
    if (ccf.count("Custom-" + e.table.substr(0, e.table.size() - 3)) != 0) {
      tables.insert(e.table);
    } else {
      ++held;
    }
  }
  ASSERT_GT(held, 0u);
  ASSERT_TRUE(WaitForRows(events_ - held, seconds(90))) << EmulatorStats().dump();
  ASSERT_TRUE(WaitForMetricAtLeast("sg_spool_pending_events{route=\"CitrixAnalytics_other_V1_CL\"}", held, seconds(60)));
  const std::string metrics = Metrics();
  gw.Signal(SIGTERM);
  ASSERT_EQ(gw.Wait(seconds(30)), 0);
  EXPECT_EQ(MetricValue(metrics, "sg_spool_pending_events{route=\"CitrixAnalytics_other_V1_CL\"}"), held) << metrics;
  EXPECT_EQ(MetricValue(metrics, "sg_dcr_stream_missing{route=\"CitrixAnalytics_other_V1_CL\"}"), 1u) << metrics;

  const FieldCounts undeclared = ByRouteAndField(metrics, "sg_undeclared_fields_total");
  const FieldCounts unconvertible = ByRouteAndField(metrics, "sg_unconvertible_values_total");
  // A value whose name an earlier field took is dropped here (no AdditionalFields): counted too.
  const FieldCounts counted = Sum(Sum(undeclared, unconvertible), ByRouteAndField(metrics, "sg_colliding_fields_total"));
  Tally t = Check(ccf, tables, counted);
  Print("CCF DCR", t, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::cout << fmt::format("corpus CCF DCR: {} events held in the spool for the undeclared stream\n", held);
  EXPECT_EQ(t.events, events_ - held);
  EXPECT_EQ(t.by_landing[Landing::kLost], 0u) << fmt::format("{}", fmt::join(t.lost, "\n"));
  EXPECT_GT(t.by_landing[Landing::kCounted], 0u);

  // What did not arrive is what the gateway counted: the same (table, field), as many events.
  FieldCounts counted_routes;
  for (const auto& [key, n] : counted) {
    if (tables.count(key.first) != 0) counted_routes[key] = n;
  }
  EXPECT_EQ(AsCounted(t.missing, counted_routes), counted_routes);

  // What the emulator dropped (every key, per column) is what the gateway counted as unconvertible
  // (sent unchanged: this DCR has no catch-all); it dropped no undeclared key (the gateway removed
  // them, counted).
  const json stats = EmulatorStats();
  FieldCounts emulator_dropped;
  for (const auto& [stream, d] : stats["dropped"].items()) {
    EXPECT_EQ(d.value("undeclared_keys", uint64_t{1}), 0u) << stream << " " << d.dump();
    for (const auto& [column, n] : d["columns"].items()) {
      emulator_dropped[{stream.substr(7) + "_CL", column}] = n.get<uint64_t>();
    }
  }
  FieldCounts unconvertible_routes;
  for (const auto& [key, n] : unconvertible) {
    if (tables.count(key.first) != 0) unconvertible_routes[key] = n;
  }
  EXPECT_EQ(emulator_dropped, unconvertible_routes) << stats["dropped"].dump();
  uint64_t emulator_drops = 0, past_cap = 0;
  for (const auto& [key, n] : emulator_dropped) emulator_drops += n;
  for (const auto& [key, n] : counted_routes) past_cap += key.second == kOther ? n : 0;
  std::cout << fmt::format("corpus CCF DCR: the gateway named {} (table, field) pairs ({} counts past its cap of "
                           "names, under (other)); the emulator dropped {} values in {} (stream, column) pairs, the same "
                           "the gateway counted unconvertible\n",
                           counted_routes.size(), past_cap,
                           emulator_drops, emulator_dropped.size());

  // The gateway's report of the DCR read back names every Citrix field (a column of the project's
  // DCR) that this DCR does not declare, or types differently, and that went missing; fields no DCR
  // knows are named by the counters only, values that fit no declared type by
  // sg_unconvertible_values_total.
  const FieldCounts report = ByRouteAndField(metrics, "sg_dcr_fields", "lost");
  size_t reported = 0;
  for (const auto& [key, n] : t.missing) {
    const std::string stream = "Custom-" + key.first.substr(0, key.first.size() - 3);
    const Columns& our_columns = ours_.at(stream);
    const Columns& ccf_columns = ccf.at(stream);
    auto ours = our_columns.find(key.second);
    if (ours == our_columns.end() || key.second == "AdditionalFields" || key.second == "sg_event_id") continue;
    auto theirs = ccf_columns.find(key.second);
    if (theirs != ccf_columns.end() && theirs->second == ours->second) continue;
    ++reported;
    EXPECT_EQ(report.count(key), 1u) << "not in sg_dcr_fields: " << key.first << " " << key.second;
  }
  EXPECT_GT(reported, 0u);

  // check-azure, reading the same DCR without posting, names the same fields as the running gateway.
  Subprocess check;
  ASSERT_TRUE(check.Start({BinDir() + "/sentinel-gateway", "check-azure", "--config", config},
                          dir_ + "/check-azure.log"));
  std::string out, line;
  while (check.ReadLine(&line, seconds(30))) out += line + "\n";
  EXPECT_EQ(check.Wait(seconds(30)), 1) << out;
  FieldCounts report_routes;
  for (const auto& [key, n] : report) {
    if (tables.count(key.first) != 0) report_routes[key] = n;
  }
  EXPECT_EQ(CheckAzureLost(out, tables), report_routes) << out;
}

}  // namespace
}  // namespace sg::testing
