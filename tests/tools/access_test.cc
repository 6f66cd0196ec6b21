// sentinel-spool's access to an idle spool (issue 12 item 7): a reading command must never hold the
// writer's lock, or a gateway starting at that moment exits 3 and systemd keeps it down.
#include "access.h"

#include <gtest/gtest.h>

#include "spool_test_util.h"

namespace sg::spooltool {
namespace {

TEST(SpoolToolAccessTest, AReadingCommandLeavesTheLockToAGatewayStartingMeanwhile) {
  sg::testing::TempDir dir;
  const std::string path = dir.Sub("spool");
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), path, &s).ok());
    spool::AppendBatch b;
    b.events.push_back(sg::testing::MakeEvent("CitrixAnalytics_riskScoreChange_CL", "{}", 0, 0));
    ASSERT_TRUE(s->Append(b).ok());
  }
  Access reading;
  Status s = reading.Open(path, Intent::kRead, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_NE(reading.spool(), nullptr);
  spool::SpoolStats stats;
  ASSERT_TRUE(reading.spool()->Stats(&stats).ok());
  EXPECT_EQ(stats.appended_total, 1u);

  // The gateway starts while the command is still reading: it gets the spool at once.
  std::unique_ptr<spool::Spool> gateway;
  s = spool::Spool::Open(spool::SpoolOptions(), path, &gateway);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // ... and the reading command still reads what it opened.
  std::vector<spool::PendingEvent> out;
  EXPECT_TRUE(reading.spool()->Read("CitrixAnalytics_riskScoreChange_CL", 0, 10, SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace sg::spooltool
