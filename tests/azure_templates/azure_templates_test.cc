// The Azure side of the Logs Ingestion API (config/azure/) against the gateway that feeds it.
//
//  - The ARM template is well formed: every stream it declares has one data flow into a table
//    that the template creates, and that table has every column of the stream, with the same type.
//  - The standalone stream file (for [routes.schemas]) says exactly what the template's DCR says,
//    and the gateway's own loader reads both the same way.
//  - Every gateway route (the default tables and the catch-all) has its stream.
//  - The gateway's shaper, applied to the Citrix sample events (testdata/, copies of
//    Azure-Sentinel's Citrix sample events; set SG_CITRIX_EVENTS_DIR to check another folder too), produces only
//    fields that the stream of the event's route declares, with values of the declared type: Azure
//    drops undeclared columns without a word, so this is the proof that no Citrix field is lost.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/deliver/long_field_columns.h"
#include "sentinel_gateway/deliver/shaper.h"

namespace sg {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kTemplatePath = std::string(SG_AZURE_CONFIG_DIR) + "/citrix-analytics-template.json";
const std::string kStreamsPath = std::string(SG_AZURE_CONFIG_DIR) + "/citrix-analytics-streams.json";
const std::string kCatchAll = "CitrixAnalytics_other_V1_CL";  // config default routes.catch_all (dcr)
const std::string kEventIdField = "sg_event_id";

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << path << " is not valid JSON";
  return doc;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "Custom-CitrixAnalytics_x_V1" -> "CitrixAnalytics_x_V1_CL".
std::string TableOfStream(const std::string& stream) {
  const std::string prefix = "Custom-";
  if (stream.rfind(prefix, 0) != 0) return "";
  return stream.substr(prefix.size()) + "_CL";
}

class TemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmpl_ = ReadJson(kTemplatePath);
    ASSERT_TRUE(tmpl_.is_object());
    ASSERT_TRUE(tmpl_.contains("resources") && tmpl_["resources"].is_array());
    for (const json& r : tmpl_["resources"]) {
      ASSERT_TRUE(r.is_object() && r.contains("type") && r["type"].is_string());
      const std::string type = r["type"];
      if (type == "Microsoft.Insights/dataCollectionRules") {
        ASSERT_TRUE(dcr_.is_null()) << "more than one DCR";
        dcr_ = r;
      } else if (type == "Microsoft.OperationalInsights/workspaces/tables") {
        const json& schema = r["properties"]["schema"];
        ASSERT_TRUE(schema["name"].is_string());
        ASSERT_TRUE(schema["columns"].is_array());
        ASSERT_EQ(tables_.count(schema["name"]), 0u) << "table declared twice: " << schema["name"];
        tables_[schema["name"]] = schema["columns"];
      }
    }
    ASSERT_TRUE(dcr_.is_object()) << "the template has no data collection rule";
    streams_ = dcr_["properties"]["streamDeclarations"];
    ASSERT_TRUE(streams_.is_object());
  }

  json tmpl_;
  json dcr_;
  json streams_;
  std::map<std::string, json> tables_;  // table name -> columns array
};

TEST_F(TemplateTest, IsADeployableArmTemplate) {
  EXPECT_EQ(tmpl_.value("$schema", ""),
            "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#");
  EXPECT_TRUE(tmpl_.contains("contentVersion"));
  std::set<std::string> types;
  for (const json& r : tmpl_["resources"]) {
    EXPECT_TRUE(r.contains("apiVersion") && r["apiVersion"].is_string()) << r["type"];
    EXPECT_TRUE(r.contains("name") && r["name"].is_string()) << r["type"];
    types.insert(r["type"].get<std::string>());
  }
  EXPECT_TRUE(types.count("Microsoft.Insights/dataCollectionEndpoints"));
  EXPECT_TRUE(types.count("Microsoft.Authorization/roleAssignments"));
  // Every parameter the resources use is declared.
  const std::string text = tmpl_["resources"].dump();
  for (const std::string p : {"workspaceName", "location", "dceName", "dcrName", "principalId",
                              "principalType", "dcrErrorLogs"}) {
    EXPECT_TRUE(tmpl_["parameters"].contains(p)) << p;
    EXPECT_NE(text.find("parameters('" + p + "')"), std::string::npos) << p << " unused";
  }
  // What the README tells the user to read after the deployment.
  EXPECT_TRUE(tmpl_["outputs"].contains("endpoint"));
  EXPECT_TRUE(tmpl_["outputs"].contains("dcrImmutableId"));
}

