// sg-spool-fixture: fills a spool with Citrix-like content, or stands in for a running gateway
// (holds the spool read-write and serves the control socket). Used by the docs' transcript and by
// hand; the tests build their spools in-process.
//   sg-spool-fixture fill DIR     append pending events, failed batches and a quarantined message
//   sg-spool-fixture serve DIR    hold DIR like a gateway and serve DIR/control.sock until SIGTERM
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sentinel_gateway/control.h"
#include "sentinel_gateway/spool.h"

namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Event(const std::string& type, int i) {
  json j = {{"tenant_id", "jimex9vbhnya"},
            {"event_type", type},
            {"entity_type", "user"},
            {"entity_id", fmt::format("user{}@example.com", i % 37)},
            {"timestamp", fmt::format("2026-11-28T07:{:02}:{:02}Z", (i / 60) % 60, i % 60)},
            {"version", 2}};
  if (type == "riskScoreChange") {
    j["risk_score"] = 40 + i % 60;
    j["previous_risk_score"] = 30 + i % 50;
  } else if (type == "indicatorEventDetails") {
    j["indicator_id"] = i % 9;
    j["indicator_uuid"] = fmt::format("ebc8e26c-3434-5572-b59a-{:012}", i);
    j["indicator_vector"] = {{"id", 6}, {"name", "File-Based Risk Indicators"}};
    j["file_name"] = fmt::format("File{}.txt", i);
    j["file_size_in_bytes"] = 70000000 + i;
    j["client_ip"] = "104.203.191.202";
    j["city"] = "Los Angeles";
    j["country"] = "United States";
  }
  return j.dump();
}

sg::Status Fill(sg::spool::Spool* spool) {
  const std::string kChange = "CitrixAnalytics_riskScoreChange_V1_CL";
  const std::string kDetails = "CitrixAnalytics_indicatorEventDetails_V1_CL";
  int64_t offset = 0;
  auto append = [&](const std::string& route, const std::string& type, int n) {
    sg::spool::AppendBatch b;
    for (int i = 0; i < n; ++i) {
      sg::spool::NewEvent e;
      e.route = route;
      e.payload = Event(type, static_cast<int>(offset));
      e.source = {"citrix-risk-events", static_cast<int32_t>(offset % 3), offset / 3};
      ++offset;
      b.events.push_back(std::move(e));
    }
    // The highest offset this batch holds per partition (the spool takes what its recorded
    // offsets cover as already spooled, so they must not claim more).
    for (const sg::spool::NewEvent& e : b.events) b.offsets.push_back({e.source.topic, e.source.partition, e.source.offset});
    return spool->Append(b);
  };
  auto fail = [&](const std::string& route, size_t n, int http, const std::string& reason,
                  const std::string& text, int attempts, int64_t ago_ms) {
    std::vector<sg::spool::PendingEvent> events;
    sg::Status s = spool->Read(route, 0, n, SIZE_MAX, &events);
    if (!s.ok()) return s;
    std::vector<uint64_t> seqs;
    for (const auto& e : events) seqs.push_back(e.seq);
    sg::spool::FailureInfo why{http, reason, text, attempts, NowMs() - ago_ms - 60'000, NowMs() - ago_ms};
    uint64_t id = 0;
    return spool->Fail(route, seqs, why, &id);
  };
  sg::Status s = append(kDetails, "indicatorEventDetails", 120);
  if (s.ok()) s = fail(kDetails, 50, 400, "http_400",
                      "InvalidStream: The stream 'Custom-CitrixAnalytics_indicatorEventDetails_V1' "
                      "is not declared in the DCR dcr-0f3c2a... (DataCollectionRuleStreamNotFound)",
                      1, 12 * 60'000);
  if (s.ok()) s = fail(kDetails, 40, 403, "http_403",
                      "Forbidden: the application lacks the Monitoring Metrics Publisher role on "
                      "the DCR", 1, 7 * 60'000);
  if (s.ok()) s = append(kChange, "riskScoreChange", 1500);
  if (s.ok()) s = fail(kChange, 200, 503, "http_503", "Service Unavailable", 12, 3 * 60'000);
  if (s.ok()) s = append(kDetails, "indicatorEventDetails", 300);
  if (s.ok()) {
    sg::spool::AppendBatch b;
    sg::spool::QuarantinedMessage q;
    q.payload = R"({"event_type":"riskScoreChange","tenant_id":"jimex9vbhnya","risk_score":)";
    q.source = {"citrix-risk-events", 1, offset / 3 + 1};
    q.why.reason = "invalid_json";
    q.why.error_text = "parse error at byte 68: unexpected end of input";
    b.quarantined.push_back(q);
    b.offsets.push_back(q.source.topic.empty() ? sg::spool::PartitionOffset{} : sg::spool::PartitionOffset{q.source.topic, 1, q.source.offset});
    s = spool->Append(b);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: sg-spool-fixture fill|serve DIR\n");
    return 2;
  }
  const std::string cmd = argv[1], dir = argv[2];
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  std::unique_ptr<sg::spool::Spool> spool;
  sg::Status s = sg::spool::Spool::Open(sg::spool::SpoolOptions(), dir, &spool);
  if (!s.ok()) {
    fmt::print(stderr, "{}\n", s.ToString());
    return 1;
  }
  if (cmd == "fill") {
    s = Fill(spool.get());
    if (!s.ok()) fmt::print(stderr, "{}\n", s.ToString());
    return s.ok() ? 0 : 1;
  }
  if (cmd != "serve") return 2;
  sg::control::ControlServerOptions o;
  o.log = [](const std::string& line) { fmt::print(stderr, "fixture: {}\n", line); };
  std::unique_ptr<sg::control::ControlServer> server;
  s = sg::control::ControlServer::Start(spool.get(), o, &server);
  if (!s.ok()) {
    fmt::print(stderr, "{}\n", s.ToString());
    return 1;
  }
  fmt::print("ready {}\n", ::getpid());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server->Stop();
  return 0;
}
