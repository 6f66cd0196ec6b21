// Unit tests: routing by event_type and classification of every kind of bad input.
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../src/ingest/json_scan.h"
#include "sentinel_gateway/event_classifier.h"
#include "sentinel_gateway/event_router.h"

namespace sg::ingest {
namespace {

std::unique_ptr<EventRouter> DefaultRouter() {
  std::unique_ptr<EventRouter> r;
  EXPECT_TRUE(EventRouter::Create(RouterOptions{}, &r).ok());
  return r;
}

TEST(EventRouter, DefaultsCoverEveryCitrixType) {
  auto r = DefaultRouter();
  EXPECT_EQ(r->RouteFor("userProfileRiskscore"), "CitrixAnalytics_userProfile");
  EXPECT_EQ(r->RouteFor("userProfileApp"), "CitrixAnalytics_userProfile");
  EXPECT_EQ(r->RouteFor("userProfileLocation"), "CitrixAnalytics_userProfile");
  EXPECT_EQ(r->RouteFor("userProfileUsage"), "CitrixAnalytics_userProfile");
  EXPECT_EQ(r->RouteFor("userProfileDevice"), "CitrixAnalytics_userProfile");
  EXPECT_EQ(r->RouteFor("riskScoreChange"), "CitrixAnalytics_riskScoreChange");
  EXPECT_EQ(r->RouteFor("indicatorSummary"), "CitrixAnalytics_indicatorSummary");
  EXPECT_EQ(r->RouteFor("indicatorEventDetails"), "CitrixAnalytics_indicatorEventDetails");
  EXPECT_EQ(r->RouteFor("datasourceSPAEventDetails"), "CitrixAnalytics_SPA_Events");
  EXPECT_EQ(r->RouteFor("datasourceDPSEventDetails"), "CitrixAnalytics_SPA_Events");
  EXPECT_EQ(r->RouteFor("datasourceCVADEventDetails"), "CitrixAnalytics_CVAD_Events");
  EXPECT_EQ(r->RouteFor("datasourceCCCEventDetails"), "CitrixAnalytics_CCC_Events");
  EXPECT_EQ(r->RouteFor("somethingNew"), kDefaultCatchAllRoute);
  // Exact names are exact: a longer name falls to the catch-all.
  EXPECT_EQ(r->RouteFor("riskScoreChangeV2"), kDefaultCatchAllRoute);
  EXPECT_EQ(r->RouteFor("userprofileApp"), kDefaultCatchAllRoute);  // case matters
}

TEST(EventRouter, ConfiguredRulesFirstMatchWins) {
  RouterOptions o;
  o.rules = {{"userProfileRiskscore", "Scores"}, {"userProfile*", "Profiles"}, {"*x*", "never"}};
  std::unique_ptr<EventRouter> r;
  EXPECT_FALSE(EventRouter::Create(o, &r).ok());  // '*' in the middle
  o.rules.pop_back();
  o.default_route = "Other";
  ASSERT_TRUE(EventRouter::Create(o, &r).ok());
  EXPECT_EQ(r->RouteFor("userProfileRiskscore"), "Scores");
  EXPECT_EQ(r->RouteFor("userProfileApp"), "Profiles");
  EXPECT_EQ(r->RouteFor("riskScoreChange"), "Other");
}

TEST(EventRouter, RejectsEmptyRoutesAndPatterns) {
  std::unique_ptr<EventRouter> r;
  RouterOptions o;
  o.default_route = "";
  EXPECT_EQ(EventRouter::Create(o, &r).code(), Status::Code::kInvalidArgument);
  o = RouterOptions{};
  o.rules.push_back({"", "X"});
  EXPECT_EQ(EventRouter::Create(o, &r).code(), Status::Code::kInvalidArgument);
  o = RouterOptions{};
  o.rules.push_back({"x", ""});
  EXPECT_EQ(EventRouter::Create(o, &r).code(), Status::Code::kInvalidArgument);
}

class ClassifierTest : public ::testing::Test {
 protected:
  ClassifierTest() : router_(DefaultRouter()), classifier_(ClassifierOptions{}, router_.get()) {}
  Classification C(std::string_view s) { return classifier_.Classify(s); }
  std::unique_ptr<EventRouter> router_;
  EventClassifier classifier_;
};

constexpr const char* kSamples[] = {
    R"({"tenant_id":"jimex9vbhnya","cur_riskscore":25,"timestamp":"2021-11-05T10:07:33.652Z","event_type":"userProfileRiskscore","version":2,"entity_id":"sanitized@sanitized.com","entity_type":"user"})",
    R"({"app":"Remote Desktop Client","cnt":1,"entity_id":"sanitized@sanitized.com","entity_type":"user","event_type":"userProfileApp","session_domain":"CITRITE","tenant_id":"jimex9vbhnya","timestamp":"2021-12-15T01:00:00Z","user_samaccountname":"CITRITE\\robertova","version":2})",
    R"({"entity_id":"ff2b0724a14c8b3165f596dc88affc18a27303d6fec9ece4185530bb89890cd9","tenant_id":"mejpn5behdhc","alert_value":2.0,"cur_riskscore":2,"alert_type":"riskscore_increase","alert_message":"Risk score increase since last check","event_type":"riskScoreChange","entity_type":"user","timestamp":"2021-09-17T20:14:59Z","version":2})",
    R"({
        "tenant_id": "jimex9vbhnya", "indicator_id": 0, "indicator_uuid": "43a838da-fc21-55bf-a0e4-060090070eeb",
        "indicator_vector": { "name": "Insider Threat - Files", "id": "6" }, "timestamp": "2021-06-08T06:59:59Z",
        "event_type": "indicatorSummary", "entity_type": "user", "version": 2, "risk_probability": 1,
        "occurrence_details": { "event_count": 9, "relevant_event_type": "Download",
          "exfiltrated_data_volume_in_bytes": 307800000, "observation_start_time": "2021-06-08T06:00:00Z" } })",
    R"({"tenant_id":"jimex9vbhnya","indicator_id":0,"indicator_vector":{"id":6,"name":"File-Based Risk Indicators"},"event_type":"indicatorEventDetails","latitude":33.8697,"longitude":-118.3693,"file_size_in_bytes":70000000,"city":"Z\u00fcrich \ud83d\ude00","tags":[],"x":{},"n":null,"t":true,"f":false,"e":-1.5e-3})",
};