TEST_F(TemplateTest, DiagnosticSettingCollectsOnlyTheDcrLogErrors) {
  // Learn "Supported logs for Microsoft.Insights/datacollectionrules": category LogErrors ("Log
  // Errors", table DCRLogErrors) is what shows the values and columns Azure drops (docs/AZURE.md).
  bool found = false;
  for (const json& r : tmpl_["resources"]) {
    if (r["type"] != "Microsoft.Insights/diagnosticSettings") continue;
    found = true;
    EXPECT_EQ(r["properties"]["logs"], json::parse(R"([{"category":"LogErrors","enabled":true}])"))
        << r["properties"].dump();
  }
  EXPECT_TRUE(found);
}

TEST_F(TemplateTest, RoleAssignmentGrantsMonitoringMetricsPublisherOnTheDcr) {
  bool found = false;
  for (const json& r : tmpl_["resources"]) {
    if (r["type"] != "Microsoft.Authorization/roleAssignments") continue;
    found = true;
    EXPECT_NE(r["properties"]["roleDefinitionId"].get<std::string>().find(
                  "roleDefinitions"), std::string::npos);
    EXPECT_EQ(tmpl_["variables"]["monitoringMetricsPublisherRoleId"],
              "3913510d-42f4-4e42-8a64-420c390055eb");  // built-in "Monitoring Metrics Publisher"
    EXPECT_NE(r.value("scope", "").find("Microsoft.Insights/dataCollectionRules/"), std::string::npos);
    EXPECT_EQ(r["properties"]["principalId"], "[parameters('principalId')]");
  }
  EXPECT_TRUE(found);
}

TEST_F(TemplateTest, EveryStreamFlowsIntoATableThatHoldsAllItsColumns) {
  ASSERT_FALSE(streams_.empty());
  const json& flows = dcr_["properties"]["dataFlows"];
  ASSERT_TRUE(flows.is_array());
  std::set<std::string> destinations;
  for (const json& d : dcr_["properties"]["destinations"]["logAnalytics"]) {
    destinations.insert(d["name"].get<std::string>());
  }
  ASSERT_FALSE(destinations.empty());
  const std::string deps = dcr_["dependsOn"].dump();

  std::set<std::string> tables_fed;
  for (const auto& [stream, decl] : streams_.items()) {
    SCOPED_TRACE(stream);
    const std::string table = TableOfStream(stream);
    ASSERT_FALSE(table.empty()) << "custom streams start with Custom-";

    int flows_of_stream = 0;
    for (const json& f : flows) {
      const auto& in = f["streams"];
      if (std::find(in.begin(), in.end(), json(stream)) == in.end()) continue;
      ++flows_of_stream;
      EXPECT_EQ(in.size(), 1u);
      EXPECT_EQ(f["outputStream"], "Custom-" + table);
      for (const json& d : f["destinations"]) EXPECT_TRUE(destinations.count(d.get<std::string>()));
      const std::string kql = f.value("transformKql", "");
      EXPECT_EQ(kql.rfind("source", 0), 0u) << kql;
      EXPECT_NE(kql.find("TimeGenerated"), std::string::npos) << kql;
      EXPECT_NE(kql.find("todatetime(timestamp)"), std::string::npos) << kql;
      EXPECT_EQ(kql.find("coalesce"), std::string::npos) << "coalesce is not allowed in transforms";
      EXPECT_EQ(kql.find("where"), std::string::npos)
          << "the gateway routes by event type; a filter here would drop re-routed events unseen";
    }
    EXPECT_EQ(flows_of_stream, 1);

    auto t = tables_.find(table);
    ASSERT_NE(t, tables_.end()) << "no table resource " << table;
    tables_fed.insert(table);
    EXPECT_NE(deps.find("'" + table + "'"), std::string::npos) << "the DCR must depend on " << table;

    std::map<std::string, std::string> table_cols;
    for (const json& c : t->second) table_cols[c["name"]] = c["type"];
    EXPECT_EQ(table_cols["TimeGenerated"], "datetime");
    for (const json& c : decl["columns"]) {
      const std::string name = c["name"];
      auto tc = table_cols.find(name);
      ASSERT_NE(tc, table_cols.end()) << table << " lacks stream column " << name;
      EXPECT_EQ(tc->second, c["type"].get<std::string>()) << table << "." << name;
    }
    // Tables created here hold nothing the gateway cannot fill.
    EXPECT_EQ(table_cols.size(), decl["columns"].size()) << table;
  }
  EXPECT_EQ(tables_fed.size(), tables_.size()) << "a table without a stream";
}

