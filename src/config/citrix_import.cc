#include "sentinel_gateway/citrix_import.h"

#include <cctype>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "sentinel_gateway/utf8.h"
#include "sentinel_gateway/toml_quote.h"

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

// sasl_jaas_config as Kafka reads it (org.apache.kafka.common.security.JaasConfig): exactly one
// login module, `Class flag key=value ... ;`, split into tokens by java.io.StreamTokenizer with
// Kafka's settings: ' and " quote (a quoted string ends at its quote or at the end of the line;
// backslash escapes as in Java), `//` and `/* */` comments, bare words as values (letters, digits,
// '.', '-', '_', '$'; a value that starts with a digit is a number, which Kafka refuses).
// `why` never quotes a value: the password is one.
class JaasReader {
 public:
  explicit JaasReader(const std::string& text) : s_(text) {}

  bool Parse(std::map<std::string, std::string>* options, std::string* why) {
    Next();
    if (kind_ != Kind::kWord) return Fail("no login module", why);
    Next();
    if (kind_ != Kind::kWord) return Fail("no control flag after the login module", why);
    std::string flag = text_;
    for (char& c : flag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional") {
      return Fail("the control flag must be required, requisite, sufficient or optional", why);
    }
    while (Next(), kind_ != Kind::kEnd && !(kind_ == Kind::kChar && text_ == ";")) {
      if (kind_ != Kind::kWord) return Fail("an option name is missing", why);
      std::string key = text_;
      Next();
      if (kind_ != Kind::kChar || text_ != "=") return Fail("option " + key + " has no '='", why);
      Next();
      if (kind_ != Kind::kWord && kind_ != Kind::kQuoted) return Fail("option " + key + " has no value", why);
      (*options)[key] = text_;
    }
    if (kind_ != Kind::kChar || text_ != ";") return Fail("the login module is not ended by ';'", why);
    Next();
    if (kind_ != Kind::kEnd) return Fail("more than one login module (Kafka takes one)", why);
    return true;
  }

 private:
  enum class Kind { kWord, kQuoted, kNumber, kChar, kEnd };

  static bool Fail(const std::string& what, std::string* why) {
    *why = what;
    return false;
  }
  static bool WordStart(unsigned char c) { return std::isalpha(c) || c >= 128 || c == '_' || c == '$'; }
  static bool WordPart(unsigned char c) { return WordStart(c) || std::isdigit(c) || c == '.' || c == '-'; }

  void Next() {
    text_.clear();
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c <= ' ') {
        ++pos_;
      } else if (s_.compare(pos_, 2, "//") == 0) {
        while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
      } else if (s_.compare(pos_, 2, "/*") == 0) {
        size_t end = s_.find("*/", pos_ + 2);
        pos_ = end == std::string::npos ? s_.size() : end + 2;
      } else {
        break;
      }
    }
    if (pos_ >= s_.size()) {
      kind_ = Kind::kEnd;
      return;
    }
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c == '\'' || c == '"') {
      kind_ = Kind::kQuoted;
      Quoted(static_cast<char>(c));
    } else if (std::isdigit(c) || c == '.' || c == '-') {
      kind_ = Kind::kNumber;
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) ++pos_;
    } else if (WordStart(c)) {
      kind_ = Kind::kWord;
      while (pos_ < s_.size() && WordPart(static_cast<unsigned char>(s_[pos_]))) text_.push_back(s_[pos_++]);
    } else {
      kind_ = Kind::kChar;
      text_.push_back(s_[pos_++]);
    }
  }

  void Quoted(char q) {
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q && s_[pos_] != '\n' && s_[pos_] != '\r') {
      char c = s_[pos_++];
      if (c != '\\' || pos_ >= s_.size()) {
        text_.push_back(c);
        continue;
      }
      char e = s_[pos_++];
      switch (e) {
        case 'a': text_.push_back('\a'); break;
        case 'b': text_.push_back('\b'); break;
        case 'f': text_.push_back('\f'); break;
        case 'n': text_.push_back('\n'); break;
        case 'r': text_.push_back('\r'); break;
        case 't': text_.push_back('\t'); break;
        case 'v': text_.push_back('\v'); break;
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits, at most \377
            int v = e - '0';
            const int max_digits = e <= '3' ? 3 : 2;
            for (int i = 1; i < max_digits && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7'; ++i) {
              v = v * 8 + (s_[pos_++] - '0');
            }
            text_.push_back(static_cast<char>(v));
          } else {
            text_.push_back(e);
          }
      }
    }
    if (pos_ < s_.size() && s_[pos_] == q) ++pos_;  // a line end also ends it, as in Java
  }

  const std::string& s_;
  size_t pos_ = 0;
  Kind kind_ = Kind::kEnd;
  std::string text_;
};

