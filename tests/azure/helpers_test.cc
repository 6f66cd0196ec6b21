// Unit tests of the pure helpers: signature, HTTP dates, Retry-After, backoff, gzip, clouds,
// classification.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "sentinel_gateway/azure/backoff.h"
#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/column_index.h"
#include "sentinel_gateway/azure/cloud.h"
#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/post_result.h"
#include "sentinel_gateway/azure/retry_after.h"
#include "sentinel_gateway/azure/shared_key.h"
#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::azure {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

TEST(SharedKeyTest, StringToSignIsTheDocumentedOne) {
  EXPECT_EQ(SharedKeyStringToSign(1024, "Mon, 04 Apr 2016 08:00:00 GMT"),
            "POST\n1024\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs");
}

TEST(SharedKeyTest, MatchesIndependentlyComputedVector) {
  // Computed outside this code base with:
  //   printf 'POST\n1024\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs' |
  //   openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of the decoded key> -binary | base64
  // (and the same with python3 hmac).
  std::string sig;
  ASSERT_TRUE(SharedKeySignature("c2VudGluZWwtZ2F0ZXdheS10ZXN0LWtleS0wMTIzNDU2Nzg5", 1024,
                                 "Mon, 04 Apr 2016 08:00:00 GMT", &sig)
                  .ok());
  EXPECT_EQ(sig, "djdjCQthKSpQEXGdy/osuKBo0FRNgL42h1USjoJbVvA=");
}

TEST(SharedKeyTest, BadKeyIsReportedWithoutTheKey) {
  std::string sig;
  Status s = SharedKeySignature("not*base64!", 10, "x", &sig);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message().find("not*base64!"), std::string::npos);
}

TEST(Base64Test, RoundTripsAllPaddings) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back));
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
}

TEST(HttpDateTest, FormatsRfc1123InGmt) {
  auto t = system_clock::from_time_t(1459756800);  // 2016-04-04 08:00:00 UTC, a Monday
  EXPECT_EQ(FormatHttpDate(t), "Mon, 04 Apr 2016 08:00:00 GMT");
}

TEST(HttpDateTest, ParsesAllHttpForms) {
  auto want = system_clock::from_time_t(784111777);
  for (const char* s : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                        "Sun Nov  6 08:49:37 1994"}) {
    system_clock::time_point t;
    ASSERT_TRUE(ParseHttpDate(s, &t)) << s;
    EXPECT_EQ(t, want) << s;
  }
  system_clock::time_point t;
  EXPECT_FALSE(ParseHttpDate("tomorrow", &t));
  EXPECT_FALSE(ParseHttpDate("", &t));
}

TEST(HttpDateTest, RoundTrips) {
  auto now = std::chrono::floor<seconds>(system_clock::now());
  system_clock::time_point back;
  ASSERT_TRUE(ParseHttpDate(FormatHttpDate(now), &back));
  EXPECT_EQ(back, now);
}

