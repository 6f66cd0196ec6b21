// EventClassifier: turns one raw Kafka message value into either a routed event or a reason to
// quarantine it.
//
// A message becomes an event only when it is valid UTF-8, one well-formed JSON value (RFC 8259,
// strict: no comments, no trailing commas, no NaN), a JSON object, has a string `event_type` at
// its top level (when required) and is no larger than the delivery limit. Anything else gets a
// machine-readable reason (see the kReason* constants) and a short human-readable detail that
// never quotes the payload. Classification is a single pass without building a DOM (it runs on
// the consumer's hot path).
//
// Thread safety: const methods, safe from any thread while the router outlives the classifier.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sentinel_gateway/event_router.h"

namespace sg::ingest {

inline constexpr const char* kReasonInvalidUtf8 = "invalid_utf8";
inline constexpr const char* kReasonInvalidJson = "invalid_json";
inline constexpr const char* kReasonNotObject = "not_object";
inline constexpr const char* kReasonMissingEventType = "missing_event_type";
inline constexpr const char* kReasonTooLarge = "too_large";

struct ClassifierOptions {
  // Events without a string `event_type` are quarantined; when false they take the catch-all route.
  bool require_event_type = true;
  // Largest event the delivery can send (the Logs Ingestion API caps a request at 1 MiB).
  size_t max_event_bytes = 1000000;
  // Deepest nesting of arrays and objects accepted (protects the parser's stack).
  int max_depth = 128;
};

struct Classification {
  bool ok = false;
  std::string route;       // the event's route; for a rejected message the best guess or ""
  std::string event_type;  // when one was found
  const char* reason = ""; // a kReason* constant when !ok
  std::string detail;      // e.g. "JSON syntax error at byte 17: expected ':'"
};

class EventClassifier {
 public:
  // `router` must outlive the classifier.
  EventClassifier(const ClassifierOptions& options, const EventRouter* router)
      : options_(options), router_(router) {}

  Classification Classify(std::string_view payload) const;

 private:
  ClassifierOptions options_;
  const EventRouter* router_;
};

}  // namespace sg::ingest
