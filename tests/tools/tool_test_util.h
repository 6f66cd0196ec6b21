// Shared by the sentinel-spool tests: a spool in a temp dir filled through the sg::Spool API, and
// the built tool run as a subprocess.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sentinel_gateway/spool.h"
#include "spool_test_util.h"
#include "subprocess.h"  // tests/support

namespace sg::testing {

inline constexpr char kRouteA[] = "CitrixAnalytics_indicatorEventDetails_V1_CL";
inline constexpr char kRouteB[] = "CitrixAnalytics_riskScoreChange_V1_CL";

// Event payloads carry a unique "n" so that tests can count deliveries per event.
inline std::string Payload(int64_t n) { return R"({"event_type":"riskScoreChange","n":)" + std::to_string(n) + "}"; }

inline int64_t PayloadN(const std::string& payload) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  return j.is_object() && j.contains("n") ? j["n"].get<int64_t>() : -1;
}

// Appends `n` events numbered from *next to `route`.
inline void AppendEvents(spool::Spool* spool, const std::string& route, int n, int64_t* next) {
  spool::AppendBatch b;
  for (int i = 0; i < n; ++i) {
    int64_t k = (*next)++;
    b.events.push_back(MakeEvent(route, Payload(k), static_cast<int32_t>(k % 2), k));
    b.offsets.push_back({"citrix-risk", static_cast<int32_t>(k % 2), k});
  }
  ASSERT_TRUE(spool->Append(b).ok());
}

// Fails the `n` oldest pending events of `route` as one batch; returns its id.
inline uint64_t FailHead(spool::Spool* spool, const std::string& route, size_t n, int http_status,
                         const std::string& text = "The request was rejected") {
  std::vector<spool::PendingEvent> events;
  EXPECT_TRUE(spool->Read(route, 0, n, SIZE_MAX, &events).ok());
  std::vector<uint64_t> seqs;
  for (const spool::PendingEvent& e : events) seqs.push_back(e.seq);
  spool::FailureInfo why;
  why.http_status = http_status;
  why.reason = "http_" + std::to_string(http_status);
  why.error_text = text;
  why.attempts = 3;
  uint64_t id = 0;
  EXPECT_TRUE(spool->Fail(route, seqs, why, &id).ok());
  return id;
}

inline uint64_t Quarantine(spool::Spool* spool, const std::string& payload) {
  spool::AppendBatch b;
  spool::QuarantinedMessage q;
  q.payload = payload;
  q.source = {"citrix-risk", 0, 999};
  q.why.reason = "invalid_json";
  q.why.error_text = "parse error at byte 5";
  b.quarantined.push_back(q);
  EXPECT_TRUE(spool->Append(b).ok());
  std::vector<spool::FailedBatch> all;
  EXPECT_TRUE(spool->ListFailed(0, 100000, "", &all).ok());
  return all.empty() ? 0 : all.back().id;
}

inline RunResult Tool(const std::vector<std::string>& args, const std::string& input = "") {
  std::vector<std::string> argv = {SENTINEL_SPOOL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, input);
}

// JSON lines of a tool's stdout.
inline std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> v;
  for (const std::string& l : Lines(out)) {
    if (!l.empty()) v.push_back(nlohmann::json::parse(l));
  }
  return v;
}

}  // namespace sg::testing
