#include "sentinel_gateway/json_scan.h"

namespace sg {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool JsonUnescape(std::string_view in, std::string* out) {
  using internal::ReadU4;
  out->clear();
  const char* p = in.data();
  const char* end = p + in.size();
  while (p < end) {
    const char* run = p;
    while (p < end && *p != '\\') ++p;
    out->append(run, static_cast<size_t>(p - run));
    if (p >= end) break;
    if (end - p < 2) return false;
    const char x = p[1];
    char simple = 0;
    switch (x) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': break;
      default: return false;
    }
    if (simple != 0) {
      out->push_back(simple);
      p += 2;
      continue;
    }
    int32_t u = ReadU4(p + 1, end);
    if (u < 0) return false;
    p += 6;
    uint32_t cp = static_cast<uint32_t>(u);
    if (u >= 0xD800 && u <= 0xDBFF) {
      const int32_t lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? ReadU4(p + 1, end) : -1;
      if (lo < 0xDC00 || lo > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + static_cast<uint32_t>(lo - 0xDC00);
      p += 6;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return false;
    }
    AppendUtf8(cp, out);
  }
  return true;
}

}  // namespace sg
