#include "sentinel_gateway/config.h"
#include "sentinel_gateway/config_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

#include <fmt/format.h>

#include "sentinel_gateway/azure/dcr_reader.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include <toml++/toml.h>

namespace sg::config {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads typed values out of the parsed document, remembering the first error with its line.
class Reader {
 public:
  Reader(std::string name, std::string base_dir, const std::map<std::string, std::string>* env)
      : name_(std::move(name)), base_dir_(std::move(base_dir)), env_(env) {}

  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  const std::string& name() const { return name_; }

  void Fail(int line, const std::string& key, const std::string& msg) {
    if (status_.ok()) status_ = Status::InvalidArgument(fmt::format("{}:{}: {}: {}", name_, line, key, msg));
  }
  void Fail(const toml::node* node, const std::string& key, const std::string& msg) {
    Fail(node != nullptr ? static_cast<int>(node->source().begin.line) : 1, key, msg);
  }

  // A section, or nullptr when absent. Error when present but not a table.
  const toml::table* Section(const toml::table& parent, const std::string& key, const std::string& dotted) {
    const toml::node* n = parent.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) {
      Fail(n, dotted, "must be a table ([" + dotted + "])");
      return nullptr;
    }
    return n->as_table();
  }

  // Every key of `t` must be in `known` (for the root table, the sections).
  void Known(const toml::table* t, const std::string& section, const std::set<std::string>& known) {
    if (t == nullptr) return;
    for (const auto& [k, v] : *t) {
      std::string key(k.str());
      if (!known.count(key)) Fail(&v, section.empty() ? key : section + "." + key, "unknown key");
    }
  }

  // Reads the row `key` of the table (config_keys.h) out of its section `t` into `c`.
  void Read(const toml::table* t, const KeyInfo& key, GatewayConfig* c) {
    const std::string section = key.section;
    const char* name = key.name;
    const FieldRef field = key.field(*c);
    switch (key.type) {
      case KeyType::kString:
        Str(t, section, name, std::get<std::string*>(field));
        return;
      case KeyType::kPath:
        Path(t, section, name, std::get<std::string*>(field));
        return;
      case KeyType::kStringList:
        if (auto* joined = std::get_if<std::string*>(&field)) {  // "a,b" from "a,b" or ["a", "b"]
          std::vector<std::string> items;
          StrList(t, section, name, &items);
          for (size_t i = 0; i < items.size(); ++i) **joined += (i ? "," : "") + items[i];
        } else {
          StrList(t, section, name, std::get<std::vector<std::string>*>(field));
        }
        return;
      case KeyType::kBool:
        Bool(t, section, name, std::get<bool*>(field));
        return;
      case KeyType::kInteger:
        if (auto* i = std::get_if<int*>(&field)) return Integer(t, section, name, *i, key.min, key.max);
        Integer(t, section, name, std::get<uint64_t*>(field), key.min, key.max);
        return;
      case KeyType::kNumber:
        Double(t, section, name, std::get<double*>(field));
        return;
      case KeyType::kSize:
        Size(t, section, name, std::get<uint64_t*>(field));
        return;
      case KeyType::kDuration:
        Duration(t, section, name, std::get<Millis*>(field));
        return;
      case KeyType::kSecret:
        SecretField(t, section, name, std::get<Secret*>(field));
        return;
      case KeyType::kRawMap:
        if (t != nullptr) RawMap(*t, section, name, std::get<std::map<std::string, std::string>*>(field));
        return;
      case KeyType::kStringMap:
      case KeyType::kPathMap:
        if (t != nullptr) StringMap(*t, key, field);
        return;
    }
  }

  bool Str(const toml::table* t, const std::string& section, const char* key, std::string* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return false;
    if (!n->is_string()) {
      Fail(n, section + "." + key, "must be a string");
      return false;
    }
    std::string origin;
    *out = Expand(n, section + "." + key, n->as_string()->get(), &origin);
    return true;
  }

