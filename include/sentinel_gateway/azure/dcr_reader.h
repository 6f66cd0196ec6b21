// DcrReader: reads the deployed data collection rule back through Azure Resource Manager.
//
// GET {management}{dcr_resource_id}?api-version=2023-03-11 with a token for the management scope
// of the same identity that posts the data (docs/AZURE.md, "The deployed DCR read back").
// Guarantees:
//  - The token is asked for the management audience, never reused from ingestion: Entra binds a
//    token to the audience it was asked for, and ARM refuses any other.
//  - A refusal (401/403/404) is Rejected, anything transient Unavailable, an answer without
//    usable stream declarations InvalidArgument; each message names Azure's code, never a token.
// Thread-compatible: one caller at a time (the gateway's refresher, or check-azure).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/azure/token_provider.h"
#include "sentinel_gateway/status.h"

namespace sg::azure {

// The api-version of the read (Learn "Data Collection Rules - Get").
inline constexpr char kDcrApiVersion[] = "2023-03-11";

struct DeployedDcr {
  std::string resource_id;
  std::string immutable_id;
  std::string logs_ingestion_endpoint;  // properties.endpoints.logsIngestion, when the DCR has one
  // Stream -> declared columns; keep_undeclared is false (this is what Azure applies).
  std::map<std::string, StreamSchema> streams;
  // Input stream -> the transformKql of its data flow ("source" when it has none).
  std::map<std::string, std::string> transforms;
};

// True when `id` has the shape of a DCR resource id:
// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Insights/dataCollectionRules/{name}
bool IsDcrResourceId(const std::string& id);

// Parses a DataCollectionRuleResource document (the answer of the read).
Status ParseDeployedDcr(const std::string& body, DeployedDcr* out);

class DcrReader {
 public:
  // `options` are the gateway's Azure options (identity, cloud, CA, proxy); `management_endpoint`
  // overrides the cloud's ARM host when not empty. cancel: optional flag aborting a request.
  static Status Create(const AzureOptions& options, const std::string& management_endpoint,
                       const std::string& dcr_resource_id, const std::atomic<bool>* cancel,
                       std::unique_ptr<DcrReader>* out);

  Status Read(DeployedDcr* out);

  const std::string& url() const { return url_; }      // without the api-version
  const std::string& scope() const { return scope_; }  // the token's scope (or MI resource)

 private:
  DcrReader() = default;
  std::shared_ptr<TokenProvider> tokens_;
  std::unique_ptr<HttpClient> http_;
  std::string url_;
  std::string scope_;
  std::string resource_id_;
};

}  // namespace sg::azure
