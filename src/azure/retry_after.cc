#include "sentinel_gateway/azure/retry_after.h"

#include <cctype>
#include <cstdint>

#include "sentinel_gateway/azure/http_date.h"

namespace sg::azure {

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (value.size() > 9) return std::chrono::milliseconds(int64_t{999'999'999} * 1000);
    int64_t secs = 0;
    for (char c : value) secs = secs * 10 + (c - '0');
    return std::chrono::milliseconds(secs * 1000);
  }
  std::chrono::system_clock::time_point at;
  if (!ParseHttpDate(value, &at)) return std::nullopt;
  if (at <= now) return std::chrono::milliseconds(0);
  // Round up: an HTTP date has whole seconds, and waiting a little longer is always allowed.
  return std::chrono::ceil<std::chrono::milliseconds>(at - now);
}

}  // namespace sg::azure