TEST_F(ClassifierTest, CitrixSamplesAreRouted) {
  const char* routes[] = {"CitrixAnalytics_userProfile", "CitrixAnalytics_userProfile",
                          "CitrixAnalytics_riskScoreChange", "CitrixAnalytics_indicatorSummary",
                          "CitrixAnalytics_indicatorEventDetails"};
  for (size_t i = 0; i < std::size(kSamples); ++i) {
    Classification c = C(kSamples[i]);
    EXPECT_TRUE(c.ok) << i << ": " << c.reason << " " << c.detail;
    EXPECT_EQ(c.route, routes[i]) << i;
    EXPECT_TRUE(nlohmann::json::accept(kSamples[i])) << i;
  }
}

TEST_F(ClassifierTest, EventTypeWithEscapesAndNestedDecoys) {
  // Only the top-level member counts; escapes are decoded; the last duplicate wins (as nlohmann).
  Classification c = C(R"({"x":{"event_type":"riskScoreChange"},"event\u005ftype":"indicator\u0053ummary"})");
  ASSERT_TRUE(c.ok) << c.detail;
  EXPECT_EQ(c.event_type, "indicatorSummary");
  EXPECT_EQ(c.route, "CitrixAnalytics_indicatorSummary");
  c = C(R"({"event_type":"riskScoreChange","event_type":"indicatorSummary"})");
  EXPECT_EQ(c.route, "CitrixAnalytics_indicatorSummary");
  c = C(R"({"x":{"event_type":"riskScoreChange"}})");
  EXPECT_FALSE(c.ok);
  EXPECT_STREQ(c.reason, kReasonMissingEventType);
}

