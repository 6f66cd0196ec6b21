// Unit tests of the drainer's pure parts: shaping, batch limits, bisection, route defaults.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/deliver/batch_builder.h"
#include "sentinel_gateway/deliver/bisect.h"
#include "sentinel_gateway/deliver/shaper.h"

namespace sg::deliver {
namespace {

using nlohmann::json;

const char* kIndicatorSummary = R"({
  "tenant_id": "jimex9vbhnya", "indicator_id": 7, "timestamp": "2021-06-08T06:59:59Z",
  "event_type": "indicatorSummary", "version": 2,
  "indicator_vector": {"name": "Insider Threat - Files", "id": "6"},
  "occurrence_details": {"event_count": 9, "nested": {"deep": true}},
  "tags": [1, 2]})";

TEST(ShaperTest, FlattensNestedObjectsWithUnderscore) {
  std::string row;
  ASSERT_TRUE(ShapeEvent(kIndicatorSummary, {}, ShapeOptions{}, &row, nullptr).ok());
  json j = json::parse(row);
  EXPECT_EQ(j["occurrence_details_event_count"], 9);
  EXPECT_EQ(j["occurrence_details_nested_deep"], true);
  EXPECT_EQ(j["indicator_vector_name"], "Insider Threat - Files");
  EXPECT_FALSE(j.contains("occurrence_details"));
  EXPECT_EQ(j["tags"], json::array({1, 2}));  // arrays stay as they are
}

TEST(ShaperTest, TimeGeneratedFromTimestampUnlessPresentOrDisabled) {
  std::string row;
  ASSERT_TRUE(ShapeEvent(kIndicatorSummary, {}, ShapeOptions{}, &row, nullptr).ok());
  EXPECT_EQ(json::parse(row)["TimeGenerated"], "2021-06-08T06:59:59Z");
  ASSERT_TRUE(ShapeEvent(R"({"timestamp":"2021-01-01T00:00:00Z","TimeGenerated":"x"})", {},
                         ShapeOptions{}, &row, nullptr).ok());
  EXPECT_EQ(json::parse(row)["TimeGenerated"], "x");
  ShapeOptions dc;
  dc.set_time_generated = false;  // Data Collector: the time-generated-field header instead
  ASSERT_TRUE(ShapeEvent(kIndicatorSummary, {}, dc, &row, nullptr).ok());
  EXPECT_FALSE(json::parse(row).contains("TimeGenerated"));
}

TEST(ShaperTest, SchemaConvertsTypesAndReportsUndeclaredFields) {
  azure::StreamSchema schema;
  schema.columns = {{"tenant_id", azure::ColumnType::kString},
                    {"indicator_id", azure::ColumnType::kString},
                    {"timestamp", azure::ColumnType::kDateTime},
                    {"version", azure::ColumnType::kInt},
                    {"occurrence_details_event_count", azure::ColumnType::kInt},
                    {"event_type", azure::ColumnType::kString}};
  ShapeOptions o;
  o.schema = &schema;
  std::string row;
  ShapeReport report;
  ASSERT_TRUE(ShapeEvent(kIndicatorSummary, {}, o, &row, &report).ok());
  json j = json::parse(row);
  EXPECT_EQ(j["indicator_id"], "7");  // Citrix sends an integer, the DCR declares a string
  EXPECT_EQ(j["occurrence_details_event_count"], 9);
  EXPECT_FALSE(j.contains("indicator_vector_name"));
  EXPECT_FALSE(j.contains("TimeGenerated"));  // not declared: the DCR transform sets it
  std::set<std::string> undeclared(report.undeclared.begin(), report.undeclared.end());
  EXPECT_EQ(undeclared, (std::set<std::string>{"indicator_vector_name", "indicator_vector_id",
                                               "occurrence_details_nested_deep", "tags"}));
  EXPECT_TRUE(report.unconvertible.empty());

  ASSERT_TRUE(ShapeEvent(R"({"version":"two","tenant_id":"t"})", {}, o, &row, &report).ok());
  EXPECT_EQ(report.unconvertible, std::vector<std::string>{"version"});
  EXPECT_EQ(json::parse(row)["version"], "two");  // sent as is: Azure decides
}

