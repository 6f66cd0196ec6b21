// The deployed DCR read back, with the real programs: sentinel-emulator holding a DCR (served by
// its management read, applied to ingestion as Azure applies it), sentinel-gateway reading it
// through the management API over HTTPS with certificate verification, and `check-azure`.
#include <signal.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_fixture.h"
#include "http.h"
#include "kafka_produce.h"

namespace sg::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const char* kSummaryRoute = "CitrixAnalytics_indicatorSummary_V1_CL";

class DcrE2eTest : public E2eFixture {
 protected:
  // Our DCR with one column fewer: indicatorSummary's indicator_name (a deployment older than ours).
  std::string DcrWithoutIndicatorName() {
    std::ifstream in(std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json");
    json dcr = json::parse(in);
    json& cols = dcr["streamDeclarations"]["Custom-CitrixAnalytics_indicatorSummary_V1"]["columns"];
    for (auto it = cols.begin(); it != cols.end(); ++it) {
      if ((*it)["name"] == "indicator_name") {
        cols.erase(it);
        break;
      }
    }
    const std::string path = dir_ + "/dcr-without-indicator-name.json";
    std::ofstream(path) << dcr.dump(2);
    return path;
  }
  std::string ConfigReadingTheDcr(const std::string& extra_sentinel = "") {
    std::string config = WriteConfig("[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"500ms\"\n");
    AddToSection(config, "sentinel",
                 fmt::format("dcr_resource_id = \"{}\"\nmanagement_endpoint = \"{}\"\n{}", kDcrId, emulator_url_,
                             extra_sentinel));
    return config;
  }
  void ProduceSummary(int n) {
    const std::string event = fmt::format(
        R"({{"tenant_id":"e2e","entity_id":"u@e2e.example","entity_type":"user","event_type":"indicatorSummary",)"
        R"("timestamp":"2026-11-28T07:00:00Z","version":2,"indicator_id":{},)"
        R"("indicator_name":"Excessive file downloads"}})",
        n);
    ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", 0, event), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  std::vector<json> Rows() {
    std::vector<json> out;
    std::ifstream in(dir_ + "/rows.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line)["row"]);
    return out;
  }
  std::string Metrics() {
    std::string body;
    HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_["gateway"]), &body);
    return body;
  }
  std::string Log(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  }
  uint64_t Undeclared(const json& stats) {
    const json& d = stats["dropped"];
    return d.contains("Custom-CitrixAnalytics_indicatorSummary_V1")
               ? d["Custom-CitrixAnalytics_indicatorSummary_V1"].value("undeclared_keys", uint64_t{0})
               : 0;
  }
  int CheckAzure(const std::string& config, std::string* out) {
    Subprocess check;
    EXPECT_TRUE(check.Start({BinDir() + "/sentinel-gateway", "check-azure", "--config", config},
                            dir_ + "/check-azure.log"));
    std::string line;
    while (check.ReadLine(&line, seconds(30))) *out += line + "\n";
    return check.Wait(seconds(30));
  }
};

// The DCR as deployed lacks indicator_name: the gateway, reading it back, moves the field into
// AdditionalFields (counted, reported once per table) instead of sending it to a column Azure
// would drop without a word. With the built-in schema it would be sent as a column and lost.
TEST_F(DcrE2eTest, ShapesToTheDcrReadBackAndReportsWhatItWouldDrop) {
  StartKafka(1);
  StartEmulator({"--schema", DcrWithoutIndicatorName(), "--dcr-resource-id", kDcrId});
  Subprocess gw;
  StartGateway(&gw, ConfigReadingTheDcr());
  ProduceSummary(1);
  ASSERT_TRUE(WaitForRows(1, seconds(60))) << EmulatorStats().dump();
  const std::string metrics = Metrics();
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].contains("indicator_name")) << rows[0].dump();
  EXPECT_EQ(rows[0]["AdditionalFields"]["indicator_name"], "Excessive file downloads") << rows[0].dump();
  EXPECT_EQ(rows[0]["indicator_id"], "1") << rows[0].dump();  // still converted to the column type
  EXPECT_EQ(Undeclared(EmulatorStats()), 0u) << "Azure dropped nothing: " << EmulatorStats().dump();
  EXPECT_EQ(MetricValue(metrics, "sg_dcr_schema_source{source=\"dcr\"}"), 1u) << metrics;
  EXPECT_EQ(MetricValue(metrics, fmt::format("sg_dcr_fields{{route=\"{}\",field=\"indicator_name\",fate=\"catch_all\"}}",
                                             kSummaryRoute)),
            1u)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, fmt::format("sg_undeclared_fields_total{{route=\"{}\",field=\"indicator_name\"}}",
                                             kSummaryRoute)),
            1u)
      << metrics;
  const std::string log = Log("gateway.log");
  EXPECT_EQ(Count(log, "does not declare 1 Citrix field(s): indicator_name (not declared, kept in AdditionalFields)"),
            1u)
      << log;
}

