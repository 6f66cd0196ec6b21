// The gateway as an operator runs it: kafka-mock-cluster, sentinel-emulator and sentinel-gateway as
// separate processes on 127.0.0.1; what the emulator recorded is compared with what was produced.
#include <signal.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e_fixture.h"
#include "http.h"
#include "kafka_produce.h"

namespace sg::testing {
namespace {

using std::chrono::seconds;

using GatewayE2eTest = E2eFixture;

TEST_F(GatewayE2eTest, HundredThousandEventsArriveExactlyOnceInOrderPerPartition) {
  constexpr uint64_t kEvents = 100'000;
  StartKafka(16);
  StartEmulator();
  // One request in flight per table keeps arrival order equal to spool order, which is checked here.
  std::string config = WriteConfig("[delivery]\nconcurrency = 1\nevent_id_field = \"sg_event_id\"\n");
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, kEvents);
  ASSERT_TRUE(WaitForRows(kEvents, seconds(240))) << EmulatorStats().dump();
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0) << "a clean stop exits 0";
  Recorded r = ReadRecord();
  EXPECT_EQ(r.count.size(), kEvents) << "lost: " << kEvents - r.count.size();
  uint64_t duplicates = r.rows - r.count.size();
  EXPECT_EQ(duplicates, 0u);
  for (const auto& [key, seqs] : r.order) {
    for (size_t i = 1; i < seqs.size(); ++i) {
      ASSERT_LT(seqs[i - 1], seqs[i]) << "table " << key.first << " partition " << key.second << " out of order";
    }
  }
  std::cerr << fmt::format("produced {} delivered {} lost {} duplicates {}\n", kEvents, r.count.size(),
                           kEvents - r.count.size(), duplicates);
}

TEST_F(GatewayE2eTest, SigtermDuringAnOutageLosesNothingAndTheNextRunDelivers) {
  constexpr uint64_t kEvents = 5'000;
  StartKafka(4);
  StartEmulator();
  EmulatorFaults("POST", R"({"outage":{"status":503,"seconds":3600}})");
  std::string config = WriteConfig("[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"1s\"\nshutdown_grace = \"2s\"\n");
  {
    Subprocess gw;
    StartGateway(&gw, config);
    Produce(0, kEvents);
    ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", kEvents, seconds(60)));
    auto t0 = std::chrono::steady_clock::now();
    gw.Signal(SIGTERM);
    EXPECT_EQ(gw.Wait(seconds(20)), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(10)) << "stop is bounded by shutdown_grace";
  }
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u) << "Azure was down: nothing delivered yet";
  EmulatorFaults("DELETE");
  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitForRows(kEvents, seconds(60)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(20)), 0);
  Recorded r = ReadRecord();
  EXPECT_EQ(r.count.size(), kEvents);
  EXPECT_EQ(r.rows, kEvents) << "the restart re-spooled nothing and re-posted nothing";
}

