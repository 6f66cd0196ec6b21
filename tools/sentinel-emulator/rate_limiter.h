// RateLimiter: the emulator's model of Azure Monitor's ingestion limits per DCR (Logs Ingestion)
// or workspace (Data Collector), with the Retry-After it answers and the early retries it counts.
//
// Azure refuses a request over a DCR's limits (12,000 requests or 2 GB per minute) with 429 and
// Retry-After (Learn "Logs Ingestion API in Azure Monitor", "Limits and restrictions":
// https://learn.microsoft.com/en-us/azure/azure-monitor/logs/logs-ingestion-api-overview#limits-and-restrictions;
// "Azure Monitor service limits", Logs Ingestion API:
// https://learn.microsoft.com/en-us/azure/azure-monitor/service-limits#logs-ingestion-api), and a
// request sent before that time is refused again. The "early retry" count is the emulator's own
// test surface: how often a client ignored a Retry-After it had been told.
//
// Time is passed in, so the rules are unit-tested without waiting. Not thread-safe: the emulator
// calls it under its own lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sg::emulator {

struct RateLimits {
  uint64_t requests = 12'000;
  uint64_t bytes = 2'000'000'000ull;
  std::chrono::milliseconds window{60'000};
  // A request before the Retry-After counts as an early retry when its connection was told, when
  // its connection's previous answer left early_margin after the 429, or when it arrives
  // early_grace after the 429 (before that, it may have been on the wire already).
  std::chrono::milliseconds early_margin{250};
  std::chrono::milliseconds early_grace{1000};
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimits limits) : limits_(limits) {}

  struct Refusal {
    int64_t retry_after_s = 1;  // whole seconds, at least 1, as Azure's Retry-After
    std::string message;
  };

  // A request of `bytes` to `key` ("dcr:ID", "ws:ID") on `connection` ("addr:port") at `now`:
  // nullopt when accepted (and counted), else the 429 to answer.
  std::optional<Refusal> Check(const std::string& key, uint64_t bytes, const std::string& connection,
                               Clock::time_point now);
  // An answer left on `connection` at `now` (the emulator's logger calls it for every answer).
  void NoteAnswer(const std::string& connection, Clock::time_point now);

  uint64_t early_retries() const { return early_retries_; }

 private:
  struct State {
    Clock::time_point window_start{};
    uint64_t requests = 0;
    uint64_t bytes = 0;
    Clock::time_point retry_deadline{};
    Clock::time_point retry_set{};
  };

  const RateLimits limits_;
  std::map<std::string, State> state_;                               // per key
  std::map<std::string, Clock::time_point> connection_deadlines_;  // connection -> Retry-After end
  std::map<std::string, Clock::time_point> last_answer_;           // connection -> its last answer
  uint64_t early_retries_ = 0;
};

}  // namespace sg::emulator
