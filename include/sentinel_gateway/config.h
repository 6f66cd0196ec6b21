// GatewayConfig: the gateway's one TOML configuration file, loaded, checked and typed.
//
// Guarantees:
//  - Every error names the file, the line and the dotted key ("gateway.toml:12: kafka.pasword:
//    unknown key"); unknown keys, wrong types and missing required values are errors, not warnings.
//  - Secrets (kafka.password, sentinel.client_secret, sentinel.shared_key) may be written inline, as
//    "${ENV_VAR}", read from a file (`password_file`, ...), or from a systemd credential
//    (`password_credential` = a name in $CREDENTIALS_DIRECTORY, filled by the unit's LoadCredential=).
//    Their values never appear in an error, a warning or the output of Redacted().
//  - Sizes take units ("20GiB", "512MB", or plain bytes); durations too ("500ms", "5s", "5m", "1h").
//  - A config or secret file that others can read while it holds a secret yields a warning.
// The structs are plain data; turning them into stage options is the gateway program's job. Where a
// section's settings are a stage's (Kafka, delivery, Azure), the section derives from the stage's
// struct of them, so the defaults are the stage's and there is one of each.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/deliver/delivery_options.h"
#include "sentinel_gateway/kafka_options.h"
#include "sentinel_gateway/status.h"

namespace sg::config {

using Millis = std::chrono::milliseconds;

// A secret value and where it came from ("inline", "env CITRIX_PASSWORD", "file /etc/...").
struct Secret {
  std::string value;
  std::string origin;
  bool empty() const { return value.empty(); }
};

// The settings and their defaults are ingest's (KafkaOptions); the section adds the password and
// how group_instance_id was filled. group_instance_id here: key absent or "auto" (the default):
// DefaultGroupInstanceId(host name, spool path); "": off (static membership, KIP-345, lets a
// gateway that restarts within the session timeout take its partitions back without a
// rebalance); any other value as given.
struct KafkaConfig : KafkaOptions {
  Secret password;
  bool group_instance_id_derived = false;  // true: the default above, not the file's
};

// "sentinel-gateway-<host>-<16 hex digits of a hash of the absolute spool path>": stable across
// restarts of one gateway, distinct for each spool (and so for each gateway) on a host.
std::string DefaultGroupInstanceId(const std::string& host, const std::string& spool_path);

struct SpoolConfig {
  std::string path = "spool";  // relative paths are relative to the config file's directory
  uint64_t max_bytes = 20ull << 30;
  double high_watermark = 0.90;
  double low_watermark = 0.80;
  uint64_t failed_max_bytes = 0;  // the failed area's own budget; 0: a quarter of max_bytes
};

// The connection settings and their defaults are the Azure clients' (azure::AzureSettings); the
// section adds the API and cloud as written, the secrets, and what the gateway itself reads.
struct SentinelConfig : azure::AzureSettings {
  std::string api = "logs_ingestion";  // or "data_collector"
  std::string cloud = "public";        // public | usgov | china
  Secret client_secret;
  // The DCR's ARM resource id (/subscriptions/../dataCollectionRules/NAME): when set, the gateway
  // reads the deployed DCR back at start and every dcr_refresh, and shapes to its streams.
  std::string dcr_resource_id;
  std::string management_endpoint;  // Azure Resource Manager base URL; default from cloud
  Millis dcr_refresh{3'600'000};
  Secret shared_key;
  // Exactly once after a crash (issue 15): "query" asks the Log Analytics Query API which events
  // of the batches in doubt arrived (needs workspace_id, the Log Analytics Reader role and the
  // event id); "off" posts them again, as before.
  std::string dedupe = "off";
  // Azure's ingestion latency: query this long after the restart; then retry an unreachable
  // Query API this long, then post (the drainer's defaults).
  Millis dedupe_wait{deliver::DedupeOptions{}.wait};
  Millis dedupe_query_timeout{deliver::DedupeOptions{}.query_timeout};
  std::string query_endpoint;             // default from cloud (https://api.loganalytics.io)
};

struct RoutesConfig {
  std::string layout;  // "dcr" or "legacy"; empty: from sentinel.api
  // Table for event types no rule matches; empty: "CitrixAnalytics_other" + the layout's suffix.
  std::string catch_all;
  // Extra rules, event type (or "prefix*") -> table, tried before the defaults, in file order.
  std::vector<std::pair<std::string, std::string>> event_types;
  std::map<std::string, std::string> targets;  // table -> stream or Log-Type (overrides)
  std::map<std::string, std::string> schemas;  // table -> DCR / stream declaration JSON file
  // Tables without a schema file whose stream is one of the gateway's own DCR (config/azure), or
  // with the legacy layout one of the legacy tables (config/legacy-tables), get their values
  // converted to its column types (see config/gateway.example.toml).
  bool builtin_schemas = true;
};

// The settings and their defaults are the drainer's (deliver::DeliveryOptions); the section adds
// how long a stop waits for requests in flight.
struct DeliveryConfig : deliver::DeliveryOptions {
  Millis shutdown_grace{10'000};
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9464";  // empty: no metrics server
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error
  std::string format = "text";  // text | json
};

struct GatewayConfig {
  std::string source;  // the file it was read from
  KafkaConfig kafka;
  SpoolConfig spool;
  SentinelConfig sentinel;
  RoutesConfig routes;
  DeliveryConfig delivery;
  MetricsConfig metrics;
  LogConfig log;
  std::vector<std::string> warnings;  // e.g. a secret-bearing file readable by others
};

// Reads and validates `path`. `env` resolves ${VAR} (tests pass their own; nullptr: the process's).
Status Load(const std::string& path, GatewayConfig* out,
            const std::map<std::string, std::string>* env = nullptr);
// Reads only [section] of `path` (its types, units, ${ENV}, relative paths, unknown keys and
// single-key rules: the same table and readers as Load; for [spool] also the default path), not
// the other sections nor the rules across keys. sentinel-spool reads [spool] with it, so it works
// without the gateway's secrets. `given` (optional): the keys the file sets in [section].
Status LoadSection(const std::string& path, const std::string& section, GatewayConfig* out,
                   std::set<std::string>* given = nullptr, const std::map<std::string, std::string>* env = nullptr);
// Same as Load, from text; `name` stands for the file in messages; relative paths resolve against `base_dir`.
Status Parse(const std::string& text, const std::string& name, const std::string& base_dir,
             GatewayConfig* out, const std::map<std::string, std::string>* env = nullptr);

// The effective configuration as TOML, every secret replaced by "<redacted>" and its origin.
std::string Redacted(const GatewayConfig& config);

// "20GiB" -> bytes; "5m" -> ms. InvalidArgument with the reason.
Status ParseSize(const std::string& text, uint64_t* bytes);

// The spool directory when the configuration names none: under systemd (StateDirectory=, which
// sets $STATE_DIRECTORY; `state_directory` is its value or null) <state>/spool, else "spool"
// beside the configuration file (`config_dir`). The gateway and sentinel-spool both ask this.
std::string DefaultSpoolPath(const std::string& config_dir, const char* state_directory);
Status ParseDuration(const std::string& text, Millis* out);

}  // namespace sg::config
