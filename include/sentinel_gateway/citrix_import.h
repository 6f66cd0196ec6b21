// Citrix import: turns the Logstash pipeline that Citrix Analytics prepares for a tenant into a
// gateway configuration.
//
// Citrix hands out its Kafka settings as a Logstash file (`input { kafka { bootstrap_servers => ...
// topics => [...] group_id => ... sasl_jaas_config => "... username=\"..\" password=\"..\";" } }`).
// The import reads that `kafka` input into the gateway's [kafka] section and the pipeline's
// Microsoft Sentinel output, when it has one, into [sentinel]; what is missing is named by
// check-config. Secrets (the SASL password, the app's secret, the workspace key) are returned
// separately so the caller can store them in 0600 files: they are never part of the TOML text, a
// note or an error. A JKS truststore gets the exact keytool command that turns it into the PEM file
// librdkafka needs.
#pragma once

#include <string>
#include <vector>

#include "sentinel_gateway/status.h"

namespace sg::config {

struct CitrixImport {
  std::string toml;                // the gateway configuration text
  std::string password;            // the SASL password from sasl_jaas_config (secret), may be empty
  // From the pipeline's Sentinel output (secrets; empty when absent or given as a ${VAR} there):
  std::string client_secret;       // the DCR-based plugin's client_app_secret
  std::string shared_key;          // the legacy Data Collector plugin's workspace_key
  std::vector<std::string> notes;  // what the user must do next, and settings that were ignored
};

// The TOML line that refers to each secret, e.g. `password_file = "citrix-kafka.password"`.
struct ImportSecretRefs {
  std::string password = "password = \"${CITRIX_KAFKA_PASSWORD}\"";
  std::string client_secret = "client_secret = \"${SENTINEL_CLIENT_SECRET}\"";
  std::string shared_key = "shared_key = \"${SENTINEL_SHARED_KEY}\"";
};

// Reads the pipeline's kafka input into [kafka] and, when the pipeline has one of Microsoft's
// Sentinel outputs, that output into [sentinel]: the DCR-based plugin
// (microsoft-sentinel-log-analytics-logstash-output-plugin and its earlier names: tenant, app,
// secret, endpoint, DCR, managed identity) to the Logs Ingestion API, the legacy one
// (microsoft-logstash-output-azure-loganalytics: workspace id and key) to the Data Collector API.
Status ImportCitrixLogstash(const std::string& text, const std::string& name, const ImportSecretRefs& refs,
                            CitrixImport* out);

// The same with only the password's reference given.
Status ImportCitrixLogstash(const std::string& text, const std::string& name, const std::string& password_ref,
                            CitrixImport* out);

}  // namespace sg::config