TEST(RetryAfterTest, Seconds) {
  auto now = system_clock::now();
  EXPECT_EQ(ParseRetryAfter("0", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("17", now), milliseconds(17000));
  EXPECT_EQ(ParseRetryAfter(" 3 ", now), milliseconds(3000));
}

TEST(RetryAfterTest, HttpDate) {
  auto now = system_clock::from_time_t(784111777);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:50:07 GMT", now), milliseconds(30000));
  // A date in the past means: go ahead now.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), milliseconds(0));
}

TEST(RetryAfterTest, GarbageYieldsNothing) {
  auto now = system_clock::now();
  EXPECT_FALSE(ParseRetryAfter("", now));
  EXPECT_FALSE(ParseRetryAfter("-5", now));
  EXPECT_FALSE(ParseRetryAfter("1.5", now));
  EXPECT_FALSE(ParseRetryAfter("soon", now));
}

TEST(BackoffTest, CeilingDoublesUpToCap) {
  milliseconds initial(1000), cap(300000);
  EXPECT_EQ(BackoffCeiling(0, initial, cap), milliseconds(1000));
  EXPECT_EQ(BackoffCeiling(1, initial, cap), milliseconds(2000));
  EXPECT_EQ(BackoffCeiling(8, initial, cap), milliseconds(256000));
  EXPECT_EQ(BackoffCeiling(9, initial, cap), cap);
  EXPECT_EQ(BackoffCeiling(1000000, initial, cap), cap);  // no overflow
}

TEST(BackoffTest, FullJitterStaysWithinBoundsAndSpreads) {
  std::mt19937_64 rng(42);
  milliseconds initial(1000), cap(300000);
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto ceiling = BackoffCeiling(attempt, initial, cap);
    milliseconds lo = ceiling, hi(0);
    for (int i = 0; i < 2000; ++i) {
      auto d = FullJitterBackoff(attempt, initial, cap, rng);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: the draws cover (nearly) the whole range [0, ceiling].
    EXPECT_LT(lo.count(), ceiling.count() / 10 + 1);
    EXPECT_GT(hi.count(), ceiling.count() * 9 / 10);
  }
}

TEST(GzipTest, RoundTripAndLimits) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += "{\"event\":" + std::to_string(i) + "},";
  std::string zipped, back;
  ASSERT_TRUE(GzipCompress(data, &zipped).ok());
  EXPECT_LT(zipped.size(), data.size() / 4);
  EXPECT_EQ(static_cast<unsigned char>(zipped[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(zipped[1]), 0x8b);
  ASSERT_TRUE(GzipDecompress(zipped, data.size(), &back).ok());
  EXPECT_EQ(back, data);
  EXPECT_FALSE(GzipDecompress(zipped, data.size() - 1, &back).ok());
  EXPECT_FALSE(GzipDecompress("not gzip", 100, &back).ok());
  EXPECT_FALSE(GzipDecompress(zipped.substr(0, zipped.size() / 2), data.size(), &back).ok());
}

// A request body has a cap (1 MiB as sent): compression stops at it instead of filling a buffer
// as large as the JSON, which four workers per lane would each hold (issue 16, memory).
TEST(GzipTest, ABodyOverItsCapIsRefusedAndNothingLargerIsHeld) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += std::to_string(i * 2654435761u) + ",";
  std::string zipped, back;
  ASSERT_TRUE(GzipCompress(data, &zipped).ok());
  const size_t need = zipped.size();
  ASSERT_GT(need, 64u * 1024);
  std::string capped;
  Status s = GzipCompress(data, need - 1, &capped);
  EXPECT_TRUE(s.IsFull()) << s.ToString();
  EXPECT_LE(capped.capacity(), need);  // never the bound (about the input's size)
  ASSERT_TRUE(GzipCompress(data, need, &capped).ok());
  EXPECT_EQ(capped.size(), need);
  ASSERT_TRUE(GzipDecompress(capped, data.size(), &back).ok());
  EXPECT_EQ(back, data);
}

TEST(CloudTest, OneSettingPicksAllHosts) {
  Cloud c;
  ASSERT_TRUE(ParseCloud("usgov", &c).ok());
  EXPECT_EQ(EndpointsFor(c).login_endpoint, "https://login.microsoftonline.us");
  EXPECT_EQ(EndpointsFor(c).scope, "https://monitor.azure.us/.default");
  ASSERT_TRUE(ParseCloud("China", &c).ok());
  EXPECT_EQ(EndpointsFor(c).ods_suffix, ".ods.opinsights.azure.cn");
  ASSERT_TRUE(ParseCloud("public", &c).ok());
  EXPECT_EQ(EndpointsFor(c).scope, "https://monitor.azure.com/.default");
  EXPECT_FALSE(ParseCloud("mars", &c).ok());
}

TEST(ClassifyTest, StatusesMapToTheDocumentedOutcomes) {
  for (Api api : {Api::kLogsIngestion, Api::kDataCollector}) {
    EXPECT_EQ(Classify(api, 200), Outcome::kSuccess);
    EXPECT_EQ(Classify(api, 204), Outcome::kSuccess);
    EXPECT_EQ(Classify(api, 0), Outcome::kRetryable);
    EXPECT_EQ(Classify(api, 408), Outcome::kRetryable);
    EXPECT_EQ(Classify(api, 429), Outcome::kRetryable);
    EXPECT_EQ(Classify(api, 500), Outcome::kRetryable);
    EXPECT_EQ(Classify(api, 503), Outcome::kRetryable);
    EXPECT_EQ(Classify(api, 401), Outcome::kAuth);
    EXPECT_EQ(Classify(api, 403), Outcome::kAuth);
    EXPECT_EQ(Classify(api, 400), Outcome::kPermanent);
    EXPECT_EQ(Classify(api, 413), Outcome::kPermanent);
  }
  // A Data Collector 404 is a wrong URL (the gateway never sends more than the 30 MB that would
  // be the other reason): a request-level error, like the Logs Ingestion 404 (wrong DCR or stream).
  EXPECT_EQ(Classify(Api::kDataCollector, 404), Outcome::kAuth);
  EXPECT_EQ(Classify(Api::kLogsIngestion, 404), Outcome::kAuth);
}

TEST(ClassifyTest, RequestLevelErrorCodesStopTheRouteInsteadOfBisecting) {
  // docs/AZURE.md, "Request-level errors": a request wrong as a whole fails every row alike.
  for (const char* code : {"InvalidStream", "InactiveCustomer", "InvalidCustomerId", "InvalidLogType",
                           "MissingLogType", "InvalidApiVersion", "MissingApiVersion",
                           "UnsupportedContentType", "MissingContentType"}) {
    for (Api api : {Api::kLogsIngestion, Api::kDataCollector}) {
      EXPECT_EQ(Classify(api, 400, code), Outcome::kAuth) << code;
    }
  }
  // Row-level or unknown codes: the data may be at fault, bisection isolates it.
  EXPECT_EQ(Classify(Api::kLogsIngestion, 400, "InvalidDataFormat"), Outcome::kPermanent);
  EXPECT_TRUE(IsDataErrorCode("InvalidDataFormat"));
  EXPECT_FALSE(IsDataErrorCode("InvalidStream"));
  EXPECT_EQ(Classify(Api::kLogsIngestion, 400, ""), Outcome::kPermanent);
  EXPECT_EQ(Classify(Api::kLogsIngestion, 413, "ContentLengthLimitExceeded"), Outcome::kPermanent);
  EXPECT_EQ(Classify(Api::kLogsIngestion, 429, "TooManyRequests"), Outcome::kRetryable);
}

// Kusto's int is a signed 32-bit and long a signed 64-bit integer: an unsigned JSON number above
// their range does not fit (it used to read as a wrapped signed value: 2^64-1 as -1, an int).
// The index answers as the schema's map does: for every column of every built-in stream, every
// prefix of a column name, and names that are not there.
TEST(ColumnIndexTest, AnswersAsTheSchemasMapDoes) {
  auto map_under = [](const StreamSchema& schema, const std::string& name) {
    auto it = schema.columns.lower_bound(name + "_");
    return it != schema.columns.end() && it->first.rfind(name + "_", 0) == 0;
  };
  StreamSchema odd;
  odd.columns = {{"_a", ColumnType::kInt}, {"b__c", ColumnType::kString}, {"d_", ColumnType::kDynamic}};
  std::vector<const StreamSchema*> schemas = {&odd};
  for (const auto& [name, schema] : BuiltinStreamSchemas()) schemas.push_back(&schema);
  for (const StreamSchema* schema : schemas) {
    const ColumnIndex index(*schema);
    EXPECT_EQ(index.schema(), schema);
    std::vector<std::string> names = {"", "_", "nope", "occurrence", "AdditionalFields_x"};
    for (const auto& [column, type] : schema->columns) {
      for (size_t n = 0; n <= column.size(); ++n) names.push_back(column.substr(0, n));
      names.push_back(column + "x");
    }
    for (const std::string& name : names) {
      auto it = schema->columns.find(name);
      const ColumnType* found = index.Find(name);
      ASSERT_EQ(found != nullptr, it != schema->columns.end()) << name;
      if (found != nullptr) {
        EXPECT_EQ(*found, it->second) << name;
      }
      EXPECT_EQ(index.HasColumnsUnder(name), map_under(*schema, name)) << name;
    }
  }
}

// One reader of Azure's error bodies for the ingestion, management and Query API clients.
TEST(ParseErrorBodyTest, ReadsBothShapesAndNothingElse) {
  std::string code, message;
  EXPECT_TRUE(ParseErrorBody(R"({"error":{"code":"InvalidStream","message":"no such stream"}})", &code, &message));
  EXPECT_EQ(code, "InvalidStream");
  EXPECT_EQ(message, "no such stream");
  code.clear(), message.clear();
  EXPECT_TRUE(ParseErrorBody(R"({"Error":"InvalidLogType","Message":"bad"})", &code, &message));
  EXPECT_EQ(code, "InvalidLogType");
  EXPECT_EQ(message, "bad");
  code.clear(), message.clear();
  EXPECT_TRUE(ParseErrorBody(R"({"error":{"code":7,"message":["x"]}})", &code, &message));  // odd types: ignored
  EXPECT_EQ(code, "");
  for (const char* other : {"", "<html>502</html>", R"({"error":"text"})", "[1]"}) {
    EXPECT_FALSE(ParseErrorBody(other, &code, &message)) << other;
  }
}

TEST(ValueMatchesTest, IntegersFitOnlyWithinTheColumnsSignedRange) {
  using nlohmann::json;
  EXPECT_TRUE(ValueMatches(ColumnType::kInt, json(INT32_MAX)));
  EXPECT_TRUE(ValueMatches(ColumnType::kInt, json(INT32_MIN)));
  EXPECT_FALSE(ValueMatches(ColumnType::kInt, json(int64_t{INT32_MAX} + 1)));
  EXPECT_FALSE(ValueMatches(ColumnType::kInt, json::parse("18446744073709551615")));
  EXPECT_FALSE(ValueMatches(ColumnType::kInt, json::parse("4294967295")));
  EXPECT_TRUE(ValueMatches(ColumnType::kInt, json::parse("2147483647")));
  EXPECT_TRUE(ValueMatches(ColumnType::kLong, json::parse("9223372036854775807")));
  EXPECT_FALSE(ValueMatches(ColumnType::kLong, json::parse("9223372036854775808")));
  EXPECT_FALSE(ValueMatches(ColumnType::kLong, json::parse("18446744073709551615")));
  // Nor can they be converted: they go to AdditionalFields with their text, counted.
  for (const char* text : {"18446744073709551615", "9223372036854775808"}) {
    json v = json::parse(text);
    EXPECT_FALSE(ConvertValue(ColumnType::kLong, &v)) << text;
    json s = std::string(text);
    EXPECT_FALSE(ConvertValue(ColumnType::kLong, &s)) << text;
  }
  json w = json::parse("4294967295");
  EXPECT_FALSE(ConvertValue(ColumnType::kInt, &w));
  json l = json::parse("4294967295");
  EXPECT_TRUE(ConvertValue(ColumnType::kLong, &l));
}

}  // namespace
}  // namespace sg::azure
