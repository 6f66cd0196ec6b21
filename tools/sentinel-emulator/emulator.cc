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
#include <sstream>
#include <vector>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <httplib.h>

#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/json_scan.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/shared_key.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "faults.h"
#include "kql.h"
#include "rate_limiter.h"
#include "tls_material.h"

namespace sg::emulator {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  std::string out;
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

bool ValidLogType(const std::string& s) {
  if (s.empty() || s.size() > 100) return false;
  for (unsigned char c : s) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

std::string TableForStream(const std::string& stream) {
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
std::string CodeForStatus(int status) {
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
std::string AudienceOf(std::string s) {
  const std::string suffix = "/.default";
  if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    s.resize(s.size() - suffix.size());
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Azure Monitor's ingestion audience in any cloud (monitor.azure.com, .us, .cn).
bool IsIngestionAudience(const std::string& aud) { return StartsWith(aud, "https://monitor.azure."); }
// The Log Analytics Query API's audience in any cloud (Learn "Query - Execute", scope
// https://api.loganalytics.io/.default; api.loganalytics.us, api.loganalytics.azure.cn).
bool IsQueryAudience(const std::string& aud) { return StartsWith(aud, "https://api.loganalytics."); }

// One row as the Query API can return it: queryable from `visible`, with its TimeGenerated.
struct StoredRow {
  Clock::time_point visible;
  int64_t time_generated_ms = 0;
  json row;
};

// Azure Resource Manager's audience in any cloud.
bool IsManagementAudience(const std::string& aud) {
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
Status LoadDcrResource(const EmulatorOptions& o, json* out) {
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

}  // namespace

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

  static void Reply(httplib::Response& res, const Answer& a, bool data_collector) {
    res.status = a.status;
    if (a.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(a.retry_after_s));
    if (a.status >= 400) {
      json body;
      if (data_collector) {
        body = {{"Error", a.code}, {"Message", a.message}};
      } else {
        res.set_header("x-ms-error-code", a.code);
        body = {{"error", {{"code", a.code}, {"message", a.message}}}};
      }
      res.set_content(body.dump(), "application/json");
    }
  }

  // Applies injected faults to an ingestion or token request. Returns true when the request was
  // answered (or deliberately not answered) by a fault.
  bool ApplyFaults(httplib::Response& res, bool ingestion, bool data_collector,
                   const std::string& stream = {}) {
    std::unique_lock<std::mutex> lock(mu);
    Faults f = faults;
    Clock::time_point now = Clock::now();
    if (f.latency_ms > 0) {
      uint64_t gen = fault_generation;
      cv.wait_until(lock, now + std::chrono::milliseconds(f.latency_ms),
                    [&] { return stopping || fault_generation != gen; });
      now = Clock::now();
    }
    if (f.outage_status != 0 && now < f.outage_until &&
        (f.outage_stream.empty() || f.outage_stream == stream)) {
      Answer a{f.outage_status,
               f.outage_code.empty() ? CodeForStatus(f.outage_status) : f.outage_code,
               "emulated outage", f.outage_retry_after_s};
      lock.unlock();
      Reply(res, a, data_collector);
      return true;
    }
    if (!ingestion) return false;
    std::uniform_real_distribution<double> u(0, 1);
    bool hang = false;
    if (faults.hang > 0) {
      --faults.hang;
      hang = true;
    } else if (f.hang_rate > 0 && u(rng) < f.hang_rate) {
      hang = true;
    }
    if (hang) {
      ++hung_requests;
      uint64_t gen = fault_generation;
      cv.wait_until(lock, now + std::chrono::seconds(f.hang_seconds),
                    [&] { return stopping || fault_generation != gen; });
      lock.unlock();
      Reply(res, Answer{504, "GatewayTimeout", "emulated hang", -1}, data_collector);
      return true;
    }
    bool close = false;
    if (faults.close > 0) {
      --faults.close;
      close = true;
    } else if (f.close_rate > 0 && u(rng) < f.close_rate) {
      close = true;
    }
    if (close) {
      ++closed_connections;
      lock.unlock();
      // Headers go out, then the connection drops before the promised body: the client sees a
      // transfer cut in the middle. Nothing is recorded.
      res.status = 500;
      res.set_content_provider(
          1024, "application/json",
          [](size_t, size_t, httplib::DataSink&) { return false; });
      return true;
    }
    if (f.failure_rate > 0 && u(rng) < f.failure_rate) {
      lock.unlock();
      Reply(res,
            Answer{f.failure_status,
                   f.failure_code.empty() ? CodeForStatus(f.failure_status) : f.failure_code,
                   "emulated failure", -1},
            data_collector);
      return true;
    }
    return false;
  }

  // Counts the request against the key's rate window (rate_limiter.h): a 429 answer when over a
  // limit or when the client came back before the Retry-After it was given.
  std::optional<Answer> CheckRate(const std::string& key, uint64_t bytes, const std::string& connection) {
    if (!options.rate_limits) return std::nullopt;
    std::lock_guard<std::mutex> lock(mu);
    auto refusal = limiter->Check(key, bytes, connection, Clock::now());
    if (!refusal) return std::nullopt;
    return Answer{429, "TooManyRequests", refusal->message, refusal->retry_after_s};
  }

  // Sizes of an accepted Logs Ingestion request, for tests and benchmarks that check batching
  // (the emulator's own record, not an Azure behaviour).
  void NoteAccepted(const std::string& stream, size_t sent, size_t inflated, size_t n, bool gzip) {
    std::lock_guard<std::mutex> lock(mu);
    largest_sent = std::max<uint64_t>(largest_sent, sent);
    largest_inflated = std::max<uint64_t>(largest_inflated, inflated);
    accepted_requests.push_back(
        {{"stream", stream}, {"sent_bytes", sent}, {"body_bytes", inflated}, {"rows", n}, {"gzip", gzip}});
    if (accepted_requests.size() > 1000) accepted_requests.pop_front();
  }

  void Count(const std::string& table, size_t n, size_t body_bytes) {
    std::lock_guard<std::mutex> lock(mu);
    rows[table] += n;
    bytes_accepted += body_bytes;
  }

  void Record(const std::string& table, json& array, size_t body_bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      rows[table] += array.size();
      bytes_accepted += body_bytes;
    }
    if (record == nullptr) return;
    std::string out;
    out.reserve(body_bytes + array.size() * (table.size() + 40));
    // When Azure accepted the row: benchmarks measure produce-to-accept latency from it.
    const std::string received = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count());
    for (auto& row : array) {
      out += "{\"table\":";
      out += json(table).dump();
      out += ",\"received_ms\":";
      out += received;
      out += ",\"row\":";
      out += row.dump();
      out += "}\n";
    }
    std::lock_guard<std::mutex> lock(record_mu);
    std::fwrite(out.data(), 1, out.size(), record);
    std::fflush(record);
  }

  // Keeps accepted rows for the Query API. They become queryable only after the ingestion delay:
  // docs/AZURE.md, "Exactly once" (20 s to a few minutes after
  // the 204), Learn "Log data ingestion time in Azure Monitor"
  // (https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time).
  void DelayAnswer() {
    int64_t ms;
    {
      std::lock_guard<std::mutex> lock(mu);
      ms = faults.answer_delay_ms;
    }
    if (ms <= 0) return;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping; });
  }

  void Store(const std::string& table, const json& array) {
    const auto now_sys = std::chrono::system_clock::now();
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_sys.time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu);
    const int64_t delay = faults.ingestion_delay_ms >= 0 ? faults.ingestion_delay_ms : options.ingestion_delay.count();
    const Clock::time_point visible = Clock::now() + std::chrono::milliseconds(delay);
    auto& rows_of = stored[table];
    for (const json& row : array) {
      StoredRow r;
      r.visible = visible;
      r.time_generated_ms = now_ms;  // the arrival when the row has no TimeGenerated
      auto tg = row.find("TimeGenerated");
      if (tg != row.end() && tg->is_string()) ParseIsoMs(tg->get<std::string>(), &r.time_generated_ms);
      r.row = row;
      rows_of.push_back(std::move(r));
    }
  }

