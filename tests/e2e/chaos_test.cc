// Proof under fire: real processes (Kafka mock cluster, Sentinel emulator, gateways), real faults,
// and a count of what arrived. Every scenario ends comparing the emulator's record with what was
// produced: lost must be 0; duplicates are counted and reported. One line per scenario on stdout.
//
// Knobs: SG_CHAOS_KILLS (default 30) kills in the kill -9 scenario; SG_CHAOS_OUTAGE_SECONDS
// (default 120) length of the Azure outage.
#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e_fixture.h"
#include "http.h"
#include "kafka_produce.h"
#include "wait.h"

namespace sg::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;


class ChaosTest : public E2eFixture {
 protected:
  std::string Metrics(const std::string& name = "gateway") {
    std::string body;
    HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_[name]), &body);
    return body;
  }

  // Produces [first, first+count) spread over `seconds_` at a steady rate, in the background.
  std::jthread ProduceInBackground(uint64_t first, uint64_t count, double over_seconds) {
    return std::jthread([this, first, count, over_seconds] {
      const uint64_t step = 500;
      auto start = Clock::now();
      for (uint64_t done = 0; done < count; done += step) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                               over_seconds * static_cast<double>(done) / static_cast<double>(count)));
        std::this_thread::sleep_until(due);  // pacing the producer, not synchronisation
        Produce(first + done, std::min(step, count - done));
      }
    });
  }

  void ExpectNothingLost(const std::string& scenario, uint64_t produced, Clock::time_point start) {
    Recorded r = ReadRecord();
    Report(scenario, produced, r, start);
    uint64_t delivered = 0;
    for (const auto& [seq, n] : r.count) delivered += seq < produced ? 1 : 0;
    EXPECT_EQ(delivered, produced) << "lost " << produced - delivered;
  }

  // Polls a gateway's metric until `ok(value)` holds; a missing metric never satisfies it.
  template <typename Pred>
  bool WaitForMetric(const std::string& gateway, const std::string& metric, seconds timeout, Pred ok) {
    return WaitFor([&] {
      const uint64_t v = MetricValue(Metrics(gateway), metric);
      return v != UINT64_MAX && ok(v);
    }, timeout, milliseconds(200));
  }

  // Rewrites one line of a written config (WriteConfig sets every key the tests vary once).
  static void ReplaceInConfig(const std::string& path, const std::string& from, const std::string& to) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << path;
    text.replace(at, from.size(), to);
    std::ofstream(path, std::ios::trunc) << text;
  }

  static constexpr char kFastRetry[] =
      "[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"2s\"\nevent_id_field = \"sg_event_id\"\n";
};

// 1. kill -9 of the gateway at random moments while events flow, restarting it after each kill.
TEST_F(ChaosTest, KillNineAtRandomMoments) {
  const int kills = EnvInt("SG_CHAOS_KILLS", 30);
  const uint64_t produced = static_cast<uint64_t>(kills) * 1000;
  auto start = Clock::now();
  StartKafka(8);
  StartEmulator();
  std::string config = WriteConfig(kFastRetry);
  std::jthread producer = ProduceInBackground(0, produced, kills * 0.8);
  std::mt19937 rng(std::random_device{}());
  for (int k = 0; k < kills; ++k) {
    Subprocess gw;
    StartGateway(&gw, config);
    std::this_thread::sleep_for(milliseconds(200 + rng() % 1300));  // the kill moment is random by design
    gw.Signal(SIGKILL);
    ASSERT_EQ(gw.Wait(seconds(10)), 128 + SIGKILL);
  }
  producer.join();
  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(120)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost(fmt::format("kill -9 x{}", kills), produced, start);
}

// 2. Azure outage: 503 for a long while, then recovery; the backlog drains by itself.
TEST_F(ChaosTest, AzureOutageThenRecovery) {
  const int outage = EnvInt("SG_CHAOS_OUTAGE_SECONDS", 120);
  const uint64_t produced = 20'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulator();
  EmulatorFaults("POST", fmt::format(R"({{"outage":{{"status":503,"seconds":{}}}}})", outage));
  std::string config = WriteConfig(kFastRetry);
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, produced);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", produced, seconds(60)));
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u) << "nothing gets through the outage";
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(outage + 90)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost(fmt::format("azure 503 for {}s", outage), produced, start);
}