  void Path(const toml::table* t, const std::string& section, const char* key, std::string* out) {
    if (Str(t, section, key, out) && !out->empty()) *out = Resolve(*out);
  }

  void Bool(const toml::table* t, const std::string& section, const char* key, bool* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    if (!n->is_boolean()) return Fail(n, section + "." + key, "must be true or false");
    *out = n->as_boolean()->get();
  }

  template <typename Int>
  void Integer(const toml::table* t, const std::string& section, const char* key, Int* out, int64_t min,
               int64_t max) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    if (!n->is_integer()) return Fail(n, section + "." + key, "must be an integer");
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return Fail(n, section + "." + key, fmt::format("must be between {} and {}", min, max));
    }
    *out = static_cast<Int>(v);
  }

  void Double(const toml::table* t, const std::string& section, const char* key, double* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    if (n->is_floating_point()) {
      *out = n->as_floating_point()->get();
    } else if (n->is_integer()) {
      *out = static_cast<double>(n->as_integer()->get());
    } else {
      Fail(n, section + "." + key, "must be a number");
    }
  }

  void Size(const toml::table* t, const std::string& section, const char* key, uint64_t* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    if (n->is_integer() && n->as_integer()->get() >= 0) {
      *out = static_cast<uint64_t>(n->as_integer()->get());
      return;
    }
    if (!n->is_string()) return Fail(n, section + "." + key, "must be a size such as \"20GiB\" or a byte count");
    Status s = ParseSize(n->as_string()->get(), out);
    if (!s.ok()) Fail(n, section + "." + key, s.message());
  }

  void Duration(const toml::table* t, const std::string& section, const char* key, Millis* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    if (!n->is_string()) return Fail(n, section + "." + key, "must be a duration such as \"500ms\", \"5s\" or \"5m\"");
    Status s = ParseDuration(n->as_string()->get(), out);
    if (!s.ok()) Fail(n, section + "." + key, s.message());
  }

  // A string or an array of strings.
  void StrList(const toml::table* t, const std::string& section, const char* key, std::vector<std::string>* out) {
    const toml::node* n = Get(t, key);
    if (n == nullptr) return;
    out->clear();
    if (n->is_string()) {
      std::string origin;
      out->push_back(Expand(n, section + "." + key, n->as_string()->get(), &origin));
      return;
    }
    if (!n->is_array()) return Fail(n, section + "." + key, "must be a string or an array of strings");
    for (const toml::node& item : *n->as_array()) {
      if (!item.is_string()) return Fail(&item, section + "." + key, "must hold strings only");
      std::string origin;
      out->push_back(Expand(&item, section + "." + key, item.as_string()->get(), &origin));
    }
  }

  // `key` inline or as ${ENV}, `key_file`, or `key_credential` (a systemd credential: the file of
  // that name in $CREDENTIALS_DIRECTORY, which LoadCredential= fills); exactly one of them.
  void SecretField(const toml::table* t, const std::string& section, const char* key, Secret* out) {
    const std::string file_key = std::string(key) + "_file";
    const std::string cred_key = std::string(key) + "_credential";
    const toml::node* inline_node = Get(t, key);
    const toml::node* file_node = Get(t, file_key.c_str());
    const toml::node* cred_node = Get(t, cred_key.c_str());
    if ((inline_node != nullptr) + (file_node != nullptr) + (cred_node != nullptr) > 1) {
      const toml::node* later = cred_node != nullptr ? cred_node : file_node;
      const std::string& later_key = cred_node != nullptr ? cred_key : file_key;
      return Fail(later, section + "." + later_key,
                  fmt::format("give one of {}, {} or {}, not several", key, file_key, cred_key));
    }
    if (inline_node != nullptr) {
      if (!inline_node->is_string()) return Fail(inline_node, section + "." + key, "must be a string");
      out->value = Expand(inline_node, section + "." + key, inline_node->as_string()->get(), &out->origin);
      if (out->origin.empty()) {
        out->origin = "inline";
        inline_secret_ = true;
      }
    } else if (file_node != nullptr) {
      if (!file_node->is_string()) return Fail(file_node, section + "." + file_key, "must be a path");
      std::string origin;
      std::string path = Resolve(Expand(file_node, section + "." + file_key, file_node->as_string()->get(), &origin));
      if (!ReadSecretFile(path, out)) {
        return Fail(file_node, section + "." + file_key, fmt::format("cannot read secret file {}", path));
      }
      out->origin = "file " + path;
      WarnIfShared(path, section + "." + file_key);
    } else if (cred_node != nullptr) {
      const std::string dotted = section + "." + cred_key;
      if (!cred_node->is_string()) return Fail(cred_node, dotted, "must be a credential name");
      const std::string name = cred_node->as_string()->get();
      // A name, not a path: systemd puts each credential directly in $CREDENTIALS_DIRECTORY.
      if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
        return Fail(cred_node, dotted, "must be a credential name (a file name in $CREDENTIALS_DIRECTORY, no '/')");
      }
      const char* dir = Env("CREDENTIALS_DIRECTORY");
      if (dir == nullptr || *dir == '\0') {
        return Fail(cred_node, dotted,
                    fmt::format("names credential {}, but $CREDENTIALS_DIRECTORY is not set (the unit's "
                                "LoadCredential= sets it; outside systemd set it to the directory holding {})",
                                name, name));
      }
      const std::string path = (fs::path(dir) / name).string();
      if (!ReadSecretFile(path, out)) {
        return Fail(cred_node, dotted, fmt::format("cannot read credential {} ({})", name, path));
      }
      // systemd's SetCredential= default in the unit yields an empty file when LoadCredential=
      // found nothing: say so rather than log in with an empty secret.
      if (out->value.empty()) {
        return Fail(cred_node, dotted, fmt::format("credential {} ({}) is empty", name, path));
      }
      out->origin = "credential " + name;
      WarnIfShared(path, dotted);
    }
  }

  // [section.name]: scalars passed through as strings (librdkafka properties).
  void RawMap(const toml::table& t, const std::string& section, const char* name,
              std::map<std::string, std::string>* out) {
    const toml::table* raw = Section(t, name, section + "." + name);
    if (raw == nullptr) return;
    for (const auto& [k, v] : *raw) {
      std::string key(k.str());
      if (v.is_string()) {
        (*out)[key] = v.as_string()->get();
      } else if (v.is_integer()) {
        (*out)[key] = std::to_string(v.as_integer()->get());
      } else if (v.is_boolean()) {
        (*out)[key] = v.as_boolean()->get() ? "true" : "false";
      } else if (v.is_floating_point()) {
        (*out)[key] = fmt::format("{}", v.as_floating_point()->get());
      } else {
        Fail(&v, section + "." + name + "." + key, "must be a string, number or boolean");
      }
    }
  }

  // [section.name]: non-empty strings, in file order into a list of pairs or into a map; a
  // kPathMap's values resolve against the config file's directory.
  void StringMap(const toml::table& t, const KeyInfo& key, const FieldRef& field) {
    const std::string dotted_map = std::string(key.section) + "." + key.name;
    const toml::table* m = Section(t, key.name, dotted_map);
    if (m == nullptr) return;
    // toml++ keeps a table's keys sorted; rules are tried in the order the file gives them.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [k, v] : *m) entries.emplace_back(&k, &v);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const toml::source_position pa = a.first->source().begin, pb = b.first->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    for (const auto& [kp, vp] : entries) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      std::string name(k.str());
      if (!v.is_string() || v.as_string()->get().empty()) {
        Fail(&v, dotted_map + "." + name, "must be a non-empty string");
        continue;
      }
      std::string value = v.as_string()->get();
      if (key.type == KeyType::kPathMap) value = Resolve(value);
      if (auto* rules = std::get_if<std::vector<std::pair<std::string, std::string>>*>(&field)) {
        (*rules)->emplace_back(name, value);
      } else {
        (*std::get<std::map<std::string, std::string>*>(field))[name] = value;
      }
    }
  }

  // The whole file, without trailing newlines (echo and editors add one). False when unreadable.
  static bool ReadSecretFile(const std::string& path, Secret* out) {
    std::ifstream in(path);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return false;
    out->value = ss.str();
    while (!out->value.empty() && (out->value.back() == '\n' || out->value.back() == '\r')) out->value.pop_back();
    return true;
  }

  void WarnIfShared(const std::string& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
      warnings_.push_back(fmt::format("{} ({}) holds a secret and is readable by others (mode {:o}); chmod 600 it",
                                      path, what, st.st_mode & 0777));
    }
  }

  std::string Resolve(const std::string& p) const {
    if (p.empty() || p.front() == '/' || base_dir_.empty()) return p;
    return (fs::path(base_dir_) / p).lexically_normal().string();
  }

  // The value of environment variable `var` (the test's map, else the process's), or nullptr.
  const char* Env(const std::string& var) const {
    if (env_ == nullptr) return std::getenv(var.c_str());
    auto it = env_->find(var);
    return it != env_->end() ? it->second.c_str() : nullptr;
  }

  bool inline_secret() const { return inline_secret_; }
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  static const toml::node* Get(const toml::table* t, const char* key) {
    return t == nullptr ? nullptr : t->get(key);
  }

  // Replaces each ${NAME} with the environment variable's value. origin says "env NAME" when the
  // whole value is one variable (how secrets are meant to be written).
  std::string Expand(const toml::node* n, const std::string& key, const std::string& in, std::string* origin) {
    std::string out;
    size_t i = 0;
    int vars = 0;
    std::string last_var;
    while (i < in.size()) {
      size_t start = in.find("${", i);
      if (start == std::string::npos) {
        out.append(in, i, std::string::npos);
        break;
      }
      size_t end = in.find('}', start);
      if (end == std::string::npos) {
        Fail(n, key, "has an unterminated ${...}");
        return {};
      }
      out.append(in, i, start - i);
      std::string var = in.substr(start + 2, end - start - 2);
      const char* value = Env(var);
      if (value == nullptr) {
        Fail(n, key, fmt::format("refers to environment variable {}, which is not set", var));
        return {};
      }
      out += value;
      ++vars;
      last_var = var;
      i = end + 1;
    }
    if (vars == 1 && in == "${" + last_var + "}") *origin = "env " + last_var;
    return out;
  }

  std::string name_, base_dir_;
  const std::map<std::string, std::string>* env_;
  Status status_;
  bool inline_secret_ = false;
  std::vector<std::string> warnings_;
};

