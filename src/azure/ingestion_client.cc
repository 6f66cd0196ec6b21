#include "sentinel_gateway/azure/ingestion_client.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/retry_after.h"
#include "sentinel_gateway/azure/shared_key.h"

namespace sg::azure {
namespace {

std::string NewRequestId() {
  unsigned char b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                     "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
}

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// Fills status, classification, Retry-After and Azure's error from a response.
PostResult ToResult(Api api, const HttpResponse& r) {
  PostResult p;
  p.http_status = r.status;
  p.cancelled = r.cancelled;
  p.outcome = Classify(api, r.status);
  if (r.status == 0) {
    p.error_text = r.transport_error;
    return p;
  }
  auto find = [&](const char* name) -> const std::string* {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? nullptr : &it->second;
  };
  // In the order azure-core reads them (docs/AZURE.md, "Retry-After").
  for (const char* name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
    const std::string* ms = find(name);
    if (ms == nullptr || p.retry_after) continue;
    try {
      const long long v = std::stoll(*ms);
      if (v >= 0) p.retry_after = std::chrono::milliseconds(v);
    } catch (...) {
    }
  }
  if (!p.retry_after) {
    if (const std::string* ra = find("retry-after")) {
      p.retry_after = ParseRetryAfter(*ra, std::chrono::system_clock::now());
    }
  }
  // Honoured up to a cap: a proxy or a broken front end can send nonsense.
  if (p.retry_after && *p.retry_after > kMaxRetryAfter) p.retry_after = kMaxRetryAfter;
  if (const std::string* code = find("x-ms-error-code")) p.error_code = *code;
  if (p.outcome != Outcome::kSuccess && !r.body.empty()) {
    std::string code;
    if (ParseErrorBody(r.body, &code, &p.error_text)) {
      if (p.error_code.empty()) p.error_code = code;  // the x-ms-error-code header wins
    } else {
      p.error_text = r.body.substr(0, 500);
    }
  }
  p.outcome = Classify(api, r.status, p.error_code);
  return p;
}

class LogsIngestionClient final : public IngestionClient {
 public:
  LogsIngestionClient(const AzureOptions& o, std::shared_ptr<TokenProvider> tokens,
                      std::unique_ptr<HttpClient> http)
      : options_(o), tokens_(std::move(tokens)), http_(std::move(http)) {
    base_ = TrimSlash(o.endpoint) + "/dataCollectionRules/" + o.dcr_immutable_id + "/streams/";
  }

  PostResult Post(const std::string& target, const std::string& body) override {
    if (!options_.gzip) return PostPrepared(target, body, false);
    std::string zipped;
    Status s = GzipCompress(body, &zipped);
    if (!s.ok()) return LocalError(s);
    return PostPrepared(target, zipped, true);
  }

  PostResult PostPrepared(const std::string& target, const std::string& body, bool gzipped) override {
    std::string url = base_ + target + "?api-version=2023-01-01";
    const std::string* payload = &body;
    PostResult result;
    // One immediate repeat with a fresh token when Azure says the token is no good.
    for (int round = 0; round < 2; ++round) {
      std::string token;
      Status s = tokens_->GetToken(&token);
      if (!s.ok()) {
        PostResult p;
        p.http_status = 0;
        p.outcome = s.code() == Status::Code::kRejected ? Outcome::kAuth : Outcome::kRetryable;
        p.error_text = s.message();
        return p;
      }
      std::vector<std::string> headers = {"Authorization: Bearer " + token,
                                          "Content-Type: application/json",
                                          "x-ms-client-request-id: " + NewRequestId()};
      if (gzipped) headers.push_back("Content-Encoding: gzip");
      HttpResponse resp;
      s = http_->Post(url, headers, *payload, &resp);
      std::fill(headers[0].begin(), headers[0].end(), '\0');
      if (!s.ok()) return LocalError(s);
      result = ToResult(Api::kLogsIngestion, resp);
      // 401 and 403: the next attempt (now for 401, after backoff for 403) uses a fresh token.
      if (resp.status == 401 || resp.status == 403) tokens_->Invalidate(token);
      if (resp.status != 401) break;
    }
    return result;
  }

  Api api() const override { return Api::kLogsIngestion; }
  size_t max_body_bytes() const override { return kLogsIngestionMaxBody; }

 private:
  static PostResult LocalError(const Status& s) {
    PostResult p;
    p.outcome = Outcome::kRetryable;
    p.error_text = s.ToString();
    return p;
  }

