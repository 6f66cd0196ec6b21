// The outcome of one ingestion request, and what the caller should do about it.
//
// Classification (both APIs):
//   kSuccess    2xx.
//   kRetryable  no HTTP answer (timeout, connection or TLS error), 408, 429, 5xx: retry forever.
//   kAuth       401, 403, and other 4xx that signal configuration (wrong URL, unknown DCR): retry
//               with backoff and a fresh token, report loudly; an operator must fix it.
//   kPermanent  400, 413, and the Data Collector's 404 (request too large): the data itself is
//               refused; split the batch to isolate the offending events.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sg::azure {

enum class Api { kLogsIngestion, kDataCollector };

enum class Outcome { kSuccess, kRetryable, kAuth, kPermanent };

struct PostResult {
  int http_status = 0;      // 0 when there was no HTTP answer
  Outcome outcome = Outcome::kRetryable;
  std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After (or retry-after-ms)
  std::string error_code;   // Azure's error code (x-ms-error-code or body), when given
  std::string error_text;   // Azure's message or the transport error; never a secret
  bool cancelled = false;   // the caller asked to stop while the request was running

  bool ok() const { return outcome == Outcome::kSuccess; }
  // "HTTP 429 TooManyRequests: ..." or "transport: ..." for logs and the failed area.
  std::string Describe() const;
};

Outcome Classify(Api api, int http_status);
const char* OutcomeName(Outcome outcome);

}  // namespace sg::azure