bool OneOf(const std::string& v, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (v == o) return true;
  }
  return false;
}

bool Empty(const FieldRef& field) {
  if (auto* str = std::get_if<std::string*>(&field)) return (*str)->empty();
  if (auto* list = std::get_if<std::vector<std::string>*>(&field)) return (*list)->empty() || (*list)->front().empty();
  if (auto* secret = std::get_if<Secret*>(&field)) return (*secret)->empty();
  return false;
}

// The single-key rules of the table's rows in `section`: required, minimum, choices, https.
void CheckKeys(Reader& r, int line, const std::string& section, GatewayConfig* c) {
  for (const KeyInfo& key : Keys()) {
    if (key.section != section || (key.flags & kAlias) != 0) continue;
    const std::string dotted = section + "." + key.name;
    const FieldRef field = key.field(*c);
    if ((key.flags & kRequired) != 0 && Empty(field)) r.Fail(line, dotted, "is required");
    if (key.min > 0 && key.type == KeyType::kSize && *std::get<uint64_t*>(field) < static_cast<uint64_t>(key.min)) {
      r.Fail(line, dotted, "must be at least " + MinimumText(key));
    }
    if (key.min > 0 && key.type == KeyType::kDuration && *std::get<Millis*>(field) < Millis(key.min)) {
      r.Fail(line, dotted, "must be at least " + MinimumText(key));
    }
    if (key.choices != nullptr) {
      const std::string& value = *std::get<std::string*>(field);
      bool ok = value.empty() && (key.flags & kEmptyOk) != 0;
      std::string_view rest(key.choices);
      while (!ok && !rest.empty()) {
        const size_t bar = rest.find('|');
        const std::string choice(rest.substr(0, bar));
        ok = (key.flags & kIgnoreCase) != 0 ? Lower(value) == Lower(choice) : value == choice;
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      if (!ok) r.Fail(line, dotted, "must be " + ChoicesText(key.choices));
    }
    if ((key.flags & kHttps) != 0) {
      const std::string& url = *std::get<std::string*>(field);
      if (!url.empty() && !url.starts_with("https://")) {
        r.Fail(line, dotted, "must be an https:// URL (TLS verification is always on)");
      }
    }
  }
}

// The rules of one key are the table's (CheckKeys); these are the rules across keys.
void Validate(Reader& r, const toml::table& root, GatewayConfig* c) {
  auto line_of = [&](const char* section) {
    const toml::node* n = root.get(section);
    return n != nullptr ? static_cast<int>(n->source().begin.line) : 1;
  };
  KafkaConfig& k = c->kafka;
  CheckKeys(r, line_of("kafka"), "kafka", c);
  if (Lower(k.security_protocol).starts_with("sasl")) {
    if (k.username.empty()) r.Fail(line_of("kafka"), "kafka.username", "is required with SASL");
    if (k.password.empty()) r.Fail(line_of("kafka"), "kafka.password", "is required with SASL (or password_file, or password_credential)");
    if (!OneOf(k.sasl_mechanism, {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"})) {
      r.Fail(line_of("kafka"), "kafka.sasl_mechanism", "must be SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN");
    }
  }
  SpoolConfig& sp = c->spool;
  if (sp.path.empty()) r.Fail(line_of("spool"), "spool.path", "must not be empty");
  if (!(0 < sp.low_watermark && sp.low_watermark <= sp.high_watermark && sp.high_watermark <= 1)) {
    r.Fail(line_of("spool"), "spool.low_watermark", "watermarks must satisfy 0 < low <= high <= 1");
  }
  CheckKeys(r, line_of("spool"), "spool", c);  // max_bytes: at least 1MiB
  // An ingest batch stops growing once it holds kafka.max_batch_bytes, so the event that took it
  // there (at most min(delivery.max_batch_bytes, 1,000,000) bytes; larger input is quarantined,
  // which the failed area's own budget takes) can overshoot. After a failed append ingest merges
  // the batch in flight with the next one and retries them as one append: two such batches. An
  // append larger than max_bytes is refused as Full even by an empty spool: ingest would stop for
  // ever.
  const uint64_t largest_event = std::min<uint64_t>(c->delivery.max_batch_bytes, 1'000'000);
  const uint64_t largest_append = 2 * (k.max_batch_bytes + largest_event);
  if (sp.max_bytes < largest_append) {
    r.Fail(line_of("spool"), "spool.max_bytes",
           fmt::format("must be at least {} bytes: a retried append (two ingest batches of kafka.max_batch_bytes "
                       "{} plus one event of up to {} bytes each) must fit into an empty spool, or it is "
                       "refused as full for ever; raise max_bytes or lower kafka.max_batch_bytes",
                       largest_append, k.max_batch_bytes, largest_event));
  }
  SentinelConfig& s = c->sentinel;
  CheckKeys(r, line_of("sentinel"), "sentinel", c);  // api, cloud, https URLs, dcr_refresh, dedupe
  if (!s.dcr_resource_id.empty()) {
    if (s.api != "logs_ingestion") {
      r.Fail(line_of("sentinel"), "sentinel.dcr_resource_id", "is for logs_ingestion (a DCR is read back)");
    } else if (!azure::IsDcrResourceId(s.dcr_resource_id)) {
      r.Fail(line_of("sentinel"), "sentinel.dcr_resource_id",
             "must be /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.Insights/"
             "dataCollectionRules/{name}");
    }
  }
  if (s.api == "logs_ingestion") {
    if (s.endpoint.empty()) r.Fail(line_of("sentinel"), "sentinel.endpoint", "is required for logs_ingestion");
    if (s.dcr_immutable_id.empty()) {
      r.Fail(line_of("sentinel"), "sentinel.dcr_immutable_id", "is required for logs_ingestion");
    }
    if (!s.managed_identity) {
      if (s.tenant_id.empty()) r.Fail(line_of("sentinel"), "sentinel.tenant_id", "is required (or managed_identity = true)");
      if (s.client_id.empty()) r.Fail(line_of("sentinel"), "sentinel.client_id", "is required (or managed_identity = true)");
      if (s.client_secret.empty()) {
        r.Fail(line_of("sentinel"), "sentinel.client_secret", "is required (or client_secret_file, client_secret_credential, or managed_identity = true)");
      }
    }
  } else if (s.api == "data_collector") {
    if (s.workspace_id.empty()) r.Fail(line_of("sentinel"), "sentinel.workspace_id", "is required for data_collector");
    if (s.shared_key.empty()) r.Fail(line_of("sentinel"), "sentinel.shared_key", "is required for data_collector (or shared_key_file, or shared_key_credential)");
  }
  if (s.dedupe == "query") {
    // The ids are looked up in the tables the DCR fills; the Data Collector API's suffixed
    // columns (sg_event_id_s) are not supported by the resolution (docs/AZURE.md, "Exactly once").
    if (s.api != "logs_ingestion") {
      r.Fail(line_of("sentinel"), "sentinel.dedupe", "= \"query\" is for logs_ingestion");
    }
    if (s.workspace_id.empty()) {
      r.Fail(line_of("sentinel"), "sentinel.workspace_id", "is required with dedupe = \"query\" (the workspace the DCR's tables are in)");
    }
    if (c->delivery.event_id_field.empty()) {
      r.Fail(line_of("delivery"), "delivery.event_id_field", "must not be empty with [sentinel] dedupe = \"query\"");
    }
  }
  CheckKeys(r, line_of("routes"), "routes", c);  // layout
  if (c->routes.layout.empty()) c->routes.layout = s.api == "data_collector" ? "legacy" : "dcr";
  citrix::Layout layout = citrix::Layout::kDcr;
  if (c->routes.catch_all.empty() && citrix::ParseLayout(c->routes.layout, &layout)) {
    c->routes.catch_all = citrix::CatchAllTable(layout);
  }
  DeliveryConfig& d = c->delivery;
  CheckKeys(r, line_of("delivery"), "delivery", c);
  if (d.backoff_initial > d.backoff_cap) {
    r.Fail(line_of("delivery"), "delivery.backoff_initial", "must not exceed delivery.backoff_cap");
  }
  CheckKeys(r, line_of("metrics"), "metrics", c);
  if (!c->metrics.listen.empty() && c->metrics.listen.rfind(':') == std::string::npos) {
    r.Fail(line_of("metrics"), "metrics.listen", "must be HOST:PORT");
  }
  CheckKeys(r, line_of("log"), "log", c);  // level, format
}

}  // namespace

std::string DefaultGroupInstanceId(const std::string& host, const std::string& spool_path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(spool_path, ec), ec);
  const std::string path = ec ? spool_path : p.string();
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits: stable across builds and hosts
  for (unsigned char ch : path) h = (h ^ ch) * 1099511628211ull;
  std::string name;
  for (char ch : host.substr(0, 64)) {
    name += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_' ? ch : '_';
  }
  if (name.empty()) name = "localhost";
  return fmt::format("sentinel-gateway-{}-{:016x}", name, h);
}

Status ParseSize(const std::string& text, uint64_t* bytes) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return Status::InvalidArgument(fmt::format("'{}' is not a size (expected e.g. 20GiB)", text));
  errno = 0;
  uint64_t n = std::strtoull(text.substr(0, i).c_str(), nullptr, 10);
  const bool out_of_range = errno == ERANGE;  // strtoull saturates: "99999999999999999999" is no size
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},           {"B", 1},
      {"KB", 1000},      {"MB", 1000'000},      {"GB", 1000'000'000},      {"TB", 1000'000'000'000},
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Status::InvalidArgument(fmt::format("'{}' has an unknown size unit (use B, KB, MB, GB, KiB, MiB, GiB, TiB)", text));
  }
  if (out_of_range || n > UINT64_MAX / it->second) {
    return Status::InvalidArgument(fmt::format("'{}' is too large", text));
  }
  *bytes = n * it->second;
  return Status::OK();
}

