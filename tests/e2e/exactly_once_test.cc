// Exactly once into Sentinel (issue 15): the gateway killed (kill -9) between Azure's acceptance
// of a batch and the spool's ack. With [sentinel] dedupe = "query" the batches in doubt are
// checked against the Log Analytics Query API (the emulator's, with an ingestion delay) and
// nothing arrives twice; with dedupe = "off" the duplicates it causes are measured and reported.
// Real processes: Kafka mock cluster, the HTTPS emulator (certificate verified), gateways.
//
// Knob: SG_CHAOS_KILLS (default 30) kills in the random-moment scenario.
#include <signal.h>

#include <fstream>
#include <optional>
#include <iostream>
#include <set>
#include <random>
#include <sstream>
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


class ExactlyOnceTest : public E2eFixture {
 protected:
  std::string Metrics() {
    std::string body;
    HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_["gateway"]), &body);
    return body;
  }

  // The conditions scrape metrics or read the emulator's records: polled every 100 ms.
  template <typename Pred>
  bool WaitFor(seconds timeout, Pred ok) {
    return testing::WaitFor(ok, timeout, milliseconds(100));
  }

  // The emulator serves the Query API; a row is queryable 1 s after its 204 (Azure: 20 s to
  // minutes; the gateway's dedupe_wait is set above it, as an operator's must be).
  void StartEmulatorWithQueries() { StartEmulator({"--query-api", "--ingestion-delay-ms", "1000"}); }

  std::string Config(bool dedupe, const std::string& wait = "3s") {
    std::string config = WriteConfig(
        "[delivery]\nbackoff_initial = \"100ms\"\nbackoff_cap = \"2s\"\nmax_batch_events = 200\n"
        "linger = \"50ms\"\nshutdown_grace = \"1s\"\n");
    AddToSection(config, "sentinel",
                 fmt::format("workspace_id = \"00000000-0000-0000-0000-000000000001\"\nquery_endpoint = \"{}\"\n"
                             "dedupe = \"{}\"\ndedupe_wait = \"{}\"\ndedupe_query_timeout = \"20s\"",
                             emulator_url_, dedupe ? "query" : "off", wait));
    return config;
  }

  // Waits until every event is in Sentinel and the gateway holds nothing (no event pending, none
  // in doubt), then stops it: anything it would still post would be a duplicate. *metrics: its
  // last metrics.
  void DrainAndStop(Subprocess* gw, uint64_t produced, std::string* metrics = nullptr) {
    ASSERT_TRUE(WaitFor(seconds(180), [&] { return ReadRecord().count.size() >= produced; }))
        << ReadRecord().count.size() << " of " << produced;
    ASSERT_TRUE(WaitFor(seconds(60), [&] {
      std::string m = Metrics();
      return NothingPending(m) && MetricSum(m, "sg_in_doubt_events") == 0;
    })) << Metrics();
    if (metrics != nullptr) *metrics = Metrics();
    gw->Signal(SIGTERM);
    EXPECT_EQ(gw->Wait(seconds(30)), 0);
  }

  uint64_t Duplicates(const Recorded& r) { return r.rows - r.count.size(); }

  // Kill -9 at a moment known to be between Azure's acceptance and the ack: the emulator holds
  // its answers (answer_delay_ms) and has accepted rows the gateway has not heard about.
  // Returns the rows accepted before the kill was sent: a lower bound (requests on the wire may
  // still be accepted until the process is gone).
  uint64_t KillBetweenAcceptAndAck(const std::string& config, uint64_t produced) {
    EmulatorFaults("POST", R"({"answer_delay_ms": 4000})");
    Subprocess gw;
    StartGateway(&gw, config);
    Produce(0, produced);
    EXPECT_TRUE(WaitFor(seconds(60), [&] {
      return EmulatorStats().value("rows_total", uint64_t{0}) > 0 && MetricSum(Metrics(), "sg_requests_in_flight") > 0;
    }));
    const uint64_t accepted = EmulatorStats().value("rows_total", uint64_t{0});
    gw.Signal(SIGKILL);
    EXPECT_EQ(gw.Wait(seconds(10)), 128 + SIGKILL);
    EmulatorFaults("DELETE");
    return accepted;
  }
};

