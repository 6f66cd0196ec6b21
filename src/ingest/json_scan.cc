#include "json_scan.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace sg::ingest_internal {

namespace {

class Scanner {
 public:
  Scanner(std::string_view in, std::string_view member, int max_depth)
      : p_(in.data()), n_(in.size()), member_(member), max_depth_(max_depth) {}

  JsonScan Run();

 private:
  bool Fail(const char* what) {
    if (out_.error[0] == '\0') {
      out_.error = what;
      out_.error_offset = i_;
    }
    return false;
  }
  void SkipWs() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(size_t at, uint32_t* v) {
    if (at + 4 > n_) return false;
    uint32_t r = 0;
    for (size_t k = 0; k < 4; ++k) {
      int h = Hex(p_[at + k]);
      if (h < 0) return false;
      r = (r << 4) | static_cast<uint32_t>(h);
    }
    *v = r;
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
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
  // Parses a string starting at the opening quote. On success *raw is the content between the
  // quotes; when `decoded` is non-null it receives the unescaped value.
  bool String(std::string_view* raw, std::string* decoded);
  bool Number();
  bool Literal(const char* word, size_t len);

  const char* p_;
  size_t n_;
  size_t i_ = 0;
  std::string_view member_;
  int max_depth_;
  JsonScan out_;
};

bool Scanner::String(std::string_view* raw, std::string* decoded) {
  ++i_;  // opening quote
  const size_t start = i_;
  if (decoded) decoded->clear();
  size_t plain_from = i_;
  while (true) {
    // Fast scan over ordinary bytes.
    while (i_ < n_) {
      const auto c = static_cast<unsigned char>(p_[i_]);
      if (c == '"' || c == '\\' || c < 0x20) break;
      ++i_;
    }
    if (i_ >= n_) return Fail("unterminated string");
    const auto c = static_cast<unsigned char>(p_[i_]);
    if (c == '"') {
      if (decoded) decoded->append(p_ + plain_from, i_ - plain_from);
      *raw = std::string_view(p_ + start, i_ - start);
      ++i_;
      return true;
    }
    if (c < 0x20) return Fail("control character in string");
    // Escape.
    if (decoded) decoded->append(p_ + plain_from, i_ - plain_from);
    if (i_ + 1 >= n_) return Fail("unterminated string");
    const char e = p_[i_ + 1];
    char simple = 0;
    switch (e) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': break;
      default: ++i_; return Fail("invalid escape in string");
    }
    if (simple) {
      if (decoded) decoded->push_back(simple);
      i_ += 2;
    } else {
      uint32_t cp;
      if (!Hex4(i_ + 2, &cp)) return Fail("invalid \\u escape");
      i_ += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo;
        if (i_ + 1 < n_ && p_[i_] == '\\' && p_[i_ + 1] == 'u' && Hex4(i_ + 2, &lo) && lo >= 0xDC00 &&
            lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i_ += 6;
        } else {
          return Fail("unpaired UTF-16 surrogate in \\u escape");
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return Fail("unpaired UTF-16 surrogate in \\u escape");
      }
      if (decoded) AppendUtf8(cp, decoded);
    }
    plain_from = i_;
  }
}

bool Scanner::Number() {
  const size_t start = i_;
  bool exponent = false;
  if (p_[i_] == '-') ++i_;
  if (i_ >= n_) return Fail("invalid number");
  if (p_[i_] == '0') {
    ++i_;
  } else if (p_[i_] >= '1' && p_[i_] <= '9') {
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') ++i_;
  } else {
    return Fail("invalid number");
  }
  if (i_ < n_ && p_[i_] == '.') {
    ++i_;
    if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9') return Fail("invalid number: digit expected after '.'");
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') ++i_;
  }
  if (i_ < n_ && (p_[i_] == 'e' || p_[i_] == 'E')) {
    exponent = true;
    ++i_;
    if (i_ < n_ && (p_[i_] == '+' || p_[i_] == '-')) ++i_;
    if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9') return Fail("invalid number: digit expected in exponent");
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') ++i_;
  }
  // A number beyond the range of a double (1e999) cannot be represented downstream: reject it
  // here, like the JSON library the delivery uses. Only long numbers or exponents can overflow.
  if (exponent || i_ - start > 300) {
    const std::string text(p_ + start, i_ - start);
    if (std::isinf(std::strtod(text.c_str(), nullptr))) {
      i_ = start;
      return Fail("number out of range");
    }
  }
  return true;
}

bool Scanner::Literal(const char* word, size_t len) {
  if (n_ - i_ < len || std::memcmp(p_ + i_, word, len) != 0) return Fail("invalid literal");
  i_ += len;
  return true;
}

JsonScan Scanner::Run() {
  std::vector<char> stack;  // '{' or '['
  std::string key_buf;
  bool capture_next = false;  // the next value is the wanted top-level member's
  SkipWs();
  // Value, then what may follow it, until the top-level value is complete.
  while (true) {
    // --- parse one value ---
    SkipWs();
    if (i_ >= n_) {
      Fail(stack.empty() && i_ == 0 ? "empty input" : "unexpected end of input");
      return out_;
    }
    const bool capturing = capture_next;
    capture_next = false;
    if (capturing) {
      out_.member_found = true;
      out_.member_is_string = false;
    }
    const char c = p_[i_];
    bool value_done = true;
    if (stack.empty()) out_.is_object = (c == '{');
    if (c == '{' || c == '[') {
      if (static_cast<int>(stack.size()) >= max_depth_) {
        Fail("nesting too deep");
        return out_;
      }
      stack.push_back(c);
      ++i_;
      SkipWs();
      if (i_ < n_ && p_[i_] == (c == '{' ? '}' : ']')) {
        ++i_;
        stack.pop_back();
      } else if (c == '{') {
        // First key.
        if (i_ >= n_ || p_[i_] != '"') {
          Fail("expected a string key or '}'");
          return out_;
        }
        std::string_view key;
        const bool top = stack.size() == 1;
        if (!String(&key, top ? &key_buf : nullptr)) return out_;
        SkipWs();
        if (i_ >= n_ || p_[i_] != ':') {
          Fail("expected ':'");
          return out_;
        }
        ++i_;
        capture_next = top && key_buf == member_;
        value_done = false;
      } else {
        value_done = false;  // first array element follows
      }
    } else if (c == '"') {
      std::string_view raw;
      if (!String(&raw, capturing ? &out_.member_value : nullptr)) return out_;
      if (capturing) out_.member_is_string = true;
    } else if (c == 't') {
      if (!Literal("true", 4)) return out_;
    } else if (c == 'f') {
      if (!Literal("false", 5)) return out_;
    } else if (c == 'n') {
      if (!Literal("null", 4)) return out_;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (!Number()) return out_;
    } else {
      Fail("expected a JSON value");
      return out_;
    }
    if (!value_done) continue;

    // --- after a complete value: close containers or move to the next element ---
    while (true) {
      SkipWs();
      if (stack.empty()) {
        if (i_ != n_) {
          Fail("unexpected data after the JSON value");
          return out_;
        }
        out_.ok = true;
        return out_;
      }
      if (i_ >= n_) {
        Fail("unexpected end of input");
        return out_;
      }
      const char top = stack.back();
      const char d = p_[i_];
      if (d == (top == '{' ? '}' : ']')) {
        ++i_;
        stack.pop_back();
        continue;  // the container is a complete value too
      }
      if (d != ',') {
        Fail(top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
        return out_;
      }
      ++i_;
      if (top == '{') {
        SkipWs();
        if (i_ >= n_ || p_[i_] != '"') {
          Fail("expected a string key");
          return out_;
        }
        std::string_view key;
        const bool at_top = stack.size() == 1;
        if (!String(&key, at_top ? &key_buf : nullptr)) return out_;
        SkipWs();
        if (i_ >= n_ || p_[i_] != ':') {
          Fail("expected ':'");
          return out_;
        }
        ++i_;
        capture_next = at_top && key_buf == member_;
      }
      break;  // parse the next value
    }
  }
}

}  // namespace

JsonScan ScanJson(std::string_view in, std::string_view member, int max_depth) {
  return Scanner(in, member, max_depth).Run();
}

}  // namespace sg::ingest_internal
