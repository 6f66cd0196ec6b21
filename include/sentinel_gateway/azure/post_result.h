// The outcome of one ingestion request, and what the caller should do about it.
//
// Classification (both APIs):
//   kSuccess    2xx.
//   kRetryable  no HTTP answer (timeout, connection or TLS error), 408, 429, 5xx: retry forever.
//   kAuth       401, 403, and the request-level errors (docs/AZURE.md, "Request-level errors"):
//               other 4xx such as 404 (wrong URL, unknown DCR or stream; the Data Collector's 404
//               too: the gateway never sends the 30 MB that would be its other reason) and 400 with
//               a request-level code (InvalidStream, InactiveCustomer, InvalidCustomerId, ...):
//               retry with backoff and a fresh token, report loudly; an operator must fix it.
//   kPermanent  400 with another code, 413: the data itself is refused; split the batch to
//               isolate the offending events.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sg::azure {

enum class Api { kLogsIngestion, kDataCollector };

enum class Outcome { kSuccess, kRetryable, kAuth, kPermanent };

// The longest Retry-After honoured (docs/AZURE.md, "Retry-After"); longer answers are capped.
inline constexpr std::chrono::milliseconds kMaxRetryAfter{10 * 60 * 1000};

struct PostResult {
  int http_status = 0;      // 0 when there was no HTTP answer
  Outcome outcome = Outcome::kRetryable;
  // From retry-after-ms, x-ms-retry-after-ms or Retry-After; at most kMaxRetryAfter. It applies
  // to the route that received it only.
  std::optional<std::chrono::milliseconds> retry_after;
  std::string error_code;   // Azure's error code (x-ms-error-code or body), when given
  std::string error_text;   // Azure's message or the transport error; never a secret
  bool cancelled = false;   // the caller asked to stop while the request was running

  bool ok() const { return outcome == Outcome::kSuccess; }
  // "HTTP 429 TooManyRequests: ..." or "transport: ..." for logs and the failed area.
  std::string Describe() const;
};

Outcome Classify(Api api, int http_status, std::string_view error_code = {});
// True for the 400 error codes that say the request as a whole is wrong, whatever its rows.
bool IsRequestLevelCode(std::string_view error_code);
// True for the 400 error codes that blame the data (a row can be at fault): never taken for a
// request-level error, however many halves get them.
bool IsDataErrorCode(std::string_view error_code);
const char* OutcomeName(Outcome outcome);
// Azure's error body: {"error": {"code", "message"}} (Logs Ingestion, ARM, the Query API) or the
// Data Collector API's {"Error", "Message"}. False, nothing set, when the body is neither.
bool ParseErrorBody(std::string_view body, std::string* code, std::string* message);

}  // namespace sg::azure
