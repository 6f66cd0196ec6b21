// Fuzzes the ingest classifier (sg::ingest::EventClassifier) and its scanner (json_scan.h) on arbitrary
// message bytes. Besides "no crash, no hang, no leak", it checks the classification against
// independent references:
//  - FindInvalidUtf8 agrees with a plain code-point decoder (RFC 3629);
//  - ScanJson accepts exactly what nlohmann::json accepts (for valid UTF-8 within the depth limit),
//    reports an object exactly when nlohmann sees one, and finds the same `event_type` value;
//  - a message classified ok is valid UTF-8 and a JSON object per nlohmann, with a non-empty route.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "json_scan.h"
#include "sentinel_gateway/event_classifier.h"
#include "sentinel_gateway/event_router.h"

namespace {

using sg::ingest::FindInvalidUtf8;
using sg::ingest::ScanForMember;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fuzz_classifier: invariant broken: %s\n", what);
  std::abort();
}

// Reference UTF-8 check: decode each sequence and reject overlongs, surrogates, > U+10FFFF.
size_t RefInvalidUtf8(std::string_view in) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (i + len > in.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Depth of nesting as nlohmann counts it (a scalar is 0).
int Depth(const nlohmann::json& j) {
  int d = 0;
  if (j.is_structured()) {
    for (const auto& v : j) d = std::max(d, Depth(v));
    return d + 1;
  }
  return 0;
}

const sg::ingest::EventRouter& Router() {
  static std::unique_ptr<sg::ingest::EventRouter> router = [] {
    std::unique_ptr<sg::ingest::EventRouter> r;
    if (!sg::ingest::EventRouter::Create(sg::ingest::RouterOptions{}, &r).ok()) Die("default router");
    return r;
  }();
  return *router;
}

constexpr int kMaxDepth = 16;  // small, so the fuzzer reaches the limit

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const size_t bad = FindInvalidUtf8(in);
  if (bad != RefInvalidUtf8(in)) Die("FindInvalidUtf8 disagrees with the reference decoder");
  const bool utf8 = bad == std::string_view::npos;

  // nlohmann's verdict (it validates UTF-8 inside strings; outside them only ASCII is JSON).
  nlohmann::json ref = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const bool ref_ok = !ref.is_discarded();
  // nlohmann's lexer takes a NUL byte for the end of input ("0\0junk" parses as 0), so it is no
  // reference for such input; a NUL is never valid JSON (in a string it is a control character).
  const bool has_nul = in.find('\0') != std::string_view::npos;

  if (utf8) {
    const sg::ingest::JsonScan s = ScanForMember(in, "event_type", kMaxDepth);
    const bool too_deep = !s.ok && std::string_view(s.error) == "nesting too deep";
    if (s.ok && (!ref_ok || has_nul)) Die("ScanJson accepted what nlohmann rejects, or a NUL byte");
    if (!s.ok && ref_ok && !has_nul && !(too_deep && Depth(ref) > kMaxDepth)) {
      Die("ScanJson rejected what nlohmann accepts");
    }
    if (s.ok) {
      if (Depth(ref) > kMaxDepth) Die("ScanJson accepted nesting deeper than max_depth");
      if (s.is_object != ref.is_object()) Die("is_object disagrees with nlohmann");
      if (s.is_object) {
        // nlohmann keeps the last of duplicate members, as ScanJson reports.
        auto it = ref.find("event_type");
        if (s.member_found != (it != ref.end())) Die("member_found disagrees with nlohmann");
        if (it != ref.end()) {
          if (s.member_is_string != it->is_string()) Die("member_is_string disagrees with nlohmann");
          if (it->is_string() && s.member_value != it->get<std::string>()) Die("event_type value differs");
        }
      }
      if (s.error_offset > size) Die("error offset beyond the input");
    }
    if (!s.ok && s.error_offset > size) Die("error offset beyond the input");
  }

  for (bool require : {true, false}) {
    sg::ingest::ClassifierOptions options;
    options.require_event_type = require;
    options.max_depth = kMaxDepth;
    options.max_event_bytes = 2048;  // below libFuzzer's default max_len: both sides get explored
    const sg::ingest::EventClassifier classifier(options, &Router());
    const sg::ingest::Classification c = classifier.Classify(in);
    if (c.ok) {
      if (!utf8) Die("classified ok but not valid UTF-8");
      if (!ref_ok || !ref.is_object()) Die("classified ok but not a JSON object per nlohmann");
      if (size > options.max_event_bytes) Die("classified ok but too large");
      if (c.route.empty()) Die("classified ok without a route");
      if (require && c.event_type.empty()) Die("classified ok without event_type");
      if (*c.reason != '\0') Die("ok with a reason");
    } else {
      if (*c.reason == '\0') Die("rejected without a reason");
      if (c.detail.empty() || c.detail.size() > 200) Die("detail empty or long");
    }
  }
  return 0;
}