TEST_F(TemplateTest, ColumnNamesAndTypesAreValid) {
  // Azure custom tables (docs/AZURE.md, "Column and table names"): a letter first, then letters,
  // digits and '_', at most 45 characters; names unique ignoring case; standard columns reserved
  // (id, _ResourceId, _SubscriptionId, TenantId, Type, UniqueId, Title, and the other standard
  // columns). A table that breaks one fails to deploy, and the DCR with it. The stream types are
  // the DCR's.
  const std::set<std::string> reserved = {"tenantid", "type", "sourcesystem", "_resourceid",
                                          "_subscriptionid", "_itemid", "_isbillable", "_billedsize",
                                          "_timereceived", "mg", "managementgroupname", "id",
                                          "uniqueid", "title"};
  const std::set<std::string> types = {"string", "int", "long", "real", "boolean", "datetime",
                                       "dynamic", "guid"};
  auto check = [&](const std::string& where, const json& columns) {
    std::set<std::string> seen;
    for (const json& c : columns) {
      const std::string name = c["name"];
      const std::string type = c["type"];
      EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(name[0]))) << where << "." << name;
      for (char ch : name) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << where << "." << name;
      }
      EXPECT_LE(name.size(), 45u) << where << "." << name << ": longer than Azure's 45 characters";
      EXPECT_TRUE(seen.insert(Lower(name)).second) << where << ": duplicate " << name;
      EXPECT_FALSE(reserved.count(Lower(name))) << where << ": reserved " << name;
      EXPECT_TRUE(types.count(type)) << where << "." << name << ": " << type;
      azure::ColumnType parsed;
      EXPECT_TRUE(azure::ParseColumnType(type, &parsed)) << where << "." << name;
    }
    EXPECT_LE(columns.size(), 500u) << where;
  };
  for (const auto& [stream, decl] : streams_.items()) check(stream, decl["columns"]);
  for (const auto& [table, columns] : tables_) {
    check(table, columns);
    // Custom table names: 4 to 63 characters of [A-Za-z0-9_-], ending in _CL.
    EXPECT_GE(table.size(), 4u) << table;
    EXPECT_LE(table.size(), 63u) << table;
    EXPECT_EQ(table.compare(table.size() - 3, 3, "_CL"), 0) << table;
    for (char ch : table) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-') << table;
    }
  }
  // Transforms: every column a transform creates or renames obeys the same rules.
  size_t created = 0;
  for (const json& f : dcr_["properties"]["dataFlows"]) {
    const std::string kql = f.value("transformKql", "");
    for (const std::string op : {"extend ", "project-rename ", "project "}) {
      for (size_t at = kql.find(op); at != std::string::npos; at = kql.find(op, at + 1)) {
        // "extend A = ..., B = ...": each name before a single '='.
        size_t pos = at + op.size();
        const size_t end = kql.find('|', pos);
        const std::string clause = kql.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        int depth = 0;
        size_t start = 0;
        for (size_t i = 0; i <= clause.size(); ++i) {
          const char ch = i < clause.size() ? clause[i] : ',';
          if (ch == '(') ++depth;
          if (ch == ')') --depth;
          if (ch != ',' || depth != 0) continue;
          std::string item = clause.substr(start, i - start);
          start = i + 1;
          const size_t eq = item.find('=');
          if (eq == std::string::npos || (eq + 1 < item.size() && item[eq + 1] == '=')) continue;
          std::string name = item.substr(0, eq);
          name.erase(0, name.find_first_not_of(' '));
          name.erase(name.find_last_not_of(' ') + 1);
          ++created;
          check("transform of " + f["outputStream"].get<std::string>(),
                json::array({{{"name", name}, {"type", "string"}}}));
        }
      }
    }
  }
  EXPECT_GT(created, 0u);
}

