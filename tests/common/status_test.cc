#include "sentinel_gateway/status.h"

#include <gtest/gtest.h>

namespace sg {

TEST(StatusTest, OkHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::Busy("spool is in use by pid 42");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsBusy());
  EXPECT_EQ(s.ToString(), "Busy: spool is in use by pid 42");
}

}  // namespace sg