TEST_F(ClassifierTest, InvalidUtf8IsQuarantined) {
  const std::string cases[] = {
      std::string("{\"event_type\":\"riskScoreChange\",\"city\":\"Z\xfc") + "rich\"}",  // Latin-1
      std::string("{\"event_type\":\"a\xc0\xaf\"}"),        // overlong '/'
      std::string("{\"event_type\":\"a\xed\xa0\x80\"}"),    // UTF-16 surrogate encoded
      std::string("{\"event_type\":\"a\xf4\x90\x80\x80\"}"),  // above U+10FFFF
      std::string("{\"event_type\":\"a\xe2\x82\"}"),        // truncated sequence
      std::string("\xff"),
  };
  for (const std::string& s : cases) {
    Classification c = C(s);
    EXPECT_FALSE(c.ok);
    EXPECT_STREQ(c.reason, kReasonInvalidUtf8) << s;
    EXPECT_NE(c.detail.find("invalid UTF-8 at byte"), std::string::npos);
    EXPECT_FALSE(nlohmann::json::accept(s));
  }
  EXPECT_STREQ(C("{\"event_type\":\"a\xc3\xbc\"}").reason, "");  // valid 2-byte sequence
  EXPECT_EQ(ingest::FindInvalidUtf8("abcdefghij\xff"), 10u);
}

TEST_F(ClassifierTest, InvalidJsonIsQuarantined) {
  const char* cases[] = {
      "",
      "   ",
      "{",
      "{\"event_type\":\"riskScoreChange\"",
      "{\"event_type\":\"riskScoreChange\",}",
      "{\"event_type\" \"riskScoreChange\"}",
      "{event_type:\"riskScoreChange\"}",
      "{'event_type':'riskScoreChange'}",
      "{\"event_type\":\"riskScoreChange\"} // comment",
      "{\"event_type\":\"riskScoreChange\"}{}",
      "{\"a\":NaN,\"event_type\":\"x\"}",
      "{\"a\":01,\"event_type\":\"x\"}",
      "{\"a\":1.,\"event_type\":\"x\"}",
      "{\"a\":.5,\"event_type\":\"x\"}",
      "{\"a\":1e,\"event_type\":\"x\"}",
      "{\"a\":+1,\"event_type\":\"x\"}",
      "{\"a\":1e999,\"event_type\":\"x\"}",
      "{\"a\":tru,\"event_type\":\"x\"}",
      "{\"a\":[1,2,],\"event_type\":\"x\"}",
      "{\"a\":\"tab\there\",\"event_type\":\"x\"}",
      "{\"a\":\"\\x41\",\"event_type\":\"x\"}",
      "{\"a\":\"\\ud800\",\"event_type\":\"x\"}",
      "{\"a\":\"\\udc00\\ud800\",\"event_type\":\"x\"}",
      "{\"a\":\"\\u12g4\",\"event_type\":\"x\"}",
      "{\"event_type\":\"riskScoreChange\"]",
  };
  for (const char* s : cases) {
    Classification c = C(s);
    EXPECT_FALSE(c.ok) << s;
    EXPECT_STREQ(c.reason, kReasonInvalidJson) << s;
    EXPECT_NE(c.detail.find("JSON syntax error at byte"), std::string::npos) << c.detail;
    EXPECT_FALSE(nlohmann::json::accept(s)) << s;
  }
  // Control characters and the payload itself never leak into the detail.
  Classification c = C("{\"password\":\"hunter2\" oops}");
  EXPECT_EQ(c.detail.find("hunter2"), std::string::npos);
}