TEST_F(TemplateTest, StandaloneStreamFileEqualsTheTemplate) {
  json standalone = ReadJson(kStreamsPath);
  ASSERT_TRUE(standalone.contains("streamDeclarations"));
  EXPECT_EQ(standalone["streamDeclarations"], streams_)
      << "config/azure/citrix-analytics-streams.json and the template's streamDeclarations differ";

  // And the gateway (and the emulator) read both files to the same schemas.
  std::map<std::string, azure::StreamSchema> from_template, from_file;
  Status s = azure::LoadStreamSchemas(kTemplatePath, &from_template);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = azure::LoadStreamSchemas(kStreamsPath, &from_file);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(from_template.size(), streams_.size());
  ASSERT_EQ(from_file.size(), from_template.size());
  for (const auto& [stream, schema] : from_template) {
    auto it = from_file.find(stream);
    ASSERT_NE(it, from_file.end()) << stream;
    EXPECT_TRUE(it->second.columns == schema.columns) << stream;
    EXPECT_EQ(schema.columns.size(), streams_[stream]["columns"].size()) << stream;
  }
  // The copy compiled into the gateway (routes.builtin_schemas) is this file, as of this build.
  const auto& builtin = azure::BuiltinStreamSchemas();
  ASSERT_EQ(builtin.size(), from_file.size());
  for (const auto& [stream, schema] : from_file) {
    auto it = builtin.find(stream);
    ASSERT_NE(it, builtin.end()) << stream;
    EXPECT_TRUE(it->second.columns == schema.columns) << stream;
    EXPECT_TRUE(it->second.keep_undeclared) << stream << ": an assumed schema must not remove fields";
  }
}

TEST_F(TemplateTest, EveryGatewayRouteHasItsStream) {
  std::vector<std::string> tables = citrix::Tables(citrix::Layout::kDcr);
  tables.push_back(kCatchAll);
  for (const std::string& table : tables) {
    const std::string stream = citrix::TargetFor(citrix::Layout::kDcr, table);
    EXPECT_TRUE(streams_.contains(stream)) << table << " -> " << stream;
    EXPECT_TRUE(tables_.count(table)) << table;
  }
  // The routes the brief names, event type by event type.
  const std::map<std::string, std::string> routes = {
      {"userProfileRiskscore", "CitrixAnalytics_userProfile_V1_CL"},
      {"userProfileUsage", "CitrixAnalytics_userProfile_V1_CL"},
      {"riskScoreChange", "CitrixAnalytics_riskScoreChange_V1_CL"},
      {"indicatorSummary", "CitrixAnalytics_indicatorSummary_V1_CL"},
      {"indicatorEventDetails", "CitrixAnalytics_indicatorEventDetails_V1_CL"},
      {"datasourceSPAEventDetails", "CitrixAnalytics_SPA_Events_V1_CL"},
      {"datasourceDPSEventDetails", "CitrixAnalytics_SPA_Events_V1_CL"},
      {"datasourceCVADEventDetails", "CitrixAnalytics_CVAD_Events_V1_CL"},
      {"datasourceCCCEventDetails", "CitrixAnalytics_CCC_Events_V1_CL"}};
  for (const auto& [type, table] : routes) {
    EXPECT_EQ(citrix::TableForEventType(citrix::Layout::kDcr, type), table) << type;
  }
}