// The gateway's built-in DCR schema is assumed, not read from the user's DCR: it converts the
// columns it declares and leaves every other field in the row for Azure.
TEST(ShaperTest, BuiltinSchemaConvertsDeclaredColumnsAndKeepsTheRest) {
  const auto& builtin = azure::BuiltinStreamSchemas();
  auto it = builtin.find("Custom-CitrixAnalytics_indicatorSummary_V1");
  ASSERT_NE(it, builtin.end());
  ShapeOptions o;
  o.schema = &it->second;
  std::string row;
  ShapeReport report;
  ASSERT_TRUE(ShapeEvent(kIndicatorSummary, {}, o, &row, &report).ok());
  json j = json::parse(row);
  EXPECT_EQ(j["indicator_id"], "7");
  EXPECT_EQ(j["indicator_vector_id"], "6");
  EXPECT_EQ(j["occurrence_details_event_count"], 9);
  EXPECT_EQ(j["TimeGenerated"], "2021-06-08T06:59:59Z");
  // Not declared by our DCR: whole in the catch-all, and kept in the row for a user's DCR that
  // declares more.
  EXPECT_EQ(j["occurrence_details_nested"], json({{"deep", true}}));
  EXPECT_EQ(j["tags"], json::array({1, 2}));
  EXPECT_EQ(j["AdditionalFields"], json({{"occurrence_details_nested", {{"deep", true}}},
                                         {"tags", json::array({1, 2})}}));
  std::set<std::string> undeclared(report.undeclared.begin(), report.undeclared.end());
  EXPECT_EQ(undeclared, (std::set<std::string>{"occurrence_details_nested", "tags"}));
}

// docs/AZURE.md, "Fields that do not fit": Azure keeps objects and arrays whole in `dynamic`
// columns and drops what the stream does not declare, or what does not fit its column, unseen.
TEST(ShaperTest, DynamicColumnsTakeObjectsAndArraysWholeOnBothPaths) {
  const auto& builtin = azure::BuiltinStreamSchemas();
  const azure::StreamSchema& assumed = builtin.at("Custom-CitrixAnalytics_SPA_Events_V1");
  ASSERT_EQ(assumed.columns.at("endpoint_information"), azure::ColumnType::kDynamic);
  azure::StreamSchema read_copy = assumed;  // as if read from the deployed DCR
  const azure::StreamSchema& read = read_copy;
  read_copy.keep_undeclared = false;
  const char* event = R"({"event_type":"datasourceSPAEventDetails","timestamp":"2021-06-08T06:59:59Z",
      "endpoint_information":{"os":{"name":"Windows","version":"10"},"agents":["a","b"]},
      "device_posture_tags":["managed",{"k":1}]})";
  for (const azure::StreamSchema* schema : {&assumed, &read}) {
    for (bool use_document : {false, true}) {
      ShapeOptions o;
      o.schema = schema;
      o.use_document = use_document;
      std::string row;
      ShapeReport report;
      ASSERT_TRUE(ShapeEvent(event, {}, o, &row, &report).ok());
      json j = json::parse(row);
      EXPECT_EQ(j["endpoint_information"],
                json::parse(R"({"os":{"name":"Windows","version":"10"},"agents":["a","b"]})"))
          << row;
      EXPECT_EQ(j["device_posture_tags"], json::parse(R"(["managed",{"k":1}])")) << row;
      for (const auto& [k, v] : j.items()) EXPECT_EQ(k.rfind("endpoint_information_", 0), std::string::npos) << k;
      EXPECT_TRUE(report.undeclared.empty()) << json(report.undeclared).dump();
      EXPECT_FALSE(j.contains("AdditionalFields")) << row;
    }
  }
}

TEST(ShaperTest, UndeclaredFieldsAndUnconvertibleValuesLandInAdditionalFields) {
  const auto& builtin = azure::BuiltinStreamSchemas();
  const azure::StreamSchema& assumed = builtin.at("Custom-CitrixAnalytics_indicatorSummary_V1");
  ASSERT_EQ(assumed.columns.at("AdditionalFields"), azure::ColumnType::kDynamic);
  azure::StreamSchema read_copy = assumed;
  const azure::StreamSchema& read = read_copy;
  read_copy.keep_undeclared = false;
  const char* event = R"({"event_type":"indicatorSummary","timestamp":"2021-06-08T06:59:59Z",
      "version":"two","indicator_id":7,"future_field":{"a":1,"b":[2]},"future_scalar":"x",
      "occurrence_details":{"event_count":9,"brand_new":5}})";
  for (const azure::StreamSchema* schema : {&assumed, &read}) {
    for (bool use_document : {false, true}) {
      SCOPED_TRACE(std::string(schema->keep_undeclared ? "assumed" : "read") +
                   (use_document ? " document" : " streaming"));
      ShapeOptions o;
      o.schema = schema;
      o.use_document = use_document;
      std::string row;
      ShapeReport report;
      ASSERT_TRUE(ShapeEvent(event, {}, o, &row, &report).ok());
      json j = json::parse(row);
      EXPECT_EQ(j["indicator_id"], "7");
      EXPECT_EQ(j["occurrence_details_event_count"], 9);
      EXPECT_EQ(j["AdditionalFields"],
                json::parse(R"({"future_field":{"a":1,"b":[2]},"future_scalar":"x",
                                "occurrence_details_brand_new":5,"version":"two"})"))
          << row;
      std::set<std::string> undeclared(report.undeclared.begin(), report.undeclared.end());
      EXPECT_EQ(undeclared, (std::set<std::string>{"future_field", "future_scalar",
                                                   "occurrence_details_brand_new"}));
      EXPECT_EQ(report.unconvertible, std::vector<std::string>{"version"});
      // A schema read from the DCR removes them from the row; an assumed one leaves them too.
      EXPECT_EQ(j.contains("future_field"), schema->keep_undeclared) << row;
      EXPECT_EQ(j.contains("version"), schema->keep_undeclared) << row;
    }
  }
}

