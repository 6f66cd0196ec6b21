#include "sentinel_gateway/event_classifier.h"

#include <fmt/core.h>

#include "json_scan.h"

namespace sg::ingest {

Classification EventClassifier::Classify(std::string_view payload) const {
  using namespace ingest;
  Classification c;
  if (payload.size() > options_.max_event_bytes) {
    // Still worth a cheap look for the route, so an operator sees where it was going.
    c.reason = kReasonTooLarge;
    c.detail = fmt::format("message of {} bytes exceeds the delivery limit of {} bytes", payload.size(),
                           options_.max_event_bytes);
    if (FindInvalidUtf8(payload) == std::string_view::npos) {
      JsonScan s = ScanForMember(payload, "event_type", options_.max_depth);
      if (s.ok && s.member_is_string) {
        c.event_type = std::move(s.member_value);
        c.route = router_->RouteFor(c.event_type);
      }
    }
    return c;
  }
  const size_t bad = FindInvalidUtf8(payload);
  if (bad != std::string_view::npos) {
    c.reason = kReasonInvalidUtf8;
    c.detail = fmt::format("invalid UTF-8 at byte {}", bad);
    return c;
  }
  JsonScan s = ScanForMember(payload, "event_type", options_.max_depth);
  if (!s.ok) {
    c.reason = kReasonInvalidJson;
    c.detail = fmt::format("JSON syntax error at byte {}: {}", s.error_offset, s.error);
    return c;
  }
  if (!s.is_object) {
    c.reason = kReasonNotObject;
    c.detail = "the message is JSON but not an object";
    return c;
  }
  if (!s.member_is_string || s.member_value.empty()) {
    if (options_.require_event_type) {
      c.reason = kReasonMissingEventType;
      c.detail = !s.member_found ? "no event_type member"
                                 : (s.member_is_string ? "event_type is empty" : "event_type is not a string");
      return c;
    }
    c.ok = true;
    c.route = router_->default_route();
    return c;
  }
  c.ok = true;
  c.event_type = std::move(s.member_value);
  c.route = router_->RouteFor(c.event_type);
  return c;
}

}  // namespace sg::ingest