std::string DefaultSpoolPath(const std::string& config_dir, const char* state_directory) {
  // $STATE_DIRECTORY may list several directories, colon-separated: the first is ours.
  std::string dir = state_directory != nullptr ? std::string(state_directory).substr(0, std::string(state_directory).find(':')) : "";
  if (!dir.empty() && dir.front() == '/') return (fs::path(dir) / "spool").string();
  return (fs::path(config_dir) / "spool").lexically_normal().string();
}

Status ParseDuration(const std::string& text, Millis* out) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return Status::InvalidArgument(fmt::format("'{}' is not a duration (expected e.g. 500ms, 5s, 5m)", text));
  errno = 0;
  int64_t n = std::strtoll(text.substr(0, i).c_str(), nullptr, 10);
  const bool out_of_range = errno == ERANGE;  // strtoll saturates at INT64_MAX
  std::string unit = text.substr(i);
  static const std::map<std::string, int64_t> kUnits = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) {
    return Status::InvalidArgument(fmt::format("'{}' needs a unit: ms, s, m, h or d", text));
  }
  // n * unit must fit in milliseconds (int64): "9999999999999999d" would overflow.
  if (out_of_range || n > INT64_MAX / it->second) {
    return Status::InvalidArgument(fmt::format("'{}' is too long", text));
  }
  *out = Millis(n * it->second);
  return Status::OK();
}