  AzureOptions options_;
  std::shared_ptr<TokenProvider> tokens_;
  std::unique_ptr<HttpClient> http_;
  std::string base_;
};

class DataCollectorClient final : public IngestionClient {
 public:
  DataCollectorClient(const AzureOptions& o, std::unique_ptr<HttpClient> http)
      : options_(o), http_(std::move(http)) {
    std::string endpoint = o.data_collector_endpoint;
    if (endpoint.empty()) {
      endpoint = "https://" + o.workspace_id + EndpointsFor(o.cloud).ods_suffix;
    }
    url_ = TrimSlash(endpoint) + "/api/logs?api-version=2016-04-01";
  }

  PostResult PostPrepared(const std::string& target, const std::string& body, bool gzipped) override {
    if (gzipped) {
      // The Data Collector API documents no Content-Encoding; the gateway never compresses for it.
      // Held like a configuration error (loud, the events wait), never retried as a glitch.
      PostResult p;
      p.outcome = Outcome::kAuth;
      p.error_text = "the Data Collector API takes no gzip body";
      return p;
    }
    return Post(target, body);
  }

  PostResult Post(const std::string& target, const std::string& body) override {
    std::string date = FormatHttpDate(std::chrono::system_clock::now());
    std::string signature;
    Status s = SharedKeySignature(options_.shared_key, body.size(), date, &signature);
    if (!s.ok()) {
      PostResult p;
      p.outcome = Outcome::kAuth;
      p.error_text = s.message();
      return p;
    }
    std::vector<std::string> headers = {
        "Authorization: SharedKey " + options_.workspace_id + ":" + signature,
        "Content-Type: application/json", "Log-Type: " + target, "x-ms-date: " + date};
    if (!options_.time_generated_field.empty()) {
      headers.push_back("time-generated-field: " + options_.time_generated_field);
    }
    if (!options_.azure_resource_id.empty()) {
      headers.push_back("x-ms-AzureResourceId: " + options_.azure_resource_id);
    }
    HttpResponse resp;
    s = http_->Post(url_, headers, body, &resp);
    if (!s.ok()) {
      PostResult p;
      p.error_text = s.ToString();
      return p;
    }
    return ToResult(Api::kDataCollector, resp);
  }

  Api api() const override { return Api::kDataCollector; }
  size_t max_body_bytes() const override { return kDataCollectorMaxBody; }

 private:
  AzureOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::string url_;
};

}  // namespace

HttpClientOptions HttpOptionsFor(const AzureOptions& o, const std::atomic<bool>* cancel) {
  HttpClientOptions h;
  h.ca_file = o.ca_file;
  h.proxy = o.proxy;
  h.connect_timeout = o.connect_timeout;
  h.request_timeout = o.request_timeout;
  h.cancel = cancel;
  return h;
}

Status NewTokenProvider(const AzureOptions& o, std::shared_ptr<TokenProvider>* out,
                        const std::atomic<bool>* cancel) {
  out->reset();
  if (o.api != Api::kLogsIngestion) return Status::OK();
  CloudEndpoints cloud = EndpointsFor(o.cloud);
  TokenProviderOptions t;
  t.managed_identity = o.managed_identity;
  t.login_endpoint = TrimSlash(o.login_endpoint.empty() ? cloud.login_endpoint : o.login_endpoint);
  t.tenant_id = o.tenant_id;
  t.client_id = o.client_id;
  t.client_secret = o.client_secret;
  t.scope = o.scope.empty() ? cloud.scope : o.scope;
  if (!o.imds_url.empty()) t.imds_url = o.imds_url;
  t.resource = o.resource.empty() ? cloud.resource : o.resource;
  t.http = HttpOptionsFor(o, cancel);
  return TokenProvider::Create(t, out);
}

Status NewIngestionClient(const AzureOptions& o, std::shared_ptr<TokenProvider> tokens,
                          const std::atomic<bool>* cancel, std::unique_ptr<IngestionClient>* out) {
  std::unique_ptr<HttpClient> http;
  if (o.api == Api::kLogsIngestion) {
    if (o.endpoint.empty()) return Status::InvalidArgument("sentinel endpoint is required");
    if (o.dcr_immutable_id.empty()) return Status::InvalidArgument("dcr_immutable_id is required");
    if (tokens == nullptr) return Status::InvalidArgument("no token provider");
  } else {
    if (o.workspace_id.empty()) return Status::InvalidArgument("workspace_id is required");
    std::string key;
    if (o.shared_key.empty() || !Base64Decode(o.shared_key, &key)) {
      return Status::InvalidArgument("shared_key is missing or not valid base64");
    }
  }
  Status s = HttpClient::Create(HttpOptionsFor(o, cancel), &http);
  if (!s.ok()) return s;
  if (o.api == Api::kLogsIngestion) {
    out->reset(new LogsIngestionClient(o, std::move(tokens), std::move(http)));
  } else {
    out->reset(new DataCollectorClient(o, std::move(http)));
  }
  return Status::OK();
}

}  // namespace sg::azure
