// gzip (RFC 1952) for request bodies: Content-Encoding: gzip on the Logs Ingestion API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sentinel_gateway/status.h"

namespace sg::azure {

// The level request bodies are compressed at (libdeflate's scale, 1 to 12).
inline constexpr int kGzipLevel = 1;

// A gzip member (RFC 1952) of `data`, whole, into *out.
Status GzipCompress(std::string_view data, std::string* out);
// The same within max_output bytes: Full, and *out empty, when the member would be larger. The
// buffer is at most max_output, not the bound (about the input's size), so a worker compressing a
// large batch for a 1 MiB request holds about 1 MiB.
Status GzipCompress(std::string_view data, size_t max_output, std::string* out);

// Fails with InvalidArgument on bad input, and when the output would exceed max_output bytes
// (so a small "zip bomb" cannot exhaust memory).
Status GzipDecompress(std::string_view data, size_t max_output, std::string* out);

}  // namespace sg::azure