// 3. A 429 storm with Retry-After: no request may go out before the Retry-After it was given.
TEST_F(ChaosTest, ThrottlingStormHonoursRetryAfter) {
  const uint64_t produced = 10'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulator({"--rate-requests", "10", "--rate-window", "2"}, 0, /*rate_limits=*/true);
  std::string config = WriteConfig(std::string(kFastRetry) + "max_batch_events = 200\n");
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, produced);
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(180)));
  nlohmann::json st = EmulatorStats();
  EXPECT_GT(st["requests"].value("429", uint64_t{0}), 0u) << "the storm happened: " << st.dump();
  EXPECT_EQ(st.value("early_retries", uint64_t{1}), 0u) << st.dump();
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost(fmt::format("429 storm ({} throttled)", st["requests"].value("429", uint64_t{0})), produced, start);
}

// 4. Network partition: requests hang without an answer, then the network comes back.
TEST_F(ChaosTest, PartitionRequestsHangThenHeal) {
  const uint64_t produced = 10'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulator();
  EmulatorFaults("POST", R"({"hang_rate":1.0,"hang_seconds":120})");
  std::string config = WriteConfig(kFastRetry);
  AddToSection(config, "sentinel", "request_timeout = \"3s\"");  // hung requests are abandoned and retried
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, produced);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", produced, seconds(60)));
  std::this_thread::sleep_for(seconds(8));  // the partition lasts a while: several request timeouts
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u);
  EmulatorFaults("DELETE");
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(120)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost("partition (hang) then heal", produced, start);
}

// 5. Kafka broker restart while consuming: a real Apache Kafka broker (tools/kafka-broker.sh)
// is restarted on the same ports with its data while events flow.
TEST_F(ChaosTest, KafkaBrokerRestartWhileConsuming) {
  if (std::system("command -v java >/dev/null && command -v mvn >/dev/null") != 0) {
    GTEST_SKIP() << "Java and Maven are needed for a real Kafka broker (tools/kafka-broker.sh)";
  }
  const std::string script = std::string(SG_SOURCE_DIR) + "/tools/kafka-broker.sh";
  const std::string broker_dir = dir_ + "/broker";
  struct StopBroker {
    std::string cmd;
    ~StopBroker() { (void)std::system(cmd.c_str()); }
  } stop_broker{script + " stop " + broker_dir + " >/dev/null 2>&1"};
  Subprocess start;
  ASSERT_TRUE(start.Start({script, "start", broker_dir}, dir_ + "/broker-script.log"));
  ASSERT_TRUE(start.WaitForLine("plaintext=", &bootstrap_, seconds(150)));
  ASSERT_EQ(start.Wait(seconds(30)), 0);
  partitions_ = 4;  // the broker's num.partitions for the auto-created topic
  ConnectProducer();
  const uint64_t produced = 20'000;
  auto t0 = Clock::now();
  StartEmulator();
  std::string config = WriteConfig(kFastRetry);
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, produced / 2);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", 1, seconds(90)));
  Subprocess restart;
  ASSERT_TRUE(restart.Start({script, "restart", broker_dir}, dir_ + "/broker-script.log"));
  std::string line;
  ASSERT_TRUE(restart.WaitForLine("plaintext=", &line, seconds(150)));
  ASSERT_EQ(restart.Wait(seconds(30)), 0);
  Produce(produced / 2, produced / 2);
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(180)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost("kafka broker restart", produced, t0);
}

// 6. Scale-out: three gateways in one consumer group; one is killed and restarted.
TEST_F(ChaosTest, ThreeGatewaysOneKilledAndRestarted) {
  const uint64_t produced = 30'000;
  auto start = Clock::now();
  StartKafka(12);
  StartEmulator();
  std::vector<std::string> configs;
  for (const char* name : {"g1", "g2", "g3"}) configs.push_back(WriteConfig(kFastRetry, "emulator-secret", name));
  Subprocess g1, g2, g3;
  StartGateway(&g1, configs[0]);
  StartGateway(&g2, configs[1]);
  StartGateway(&g3, configs[2]);
  std::jthread producer = ProduceInBackground(0, produced, 10);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", 1, seconds(60), "g2"));
  g2.Signal(SIGKILL);
  ASSERT_EQ(g2.Wait(seconds(10)), 128 + SIGKILL);
  std::this_thread::sleep_for(seconds(3));  // the group rebalances the dead member's partitions away
  Subprocess g2b;
  StartGateway(&g2b, configs[1]);
  producer.join();
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(120)));
  uint64_t consumers_with_work = 0;
  for (const char* name : {"g1", "g2", "g3"}) {
    uint64_t v = MetricValue(Metrics(name), "sg_events_spooled_total");
    consumers_with_work += v != UINT64_MAX && v > 0 ? 1 : 0;
  }
  EXPECT_GE(consumers_with_work, 2u) << "the partitions were shared";
  for (Subprocess* g : {&g1, &g2b, &g3}) g->Signal(SIGTERM);
  for (Subprocess* g : {&g1, &g2b, &g3}) EXPECT_EQ(g->Wait(seconds(30)), 0);
  ExpectNothingLost("3 gateways, one kill -9", produced, start);
}

