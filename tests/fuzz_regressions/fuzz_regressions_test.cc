// Inputs the fuzzers (tools/fuzz) found, replayed against the functions they broke.
#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "coding.h"
#include "json_scan.h"
#include "protocol.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/retry_after.h"
#include "sentinel_gateway/citrix_import.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/deliver/shaper.h"

namespace sg {
namespace {

// fuzz_config: a duration whose milliseconds do not fit in int64 overflowed (signed overflow, UB)
// in ParseDuration; a size beyond 2^64 saturated silently to 18446744073709551615 bytes.
TEST(FuzzRegressionTest, ConfigDurationAndSizeOverflowAreErrors) {
  config::Millis d{7};
  EXPECT_FALSE(config::ParseDuration("9223372036854775807s", &d).ok());
  EXPECT_FALSE(config::ParseDuration("9999999999999999d", &d).ok());
  EXPECT_FALSE(config::ParseDuration("99999999999999999999ms", &d).ok());
  EXPECT_EQ(d.count(), 7);
  ASSERT_TRUE(config::ParseDuration("9223372036854775807ms", &d).ok());
  EXPECT_EQ(d.count(), INT64_MAX);
  uint64_t b = 0;
  EXPECT_FALSE(config::ParseSize("99999999999999999999", &b).ok());
  EXPECT_FALSE(config::ParseSize("18446744073709551616B", &b).ok());
  ASSERT_TRUE(config::ParseSize("18446744073709551615", &b).ok());
  EXPECT_EQ(b, UINT64_MAX);

  const std::string text =
      "[kafka]\nbrokers = \"k:9093\"\ntopics = [\"a\", \"b\"]\ngroup_id = \"g\"\n"
      "session_timeout = \"45599999999999999999s\"\n";
  config::GatewayConfig c;
  const std::map<std::string, std::string> env;
  Status s = config::Parse(text, "fuzz.toml", "/nonexistent", &c, &env);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("kafka.session_timeout"), std::string::npos) << s.message();
}

// fuzz_spool_coding: partitions below -1 encoded to records that did not decode, and an offset of
// INT64_MAX (or a stored offset field of 2^63) overflowed the +1/-1 shift (signed overflow, UB).
TEST(FuzzRegressionTest, SpoolSourceRoundTripsForEveryPartitionAndOffset) {
  for (int32_t partition : {INT32_MIN, -2, -1, 0, INT32_MAX}) {
    for (int64_t offset : {INT64_MIN, int64_t{-1}, int64_t{0}, INT64_MAX}) {
      spool::SourceRef src{"topic", partition, offset};
      std::string v;
      spool::EncodePendingValue(src, -5, "{}", &v);
      spool::PendingEvent e;
      ASSERT_TRUE(spool::DecodePendingValue(v, &e).ok()) << partition << " " << offset;
      EXPECT_EQ(e.source.partition, partition);
      EXPECT_EQ(e.source.offset, offset);
      EXPECT_EQ(e.enqueued_ms, -5);
      EXPECT_EQ(e.payload, "{}");
    }
  }
  // Format 1, enqueued 0, partition field 0 (none), offset field 2^63 as a 10-byte varint.
  const std::string raw("\x01\x00\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01\x00{}", 16);
  spool::PendingEvent e;
  ASSERT_TRUE(spool::DecodePendingValue(raw, &e).ok());
  EXPECT_EQ(e.source.offset, INT64_MAX);
  EXPECT_EQ(e.source.partition, -1);
}

// fuzz_citrix_import: bytes that are not UTF-8 (and control characters in a value) went into the
// generated TOML unescaped, so the imported configuration did not load.
TEST(FuzzRegressionTest, CitrixImportRejectsNonUtf8AndEscapesControlCharacters) {
  config::CitrixImport out;
  const std::string bad = "input { kafka {\n  bootstrap_servers => 'casnb-eu-0.citr\xf6\xf6ix.com:9094'\n"
                          "  topics => 'tenant_eu'\n} }\n";
  Status s = config::ImportCitrixLogstash(bad, "citrix.conf", "password_file = \"p\"", &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("UTF-8"), std::string::npos) << s.message();

  const std::string ctl = "input { kafka {\n  bootstrap_servers => 'a:1\nb:2\x01\x7f'\n  topics => 'tenant_eu'\n} }\n";
  ASSERT_TRUE(config::ImportCitrixLogstash(ctl, "citrix.conf", "password_file = \"p\"", &out).ok());
  toml::table root;
  ASSERT_NO_THROW(root = toml::parse(std::string_view(out.toml), std::string_view("imported.toml"))) << out.toml;
  EXPECT_EQ(root["kafka"]["brokers"].value_or(std::string()), "a:1\nb:2\x01\x7f");
}

// fuzz_classifier: "0\0e\beve" is rejected (nlohmann::json, the fuzzer's reference, stops at the NUL
// byte and accepts it; the classifier must not).
TEST(FuzzRegressionTest, JsonScanRejectsNulByte) {
  const std::string in("0\0e\beve", 7);
  ingest::JsonScan s = ingest::ScanForMember(in, "event_type", 16);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error_offset, 1u);
}

