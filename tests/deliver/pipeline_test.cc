// Integration tests: spool (RocksDB on disk) -> drainer -> emulator over HTTPS with certificate
// verification against the emulator's own test CA, on 127.0.0.1 only.
#include <fstream>

#include "pipeline_fixture.h"

namespace sg::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST_F(PipelineTest, LogsIngestionDeliversEveryEventExactlyOnceWithGzip) {
  StartEmulator(EmulatorDefaults());
  Feed(kRiskRoute, 0, 1500);
  Feed(kIndicatorRoute, 0, 700);
  auto az = LogsIngestion();
  az.gzip = true;
  StartDrainer(FastRetries({kRiskRoute, kIndicatorRoute}), az);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(kRiskRoute, 1500);
  ExpectExactlyOnce(kIndicatorRoute, 700);
  EXPECT_EQ(FailedEvents(), 0u);
  auto c = drainer_->Counters();
  EXPECT_EQ(c[kRiskRoute].delivered_events, 1500u);
  EXPECT_EQ(c[kIndicatorRoute].delivered_events, 700u);
  // Shaping reached Azure: flattened fields and TimeGenerated from the Citrix timestamp.
  std::ifstream in(emu_options_.record_file);
  std::string line;
  bool seen_flat = false;
  while (std::getline(in, line)) {
    json j = json::parse(line);
    EXPECT_EQ(j["row"]["TimeGenerated"], "2021-12-15T01:00:00Z");
    if (j["table"] == kIndicatorRoute) {
      EXPECT_TRUE(j["row"].contains("occurrence_details_event_count"));
      EXPECT_FALSE(j["row"].contains("occurrence_details"));
      seen_flat = true;
    }
  }
  EXPECT_TRUE(seen_flat);
  EXPECT_EQ(emulator_->Stats()["early_retries"], 0);
}

TEST_F(PipelineTest, DataCollectorApiWithSharedKey) {
  StartEmulator(EmulatorDefaults());
  const std::string route = "CitrixAnalytics_riskScoreChange_CL";
  Feed(route, 0, 600, [&](int i) { return Event(kRiskRoute, i); });
  azure::AzureOptions az;
  az.api = azure::Api::kDataCollector;
  az.workspace_id = emu_options_.workspace_id;
  az.shared_key = emu_options_.shared_key;
  az.data_collector_endpoint = emulator_->base_url();
  az.ca_file = emulator_->ca_file();
  deliver::DrainerOptions d = FastRetries({});
  d.routes = {{route, deliver::DefaultTarget(deliver::TableLayout::kLegacy, route), std::nullopt}};
  StartDrainer(d, az);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(route, 600);  // Log-Type CitrixAnalytics_riskScoreChange -> table ..._CL
  EXPECT_EQ(emulator_->Stats()["requests"].value("200", 0) > 0, true);
  EXPECT_EQ(emulator_->Stats()["requests"].contains("403"), false);
}