  // The Log Analytics Query API: POST /v1/workspaces/{workspaceId}/query with {"query": KQL} and a
  // token for https://api.loganalytics.io. Source: Learn "Query - Execute"
  // (https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute): 200 with
  // {"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]};
  // errors as {"error": {"code", "message"}}: 400 BadArgumentError for a query it cannot run,
  // 401 for a missing, expired or other-audience token, 403 InsufficientAccessError without read
  // access to the workspace (Log Analytics Reader; Learn "Manage access to Log Analytics
  // workspaces"), 404 WorkspaceNotFoundError for an unknown workspace. A table that holds no row
  // answers an empty result here (a DCR's table exists from its creation).
  void Query(const httplib::Request& req, httplib::Response& res) {
    if (ApplyFaults(res, false, false)) return;
    auto reply = [&](int status, const std::string& code, const std::string& message) {
      res.status = status;
      res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(), "application/json");
    };
    if (!options.query_api) return reply(404, "PathNotFoundError", "The requested path does not exist.");
    const std::string workspace = req.matches[1];
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
      return reply(401, "AuthorizationRequiredError", "Valid authentication was not provided.");
    }
    bool deny;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = tokens.find(auth.substr(7));
      if (it == tokens.end() || Clock::now() >= it->second.expires) {
        return reply(401, "InvalidTokenError", "The provided authentication is not valid for this resource.");
      }
      if (!IsQueryAudience(it->second.audience)) {
        return reply(401, "InvalidTokenError", "The provided authentication is not valid for this resource "
                                               "(audience " + it->second.audience + ").");
      }
      deny = faults.deny_query;
    }
    if (workspace != options.workspace_id) {
      return reply(404, "WorkspaceNotFoundError", "The workspace could not be found.");
    }
    if (deny) {
      return reply(403, "InsufficientAccessError",
                   "The provided credentials have insufficient access to perform the requested operation");
    }
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) {
      return reply(400, "BadArgumentError", "The request had some invalid properties: query is required.");
    }
    KqlQuery q;
    std::string error;
    if (!ParseKql(body["query"].get<std::string>(), &q, &error)) {
      return reply(400, "BadArgumentError", "The request had some invalid properties: " + error);
    }
    json rows = json::array();
    std::vector<std::string> columns = q.project;
    {
      std::lock_guard<std::mutex> lock(mu);
      const Clock::time_point now = Clock::now();
      auto it = stored.find(q.table);
      if (it != stored.end()) {
        for (const StoredRow& r : it->second) {
          if (now < r.visible) continue;  // not ingested yet
          if (q.time_strict ? r.time_generated_ms <= q.time_from_ms : r.time_generated_ms < q.time_from_ms) continue;
          bool match = true;
          for (const auto& [col, values] : q.in_filters) {
            auto v = r.row.find(col);
            if (v == r.row.end() || !v->is_string() || values.count(v->get<std::string>()) == 0) {
              match = false;
              break;
            }
          }
          if (!match) continue;
          if (columns.empty()) {
            for (const auto& [k, v] : r.row.items()) columns.push_back(k);
          }
          json out = json::array();
          for (const std::string& c : columns) out.push_back(r.row.contains(c) ? r.row[c] : json());
          rows.push_back(std::move(out));
        }
      }
    }
    json cols = json::array();
    for (const std::string& c : columns) cols.push_back({{"name", c}, {"type", "string"}});
    res.status = 200;
    res.set_content(json{{"tables", json::array({{{"name", "PrimaryResult"}, {"columns", cols}, {"rows", rows}}})}}.dump(),
                    "application/json");
  }

  // ---- what Azure drops without a word (counted as the DCR's metrics count it) ----

  void CountDropped(const std::string& stream, const DropCounts& d) {
    std::lock_guard<std::mutex> lock(mu);
    DropCounts& total = dropped[stream];
    total.undeclared += d.undeclared;
    total.mismatched += d.mismatched;
    total.time_replaced += d.time_replaced;
    for (const auto& [column, n] : d.columns) total.columns[column] += n;
  }

  // A DCRLogErrors-like record (the table a DCR's "Log Errors" diagnostic category fills).
  void NoteLogError(const std::string& stream, const std::string& column, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu);
    if (log_errors.size() >= 100) log_errors.erase(log_errors.begin());
    log_errors.push_back({{"InputStreamId", stream}, {"Column", column}, {"Message", message}});
  }

  static std::string IsoNow() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::floor<std::chrono::seconds>(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(secs)), ms);
  }

  static bool OutsideTimeWindow(const std::string& value, int64_t now_s) {
    if (!azure::IsIso8601DateTime(value)) return true;  // not a time: Azure cannot keep it
    std::tm tm{};
    if (::strptime(value.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return true;
    const int64_t t = ::timegm(&tm);
    return t < now_s - 2 * 86400 || t > now_s + 86400;
  }

  static std::string Conn(const httplib::Request& req) {
    return req.remote_addr + ":" + std::to_string(req.remote_port);
  }

  // ---- endpoints ----

  void Token(const httplib::Request& req, httplib::Response& res) {
    if (ApplyFaults(res, false, false)) return;
    auto fail = [&](int status, const char* error, const char* desc) {
      res.status = status;
      res.set_content(json{{"error", error}, {"error_description", desc}}.dump(),
                      "application/json");
    };
    if (req.matches[1] != options.tenant_id) {
      return fail(400, "invalid_request", "AADSTS90002: Tenant not found.");
    }
    if (req.get_param_value("grant_type") != "client_credentials") {
      return fail(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type.");
    }
    std::string scope = req.get_param_value("scope");
    if (scope.size() < 9 || scope.compare(scope.size() - 9, 9, "/.default") != 0) {
      return fail(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
    }
    if (req.get_param_value("client_id") != options.client_id) {
      return fail(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.");
    }
    std::string secret = req.get_param_value("client_secret");
    if (secret.size() != options.client_secret.size() ||
        CRYPTO_memcmp(secret.data(), options.client_secret.data(), secret.size()) != 0) {
      return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    IssueToken(res, false, AudienceOf(scope));
  }

  void Imds(const httplib::Request& req, httplib::Response& res) {
    if (ApplyFaults(res, false, false)) return;
    if (req.get_header_value("Metadata") != "true") {
      res.status = 400;
      res.set_content(json{{"error", "invalid_request"},
                           {"error_description", "Required metadata header not specified"}}
                          .dump(),
                      "application/json");
      return;
    }
    if (req.get_param_value("resource").empty() || req.get_param_value("api-version").empty()) {
      res.status = 400;
      res.set_content(json{{"error", "invalid_request"},
                           {"error_description", "resource and api-version are required"}}
                          .dump(),
                      "application/json");
      return;
    }
    IssueToken(res, true, AudienceOf(req.get_param_value("resource")));
  }

  void IssueToken(httplib::Response& res, bool imds, const std::string& audience) {
    std::string token = "emu." + RandomHex(24);
    int64_t lifetime;
    {
      std::lock_guard<std::mutex> lock(mu);
      Clock::time_point now = Clock::now();
      for (auto it = tokens.begin(); it != tokens.end();) {
        it = (it->second.expires + std::chrono::minutes(10) < now) ? tokens.erase(it) : std::next(it);
      }
      lifetime = token_lifetime_s;
      tokens[token] = IssuedToken{now + std::chrono::seconds(lifetime), audience};
      ++tokens_issued;
    }
    json body = {{"token_type", "Bearer"}, {"access_token", token}};
    if (imds) {
      body["expires_in"] = std::to_string(lifetime);
      body["resource"] = audience + "/";
    } else {
      body["expires_in"] = lifetime;
      body["ext_expires_in"] = lifetime;
    }
    res.set_content(body.dump(), "application/json");
  }

  void LogsIngestion(const httplib::Request& req, httplib::Response& res) {
    const std::string dcr = req.matches[1];
    const std::string stream = req.matches[2];
    if (ApplyFaults(res, true, false, stream)) return;
    auto reply = [&](Answer a) { Reply(res, a, false); };
    if (!req.has_param("api-version")) {
      return reply({400, "MissingApiVersion", "The api-version query parameter is required.", -1});
    }
    // Both versions Azure accepts: 2023-01-01 (Microsoft's SDKs, the REST spec's stable version)
    // and 2021-11-01-preview (Fluent Bit, older samples). Source: Azure/azure-rest-api-specs,
    // specification/monitor/data-plane/ingestion/{stable/2023-01-01,preview/2021-11-01-preview}.
    const std::string version = req.get_param_value("api-version");
    if (version != "2023-01-01" && version != "2021-11-01-preview") {
      return reply({400, "InvalidApiVersion", "Unsupported api-version.", -1});
    }
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
      return reply({401, "InvalidAuthenticationToken", "Bearer token is missing.", -1});
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = tokens.find(auth.substr(7));
      if (it == tokens.end()) {
        return reply({401, "InvalidAuthenticationToken", "The access token is invalid.", -1});
      }
      if (Clock::now() >= it->second.expires) {
        return reply({401, "TokenExpired", "The access token has expired.", -1});
      }
      // A token is good only for the audience it was asked for (IssuedToken): one for the
      // management scope is refused here, as the Logs Ingestion endpoint refuses it (401
      // InvalidAudience; Learn "Logs Ingestion API in Azure Monitor", the token's scope
      // https://monitor.azure.com/.default).
      if (!IsIngestionAudience(it->second.audience)) {
        return reply({401, "InvalidAudience",
                      "The access token was issued for audience " + it->second.audience +
                          ", not for Azure Monitor ingestion (https://monitor.azure.com).", -1});
      }
    }
    if (!options.dcr_id.empty() && dcr != options.dcr_id) {
      return reply({404, "NotFound", "Data collection rule " + dcr + " not found.", -1});
    }
    // The 1 MiB cap applies to the body as sent: compressed when Content-Encoding is gzip (Learn
    // "Azure Monitor service limits", Logs Ingestion API; Azure/azure-sdk-for-python issue 27436,
    // answered by the SDK's maintainers). cpp-httplib may have inflated the body already, so the
    // size sent is the Content-Length header when there is one.
    size_t sent = req.body.size();
    if (req.has_header("Content-Length")) {
      try {
        sent = std::stoull(req.get_header_value("Content-Length"));
      } catch (...) {
      }
    }
    if (sent > azure::kLogsIngestionMaxBody) {
      return reply({413, "ContentLengthLimitExceeded",
                    "Maximum allowed content length: 1048576 bytes (1 MB). Provided content "
                    "length: " + std::to_string(sent) + " bytes", -1});
    }
    std::string ct = req.get_header_value("Content-Type");
    if (ct.rfind("application/json", 0) != 0) {
      return reply({415, "UnsupportedMediaType", "Content-Type must be application/json.", -1});
    }
    const std::string* body = &req.body;
    std::string inflated;
    std::string enc = req.get_header_value("Content-Encoding");
    // cpp-httplib built with zlib (Debian's is) inflates gzip bodies itself before the handler
    // runs; then only the magic bytes tell whether the body is still compressed.
    bool still_gzip = req.body.size() >= 2 && static_cast<unsigned char>(req.body[0]) == 0x1f &&
                      static_cast<unsigned char>(req.body[1]) == 0x8b;
    // Decompressed, a body may hold up to 50 MiB (open-telemetry/otel-arrow pull request 2535,
    // from Azure's behaviour; the SDK issue above).
    if (enc == "gzip" && still_gzip) {
      Status s = azure::GzipDecompress(req.body, kMaxInflatedBody, &inflated);
      if (!s.ok()) {
        if (s.message().find("beyond") != std::string::npos) {
          return reply({413, "ContentLengthLimitExceeded",
                        "The decompressed body exceeds 52428800 bytes (50 MB).", -1});
        }
        return reply({400, "InvalidContentEncoding", "The gzip body could not be read.", -1});
      }
      body = &inflated;
    } else if (!enc.empty() && enc != "gzip") {
      return reply({400, "InvalidContentEncoding", "Unsupported Content-Encoding " + enc, -1});
    }
    if (body->size() > kMaxInflatedBody) {
      return reply({413, "ContentLengthLimitExceeded",
                    "The decompressed body exceeds 52428800 bytes (50 MB).", -1});
    }
    const bool gzipped = enc == "gzip";
    int64_t inflated_cap;
    {
      std::lock_guard<std::mutex> lock(mu);
      inflated_cap = faults.refuse_inflated_above;
    }
    if (gzipped && inflated_cap > 0 && body->size() > static_cast<size_t>(inflated_cap)) {
      // The test device of Faults::refuse_inflated_above, worded as Azure's 413.
      return reply({413, "ContentLengthLimitExceeded",
                    "Maximum allowed content length: 1048576 bytes (1 MB). Provided content "
                    "length: " + std::to_string(body->size()) + " bytes", -1});
    }
    if (auto limited = CheckRate("dcr:" + dcr, body->size(), Conn(req))) return reply(*limited);
    if (stream.rfind("Custom-", 0) != 0 && stream.rfind("Microsoft-", 0) != 0) {
      return reply({400, "InvalidStream", "Stream " + stream + " is not declared in the DCR.", -1});
    }
    const azure::StreamSchema* schema = nullptr;
    if (!schemas.empty()) {
      auto it = schemas.find(stream);
      if (it == schemas.end()) {
        return reply({400, "InvalidStream", "Stream " + stream + " is not declared in the DCR.", -1});
      }
      schema = &it->second;
    }
    if (schema == nullptr && record == nullptr && !options.query_api) {
      RowCounter counter(false);
      if (!ScanJson(*body, &counter)) {
        return reply({400, "InvalidPayload", "The body must be a JSON array of objects.", -1});
      }
      Count(TableForStream(stream), counter.rows(), body->size());
      NoteAccepted(stream, sent, body->size(), counter.rows(), gzipped);
      res.status = 204;
      return;
    }
    json array = json::parse(*body, nullptr, false);
    if (!array.is_array()) {
      return reply({400, "InvalidPayload", "The body must be a JSON array of objects.", -1});
    }
    std::string refuse_field;
    {
      std::lock_guard<std::mutex> lock(mu);
      refuse_field = faults.refuse_field;
    }
    for (size_t i = 0; i < array.size(); ++i) {
      if (!array[i].is_object()) {
        return reply({400, "InvalidPayload", fmt::format("Record {} is not an object.", i), -1});
      }
      if (!refuse_field.empty() && array[i].contains(refuse_field)) {
        return reply({400, "InvalidDataFormat",
                      fmt::format("Record {}: emulated refusal of field '{}'.", i, refuse_field), -1});
      }
    }
    const std::string received = IsoNow();
    const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    DropCounts drops;
    for (json& row : array) {
      if (schema != nullptr) {
        for (auto it = row.begin(); it != row.end();) {
          auto col = schema->columns.find(it.key());
          // Learn "Logs Ingestion API in Azure Monitor" and "Monitor and troubleshoot DCR data
          // collection": keys the stream does not declare are dropped without an error, and a
          // value whose JSON type does not fit its column is dropped while the call answers 204;
          // only the DCR's metrics ("Log Columns Dropped") and DCRLogErrors show it. A `dynamic`
          // column takes an object or array whole (ValueMatches).
          if (col == schema->columns.end()) {
            ++drops.undeclared;
            ++drops.columns[it.key()];
            NoteLogError(stream, it.key(), "the column is not declared in the stream");
            it = row.erase(it);
            continue;
          }
          if (!azure::ValueMatches(col->second, it.value())) {
            ++drops.mismatched;
            ++drops.columns[it.key()];
            NoteLogError(stream, it.key(),
                         fmt::format("declared {} but the value is {}", azure::ColumnTypeName(col->second),
                                     it.value().type_name()));
            it = row.erase(it);
            continue;
          }
          ++it;
        }
      }
      // Learn "Standard columns in Azure Monitor Logs", TimeGenerated: a value more than 2 days
      // old or more than 1 day ahead is replaced by the time the row was received.
      auto tg = row.find("TimeGenerated");
      if (tg != row.end() && (!tg->is_string() || OutsideTimeWindow(tg->get<std::string>(), now_s))) {
        ++drops.time_replaced;
        *tg = received;
      }
    }
    CountDropped(stream, drops);
    NoteAccepted(stream, sent, body->size(), array.size(), gzipped);
    Record(TableForStream(stream), array, body->size());
    if (options.query_api) Store(QueryTable(stream), array);
    DelayAnswer();
    res.status = 204;
  }

  void DataCollector(const httplib::Request& req, httplib::Response& res) {
    if (ApplyFaults(res, true, true)) return;
    auto reply = [&](Answer a) { Reply(res, a, true); };
    if (!req.has_param("api-version")) {
      return reply({400, "MissingApiVersion", "The api-version query parameter is missing.", -1});
    }
    if (req.get_param_value("api-version") != "2016-04-01") {
      return reply({400, "InvalidApiVersion", "The API version isn't recognized.", -1});
    }
    std::string ct = req.get_header_value("Content-Type");
    if (ct.empty()) return reply({400, "MissingContentType", "The content type wasn't specified.", -1});
    if (ct.rfind("application/json", 0) == 0 && ct != "application/json") {
      // The signature covers "application/json" exactly (Learn "HTTP Data Collector API",
      // Authorization): with a charset the string signed differs and Azure answers 403.
      return reply({403, "InvalidAuthorization", "The signature is not valid.", -1});
    }
    if (ct != "application/json") {
      return reply({400, "UnsupportedContentType", "The content type wasn't application/json.", -1});
    }
    std::string log_type = req.get_header_value("Log-Type");
    if (log_type.empty()) return reply({400, "MissingLogType", "The Log-Type header is missing.", -1});
    if (!ValidLogType(log_type)) {
      return reply({400, "InvalidLogType", "The log type contained special characters or was too long.", -1});
    }
    std::string date = req.get_header_value("x-ms-date");
    std::chrono::system_clock::time_point t;
    if (date.empty() || !azure::ParseHttpDate(date, &t)) {
      return reply({403, "InvalidAuthorization", "The x-ms-date header is missing or invalid.", -1});
    }
    auto skew = std::chrono::system_clock::now() - t;
    if (skew > options.max_date_skew || -skew > options.max_date_skew) {
      return reply({403, "InvalidAuthorization", "The x-ms-date header is too far from the current time.", -1});
    }
    std::string auth = req.get_header_value("Authorization");
    std::string prefix = "SharedKey " + options.workspace_id + ":";
    if (auth.rfind("SharedKey ", 0) != 0) {
      return reply({403, "InvalidAuthorization", "The Authorization header is not SharedKey.", -1});
    }
    if (auth.rfind(prefix, 0) != 0) {
      return reply({400, "InvalidCustomerId", "The workspace ID is unknown.", -1});
    }
    std::string expected;
    if (!azure::SharedKeySignature(options.shared_key, req.body.size(), date, &expected).ok()) {
      return reply({500, "UnspecifiedError", "emulator shared key is invalid", -1});
    }
    std::string given = auth.substr(prefix.size());
    if (given.size() != expected.size() ||
        CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0) {
      return reply({403, "InvalidAuthorization", "The signature is not valid.", -1});
    }
    if (req.body.size() > azure::kDataCollectorMaxBody) {
      res.status = 404;  // the Data Collector API answers a too-large request with 404
      res.set_content("Request too large", "text/plain");
      return;
    }
    if (auto limited = CheckRate("ws:" + options.workspace_id, req.body.size(), Conn(req))) {
      return reply(*limited);
    }
    if (record == nullptr) {
      RowCounter counter(true);
      if (!ScanJson(req.body, &counter)) {
        return reply({400, "InvalidDataFormat", "The body is not valid JSON.", -1});
      }
      Count(log_type + "_CL", counter.rows(), req.body.size());
      res.status = 200;
      return;
    }
    json array = json::parse(req.body, nullptr, false);
    if (array.is_object()) array = json::array({std::move(array)});
    bool ok = array.is_array();
    for (const auto& row : array) ok = ok && row.is_object();
    if (!ok) return reply({400, "InvalidDataFormat", "The body is not valid JSON.", -1});
    Record(log_type + "_CL", array, req.body.size());
    if (options.query_api) Store(log_type + "_CL", array);
    res.status = 200;
  }

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
  void ReadDcr(const httplib::Request& req, httplib::Response& res) {
    if (ApplyFaults(res, false, false)) return;
    auto reply = [&](Answer a) {
      res.status = a.status;
      res.set_content(json{{"error", {{"code", a.code}, {"message", a.message}}}}.dump(),
                      "application/json");
    };
    const std::string id = req.matches[1];
    if (!req.has_param("api-version")) {
      return reply({400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.", -1});
    }
    // The versions the REST reference lists for dataCollectionRules (2021-04-01 .. 2024-03-11).
    static const std::set<std::string> kVersions = {"2021-04-01", "2021-09-01-preview", "2022-06-01",
                                                    "2023-03-11", "2024-03-11"};
    const std::string version = req.get_param_value("api-version");
    if (kVersions.count(version) == 0) {
      return reply({400, "NoRegisteredProviderFound",
                    "No registered resource provider found for API version '" + version +
                        "' and type 'dataCollectionRules'.", -1});
    }
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
      return reply({401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", -1});
    }
    bool deny;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = tokens.find(auth.substr(7));
      if (it == tokens.end()) {
        return reply({401, "InvalidAuthenticationToken", "The access token is invalid.", -1});
      }
      if (Clock::now() >= it->second.expires) {
        return reply({401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.", -1});
      }
      if (!IsManagementAudience(it->second.audience)) {
        return reply({401, "InvalidAuthenticationTokenAudience",
                      "The access token has been obtained for wrong audience or resource '" +
                          it->second.audience +
                          "'. It should exactly match with one of the allowed audiences "
                          "'https://management.core.windows.net/','https://management.azure.com/'.", -1});
      }
      deny = faults.deny_dcr_read;
    }
    if (deny) {
      return reply({403, "AuthorizationFailed",
                    "The client '" + options.client_id + "' does not have authorization to perform action "
                    "'Microsoft.Insights/dataCollectionRules/read' over scope '" + id +
                        "' or the scope is invalid.", -1});
    }
    // Resource ids are case-insensitive in ARM.
    auto lower = [](std::string v) {
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return v;
    };
    if (dcr.is_null() || lower(id) != lower(options.dcr_resource_id)) {
      return reply({404, "ResourceNotFound", "The Resource '" + id + "' was not found.", -1});
    }
    json answer = dcr;
    answer["properties"]["endpoints"]["logsIngestion"] = fmt::format("https://{}:{}", options.host, port);
    res.set_content(answer.dump(), "application/json");
  }

  json StatsJson() const {
    std::lock_guard<std::mutex> lock(mu);
    json by_status = json::object();
    for (auto [status, n] : requests_by_status) by_status[std::to_string(status)] = n;
    uint64_t total_rows = 0;
    for (auto& [t, n] : rows) total_rows += n;
    json drops = json::object();
    for (const auto& [stream, d] : dropped) {
      drops[stream] = {{"undeclared_keys", d.undeclared},
                       {"mismatched_values", d.mismatched},
                       {"columns_dropped", d.undeclared + d.mismatched},
                       {"time_generated_replaced", d.time_replaced},
                       {"columns", d.columns.empty() ? json::object() : json(d.columns)}};
    }
    return json{{"rows", rows.empty() ? json::object() : json(rows)},
                {"dropped", drops},
                {"log_errors", log_errors},
                {"rows_total", total_rows},
                {"requests", by_status},
                {"requests_total", requests_total},
                {"early_retries", limiter->early_retries()},
                {"bytes_accepted", bytes_accepted},
                {"accepted_requests", accepted_requests.empty() ? json::array() : json(accepted_requests)},
                {"largest_body_sent", largest_sent},
                {"largest_body_inflated", largest_inflated},
                {"tokens_issued", tokens_issued},
                {"closed_connections", closed_connections},
                {"hung_requests", hung_requests}};
  }

  Status SetFaults(const json& j) {
    std::lock_guard<std::mutex> lock(mu);
    Status st = MergeFaults(j, Clock::now(), &faults);  // faults.h; all or nothing
    if (!st.ok()) return st;
    // Token faults act on the issued tokens, which live here.
    try {
      token_lifetime_s = j.value("token_lifetime_s", token_lifetime_s);
      if (j.value("expire_tokens", false)) {
        Clock::time_point now = Clock::now();
        for (auto& [t, issued] : tokens) issued.expires = std::min(issued.expires, now);
      }
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("bad fault: ") + e.what());
    }
    return Status::OK();
  }

  void ClearFaults() {
    std::lock_guard<std::mutex> lock(mu);
    faults = Faults();
    token_lifetime_s = options.token_lifetime_s;
    ++fault_generation;
    cv.notify_all();
  }
};

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() { Stop(); }

Status Emulator::Start(const EmulatorOptions& options, std::unique_ptr<Emulator>* out) {
  auto impl = std::make_unique<Impl>();
  Impl* d = impl.get();
  d->options = options;
  d->token_lifetime_s = options.token_lifetime_s;
  d->limiter = std::make_unique<RateLimiter>(RateLimits{options.rate_requests, options.rate_bytes, options.rate_window,
                                                        options.early_margin, options.early_grace});
  if (options.tls_dir.empty()) return Status::InvalidArgument("--tls-dir is required");
  Status s = EnsureTlsFiles(options.tls_dir, &d->tls);
  if (!s.ok()) return s;
  std::string key;
  if (!azure::Base64Decode(options.shared_key, &key) || key.empty()) {
    return Status::InvalidArgument("the shared key is not valid base64");
  }
  if (!options.schema_file.empty()) {
    s = azure::LoadStreamSchemas(options.schema_file, &d->schemas);
    if (!s.ok()) return s;
    s = LoadDcrResource(options, &d->dcr);
    if (!s.ok()) return s;
    const json& flows = d->dcr["properties"].contains("dataFlows") ? d->dcr["properties"]["dataFlows"] : json();
    if (flows.is_array()) {
      for (const auto& f : flows) {
        if (!f.is_object() || !f.contains("outputStream") || !f["outputStream"].is_string()) continue;
        for (const auto& st : f.value("streams", json::array())) {
          if (st.is_string()) d->output_tables[st.get<std::string>()] = TableForStream(f["outputStream"].get<std::string>());
        }
      }
    }
  }
  if (!options.record_file.empty()) {
    d->record = std::fopen(options.record_file.c_str(), "a");
    if (d->record == nullptr) return Status::IOError("cannot open record file " + options.record_file);
  }
  d->server = std::make_unique<httplib::SSLServer>(d->tls.cert.c_str(), d->tls.key.c_str());
  if (!d->server->is_valid()) return Status::IOError("cannot load TLS certificate from " + options.tls_dir);
  httplib::SSLServer& svr = *d->server;
  int threads = std::max(4, options.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_payload_max_length(kMaxInflatedBody + 1024 * 1024);
  svr.set_keep_alive_max_count(1'000'000);
  // Short: an idle keep-alive connection holds a server thread, and stop() waits for it.
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);

  // A request target may come in absolute form (RFC 9112 section 3.2.2: "POST https://host/path"),
  // which Azure's front ends accept and Fluent Bit's azure_logs_ingestion output sends.
  const std::string abs = R"((?:https?://[^/]+)?)";
  svr.Post(abs + R"(/([^/]+)/oauth2/v2\.0/token)",
           [d](const httplib::Request& req, httplib::Response& res) { d->Token(req, res); });
  // The OpenID Connect discovery document that MSAL-based clients (azure-identity's
  // ClientSecretCredential) read before asking for a token. Source: Learn "OpenID Connect on the
  // Microsoft identity platform", "Find your app's OpenID configuration document URI"
  // (https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
  svr.Get(abs + R"(/([^/]+)/v2\.0/\.well-known/openid-configuration)",
          [d](const httplib::Request& req, httplib::Response& res) {
            const std::string tenant = req.matches[1];
            const std::string base = fmt::format("https://{}:{}", d->options.host, d->port);
            const std::string root = base + "/" + tenant;
            res.set_content(json{{"issuer", base + "/" + tenant + "/v2.0"},
                                 {"token_endpoint", root + "/oauth2/v2.0/token"},
                                 {"authorization_endpoint", root + "/oauth2/v2.0/authorize"},
                                 {"jwks_uri", root + "/discovery/v2.0/keys"},
                                 {"response_types_supported", json::array({"code", "id_token", "token"})},
                                 {"subject_types_supported", json::array({"pairwise"})},
                                 {"id_token_signing_alg_values_supported", json::array({"RS256"})},
                                 {"token_endpoint_auth_methods_supported",
                                  json::array({"client_secret_post", "client_secret_basic"})},
                                 {"tenant_region_scope", "NA"}}
                                .dump(),
                            "application/json");
          });
  // An ARM resource id: /subscriptions/{}/resourceGroups/{}/providers/{}/dataCollectionRules/{},
  // eight segments matched loosely since ARM ids are case-insensitive (ReadDcr compares them).
  svr.Get(abs + R"(((?:/[^/?]+){8}))",
          [d](const httplib::Request& req, httplib::Response& res) { d->ReadDcr(req, res); });
  svr.Get(abs + "/metadata/identity/oauth2/token",
          [d](const httplib::Request& req, httplib::Response& res) { d->Imds(req, res); });
  svr.Post(abs + R"(/dataCollectionRules/([^/]+)/streams/([^/]+))",
           [d](const httplib::Request& req, httplib::Response& res) { d->LogsIngestion(req, res); });
  svr.Post(abs + R"(/v1/workspaces/([^/]+)/query)",
           [d](const httplib::Request& req, httplib::Response& res) { d->Query(req, res); });
  svr.Post(abs + "/api/logs",
           [d](const httplib::Request& req, httplib::Response& res) { d->DataCollector(req, res); });
  svr.Get("/emulator/stats", [d](const httplib::Request&, httplib::Response& res) {
    res.set_content(d->StatsJson().dump(), "application/json");
  });
  svr.Post("/emulator/faults", [d](const httplib::Request& req, httplib::Response& res) {
    Status st = d->SetFaults(json::parse(req.body, nullptr, false));
    res.status = st.ok() ? 204 : 400;
    if (!st.ok()) res.set_content(json{{"error", st.message()}}.dump(), "application/json");
  });
  svr.Delete("/emulator/faults", [d](const httplib::Request&, httplib::Response& res) {
    d->ClearFaults();
    res.status = 204;
  });
  svr.set_logger([d](const httplib::Request& req, const httplib::Response& res) {
    if (req.path.rfind("/emulator/", 0) == 0) return;
    std::lock_guard<std::mutex> lock(d->mu);
    ++d->requests_by_status[res.status];
    ++d->requests_total;
    d->limiter->NoteAnswer(Impl::Conn(req), Clock::now());
  });

  if (options.port == 0) {
    d->port = svr.bind_to_any_port(options.host);
    if (d->port <= 0) return Status::IOError("cannot listen on " + options.host);
  } else {
    if (!svr.bind_to_port(options.host, options.port)) {
      return Status::IOError(fmt::format("cannot listen on {}:{}", options.host, options.port));
    }
    d->port = options.port;
  }
  d->thread = std::thread([d] { d->server->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it so Stop() can never be lost.
  for (int i = 0; i < 5000 && !svr.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!svr.is_running()) {
    svr.stop();
    d->thread.detach();
    return Status::IOError("the HTTPS server did not start");
  }
  out->reset(new Emulator(std::move(impl)));
  return Status::OK();
}

int Emulator::port() const { return impl_->port; }

std::string Emulator::base_url() const {
  return fmt::format("https://{}:{}", impl_->options.host, impl_->port);
}

std::string Emulator::ca_file() const { return impl_->tls.ca; }

nlohmann::json Emulator::Stats() const { return impl_->StatsJson(); }

Status Emulator::SetFaults(const nlohmann::json& faults) { return impl_->SetFaults(faults); }

void Emulator::ClearFaults() { impl_->ClearFaults(); }

void Emulator::Stop() {
  if (!impl_ || !impl_->server) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
}

}  // namespace sg::emulator
