// The emulator's model of Azure's ingestion limits (rate_limiter.h), with time passed in: the
// 429 and its Retry-After, the window, and what counts as an early retry.
#include "rate_limiter.h"

#include <gtest/gtest.h>

namespace sg::emulator {
namespace {

using std::chrono::milliseconds;
using Clock = RateLimiter::Clock;

RateLimits Small() {
  RateLimits l;
  l.requests = 3;
  l.bytes = 1000;
  l.window = milliseconds(10'000);
  return l;
}

TEST(RateLimiterTest, RefusesOverTheRequestLimitUntilTheWindowEnds) {
  RateLimiter r(Small());
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(r.Check("dcr:a", 10, "c1", t0 + milliseconds(i)));
  auto refused = r.Check("dcr:a", 10, "c1", t0 + milliseconds(3));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 10) << "the rest of the window, rounded up to whole seconds";
  EXPECT_FALSE(r.Check("dcr:b", 10, "c2", t0 + milliseconds(4))) << "each DCR has its own limit";
  EXPECT_FALSE(r.Check("dcr:a", 10, "c1", t0 + milliseconds(10'004))) << "a new window";
}

TEST(RateLimiterTest, RefusesOverTheByteLimit) {
  RateLimiter r(Small());
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(r.Check("dcr:a", 900, "c1", t0));
  EXPECT_TRUE(r.Check("dcr:a", 200, "c2", t0));
}

TEST(RateLimiterTest, ARetryBeforeRetryAfterIsRefusedAndCountedOnlyWhenSentKnowingIt) {
  RateLimiter r(Small());
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(r.Check("dcr:a", 10, "c1", t0));
  ASSERT_TRUE(r.Check("dcr:a", 10, "c1", t0));  // the 429
  r.NoteAnswer("c1", t0);
  // Another connection's request right after the 429 may have been on the wire: refused, not counted.
  EXPECT_TRUE(r.Check("dcr:a", 10, "c2", t0 + milliseconds(100)));
  EXPECT_EQ(r.early_retries(), 0u);
  // The told connection comes back early: counted.
  EXPECT_TRUE(r.Check("dcr:a", 10, "c1", t0 + milliseconds(200)));
  EXPECT_EQ(r.early_retries(), 1u);
  // Any connection past early_grace after the 429: counted.
  EXPECT_TRUE(r.Check("dcr:a", 10, "c3", t0 + milliseconds(1'500)));
  EXPECT_EQ(r.early_retries(), 2u);
  // After the Retry-After: accepted again (a new window).
  EXPECT_FALSE(r.Check("dcr:a", 10, "c4", t0 + milliseconds(10'001)));
}

TEST(RateLimiterTest, AConnectionWhosePreviousAnswerLeftAfterThe429KnewOfIt) {
  RateLimiter r(Small());
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(r.Check("dcr:a", 10, "c1", t0));
  ASSERT_TRUE(r.Check("dcr:a", 10, "c1", t0));  // the 429 at t0
  r.NoteAnswer("c2", t0 + milliseconds(300));   // c2's last answer left early_margin after it
  EXPECT_TRUE(r.Check("dcr:a", 10, "c2", t0 + milliseconds(400)));
  EXPECT_EQ(r.early_retries(), 1u);
}

}  // namespace
}  // namespace sg::emulator