// A row with a key twice is one Azure reads as it likes (docs/AZURE.md, "Fields that do not
// fit"): the shaper must never write one. Counts the duplicate keys of every object in `row`.
size_t DuplicateKeys(const std::string& row) {
  struct Sax : nlohmann::json_sax<json> {
    std::vector<std::set<std::string>> objects;
    size_t duplicates = 0;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      objects.emplace_back();
      return true;
    }
    bool key(string_t& k) override {
      duplicates += objects.back().insert(k).second ? 0 : 1;
      return true;
    }
    bool end_object() override {
      objects.pop_back();
      return true;
    }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  } sax;
  EXPECT_TRUE(json::sax_parse(row, &sax)) << row;
  return sax.duplicates;
}

// The three ways an event is shaped with the built-in indicatorSummary schema: assumed and
// streamed (the fast path), assumed through the document path, and read from the DCR (document).
struct Shaping {
  const char* name;
  const azure::StreamSchema* schema;
  bool use_document;
};
std::vector<Shaping> AllShapings(const azure::StreamSchema& assumed, const azure::StreamSchema& read) {
  return {{"assumed streaming", &assumed, false}, {"assumed document", &assumed, true},
          {"read", &read, false}};
}

struct Shaped {
  json row;
  ShapeReport report;
};
Shaped ShapeOrFail(std::string_view event, const Shaping& how, const std::string& event_id_field = "") {
  ShapeOptions o;
  o.schema = how.schema;
  o.use_document = how.use_document;
  o.event_id_field = event_id_field;
  std::string row;
  Shaped out;
  EXPECT_TRUE(ShapeEvent(event, spool::SourceRef{"t", 0, 9}, o, &row, &out.report).ok()) << event;
  EXPECT_EQ(DuplicateKeys(row), 0u) << row;
  out.row = json::parse(row);
  return out;
}

std::set<std::string> Names(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// Two fields that flatten to one declared column: the first in key order keeps it, the other goes
// whole into AdditionalFields under its original path, counted; whatever order they came in.
TEST(ShaperCollisionTest, DeclaredColumnAndANestedLeafKeepBothValues) {
  const azure::StreamSchema& assumed = azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_indicatorSummary_V1");
  azure::StreamSchema read = assumed;
  read.keep_undeclared = false;
  for (const Shaping& how : AllShapings(assumed, read)) {
    for (const char* event : {
             R"({"occurrence_details":{"event_count":5},"occurrence_details_event_count":6})",
             R"({"occurrence_details_event_count":6,"occurrence_details":{"event_count":5}})"}) {
      SCOPED_TRACE(std::string(how.name) + " " + event);
      Shaped s = ShapeOrFail(event, how);
      EXPECT_EQ(s.row["occurrence_details_event_count"], 5) << s.row;
      EXPECT_EQ(s.row["AdditionalFields"], json({{"/occurrence_details_event_count", 6}})) << s.row;
      EXPECT_EQ(s.report.collided, std::vector<std::string>{"occurrence_details_event_count"});
      EXPECT_TRUE(s.report.undeclared.empty());
    }
    // A long Citrix name and its short column (docs/AZURE.md, "Column and table names").
    SCOPED_TRACE(how.name);
    Shaped s = ShapeOrFail(R"({"occurrence_details":{"exfiltrated_data_volume_in_bytes":1},
                               "occurrence_details_exfiltrated_data_bytes":2})",
                           how);
    EXPECT_EQ(s.row["occurrence_details_exfiltrated_data_bytes"], 1) << s.row;
    EXPECT_EQ(s.row["AdditionalFields"], json({{"/occurrence_details_exfiltrated_data_bytes", 2}})) << s.row;
    EXPECT_EQ(s.report.collided, std::vector<std::string>{"occurrence_details_exfiltrated_data_bytes"});
  }
}