// A string's escapes as Logstash reads them with `config.support_escapes: true`: \n \r \t \\ \" \'.
std::string LogstashUnescape(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 >= in.size()) {
      out.push_back(in[i]);
      continue;
    }
    switch (in[i + 1]) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case '\\': case '"': case '\'': out.push_back(in[i + 1]); break;
      default: out.push_back(in[i]); out.push_back(in[i + 1]);
    }
    ++i;
  }
  return out;
}

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

  // A quoted string as Logstash reads it by default (its grammar's double_quoted_string and
  // single_quoted_string, with `config.support_escapes: false`, logstash.yml's default): a
  // backslash before the string's own quote keeps it from ending the string, and every character
  // stays in the value as written, so a JAAS line's own escapes reach the JAAS parser intact.
  Status Quoted(std::string* out) {
    char q = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != q) {
      char c = s_[pos_++];
      if (c == '\n') ++line_;
      out->push_back(c);
      if (c == '\\' && pos_ < s_.size() && s_[pos_] == q) out->push_back(s_[pos_++]);
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

// Logstash writes ${VAR} (environment or keystore) where a value should not be in the file; the
// gateway reads the same form from its environment, so such a value is kept as a reference.
bool IsVariable(const std::string& v) { return v.size() > 3 && v.starts_with("${") && v.ends_with("}"); }

// The [sentinel] section from the pipeline's Microsoft Sentinel output, if it has one; else an
// empty Logs Ingestion section to complete. Secrets go to *client_secret / *shared_key (for the
// caller's 0600 files) and the TOML refers to them through `refs`; a ${VAR} stays a reference.
Status ImportSentinelOutput(const std::vector<Setting>& top, const std::string& name, const ImportSecretRefs& refs,
                            std::string* t, std::string* client_secret, std::string* shared_key,
                            std::vector<std::string>* notes) {
  // The DCR-based plugin under its current name and the earlier ones (Microsoft Learn, "Stream
  // logs to Microsoft Sentinel with Logstash and DCR-based API"), and the legacy Data Collector
  // plugin ("Use Logstash to stream logs with HTTP Data Collection API (legacy)").
  static const std::set<std::string> kDcrPlugins = {"microsoft-sentinel-log-analytics-logstash-output-plugin",
                                                    "microsoft-sentinel-logstash-output-plugin",
                                                    "microsoft-sentinel-logstash-output"};
  static const std::string kLegacyPlugin = "microsoft-logstash-output-azure-loganalytics";
  const Value* dcr = nullptr;
  const Value* legacy = nullptr;
  for (const auto& [section, v] : top) {
    if (section != "output" || v.kind != Value::Kind::kHash) continue;
    for (const auto& [plugin, pv] : v.hash) {
      if (pv.kind != Value::Kind::kHash) continue;
      const Value** slot = kDcrPlugins.count(plugin) ? &dcr : plugin == kLegacyPlugin ? &legacy : nullptr;
      if (slot == nullptr) {
        notes->push_back(fmt::format("Ignored Logstash output '{}' (line {}).", plugin, pv.line));
        continue;
      }
      if (dcr != nullptr || legacy != nullptr) {
        return Status::InvalidArgument(fmt::format(
            "{}:{}: more than one Microsoft Sentinel output; the gateway takes one (keep the one to migrate)", name, pv.line));
      }
      *slot = &pv;
    }
  }
  const Value* o = dcr != nullptr ? dcr : legacy;
  std::map<std::string, const Value*> k;
  if (o != nullptr) {
    for (const auto& [key, v] : o->hash) k[key] = &v;
  }
  auto get = [&](const char* key) { return k.count(key) ? Text(*k[key]) : std::string(); };
  auto secret_line = [&](const std::string& value, const std::string& key, const std::string& ref, std::string* out) {
    if (value.empty()) return ref;
    if (IsVariable(value)) return key + " = " + Quote(value);
    *out = value;
    return ref;
  };
  std::set<std::string> used;
  auto take = [&](const char* key) {
    used.insert(key);
    return get(key);
  };
  if (legacy != nullptr) {
    *t += "\n[sentinel]\n# From the pipeline's " + kLegacyPlugin + " output (line " + std::to_string(legacy->line) +
          "):\n# the Data Collector API, which Microsoft retired in September 2026. Move to the Logs Ingestion\n"
          "# API (api = \"logs_ingestion\", config/azure/) while its tables still take data.\n";
    *t += "api = \"data_collector\"\n";
    *t += "workspace_id = " + Quote(take("workspace_id")) + "\n";
    *t += secret_line(take("workspace_key"), "shared_key", refs.shared_key, shared_key) + "\n";
    const std::string table = take("custom_log_table_name");
    if (!table.empty()) {
      notes->push_back(fmt::format(
          "The pipeline wrote every event to the Log-Type '{}' (line {}); the gateway writes each event type to the "
          "legacy Citrix Analytics tables (CitrixAnalytics_userProfile_CL etc., [routes] layout = \"legacy\"); "
          "map them back under [routes.targets] if your queries read '{}_CL'.",
          table, k["custom_log_table_name"]->line, table));
    }
  } else {
    *t += "\n[sentinel]\n";
    if (dcr != nullptr) {
      *t += "# From the pipeline's Microsoft Sentinel output (line " + std::to_string(dcr->line) + ").\n";
    } else {
      *t += "# Logs Ingestion API (recommended): a DCE or DCR ingestion endpoint, the DCR's immutable id and an\n"
            "# Entra ID app with \"Monitoring Metrics Publisher\" on the DCR. See config/azure/ for templates.\n";
    }
    *t += "api = \"logs_ingestion\"\n";
    std::string endpoint = take("data_collection_endpoint");
    *t += "endpoint = " + Quote(endpoint) + (endpoint.empty() ? "           # e.g. \"https://my-dce-abcd.eastus-1.ingest.monitor.azure.com\"" : "") + "\n";
    std::string dcr_id = take("dcr_immutable_id");
    *t += "dcr_immutable_id = " + Quote(dcr_id) + (dcr_id.empty() ? "   # e.g. \"dcr-00000000000000000000000000000000\"" : "") + "\n";
    const std::string cloud = take("azure_cloud");
    if (cloud == "AzureUSGovernment" || cloud == "AzureChinaCloud") {
      *t += std::string("cloud = \"") + (cloud == "AzureChinaCloud" ? "china" : "usgov") + "\"\n";
    }
    if (take("managed_identity") == "true") {
      *t += "managed_identity = true\n";
    } else {
      *t += "tenant_id = " + Quote(take("tenant_id")) + "\n";
      *t += "client_id = " + Quote(take("client_app_Id")) + "\n";
      *t += secret_line(take("client_app_secret"), "client_secret", refs.client_secret, client_secret) + "\n";
    }
    const std::string stream = take("dcr_stream_name");
    if (!stream.empty()) {
      notes->push_back(fmt::format(
          "The pipeline sent every event to the stream '{}' (line {}); the gateway sends each event type to its own "
          "Citrix Analytics stream and table (config/azure/ deploys them); name other streams per table under "
          "[routes.targets].",
          stream, k["dcr_stream_name"]->line));
    }
  }
  const std::string proxy = take("proxy");
  if (!proxy.empty()) *t += "proxy = " + Quote(proxy) + "\n";
  for (const auto& [key, v] : k) {
    if (!used.count(key)) notes->push_back(fmt::format("Ignored Sentinel output setting '{}' (line {}).", key, v->line));
  }
  if (o == nullptr) notes->push_back("The pipeline has no Microsoft Sentinel output: complete the [sentinel] section.");
  return Status::OK();
}

}  // namespace