TEST_F(TemplateTest, ClosesTheGapsOfThePublishedRule) {
  // citrix-feed.md: columns the published Citrix DCR lacks although Citrix sends them.
  auto columns_of = [&](const std::string& stream) {
    std::map<std::string, std::string> out;
    for (const json& c : streams_[stream]["columns"]) out[c["name"]] = c["type"];
    return out;
  };
  auto user = columns_of("Custom-CitrixAnalytics_userProfile_V1");
  for (const char* c : {"data_usage_bytes", "downloaded_bytes", "uploaded_bytes",
                        "downloaded_file_cnt", "uploaded_file_cnt", "shared_file_cnt",
                        "deleted_file_cnt"}) {
    EXPECT_TRUE(user.count(c)) << c;
  }
  auto summary = columns_of("Custom-CitrixAnalytics_indicatorSummary_V1");
  auto details = columns_of("Custom-CitrixAnalytics_indicatorEventDetails_V1");
  for (const char* c : {"indicator_vector_id", "indicator_vector_name"}) {
    EXPECT_TRUE(summary.count(c)) << c;
    EXPECT_TRUE(details.count(c)) << c;
  }
  for (const char* c : {"file_name", "file_size_in_bytes", "latitude", "longitude", "region",
                        "component_name", "connector_type"}) {
    EXPECT_TRUE(details.count(c)) << c;
  }
  for (const auto& [stream, decl] : streams_.items()) {
    auto cols = columns_of(stream);
    EXPECT_EQ(cols["TimeGenerated"], "datetime") << stream;
    EXPECT_EQ(cols["timestamp"], "datetime") << stream;
    EXPECT_EQ(cols[kEventIdField], "string") << stream;
  }
  // One type per column name across all streams, so `union CitrixAnalytics_*_V1_CL` works.
  std::map<std::string, std::string> type_of;
  for (const auto& [stream, decl] : streams_.items()) {
    for (const json& c : decl["columns"]) {
      [[maybe_unused]] auto [it, fresh] = type_of.emplace(c["name"], c["type"]);
      EXPECT_EQ(it->second, c["type"].get<std::string>()) << stream << "." << c["name"];
    }
  }
  // The catch-all declares every column of every other stream.
  auto other = columns_of("Custom-CitrixAnalytics_other_V1");
  EXPECT_EQ(other.size(), type_of.size());
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(TemplateTest, ReadmeConfiguresASchemaForEveryTable) {
  const std::string readme = ReadText(std::string(SG_AZURE_CONFIG_DIR) + "/README.md");
  for (const auto& [table, columns] : tables_) {
    EXPECT_NE(readme.find("\"" + table + "\" = \"azure/citrix-analytics-streams.json\""),
              std::string::npos)
        << "README's [routes.schemas] lacks " << table;
  }
  for (const char* key : {"api = \"logs_ingestion\"", "endpoint = ", "dcr_immutable_id = ",
                          "tenant_id = ", "client_id = ", "client_secret = ",
                          "api = \"data_collector\"", "workspace_id = ", "shared_key = ",
                          "event_id_field = \"sg_event_id\"", "citrix-analytics-template.json",
                          "properties.outputs.endpoint.value",
                          "properties.outputs.dcrImmutableId.value"}) {
    EXPECT_NE(readme.find(key), std::string::npos) << key;
  }
}

TEST_F(TemplateTest, QueriesUseDeclaredTablesAndColumns) {
  // Catches typos in queries.kql: every CitrixAnalytics_..._V1_CL table exists, and every
  // snake_case word is a declared column, a legacy column (suffix _s/_d/_g/_b/_t of one), a
  // join's renamed copy (column1) or a KQL function.
  const std::string text = ReadText(std::string(SG_AZURE_CONFIG_DIR) + "/queries.kql");
  std::set<std::string> columns;
  for (const auto& [stream, decl] : streams_.items()) {
    for (const json& c : decl["columns"]) columns.insert(c["name"].get<std::string>());
  }
  const std::set<std::string> functions = {"arg_max", "arg_min", "make_set", "make_list",
                                           "ingestion_time", "project_away"};
  std::set<std::string> tables_used;
  size_t words = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const size_t comment = line.find("//");
    if (comment != std::string::npos) line.resize(comment);
    for (size_t i = 0; i < line.size();) {
      if (line[i] == '"') {  // a string literal
        const size_t close = line.find('"', i + 1);
        i = close == std::string::npos ? line.size() : close + 1;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(line[i]))) { ++i; continue; }
      const bool wildcard_tail = i > 0 && (line[i - 1] == '*' || line[i - 1] == '_');  // ..._*_V1_CL
      size_t j = i;
      while (j < line.size() && (std::isalnum(static_cast<unsigned char>(line[j])) || line[j] == '_')) ++j;
      const std::string word = line.substr(i, j - i);
      i = j;
      if (wildcard_tail || word.find('_') == std::string::npos) continue;
      if (word.rfind("CitrixAnalytics_", 0) == 0) {
        if (word.size() > 6 && word.compare(word.size() - 6, 6, "_V1_CL") == 0) {
          tables_used.insert(word);
        }
        continue;
      }
      ++words;
      if (columns.count(word) || functions.count(word)) continue;
      const std::string stem = word.substr(0, word.size() - 2);
      const std::string suffix = word.substr(word.size() - 2);
      if ((suffix == "_s" || suffix == "_d" || suffix == "_g" || suffix == "_b" || suffix == "_t") &&
          columns.count(stem)) {
        continue;
      }
      if (word.back() == '1' && columns.count(word.substr(0, word.size() - 1))) continue;
      ADD_FAILURE() << "queries.kql: unknown column or function " << word;
    }
  }
  EXPECT_GT(words, 20u);
  for (const std::string& t : tables_used) EXPECT_TRUE(tables_.count(t)) << t;
  EXPECT_GE(tables_used.size(), 4u);
}

// ---- the shaper on real Citrix events ----

struct Sample {
  std::string file;
  json event;
};

std::vector<Sample> LoadSamples(const std::string& dir) {
  std::vector<Sample> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    json doc = ReadJson(p.string());
    if (doc.is_object()) doc = json::array({doc});
    for (const json& ev : doc) out.push_back({p.filename().string(), ev});
  }
  return out;
}