// The deterministic case: one kill while accepted batches wait for their answer.
TEST_F(ExactlyOnceTest, KillBetweenAcceptAndAckWithDedupeDuplicatesNothing) {
  const uint64_t produced = 4'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulatorWithQueries();
  std::string config = Config(true);
  const uint64_t accepted = KillBetweenAcceptAndAck(config, produced);
  ASSERT_GT(accepted, 0u);

  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitFor(seconds(30), [&] { return MetricSum(Metrics(), "sg_in_doubt_events") > 0; }))
      << "the accepted batches are in doubt at the restart";
  ASSERT_TRUE(WaitFor(seconds(120), [&] {
    return MetricSum(Metrics(), "sg_in_doubt_resolved_total", "already_delivered") > 0;
  })) << Metrics();
  std::string m;
  DrainAndStop(&gw, produced, &m);
  const uint64_t already = MetricSum(m, "sg_in_doubt_resolved_total", "already_delivered");
  Recorded r = ReadRecord();
  Report("kill -9 after accept, dedupe", produced, r, start);
  std::cout << fmt::format("[ exactly  ] accepted before the kill {}, found by the query {}\n", accepted, already);
  EXPECT_GE(already, accepted) << "every row accepted before the kill was found";
  EXPECT_EQ(r.count.size(), produced) << "lost";
  EXPECT_EQ(Duplicates(r), 0u);
  EXPECT_EQ(MetricSum(m, "sg_in_doubt_resolution_failures_total"), 0u);
}

// The same kill with dedupe off: the accepted batches are posted again, each one a duplicate.
TEST_F(ExactlyOnceTest, KillBetweenAcceptAndAckWithoutDedupeDuplicatesTheAccepted) {
  const uint64_t produced = 4'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulatorWithQueries();
  std::string config = Config(false);
  const uint64_t accepted = KillBetweenAcceptAndAck(config, produced);
  ASSERT_GT(accepted, 0u);
  Subprocess gw;
  StartGateway(&gw, config);
  DrainAndStop(&gw, produced);
  Recorded r = ReadRecord();
  Report("kill -9 after accept, no dedupe", produced, r, start);
  EXPECT_EQ(r.count.size(), produced) << "lost";
  EXPECT_GE(Duplicates(r), accepted) << "dedupe off posts the accepted batches again";
}

// The Query API refuses (no Log Analytics Reader): the events in doubt are posted as before,
// nothing is lost, and the reason is in the metrics.
TEST_F(ExactlyOnceTest, QueryRefusedPostsTheEventsAndSaysWhy) {
  const uint64_t produced = 4'000;
  auto start = Clock::now();
  StartKafka(4);
  StartEmulatorWithQueries();
  std::string config = Config(true);
  const uint64_t accepted = KillBetweenAcceptAndAck(config, produced);
  ASSERT_GT(accepted, 0u);
  EmulatorFaults("POST", R"({"deny_query": true})");
  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitFor(seconds(120), [&] {
    return MetricSum(Metrics(), "sg_in_doubt_resolution_failures_total", "reason=\"forbidden\"") > 0;
  })) << Metrics();
  DrainAndStop(&gw, produced);
  Recorded r = ReadRecord();
  Report("kill -9 after accept, 403", produced, r, start);
  EXPECT_EQ(r.count.size(), produced) << "lost";
  EXPECT_GE(Duplicates(r), accepted) << "unchecked, the accepted batches are posted again";
}