namespace {

// Reads [section] of `root` by the table: its unknown keys, then each row's value.
void ReadSection(Reader& r, const toml::table& root, const std::string& section, GatewayConfig* c) {
  const toml::table* t = r.Section(root, section, section);
  std::set<std::string> known;
  for (const KeyInfo& key : Keys()) {
    if (key.section != section) continue;
    known.insert(key.name);
    if (key.type == KeyType::kSecret) {
      known.insert(std::string(key.name) + "_file");
      known.insert(std::string(key.name) + "_credential");
    }
  }
  r.Known(t, section, known);
  for (const KeyInfo& key : Keys()) {
    if (key.section != section) continue;
    // An alias is read only when the key before it (the one it stands for) left the field empty.
    if ((key.flags & kAlias) != 0) {
      const FieldRef field = key.field(*c);
      auto* list = std::get_if<std::vector<std::string>*>(&field);
      if (list != nullptr ? !(*list)->empty() : !Empty(field)) continue;
    }
    r.Read(t, key, c);
  }
}

// [spool] path when the file names none: under systemd (StateDirectory=, which sets
// $STATE_DIRECTORY, the first of a colon-separated list) the spool lives in
// /var/lib/sentinel-gateway/spool; the configuration's own directory (/etc under the packaged
// unit) is read-only there (ProtectSystem=strict). Elsewhere "spool" beside the configuration file.
void DefaultSpool(Reader& r, const toml::table& root, GatewayConfig* c) {
  const toml::table* s = root.get_as<toml::table>("spool");
  if (s == nullptr || s->get("path") == nullptr) c->spool.path = DefaultSpoolPath(r.Resolve("."), r.Env("STATE_DIRECTORY"));
}

Status ParseToml(const std::string& text, const std::string& name, toml::table* root) {
  try {
    *root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", name, e.source().begin.line, e.description()));
  }
  return Status::OK();
}

Status ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot read the configuration file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  *text = ss.str();
  return Status::OK();
}

}  // namespace