// fuzz_http_date: an HTTP date after 2262-04-11 (the end of system_clock's nanosecond range), e.g. a
// Retry-After of "Fri, 31 Dec 9999 23:59:59 GMT", overflowed system_clock::from_time_t in
// ParseHttpDate (src/azure/http_date.cc, signed overflow, UB). Fixed there: such a date is not a date.
TEST(FuzzRegressionTest, HttpDateBeyondClockRangeIsNotADate) {
  std::chrono::system_clock::time_point t{};
  EXPECT_FALSE(azure::ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT", &t));
  const auto now = std::chrono::system_clock::from_time_t(1'790'000'000);
  EXPECT_FALSE(azure::ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now).has_value());
  ASSERT_TRUE(azure::ParseHttpDate("Fri, 11 Apr 2262 23:47:16 GMT", &t));
  EXPECT_EQ(std::chrono::system_clock::to_time_t(t), 9'223'372'036);
}

// fuzz_control_protocol: numbers a control peer sends went through nlohmann's get<integer>(), a
// static_cast: {"status":1e30} or {"ids":[-1.5e300]} is undefined behaviour (float-cast-overflow),
// {"ids":[-1]} becomes batch 18446744073709551615 and {"ids":[1.5]} batch 1. Fixed in
// src/control/protocol.cc: only integers within the field's range are accepted.
TEST(FuzzRegressionTest, ControlProtocolRejectsNonIntegerNumbers) {
  for (const char* line : {R"({"op":"requeue","all":true,"status":1e30})", R"({"op":"requeue","ids":[-1.5e300]})",
                           R"({"op":"drop","ids":[-1]})", R"({"op":"drop","ids":[1.5]})", R"({"op":"drop","ids":7})"}) {
    control::wire::json j;
    ASSERT_TRUE(control::wire::Parse(line, &j).ok()) << line;
    control::ChangeRequest r;
    EXPECT_FALSE(control::wire::DecodeChangeRequest(j, &r).ok()) << line;
  }
  control::wire::json j;
  ASSERT_TRUE(control::wire::Parse(R"({"changed":[{"id":1e300,"route":"R","events":1}],"events":2})", &j).ok());
  control::ChangeResult result;
  EXPECT_FALSE(control::wire::DecodeChangeResult(j, &result).ok());
  ASSERT_TRUE(control::wire::Parse(R"({"op":"drop","ids":[17,18]})", &j).ok());
  control::ChangeRequest r;
  ASSERT_TRUE(control::wire::DecodeChangeRequest(j, &r).ok());
  EXPECT_EQ(r.ids, (std::vector<uint64_t>{17, 18}));
}

}  // namespace
// fuzz_shaper: `{"event_type":"riskScoreChange","x":1}\0\0` was refused by the streaming shaper but
// accepted by the schema (document) path, because nlohmann stops reading at a NUL byte. Both paths
// now refuse a raw NUL, as RFC 8259 does.
TEST(FuzzRegressionTest, ShaperRefusesNulBytesOnBothPaths) {
  const std::string payload("{\"event_type\":\"riskScoreChange\",\"x\":1}\0\0", 40);
  azure::StreamSchema schema;
  schema.columns["event_type"] = azure::ColumnType::kString;
  schema.columns["x"] = azure::ColumnType::kInt;
  const azure::StreamSchema* schemas[] = {nullptr, &schema};
  for (const azure::StreamSchema* sch : schemas) {
    deliver::ShapeOptions options;
    options.schema = sch;
    std::string row;
    deliver::ShapeReport report;
    EXPECT_FALSE(deliver::ShapeEvent(payload, spool::SourceRef{"t", 0, 1}, options, &row, &report).ok())
        << (sch ? "schema path" : "streaming path");
    EXPECT_TRUE(deliver::ShapeEvent(payload.substr(0, 38), spool::SourceRef{"t", 0, 1}, options, &row, &report).ok())
        << (sch ? "schema path" : "streaming path");
  }
}

}  // namespace sg
