// FakeAzure: the drainer's AzureClients (deliver/azure_clients.h) without HTTPS, for unit tests of
// the delivery logic.
//
// Every ingestion client it makes posts to the same script and record:
//  - Answers: queued ones (Push) are given in order, one per request, whatever the target; with
//    none queued, the responder (SetResponder: a function of the request) answers; without one,
//    204. An answer is what Azure would say (status, Retry-After, error body) or a transport error,
//    turned into a PostResult by the production classification (azure::Classify, ParseErrorBody),
//    so the drainer sees what the HTTPS client would give it.
//  - Record: every request, in the order the answers were decided: target, the body as JSON
//    (gunzipped when it came compressed), when it arrived (steady clock), what it was answered.
// The presence query answers from a set of ids (SetPresent) or with a scripted Status.
// Does not model: connections, timeouts, token requests (token_renewals is 0), cancellation of a
// request in flight (answers are immediate; `cancel` only marks a result cancelled when it is set).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/post_result.h"
#include "sentinel_gateway/deliver/azure_clients.h"

namespace sg::testing {

struct FakeAnswer {
  int http_status = 204;  // 0: no HTTP answer (transport error)
  std::optional<std::chrono::milliseconds> retry_after;
  std::string body;        // Azure's error body, e.g. {"error":{"code":"InvalidRecord","message":"..."}}
  std::string transport_error = "connection refused";  // with http_status 0

  static FakeAnswer Accepted() { return FakeAnswer{}; }
  static FakeAnswer Http(int http_status, std::string body = "") {
    FakeAnswer a;
    a.http_status = http_status;
    a.body = std::move(body);
    return a;
  }
  static FakeAnswer Throttled(std::chrono::milliseconds retry_after) {
    FakeAnswer a;
    a.http_status = 429;
    a.retry_after = retry_after;
    return a;
  }
  static FakeAnswer NetworkError(std::string what = "connection refused") {
    FakeAnswer a;
    a.http_status = 0;
    a.transport_error = std::move(what);
    return a;
  }
};

struct FakeRequest {
  std::string target;
  std::string body;  // JSON (gunzipped)
  bool gzipped = false;
  std::chrono::steady_clock::time_point at;
  int http_status = 0;  // as answered
};

class FakeAzure : public deliver::AzureClients {
 public:
  explicit FakeAzure(azure::Api api = azure::Api::kLogsIngestion);

  // Script.
  void Push(FakeAnswer answer);  // the next request's answer (queued in order)
  void Push(FakeAnswer answer, int times);
  void SetResponder(std::function<FakeAnswer(const FakeRequest&)> responder);
  void SetPresent(std::set<std::string> ids);   // the presence query finds these
  void SetQueryStatus(Status status);           // non-OK: the presence query fails so

  // Record.
  std::vector<FakeRequest> requests();
  size_t request_count();
  size_t clients_made();
  size_t queries_made();  // PresentIds calls

  // AzureClients.
  Status NewIngestionClient(const std::atomic<bool>* cancel,
                            std::unique_ptr<azure::IngestionClient>* out) override;
  Status NewPresenceQuery(const std::atomic<bool>* cancel,
                          std::unique_ptr<deliver::PresenceQuery>* out) override;
  uint64_t token_renewals() const override { return 0; }

  // Used by the clients it makes.
  azure::PostResult Answer(const std::string& target, const std::string& payload, bool gzipped,
                           const std::atomic<bool>* cancel);
  Status PresentIds(const std::vector<std::string>& ids, std::set<std::string>* present);
  azure::Api api() const { return api_; }

 private:
  const azure::Api api_;
  std::mutex mu_;
  std::deque<FakeAnswer> queued_;
  std::function<FakeAnswer(const FakeRequest&)> responder_;
  std::vector<FakeRequest> requests_;
  size_t clients_made_ = 0;
  std::set<std::string> present_;
  Status query_status_;
  size_t queries_made_ = 0;
};

}  // namespace sg::testing
