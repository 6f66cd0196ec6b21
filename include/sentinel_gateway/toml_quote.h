// TomlQuote: a TOML basic string for any text, for everything that writes the gateway's
// configuration (citrix import, check-config, the benches). Quotes, backslashes and
// control characters (TOML forbids them raw, DEL included) are escaped, so generated configuration
// always parses back.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace sg::config {

inline std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace sg::config
