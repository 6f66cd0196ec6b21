// A gateway stopped (SIGTERM) while its consumer is still joining its group, before any partition
// was assigned, exits 0. librdkafka 2.0.2 aborted here with cooperative-sticky
// (rd_kafka_sticky_assignor_state_destroy: Assertion 'assignor_state' failed; issue 11).
// The mock cluster answers every JoinGroup with COORDINATOR_LOAD_IN_PROGRESS, so the gateway
// cannot get an assignment before the signal, whatever the timing.
#include <signal.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e_fixture.h"
#include "http.h"

namespace sg::testing {
namespace {

using std::chrono::seconds;

class StopBeforeAssignmentTest : public E2eFixture {};

TEST_F(StopBeforeAssignmentTest, SigtermDuringTheGroupJoinExitsZero) {
  partitions_ = 4;
  ASSERT_TRUE(kafka_.Start({BinDir() + "/kafka-mock-cluster", "--brokers", "1", "--topic", "citrix-risk",
                            "--partitions", "4", "--join-errors", "1000000"},
                           dir_ + "/kafka.log"));
  ASSERT_TRUE(kafka_.WaitForLine("bootstrap=", &bootstrap_, seconds(20)));
  ConnectProducer();
  Produce(0, 100);
  StartEmulator();
  const std::string config = WriteConfig();  // cooperative-sticky, the default
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    Subprocess gw;
    StartGateway(&gw, config);
    // Up (its metrics answer) with no partition assigned and no rebalance seen.
    ASSERT_TRUE(WaitForMetricAtLeast("sg_kafka_assigned_partitions", 0, seconds(30)));
    std::string body;
    ASSERT_EQ(HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_port_), &body), 200);
    EXPECT_EQ(MetricValue(body, "sg_kafka_assigned_partitions"), 0u);
    EXPECT_EQ(MetricValue(body, "sg_kafka_rebalances_total"), 0u);
    gw.Signal(SIGTERM);
    EXPECT_EQ(gw.Wait(seconds(30)), 0);
  }
  EXPECT_EQ(EmulatorStats().value("rows_total", uint64_t{1}), 0u);
}

}  // namespace
}  // namespace sg::testing
