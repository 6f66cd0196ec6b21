#include "sentinel_gateway/azure/post_result.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::azure {

bool IsRequestLevelCode(std::string_view code) {
  // Logs Ingestion: an undeclared stream. Data Collector (Learn "HTTP Data Collector API", return
  // codes): a workspace gone or unknown, and the header and query errors.
  for (std::string_view c : {"InvalidStream", "InactiveCustomer", "InvalidCustomerId",
                             "InvalidLogType", "MissingLogType", "InvalidApiVersion",
                             "MissingApiVersion", "UnsupportedContentType", "MissingContentType"}) {
    if (code == c) return true;
  }
  return false;
}

bool IsDataErrorCode(std::string_view code) {
  return code == "InvalidDataFormat" || code == "InvalidPayload" || code == "InvalidRecord";
}

Outcome Classify(Api api, int http_status, std::string_view error_code) {
  (void)api;  // both APIs answer alike since the Data Collector's 404 counts as a wrong URL
  if (http_status == 400 && IsRequestLevelCode(error_code)) return Outcome::kAuth;
  if (http_status >= 200 && http_status < 300) return Outcome::kSuccess;
  if (http_status == 0 || http_status == 408 || http_status == 429 || http_status >= 500) {
    return Outcome::kRetryable;
  }
  if (http_status == 400 || http_status == 413) return Outcome::kPermanent;
  // 401, 403 and any other 4xx: a configuration problem; never a reason to drop data.
  if (http_status >= 400 && http_status < 500) return Outcome::kAuth;
  // 1xx/3xx should never reach us (libcurl follows nothing); treat as transient.
  return Outcome::kRetryable;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess: return "success";
    case Outcome::kRetryable: return "retryable";
    case Outcome::kAuth: return "auth";
    case Outcome::kPermanent: return "permanent";
  }
  return "?";
}

std::string PostResult::Describe() const {
  if (http_status == 0) return "transport: " + error_text;
  std::string s = fmt::format("HTTP {}", http_status);
  if (!error_code.empty()) s += " " + error_code;
  if (!error_text.empty()) s += ": " + error_text;
  return s;
}

bool ParseErrorBody(std::string_view body, std::string* code, std::string* message) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  auto str = [](const nlohmann::json& o, const char* key, std::string* out) {
    if (o.contains(key) && o[key].is_string()) *out = o[key].get<std::string>();
  };
  if (j.contains("error") && j["error"].is_object()) {
    str(j["error"], "code", code);
    str(j["error"], "message", message);
    return true;
  }
  if (j.contains("Error") && j["Error"].is_string()) {
    str(j, "Error", code);
    str(j, "Message", message);
    return true;
  }
  return false;
}

}  // namespace sg::azure