TEST_F(PipelineTest, OutageLosesNothingAndResumesByItself) {
  const int outage_s = EnvSeconds("SG_TEST_OUTAGE_S", 3);
  StartEmulator(EmulatorDefaults());
  ASSERT_TRUE(emulator_->SetFaults({{"outage", {{"status", 503}, {"seconds", outage_s}}}}).ok());
  auto started = std::chrono::steady_clock::now();
  Feed(kRiskRoute, 0, 1000);
  StartDrainer(FastRetries({kRiskRoute}), LogsIngestion());
  // While Azure is down nothing leaves the spool.
  ASSERT_TRUE(WaitFor([&] {
    auto c = drainer_->Counters()[kRiskRoute];
    return c.retries_server + c.retries_transport >= 3;  // the token endpoint is down too
  }, 10s));
  EXPECT_EQ(Pending(), 1000u);
  EXPECT_EQ(drainer_->Counters()[kRiskRoute].state, deliver::RouteState::kRetrying);
  // More events arrive during the outage.
  Feed(kRiskRoute, 1000, 500);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, std::chrono::seconds(outage_s + 20)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(outage_s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(kRiskRoute, 1500);
  EXPECT_EQ(FailedEvents(), 0u);
  auto state = drainer_->Counters()[kRiskRoute].state;
  EXPECT_TRUE(state == deliver::RouteState::kDelivering || state == deliver::RouteState::kIdle)
      << deliver::RouteStateName(state);
}

TEST_F(PipelineTest, RateLimitStormIsHonouredWithZeroEarlyRetries) {
  auto o = EmulatorDefaults();
  o.rate_requests = 4;
  o.rate_window = 1000ms;
  StartEmulator(o);
  Feed(kRiskRoute, 0, 300);
  Feed(kIndicatorRoute, 0, 300);
  auto d = FastRetries({kRiskRoute, kIndicatorRoute});
  d.max_batch_events = 25;  // 24 requests at 4 per second: a storm of 429s
  d.concurrency = 4;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(kRiskRoute, 300);
  ExpectExactlyOnce(kIndicatorRoute, 300);
  json stats = emulator_->Stats();
  EXPECT_GT(stats["requests"].value("429", 0), 0) << stats.dump();
  EXPECT_EQ(stats["early_retries"], 0) << stats.dump();
  auto c = drainer_->Counters();
  EXPECT_GT(c[kRiskRoute].retries_throttled + c[kIndicatorRoute].retries_throttled, 0u);
}

TEST_F(PipelineTest, OnePoisonEventInAThousandIsIsolated) {
  // The DCR declares `version` as int; one event carries a string Azure cannot take.
  std::string schema_file = dir_ + "/dcr.json";
  std::ofstream(schema_file) << json{
      {"properties",
       {{"streamDeclarations",
         {{"Custom-CitrixAnalytics_riskScoreChange_V1",
           {{"columns", json::array({{{"name", "uid"}, {"type", "int"}},
                                     {{"name", "version"}, {"type", "int"}},
                                     {{"name", "timestamp"}, {"type", "datetime"}},
                                     {{"name", "entity_id"}, {"type", "string"}},
                                     {{"name", "alert_message"}, {"type", "string"}}})}}}}}}}}
                                    .dump();
  auto o = EmulatorDefaults();
  o.schema_file = schema_file;
  StartEmulator(o);
  const int poison = 637;
  Feed(kRiskRoute, 0, 1000, [&](int i) {
    json j = json::parse(Event(kRiskRoute, i));
    if (i == poison) j["version"] = "two";
    return j.dump();
  });
  auto d = FastRetries({kRiskRoute});
  d.max_batch_events = 1000;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  auto rec = Recorded()[kRiskRoute];
  EXPECT_EQ(rec.size(), 999u);
  EXPECT_EQ(rec.count(poison), 0u);
  for (auto& [uid, n] : rec) EXPECT_EQ(n, 1) << uid;
  std::vector<FailedBatch> failed;
  ASSERT_TRUE(spool_->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  ASSERT_EQ(failed[0].events.size(), 1u);
  EXPECT_EQ(json::parse(failed[0].events[0].payload)["uid"], poison);
  EXPECT_EQ(failed[0].why.http_status, 400);
  EXPECT_NE(failed[0].why.error_text.find("version"), std::string::npos) << failed[0].why.error_text;
  EXPECT_EQ(drainer_->Counters()[kRiskRoute].failed_events, 1u);
}

TEST_F(PipelineTest, TokenExpiringMidRunIsRenewedWithoutLoss) {
  StartEmulator(EmulatorDefaults());
  Feed(kRiskRoute, 0, 500);
  auto d = FastRetries({kRiskRoute});
  d.max_batch_events = 50;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRiskRoute].delivered_events >= 100; }, 20s));
  // Azure stops honouring every token it issued, long before their expires_in.
  ASSERT_TRUE(emulator_->SetFaults({{"expire_tokens", true}}).ok());
  Feed(kRiskRoute, 500, 500);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(kRiskRoute, 1000);
  json stats = emulator_->Stats();
  EXPECT_GE(stats["tokens_issued"].get<int>(), 2) << stats.dump();
  EXPECT_GE(stats["requests"].value("401", 0), 1) << stats.dump();
  EXPECT_GE(drainer_->token_renewals(), 2u);
  EXPECT_FALSE(drainer_->health().degraded);
}

