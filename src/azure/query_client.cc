#include "sentinel_gateway/azure/query_client.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/cloud.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/post_result.h"
#include "authorized_request.h"

namespace sg::azure {

namespace {

// A KQL string literal (Learn "The string data type": backslash escapes in "..." literals).
std::string KqlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string IsoUtc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms % 1000));
}

}  // namespace

std::string PresentIdsQuery(const std::string& table, const std::string& id_column,
                            const std::vector<std::string>& ids, int64_t not_before_ms) {
  std::string q = fmt::format("{} | where TimeGenerated >= datetime({}) | where {} in (", table,
                              IsoUtc(std::max<int64_t>(not_before_ms, 0)), id_column);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) q += ", ";
    q += KqlString(ids[i]);
  }
  q += fmt::format(") | project {}", id_column);
  return q;
}

Status ParseQueryColumn(const std::string& body, std::vector<std::string>* values) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("tables") || !j["tables"].is_array()) {
    return Status::InvalidArgument("the Query API's answer has no tables");
  }
  if (j.contains("error") && !j["error"].is_null()) {
    // A partial result (Learn "Query - Execute", queryResults.error): what is missing proves nothing.
    std::string code = j["error"].is_object() ? j["error"].value("code", "") : "";
    return Status::Unavailable("the Query API returned a partial result: " + code);
  }
  if (j["tables"].empty()) return Status::OK();
  const auto& rows = j["tables"][0].value("rows", nlohmann::json::array());
  if (!rows.is_array()) return Status::InvalidArgument("the Query API's table has no rows array");
  for (const auto& row : rows) {
    if (row.is_array() && !row.empty() && row[0].is_string()) values->push_back(row[0].get<std::string>());
  }
  return Status::OK();
}

Status QueryClient::Create(const AzureOptions& o, const std::string& endpoint,
                           const std::string& workspace_id, const std::atomic<bool>* cancel,
                           std::unique_ptr<QueryClient>* out) {
  if (workspace_id.empty()) return Status::InvalidArgument("the Query API needs a workspace id");
  CloudEndpoints cloud = EndpointsFor(o.cloud);
  std::unique_ptr<QueryClient> c(new QueryClient());
  std::string base = endpoint.empty() ? cloud.query_endpoint : endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  c->url_ = fmt::format("{}/v1/workspaces/{}/query", base, workspace_id);
  // The same identity, asked for the Query API's audience: Entra binds a token to the audience it
  // was asked for (docs/AZURE.md, "Tokens").
  AzureOptions q = o;
  q.api = Api::kLogsIngestion;
  q.scope = cloud.query_scope;
  q.resource = cloud.query_resource;
  Status s = NewTokenProvider(q, &c->tokens_, cancel);
  if (!s.ok()) return s;
  s = HttpClient::Create(HttpOptionsFor(o, cancel), &c->http_);
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status::OK();
}

Status QueryClient::PresentIds(const std::string& table, const std::string& id_column,
                               const std::vector<std::string>& ids, int64_t not_before_ms,
                               std::set<std::string>* present) {
  if (ids.empty()) return Status::OK();
  const std::string body = nlohmann::json{{"query", PresentIdsQuery(table, id_column, ids, not_before_ms)}}.dump();
  HttpResponse resp;
  Status s = SendWithToken(
      tokens_.get(),
      [&](const std::string& authorization, HttpResponse* r) {
        return http_->Post(url_, {authorization, "Content-Type: application/json", "Accept: application/json"}, body, r);
      },
      &resp);
  if (!s.ok()) return s;
  if (resp.status == 0) return Status::Unavailable("the Query API did not answer: " + resp.transport_error);
  if (resp.status == 200) {
    std::vector<std::string> found;
    s = ParseQueryColumn(resp.body, &found);
    if (!s.ok()) return s;
    std::set<std::string> asked(ids.begin(), ids.end());
    for (auto& id : found) {
      if (asked.count(id) > 0) present->insert(std::move(id));
    }
    return Status::OK();
  }
  // Errors are {"error": {"code", "message"}} (Learn "Query - Execute", errorResponse).
  std::string code, message;
  ShortError(resp.body, &code, &message);
  std::string why = fmt::format("HTTP {} {}: {}", resp.status, code, message);
  if (resp.status == 408 || resp.status == 429 || resp.status >= 500) return Status::Unavailable(why);
  return Status::Rejected(why);
}

}  // namespace sg::azure