// Two undeclared fields with one flattened name: both reach AdditionalFields, the name is counted
// once (it was counted twice while one value was lost).
TEST(ShaperCollisionTest, TwoUndeclaredFieldsBothLandInAdditionalFields) {
  const azure::StreamSchema& assumed = azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_indicatorSummary_V1");
  azure::StreamSchema read = assumed;
  read.keep_undeclared = false;
  for (const Shaping& how : AllShapings(assumed, read)) {
    SCOPED_TRACE(how.name);
    Shaped s = ShapeOrFail(R"({"occurrence_details":{"zz":{"a":1}},"occurrence_details_zz":{"b":2},
                               "occurrence_details_yy_q":3,"occurrence_details_yy":{"q":4}})",
                           how);
    EXPECT_EQ(s.row["AdditionalFields"], json::parse(R"({"occurrence_details_zz":{"a":1},
                                                         "/occurrence_details_zz":{"b":2},
                                                         "occurrence_details_yy":{"q":4},
                                                         "occurrence_details_yy_q":3})"))
        << s.row;
    EXPECT_EQ(s.row.contains("occurrence_details_zz"), how.schema->keep_undeclared) << s.row;
    if (how.schema->keep_undeclared) {
      EXPECT_EQ(s.row["occurrence_details_zz"], json({{"a", 1}}));
    }
    EXPECT_EQ(s.report.undeclared.size(), 3u) << json(s.report.undeclared).dump();
    EXPECT_EQ(Names(s.report.undeclared),
              (std::set<std::string>{"occurrence_details_zz", "occurrence_details_yy", "occurrence_details_yy_q"}));
    EXPECT_TRUE(s.report.collided.empty()) << json(s.report.collided).dump();
  }
}

// The event's own AdditionalFields beside the fields the gateway puts there: nothing overwritten.
TEST(ShaperCollisionTest, TheEventsOwnAdditionalFieldsKeepTheirValues) {
  const azure::StreamSchema& assumed = azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_indicatorSummary_V1");
  azure::StreamSchema read = assumed;
  read.keep_undeclared = false;
  for (const Shaping& how : AllShapings(assumed, read)) {
    SCOPED_TRACE(how.name);
    Shaped s = ShapeOrFail(R"({"AdditionalFields":{"future_field":1,"mine":2},"future_field":3})", how);
    EXPECT_EQ(s.row["AdditionalFields"],
              json::parse(R"({"future_field":3,"mine":2,"/AdditionalFields/future_field":1})"))
        << s.row;
    EXPECT_EQ(s.report.undeclared, std::vector<std::string>{"future_field"});
    EXPECT_EQ(s.report.collided, std::vector<std::string>{"AdditionalFields"});

    s = ShapeOrFail(R"({"AdditionalFields":"a note","future_field":3})", how);
    EXPECT_EQ(s.row["AdditionalFields"], json::parse(R"({"future_field":3,"AdditionalFields":"a note"})")) << s.row;
    EXPECT_TRUE(s.report.collided.empty());
  }
}

// The gateway's event id keeps its column (analysts deduplicate by it); the event's own value of
// that field is kept in AdditionalFields.
TEST(ShaperCollisionTest, TheEventsOwnEventIdFieldIsKept) {
  const azure::StreamSchema& assumed = azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_indicatorSummary_V1");
  azure::StreamSchema read = assumed;
  read.keep_undeclared = false;
  for (const Shaping& how : AllShapings(assumed, read)) {
    SCOPED_TRACE(how.name);
    Shaped s = ShapeOrFail(R"({"sg_event_id":"theirs","tenant_id":"x"})", how, "sg_event_id");
    EXPECT_EQ(s.row["sg_event_id"], "t/0/9") << s.row;
    EXPECT_EQ(s.row["AdditionalFields"], json({{"/sg_event_id", "theirs"}})) << s.row;
    EXPECT_EQ(s.report.collided, std::vector<std::string>{"sg_event_id"});
  }
}

// Without a catch-all (no schema, or a DCR without AdditionalFields) the later value cannot land:
// it is counted, once per event and name, and the row still has each key once.
TEST(ShaperCollisionTest, WithoutACatchAllTheLaterValueIsCounted) {
  azure::StreamSchema no_catch_all = azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_indicatorSummary_V1");
  no_catch_all.columns.erase("AdditionalFields");
  no_catch_all.keep_undeclared = false;
  for (const Shaping& how : {Shaping{"no schema streaming", nullptr, false}, Shaping{"no schema document", nullptr, true},
                             Shaping{"read without catch-all", &no_catch_all, false}}) {
    SCOPED_TRACE(how.name);
    Shaped s = ShapeOrFail(R"({"occurrence_details":{"event_count":5,"zz":{"a":1}},"occurrence_details_event_count":6,
                               "occurrence_details_zz":{"b":2},"occurrence_details_zz_a":7})",
                           how);
    EXPECT_EQ(s.row["occurrence_details_event_count"], 5) << s.row;
    EXPECT_FALSE(s.row.contains("AdditionalFields")) << s.row;
    if (how.schema == nullptr) {
      // No schema: everything is flattened, nothing is undeclared.
      EXPECT_EQ(s.row["occurrence_details_zz_a"], 1) << s.row;
      EXPECT_EQ(s.row["occurrence_details_zz_b"], 2) << s.row;
      EXPECT_EQ(Names(s.report.collided),
                (std::set<std::string>{"occurrence_details_event_count", "occurrence_details_zz_a"}));
      EXPECT_EQ(s.report.collided.size(), 2u);
    } else {
      // Without a catch-all nothing is kept whole: zz is flattened, its a and the top-level zz_a
      // are one undeclared name, counted once.
      EXPECT_EQ(s.report.undeclared.size(), 2u) << json(s.report.undeclared).dump();
      EXPECT_EQ(Names(s.report.undeclared), (std::set<std::string>{"occurrence_details_zz_a", "occurrence_details_zz_b"}));
      EXPECT_EQ(s.report.collided, std::vector<std::string>{"occurrence_details_event_count"});
    }
  }
}

