#include "sentinel_gateway/utf8.h"

#include <cstdint>
#include <cstring>

namespace sg {

size_t FindInvalidUtf8(std::string_view in) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s + i, s + n);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace sg
