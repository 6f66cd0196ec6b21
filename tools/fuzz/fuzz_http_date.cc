// Fuzzes Retry-After and HTTP-date parsing (sg::azure::ParseRetryAfter, ParseHttpDate,
// FormatHttpDate). Invariants besides "no crash, no UB":
//  - ParseRetryAfter never yields a negative wait;
//  - a date ParseHttpDate accepts formats to a date that parses back to the same instant;
//  - FormatHttpDate of any whole second from 1970 to 2262 (the range of system_clock's nanosecond
//    time_point) parses back to itself, and a Retry-After with that date waits exactly the
//    difference (rounded up to whole ms).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/retry_after.h"

namespace {

using Clock = std::chrono::system_clock;

[[noreturn]] void Die(const char* what, std::string_view text) {
  std::fprintf(stderr, "fuzz_http_date: invariant broken: %s [%.*s]\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Clock::time_point now = Clock::from_time_t(1'790'000'000);  // 2026-09-21

  // The header as it arrives.
  if (auto wait = sg::azure::ParseRetryAfter(text, now)) {
    if (wait->count() < 0) Die("negative Retry-After", text);
  }
  Clock::time_point t;
  if (sg::azure::ParseHttpDate(text, &t)) {
    const std::string again = sg::azure::FormatHttpDate(t);
    Clock::time_point t2;
    if (!sg::azure::ParseHttpDate(again, &t2)) Die("a formatted date does not parse", again);
    if (t2 != t) Die("format/parse round trip changed the date", again);
  }

  // Structured: a whole second that system_clock can hold, formatted, parsed and used as Retry-After.
  FuzzedDataProvider fdp(data, size);
  constexpr int64_t kMaxSecs =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count();
  const int64_t secs = fdp.ConsumeIntegralInRange<int64_t>(0, kMaxSecs);
  const Clock::time_point at = Clock::from_time_t(static_cast<time_t>(secs));
  const std::string formatted = sg::azure::FormatHttpDate(at);
  Clock::time_point back;
  if (!sg::azure::ParseHttpDate(formatted, &back)) Die("FormatHttpDate output does not parse", formatted);
  if (back != at) Die("FormatHttpDate/ParseHttpDate round trip", formatted);
  auto wait = sg::azure::ParseRetryAfter(formatted, now);
  if (!wait) Die("Retry-After rejected an HTTP date", formatted);
  const auto expect = at <= now ? std::chrono::milliseconds(0)
                                : std::chrono::ceil<std::chrono::milliseconds>(at - now);
  if (*wait != expect) Die("Retry-After wait differs from the date", formatted);
  return 0;
}