// docs/AZURE.md, "TimeGenerated": Azure replaces one older than 2 days or more than 1 day ahead.
TEST(ShaperTest, EventsOutsideAzuresTimeWindowAreReportedOnBothPaths) {
  using namespace std::chrono;
  const int64_t now = duration_cast<seconds>(sys_days{year{2026} / 12 / 1}.time_since_epoch()).count();
  const std::pair<const char*, bool> cases[] = {
      {"2026-11-29T00:00:01Z", false}, {"2026-11-28T23:59:59Z", true},
      {"2026-12-01T23:59:59.5Z", false}, {"2026-12-02T00:00:01Z", true},
      {"2021-06-08T06:59:59Z", true}, {"not a time", false}};
  for (const auto& [ts, replaced] : cases) {
    for (bool use_document : {false, true}) {
      ShapeOptions o;
      o.now_s = now;
      o.use_document = use_document;
      o.schema = &azure::BuiltinStreamSchemas().at("Custom-CitrixAnalytics_riskScoreChange_V1");
      std::string row;
      ShapeReport report;
      const std::string event = std::string(R"({"event_type":"riskScoreChange","timestamp":")") + ts + "\"}";
      ASSERT_TRUE(ShapeEvent(event, {}, o, &row, &report).ok());
      EXPECT_EQ(report.time_replaced, replaced) << ts << (use_document ? " document" : " streaming");
      EXPECT_EQ(json::parse(row)["timestamp"], ts) << "the true time keeps its own column";
    }
  }
}

TEST(ShaperTest, StableEventIdFromSource) {
  ShapeOptions o;
  o.event_id_field = "sg_event_id";
  std::string row;
  ASSERT_TRUE(ShapeEvent(R"({"a":1})", spool::SourceRef{"citrix", 3, 12345}, o, &row, nullptr).ok());
  EXPECT_EQ(json::parse(row)["sg_event_id"], "citrix/3/12345");
}

TEST(ShaperTest, RejectsNonObjects) {
  std::string row;
  EXPECT_FALSE(ShapeEvent("[1,2]", {}, ShapeOptions{}, &row, nullptr).ok());
  EXPECT_FALSE(ShapeEvent("{not json", {}, ShapeOptions{}, &row, nullptr).ok());
}

TEST(BatchBuilderTest, FillsExactlyToTheLogsIngestionLimit) {
  const size_t limit = azure::kLogsIngestionMaxBody;
  // Rows of 1,000 bytes: n rows make 2 + 1000n + (n-1) bytes.
  BatchBuilder b(limit, 1'000'000);
  size_t n = 0;
  while (b.CanAdd(1000)) {
    b.Add(1000);
    ++n;
  }
  EXPECT_EQ(n, (limit - 1) / 1001);
  EXPECT_LE(b.body_bytes(), limit);
  EXPECT_GT(b.body_bytes() + 1001, limit);
  std::vector<std::string> rows(n, std::string(1000, 'x'));
  EXPECT_EQ(JoinRows(rows, 0, n).size(), b.body_bytes());
}

TEST(CompressionRatioTest, UnmeasuredBudgetIsTheCapItself) {
  CompressionRatio r;
  EXPECT_FALSE(r.measured());
  EXPECT_EQ(r.Budget(1'048'576, 50u << 20), 1'048'576u);
  EXPECT_EQ(r.Budget(1'048'576, 1000), 1000u);  // the JSON cap still applies
}

