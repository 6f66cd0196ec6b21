// The Sentinel emulator's internals, shared by the files that implement its endpoints:
// emulator.cc (lifecycle, replies, faults, rate limits, stats), identity_endpoints.cc (Entra ID
// and IMDS tokens, the DCR's management read), ingestion_endpoints.cc (Logs Ingestion and Data
// Collector), query_endpoint.cc (the Query API) and recorder.cc (counting and recording accepted
// rows). Not installed; tests and programs use emulator.h.
#pragma once

#include "emulator.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <httplib.h>

#include "faults.h"
#include "kql.h"
#include "rate_limiter.h"
#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/shared_key.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/json_scan.h"
#include "tls_material.h"

namespace sg::emulator {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

inline std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

inline bool ValidLogType(const std::string& s) {
  if (s.empty() || s.size() > 100) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

inline std::string TableForStream(const std::string& stream) {
  std::string t = stream;
  if (t.rfind("Custom-", 0) == 0) {
    t = t.substr(7);
    if (t.size() < 3 || t.compare(t.size() - 3, 3, "_CL") != 0) t += "_CL";
  } else if (t.rfind("Microsoft-", 0) == 0) {
    t = t.substr(10);
  }
  return t;
}

// The error code Azure sends with a status (Learn "Logs Ingestion API in Azure Monitor", error
// codes; azure-apis.md): injected faults answer as Azure would, 429 with TooManyRequests.
inline std::string CodeForStatus(int status) {
  switch (status) {
    case 400: return "InvalidDataFormat";
    case 401: return "InvalidToken";
    case 403: return "OperationFailed";
    case 404: return "NotFound";
    case 413: return "ContentLengthLimitExceeded";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    default: return status >= 500 ? "InternalServerError" : "BadRequest";
  }
}

// A token as Entra issued it: bound to the audience (resource) it was asked for. Source: Learn
// "Microsoft identity platform access tokens", the aud claim ("the intended recipient of the
// token ... Your API must validate this value and reject the token if the value doesn't match",
// https://learn.microsoft.com/entra/identity-platform/access-tokens), and "Scopes and
// permissions", the .default scope (https://learn.microsoft.com/entra/identity-platform/scopes-oidc).
struct IssuedToken {
  Clock::time_point expires;
  std::string audience;  // e.g. https://monitor.azure.com (no trailing slash)
};

// The audience of a client-credentials scope ("https://monitor.azure.com//.default" as well as
// ".../.default") or of a managed-identity resource ("https://management.azure.com/").
inline std::string AudienceOf(std::string s) {
  const std::string suffix = "/.default";
  if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    s.resize(s.size() - suffix.size());
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

inline bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Azure Monitor's ingestion audience in any cloud (monitor.azure.com, .us, .cn).
inline bool IsIngestionAudience(const std::string& aud) { return StartsWith(aud, "https://monitor.azure."); }
// The Log Analytics Query API's audience in any cloud (Learn "Query - Execute", scope
// https://api.loganalytics.io/.default; api.loganalytics.us, api.loganalytics.azure.cn).
inline bool IsQueryAudience(const std::string& aud) { return StartsWith(aud, "https://api.loganalytics."); }

// One row as the Query API can return it: queryable from `visible`, with its TimeGenerated.
struct StoredRow {
  Clock::time_point visible;
  int64_t time_generated_ms = 0;
  json row;
};

// Azure Resource Manager's audience in any cloud.
inline bool IsManagementAudience(const std::string& aud) {
  return aud == "https://management.azure.com" || aud == "https://management.core.windows.net" ||
         aud == "https://management.usgovcloudapi.net" || aud == "https://management.chinacloudapi.cn";
}


// Counts the objects of a top-level JSON array without building a document (fast path when rows
// need neither a schema check nor recording). Fails unless the body is an array of objects.
// allow_object: the Data Collector API also takes a single object.
class RowCounter {
 public:
  explicit RowCounter(bool allow_object) : allow_object_(allow_object) {}
  bool StartObject() {
    if (depth_ == 0) {
      if (!allow_object_) return false;
      rows_ = 1;
    } else if (depth_ == 1 && top_array_) {
      ++rows_;
    }
    ++depth_;
    return true;
  }
  bool EndObject() { return --depth_, true; }
  bool StartArray() {
    if (depth_ == 0) top_array_ = true;
    if (depth_ == 1 && top_array_) return false;  // an array where a row should be
    ++depth_;
    return true;
  }
  bool EndArray() { return --depth_, true; }
  bool Key(std::string_view) { return true; }
  bool Value(std::string_view, JsonKind) { return depth_ > 1 || (depth_ == 1 && !top_array_); }
  size_t rows() const { return rows_; }

 private:
  bool allow_object_;
  bool top_array_ = false;
  int depth_ = 0;
  size_t rows_ = 0;
};

// What Azure dropped from the rows of one stream without a word.
struct DropCounts {
  uint64_t undeclared = 0;     // keys the stream does not declare
  uint64_t mismatched = 0;     // values whose type does not fit their column
  uint64_t time_replaced = 0;  // TimeGenerated outside 2 days back .. 1 day ahead
  // Both kinds per column, every one of them (log_errors keeps only the latest 100): what
  // DCRLogErrors summarised by its Column would say. A test surface, not an Azure answer.
  std::map<std::string, uint64_t> columns;
};

// Decompressed bodies up to this size (see LogsIngestion).
constexpr size_t kMaxInflatedBody = 50 * 1024 * 1024;

// What a handler decided; sent by Reply().
struct Answer {
  int status = 0;
  std::string code;
  std::string message;
  int64_t retry_after_s = -1;
};

// The DCR resource the management read answers with, from --schema: a DCR resource as deployed
// (the published CCF DCR), an ARM template holding one, or bare stream declarations (ours).
inline Status LoadDcrResource(const EmulatorOptions& o, json* out) {
  std::ifstream in(o.schema_file);
  std::stringstream ss;
  ss << in.rdbuf();
  json doc = json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) return Status::InvalidArgument(o.schema_file + " is not JSON");
  json props = json::object();
  if (doc.contains("properties") && doc["properties"].is_object()) {
    props = doc["properties"];
  } else if (doc.contains("resources") && doc["resources"].is_array()) {
    for (const auto& r : doc["resources"]) {
      if (r.is_object() && r.value("type", "") == "Microsoft.Insights/dataCollectionRules" &&
          r.contains("properties")) {
        props = r["properties"];
      }
    }
  } else if (doc.contains("streamDeclarations")) {
    props["streamDeclarations"] = doc["streamDeclarations"];
  } else {
    props["streamDeclarations"] = doc;
  }
  const std::string name = o.dcr_resource_id.substr(o.dcr_resource_id.rfind('/') + 1);
  props["immutableId"] = o.dcr_id.empty() ? "dcr-00000000000000000000000000000000" : o.dcr_id;
  props["provisioningState"] = "Succeeded";
  *out = json{{"id", o.dcr_resource_id},
              {"name", name},
              {"type", "Microsoft.Insights/dataCollectionRules"},
              {"location", "eastus"},
              {"kind", "Direct"},
              {"properties", props}};
  return Status::OK();
}

struct Emulator::Impl {
  EmulatorOptions options;
  // Rows the Query API serves, per table (options.query_api); guarded by mu.
  std::map<std::string, std::vector<StoredRow>> stored;
  // Input stream -> the table its rows land in, from the DCR's dataFlows (outputStream).
  std::map<std::string, std::string> output_tables;

  // The table a stream's rows are queried in: the DCR's outputStream (Learn "Structure of a data
  // collection rule in Azure Monitor", dataFlows); without a DCR that says, the record's table
  // (Custom-X_V1 lands in X_V1_CL, as the project's DCR has it).
  std::string QueryTable(const std::string& stream) const {
    auto it = output_tables.find(stream);
    return it != output_tables.end() ? it->second : TableForStream(stream);
  }
  TlsFiles tls;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  int port = 0;
  std::map<std::string, azure::StreamSchema> schemas;

  mutable std::mutex mu;
  std::condition_variable cv;  // wakes hanging requests on ClearFaults/Stop
  bool stopping = false;
  uint64_t fault_generation = 0;
  Faults faults;
  int64_t token_lifetime_s = 3600;
  std::map<std::string, IssuedToken> tokens;
  nlohmann::json dcr;  // the DCR resource the management read returns; null without --schema
  std::unique_ptr<RateLimiter> limiter;  // made from options at Start; guarded by mu
  std::mt19937_64 rng{std::random_device{}()};
  // Stats.
  std::map<std::string, uint64_t> rows;
  std::map<std::string, DropCounts> dropped;  // per stream
  std::vector<json> log_errors;               // the latest 100
  std::map<int, uint64_t> requests_by_status;
  uint64_t bytes_accepted = 0;
  // The latest accepted Logs Ingestion requests: body size as sent, decompressed size, rows.
  std::deque<json> accepted_requests;
  uint64_t largest_sent = 0;      // the largest accepted Logs Ingestion body as sent
  uint64_t largest_inflated = 0;  // ... and the largest decompressed one
  uint64_t tokens_issued = 0;
  uint64_t requests_total = 0;
  uint64_t closed_connections = 0;
  uint64_t hung_requests = 0;

  std::mutex record_mu;
  FILE* record = nullptr;

  ~Impl() {
    if (record != nullptr) std::fclose(record);
  }

  // ---- helpers ----

  static void Reply(httplib::Response& res, const Answer& a, bool data_collector);

  // Applies injected faults to an ingestion or token request. Returns true when the request was
  // answered (or deliberately not answered) by a fault.
  bool ApplyFaults(httplib::Response& res, bool ingestion, bool data_collector,
                   const std::string& stream = {});

  // Counts the request against the key's rate window (rate_limiter.h): a 429 answer when over a
  // limit or when the client came back before the Retry-After it was given.
  std::optional<Answer> CheckRate(const std::string& key, uint64_t bytes,
                                  const std::string& connection);

  // Sizes of an accepted Logs Ingestion request, for tests and benchmarks that check batching
  // (the emulator's own record, not an Azure behaviour).
  void NoteAccepted(const std::string& stream, size_t sent, size_t inflated, size_t n, bool gzip);

  void Count(const std::string& table, size_t n, size_t body_bytes);

  void Record(const std::string& table, json& array, size_t body_bytes);

  // Keeps accepted rows for the Query API. They become queryable only after the ingestion delay:
  // docs/AZURE.md, "Exactly once" (20 s to a few minutes after
  // the 204), Learn "Log data ingestion time in Azure Monitor"
  // (https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time).
  void DelayAnswer();

  void Store(const std::string& table, const json& array);

  // The Log Analytics Query API: POST /v1/workspaces/{workspaceId}/query with {"query": KQL} and a
  // token for https://api.loganalytics.io. Source: Learn "Query - Execute"
  // (https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute): 200 with
  // {"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]};
  // errors as {"error": {"code", "message"}}: 400 BadArgumentError for a query it cannot run,
  // 401 for a missing, expired or other-audience token, 403 InsufficientAccessError without read
  // access to the workspace (Log Analytics Reader; Learn "Manage access to Log Analytics
  // workspaces"), 404 WorkspaceNotFoundError for an unknown workspace. A table that holds no row
  // answers an empty result here (a DCR's table exists from its creation).
  void Query(const httplib::Request& req, httplib::Response& res);

  // ---- what Azure drops without a word (counted as the DCR's metrics count it) ----

  void CountDropped(const std::string& stream, const DropCounts& d);

  // A DCRLogErrors-like record (the table a DCR's "Log Errors" diagnostic category fills).
  void NoteLogError(const std::string& stream, const std::string& column,
                    const std::string& message);

  static std::string IsoNow();

  static bool OutsideTimeWindow(const std::string& value, int64_t now_s);

  static std::string Conn(const httplib::Request& req);

  // ---- endpoints ----

  void Token(const httplib::Request& req, httplib::Response& res);

  void Imds(const httplib::Request& req, httplib::Response& res);

  void IssueToken(httplib::Response& res, bool imds, const std::string& audience);

  void LogsIngestion(const httplib::Request& req, httplib::Response& res);

  void DataCollector(const httplib::Request& req, httplib::Response& res);

  // The management-plane read of the DCR: GET {dcrResourceId}?api-version=2023-03-11 on Azure
  // Resource Manager. Source: Learn "Data Collection Rules - Get" (REST,
  // https://learn.microsoft.com/rest/api/monitor/data-collection-rules/get?view=rest-monitor-2023-03-11):
  // 200 with the DataCollectionRuleResource (id, name, type, location, properties with
  // immutableId, endpoints.logsIngestion, streamDeclarations, dataFlows). ARM's errors come as
  // {"error": {"code", "message"}}: 401 InvalidAuthenticationToken / ExpiredAuthenticationToken /
  // InvalidAuthenticationTokenAudience for a token of another audience (Learn "Microsoft identity
  // platform access tokens", aud), 403 AuthorizationFailed without Reader or
  // Microsoft.Insights/dataCollectionRules/read (Learn "Troubleshoot Azure RBAC",
  // https://learn.microsoft.com/azure/role-based-access-control/troubleshooting), 404
  // ResourceNotFound, 400 for a missing or unsupported api-version (Learn "Azure Resource Manager
  // REST API reference", api-version is required).
  void ReadDcr(const httplib::Request& req, httplib::Response& res);

  json StatsJson() const;

  Status SetFaults(const json& j);

  void ClearFaults();
};

}  // namespace sg::emulator