// The resolution never delays events that were not in doubt: new events at 1,000 per second,
// from before the wait ends until after the resolution, reach Azure while the events in doubt are
// still held. Their latency is printed; the p99 target (< 2 s) is measured by
// `e2e-bench --only resolution` (docs/BENCHMARKS.md), not asserted here.
TEST_F(ExactlyOnceTest, NewEventsFlowWhileTheEventsInDoubtAreHeld) {
  const uint64_t first = 4'000;
  StartKafka(4);
  StartEmulatorWithQueries();
  // The wait outlasts Kafka's group join even on a loaded machine (the join took more than 6 s
  // under CI's load), so the resolution falls inside the measured window.
  std::string config = Config(true, "20s");
  ASSERT_GT(KillBetweenAcceptAndAck(config, first), 0u);
  Subprocess gw;
  StartGateway(&gw, config);
  ASSERT_TRUE(WaitFor(seconds(30), [&] { return MetricSum(Metrics(), "sg_in_doubt_events") > 0; }));
  // Kafka's own start (the group join) is not the resolution's: measured from assignment on.
  ASSERT_TRUE(WaitFor(seconds(60), [&] { return MetricSum(Metrics(), "sg_kafka_assigned_partitions") == 4; }));
  ASSERT_GT(MetricSum(Metrics(), "sg_in_doubt_events"), 0u) << "still held: the wait is not over";
  // 1,000 events/s from the assignment until 3 s after the resolution ended (at most 60 s): the
  // rest of the wait, the queries, the posts after them, and what follows.
  const uint64_t rate = 1000;
  uint64_t sent = 0;
  std::optional<Clock::time_point> resolved;
  int64_t resolved_ms = 0;  // the same moment on the clock the emulator's received_ms uses
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < 60 * rate; ++i) {
    if (i % 100 == 0) std::this_thread::sleep_until(t0 + milliseconds(i * 1000 / rate));  // pacing, not sync
    if (i % 500 == 0 && !resolved && MetricSum(Metrics(), "sg_in_doubt_events") == 0) {
      resolved = Clock::now();
      resolved_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    if (resolved && Clock::now() > *resolved + seconds(3)) break;
    ++sent;
    const uint64_t seq = first + i;
    nlohmann::json e = nlohmann::json::parse(Event(seq));
    e["produced_ms"] = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", static_cast<int32_t>(seq % 4), e.dump()), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer_, 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(resolved.has_value()) << "no resolution within 60 s of the assignment";
  const uint64_t produced = first + sent;
  std::string m;
  DrainAndStop(&gw, produced, &m);
  EXPECT_GT(MetricSum(m, "sg_in_doubt_resolved_total", "already_delivered"), 0u) << "a resolution took place";
  std::vector<int64_t> latency;
  uint64_t accepted_while_held = 0;  // new events Azure took before the resolution was seen over
  std::ifstream in(dir_ + "/rows.jsonl");
  std::string line;
  std::set<uint64_t> seen;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j["row"].contains("produced_ms")) continue;
    if (!seen.insert(j["row"].value("seq", uint64_t{0})).second) continue;
    latency.push_back(j.value("received_ms", int64_t{0}) - j["row"].value("produced_ms", int64_t{0}));
    accepted_while_held += j.value("received_ms", int64_t{0}) < resolved_ms ? 1 : 0;
  }
  ASSERT_EQ(latency.size(), sent);
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double p) { return latency[std::min(latency.size() - 1, static_cast<size_t>(p * latency.size()))]; };
  std::cout << fmt::format("[ latency  ] new events during a resolution, 1,000/s, {} events: p50 {} ms, p99 {} ms, "
                           "max {} ms; {} accepted while the events in doubt were held\n",
                           sent, pct(0.50), pct(0.99), latency.back(), accepted_while_held);
  EXPECT_GT(accepted_while_held, 0u) << "new events waited for the resolution";
  Recorded r = ReadRecord();
  EXPECT_EQ(r.count.size(), produced);
  EXPECT_EQ(Duplicates(r), 0u);
}

// Many kill -9 at random moments during full-speed delivery: each gateway is killed a random
// 0-500 ms after it has requests out, while the emulator holds its answers a second (so most
// kills find accepted batches unacknowledged) and rows become queryable 1 s after acceptance.
// Runs both ways, so one run shows the difference.
class ExactlyOnceChaosTest : public ExactlyOnceTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ExactlyOnceChaosTest, KillNineAtRandomMoments) {
  const bool dedupe = GetParam();
  const int kills = EnvInt("SG_CHAOS_KILLS", 30);
  const uint64_t produced = static_cast<uint64_t>(kills) * 2000;
  auto start = Clock::now();
  StartKafka(8);
  StartEmulatorWithQueries();
  EmulatorFaults("POST", R"({"answer_delay_ms": 1000})");
  std::string config = Config(dedupe);
  Produce(0, produced);
  std::mt19937 rng(std::random_device{}());
  int done = 0;
  for (; done < kills; ++done) {
    Subprocess gw;
    StartGateway(&gw, config);
    // Delivering: a request is out (or everything has arrived, and the kills are over).
    bool sending = false;
    ASSERT_TRUE(WaitFor(seconds(60), [&] {
      sending = MetricSum(Metrics(), "sg_requests_in_flight") > 0;
      return sending || ReadRecord().count.size() >= produced;
    }));
    if (sending) std::this_thread::sleep_for(milliseconds(rng() % 500));  // the kill moment is random by design
    gw.Signal(SIGKILL);
    ASSERT_EQ(gw.Wait(seconds(10)), 128 + SIGKILL);
    if (!sending) break;
  }
  EmulatorFaults("DELETE");
  Subprocess gw;
  StartGateway(&gw, config);
  std::string m;
  DrainAndStop(&gw, produced, &m);
  Recorded r = ReadRecord();
  Report(fmt::format("kill -9 x{}, dedupe {}", done, dedupe ? "query" : "off"), produced, r, start);
  EXPECT_EQ(r.count.size(), produced) << "lost";
  EXPECT_GE(done, std::min(kills, 10)) << "the kills landed during delivery";
  if (dedupe) {
    EXPECT_EQ(Duplicates(r), 0u);
  } else {
    std::cout << fmt::format("[ exactly  ] dedupe off: {} duplicates from {} kills\n", Duplicates(r), done);
  }
}

INSTANTIATE_TEST_SUITE_P(Dedupe, ExactlyOnceChaosTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Query" : "Off"; });

}  // namespace
}  // namespace sg::testing