Status Parse(const std::string& text, const std::string& name, const std::string& base_dir,
             GatewayConfig* out, const std::map<std::string, std::string>* env) {
  toml::table root;
  Status parsed = ParseToml(text, name, &root);
  if (!parsed.ok()) return parsed;
  GatewayConfig c;
  c.source = name;
  Reader r(name, base_dir, env);
  r.Known(&root, "", std::set<std::string>(Sections().begin(), Sections().end()));
  if (!r.ok()) return r.status();

  // [kafka] group_instance_id: static membership by default, so a restarted gateway takes its
  // partitions back at once. Absent or "auto": derived from the host name and the spool path
  // (below); "" turns it off; anything else is used as given. A fenced static member is fatal in
  // librdkafka; ingest recreates its consumer then (docs/librdkafka.md).
  c.kafka.group_instance_id = "auto";
  for (const std::string& section : Sections()) ReadSection(r, root, section, &c);
  DefaultSpool(r, root, &c);
  if (c.kafka.group_instance_id == "auto") {
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    c.kafka.group_instance_id = DefaultGroupInstanceId(host, c.spool.path);
    c.kafka.group_instance_id_derived = true;
  }

  if (r.ok()) Validate(r, root, &c);
  if (!r.ok()) return r.status();
  if (r.inline_secret() && name != "<text>") r.WarnIfShared(name, "the configuration file, with an inline secret");
  c.warnings = std::move(r.warnings());
  *out = std::move(c);
  return Status::OK();
}

