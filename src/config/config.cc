#include "sentinel_gateway/config.h"
#include "sentinel_gateway/secret.h"

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

#include <fmt/format.h>

#include "sentinel_gateway/azure/dcr_reader.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "toml_quote.h"
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

  void Known(const toml::table* t, const std::string& section, std::initializer_list<const char*> keys) {
    if (t == nullptr) return;
    std::set<std::string> known(keys.begin(), keys.end());
    for (const auto& [k, v] : *t) {
      std::string key(k.str());
      if (!known.count(key)) Fail(&v, section.empty() ? key : section + "." + key, "unknown key");
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

std::string Quote(const std::string& s) { return TomlQuote(s); }

std::string SecretText(const Secret& s) {
  if (s.empty() && s.origin.empty()) return "\"\"";
  return Quote("<redacted: " + s.origin + ">");
}

std::string DurationText(Millis d) {
  int64_t ms = d.count();
  if (ms % 3'600'000 == 0 && ms > 0) return fmt::format("\"{}h\"", ms / 3'600'000);
  if (ms % 60'000 == 0 && ms > 0) return fmt::format("\"{}m\"", ms / 60'000);
  if (ms % 1000 == 0 && ms > 0) return fmt::format("\"{}s\"", ms / 1000);
  return fmt::format("\"{}ms\"", ms);
}

std::string SizeText(uint64_t b) {
  const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
  const int shifts[] = {40, 30, 20, 10};
  for (int i = 0; i < 4; ++i) {
    if (b != 0 && b % (1ull << shifts[i]) == 0) return fmt::format("\"{}{}\"", b >> shifts[i], units[i]);
  }
  return std::to_string(b);
}

void Validate(Reader& r, const toml::table& root, GatewayConfig* c) {
  auto line_of = [&](const char* section) {
    const toml::node* n = root.get(section);
    return n != nullptr ? static_cast<int>(n->source().begin.line) : 1;
  };
  KafkaConfig& k = c->kafka;
  if (k.brokers.empty()) r.Fail(line_of("kafka"), "kafka.brokers", "is required");
  if (k.topics.empty() || k.topics.front().empty()) r.Fail(line_of("kafka"), "kafka.topic", "is required");
  if (k.group_id.empty()) r.Fail(line_of("kafka"), "kafka.group_id", "is required");
  std::string proto = Lower(k.security_protocol);
  if (!OneOf(proto, {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"})) {
    r.Fail(line_of("kafka"), "kafka.security_protocol", "must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
  }
  if (proto.starts_with("sasl")) {
    if (k.username.empty()) r.Fail(line_of("kafka"), "kafka.username", "is required with SASL");
    if (k.password.empty()) r.Fail(line_of("kafka"), "kafka.password", "is required with SASL (or password_file, or password_credential)");
    if (!OneOf(k.sasl_mechanism, {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"})) {
      r.Fail(line_of("kafka"), "kafka.sasl_mechanism", "must be SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN");
    }
  }
  if (!OneOf(k.auto_offset_reset, {"earliest", "latest"})) {
    r.Fail(line_of("kafka"), "kafka.auto_offset_reset", "must be earliest or latest");
  }
  if (!OneOf(k.assignment_strategy, {"cooperative-sticky", "range", "roundrobin"})) {
    r.Fail(line_of("kafka"), "kafka.assignment_strategy", "must be cooperative-sticky, range or roundrobin");
  }
  SpoolConfig& sp = c->spool;
  if (sp.path.empty()) r.Fail(line_of("spool"), "spool.path", "must not be empty");
  if (!(0 < sp.low_watermark && sp.low_watermark <= sp.high_watermark && sp.high_watermark <= 1)) {
    r.Fail(line_of("spool"), "spool.low_watermark", "watermarks must satisfy 0 < low <= high <= 1");
  }
  if (sp.max_bytes < (1u << 20)) {
    r.Fail(line_of("spool"), "spool.max_bytes", "must be at least 1MiB");
  } else {
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
  }
  SentinelConfig& s = c->sentinel;
  if (!OneOf(s.api, {"logs_ingestion", "data_collector"})) {
    r.Fail(line_of("sentinel"), "sentinel.api", "must be logs_ingestion or data_collector");
  }
  if (!OneOf(s.cloud, {"public", "usgov", "china"})) {
    r.Fail(line_of("sentinel"), "sentinel.cloud", "must be public, usgov or china");
  }
  auto https = [&](const std::string& url, const char* key) {
    if (!url.empty() && !url.starts_with("https://")) {
      r.Fail(line_of("sentinel"), key, "must be an https:// URL (TLS verification is always on)");
    }
  };
  https(s.endpoint, "sentinel.endpoint");
  https(s.login_endpoint, "sentinel.login_endpoint");
  https(s.data_collector_endpoint, "sentinel.data_collector_endpoint");
  https(s.management_endpoint, "sentinel.management_endpoint");
  if (!s.dcr_resource_id.empty()) {
    if (s.api != "logs_ingestion") {
      r.Fail(line_of("sentinel"), "sentinel.dcr_resource_id", "is for logs_ingestion (a DCR is read back)");
    } else if (!azure::IsDcrResourceId(s.dcr_resource_id)) {
      r.Fail(line_of("sentinel"), "sentinel.dcr_resource_id",
             "must be /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.Insights/"
             "dataCollectionRules/{name}");
    }
  }
  if (s.dcr_refresh < Millis(1000)) r.Fail(line_of("sentinel"), "sentinel.dcr_refresh", "must be at least 1s");
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
  if (!OneOf(s.dedupe, {"off", "query"})) {
    r.Fail(line_of("sentinel"), "sentinel.dedupe", "must be off or query");
  } else if (s.dedupe == "query") {
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
  if (!c->routes.layout.empty() && !OneOf(c->routes.layout, {"dcr", "legacy"})) {
    r.Fail(line_of("routes"), "routes.layout", "must be dcr or legacy");
  }
  if (c->routes.layout.empty()) c->routes.layout = s.api == "data_collector" ? "legacy" : "dcr";
  citrix::Layout layout = citrix::Layout::kDcr;
  if (c->routes.catch_all.empty() && citrix::ParseLayout(c->routes.layout, &layout)) {
    c->routes.catch_all = citrix::CatchAllTable(layout);
  }
  DeliveryConfig& d = c->delivery;
  if (d.max_batch_events == 0) r.Fail(line_of("delivery"), "delivery.max_batch_events", "must be at least 1");
  if (d.backoff_initial > d.backoff_cap) {
    r.Fail(line_of("delivery"), "delivery.backoff_initial", "must not exceed delivery.backoff_cap");
  }
  if (!c->metrics.listen.empty() && c->metrics.listen.rfind(':') == std::string::npos) {
    r.Fail(line_of("metrics"), "metrics.listen", "must be HOST:PORT");
  }
  if (!OneOf(c->log.level, {"trace", "debug", "info", "warn", "error"})) {
    r.Fail(line_of("log"), "log.level", "must be trace, debug, info, warn or error");
  }
  if (!OneOf(c->log.format, {"text", "json"})) r.Fail(line_of("log"), "log.format", "must be text or json");
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

Status Parse(const std::string& text, const std::string& name, const std::string& base_dir,
             GatewayConfig* out, const std::map<std::string, std::string>* env) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", name, e.source().begin.line, e.description()));
  }
  GatewayConfig c;
  c.source = name;
  Reader r(name, base_dir, env);
  r.Known(&root, "", {"kafka", "spool", "sentinel", "routes", "delivery", "metrics", "log"});
  if (!r.ok()) return r.status();

  const toml::table* k = r.Section(root, "kafka", "kafka");
  r.Known(k, "kafka", {"brokers", "topic", "topics", "group_id", "client_id", "security_protocol", "sasl_mechanism",
                       "username", "password", "password_file", "password_credential", "ca_file", "verify_hostname", "auto_offset_reset",
                       "session_timeout", "max_poll_interval", "assignment_strategy", "group_instance_id",
                       "commit_interval",
                       "max_batch_messages", "max_batch_bytes", "librdkafka"});
  std::vector<std::string> brokers;
  r.StrList(k, "kafka", "brokers", &brokers);
  for (size_t i = 0; i < brokers.size(); ++i) c.kafka.brokers += (i ? "," : "") + brokers[i];
  r.StrList(k, "kafka", "topic", &c.kafka.topics);
  if (c.kafka.topics.empty()) r.StrList(k, "kafka", "topics", &c.kafka.topics);
  r.Str(k, "kafka", "group_id", &c.kafka.group_id);
  r.Str(k, "kafka", "client_id", &c.kafka.client_id);
  r.Str(k, "kafka", "security_protocol", &c.kafka.security_protocol);
  r.Str(k, "kafka", "sasl_mechanism", &c.kafka.sasl_mechanism);
  r.Str(k, "kafka", "username", &c.kafka.username);
  r.SecretField(k, "kafka", "password", &c.kafka.password);
  r.Path(k, "kafka", "ca_file", &c.kafka.ca_file);
  r.Bool(k, "kafka", "verify_hostname", &c.kafka.verify_hostname);
  r.Str(k, "kafka", "auto_offset_reset", &c.kafka.auto_offset_reset);
  r.Duration(k, "kafka", "session_timeout", &c.kafka.session_timeout);
  r.Duration(k, "kafka", "max_poll_interval", &c.kafka.max_poll_interval);
  r.Str(k, "kafka", "assignment_strategy", &c.kafka.assignment_strategy);
  r.Duration(k, "kafka", "commit_interval", &c.kafka.commit_interval);
  r.Integer(k, "kafka", "max_batch_messages", &c.kafka.max_batch_messages, 1, 1'000'000);
  r.Size(k, "kafka", "max_batch_bytes", &c.kafka.max_batch_bytes);
  if (k != nullptr) {
    if (const toml::table* raw = r.Section(*k, "librdkafka", "kafka.librdkafka")) {
      for (const auto& [key, v] : *raw) {
        std::string name(key.str());
        if (v.is_string()) {
          c.kafka.librdkafka[name] = v.as_string()->get();
        } else if (v.is_integer()) {
          c.kafka.librdkafka[name] = std::to_string(v.as_integer()->get());
        } else if (v.is_boolean()) {
          c.kafka.librdkafka[name] = v.as_boolean()->get() ? "true" : "false";
        } else if (v.is_floating_point()) {
          c.kafka.librdkafka[name] = fmt::format("{}", v.as_floating_point()->get());
        } else {
          r.Fail(&v, "kafka.librdkafka." + name, "must be a string, number or boolean");
        }
      }
    }
  }

  const toml::table* s = r.Section(root, "spool", "spool");
  r.Known(s, "spool", {"path", "max_bytes", "high_watermark", "low_watermark", "failed_max_bytes"});
  r.Path(s, "spool", "path", &c.spool.path);
  if (s == nullptr || s->get("path") == nullptr) {
    // No path given: under systemd (StateDirectory=, which sets $STATE_DIRECTORY, the first of a
    // colon-separated list) the spool lives in /var/lib/sentinel-gateway/spool; the configuration's
    // own directory (/etc under the packaged unit) is read-only there (ProtectSystem=strict).
    // Elsewhere "spool" beside the configuration file.
    c.spool.path = DefaultSpoolPath(r.Resolve("."), r.Env("STATE_DIRECTORY"));
  }
  r.Size(s, "spool", "max_bytes", &c.spool.max_bytes);
  r.Double(s, "spool", "high_watermark", &c.spool.high_watermark);
  r.Double(s, "spool", "low_watermark", &c.spool.low_watermark);
  r.Size(s, "spool", "failed_max_bytes", &c.spool.failed_max_bytes);

  const toml::table* a = r.Section(root, "sentinel", "sentinel");
  r.Known(a, "sentinel", {"api", "cloud", "endpoint", "login_endpoint", "ca_file", "proxy", "tenant_id", "client_id",
                          "client_secret", "client_secret_file", "client_secret_credential", "managed_identity", "imds_endpoint",
                          "dcr_immutable_id", "dcr_resource_id", "management_endpoint", "dcr_refresh",
                          "gzip", "workspace_id", "shared_key", "shared_key_file", "shared_key_credential",
                          "data_collector_endpoint", "azure_resource_id", "time_generated_field",
                          "connect_timeout", "request_timeout", "dedupe", "dedupe_wait",
                          "dedupe_query_timeout", "query_endpoint"});
  SentinelConfig& sc = c.sentinel;
  r.Str(a, "sentinel", "api", &sc.api);
  r.Str(a, "sentinel", "cloud", &sc.cloud);
  r.Str(a, "sentinel", "endpoint", &sc.endpoint);
  r.Str(a, "sentinel", "login_endpoint", &sc.login_endpoint);
  r.Path(a, "sentinel", "ca_file", &sc.ca_file);
  r.Str(a, "sentinel", "proxy", &sc.proxy);
  r.Str(a, "sentinel", "tenant_id", &sc.tenant_id);
  r.Str(a, "sentinel", "client_id", &sc.client_id);
  r.SecretField(a, "sentinel", "client_secret", &sc.client_secret);
  r.Bool(a, "sentinel", "managed_identity", &sc.managed_identity);
  r.Str(a, "sentinel", "imds_endpoint", &sc.imds_endpoint);
  r.Str(a, "sentinel", "dcr_immutable_id", &sc.dcr_immutable_id);
  r.Str(a, "sentinel", "dcr_resource_id", &sc.dcr_resource_id);
  r.Str(a, "sentinel", "management_endpoint", &sc.management_endpoint);
  r.Duration(a, "sentinel", "dcr_refresh", &sc.dcr_refresh);
  r.Bool(a, "sentinel", "gzip", &sc.gzip);
  r.Str(a, "sentinel", "workspace_id", &sc.workspace_id);
  r.SecretField(a, "sentinel", "shared_key", &sc.shared_key);
  r.Str(a, "sentinel", "data_collector_endpoint", &sc.data_collector_endpoint);
  r.Str(a, "sentinel", "azure_resource_id", &sc.azure_resource_id);
  r.Str(a, "sentinel", "time_generated_field", &sc.time_generated_field);
  r.Duration(a, "sentinel", "connect_timeout", &sc.connect_timeout);
  r.Duration(a, "sentinel", "request_timeout", &sc.request_timeout);
  r.Str(a, "sentinel", "dedupe", &sc.dedupe);
  r.Duration(a, "sentinel", "dedupe_wait", &sc.dedupe_wait);
  r.Duration(a, "sentinel", "dedupe_query_timeout", &sc.dedupe_query_timeout);
  r.Str(a, "sentinel", "query_endpoint", &sc.query_endpoint);

  const toml::table* rt = r.Section(root, "routes", "routes");
  r.Known(rt, "routes", {"layout", "catch_all", "builtin_schemas", "event_types", "targets", "schemas"});
  r.Str(rt, "routes", "layout", &c.routes.layout);
  r.Str(rt, "routes", "catch_all", &c.routes.catch_all);
  r.Bool(rt, "routes", "builtin_schemas", &c.routes.builtin_schemas);
  if (rt != nullptr) {
    auto string_map = [&](const char* key, auto&& add, bool paths) {
      if (const toml::table* m = r.Section(*rt, key, std::string("routes.") + key)) {
        for (const auto& [name, v] : *m) {
          std::string dotted = fmt::format("routes.{}.{}", key, name.str());
          if (!v.is_string() || v.as_string()->get().empty()) {
            r.Fail(&v, dotted, "must be a non-empty string");
            continue;
          }
          std::string value = v.as_string()->get();
          add(std::string(name.str()), paths ? r.Resolve(value) : value);
        }
      }
    };
    string_map("event_types", [&](std::string n, std::string v) { c.routes.event_types.emplace_back(n, v); }, false);
    string_map("targets", [&](std::string n, std::string v) { c.routes.targets[n] = v; }, false);
    string_map("schemas", [&](std::string n, std::string v) { c.routes.schemas[n] = v; }, true);
  }

  const toml::table* d = r.Section(root, "delivery", "delivery");
  r.Known(d, "delivery", {"max_batch_events", "max_batch_bytes", "linger", "concurrency", "backoff_initial",
                          "backoff_cap", "probe_interval", "max_attempts", "event_id_field", "shutdown_grace"});
  r.Integer(d, "delivery", "max_batch_events", &c.delivery.max_batch_events, 1, 1'000'000);
  r.Size(d, "delivery", "max_batch_bytes", &c.delivery.max_batch_bytes);
  r.Duration(d, "delivery", "linger", &c.delivery.linger);
  r.Integer(d, "delivery", "concurrency", &c.delivery.concurrency, 1, 64);
  r.Duration(d, "delivery", "backoff_initial", &c.delivery.backoff_initial);
  r.Duration(d, "delivery", "backoff_cap", &c.delivery.backoff_cap);
  r.Duration(d, "delivery", "probe_interval", &c.delivery.probe_interval);
  r.Integer(d, "delivery", "max_attempts", &c.delivery.max_attempts, 0, 1'000'000);
  r.Str(d, "delivery", "event_id_field", &c.delivery.event_id_field);
  r.Duration(d, "delivery", "shutdown_grace", &c.delivery.shutdown_grace);

  // [kafka] group_instance_id: static membership by default, so a restarted gateway takes its
  // partitions back at once. Absent or "auto": derived from the host name and the spool path (read
  // above); "" turns it off; anything else is used as given. A fenced static member is fatal in
  // librdkafka; ingest recreates its consumer then (docs/librdkafka.md).
  c.kafka.group_instance_id = "auto";
  r.Str(k, "kafka", "group_instance_id", &c.kafka.group_instance_id);
  if (c.kafka.group_instance_id == "auto") {
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    c.kafka.group_instance_id = DefaultGroupInstanceId(host, c.spool.path);
    c.kafka.group_instance_id_derived = true;
  }

  const toml::table* m = r.Section(root, "metrics", "metrics");
  r.Known(m, "metrics", {"listen"});
  r.Str(m, "metrics", "listen", &c.metrics.listen);

  const toml::table* l = r.Section(root, "log", "log");
  r.Known(l, "log", {"level", "format"});
  r.Str(l, "log", "level", &c.log.level);
  r.Str(l, "log", "format", &c.log.format);

  if (r.ok()) Validate(r, root, &c);
  if (!r.ok()) return r.status();
  if (r.inline_secret() && name != "<text>") r.WarnIfShared(name, "the configuration file, with an inline secret");
  c.warnings = std::move(r.warnings());
  *out = std::move(c);
  return Status::OK();
}

Status Load(const std::string& path, GatewayConfig* out, const std::map<std::string, std::string>* env) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot read the configuration file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string base = fs::absolute(fs::path(path)).parent_path().string();
  return Parse(ss.str(), path, base, out, env);
}

std::string Redacted(const GatewayConfig& c) {
  std::string o;
  auto kv = [&](const char* key, const std::string& value) { o += fmt::format("{} = {}\n", key, value); };
  auto str = [&](const char* key, const std::string& value) { kv(key, Quote(value)); };
  auto boolean = [&](const char* key, bool v) { kv(key, v ? "true" : "false"); };
  o += fmt::format("# effective configuration of {} (secrets redacted)\n\n[kafka]\n", c.source);
  str("brokers", c.kafka.brokers);
  std::string topics = "[";
  for (size_t i = 0; i < c.kafka.topics.size(); ++i) topics += (i ? ", " : "") + Quote(c.kafka.topics[i]);
  kv("topic", topics + "]");
  str("group_id", c.kafka.group_id);
  str("client_id", c.kafka.client_id);
  str("security_protocol", c.kafka.security_protocol);
  str("sasl_mechanism", c.kafka.sasl_mechanism);
  str("username", c.kafka.username);
  kv("password", SecretText(c.kafka.password));
  str("ca_file", c.kafka.ca_file);
  boolean("verify_hostname", c.kafka.verify_hostname);
  str("auto_offset_reset", c.kafka.auto_offset_reset);
  kv("session_timeout", DurationText(c.kafka.session_timeout));
  kv("max_poll_interval", DurationText(c.kafka.max_poll_interval));
  str("assignment_strategy", c.kafka.assignment_strategy);
  if (c.kafka.group_instance_id_derived) {  // parsed back, "auto" is derived again
    o += fmt::format("group_instance_id = \"auto\"  # {} (host name and spool path)\n",
                     Quote(c.kafka.group_instance_id));
  } else {
    str("group_instance_id", c.kafka.group_instance_id);
  }
  kv("commit_interval", DurationText(c.kafka.commit_interval));
  kv("max_batch_messages", std::to_string(c.kafka.max_batch_messages));
  kv("max_batch_bytes", SizeText(c.kafka.max_batch_bytes));
  o += "\n[kafka.librdkafka]\n";
  for (const auto& [key, value] : c.kafka.librdkafka) {
    o += fmt::format("{} = {}\n", Quote(key), IsSecretKey(key) ? Quote("<redacted: inline>") : Quote(value));
  }
  o += "\n[spool]\n";
  str("path", c.spool.path);
  kv("max_bytes", SizeText(c.spool.max_bytes));
  kv("high_watermark", fmt::format("{}", c.spool.high_watermark));
  kv("low_watermark", fmt::format("{}", c.spool.low_watermark));
  kv("failed_max_bytes", SizeText(c.spool.failed_max_bytes));
  const SentinelConfig& s = c.sentinel;
  o += "\n[sentinel]\n";
  str("api", s.api);
  str("cloud", s.cloud);
  str("endpoint", s.endpoint);
  str("login_endpoint", s.login_endpoint);
  str("ca_file", s.ca_file);
  str("proxy", s.proxy);
  str("tenant_id", s.tenant_id);
  str("client_id", s.client_id);
  kv("client_secret", SecretText(s.client_secret));
  boolean("managed_identity", s.managed_identity);
  str("imds_endpoint", s.imds_endpoint);
  str("dcr_immutable_id", s.dcr_immutable_id);
  str("dcr_resource_id", s.dcr_resource_id);
  str("management_endpoint", s.management_endpoint);
  kv("dcr_refresh", DurationText(s.dcr_refresh));
  boolean("gzip", s.gzip);
  str("workspace_id", s.workspace_id);
  kv("shared_key", SecretText(s.shared_key));
  str("data_collector_endpoint", s.data_collector_endpoint);
  str("azure_resource_id", s.azure_resource_id);
  str("time_generated_field", s.time_generated_field);
  kv("connect_timeout", DurationText(s.connect_timeout));
  kv("request_timeout", DurationText(s.request_timeout));
  str("dedupe", s.dedupe);
  kv("dedupe_wait", DurationText(s.dedupe_wait));
  kv("dedupe_query_timeout", DurationText(s.dedupe_query_timeout));
  str("query_endpoint", s.query_endpoint);
  o += "\n[routes]\n";
  str("layout", c.routes.layout);
  str("catch_all", c.routes.catch_all);
  boolean("builtin_schemas", c.routes.builtin_schemas);
  o += "\n[routes.event_types]\n";
  for (const auto& [t, table] : c.routes.event_types) o += fmt::format("{} = {}\n", Quote(t), Quote(table));
  o += "\n[routes.targets]\n";
  for (const auto& [t, target] : c.routes.targets) o += fmt::format("{} = {}\n", Quote(t), Quote(target));
  o += "\n[routes.schemas]\n";
  for (const auto& [t, file] : c.routes.schemas) o += fmt::format("{} = {}\n", Quote(t), Quote(file));
  const DeliveryConfig& d = c.delivery;
  o += "\n[delivery]\n";
  kv("max_batch_events", std::to_string(d.max_batch_events));
  kv("max_batch_bytes", SizeText(d.max_batch_bytes));
  kv("linger", DurationText(d.linger));
  kv("concurrency", std::to_string(d.concurrency));
  kv("backoff_initial", DurationText(d.backoff_initial));
  kv("backoff_cap", DurationText(d.backoff_cap));
  kv("probe_interval", DurationText(d.probe_interval));
  kv("max_attempts", std::to_string(d.max_attempts));
  str("event_id_field", d.event_id_field);
  kv("shutdown_grace", DurationText(d.shutdown_grace));
  o += "\n[metrics]\n";
  str("listen", c.metrics.listen);
  o += "\n[log]\n";
  str("level", c.log.level);
  str("format", c.log.format);
  return o;
}

}  // namespace sg::config