std::vector<std::string> SampleDirs() {
  std::vector<std::string> dirs = {SG_TESTDATA_DIR};
  if (const char* extra = std::getenv("SG_CITRIX_EVENTS_DIR"); extra != nullptr && *extra != '\0') {
    dirs.push_back(extra);
  }
  return dirs;
}

void Flatten(const std::string& prefix, const json& v, std::set<std::string>* keys) {
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) Flatten(prefix.empty() ? k : prefix + "_" + k, x, keys);
  } else {
    keys->insert(prefix);
  }
}

class ShapedSamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = azure::LoadStreamSchemas(kStreamsPath, &schemas_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  const azure::StreamSchema* SchemaFor(const std::string& event_type, std::string* stream) {
    std::string table = citrix::TableForEventType(citrix::Layout::kDcr, event_type);
    if (table.empty()) table = kCatchAll;
    *stream = citrix::TargetFor(citrix::Layout::kDcr, table);
    auto it = schemas_.find(*stream);
    return it == schemas_.end() ? nullptr : &it->second;
  }

  // Shapes `event` as the gateway does for the Logs Ingestion API and checks the row against the
  // stream of its route. Returns the number of fields checked.
  size_t CheckEvent(const std::string& where, const json& event) {
    SCOPED_TRACE(where);
    EXPECT_TRUE(event.contains("event_type") && event["event_type"].is_string());
    std::string stream;
    const azure::StreamSchema* schema = SchemaFor(event.value("event_type", ""), &stream);
    EXPECT_NE(schema, nullptr) << "no stream " << stream;
    if (schema == nullptr) return 0;
    SCOPED_TRACE(stream);
    const spool::SourceRef source{"citrix-tenant", 3, 4242};
    const std::string payload = event.dump();

    // 1. As sent without [routes.schemas]: nothing undeclared, so Azure drops nothing. Values
    //    that are not yet of the declared type must be losslessly convertible (the gateway does
    //    that when the schema is configured, see 2.).
    deliver::ShapeOptions raw_options;
    raw_options.event_id_field = kEventIdField;
    std::string raw_row;
    Status st = deliver::ShapeEvent(payload, source, raw_options, &raw_row, nullptr);
    EXPECT_TRUE(st.ok()) << st.ToString();
    json raw = json::parse(raw_row);
    std::set<std::string> expected_keys;
    Flatten("", event, &expected_keys);
    for (const auto& [field, column] : deliver::LongFieldColumns()) {
      if (expected_keys.erase(field) != 0) expected_keys.insert(column);
    }
    expected_keys.insert("TimeGenerated");
    expected_keys.insert(kEventIdField);
    std::set<std::string> raw_keys;
    for (const auto& [k, v] : raw.items()) {
      raw_keys.insert(k);
      auto col = schema->columns.find(k);
      EXPECT_NE(col, schema->columns.end()) << "Azure would drop field " << k;
      if (col == schema->columns.end()) continue;
      if (!azure::ValueMatches(col->second, v)) {
        json converted = v;
        EXPECT_TRUE(azure::ConvertValue(col->second, &converted))
            << k << " = " << v.dump() << " does not fit " << azure::ColumnTypeName(col->second);
        needs_schema_[stream].insert(k);
      }
    }
    EXPECT_EQ(raw_keys, expected_keys);

    // 2. As sent with the stream file in [routes.schemas]: no field removed, none left
    //    unconverted, every value of its declared type, nothing lost on the way.
    deliver::ShapeOptions options = raw_options;
    options.schema = schema;
    deliver::ShapeReport report;
    std::string row_text;
    st = deliver::ShapeEvent(payload, source, options, &row_text, &report);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(report.undeclared.empty()) << json(report.undeclared).dump();
    EXPECT_TRUE(report.unconvertible.empty()) << json(report.unconvertible).dump();
    json row = json::parse(row_text);
    std::set<std::string> row_keys;
    for (const auto& [k, v] : row.items()) {
      row_keys.insert(k);
      auto col = schema->columns.find(k);
      EXPECT_NE(col, schema->columns.end()) << k;
      if (col == schema->columns.end()) continue;
      EXPECT_TRUE(azure::ValueMatches(col->second, v))
          << k << " = " << v.dump() << " is not a valid " << azure::ColumnTypeName(col->second);
      // Converted values keep their meaning: "6" and 6 are the same id.
      const json& before = raw[k];
      if (before != v) {
        const std::string a = before.is_string() ? before.get<std::string>() : before.dump();
        const std::string b = v.is_string() ? v.get<std::string>() : v.dump();
        EXPECT_EQ(a, b) << k;
      }
    }
    EXPECT_EQ(row_keys, raw_keys);
    EXPECT_EQ(row.value("TimeGenerated", ""), event.value("timestamp", "?"));
    EXPECT_EQ(row.value(kEventIdField, ""), "citrix-tenant/3/4242");
    return row_keys.size();
  }

  std::map<std::string, azure::StreamSchema> schemas_;
  std::map<std::string, std::set<std::string>> needs_schema_;  // stream -> fields converted
};