Status Load(const std::string& path, GatewayConfig* out, const std::map<std::string, std::string>* env) {
  std::string text;
  Status s = ReadFile(path, &text);
  if (!s.ok()) return s;
  std::string base = fs::absolute(fs::path(path)).parent_path().string();
  return Parse(text, path, base, out, env);
}

Status LoadSection(const std::string& path, const std::string& section, GatewayConfig* out,
                   std::set<std::string>* given, const std::map<std::string, std::string>* env) {
  std::string text;
  Status s = ReadFile(path, &text);
  if (!s.ok()) return s;
  toml::table root;
  s = ParseToml(text, path, &root);
  if (!s.ok()) return s;
  if (std::find(Sections().begin(), Sections().end(), section) == Sections().end()) {
    return Status::InvalidArgument(fmt::format("{}: no section [{}] in the gateway's configuration", path, section));
  }
  GatewayConfig c;
  c.source = path;
  Reader r(path, fs::absolute(fs::path(path)).parent_path().string(), env);
  ReadSection(r, root, section, &c);
  if (section == "spool") DefaultSpool(r, root, &c);
  const toml::node* node = root.get(section);
  if (r.ok()) CheckKeys(r, node != nullptr ? static_cast<int>(node->source().begin.line) : 1, section, &c);
  if (!r.ok()) return r.status();
  if (given != nullptr) {
    given->clear();
    if (const toml::table* t = root.get_as<toml::table>(section)) {
      for (const auto& [key, value] : *t) given->insert(std::string(key.str()));
    }
  }
  c.warnings = std::move(r.warnings());
  *out = std::move(c);
  return Status::OK();
}

std::string Redacted(const GatewayConfig& c) {
  std::string o = fmt::format("# effective configuration of {} (secrets redacted)\n", c.source);
  std::string section;
  for (const KeyInfo& key : Keys()) {
    if ((key.flags & kAlias) != 0) continue;
    if (key.section != section) {
      section = key.section;
      o += fmt::format("\n[{}]\n", section);
    }
    switch (key.type) {
      case KeyType::kRawMap:
      case KeyType::kStringMap:
      case KeyType::kPathMap:  // a sub-table: the table keeps them after the section's plain keys
        o += fmt::format("\n[{}.{}]\n", section, key.name) + ValueText(key, c);
        break;
      default:
        o += fmt::format("{} = {}\n", key.name, ValueText(key, c));
    }
  }
  return o;
}

}  // namespace sg::config
