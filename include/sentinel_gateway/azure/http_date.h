// HTTP dates (RFC 1123, "Sun, 06 Nov 1994 08:49:37 GMT"): the x-ms-date header of the Data
// Collector API and the date form of Retry-After.
//
// Formatting is locale-independent and always GMT. Parsing accepts every form HTTP allows
// (RFC 1123, RFC 850, asctime) through libcurl's parser.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sg::azure {

std::string FormatHttpDate(std::chrono::system_clock::time_point t);

// False when `text` is not an HTTP date.
bool ParseHttpDate(std::string_view text, std::chrono::system_clock::time_point* out);

}  // namespace sg::azure