TEST(CompressionRatioTest, BudgetAimsBelowTheCapAtTheRunningRatio) {
  CompressionRatio r;
  r.Observe(1'000'000, 100'000);  // 0.1
  EXPECT_DOUBLE_EQ(r.ratio(), 0.1);
  const size_t b = r.Budget(1'048'576, 50u << 20);
  EXPECT_EQ(b, static_cast<size_t>(CompressionRatio::kFill * 1'048'576 / 0.1));
  // A worse ratio shrinks the budget, weighted: one body does not swing it all the way.
  r.Observe(1'000'000, 500'000);
  EXPECT_GT(r.ratio(), 0.1);
  EXPECT_LT(r.ratio(), 0.5);
  EXPECT_LT(r.Budget(1'048'576, 50u << 20), b);
}

TEST(CompressionRatioTest, BudgetStaysBetweenTheCapAndTheJsonCap) {
  CompressionRatio r;
  r.Observe(100'000'000, 1'000);  // compresses extremely well
  EXPECT_EQ(r.Budget(1'048'576, 50u << 20), 50u << 20);
  CompressionRatio worse;
  worse.Observe(1000, 1100);  // gzip made it larger: never below the cap itself
  EXPECT_EQ(worse.Budget(1'048'576, 50u << 20), 1'048'576u);
  worse.Observe(0, 10);  // nothing measured: ignored
  EXPECT_DOUBLE_EQ(worse.ratio(), 1.0);
}

TEST(BatchBuilderTest, ExactBoundaryByteCounts) {
  // One row whose body is exactly the limit fits; one byte more does not.
  BatchBuilder b(100, 10);
  EXPECT_TRUE(b.FitsAlone(98));
  EXPECT_FALSE(b.FitsAlone(99));
  EXPECT_TRUE(b.CanAdd(98));
  b.Add(48);  // body "[...48...]" = 50
  EXPECT_EQ(b.body_bytes(), 50u);
  EXPECT_TRUE(b.CanAdd(49));   // 50 + 1 + 49 = 100
  EXPECT_FALSE(b.CanAdd(50));  // 101
  b.Add(49);
  EXPECT_EQ(b.body_bytes(), 100u);
}

TEST(BatchBuilderTest, EventCountLimit) {
  BatchBuilder b(1 << 20, 3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.CanAdd(1));
    b.Add(1);
  }
  EXPECT_FALSE(b.CanAdd(1));
  std::vector<std::string> rows = {"{}", "{\"a\":1}", "{}"};
  EXPECT_EQ(JoinRows(rows, 0, 3), "[{},{\"a\":1},{}]");
  EXPECT_EQ(JoinRows(rows, 1, 2), "[{\"a\":1}]");
}

TEST(BisectTest, IsolatesEveryBadEventAndAcceptsTheRest) {
  const size_t n = 1000;
  std::set<size_t> bad = {0, 417, 418, 999};
  std::vector<int> accepted(n, 0);
  std::vector<size_t> rejected;
  size_t posts = 0;
  auto post = [&](size_t b, size_t e) {
    ++posts;
    for (size_t i = b; i < e; ++i) {
      if (bad.count(i)) return RangeResult::kRefused;  // the service refuses the whole request
    }
    for (size_t i = b; i < e; ++i) ++accepted[i];
    return RangeResult::kAccepted;
  };
  auto reject = [&](size_t i) {
    rejected.push_back(i);
    return true;
  };
  ASSERT_TRUE(Bisect(0, n, post, reject));
  EXPECT_EQ(rejected, (std::vector<size_t>{0, 417, 418, 999}));  // in order
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(accepted[i], bad.count(i) ? 0 : 1) << i;
  // Each bad event costs at most ~2 log2(n) requests.
  EXPECT_LE(posts, 1 + bad.size() * 2 * 10);
}

TEST(BisectTest, BothHalvesRefusedAlikeIsARequestLevelErrorNotBadData) {
  // Every request refused the same way (say an unknown stream answered with a code the gateway
  // does not know): after the first split the whole range is handed back to post() once the
  // halves agree, instead of moving every event to the failed area one request at a time.
  const size_t n = 2000;
  size_t posts = 0;
  bool request_level = false;  // what the caller learnt from alike()
  size_t rejected = 0;
  auto post = [&](size_t, size_t) {
    ++posts;
    // Once the caller knows, its post() holds the range until the cause is fixed (here: at once).
    return request_level ? RangeResult::kAccepted : RangeResult::kRefused;
  };
  auto alike = [&] {
    request_level = true;
    return true;
  };
  ASSERT_TRUE(Bisect(0, n, post, [&](size_t) { return ++rejected, true; }, alike));
  EXPECT_EQ(rejected, 0u);
  EXPECT_EQ(posts, 4u);  // the whole, its two halves, the whole again

  // Halves refused differently (row-level refusals): bisection goes on and isolates the events.
  std::set<size_t> bad = {3, 1500};
  std::vector<size_t> isolated;
  auto post2 = [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      if (bad.count(i)) return RangeResult::kRefused;
    }
    return RangeResult::kAccepted;
  };
  ASSERT_TRUE(Bisect(0, n, post2, [&](size_t i) { return isolated.push_back(i), true; },
                     [] { return false; }));
  EXPECT_EQ(isolated, (std::vector<size_t>{3, 1500}));
}

TEST(BisectTest, StopsWhenAsked) {
  size_t posts = 0;
  auto post = [&](size_t, size_t) {
    ++posts;
    return posts < 3 ? RangeResult::kRefused : RangeResult::kStop;
  };
  EXPECT_FALSE(Bisect(0, 8, post, [](size_t) { return true; }));
  EXPECT_EQ(posts, 3u);
}

}  // namespace
}  // namespace sg::deliver

