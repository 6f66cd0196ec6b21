#include "sentinel_gateway/citrix_import.h"

#include <cctype>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "sentinel_gateway/utf8.h"
#include "toml_quote.h"

namespace sg::config {
namespace {

struct Setting;

// A Logstash value: a string, number or bare word (text), an array, or a hash.
struct Value {
  enum class Kind { kText, kArray, kHash } kind = Kind::kText;
  std::string text;
  std::vector<Value> items;
  std::vector<Setting> hash;  // (a vector of pairs would need Value complete: clang rejects it)
  int line = 0;
};

// `name => value` or `name { ... }`.
struct Setting {
  std::string name;
  Value value;
};

// Recursive descent over Logstash's configuration syntax: `name { ... }` blocks, `key => value`
// settings, quoted strings, arrays, hashes and `#` comments. Conditionals are not needed for the
// files Citrix prepares and are reported as errors.
class Parser {
 public:
  Parser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  // Parses a sequence of `name { body }` blocks or `key => value` pairs until `}` or the end.
  Status Body(std::vector<Setting>* out, bool top) {
    for (;;) {
      Skip();
      if (pos_ >= s_.size()) {
        return top ? Status::OK() : Error("unexpected end of file, a '}' is missing");
      }
      if (s_[pos_] == '}') {
        if (top) return Error("unexpected '}'");
        ++pos_;
        return Status::OK();
      }
      int line = line_;
      std::string word;
      if (s_[pos_] == '"' || s_[pos_] == '\'') {
        Status st = Quoted(&word);
        if (!st.ok()) return st;
      } else {
        word = Word();
      }
      if (word.empty()) return Error(fmt::format("unexpected character '{}'", s_[pos_]));
      if (word == "if" || word == "else") return Error("conditionals are not supported in the Citrix import");
      Skip();
      Value v;
      v.line = line;
      if (s_.compare(pos_, 2, "=>") == 0) {
        pos_ += 2;
        Status st = ParseValue(&v);
        if (!st.ok()) return st;
      } else if (pos_ < s_.size() && s_[pos_] == '{') {
        ++pos_;
        v.kind = Value::Kind::kHash;
        Status st = Body(&v.hash, false);
        if (!st.ok()) return st;
      } else {
        return Error(fmt::format("expected '=>' or '{{' after '{}'", word));
      }
      out->push_back(Setting{std::move(word), std::move(v)});
    }
  }

 private:
  Status Error(const std::string& msg) const {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", name_, line_, msg));
  }

  void Skip() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string Word() {
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/' ||
          c == ':' || c == '@') {
        ++pos_;
      } else {
        break;
      }
    }
    return s_.substr(start, pos_ - start);
  }

  Status Quoted(std::string* out) {
    char q = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != q) {
      char c = s_[pos_++];
      if (c == '\n') ++line_;
      if (c == '\\' && pos_ < s_.size()) {
        char n = s_[pos_++];
        switch (n) {
          case 'n': out->push_back('\n'); break;
          case 't': out->push_back('\t'); break;
          default: out->push_back(n);
        }
        continue;
      }
      out->push_back(c);
    }
    if (pos_ >= s_.size()) return Error("unterminated string");
    ++pos_;
    return Status::OK();
  }

  Status ParseValue(Value* v) {
    Skip();
    if (pos_ >= s_.size()) return Error("a value is missing");
    char c = s_[pos_];
    if (c == '"' || c == '\'') return Quoted(&v->text);
    if (c == '[') {
      ++pos_;
      v->kind = Value::Kind::kArray;
      for (;;) {
        Skip();
        if (pos_ >= s_.size()) return Error("unterminated array");
        if (s_[pos_] == ']') {
          ++pos_;
          return Status::OK();
        }
        Value item;
        item.line = line_;
        Status st = ParseValue(&item);
        if (!st.ok()) return st;
        v->items.push_back(std::move(item));
      }
    }
    if (c == '{') {
      ++pos_;
      v->kind = Value::Kind::kHash;
      return Body(&v->hash, false);
    }
    v->text = Word();
    if (v->text.empty()) return Error(fmt::format("unexpected character '{}' in a value", c));
    return Status::OK();
  }

  const std::string& s_;
  std::string name_;
  size_t pos_ = 0;
  int line_ = 1;
};