TEST_F(ClassifierTest, NestingDeeperThanTheLimitIsInvalid) {
  std::string deep = "{\"event_type\":\"x\",\"a\":" + std::string(200, '[') + std::string(200, ']') + "}";
  Classification c = C(deep);
  EXPECT_STREQ(c.reason, kReasonInvalidJson);
  EXPECT_NE(c.detail.find("nesting too deep"), std::string::npos);
  std::string ok = "{\"event_type\":\"x\",\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_TRUE(C(ok).ok);
}

TEST_F(ClassifierTest, NotAnObjectIsQuarantined) {
  for (const char* s : {"[]", "[{\"event_type\":\"riskScoreChange\"}]", "\"riskScoreChange\"", "42", "null",
                        "true"}) {
    Classification c = C(s);
    EXPECT_FALSE(c.ok) << s;
    EXPECT_STREQ(c.reason, kReasonNotObject) << s;
  }
}

TEST_F(ClassifierTest, MissingEventTypeIsQuarantinedWhenRequired) {
  for (const char* s : {"{}", "{\"eventType\":\"riskScoreChange\"}", "{\"event_type\":null}",
                        "{\"event_type\":7}", "{\"event_type\":\"\"}", "{\"event_type\":{\"a\":1}}"}) {
    Classification c = C(s);
    EXPECT_FALSE(c.ok) << s;
    EXPECT_STREQ(c.reason, kReasonMissingEventType) << s;
  }
  ClassifierOptions lax;
  lax.require_event_type = false;
  EventClassifier k(lax, router_.get());
  Classification c = k.Classify("{\"event_type\":7}");
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.route, kDefaultCatchAllRoute);
}

TEST_F(ClassifierTest, TooLargeIsQuarantinedWithItsRoute) {
  ClassifierOptions small;
  small.max_event_bytes = 100;
  EventClassifier k(small, router_.get());
  std::string big = "{\"event_type\":\"indicatorEventDetails\",\"pad\":\"" + std::string(100, 'x') + "\"}";
  Classification c = k.Classify(big);
  EXPECT_FALSE(c.ok);
  EXPECT_STREQ(c.reason, kReasonTooLarge);
  EXPECT_EQ(c.route, "CitrixAnalytics_indicatorEventDetails");
  EXPECT_NE(c.detail.find("exceeds the delivery limit of 100 bytes"), std::string::npos);
  std::string fits = "{\"event_type\":\"indicatorEventDetails\",\"pad\":\"" + std::string(50, 'x') + "\"}";
  EXPECT_TRUE(k.Classify(fits).ok);
}

// The hand-written scanner must agree with a full JSON parser on accept/reject.
TEST(JsonScan, AgreesWithNlohmannOnMutatedInputs) {
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]:,\"\\ 0123456789.eE+-tfnulrsa\x01\xc3\xa9";
  int checked = 0;
  for (const char* sample : kSamples) {
    const std::string base = sample;
    for (int i = 0; i < 4000; ++i) {
      std::string s = base;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        const size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 2: s.erase(pos, 1); break;
          case 3: s.resize(pos); break;
        }
      }
      if (ingest::FindInvalidUtf8(s) != std::string::npos) continue;
      auto scan = ingest::ScanForMember(s, "event_type", 128);
      const bool expected = nlohmann::json::accept(s);
      ASSERT_EQ(scan.ok, expected) << "input: " << s << "\nscanner error: " << scan.error;
      if (expected) {
        auto j = nlohmann::json::parse(s);
        ASSERT_EQ(scan.is_object, j.is_object()) << s;
        if (j.is_object() && j.contains("event_type") && j["event_type"].is_string()) {
          ASSERT_TRUE(scan.member_is_string) << s;
          ASSERT_EQ(scan.member_value, j["event_type"].get<std::string>()) << s;
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 10000);
}

}  // namespace
}  // namespace sg::ingest
