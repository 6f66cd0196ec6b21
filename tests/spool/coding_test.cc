#include "coding.h"

#include <gtest/gtest.h>

namespace sg::spool {

TEST(SpoolCodingTest, PendingKeysSortByRouteThenSeq) {
  EXPECT_LT(PendingKey("a", 2), PendingKey("a", 256));
  EXPECT_LT(PendingKey("a", UINT64_MAX), PendingKey("ab", 0));
  std::string_view route;
  uint64_t seq = 0;
  const std::string key = PendingKey("CitrixAnalytics_userProfile_CL", 77);
  ASSERT_TRUE(ParsePendingKey(key, &route, &seq));
  EXPECT_EQ(route, "CitrixAnalytics_userProfile_CL");
  EXPECT_EQ(seq, 77u);
  EXPECT_FALSE(ParsePendingKey("short", &route, &seq));
}

TEST(SpoolCodingTest, PendingValueRoundTrips) {
  std::string v;
  EncodePendingValue({"topic", 3, 12345}, 1700000000123, R"({"event_type":"riskScoreChange"})", &v);
  spool::PendingEvent e;
  ASSERT_TRUE(DecodePendingValue(v, &e).ok());
  EXPECT_EQ(e.payload, R"({"event_type":"riskScoreChange"})");
  EXPECT_EQ(e.source.topic, "topic");
  EXPECT_EQ(e.source.partition, 3);
  EXPECT_EQ(e.source.offset, 12345);
  EXPECT_EQ(e.enqueued_ms, 1700000000123);
}

TEST(SpoolCodingTest, NoSourceRoundTripsAsMinusOne) {
  std::string v;
  EncodePendingValue({}, 1, "x", &v);
  spool::PendingEvent e;
  ASSERT_TRUE(DecodePendingValue(v, &e).ok());
  EXPECT_EQ(e.source.partition, -1);
  EXPECT_EQ(e.source.offset, -1);
}

TEST(SpoolCodingTest, FailedBatchRoundTrips) {
  spool::FailedBatch b;
  b.route = "r";
  b.why = {400, "http_400", "InvalidDataFormat: bad", 3, 10, 20};
  for (int i = 0; i < 3; ++i) {
    spool::PendingEvent e;
    e.seq = 100 + i;
    e.payload = std::string(i + 1, 'x');
    e.source = {"t", i, 1000 + i};
    e.enqueued_ms = 5;
    b.events.push_back(e);
  }
  std::string v;
  EncodeFailedBatch(b, &v);
  spool::FailedBatch d;
  ASSERT_TRUE(DecodeFailedBatch(v, &d).ok());
  EXPECT_EQ(d.route, "r");
  EXPECT_EQ(d.why.http_status, 400);
  EXPECT_EQ(d.why.error_text, "InvalidDataFormat: bad");
  EXPECT_EQ(d.why.attempts, 3);
  EXPECT_EQ(d.why.first_failure_ms, 10);
  EXPECT_EQ(d.why.last_failure_ms, 20);
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events[2].payload, "xxx");
  EXPECT_EQ(d.events[2].source.offset, 1002);
  EXPECT_EQ(d.bytes, 6);
}

TEST(SpoolCodingTest, TruncatedRecordsAreCorruptionNotCrashes) {
  spool::FailedBatch b;
  b.route = "route";
  b.why.reason = "invalid_json";
  spool::PendingEvent e;
  e.payload = "payload";
  b.events.push_back(e);
  std::string v;
  EncodeFailedBatch(b, &v);
  for (size_t n = 0; n < v.size(); ++n) {
    spool::FailedBatch d;
    Status s = DecodeFailedBatch(std::string_view(v).substr(0, n), &d);
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " bytes decoded";
  }
  std::string pv;
  EncodePendingValue({"t", 1, 1}, 1, "p", &pv);
  spool::PendingEvent pe;
  EXPECT_FALSE(DecodePendingValue(std::string_view(pv).substr(0, 3), &pe).ok());
  pv[0] = 9;
  EXPECT_EQ(DecodePendingValue(pv, &pe).code(), Status::Code::kUnsupported);
}

}  // namespace sg::spool
