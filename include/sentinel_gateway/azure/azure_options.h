// AzureOptions: everything needed to reach Sentinel through one of its two ingestion APIs.
//
// Endpoints default from `cloud`; each can be overridden (private link, tests, the emulator).
// AzureSettings holds the plain settings the gateway's [sentinel] section shares
// (config::SentinelConfig derives from it too), so each is written, with its default, once; the
// API and cloud (text there, enums here) and the secrets (config::Secret there, plain strings
// here) are each side's own and stay out of it.
#pragma once

#include <chrono>
#include <string>

#include "sentinel_gateway/azure/cloud.h"
#include "sentinel_gateway/azure/post_result.h"

namespace sg::azure {

struct AzureSettings {
  std::string ca_file;  // extra trusted CAs (PEM)
  std::string proxy;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{60'000};

  // Logs Ingestion API.
  std::string endpoint;        // DCE or the DCR's logsIngestion endpoint (required)
  std::string dcr_immutable_id;
  bool gzip = true;            // Content-Encoding: gzip on requests
  std::string login_endpoint;  // token authority base URL; default from cloud
  std::string tenant_id;
  std::string client_id;
  bool managed_identity = false;
  std::string imds_url;        // default: the Azure instance metadata endpoint

  // Data Collector API.
  std::string workspace_id;
  std::string data_collector_endpoint;  // default https://{workspace}{ods_suffix}
  std::string time_generated_field = "timestamp";
  std::string azure_resource_id;    // optional x-ms-AzureResourceId
};

struct AzureOptions : AzureSettings {
  Api api = Api::kLogsIngestion;
  Cloud cloud = Cloud::kPublic;
  // Logs Ingestion API.
  std::string scope;           // default from cloud
  std::string client_secret;
  std::string resource;        // managed identity resource, default from cloud
  // Data Collector API.
  std::string shared_key;      // base64
};

}  // namespace sg::azure
