// Injected faults (faults.h): merged into the active ones, all or nothing, unknown names refused.
#include "faults.h"

#include <gtest/gtest.h>

namespace sg::emulator {
namespace {

using nlohmann::json;

TEST(FaultsTest, MergesIntoTheActiveFaults) {
  Faults f;
  const auto now = std::chrono::steady_clock::now();
  ASSERT_TRUE(MergeFaults(json{{"failure_rate", 0.5}}, now, &f).ok());
  ASSERT_TRUE(MergeFaults(json{{"outage", {{"status", 429}, {"seconds", 2}, {"retry_after_s", 1}}}}, now, &f).ok());
  EXPECT_EQ(f.failure_rate, 0.5) << "kept from the first request";
  EXPECT_EQ(f.outage_status, 429);
  EXPECT_EQ(f.outage_until, now + std::chrono::seconds(2));
  EXPECT_EQ(f.outage_retry_after_s, 1);
}

TEST(FaultsTest, AnUnknownOrMistypedFaultChangesNothing) {
  Faults f;
  const auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(MergeFaults(json{{"failure_rate", 0.5}, {"no_such_fault", 1}}, now, &f).ok());
  EXPECT_FALSE(MergeFaults(json{{"outage", {{"status", 503}, {"minutes", 1}}}}, now, &f).ok());
  EXPECT_FALSE(MergeFaults(json{{"deny_query", true}, {"latency_ms", "slow"}}, now, &f).ok());
  EXPECT_FALSE(MergeFaults(json{{"deny_query", true}, {"token_lifetime_s", "1h"}}, now, &f).ok());
  EXPECT_FALSE(MergeFaults(json::array(), now, &f).ok());
  EXPECT_EQ(f.failure_rate, 0);
  EXPECT_EQ(f.outage_status, 0);
  EXPECT_FALSE(f.deny_query) << "all or nothing";
}

}  // namespace
}  // namespace sg::emulator