TEST_F(GatewayE2eTest, MetricsHealthAndReadinessExplainAnAuthProblem) {
  StartKafka(2);
  StartEmulator();
  std::string config = WriteConfig("[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"500ms\"\n", "wrong-secret");
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, 100);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", 100, seconds(60)));
  std::string body;
  EXPECT_EQ(HttpGet(fmt::format("http://127.0.0.1:{}/healthz", metrics_port_), &body), 200);
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  int code = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    code = HttpGet(fmt::format("http://127.0.0.1:{}/readyz", metrics_port_), &body);
    if (code == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(code, 503) << body;
  auto j = nlohmann::json::parse(body);
  EXPECT_FALSE(j["ready"].get<bool>());
  ASSERT_FALSE(j["reasons"].empty());
  EXPECT_NE(j["reasons"][0].get<std::string>().find("azure"), std::string::npos) << body;
  EXPECT_EQ(body.find("wrong-secret"), std::string::npos) << "no secret in health output";
  ASSERT_EQ(HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_port_), &body), 200);
  EXPECT_EQ(MetricValue(body, "sg_events_consumed_total"), 100u);
  EXPECT_NE(body.find("sg_spool_pending_events{route=\""), std::string::npos);
  EXPECT_NE(body.find("sg_retries_total{route=\""), std::string::npos);
  // Batching by the size Azure counts: bodies as sent, splits before sending, the 413 fallback.
  EXPECT_NE(body.find("sg_bytes_sent_total{route=\""), std::string::npos);
  EXPECT_NE(body.find("sg_oversize_splits_total{route=\""), std::string::npos);
  EXPECT_NE(body.find("sg_json_cap_fallback{route=\""), std::string::npos);
  EXPECT_NE(body.find("sg_request_duration_seconds_bucket{route=\""), std::string::npos)
      << "the refused requests are in the latency histogram: " << body;
  EXPECT_NE(body.find("sg_spool_oldest_event_age_seconds{route=\""), std::string::npos);
  // The batch the refused route retries is held in memory, and the read-ahead gauge shows it.
  EXPECT_GT(MetricSum(body, "sg_read_ahead_bytes"), 0u) << body;
  EXPECT_NE(body.find("sg_kafka_partition_lag_messages{topic=\"citrix-risk\",partition=\"0\"}"), std::string::npos)
      << body;
  EXPECT_EQ(body.find("wrong-secret"), std::string::npos);
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  std::ifstream log(dir_ + "/gateway.log");
  std::string all((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(all.find("error"), std::string::npos) << "an auth problem is logged loudly";
  EXPECT_EQ(all.find("wrong-secret"), std::string::npos) << "no secret in the log";
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u);
}

