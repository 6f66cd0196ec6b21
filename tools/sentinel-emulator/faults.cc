#include "faults.h"

#include <set>

namespace sg::emulator {

Status MergeFaults(const nlohmann::json& j, std::chrono::steady_clock::time_point now, Faults* faults) {
  if (!j.is_object()) return Status::InvalidArgument("faults must be a JSON object");
  static const std::set<std::string> kKnown = {
      "outage", "failure_rate", "failure_status", "failure_code", "latency_ms", "hang",
      "hang_rate", "hang_seconds", "close", "close_rate", "token_lifetime_s", "expire_tokens",
      "refuse_field", "deny_dcr_read", "refuse_inflated_above", "deny_query", "ingestion_delay_ms", "answer_delay_ms"};
  for (const auto& [k, v] : j.items()) {
    if (!kKnown.count(k)) return Status::InvalidArgument("unknown fault " + k);
  }
  Faults f = *faults;
  try {
    if (j.contains("outage")) {
      const nlohmann::json& o = j["outage"];
      if (!o.is_object()) return Status::InvalidArgument("outage must be an object");
      for (const auto& [k, v] : o.items()) {
        if (k != "status" && k != "seconds" && k != "retry_after_s" && k != "code" && k != "stream") {
          return Status::InvalidArgument("unknown outage field " + k);
        }
      }
      f.outage_status = o.value("status", 503);
      f.outage_code = o.value("code", std::string());
      f.outage_stream = o.value("stream", std::string());
      f.outage_until = now + std::chrono::milliseconds(static_cast<int64_t>(o.value("seconds", 60.0) * 1000));
      f.outage_retry_after_s = o.value("retry_after_s", int64_t{-1});
    }
    f.failure_rate = j.value("failure_rate", f.failure_rate);
    f.failure_status = j.value("failure_status", f.failure_status);
    f.failure_code = j.value("failure_code", f.failure_code);
    f.refuse_field = j.value("refuse_field", f.refuse_field);
    f.deny_dcr_read = j.value("deny_dcr_read", f.deny_dcr_read);
    f.deny_query = j.value("deny_query", f.deny_query);
    f.answer_delay_ms = j.value("answer_delay_ms", f.answer_delay_ms);
    f.ingestion_delay_ms = j.value("ingestion_delay_ms", f.ingestion_delay_ms);
    f.refuse_inflated_above = j.value("refuse_inflated_above", f.refuse_inflated_above);
    f.latency_ms = j.value("latency_ms", f.latency_ms);
    f.hang = j.value("hang", f.hang);
    f.hang_rate = j.value("hang_rate", f.hang_rate);
    f.hang_seconds = j.value("hang_seconds", f.hang_seconds);
    f.close = j.value("close", f.close);
    f.close_rate = j.value("close_rate", f.close_rate);
    // Applied by the caller, but checked here so that a bad one changes nothing.
    if (j.contains("token_lifetime_s") && !j["token_lifetime_s"].is_number_integer()) {
      return Status::InvalidArgument("bad fault: token_lifetime_s must be an integer");
    }
    if (j.contains("expire_tokens") && !j["expire_tokens"].is_boolean()) {
      return Status::InvalidArgument("bad fault: expire_tokens must be true or false");
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("bad fault: ") + e.what());
  }
  *faults = f;
  return Status::OK();
}

}  // namespace sg::emulator
