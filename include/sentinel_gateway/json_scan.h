// ScanJson: the one JSON scanner, a fast validating walker that hands out raw spans of the input.
//
// Ingest classifies every Kafka message with it (a handler that picks out `event_type`,
// src/ingest/json_scan.h), the drainer reshapes every event with it (deliver/shaper.h), and the
// emulator checks every request body with it. It validates RFC 8259 strictly (UTF-8 checked by
// sentinel_gateway/utf8.h's one rule, surrogate pairs checked, numbers beyond a double refused,
// nothing after the value) without decoding anything: keys and values come back as spans of the
// input, still escaped, so a caller can copy them to its output as they are; JsonUnescape decodes
// one when needed. On failure it says where and why (JsonScanError), for the quarantine reason.
// Differential tests and fuzzers hold it to nlohmann::json::accept. Iterative: deep nesting cannot
// overflow the stack; `max_depth` bounds it for callers that want a limit.
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

#include "sentinel_gateway/utf8.h"

namespace sg {

enum class JsonKind { kString, kNumber, kTrue, kFalse, kNull };

// Where and why a scan failed: `what` is a fixed text such as "expected ':'".
struct JsonScanError {
  size_t offset = 0;
  const char* what = "";
};

namespace internal {

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

// Scans a string starting at *pp (on the opening quote); leaves *pp after the closing quote, or
// on the offending byte when it returns an error (null on success).
inline const char* ScanString(const char** pp, const char* end) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(*pp) + 1;
  const unsigned char* e = reinterpret_cast<const unsigned char*>(end);
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto fail = [&](const char* what) {
    *pp = reinterpret_cast<const char*>(p < e ? p : e);
    return what;
  };
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
    if (p >= e) return fail("unterminated string");
    unsigned char c = *p;
    if (c == '"') {
      *pp = reinterpret_cast<const char*>(p + 1);
      return nullptr;
    }
    if (c < 0x20) return fail("control character in string");
    if (c == '\\') {
      if (p + 1 >= e) return fail("unterminated string");
      unsigned char x = p[1];
      if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' ||
          x == 't') {
        p += 2;
        continue;
      }
      if (x != 'u') {
        ++p;
        return fail("invalid escape in string");
      }
      int32_t u = ReadU4(reinterpret_cast<const char*>(p + 1), end);
      if (u < 0) return fail("invalid \\u escape");
      if (u >= 0xDC00 && u <= 0xDFFF) return fail("unpaired UTF-16 surrogate in \\u escape");
      p += 6;
      if (u >= 0xD800 && u <= 0xDBFF) {
        int32_t lo = e - p >= 6 && p[0] == '\\' && p[1] == 'u' ? ReadU4(reinterpret_cast<const char*>(p + 1), end) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired UTF-16 surrogate in \\u escape");
        p += 6;
      }
      continue;
    }
    const size_t n = Utf8SequenceLength(p, e);  // RFC 3629, the one rule (utf8.h)
    if (n == 0) return fail("invalid UTF-8 in string");
    p += n;
  }
}

// Scans a number at *pp; leaves *pp after it, or where it went wrong (error text returned).
inline const char* ScanNumber(const char** pp, const char* end) {
  const char* start = *pp;
  const char* p = start;
  auto digit = [&](const char* q) { return q < end && *q >= '0' && *q <= '9'; };
  auto fail = [&](const char* what) {
    *pp = p;
    return what;
  };
  if (p < end && *p == '-') ++p;
  if (!digit(p)) return fail("invalid number");
  if (*p == '0') {
    ++p;
  } else {
    while (digit(p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (!digit(p)) return fail("invalid number: digit expected after '.'");
    while (digit(p)) ++p;
  }
  bool exponent = false;
  if (p < end && (*p == 'e' || *p == 'E')) {
    exponent = true;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (!digit(p)) return fail("invalid number: digit expected in exponent");
    while (digit(p)) ++p;
  }
  // A number too large for a double is refused (as nlohmann and .NET do). Only an exponent or a
  // very long literal can get there, so the common case never converts.
  if (exponent || p - start > 300) {
    std::string copy(start, p);
    double d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(d)) {
      p = start;
      return fail("number out of range");
    }
  }
  *pp = p;
  return nullptr;
}

}  // namespace internal