TEST_F(GatewayE2eTest, ASecondGatewayOnTheSameSpoolIsRefused) {
  StartKafka(1);
  StartEmulator();
  std::string config = WriteConfig();
  Subprocess first;
  StartGateway(&first, config);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_consumed_total", 0, seconds(30)));
  Subprocess second;
  ASSERT_TRUE(second.Start({BinDir() + "/sentinel-gateway", "run", "--config", config}, dir_ + "/second.log"));
  EXPECT_EQ(second.Wait(seconds(30)), 3);
  std::ifstream log(dir_ + "/second.log");
  std::string all((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(all.find(fmt::format("in use by pid {}", first.pid())), std::string::npos) << all;
  first.Signal(SIGTERM);
  EXPECT_EQ(first.Wait(seconds(30)), 0);
}

TEST_F(GatewayE2eTest, CheckConfigRedactsSecretsAndNamesBadKeys) {
  bootstrap_ = "127.0.0.1:9";
  emulator_url_ = "https://127.0.0.1:1";
  emulator_ca_ = dir_ + "/ca.pem";
  std::string config = WriteConfig("", "very-secret-client-secret");
  Subprocess check;
  ASSERT_TRUE(check.Start({BinDir() + "/sentinel-gateway", "check-config", "--config", config}, dir_ + "/check.log"));
  std::string out, line;
  while (check.ReadLine(&line, seconds(10))) out += line + "\n";
  EXPECT_EQ(check.Wait(seconds(10)), 0);
  EXPECT_EQ(out.find("very-secret-client-secret"), std::string::npos) << out;
  EXPECT_NE(out.find("client_secret = \"<redacted: inline>\""), std::string::npos) << out;
  // --quiet (the unit's ExecStartPre): the same validation, nothing printed on success.
  Subprocess quiet;
  ASSERT_TRUE(quiet.Start({BinDir() + "/sentinel-gateway", "check-config", "--quiet", "--config", config},
                          dir_ + "/quiet.log"));
  std::string quiet_out;
  while (quiet.ReadLine(&line, seconds(10))) quiet_out += line + "\n";
  EXPECT_EQ(quiet.Wait(seconds(10)), 0);
  EXPECT_EQ(quiet_out.find("[kafka]"), std::string::npos) << quiet_out;
  std::ofstream(config, std::ios::app) << "\n[delivery]\nlinger = 5\n";
  Subprocess bad;
  ASSERT_TRUE(bad.Start({BinDir() + "/sentinel-gateway", "check-config", "--config", config}, dir_ + "/bad.log"));
  EXPECT_EQ(bad.Wait(seconds(10)), 2);
  std::ifstream log(dir_ + "/bad.log");
  std::string err((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(err.find(config + ":"), std::string::npos) << err;
  EXPECT_NE(err.find(": delivery.linger: must be a duration"), std::string::npos) << err;
  Subprocess bad_quiet;
  ASSERT_TRUE(bad_quiet.Start({BinDir() + "/sentinel-gateway", "check-config", "-q", "--config", config},
                              dir_ + "/bad-quiet.log"));
  EXPECT_EQ(bad_quiet.Wait(seconds(10)), 2) << "--quiet still refuses a bad configuration";
}

}  // namespace
}  // namespace sg::testing

namespace sg::testing {
namespace {

// With no [routes.schemas], values follow the column types of the gateway's own DCR: Citrix's
// integer indicator_id reaches the string column as a string. The emulator, given that DCR,
// drops an integer there as Azure does (and still answers 204), so without the conversion the
// value would never arrive.
TEST_F(GatewayE2eTest, ValuesFollowTheBuiltinDcrColumnTypes) {
  StartKafka(1);
  StartEmulator({"--schema", std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json"});
  Subprocess gw;
  StartGateway(&gw, WriteConfig("[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"500ms\"\n"));
  const std::string event = R"({"tenant_id":"e2e","entity_id":"u@e2e.example","entity_type":"user",
    "event_type":"indicatorSummary","timestamp":"2026-11-28T07:00:00Z","version":2,"indicator_id":7,
    "indicator_vector":{"id":6,"name":"Insider Threat - Files"},"occurrence_details":{"event_count":9}})";
  ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", 0, event), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer_, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(WaitForRows(1, seconds(60))) << EmulatorStats().dump();
  std::string metrics;
  HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_["gateway"]), &metrics);
  const std::string unconvertible =
      "sg_unconvertible_values_total{route=\"CitrixAnalytics_indicatorSummary_V1_CL\",field=\"version\"}";
  EXPECT_EQ(MetricValue(metrics, unconvertible), UINT64_MAX) << metrics;  // none yet
  // A value no conversion fits (a word in an int column) is counted, and its original text goes
  // into AdditionalFields (Azure drops it from the int column and still answers 204).
  const std::string bad = R"({"event_type":"indicatorSummary","timestamp":"2026-11-28T07:00:00Z","version":"two"})";
  ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", 0, bad), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer_, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_TRUE(WaitForMetricAtLeast(unconvertible, 1, seconds(60)));
  ASSERT_TRUE(WaitForRows(2, seconds(60))) << EmulatorStats().dump();  // delivered, not only shaped
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  std::ifstream in(dir_ + "/rows.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  nlohmann::json row = nlohmann::json::parse(line)["row"];
  EXPECT_EQ(row["indicator_id"], "7") << row.dump();
  EXPECT_EQ(row["indicator_vector_id"], "6") << row.dump();
  EXPECT_EQ(row["occurrence_details_event_count"], 9) << row.dump();
  EXPECT_EQ(row["timestamp"], "2026-11-28T07:00:00Z") << row.dump();
  ASSERT_TRUE(std::getline(in, line));
  row = nlohmann::json::parse(line)["row"];
  EXPECT_FALSE(row.contains("version")) << row.dump();
  EXPECT_EQ(row["AdditionalFields"]["version"], "two") << row.dump();
}

// Issue 6's promise with the real programs: Azure refuses everything for a while (400), the refused
// events land in the failed area; once Azure accepts again, `sentinel-spool requeue --all` against
// the running gateway sends each of them back, and each is delivered exactly once.
TEST_F(GatewayE2eTest, RefusedEventsRequeuedLiveAreDeliveredOnce) {
  constexpr uint64_t kEvents = 200;
  StartKafka(2);
  StartEmulator();
  EmulatorFaults("POST", R"({"failure_rate":1.0,"failure_status":400})");
  std::string config = WriteConfig("[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"500ms\"\n");
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, kEvents);
  std::string stats_json;
  auto deadline = std::chrono::steady_clock::now() + seconds(60);
  uint64_t failed = 0;
  while (std::chrono::steady_clock::now() < deadline && failed < kEvents) {
    Subprocess st;
    ASSERT_TRUE(st.Start({BinDir() + "/sentinel-spool", "--spool", dir_ + "/spool", "--json", "stats"}, dir_ + "/spool-tool.log"));
    std::string line;
    stats_json.clear();
    while (st.ReadLine(&line, seconds(10))) stats_json += line;
    ASSERT_EQ(st.Wait(seconds(10)), 0);
    auto j = nlohmann::json::parse(stats_json, nullptr, false);
    if (!j.is_discarded()) failed = j.value("failed_events", uint64_t{0});
    if (failed < kEvents) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(failed, kEvents) << stats_json;
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u);

  EmulatorFaults("DELETE");
  Subprocess requeue;
  ASSERT_TRUE(requeue.Start({BinDir() + "/sentinel-spool", "--spool", dir_ + "/spool", "requeue", "--all"},
                            dir_ + "/requeue.log"));
  std::string out, line;
  while (requeue.ReadLine(&line, seconds(30))) out += line + "\n";
  ASSERT_EQ(requeue.Wait(seconds(30)), 0) << out;
  std::ifstream log(dir_ + "/requeue.log");
  std::string err((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(err.find("live"), std::string::npos) << "the tool went through the running gateway: " << err;
  ASSERT_TRUE(WaitForRows(kEvents, seconds(60)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  Recorded r = ReadRecord();
  EXPECT_EQ(r.count.size(), kEvents);
  EXPECT_EQ(r.rows, kEvents) << "each requeued event delivered once";
}

}  // namespace
}  // namespace sg::testing

namespace sg::testing {
namespace {

// A second SIGTERM while the first stop waits for hanging requests exits at once (code 4), and
// the next run still delivers everything: what was acknowledged is in the spool.
TEST_F(GatewayE2eTest, SecondSignalExitsAtOnceAndLosesNothing) {
  constexpr uint64_t kEvents = 1'000;
  StartKafka(2);
  StartEmulator();
  EmulatorFaults("POST", R"({"hang_rate":1.0,"hang_seconds":120})");
  std::string config = WriteConfig("[delivery]\nshutdown_grace = \"60s\"\n");
  {
    Subprocess gw;
    StartGateway(&gw, config);
    Produce(0, kEvents);
    std::string body;
    auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (std::chrono::steady_clock::now() < deadline &&
           MetricValue(body, "sg_events_spooled_total") != kEvents) {
      HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_port_), &body);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(MetricValue(body, "sg_events_spooled_total"), kEvents);
    deadline = std::chrono::steady_clock::now() + seconds(30);
    while (std::chrono::steady_clock::now() < deadline && EmulatorStats().value("hung_requests", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(EmulatorStats().value("hung_requests", 0), 0) << "requests are in flight";
    gw.Signal(SIGTERM);
    EXPECT_EQ(gw.Wait(std::chrono::milliseconds(1500)), -1) << "the first signal waits for requests in flight";
    auto t0 = std::chrono::steady_clock::now();
    gw.Signal(SIGTERM);
    EXPECT_EQ(gw.Wait(seconds(10)), 4);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  }
  EmulatorFaults("DELETE");
  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitForRows(kEvents, seconds(60)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  Recorded r = ReadRecord();
  EXPECT_EQ(r.count.size(), kEvents);
}

// The demo a new user runs: to its summary, with nothing lost, in well under a minute.
TEST(DemoTest, RunsToItsSummaryAndExitsZero) {
  Subprocess demo;
  ASSERT_TRUE(demo.Start({BinDir() + "/sentinel-gateway-demo", "--events", "6000", "--rate", "1000", "--outage", "4"}));
  std::string out, line;
  auto t0 = std::chrono::steady_clock::now();
  while (demo.ReadLine(&line, seconds(60))) out += line + "\n";
  EXPECT_EQ(demo.Wait(seconds(10)), 0) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(60));
  EXPECT_NE(out.find("Summary"), std::string::npos) << out;
  EXPECT_NE(out.find("lost                              0"), std::string::npos) << out;
  EXPECT_NE(out.find("delivered to Sentinel          6000 unique rows"), std::string::npos) << out;
  EXPECT_NE(out.find("OUTAGE"), std::string::npos) << "the outage was visible on the way:\n" << out;
}

}  // namespace
}  // namespace sg::testing