// 7. Disk full: the spool on a small tmpfs of its own fills up; consumption pauses and reports it;
// once space returns everything flows again and nothing is corrupted.
TEST_F(ChaosTest, DiskFullPausesAndResumes) {
  const std::string mnt = SpoolDir("full");
  std::filesystem::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); SpoolDiskFullTest covers disk full with a fault-injecting RocksDB FileSystem";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const uint64_t produced = 60'000;
  auto start = Clock::now();
  StartKafka(16);
  StartEmulator();
  EmulatorFaults("POST", R"({"outage":{"status":503,"seconds":3600}})");
  std::string config = WriteConfig(kFastRetry, "emulator-secret", "full");
  Subprocess gw;
  StartGateway(&gw, config);
  std::jthread producer([&] {
    for (uint64_t i = 0; i < produced; i += 5000) Produce(i, 5000);
  });
  ASSERT_TRUE(WaitForMetricAtLeast("sg_spool_append_failures_total", 1, seconds(120), "full"))
      << "the disk filled up";
  std::string ready;
  HttpGet(fmt::format("http://127.0.0.1:{}/readyz", metrics_ports_["full"]), &ready);
  EXPECT_NE(ready.find("kafka"), std::string::npos) << "readiness says why: " << ready;
  // Space returns, and so does Azure.
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=1g,mode=0700"), 0) << std::strerror(errno);
  EmulatorFaults("DELETE");
  producer.join();
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(180)));
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost("disk full then space", produced, start);
}

// 8. Poison: invalid JSON, invalid UTF-8, an oversized message and an event Azure rejects. Every
// good event is delivered; every bad one waits in the failed area with its reason; the rejected
// one is delivered after `sentinel-spool requeue` once the cause is fixed.
TEST_F(ChaosTest, PoisonIsQuarantinedAndRequeuable) {
  const uint64_t good = 2'000;
  auto start = Clock::now();
  StartKafka(2);
  // The DCR declares cur_riskscore as int; Azure answers 204 to a text score and drops it, so the
  // refused event is one the emulator's refuse_field fault stands for (a row-level 400).
  const std::string schema = dir_ + "/dcr.json";
  {
    nlohmann::json cols = nlohmann::json::array();
    for (auto [n, t] : std::vector<std::pair<const char*, const char*>>{
             {"tenant_id", "string"}, {"entity_id", "string"}, {"entity_type", "string"}, {"event_type", "string"},
             {"timestamp", "datetime"}, {"version", "int"}, {"seq", "long"}, {"occurrence_details_event_count", "long"},
             {"TimeGenerated", "datetime"}, {"sg_event_id", "string"}, {"cur_riskscore", "int"}}) {
      cols.push_back({{"name", n}, {"type", t}});
    }
    nlohmann::json decl;
    for (const char* s : {"userProfile", "riskScoreChange", "indicatorSummary", "indicatorEventDetails"}) {
      decl[fmt::format("Custom-CitrixAnalytics_{}_V1", s)] = {{"columns", cols}};
    }
    std::ofstream(schema) << nlohmann::json{{"properties", {{"streamDeclarations", decl}}}}.dump(2);
  }
  const int port = FreePort();
  StartEmulator({"--schema", schema}, port);
  EmulatorFaults("POST", R"({"refuse_field":"sg_refuse_me"})");
  std::string config = WriteConfig(kFastRetry);
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, good);
  // The poison, on partition 0.
  std::vector<std::string> poison = {"{\"event_type\": \"riskScoreChange\", broken",
                                     std::string("{\"event_type\":\"riskScoreChange\",\"x\":\"\xff\xfe\"}"),
                                     "{\"event_type\":\"indicatorEventDetails\",\"pad\":\"" + std::string(1'100'000, 'x') + "\"}",
                                     R"({"event_type":"riskScoreChange","timestamp":"2026-11-28T07:00:00Z","seq":999999,"sg_refuse_me":true})"};
  for (const std::string& p : poison) {
    ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", 0, p), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer_, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(WaitForAllRecorded(good, seconds(120)));
  // Wait until all four are in the failed area, then read their reasons.
  nlohmann::json failed;
  auto deadline = Clock::now() + seconds(60);
  while (Clock::now() < deadline) {
    Subprocess ls;
    ASSERT_TRUE(ls.Start({BinDir() + "/sentinel-spool", "--spool", SpoolDir(), "--json", "ls", "--failed"},
                         dir_ + "/spool-tool.log"));
    std::string out, line;
    while (ls.ReadLine(&line, seconds(10))) out += line + "\n";
    ls.Wait(seconds(10));
    failed = nlohmann::json::array();
    std::istringstream lines(out);
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_array()) {
        for (auto& b : j) failed.push_back(b);
      } else if (j.is_object()) {
        failed.push_back(j);
      }
    }
    if (failed.size() >= 4) break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  ASSERT_EQ(failed.size(), 4u) << failed.dump(2);
  std::string reasons = failed.dump();
  for (const char* r : {"invalid_json", "invalid_utf8", "too_large", "400"}) {
    EXPECT_NE(reasons.find(r), std::string::npos) << r << " missing in " << reasons;
  }
  // Fix the cause (the DCR now takes the column as it comes) and requeue the refused event.
  uint64_t refused_id = 0;
  for (const auto& b : failed) {
    if (b.value("http_status", 0) == 400) {
      refused_id = b["id"].is_string() ? std::stoull(b["id"].get<std::string>()) : b["id"].get<uint64_t>();
    }
  }
  ASSERT_NE(refused_id, 0u) << failed.dump(2);
  StopEmulator();
  StartEmulator({}, port);
  Subprocess rq;
  ASSERT_TRUE(rq.Start({BinDir() + "/sentinel-spool", "--spool", SpoolDir(), "requeue", std::to_string(refused_id)},
                       dir_ + "/requeue.log"));
  EXPECT_EQ(rq.Wait(seconds(30)), 0);
  deadline = Clock::now() + seconds(60);
  bool delivered = false;
  while (Clock::now() < deadline && !delivered) {
    delivered = ReadRecord().count.count(999999) > 0;
    if (!delivered) std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_TRUE(delivered) << "the requeued event reached Sentinel";
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  ExpectNothingLost("poison (4 bad, 1 requeued)", good, start);
}