// Without Reader on the DCR the read is refused (403): the gateway says so once, however often it
// retries, shapes to the built-in schema and delivers everything. Once the role is granted, the
// next periodic read takes over without a restart.
TEST_F(DcrE2eTest, RefusedReadFallsBackToTheBuiltinSchemaOnceAndLosesNoEvent) {
  StartKafka(1);
  StartEmulator({"--schema", DcrWithoutIndicatorName(), "--dcr-resource-id", kDcrId});
  EmulatorFaults("POST", R"({"deny_dcr_read": true})");
  Subprocess gw;
  StartGateway(&gw, ConfigReadingTheDcr("dcr_refresh = \"1s\""));
  ProduceSummary(1);
  ASSERT_TRUE(WaitForRows(1, seconds(60))) << EmulatorStats().dump();
  ASSERT_TRUE(WaitForMetricAtLeast("sg_dcr_reads_total{result=\"failed\"}", 3, seconds(30)));
  std::string metrics = Metrics();
  EXPECT_EQ(MetricValue(metrics, "sg_dcr_schema_source{source=\"builtin\"}"), 1u) << metrics;
  // The built-in schema declares indicator_name: sent as a column, which this DCR drops.
  EXPECT_EQ(Undeclared(EmulatorStats()), 1u) << EmulatorStats().dump();
  // Reader granted: the next read is used by the running lanes.
  EmulatorFaults("DELETE");
  ASSERT_TRUE(WaitForMetricAtLeast("sg_dcr_reads_total{result=\"ok\"}", 1, seconds(30)));
  ProduceSummary(2);
  ASSERT_TRUE(WaitForRows(2, seconds(60))) << EmulatorStats().dump();
  metrics = Metrics();
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  EXPECT_EQ(MetricValue(metrics, "sg_dcr_schema_source{source=\"dcr\"}"), 1u) << metrics;
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["AdditionalFields"]["indicator_name"], "Excessive file downloads") << rows[1].dump();
  EXPECT_EQ(Undeclared(EmulatorStats()), 1u) << "nothing more dropped: " << EmulatorStats().dump();
  const std::string log = Log("gateway.log");
  EXPECT_EQ(Count(log, "cannot read the deployed DCR"), 1u) << log;
  EXPECT_NE(log.find("AuthorizationFailed"), std::string::npos) << log;
  EXPECT_EQ(Count(log, "emu."), 0u) << "no token in the log";
}

// check-azure: 0 against the project's DCR; non-zero against the DCR Citrix publishes for its push
// connector, naming the fields it would drop. It posts nothing.
TEST_F(DcrE2eTest, CheckAzureExitsZeroOnOurDcrAndNonZeroOnThePublishedCcfDcr) {
  bootstrap_ = "127.0.0.1:9";  // not contacted
  StartEmulator({"--schema", std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json",
                 "--dcr-resource-id", kDcrId, "--dcr-id", "dcr-e2e"});
  std::string ours;
  EXPECT_EQ(CheckAzure(ConfigReadingTheDcr(), &ours), 0) << ours;
  EXPECT_NE(ours.find("token: ok"), std::string::npos) << ours;
  EXPECT_NE(ours.find("ok: nothing would be lost"), std::string::npos) << ours;
  StopEmulator();

  StartEmulator({"--schema", std::string(SG_SOURCE_DIR) + "/tests/azure/testdata/ccf-CitrixAnalytics_DCR.json",
                 "--dcr-resource-id", kDcrId, "--dcr-id", "dcr-e2e"});
  std::string ccf;
  EXPECT_EQ(CheckAzure(ConfigReadingTheDcr(), &ccf), 1) << ccf;
  EXPECT_NE(ccf.find("indicator_vector_id (not declared)"), std::string::npos) << ccf;
  EXPECT_NE(ccf.find("data_usage_bytes (not declared)"), std::string::npos) << ccf;
  EXPECT_NE(ccf.find("Custom-CitrixAnalytics_other_V1\n  NOT DECLARED"), std::string::npos) << ccf;
  EXPECT_NE(ccf.find("would lose data"), std::string::npos) << ccf;
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u) << "check-azure posts nothing";

  // A refused read cannot prove anything: non-zero, and it says why.
  EmulatorFaults("POST", R"({"deny_dcr_read": true})");
  std::string denied;
  EXPECT_EQ(CheckAzure(ConfigReadingTheDcr(), &denied), 1) << denied;
  EXPECT_NE(denied.find("403 AuthorizationFailed"), std::string::npos) << denied;
}

// check-azure with [sentinel] dedupe = "query": it asks the Log Analytics Query API once, and
// says (non-zero) when the identity lacks Log Analytics Reader, before any crash needs it.
TEST_F(DcrE2eTest, CheckAzureTriesTheQueryApiWhenDedupeIsOn) {
  bootstrap_ = "127.0.0.1:9";  // not contacted
  StartEmulator({"--schema", std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json",
                 "--dcr-resource-id", kDcrId, "--dcr-id", "dcr-e2e", "--query-api"});
  const std::string config = ConfigReadingTheDcr(
      fmt::format("dedupe = \"query\"\nworkspace_id = \"00000000-0000-0000-0000-000000000001\"\nquery_endpoint = \"{}\"\n",
                  emulator_url_));
  std::string ok;
  EXPECT_EQ(CheckAzure(config, &ok), 0) << ok;
  EXPECT_NE(ok.find("query API: workspace 00000000-0000-0000-0000-000000000001 answers"), std::string::npos) << ok;
  EmulatorFaults("POST", R"({"deny_query": true})");
  std::string denied;
  EXPECT_EQ(CheckAzure(config, &denied), 1) << denied;
  EXPECT_NE(denied.find("HTTP 403 InsufficientAccessError"), std::string::npos) << denied;
  EXPECT_NE(denied.find("Log Analytics Reader"), std::string::npos) << denied;
}

}  // namespace
}  // namespace sg::testing