TEST_F(ShapedSamplesTest, EverySampleEventFitsTheStreamOfItsRoute) {
  std::set<std::string> event_types;
  size_t events = 0;
  for (const std::string& dir : SampleDirs()) {
    for (const Sample& s : LoadSamples(dir)) {
      CheckEvent(s.file + " " + s.event.value("event_type", "?"), s.event);
      event_types.insert(s.event.value("event_type", "?"));
      ++events;
    }
  }
  // The copies in testdata cover every sample type Citrix publishes.
  for (const char* t : {"userProfileRiskscore", "userProfileApp", "userProfileUsage",
                        "userProfileLocation", "userProfileDevice", "riskScoreChange",
                        "indicatorSummary", "indicatorEventDetails"}) {
    EXPECT_TRUE(event_types.count(t)) << t;
  }
  EXPECT_GE(events, 8u);
  // Integer ids that the published rule declares as strings: only [routes.schemas] makes the
  // gateway send them as Azure expects, which the README says.
  for (const auto& [stream, fields] : needs_schema_) {
    std::string list;
    for (const std::string& f : fields) list += " " + f;
    std::cout << "[ info ] " << stream << ": converted by the gateway with [routes.schemas]:" << list
              << "\n";
  }
  EXPECT_TRUE(needs_schema_["Custom-CitrixAnalytics_indicatorSummary_V1"].count("indicator_id"));
}

TEST_F(ShapedSamplesTest, UnknownEventTypesLandWholeInTheCatchAll) {
  // A future Citrix event type made of known fields goes to the catch-all and keeps them all.
  size_t checked = 0;
  for (const Sample& s : LoadSamples(SG_TESTDATA_DIR)) {
    json ev = s.event;
    ev["event_type"] = "futureCitrixEvent";
    checked += CheckEvent(s.file + " as an unknown type", ev);
  }
  EXPECT_GT(checked, 0u);
  std::string stream;
  EXPECT_NE(SchemaFor("futureCitrixEvent", &stream), nullptr);
  EXPECT_EQ(stream, "Custom-CitrixAnalytics_other_V1");
}

TEST_F(ShapedSamplesTest, CitrixFieldsLongerThanAzureAllowsLandInTheirShortColumns) {
  // occurrence_details.historical_observation_period_in_days flattens to 56 characters; Azure's
  // column names stop at 45, so the gateway's DCR declares a shorter name and the shaper (both
  // paths, with or without the schema) writes the field there. The legacy tables of the Data
  // Collector API keep the long names (they exist there), so that layout renames nothing.
  const json ev = {{"tenant_id", "t"}, {"entity_id", "u@example.com"}, {"entity_type", "user"},
                   {"event_type", "indicatorSummary"}, {"timestamp", "2021-11-05T10:07:33.652Z"},
                   {"occurrence_details", {{"exfiltrated_data_volume_in_bytes", 307800000},
                                           {"historical_observation_period_in_days", 30},
                                           {"lifetime_download_volume_in_bytes", 12}}}};
  CheckEvent("long occurrence_details fields", ev);
  std::string stream;
  const azure::StreamSchema* schema = SchemaFor("indicatorSummary", &stream);
  ASSERT_NE(schema, nullptr);
  for (bool use_document : {false, true}) {
    for (const azure::StreamSchema* with : {schema, static_cast<const azure::StreamSchema*>(nullptr)}) {
      deliver::ShapeOptions options;
      options.schema = with;
      options.use_document = use_document;
      std::string row_text;
      ASSERT_TRUE(deliver::ShapeEvent(ev.dump(), spool::SourceRef{}, options, &row_text, nullptr).ok());
      const json row = json::parse(row_text);
      EXPECT_EQ(row.value("occurrence_details_exfiltrated_data_bytes", json()), 307800000) << row_text;
      EXPECT_EQ(row.value("occurrence_details_historical_period_days", json()), 30) << row_text;
      EXPECT_EQ(row.value("occurrence_details_lifetime_download_bytes", json()), 12) << row_text;
      for (const auto& [k, v] : row.items()) EXPECT_LE(k.size(), 45u) << k;
    }
  }
  deliver::ShapeOptions legacy;
  legacy.azure_column_names = false;
  legacy.set_time_generated = false;
  std::string row_text;
  ASSERT_TRUE(deliver::ShapeEvent(ev.dump(), spool::SourceRef{}, legacy, &row_text, nullptr).ok());
  EXPECT_EQ(json::parse(row_text).value("occurrence_details_historical_observation_period_in_days",
                                        json()),
            30);
}