TEST_F(PipelineTest, WrongCaDeliversNothingLosesNothingAndSaysWhy) {
  StartEmulator(EmulatorDefaults());
  // A second, unrelated CA: the client must refuse the emulator's certificate.
  std::unique_ptr<emulator::Emulator> other;
  auto o2 = EmulatorDefaults();
  o2.tls_dir = dir_ + "/other-tls";
  o2.record_file.clear();
  ASSERT_TRUE(emulator::Emulator::Start(o2, &other).ok());
  std::string wrong_ca = other->ca_file();
  other->Stop();
  Feed(kRiskRoute, 0, 200);
  auto az = LogsIngestion();
  az.ca_file = wrong_ca;
  StartDrainer(FastRetries({kRiskRoute}), az);
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRiskRoute].retries_transport >= 3; }, 15s));
  drainer_->Stop(1s);
  auto c = drainer_->Counters()[kRiskRoute];
  EXPECT_EQ(c.delivered_events, 0u);
  EXPECT_NE(c.last_error.find("certificate"), std::string::npos) << c.last_error;
  EXPECT_EQ(Pending(), 200u);
  EXPECT_EQ(FailedEvents(), 0u);
  EXPECT_EQ(emulator_->Stats()["rows_total"], 0);
  EXPECT_EQ(emulator_->Stats()["tokens_issued"], 0);  // the secret never left over that TLS
}

TEST_F(PipelineTest, BadCredentialsDegradeHealthKeepDataAndNeverLeakTheSecret) {
  StartEmulator(EmulatorDefaults());
  Feed(kRiskRoute, 0, 100);
  auto az = LogsIngestion();
  az.client_secret = "wrong-secret-value-123";
  StartDrainer(FastRetries({kRiskRoute}), az);
  ASSERT_TRUE(WaitFor([&] { return drainer_->health().degraded; }, 15s));
  auto h = drainer_->health();
  EXPECT_NE(h.reason.find("invalid_client"), std::string::npos) << h.reason;
  EXPECT_EQ(h.reason.find("wrong-secret-value-123"), std::string::npos);
  EXPECT_EQ(drainer_->Counters()[kRiskRoute].state, deliver::RouteState::kAuthError);
  drainer_->Stop(1s);
  EXPECT_EQ(Pending(), 100u);
  EXPECT_EQ(FailedEvents(), 0u);
}

TEST_F(PipelineTest, HungRequestsAndDroppedConnectionsAreRetried) {
  StartEmulator(EmulatorDefaults());
  ASSERT_TRUE(emulator_->SetFaults({{"hang", 2}, {"hang_seconds", 10}, {"close", 3},
                                    {"failure_rate", 0.2}, {"latency_ms", 5}})
                  .ok());
  Feed(kRiskRoute, 0, 800);
  auto d = FastRetries({kRiskRoute});
  d.max_batch_events = 50;
  auto az = LogsIngestion();
  az.request_timeout = 1000ms;  // a hung request is abandoned after 1 s and retried
  StartDrainer(d, az);
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 40s));
  drainer_->Stop(1s);
  emulator_->ClearFaults();  // wake the hung handlers
  ExpectExactlyOnce(kRiskRoute, 800);
  json stats = emulator_->Stats();
  EXPECT_EQ(stats["hung_requests"], 2) << stats.dump();
  EXPECT_EQ(stats["closed_connections"], 3) << stats.dump();
  EXPECT_GE(drainer_->Counters()[kRiskRoute].retries_transport, 5u);
}

// Request-level errors (docs/AZURE.md): the whole feed refused alike is a configuration problem.
// The route holds like on a 401: health names the cause, the events stay pending, and a few
// requests with backoff are spent instead of one request per event into the failed area.
TEST_F(PipelineTest, UnknownStreamHoldsTheRouteInsteadOfBisectingTheFeed) {
  std::string schema_file = dir_ + "/dcr.json";
  std::ofstream(schema_file) << json{{"Custom-SomethingElse_V1",
                                      {{"columns", json::array({{{"name", "uid"}, {"type", "int"}}})}}}}
                                    .dump();
  auto o = EmulatorDefaults();
  o.schema_file = schema_file;  // the DCR does not declare the route's stream: InvalidStream
  StartEmulator(o);
  Feed(kRiskRoute, 0, 2000);
  auto d = FastRetries({kRiskRoute});
  d.max_batch_events = 2000;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRiskRoute].retries_auth >= 3; }, 15s));
  auto h = drainer_->health();
  EXPECT_TRUE(h.degraded);
  EXPECT_NE(h.reason.find("InvalidStream"), std::string::npos) << h.reason;
  EXPECT_EQ(drainer_->Counters()[kRiskRoute].state, deliver::RouteState::kAuthError);
  drainer_->Stop(1s);
  EXPECT_EQ(Pending(), 2000u);
  EXPECT_EQ(FailedEvents(), 0u);
  EXPECT_EQ(drainer_->Counters()[kRiskRoute].refused_requests, 0u);
}

