// Internal to sg_ingest: a strict single-pass UTF-8 and JSON (RFC 8259) validator that also picks
// out one top-level string member, without building a DOM. The consumer's hot path calls it for
// every message, so it allocates only when the member it looks for has escapes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sentinel_gateway/utf8.h"

namespace sg::ingest_internal {

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

// Validates `in` as JSON (assumed valid UTF-8) and finds the top-level member named `member`.
JsonScan ScanJson(std::string_view in, std::string_view member, int max_depth);

}  // namespace sg::ingest_internal