// Walks `text`, calling `h`. False when the text is not one JSON value (then *error, when given,
// says where and why), when it nests deeper than `max_depth` containers, or when the handler
// stopped the scan ("stopped by the handler").
template <typename Handler>
bool ScanJson(std::string_view text, Handler* h, JsonScanError* error = nullptr,
              size_t max_depth = static_cast<size_t>(-1)) {
  using namespace internal;
  const char* const begin = text.data();
  const char* p = begin;
  const char* end = p + text.size();
  std::vector<char> stack;  // '{' or '['
  auto fail = [&](const char* what) {
    if (error != nullptr) *error = {static_cast<size_t>(p - begin), what};
    return false;
  };
  auto stopped = [&] { return fail("stopped by the handler"); };
  auto ws = [&] {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  };
  auto key = [&](const char* expected) -> bool {  // a key and its ':'
    ws();
    if (p >= end || *p != '"') return fail(expected);
    const char* b = p;
    if (const char* why = ScanString(&p, end)) return fail(why);
    if (!h->Key(std::string_view(b + 1, static_cast<size_t>(p - b - 2)))) return stopped();
    ws();
    if (p >= end || *p != ':') return fail("expected ':'");
    ++p;
    return true;
  };
  bool expect_value = true;
  while (true) {
    ws();
    if (expect_value) {
      if (p >= end) return fail(stack.empty() && p == begin ? "empty input" : "unexpected end of input");
      const char c = *p;
      const char* b = p;
      if (c == '{' || c == '[') {
        if (stack.size() >= max_depth) return fail("nesting too deep");
        ++p;
        if (!(c == '{' ? h->StartObject() : h->StartArray())) return stopped();
        ws();
        if (p < end && *p == (c == '{' ? '}' : ']')) {
          ++p;
          if (!(c == '{' ? h->EndObject() : h->EndArray())) return stopped();
          expect_value = false;
        } else {
          stack.push_back(c);
          if (c == '{' && !key("expected a string key or '}'")) return false;
        }
        continue;
      }
      JsonKind kind;
      if (c == '"') {
        if (const char* why = ScanString(&p, end)) return fail(why);
        kind = JsonKind::kString;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (const char* why = ScanNumber(&p, end)) return fail(why);
        kind = JsonKind::kNumber;
      } else if (c == 't' || c == 'f' || c == 'n') {
        const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (static_cast<size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0) {
          return fail("invalid literal");
        }
        p += word.size();
        kind = c == 't' ? JsonKind::kTrue : c == 'f' ? JsonKind::kFalse : JsonKind::kNull;
      } else {
        return fail("expected a JSON value");
      }
      if (!h->Value(std::string_view(b, static_cast<size_t>(p - b)), kind)) return stopped();
      expect_value = false;
      continue;
    }
    if (stack.empty()) return p == end || fail("unexpected data after the JSON value");
    if (p >= end) return fail("unexpected end of input");
    const char top = stack.back();
    const char c = *p;
    if (c == ',') {
      ++p;
      if (top == '{' && !key("expected a string key")) return false;
      expect_value = true;
    } else if (c == (top == '{' ? '}' : ']')) {
      ++p;
      stack.pop_back();
      if (!(top == '{' ? h->EndObject() : h->EndArray())) return stopped();
    } else {
      return fail(top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
}

// Decodes the inner text of a JSON string (between its quotes, as ScanJson hands keys out and
// as a string value is without its quotes) into UTF-8. False when it holds an invalid escape;
// a span ScanJson accepted always decodes.
bool JsonUnescape(std::string_view escaped_inner, std::string* out);

}  // namespace sg
