// FindInvalidUtf8: the one strict UTF-8 (RFC 3629) check, for Kafka messages and config files.
//
// Overlong forms, UTF-16 surrogates and code points above U+10FFFF are invalid. ASCII runs are
// checked 8 bytes at a time: ingest calls it for every message.
#pragma once

#include <cstddef>
#include <string_view>

namespace sg {

// Length of the valid multi-byte sequence (2 to 4 bytes) that starts at `p`, whose first byte is
// not ASCII; 0 when it is not valid UTF-8 or runs past `end`. The rule every check here shares.
inline size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3, lo = 0xA0;  // no overlongs
  } else if (c >= 0xE1 && c <= 0xEC) {
    len = 3;
  } else if (c == 0xED) {
    len = 3, hi = 0x9F;  // no UTF-16 surrogates
  } else if (c >= 0xEE && c <= 0xEF) {
    len = 3;
  } else if (c == 0xF0) {
    len = 4, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Offset of the first byte that is not valid UTF-8, or npos when all of `in` is valid.
size_t FindInvalidUtf8(std::string_view in);

}  // namespace sg