namespace sg::deliver {
namespace {

// The streaming shaper (used without a schema) must give the same row as the document path.
TEST(ShaperTest, StreamingMatchesDocumentPath) {
  const char* samples[] = {
      kIndicatorSummary,
      R"({"a":{"b":{"c":[{"d":{"e":1}},[2,3],"x"]}},"f":-1.5e3,"g":null,"h":"q\"\\\n\u0001é"})",
      R"({"timestamp":"2021-11-05T10:07:33.652Z","TimeGenerated":"keep","n":18446744073709551615})",
      R"({"empty":{},"arr":[],"obj_in_arr":[{}],"big":-9223372036854775808})",
      R"({})",
      // fuzz_shaper: the document path flattened an empty key's members without the "_" (a
      // name of "" was taken for the top level).
      R"({"":{"name":"Insider Threat - Files","id":"6"},"a":1})",
  };
  for (const char* s : samples) {
    for (bool with_id : {false, true}) {
      ShapeOptions stream, doc;
      doc.use_document = true;
      if (with_id) stream.event_id_field = doc.event_id_field = "sg_event_id";
      spool::SourceRef src{"t", 1, 2};
      std::string a, b;
      ASSERT_TRUE(ShapeEvent(s, src, stream, &a, nullptr).ok()) << s;
      ASSERT_TRUE(ShapeEvent(s, src, doc, &b, nullptr).ok()) << s;
      EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(b)) << s << "\n" << a << "\n" << b;
    }
  }
  std::string row;
  for (const char* bad : {"[1]", "1", "\"s\"", "{\"a\":1} x", "{\"a\":", ""}) {
    EXPECT_FALSE(ShapeEvent(bad, {}, ShapeOptions{}, &row, nullptr).ok()) << bad;
  }
}

}  // namespace
}  // namespace sg::deliver

namespace sg::deliver {
namespace {

nlohmann::json RandomValue(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> kind(0, depth > 3 ? 3 : 5);
  switch (kind(rng)) {
    case 0: return nullptr;
    case 1: return static_cast<int64_t>(rng() >> 20);
    case 2: return std::uniform_real_distribution<double>(-1e3, 1e3)(rng);
    case 3: return std::string(std::uniform_int_distribution<int>(0, 5)(rng), "a\"\\\n\xc3\xa9"[rng() % 5 == 4 ? 0 : rng() % 4]);
    case 4: {
      nlohmann::json a = nlohmann::json::array();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
        o["f" + std::to_string(rng() % 1000)] = RandomValue(rng, depth + 1);
      }
      return o;
    }
  }
}

// An assumed schema (keep_undeclared) declaring some of the random fields with every column type.
azure::StreamSchema RandomAssumedSchema(std::mt19937_64& rng) {
  const azure::ColumnType types[] = {azure::ColumnType::kString,  azure::ColumnType::kInt,
                                     azure::ColumnType::kLong,    azure::ColumnType::kReal,
                                     azure::ColumnType::kBoolean, azure::ColumnType::kDateTime,
                                     azure::ColumnType::kDynamic, azure::ColumnType::kGuid};
  azure::StreamSchema schema;
  schema.keep_undeclared = true;
  for (int k = 0; k < 6; ++k) {
    if (rng() % 3 != 0) schema.columns["k" + std::to_string(k)] = types[rng() % 8];
  }
  if (rng() % 2) schema.columns["TimeGenerated"] = azure::ColumnType::kDateTime;
  return schema;
}

TEST(ShaperTest, StreamingMatchesDocumentPathOnRandomEvents) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    nlohmann::json ev = nlohmann::json::object();
    for (int k = 0, n = static_cast<int>(rng() % 6); k < n; ++k) {
      // Scalars of every kind, numeric and boolean strings too, so that conversions happen.
      const nlohmann::json scalars[] = {"12", "-3.5", "true", "2021-11-05T10:07:33Z", 5000000000, 1.0, false};
      ev["k" + std::to_string(k)] = rng() % 3 == 0 ? scalars[rng() % 7] : RandomValue(rng, 0);
    }
    // Sometimes a top-level field that flattens like a nested one ("k0_f12" beside {"k0":{"f12":..}}).
    if (ev.contains("k0") && ev["k0"].is_object() && !ev["k0"].empty() && rng() % 2) {
      ev["k0_" + ev["k0"].begin().key()] = RandomValue(rng, 2);
    }
    if (rng() % 2) ev["timestamp"] = rng() % 4 ? "2021-11-05T10:07:33.652Z" : "yesterday";
    std::string payload = ev.dump();
    azure::StreamSchema schema = RandomAssumedSchema(rng);
    for (bool with_schema : {false, true}) {
      ShapeOptions stream, doc;
      doc.use_document = true;
      if (with_schema) stream.schema = doc.schema = &schema;
      std::string a, b;
      ShapeReport ra, rb;
      ASSERT_TRUE(ShapeEvent(payload, {}, stream, &a, &ra).ok()) << payload;
      ASSERT_TRUE(ShapeEvent(payload, {}, doc, &b, &rb).ok()) << payload;
      // Two keys that flatten to one ({"a_b":1,"a":{"b":2}}) are settled alike on both paths.
      EXPECT_EQ(DuplicateKeys(a), 0u) << payload;
      nlohmann::json ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
      ASSERT_EQ(ja, jb) << payload;
      EXPECT_EQ(std::set<std::string>(ra.unconvertible.begin(), ra.unconvertible.end()),
                std::set<std::string>(rb.unconvertible.begin(), rb.unconvertible.end()))
          << payload;
      EXPECT_EQ(ra.collided, rb.collided) << payload;
      EXPECT_TRUE(ra.undeclared.empty()) << "an assumed schema removes nothing";
    }
  }
}