// The suffix the Data Collector API gives a column for this value (Learn "HTTP Data Collector
// API", record type and properties): a GUID string _g, an ISO date-time string _t, other strings
// (and arrays, sent as text) _s, numbers _d, booleans _b.
std::string DataCollectorSuffix(const json& v) {
  if (v.is_boolean()) return "_b";
  if (v.is_number()) return "_d";
  if (v.is_string()) {
    json probe = v;
    if (azure::ValueMatches(azure::ColumnType::kGuid, probe)) return "_g";
    if (azure::IsIso8601DateTime(v.get<std::string>())) return "_t";
  }
  return "_s";
}

// The legacy tables keep their columns: shaped for the Data Collector API with the built-in legacy
// schema, every Citrix sample field that has a column in its legacy table gets a value of that
// column's type, so no typed twin (indicator_id_d beside indicator_id_s) appears.
TEST_F(ShapedSamplesTest, DataCollectorValuesFitTheLegacyTablesColumns) {
  const auto& legacy = azure::BuiltinLegacySchemas();
  ASSERT_EQ(legacy.size(), 4u);
  size_t checked = 0, converted = 0;
  for (const Sample& s : LoadSamples(SG_TESTDATA_DIR)) {
    const std::string table = citrix::TableForEventType(citrix::Layout::kLegacy,
                                                         s.event.value("event_type", ""));
    if (table.empty()) continue;
    SCOPED_TRACE(s.file + " -> " + table);
    const std::string log_type = citrix::TargetFor(citrix::Layout::kLegacy, table);
    const json columns = ReadJson(std::string(SG_SOURCE_DIR) + "/config/legacy-tables/" + table + ".json");
    std::set<std::string> existing;
    for (const json& p : columns["Properties"]) existing.insert(p["Name"].get<std::string>());
    auto schema = legacy.find(log_type);
    ASSERT_NE(schema, legacy.end()) << log_type;
    for (const azure::StreamSchema* with : {&schema->second, static_cast<const azure::StreamSchema*>(nullptr)}) {
      deliver::ShapeOptions o;
      o.schema = with;
      o.azure_column_names = false;
      o.set_time_generated = false;
      std::string row_text;
      ASSERT_TRUE(deliver::ShapeEvent(s.event.dump(), spool::SourceRef{}, o, &row_text, nullptr).ok());
      size_t twins = 0;
      const json row = json::parse(row_text);
      for (const auto& [k, v] : row.items()) {
        bool has_column = false;
        for (const char* suffix : {"_s", "_d", "_b", "_t", "_g"}) has_column |= existing.count(k + suffix) > 0;
        if (!has_column || v.is_null()) continue;
        const bool fits = existing.count(k + DataCollectorSuffix(v)) > 0;
        if (with != nullptr) {
          ++checked;
          EXPECT_TRUE(fits) << k << " = " << v.dump() << " would create " << k << DataCollectorSuffix(v);
        } else if (!fits) {
          ++twins;
        }
      }
      if (with == nullptr) converted += twins;
    }
  }
  EXPECT_GT(checked, 20u);
  EXPECT_GT(converted, 0u) << "without the legacy schema some sample would create a twin column";
}

TEST_F(ShapedSamplesTest, IntegerAndStringIdsBothFit) {
  // citrix-feed.md: indicator_vector.id is a string in one sample and an integer in another;
  // indicator_id is an integer in the samples and a string in the published rule.
  for (const json& id : {json(6), json("6")}) {
    json ev = {{"tenant_id", "t"}, {"entity_id", "u@example.com"}, {"entity_type", "user"},
               {"event_type", "indicatorSummary"}, {"timestamp", "2021-11-05T10:07:33.652Z"},
               {"version", 2}, {"indicator_id", 12}, {"indicator_vector", {{"id", id}, {"name", "n"}}},
               {"occurrence_details", {{"event_count", 9}, {"observation_start_time", "2021-06-08T06:00:00Z"}}}};
    CheckEvent("indicator_vector.id " + id.dump(), ev);
  }
}

}  // namespace
}  // namespace sg
