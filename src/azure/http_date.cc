#include "sentinel_gateway/azure/http_date.h"

#include <curl/curl.h>

#include <ctime>
#include <string>

#include <fmt/format.h>

namespace sg::azure {

std::string FormatHttpDate(std::chrono::system_clock::time_point t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool ParseHttpDate(std::string_view text, std::chrono::system_clock::time_point* out) {
  // curl_getdate is lenient (it also takes "today" style fragments); require the shape of an HTTP
  // date: a weekday or day number first and at least one ':' for the time.
  if (text.size() < 20 || text.find(':') == std::string_view::npos) return false;
  std::string s(text);
  time_t t = curl_getdate(s.c_str(), nullptr);
  if (t < 0) return false;
  // from_time_t overflows past the clock's range (year 2262 for nanosecond clocks): not a date we use.
  constexpr auto kMaxSecs =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max()).count();
  if (t > kMaxSecs) return false;
  *out = std::chrono::system_clock::from_time_t(t);
  return true;
}

}  // namespace sg::azure