// A TOML basic string: quotes, backslashes and control characters escaped, so no value can end
// the string or the line early.
std::string Quote(const std::string& s) { return TomlQuote(s); }

std::string Text(const Value& v) {
  if (v.kind == Value::Kind::kText) return v.text;
  std::string joined;
  for (const Value& i : v.items) joined += (joined.empty() ? "" : ",") + i.text;
  return joined;
}

}  // namespace

Status ImportCitrixLogstash(const std::string& text, const std::string& name, const std::string& password_ref,
                            CitrixImport* out) {
  // TOML files must be UTF-8.
  if (size_t bad = FindInvalidUtf8(text); bad != std::string::npos) {
    return Status::InvalidArgument(fmt::format("{}: not UTF-8 text (byte {})", name, bad));
  }
  std::vector<Setting> top;
  Parser p(text, name);
  Status s = p.Body(&top, true);
  if (!s.ok()) return s;
  const Value* kafka = nullptr;
  for (const auto& [section, v] : top) {
    if (section != "input" || v.kind != Value::Kind::kHash) continue;
    for (const auto& [plugin, pv] : v.hash) {
      if (plugin == "kafka" && pv.kind == Value::Kind::kHash) {
        if (kafka != nullptr) return Status::InvalidArgument(fmt::format("{}: more than one kafka input", name));
        kafka = &pv;
      }
    }
  }
  if (kafka == nullptr) return Status::InvalidArgument(fmt::format("{}: no `input {{ kafka {{ ... }} }}` section found", name));

  std::map<std::string, const Value*> k;
  for (const auto& [key, v] : kafka->hash) k[key] = &v;
  auto get = [&](const char* key) { return k.count(key) ? Text(*k[key]) : std::string(); };
  auto line = [&](const char* key) { return k.count(key) ? k[key]->line : kafka->line; };

  CitrixImport r;
  std::string brokers = get("bootstrap_servers");
  if (brokers.empty()) return Status::InvalidArgument(fmt::format("{}:{}: the kafka input has no bootstrap_servers", name, kafka->line));
  std::vector<std::string> topics;
  if (k.count("topics")) {
    const Value& t = *k["topics"];
    if (t.kind == Value::Kind::kArray) {
      for (const Value& i : t.items) topics.push_back(i.text);
    } else {
      topics.push_back(t.text);
    }
  }
  if (topics.empty()) {
    return Status::InvalidArgument(fmt::format("{}:{}: the kafka input has no topics{}", name, line("topics"),
                                               k.count("topics_pattern") ? " (topics_pattern is not supported: name the topic)" : ""));
  }
  std::string username, password;
  std::string jaas = get("sasl_jaas_config");
  if (!jaas.empty()) {
    std::smatch m;
    if (std::regex_search(jaas, m, std::regex(R"re(username\s*=\s*"([^"]*)")re"))) username = m[1];
    if (std::regex_search(jaas, m, std::regex(R"re(password\s*=\s*"([^"]*)")re"))) password = m[1];
    if (username.empty() || password.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: sasl_jaas_config has no username=\"...\" and password=\"...\"", name, line("sasl_jaas_config")));
    }
  }
  std::string protocol = get("security_protocol");
  if (protocol.empty()) protocol = jaas.empty() ? "PLAINTEXT" : "SASL_SSL";
  std::string mechanism = get("sasl_mechanism");
  if (mechanism.empty()) mechanism = "SCRAM-SHA-256";

  std::string ca_line = "ca_file = \"citrix-ca.pem\"";
  std::string truststore = get("ssl_truststore_location");
  std::string truststore_type = get("ssl_truststore_type");
  if (!truststore.empty()) {
    bool pem = truststore_type == "PEM" || truststore.ends_with(".pem") || truststore.ends_with(".crt");
    if (pem) {
      ca_line = "ca_file = " + Quote(truststore);
    } else {
      r.notes.push_back(fmt::format(
          "The Citrix CA is in a {} truststore; librdkafka needs PEM. Convert it with:\n"
          "    CITRIX_TRUSTSTORE_PASSWORD='<ssl_truststore_password from {}>' \\\n"
          "    keytool -list -rfc -keystore {} -storetype {} -storepass:env CITRIX_TRUSTSTORE_PASSWORD > citrix-ca.pem\n"
          "  (keytool prints each certificate as a PEM block; the text between blocks is ignored)",
          truststore_type.empty() ? "JKS" : truststore_type, name, truststore,
          truststore_type.empty() ? "JKS" : truststore_type));
    }
  } else if (protocol.find("SSL") != std::string::npos) {
    r.notes.push_back("No truststore is named: put the Citrix CA certificate (PEM) in citrix-ca.pem beside this file.");
  }

  std::string t;
  t += fmt::format("# sentinel-gateway configuration imported from {}\n", name);
  t += "# Complete the [sentinel] section, then run: sentinel-gateway check-config --config <this file>\n\n";
  t += "[kafka]\n";
  t += "brokers = " + Quote(brokers) + "\n";
  t += "topic = [";
  for (size_t i = 0; i < topics.size(); ++i) t += (i ? ", " : "") + Quote(topics[i]);
  t += "]\n";
  std::string group = get("group_id");
  if (group.empty()) {
    r.notes.push_back("The kafka input names no group_id; Logstash defaults to \"logstash\". Set kafka.group_id.");
    group = "logstash";
  }
  t += "group_id = " + Quote(group) + "\n";
  t += "security_protocol = " + Quote(protocol) + "\n";
  if (!jaas.empty() || protocol.starts_with("SASL")) {
    t += "sasl_mechanism = " + Quote(mechanism) + "\n";
    t += "username = " + Quote(username) + "\n";
    t += password_ref + "\n";
  }
  if (protocol.find("SSL") != std::string::npos) t += ca_line + "\n";
  std::string reset = get("auto_offset_reset");
  t += "auto_offset_reset = " + Quote(reset.empty() ? "earliest" : reset) + "\n";
  std::string session = get("session_timeout_ms");
  if (!session.empty()) t += "session_timeout = " + Quote(session + "ms") + "\n";
  std::string client = get("client_id");
  if (!client.empty()) t += "client_id = " + Quote(client) + "\n";
  t += R"(
[spool]
path = "spool"
max_bytes = "20GiB"

[sentinel]
# Logs Ingestion API (recommended): a DCE or DCR ingestion endpoint, the DCR's immutable id and an
# Entra ID app with "Monitoring Metrics Publisher" on the DCR. See config/azure/ for templates.
api = "logs_ingestion"
endpoint = ""           # e.g. "https://my-dce-abcd.eastus-1.ingest.monitor.azure.com"
dcr_immutable_id = ""   # e.g. "dcr-00000000000000000000000000000000"
tenant_id = ""
client_id = ""
client_secret = "${SENTINEL_CLIENT_SECRET}"
)";
  static const std::set<std::string> kMapped = {
      "bootstrap_servers", "topics", "group_id", "security_protocol", "sasl_mechanism", "sasl_jaas_config",
      "ssl_truststore_location", "ssl_truststore_type", "ssl_truststore_password", "auto_offset_reset",
      "session_timeout_ms", "client_id", "codec", "topics_pattern"};
  for (const auto& [key, v] : kafka->hash) {
    if (!kMapped.count(key)) r.notes.push_back(fmt::format("Ignored kafka input setting '{}' (line {}).", key, v.line));
  }
  for (const auto& [section, v] : top) {
    if (section == "filter" || section == "output") {
      r.notes.push_back(fmt::format("The Logstash {} section (line {}) is replaced by the gateway's [sentinel] and [routes] sections.", section, v.line));
    }
  }
  r.toml = std::move(t);
  r.password = std::move(password);
  *out = std::move(r);
  return Status::OK();
}

}  // namespace sg::config
