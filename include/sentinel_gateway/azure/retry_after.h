// Retry-After: how long a server asked us to wait before the next request.
//
// Accepts delay-seconds ("120") and an HTTP date. A date in the past means "now" (zero).
// Anything else is not a Retry-After and yields nothing, so the caller falls back to backoff.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace sg::azure {

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace sg::azure