TEST_F(PipelineTest, A400ThatBothHalvesGetAlikeHoldsTheRouteUntilItIsFixed) {
  StartEmulator(EmulatorDefaults());
  // Every request answered 400 with a code the gateway does not know.
  ASSERT_TRUE(emulator_->SetFaults({{"outage", {{"status", 400}, {"seconds", 600}}}}).ok());
  Feed(kRiskRoute, 0, 2000);
  auto d = FastRetries({kRiskRoute});
  d.max_batch_events = 2000;
  d.concurrency = 1;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[kRiskRoute].retries_auth >= 3; }, 15s));
  EXPECT_TRUE(drainer_->health().degraded);
  EXPECT_EQ(FailedEvents(), 0u);
  // The whole, its two halves: nothing more was split.
  EXPECT_LE(drainer_->Counters()[kRiskRoute].refused_requests, 3u);
  emulator_->ClearFaults();  // the operator fixed it
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 30s));
  drainer_->Stop(1s);
  ExpectExactlyOnce(kRiskRoute, 2000);
  EXPECT_EQ(FailedEvents(), 0u);
  EXPECT_FALSE(drainer_->health().degraded);
}

TEST_F(PipelineTest, DataCollectorWrongUrlHoldsTheRoute) {
  StartEmulator(EmulatorDefaults());
  const std::string route = "CitrixAnalytics_riskScoreChange_CL";
  Feed(route, 0, 300, [&](int i) { return Event(kRiskRoute, i); });
  azure::AzureOptions az;
  az.api = azure::Api::kDataCollector;
  az.workspace_id = emu_options_.workspace_id;
  az.shared_key = emu_options_.shared_key;
  az.data_collector_endpoint = emulator_->base_url() + "/wrong";  // answered 404
  az.ca_file = emulator_->ca_file();
  deliver::DrainerOptions d = FastRetries({});
  d.routes = {{route, deliver::DefaultTarget(deliver::TableLayout::kLegacy, route), std::nullopt}};
  StartDrainer(d, az);
  ASSERT_TRUE(WaitFor([&] { return drainer_->Counters()[route].retries_auth >= 3; }, 15s));
  EXPECT_NE(drainer_->health().reason.find("404"), std::string::npos) << drainer_->health().reason;
  drainer_->Stop(1s);
  EXPECT_EQ(Pending(), 300u);
  EXPECT_EQ(FailedEvents(), 0u);
}

TEST_F(PipelineTest, OptionalMaxAttemptsMovesTheBatchToTheFailedArea) {
  StartEmulator(EmulatorDefaults());
  ASSERT_TRUE(emulator_->SetFaults({{"outage", {{"status", 503}, {"seconds", 60}}}}).ok());
  Feed(kRiskRoute, 0, 50);
  auto d = FastRetries({kRiskRoute});
  d.max_attempts = 3;
  d.backoff_initial = 5ms;
  d.backoff_cap = 20ms;
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return FailedEvents() == 50; }, 15s));
  EXPECT_EQ(Pending(), 0u);
  std::vector<FailedBatch> failed;
  ASSERT_TRUE(spool_->ListFailed(0, 10, kRiskRoute, &failed).ok());
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed[0].why.reason, "max_attempts");
  EXPECT_EQ(failed[0].why.attempts, 3);
}

TEST_F(PipelineTest, StopWithAHungRequestReturnsPromptlyAndKeepsTheEvents) {
  StartEmulator(EmulatorDefaults());
  ASSERT_TRUE(emulator_->SetFaults({{"hang", 100}, {"hang_seconds", 30}}).ok());
  Feed(kRiskRoute, 0, 100);
  auto az = LogsIngestion();
  az.request_timeout = 30000ms;
  StartDrainer(FastRetries({kRiskRoute}), az);
  ASSERT_TRUE(WaitFor([&] { return emulator_->Stats()["hung_requests"].get<int>() >= 1; }, 10s));
  auto t0 = std::chrono::steady_clock::now();
  drainer_->Stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(Pending(), 100u);
  EXPECT_EQ(FailedEvents(), 0u);
  emulator_->ClearFaults();
}

}  // namespace
}  // namespace sg::testing