// The built-in schema takes the streaming path, and gives the document path's row.
TEST(ShaperTest, BuiltinSchemaStreamsTheSameRowAsTheDocumentPath) {
  const auto& builtin = azure::BuiltinStreamSchemas();
  const azure::StreamSchema& schema = builtin.at("Custom-CitrixAnalytics_indicatorSummary_V1");
  for (const char* s : {kIndicatorSummary,
                        R"({"indicator_id":"x\"y","na\u006de":1,"timestamp":"2021-11-05T10:07:33Z"})",
                        R"({"version":"two","new":{"a":[1,{"b":2}]},"endpoint_information":{"x":1},"t":[1]})",
                        R"({"AdditionalFields":{"mine":1},"new":2,"timestamp":"not a time"})",
                        R"({"indicator_vector":{"id":[1,2]},"timestamp":"2021\u002d11-05T10:07:33Z"})"}) {
    ShapeOptions stream, doc;
    stream.schema = doc.schema = &schema;
    doc.use_document = true;
    stream.event_id_field = doc.event_id_field = "sg_event_id";
    std::string a, b;
    ShapeReport ra, rb;
    ASSERT_TRUE(ShapeEvent(s, spool::SourceRef{"t", 0, 9}, stream, &a, &ra).ok()) << s;
    ASSERT_TRUE(ShapeEvent(s, spool::SourceRef{"t", 0, 9}, doc, &b, &rb).ok()) << s;
    EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(b)) << s << "\n" << a << "\n" << b;
    EXPECT_EQ(ra.unconvertible.size(), rb.unconvertible.size()) << s;
  }
}

// The drainer's column index only speeds lookups up: the same rows and reports, byte for byte,
// for every built-in stream, on events with nested, undeclared, unconvertible and colliding fields.
TEST(ShaperTest, ColumnIndexGivesTheSameRowsAndReports) {
  for (const auto& [name, schema] : azure::BuiltinStreamSchemas()) {
    const azure::ColumnIndex index(schema);
    for (const char* s : {kIndicatorSummary,
                          R"({"version":"two","new":{"a":[1,{"b":2}]},"endpoint_information":{"x":1},"t":[1]})",
                          R"({"occurrence_details":{"event_count":"9","x":{"y":1}},"occurrence_details_x_y":2})",
                          R"({"indicator_vector":{"id":[1,2],"name":"n"},"timestamp":"2021-11-05T10:07:33Z"})",
                          R"({"AdditionalFields":{"mine":1},"new":2,"timestamp":"not a time"})"}) {
      ShapeOptions plain;
      plain.schema = &schema;
      plain.event_id_field = "sg_event_id";
      ShapeOptions indexed = plain;
      indexed.index = &index;
      std::string a, b;
      ShapeReport ra, rb;
      ASSERT_TRUE(ShapeEvent(s, spool::SourceRef{"t", 0, 9}, plain, &a, &ra).ok()) << name << " " << s;
      ASSERT_TRUE(ShapeEvent(s, spool::SourceRef{"t", 0, 9}, indexed, &b, &rb).ok()) << name << " " << s;
      EXPECT_EQ(a, b) << name << " " << s;
      EXPECT_EQ(ra.undeclared, rb.undeclared) << name << " " << s;
      EXPECT_EQ(ra.unconvertible, rb.unconvertible) << name << " " << s;
      EXPECT_EQ(ra.collided, rb.collided) << name << " " << s;
    }
  }
}

// An index of another schema is ignored rather than trusted.
TEST(ShaperTest, AnIndexOfAnotherSchemaIsIgnored) {
  azure::StreamSchema typed, other;
  typed.keep_undeclared = other.keep_undeclared = true;
  typed.columns = {{"n", azure::ColumnType::kString}};
  other.columns = {{"n", azure::ColumnType::kInt}};
  const azure::ColumnIndex wrong(other);
  ShapeOptions o;
  o.schema = &typed;
  o.index = &wrong;
  o.set_time_generated = false;
  std::string row;
  ASSERT_TRUE(ShapeEvent(R"({"n":7})", spool::SourceRef{}, o, &row, nullptr).ok());
  EXPECT_EQ(row, R"({"n":"7"})");  // converted to the schema's string, not left an int
}

}  // namespace
}  // namespace sg::deliver