// 9. SIGTERM during a backlog drain: exit 0 within the bound, nothing lost, the restart resumes.
TEST_F(ChaosTest, SigtermDuringBacklogDrain) {
  const uint64_t produced = 50'000;
  auto start = Clock::now();
  StartKafka(8);
  StartEmulator();
  EmulatorFaults("POST", R"({"outage":{"status":503,"seconds":3600},"latency_ms":20})");
  // Small requests, one at a time per table, against a slow Azure: the drain of the backlog takes
  // about 25 s (125 requests of 200 ms per table), so the SIGTERM below always lands inside it.
  std::string config = WriteConfig(std::string(kFastRetry) +
                                   "shutdown_grace = \"3s\"\nmax_batch_events = 100\nconcurrency = 1\n");
  Subprocess gw;
  StartGateway(&gw, config);
  Produce(0, produced);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_events_spooled_total", produced, seconds(60)));
  // The outage ends and the slowness starts in one change, with no fast moment in between.
  EmulatorFaults("POST", R"({"outage":{"seconds":0},"latency_ms":200})");
  ASSERT_TRUE(WaitForRows(1, seconds(30)));
  auto t0 = Clock::now();
  gw.Signal(SIGTERM);
  EXPECT_EQ(gw.Wait(seconds(30)), 0);
  EXPECT_LT(Clock::now() - t0, seconds(10)) << "stop is bounded";
  uint64_t before = ReadRecord().count.size();
  EXPECT_LT(before, produced) << "the stop came during the drain";
  EmulatorFaults("DELETE");
  Subprocess again;
  StartGateway(&again, config);
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(120)));
  again.Signal(SIGTERM);
  EXPECT_EQ(again.Wait(seconds(30)), 0);
  ExpectNothingLost("SIGTERM mid-drain", produced, start);
}

