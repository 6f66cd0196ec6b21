// The table of the gateway's configuration keys: one row per key of gateway.toml, in the order
// check-config prints them. In the spirit of RocksDB's OptionTypeInfo, but plain: each row says
// the key's section and name, its type, whether it is secret, its single-key bounds and choices,
// a one-line doc, and where its value lives in GatewayConfig (an accessor).
//
// What the table drives (src/config/config.cc), so that a key is named here and nowhere else:
//  - parsing: the reader for the key's type, its bounds and choices, and the unknown-key check
//    (a key not in the table, nor a secret's _file / _credential form, is "unknown key");
//  - Redacted(), the output of check-config: every row that is not an alias is printed, secrets as
//    "<redacted: origin>" (the secret rule, sentinel_gateway/secret.h, agrees: a test checks it);
//  - the check that config/gateway.example.toml documents every key (tests/config).
// Guarantees: a key's default is the default member initializer of its field in config.h, or in the
// stage's struct of settings its section derives from (kafka_options.h, ...); the table does not
// repeat it (DefaultText() reads it from a default GatewayConfig). Validate()'s
// cross-key rules (SASL needs a password, watermarks, the spool fitting one append, ...) stay
// hand-written in config.cc; single-key rules (range, minimum, choices, https, required) live here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sentinel_gateway/config.h"

namespace sg::config {

enum class KeyType {
  kString,     // "text", ${ENV} expanded
  kPath,       // a string; relative paths resolve against the config file's directory
  kStringList, // a string or an array of strings (into a vector, or joined with "," into a string)
  kBool,
  kInteger,    // bounded by min..max
  kNumber,     // integer or floating point
  kSize,       // a byte count or "20GiB"; at least `min` bytes (checked with the cross-key rules)
  kDuration,   // "500ms", "5s", "5m", "1h", "1d"; at least `min` ms (idem)
  kSecret,     // inline / ${ENV}, key_file, or key_credential (exactly one)
  kRawMap,     // a sub-table of scalars passed through as strings ([kafka.librdkafka])
  kStringMap,  // a sub-table of non-empty strings ([routes.targets], in-order [routes.event_types])
  kPathMap,    // the same, values resolved as paths ([routes.schemas])
};

// Where a key's value lives in a GatewayConfig. The alternative is checked against `type` by
// tests/config (KeyTableTest); a mismatch is a bug in the table, not in the file being read.
using FieldRef = std::variant<std::string*, std::vector<std::string>*, bool*, int*, uint64_t*, double*, Millis*,
                              Secret*, std::map<std::string, std::string>*,
                              std::vector<std::pair<std::string, std::string>>*>;

struct KeyInfo {
  const char* section;  // "kafka"
  const char* name;     // "session_timeout"
  KeyType type;
  const char* doc;      // one line
  FieldRef (*field)(GatewayConfig&);
  int64_t min = 0;      // kInteger: inclusive range; kSize / kDuration: minimum (bytes / ms), 0: none
  int64_t max = 0;
  const char* choices = nullptr;  // "a|b|c": the value must be one of these (empty allowed if kEmptyOk)
  unsigned flags = 0;
};

// KeyInfo::flags
inline constexpr unsigned kRequired = 1;      // must be given and not empty ("is required")
inline constexpr unsigned kIgnoreCase = 2;    // choices compare case-insensitively
inline constexpr unsigned kEmptyOk = 4;       // choices: "" is allowed too (a default derived later)
inline constexpr unsigned kHttps = 8;         // when not empty, an https:// URL
inline constexpr unsigned kAlias = 16;        // another name for the previous row's field, read only
                                              // when that row left it empty; not printed, not documented

// Every key, section by section in the order of the file; a section's sub-tables come last.
const std::vector<KeyInfo>& Keys();
// The sections, in order ("kafka", "spool", ...).
const std::vector<std::string>& Sections();

// The const view of a row's field (the accessor works on a mutable config).
FieldRef FieldOf(const KeyInfo& key, const GatewayConfig& config);

// The value of a key as TOML, as check-config prints it; a secret as "<redacted: origin>".
// Sub-table rows (kRawMap, kStringMap, kPathMap) print their "name = value" lines.
std::string ValueText(const KeyInfo& key, const GatewayConfig& config);
// The default as check-config would print it (from a default-constructed GatewayConfig).
std::string DefaultText(const KeyInfo& key);

// "a|b|c" -> "a, b or c"; with kIgnoreCase the choices are shown as written.
std::string ChoicesText(const char* choices);
// A kSize / kDuration / kInteger row's minimum as a message shows it ("1MiB", "1s").
std::string MinimumText(const KeyInfo& key);

}  // namespace sg::config
