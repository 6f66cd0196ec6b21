#include "sentinel_gateway/config_keys.h"

#include <fmt/format.h>

#include "sentinel_gateway/secret.h"
#include "sentinel_gateway/toml_quote.h"

namespace sg::config {
namespace {

// The accessor of a row: where its value lives in a GatewayConfig.
#define SG_FIELD(member) [](GatewayConfig& c) -> FieldRef { return &c.member; }

using K = KeyType;

std::string Unquoted(std::string s) {
  if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
  return s;
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

}  // namespace

const std::vector<KeyInfo>& Keys() {
  static const std::vector<KeyInfo> kKeys = {
      // [kafka]: Citrix Analytics' Kafka export (the consumer).
      {"kafka", "brokers", K::kStringList, "bootstrap brokers, \"host:port,host:port\" or an array",
       SG_FIELD(kafka.brokers), 0, 0, nullptr, kRequired},
      {"kafka", "topic", K::kStringList, "the topic (or topics) to consume", SG_FIELD(kafka.topics), 0, 0, nullptr,
       kRequired},
      {"kafka", "topics", K::kStringList, "another name for topic", SG_FIELD(kafka.topics), 0, 0, nullptr, kAlias},
      {"kafka", "group_id", K::kString, "the consumer group", SG_FIELD(kafka.group_id), 0, 0, nullptr, kRequired},
      {"kafka", "client_id", K::kString, "client.id the brokers see", SG_FIELD(kafka.client_id)},
      {"kafka", "security_protocol", K::kString, "how to talk to the brokers", SG_FIELD(kafka.security_protocol), 0,
       0, "PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL", kIgnoreCase},
      {"kafka", "sasl_mechanism", K::kString, "SASL mechanism (checked with a SASL protocol)",
       SG_FIELD(kafka.sasl_mechanism)},
      {"kafka", "username", K::kString, "SASL user name (required with SASL)", SG_FIELD(kafka.username)},
      {"kafka", "password", K::kSecret, "SASL password (required with SASL)", SG_FIELD(kafka.password)},
      {"kafka", "ca_file", K::kPath, "CA bundle for the brokers' certificates; \"\": the system's",
       SG_FIELD(kafka.ca_file)},
      {"kafka", "verify_hostname", K::kBool, "TLS host name check of the brokers", SG_FIELD(kafka.verify_hostname)},
      {"kafka", "auto_offset_reset", K::kString, "where a new consumer group starts",
       SG_FIELD(kafka.auto_offset_reset), 0, 0, "earliest|latest"},
      {"kafka", "session_timeout", K::kDuration, "consumer group session timeout", SG_FIELD(kafka.session_timeout)},
      {"kafka", "max_poll_interval", K::kDuration, "longest time between polls before the group evicts us",
       SG_FIELD(kafka.max_poll_interval)},
      {"kafka", "assignment_strategy", K::kString, "partition assignment strategy",
       SG_FIELD(kafka.assignment_strategy), 0, 0, "cooperative-sticky|range|roundrobin"},
      {"kafka", "group_instance_id", K::kString, "static membership: \"auto\" (default), \"\" (off) or an id",
       SG_FIELD(kafka.group_instance_id)},
      {"kafka", "commit_interval", K::kDuration, "periodic async commit of offsets already spooled",
       SG_FIELD(kafka.commit_interval)},
      {"kafka", "max_batch_messages", K::kInteger, "messages per spool append (one fsync)",
       SG_FIELD(kafka.max_batch_messages), 1, 1'000'000},
      {"kafka", "max_batch_bytes", K::kSize, "payload bytes per spool append", SG_FIELD(kafka.max_batch_bytes)},
      {"kafka", "librdkafka", K::kRawMap, "raw librdkafka properties, applied last", SG_FIELD(kafka.librdkafka)},

      // [spool]: the local buffer between Kafka and Azure.
      {"spool", "path", K::kPath, "spool directory; default $STATE_DIRECTORY/spool or spool beside the file",
       SG_FIELD(spool.path)},
      {"spool", "max_bytes", K::kSize, "disk budget of the spool", SG_FIELD(spool.max_bytes), 1 << 20},
      {"spool", "high_watermark", K::kNumber, "fill ratio at which ingest pauses", SG_FIELD(spool.high_watermark)},
      {"spool", "low_watermark", K::kNumber, "fill ratio at which ingest resumes", SG_FIELD(spool.low_watermark)},
      {"spool", "failed_max_bytes", K::kSize, "the failed area's own budget; 0: a quarter of max_bytes",
       SG_FIELD(spool.failed_max_bytes)},

      // [sentinel]: Azure Monitor / Microsoft Sentinel.
      {"sentinel", "api", K::kString, "logs_ingestion (DCR) or data_collector (legacy)", SG_FIELD(sentinel.api), 0,
       0, "logs_ingestion|data_collector"},
      {"sentinel", "cloud", K::kString, "Azure cloud: default login and ingestion hosts", SG_FIELD(sentinel.cloud),
       0, 0, "public|usgov|china"},
      {"sentinel", "endpoint", K::kString, "DCE / DCR ingestion URL (logs_ingestion)", SG_FIELD(sentinel.endpoint), 0,
       0, nullptr, kHttps},
      {"sentinel", "login_endpoint", K::kString, "token authority base URL; default from cloud",
       SG_FIELD(sentinel.login_endpoint), 0, 0, nullptr, kHttps},
      {"sentinel", "ca_file", K::kPath, "CA bundle for Azure; \"\": the system's", SG_FIELD(sentinel.ca_file)},
      {"sentinel", "proxy", K::kString, "HTTP(S) proxy, libcurl syntax", SG_FIELD(sentinel.proxy)},
      {"sentinel", "tenant_id", K::kString, "Entra ID tenant of the app registration", SG_FIELD(sentinel.tenant_id)},
      {"sentinel", "client_id", K::kString, "app registration's client id", SG_FIELD(sentinel.client_id)},
      {"sentinel", "client_secret", K::kSecret, "app registration's client secret", SG_FIELD(sentinel.client_secret)},
      {"sentinel", "managed_identity", K::kBool, "authenticate with the VM's managed identity",
       SG_FIELD(sentinel.managed_identity)},
      {"sentinel", "imds_endpoint", K::kString, "instance metadata endpoint; default Azure's",
       SG_FIELD(sentinel.imds_url)},
      {"sentinel", "dcr_immutable_id", K::kString, "the DCR's immutable id (logs_ingestion)",
       SG_FIELD(sentinel.dcr_immutable_id)},
      {"sentinel", "dcr_resource_id", K::kString, "the DCR's ARM resource id: read it back and shape to it",
       SG_FIELD(sentinel.dcr_resource_id)},
      {"sentinel", "management_endpoint", K::kString, "Azure Resource Manager base URL; default from cloud",
       SG_FIELD(sentinel.management_endpoint), 0, 0, nullptr, kHttps},
      {"sentinel", "dcr_refresh", K::kDuration, "how often the DCR is read back", SG_FIELD(sentinel.dcr_refresh),
       1000},
      {"sentinel", "gzip", K::kBool, "Content-Encoding: gzip on Logs Ingestion requests", SG_FIELD(sentinel.gzip)},
      {"sentinel", "workspace_id", K::kString, "Log Analytics workspace id (data_collector, dedupe)",
       SG_FIELD(sentinel.workspace_id)},
      {"sentinel", "shared_key", K::kSecret, "workspace shared key (data_collector)", SG_FIELD(sentinel.shared_key)},
      {"sentinel", "data_collector_endpoint", K::kString, "default https://<workspace>.ods.opinsights.azure.<cloud>",
       SG_FIELD(sentinel.data_collector_endpoint), 0, 0, nullptr, kHttps},
      {"sentinel", "azure_resource_id", K::kString, "optional x-ms-AzureResourceId (data_collector)",
       SG_FIELD(sentinel.azure_resource_id)},
      {"sentinel", "time_generated_field", K::kString, "data_collector: the field TimeGenerated comes from",
       SG_FIELD(sentinel.time_generated_field)},
      {"sentinel", "connect_timeout", K::kDuration, "TCP/TLS connect timeout", SG_FIELD(sentinel.connect_timeout)},
      {"sentinel", "request_timeout", K::kDuration, "whole-request timeout", SG_FIELD(sentinel.request_timeout)},
      {"sentinel", "dedupe", K::kString, "after a crash: \"query\" asks Azure what arrived, \"off\" posts again",
       SG_FIELD(sentinel.dedupe), 0, 0, "off|query"},
      {"sentinel", "dedupe_wait", K::kDuration, "Azure's ingestion latency: query this long after the restart",
       SG_FIELD(sentinel.dedupe_wait)},
      {"sentinel", "dedupe_query_timeout", K::kDuration, "retry an unreachable Query API this long, then post",
       SG_FIELD(sentinel.dedupe_query_timeout)},
      {"sentinel", "query_endpoint", K::kString, "Log Analytics Query API; default from cloud",
       SG_FIELD(sentinel.query_endpoint)},

      // [routes]: event type -> table -> stream.
      {"routes", "layout", K::kString, "dcr or legacy tables; default from sentinel.api", SG_FIELD(routes.layout), 0,
       0, "dcr|legacy", kEmptyOk},
      {"routes", "catch_all", K::kString, "table for event types no rule matches; default the layout's",
       SG_FIELD(routes.catch_all)},
      {"routes", "builtin_schemas", K::kBool, "convert values to the column types of the gateway's own tables",
       SG_FIELD(routes.builtin_schemas)},
      {"routes", "event_types", K::kStringMap, "extra rules, event type (or \"prefix*\") -> table, in file order",
       SG_FIELD(routes.event_types)},
      {"routes", "targets", K::kStringMap, "table -> stream or Log-Type (overrides)", SG_FIELD(routes.targets)},
      {"routes", "schemas", K::kPathMap, "table -> DCR / stream declaration JSON file", SG_FIELD(routes.schemas)},

      // [delivery]: batches and retries towards Azure.
      {"delivery", "max_batch_events", K::kInteger, "events per request", SG_FIELD(delivery.max_batch_events), 1,
       1'000'000},
      {"delivery", "max_batch_bytes", K::kSize, "request body bytes as sent", SG_FIELD(delivery.max_batch_bytes)},
      {"delivery", "linger", K::kDuration, "wait this long for a fuller batch", SG_FIELD(delivery.linger)},
      {"delivery", "concurrency", K::kInteger, "requests in flight per table", SG_FIELD(delivery.concurrency), 1, 64},
      {"delivery", "read_ahead_bytes", K::kSize, "events read from the spool and not yet delivered, all tables",
       SG_FIELD(delivery.read_ahead_bytes)},
      {"delivery", "backoff_initial", K::kDuration, "first retry delay (exponential, full jitter)",
       SG_FIELD(delivery.backoff_initial)},
      {"delivery", "backoff_cap", K::kDuration, "longest retry delay", SG_FIELD(delivery.backoff_cap)},
      {"delivery", "probe_interval", K::kDuration, "one request this often while a table backs off; 0: off",
       SG_FIELD(delivery.probe_interval)},
      {"delivery", "max_attempts", K::kInteger, "0: retry retryable errors for ever", SG_FIELD(delivery.max_attempts),
       0, 1'000'000},
      {"delivery", "event_id_field", K::kString, "field holding topic/partition/offset; \"\": off",
       SG_FIELD(delivery.event_id_field)},
      {"delivery", "shutdown_grace", K::kDuration, "on SIGTERM, time given to requests in flight",
       SG_FIELD(delivery.shutdown_grace)},

      // [metrics], [log]
      {"metrics", "listen", K::kString, "HOST:PORT of /metrics, /healthz, /readyz; \"\": off",
       SG_FIELD(metrics.listen)},
      {"log", "level", K::kString, "log level", SG_FIELD(log.level), 0, 0, "trace|debug|info|warn|error"},
      {"log", "format", K::kString, "text, or json (one object per line)", SG_FIELD(log.format), 0, 0, "text|json"},
  };
  return kKeys;
}

#undef SG_FIELD

const std::vector<std::string>& Sections() {
  static const std::vector<std::string> kSections = [] {
    std::vector<std::string> out;
    for (const KeyInfo& k : Keys()) {
      if (out.empty() || out.back() != k.section) out.emplace_back(k.section);
    }
    return out;
  }();
  return kSections;
}

FieldRef FieldOf(const KeyInfo& key, const GatewayConfig& config) {
  // The accessor takes a mutable config so that one accessor serves the reader and the printers;
  // the printers only read through what it returns.
  return key.field(const_cast<GatewayConfig&>(config));
}

std::string ChoicesText(const char* choices) {
  std::vector<std::string> items;
  std::string_view rest(choices);
  while (!rest.empty()) {
    size_t bar = rest.find('|');
    items.emplace_back(rest.substr(0, bar));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

std::string MinimumText(const KeyInfo& key) {
  if (key.type == KeyType::kSize) return Unquoted(SizeText(static_cast<uint64_t>(key.min)));
  if (key.type == KeyType::kDuration) return Unquoted(DurationText(Millis(key.min)));
  return std::to_string(key.min);
}

std::string ValueText(const KeyInfo& key, const GatewayConfig& config) {
  const FieldRef field = FieldOf(key, config);
  switch (key.type) {
    case KeyType::kString:
    case KeyType::kPath:
      if (&config.kafka.group_instance_id == std::get<std::string*>(field) && config.kafka.group_instance_id_derived) {
        // Parsed back, "auto" is derived again; the comment shows what it stands for.
        return fmt::format("\"auto\"  # {} (host name and spool path)", TomlQuote(config.kafka.group_instance_id));
      }
      return TomlQuote(*std::get<std::string*>(field));
    case KeyType::kStringList: {
      if (auto* joined = std::get_if<std::string*>(&field)) return TomlQuote(**joined);
      const auto& list = *std::get<std::vector<std::string>*>(field);
      std::string out = "[";
      for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + TomlQuote(list[i]);
      return out + "]";
    }
    case KeyType::kBool:
      return *std::get<bool*>(field) ? "true" : "false";
    case KeyType::kInteger:
      if (auto* i = std::get_if<int*>(&field)) return std::to_string(**i);
      return std::to_string(*std::get<uint64_t*>(field));
    case KeyType::kNumber:
      return fmt::format("{}", *std::get<double*>(field));
    case KeyType::kSize:
      return SizeText(*std::get<uint64_t*>(field));
    case KeyType::kDuration:
      return DurationText(*std::get<Millis*>(field));
    case KeyType::kSecret: {
      const Secret& s = *std::get<Secret*>(field);
      if (s.empty() && s.origin.empty()) return "\"\"";
      return TomlQuote("<redacted: " + s.origin + ">");
    }
    case KeyType::kRawMap: {
      std::string out;
      for (const auto& [name, value] : *std::get<std::map<std::string, std::string>*>(field)) {
        out += fmt::format("{} = {}\n", TomlQuote(name),
                           IsSecretKey(name) ? TomlQuote("<redacted: inline>") : TomlQuote(value));
      }
      return out;
    }
    case KeyType::kStringMap:
    case KeyType::kPathMap: {
      std::string out;
      if (auto* rules = std::get_if<std::vector<std::pair<std::string, std::string>>*>(&field)) {
        for (const auto& [name, value] : **rules) out += fmt::format("{} = {}\n", TomlQuote(name), TomlQuote(value));
      } else {
        for (const auto& [name, value] : *std::get<std::map<std::string, std::string>*>(field)) {
          out += fmt::format("{} = {}\n", TomlQuote(name), TomlQuote(value));
        }
      }
      return out;
    }
  }
  return {};
}

std::string DefaultText(const KeyInfo& key) {
  static const GatewayConfig kDefaults;
  return ValueText(key, kDefaults);
}

}  // namespace sg::config
