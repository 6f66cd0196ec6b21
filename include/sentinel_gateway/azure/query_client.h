// QueryClient: asks the Log Analytics Query API which event ids are present in a table.
//
// POST {endpoint}/v1/workspaces/{workspace_id}/query with {"query": KQL} and a token for the
// Query API's audience (https://api.loganalytics.io/.default) of the same identity that posts
// the data (Learn "Query - Execute",
// https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute; the scope:
// https://learn.microsoft.com/en-us/rest/api/logsquery/query/execute). The answer is
// {"tables": [{"name", "columns": [{"name", "type"}], "rows": [[...]]}]}; an "error" beside the
// tables is a partial result, treated as a failure (an id missing from it proves nothing).
// Guarantees:
//  - Only ids the caller asked for are reported present; the query text quotes every id as a KQL
//    string literal, so an id cannot change the query.
//  - Transient failures (no answer, 408, 429, 5xx) are Unavailable, refusals (401 after one
//    renewal, 403 without the role, 400, 404) Rejected; messages name Azure's code, never a token.
// Thread-compatible: one caller at a time.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/azure/token_provider.h"
#include "sentinel_gateway/status.h"

namespace sg::azure {

// The KQL that looks `ids` up: `T | where TimeGenerated >= datetime(..) | where C in ("..") |
// project C`. not_before_ms bounds the scan by time (Unix epoch milliseconds).
std::string PresentIdsQuery(const std::string& table, const std::string& id_column,
                            const std::vector<std::string>& ids, int64_t not_before_ms);

// Reads the first column of the first table of a Query API answer. InvalidArgument when the
// body is not one; Unavailable when it carries a partial-result error.
Status ParseQueryColumn(const std::string& body, std::vector<std::string>* values);

class QueryClient {
 public:
  // `options` are the gateway's Azure options (identity, cloud, CA, proxy); `endpoint` overrides
  // the cloud's Query API host when not empty.
  static Status Create(const AzureOptions& options, const std::string& endpoint,
                       const std::string& workspace_id, const std::atomic<bool>* cancel,
                       std::unique_ptr<QueryClient>* out);

  // Adds to *present those of `ids` found in `table` (column `id_column`).
  Status PresentIds(const std::string& table, const std::string& id_column,
                    const std::vector<std::string>& ids, int64_t not_before_ms,
                    std::set<std::string>* present);

 private:
  QueryClient() = default;
  std::string url_;
  std::shared_ptr<TokenProvider> tokens_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace sg::azure