Status ImportCitrixLogstash(const std::string& text, const std::string& name, const std::string& password_ref,
                            CitrixImport* out) {
  ImportSecretRefs refs;
  refs.password = password_ref;
  return ImportCitrixLogstash(text, name, refs, out);
}

Status ImportCitrixLogstash(const std::string& text, const std::string& name, const ImportSecretRefs& refs,
                            CitrixImport* out) {
  const std::string& password_ref = refs.password;
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
    std::map<std::string, std::string> options;
    std::string why;
    if (!JaasReader(jaas).Parse(&options, &why)) {
      // A pipeline run with `config.support_escapes: true` has Logstash turn \" into " first.
      std::string unescaped = LogstashUnescape(jaas), ignored;
      options.clear();
      if (unescaped == jaas || !JaasReader(unescaped).Parse(&options, &ignored)) {
        return Status::InvalidArgument(
            fmt::format("{}:{}: sasl_jaas_config: {}", name, line("sasl_jaas_config"), why));
      }
    }
    username = options["username"];
    password = options["password"];
    if (username.empty() || password.empty()) {
      return Status::InvalidArgument(fmt::format("{}:{}: sasl_jaas_config has no username=... and password=...",
                                                 name, line("sasl_jaas_config")));
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
  t += "# Then run: sentinel-gateway check-config --config <this file> (it names anything left to complete)\n\n";
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
)";
  std::string client_secret, shared_key;
  s = ImportSentinelOutput(top, name, refs, &t, &client_secret, &shared_key, &r.notes);
  if (!s.ok()) return s;
  static const std::set<std::string> kMapped = {
      "bootstrap_servers", "topics", "group_id", "security_protocol", "sasl_mechanism", "sasl_jaas_config",
      "ssl_truststore_location", "ssl_truststore_type", "ssl_truststore_password", "auto_offset_reset",
      "session_timeout_ms", "client_id", "codec", "topics_pattern"};
  for (const auto& [key, v] : kafka->hash) {
    if (!kMapped.count(key)) r.notes.push_back(fmt::format("Ignored kafka input setting '{}' (line {}).", key, v.line));
  }
  for (const auto& [section, v] : top) {
    if (section == "filter") {
      r.notes.push_back(fmt::format("The Logstash filter section (line {}) is not imported: the gateway shapes rows to "
                                    "the DCR's streams itself ([routes]).", v.line));
    }
  }
  r.toml = std::move(t);
  r.password = std::move(password);
  r.client_secret = std::move(client_secret);
  r.shared_key = std::move(shared_key);
  *out = std::move(r);
  return Status::OK();
}

}  // namespace sg::config