// 10. Everything at once (issue "no wedge"): gateway A's disk fills during an Azure outage (appends
// fail, A pauses); gateway B joins the group and must get partitions although A is stuck; B's own
// small spool crosses its high watermark (backpressure pause); space returns on A and Azure comes
// back; B drains, resumes, then leaves, and A takes every partition back, paused states included. Lost = 0, every partition consumed to its end by the gateway left standing.
TEST_F(ChaosTest, BackpressureRebalanceDiskFullAndRecoveryAtOnce) {
  const std::string mnt = SpoolDir("a");
  std::filesystem::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); IngestWedgeTest and SpoolDiskFullTest cover the parts with fault-injecting spools";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const int kPartitions = 8;
  const uint64_t first_wave = 80'000, second_wave = 10'000, third_wave = 5'000;
  auto start = Clock::now();
  StartKafka(kPartitions);
  StartEmulator();
  EmulatorFaults("POST", R"({"outage":{"status":503,"seconds":3600}})");
  // A: a spool whose disk (8 MiB) is far smaller than its max_bytes, so appends fail with ENOSPC.
  std::string config_a = WriteConfig(kFastRetry, "emulator-secret", "a");
  // B: a 3 MiB spool on a roomy disk, so it stops at its high watermark (backpressure) instead.
  std::string config_b = WriteConfig(kFastRetry, "emulator-secret", "b");
  ReplaceInConfig(config_b, "max_bytes = \"2GiB\"", "max_bytes = \"3MiB\"");
  AddToSection(config_b, "kafka", "max_batch_bytes = \"64KiB\"");
  Subprocess a;
  StartGateway(&a, config_a);
  Produce(0, first_wave);
  ASSERT_TRUE(WaitForMetricAtLeast("sg_spool_append_failures_total", 1, seconds(120), "a")) << "A's disk filled up";
  ASSERT_TRUE(WaitForMetric("a", "sg_kafka_paused", seconds(30), [](uint64_t v) { return v == 1; }));

  Subprocess b;
  auto b_start = Clock::now();
  StartGateway(&b, config_b);
  // The 15 s bound of item 0 is asserted where the join is all that happens
  // (IngestWedgeTest.FullSpoolMemberHandsPartitionsOver, IngestBrokerTest.FullSpoolMemberHands...):
  // here two cooperative rounds of the mock's join delay (about 5 s each) and A's 3 s heartbeat
  // took 12 s on a quiet machine and 16 s under tools/load-test.sh; 45 s still tells a stalled
  // group (the 59 s + 60 s of the issue) from a slow one.
  ASSERT_TRUE(WaitForMetricAtLeast("sg_kafka_assigned_partitions", 1, seconds(45), "b"))
      << "a member with a full disk must not hold up the group's rebalance";
  std::cout << fmt::format("[ chaos    ] B owned partitions {} ms after it started\n",
                           std::chrono::duration_cast<milliseconds>(Clock::now() - b_start).count());
  ASSERT_TRUE(WaitForMetricAtLeast("sg_kafka_pauses_total", 1, seconds(120), "b")) << "B reached its high watermark";

  // Space returns on A, then Azure comes back; more events arrive meanwhile.
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=1g,mode=0700"), 0) << std::strerror(errno);
  EmulatorFaults("DELETE");
  Produce(first_wave, second_wave);
  ASSERT_TRUE(WaitForMetric("b", "sg_kafka_paused", seconds(120), [](uint64_t v) { return v == 0; }))
      << "B resumed below its low watermark";
  ASSERT_TRUE(WaitForMetric("a", "sg_kafka_paused", seconds(120), [](uint64_t v) { return v == 0; }))
      << "A resumed once its appends succeeded";

  // B leaves once it has delivered what it spooled: a stopped gateway keeps its pending events in
  // its own spool until it runs again (README, "Stop"), and this B does not come back. Signalled
  // as soon as A resumed, a B still draining its share of the second wave stopped with 361,874
  // bytes pending once (CI, 2026-12-03), and no other member could deliver them.
  ASSERT_TRUE(WaitFor([&] { return NothingPending(Metrics("b")); }, seconds(120), milliseconds(200)))
      << "B's spool drained:\n" << Metrics("b");
  // B leaves; A must own every partition again and consume each to its end.
  b.Signal(SIGTERM);
  EXPECT_EQ(b.Wait(seconds(30)), 0);
  ASSERT_TRUE(WaitForMetric("a", "sg_kafka_assigned_partitions", seconds(60),
                            [&](uint64_t v) { return v == static_cast<uint64_t>(kPartitions); }));
  const uint64_t produced = first_wave + second_wave + third_wave;
  Produce(first_wave + second_wave, third_wave);
  ASSERT_TRUE(WaitForAllRecorded(produced, seconds(240))) << ReadRecord().count.size() << " of " << produced;
  EXPECT_TRUE(WaitForMetric("a", "sg_kafka_lag_messages", seconds(30), [](uint64_t v) { return v == 0; }))
      << "no partition left behind:\n" << Metrics("a");
  a.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(seconds(30)), 0);
  ExpectNothingLost("full disk + backpressure + rebalance", produced, start);
}

}  // namespace
}  // namespace sg::testing
