// The emulator's KQL subset (kql.h): the gateway's own query parses as meant, and anything outside
// the subset is refused with a reason rather than answered wrongly.
#include "kql.h"

#include <gtest/gtest.h>

#include "sentinel_gateway/azure/query_client.h"

namespace sg::emulator {
namespace {

TEST(KqlTest, TheGatewaysQueryParsesAsMeant) {
  // 2026-12-01T10:00:00.123Z
  const int64_t t = 1'764'583'200'123;
  const std::string text = azure::PresentIdsQuery("CitrixAnalytics_riskScoreChange_V1_CL", "sg_event_id",
                                                  {"citrix-risk/0/1", "a \"quoted\" id"}, t);
  KqlQuery q;
  std::string error;
  ASSERT_TRUE(ParseKql(text, &q, &error)) << error << "\n" << text;
  EXPECT_EQ(q.table, "CitrixAnalytics_riskScoreChange_V1_CL");
  EXPECT_EQ(q.time_from_ms, t);
  EXPECT_FALSE(q.time_strict);
  ASSERT_EQ(q.in_filters.size(), 1u);
  EXPECT_EQ(q.in_filters[0].first, "sg_event_id");
  EXPECT_EQ(q.in_filters[0].second, (std::set<std::string>{"citrix-risk/0/1", "a \"quoted\" id"}));
  EXPECT_EQ(q.project, (std::vector<std::string>{"sg_event_id"}));
}

TEST(KqlTest, APipeInsideAStringIsNotAStage) {
  KqlQuery q;
  std::string error;
  ASSERT_TRUE(ParseKql(R"(T | where id in ("a|b", "c") | project id, other)", &q, &error)) << error;
  EXPECT_EQ(q.in_filters[0].second, (std::set<std::string>{"a|b", "c"}));
  EXPECT_EQ(q.project, (std::vector<std::string>{"id", "other"}));
  EXPECT_EQ(q.time_from_ms, INT64_MIN) << "no time bound";
}

TEST(KqlTest, WhatIsOutsideTheSubsetIsRefusedWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"T | summarize count()", "does not support the operator"},
      {"T | where TimeGenerated >= datetime(yesterday)", "is not a date"},
      {"T | where id in (1, 2)", "string literals"},
      {"T | project a b", "column names"},
      {"| where id in (\"a\")", "table name"},
  };
  for (const auto& [text, why] : cases) {
    KqlQuery q;
    std::string error;
    EXPECT_FALSE(ParseKql(text, &q, &error)) << text;
    EXPECT_NE(error.find(why), std::string::npos) << text << ": " << error;
  }
}

TEST(KqlTest, IsoTimesToMilliseconds) {
  int64_t ms = 0;
  ASSERT_TRUE(ParseIsoMs("1970-01-01T00:00:01.5Z", &ms));
  EXPECT_EQ(ms, 1500);
  ASSERT_TRUE(ParseIsoMs("1970-01-02T00:00:00Z", &ms));
  EXPECT_EQ(ms, 86'400'000);
  EXPECT_FALSE(ParseIsoMs("01/02/1970", &ms));
}

}  // namespace
}  // namespace sg::emulator
