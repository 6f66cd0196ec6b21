// ScanJson: a fast validating JSON walker that hands out raw spans of the input.
//
// The drainer reshapes every event and the emulator checks every request body; nlohmann's lexer
// (which builds each string byte by byte) was most of the CPU of a drain. ScanJson validates the
// same grammar (RFC 8259: strict, UTF-8 checked, surrogate pairs checked, nothing after the
// value) without decoding anything: keys and values come back as spans of the input, still
// escaped, so a caller can copy them to its output as they are. A differential test holds it to
// nlohmann::json::accept on random and mutated inputs. Iterative: deep nesting cannot overflow
// the stack.
//
// Handler (all return false to abort the scan):
//   bool StartObject(); bool EndObject(); bool StartArray(); bool EndArray();
//   bool Key(std::string_view escaped_inner);          // between the quotes
//   bool Value(std::string_view raw, JsonKind kind);   // strings include their quotes
#pragma once

#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace sg::azure {

enum class JsonKind { kString, kNumber, kTrue, kFalse, kNull };

namespace json_scan_internal {

inline int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads \uXXXX at p (p points at 'u'); returns the code unit or -1.
inline int32_t ReadU4(const char* p, const char* end) {
  if (end - p < 5) return -1;
  int32_t v = 0;
  for (int i = 1; i <= 4; ++i) {
    int h = Hex(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Scans a string starting at *pp (on the opening quote); leaves *pp after the closing quote.
inline bool ScanString(const char** pp, const char* end) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(*pp) + 1;
  const unsigned char* e = reinterpret_cast<const unsigned char*>(end);
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  while (true) {
    // Fast path: plain printable ASCII, 8 bytes at a time while no byte is a quote, a backslash,
    // a control character or non-ASCII (the classic "has zero byte" bit tricks).
    while (e - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
      uint64_t special = ((q - kOnes) & ~q) | ((b - kOnes) & ~b) | ((w - kOnes * 0x20) & ~w) | w;
      if ((special & kHighs) != 0) break;
      p += 8;
    }
    while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
    if (p >= e) return false;
    unsigned char c = *p;
    if (c == '"') {
      *pp = reinterpret_cast<const char*>(p + 1);
      return true;
    }
    if (c < 0x20) return false;
    if (c == '\\') {
      if (p + 1 >= e) return false;
      unsigned char x = p[1];
      if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' ||
          x == 't') {
        p += 2;
        continue;
      }
      if (x != 'u') return false;
      int32_t u = ReadU4(reinterpret_cast<const char*>(p + 1), end);
      if (u < 0) return false;
      p += 6;
      if (u >= 0xDC00 && u <= 0xDFFF) return false;  // a low surrogate alone
      if (u >= 0xD800 && u <= 0xDBFF) {
        if (e - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
        int32_t lo = ReadU4(reinterpret_cast<const char*>(p + 1), end);
        if (lo < 0xDC00 || lo > 0xDFFF) return false;
        p += 6;
      }
      continue;
    }
    // UTF-8 multi-byte sequence (RFC 3629).
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c == 0xE0) {
      n = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 2;
    } else if (c == 0xED) {
      n = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 3;
    } else if (c == 0xF4) {
      n = 3, hi = 0x8F;
    } else {
      return false;
    }
    if (e - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += n + 1;
  }
}

inline bool ScanNumber(const char** pp, const char* end) {
  const char* p = *pp;
  auto digit = [&](const char* q) { return q < end && *q >= '0' && *q <= '9'; };
  if (p < end && *p == '-') ++p;
  if (!digit(p)) return false;
  if (*p == '0') {
    ++p;
  } else {
    while (digit(p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (!digit(p)) return false;
    while (digit(p)) ++p;
  }
  bool exponent = false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    exponent = true;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (!digit(p)) return false;
    while (digit(p)) ++p;
  }
  // A number too large for a double is refused (as nlohmann and .NET do). Only an exponent or a
  // very long literal can get there, so the common case never converts.
  if (exponent || p - *pp > 300) {
    std::string copy(*pp, p);
    double d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(d)) return false;
  }
  *pp = p;
  return true;
}

}  // namespace json_scan_internal

template <typename Handler>
bool ScanJson(std::string_view text, Handler* h) {
  using namespace json_scan_internal;
  const char* p = text.data();
  const char* end = p + text.size();
  std::vector<char> stack;  // '{' or '['
  auto ws = [&] {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  };
  auto key = [&]() -> bool {  // a key and its ':'
    ws();
    if (p >= end || *p != '"') return false;
    const char* b = p;
    if (!ScanString(&p, end)) return false;
    if (!h->Key(std::string_view(b + 1, static_cast<size_t>(p - b - 2)))) return false;
    ws();
    if (p >= end || *p != ':') return false;
    ++p;
    return true;
  };
  bool expect_value = true;
  while (true) {
    ws();
    if (expect_value) {
      if (p >= end) return false;
      const char c = *p;
      const char* b = p;
      if (c == '{') {
        ++p;
        if (!h->StartObject()) return false;
        ws();
        if (p < end && *p == '}') {
          ++p;
          if (!h->EndObject()) return false;
          expect_value = false;
        } else {
          stack.push_back('{');
          if (!key()) return false;
        }
        continue;
      }
      if (c == '[') {
        ++p;
        if (!h->StartArray()) return false;
        ws();
        if (p < end && *p == ']') {
          ++p;
          if (!h->EndArray()) return false;
          expect_value = false;
        } else {
          stack.push_back('[');
        }
        continue;
      }
      JsonKind kind;
      if (c == '"') {
        if (!ScanString(&p, end)) return false;
        kind = JsonKind::kString;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!ScanNumber(&p, end)) return false;
        kind = JsonKind::kNumber;
      } else if (end - p >= 4 && std::memcmp(p, "true", 4) == 0) {
        p += 4;
        kind = JsonKind::kTrue;
      } else if (end - p >= 5 && std::memcmp(p, "false", 5) == 0) {
        p += 5;
        kind = JsonKind::kFalse;
      } else if (end - p >= 4 && std::memcmp(p, "null", 4) == 0) {
        p += 4;
        kind = JsonKind::kNull;
      } else {
        return false;
      }
      if (!h->Value(std::string_view(b, static_cast<size_t>(p - b)), kind)) return false;
      expect_value = false;
      continue;
    }
    if (stack.empty()) return p == end;
    if (p >= end) return false;
    const char c = *p++;
    if (c == ',') {
      if (stack.back() == '{' && !key()) return false;
      expect_value = true;
    } else if (c == '}' && stack.back() == '{') {
      stack.pop_back();
      if (!h->EndObject()) return false;
    } else if (c == ']' && stack.back() == '[') {
      stack.pop_back();
      if (!h->EndArray()) return false;
    } else {
      return false;
    }
  }
}

}  // namespace sg::azure
