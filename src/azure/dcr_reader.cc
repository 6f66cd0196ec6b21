#include "sentinel_gateway/azure/dcr_reader.h"

#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/post_result.h"
#include "authorized_request.h"

namespace sg::azure {

bool IsDcrResourceId(const std::string& id) {
  // ARM compares resource ids case-insensitively.
  static const std::regex kId(
      R"(^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Insights/dataCollectionRules/[^/?#]+$)",
      std::regex::icase);
  return std::regex_match(id, kId);
}

Status ParseDeployedDcr(const std::string& body, DeployedDcr* out) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("properties") || !doc["properties"].is_object()) {
    return Status::InvalidArgument("the DCR read answered without properties");
  }
  const nlohmann::json& p = doc["properties"];
  *out = DeployedDcr();
  out->resource_id = doc.value("id", "");
  out->immutable_id = p.value("immutableId", "");
  if (p.contains("endpoints") && p["endpoints"].is_object()) {
    out->logs_ingestion_endpoint = p["endpoints"].value("logsIngestion", "");
  }
  if (!p.contains("streamDeclarations")) {
    return Status::InvalidArgument("the DCR declares no streams (properties.streamDeclarations)");
  }
  Status s = ParseStreamSchemas(p["streamDeclarations"], &out->streams);
  if (!s.ok()) return Status::InvalidArgument("the DCR's stream declarations: " + s.message());
  for (auto& [stream, schema] : out->streams) schema.keep_undeclared = false;
  if (p.contains("dataFlows") && p["dataFlows"].is_array()) {
    for (const auto& flow : p["dataFlows"]) {
      if (!flow.is_object() || !flow.contains("streams") || !flow["streams"].is_array()) continue;
      std::string kql = flow.value("transformKql", "source");
      for (const auto& st : flow["streams"]) {
        if (st.is_string()) out->transforms[st.get<std::string>()] = kql;
      }
    }
  }
  return Status::OK();
}

Status DcrReader::Create(const AzureOptions& o, const std::string& management_endpoint,
                         const std::string& dcr_resource_id, const std::atomic<bool>* cancel,
                         std::unique_ptr<DcrReader>* out) {
  if (!IsDcrResourceId(dcr_resource_id)) {
    return Status::InvalidArgument("not a data collection rule resource id: " + dcr_resource_id);
  }
  CloudEndpoints cloud = EndpointsFor(o.cloud);
  std::unique_ptr<DcrReader> r(new DcrReader());
  std::string base = management_endpoint.empty() ? cloud.management_endpoint : management_endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  r->url_ = base + dcr_resource_id;
  r->resource_id_ = dcr_resource_id;
  // The same identity, asked for the management audience (docs/AZURE.md, "Tokens").
  AzureOptions mgmt = o;
  mgmt.api = Api::kLogsIngestion;
  mgmt.scope = cloud.management_scope;
  mgmt.resource = cloud.management_resource;
  r->scope_ = o.managed_identity ? mgmt.resource : mgmt.scope;
  Status s = NewTokenProvider(mgmt, &r->tokens_, cancel);
  if (!s.ok()) return s;
  s = HttpClient::Create(HttpOptionsFor(o, cancel), &r->http_);
  if (!s.ok()) return s;
  *out = std::move(r);
  return Status::OK();
}

Status DcrReader::Read(DeployedDcr* out) {
  const std::string url = fmt::format("{}?api-version={}", url_, kDcrApiVersion);
  HttpResponse resp;
  Status s = SendWithToken(
      tokens_.get(),
      [&](const std::string& authorization, HttpResponse* r) {
        return http_->Get(url, {authorization, "Accept: application/json"}, r);
      },
      &resp);
  if (!s.ok()) return s;
  if (resp.status == 0) {
    return Status::Unavailable(fmt::format("reading the DCR at {} failed: {}", url_, resp.transport_error));
  }
  if (resp.status == 200) {
    s = ParseDeployedDcr(resp.body, out);
    if (!s.ok()) return s;
    if (out->resource_id.empty()) out->resource_id = resource_id_;
    return Status::OK();
  }
  std::string code, message;  // ARM's error answer
  ShortError(resp.body, &code, &message);
  std::string why = fmt::format("reading the DCR at {} answered HTTP {} {}: {}", url_, resp.status, code, message);
  if (resp.status == 429 || resp.status >= 500) return Status::Unavailable(why);
  return Status::Rejected(why);
}

}  // namespace sg::azure
