// SharedKey signature of the HTTP Data Collector API.
//
// signature = base64(HMAC-SHA256(key = base64decode(workspace key), data = UTF-8 of
//   "POST\n" + content-length + "\napplication/json\nx-ms-date:" + date + "\n/api/logs")).
// The key never leaves this function: errors name the problem, never the key.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sentinel_gateway/status.h"

namespace sg::azure {

std::string SharedKeyStringToSign(size_t content_length, std::string_view x_ms_date);

// InvalidArgument when the key is not valid base64.
Status SharedKeySignature(std::string_view base64_key, size_t content_length,
                          std::string_view x_ms_date, std::string* signature);

// Base64 helpers (OpenSSL EVP), exposed for the emulator and tests.
std::string Base64Encode(std::string_view data);
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace sg::azure
