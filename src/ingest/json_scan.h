// Internal to sg_ingest: the classifier's look at a message, a handler on the one JSON scanner
// (sentinel_gateway/json_scan.h). It validates the message as JSON (RFC 8259, strict) and picks
// out one top-level string member without building a DOM. The consumer's hot path calls it for
// every message, so it allocates only when a top-level key or the member's value has escapes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sentinel_gateway/utf8.h"

namespace sg::ingest {

using sg::FindInvalidUtf8;  // sentinel_gateway/utf8.h

struct JsonScan {
  bool ok = false;          // one well-formed JSON value and nothing but white space around it
  size_t error_offset = 0;  // when !ok
  const char* error = "";   // when !ok, e.g. "expected ':'"
  bool is_object = false;   // the top-level value is an object
  bool member_found = false;      // the wanted top-level member exists
  bool member_is_string = false;  // ... and its (last) value is a string
  std::string member_value;       // decoded (unescaped) string value
};

// Validates `in` as JSON and finds the top-level member named `member`; at most `max_depth`
// nested containers.
JsonScan ScanForMember(std::string_view in, std::string_view member, int max_depth);

}  // namespace sg::ingest
