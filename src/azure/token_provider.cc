#include "sentinel_gateway/azure/token_provider.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::azure {

TokenProvider::TokenProvider(const TokenProviderOptions& options) : options_(options) {}

Status TokenProvider::Create(const TokenProviderOptions& options,
                             std::shared_ptr<TokenProvider>* out) {
  if (!options.managed_identity) {
    if (options.login_endpoint.empty()) return Status::InvalidArgument("login_endpoint is empty");
    if (options.tenant_id.empty()) return Status::InvalidArgument("tenant_id is required");
    if (options.client_id.empty()) return Status::InvalidArgument("client_id is required");
    if (options.client_secret.empty()) return Status::InvalidArgument("client_secret is required");
  } else if (options.imds_url.empty()) {
    return Status::InvalidArgument("imds_url is empty");
  }
  std::shared_ptr<TokenProvider> p(new TokenProvider(options));
  HttpClientOptions http = options.http;
  // The instance metadata endpoint is link-local and must never be proxied (docs/AZURE.md).
  if (options.managed_identity) http.no_proxy = true;
  Status s = HttpClient::Create(http, &p->http_);
  if (!s.ok()) return s;
  *out = std::move(p);
  return Status::OK();
}

Status TokenProvider::GetToken(std::string* token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token_.empty() || std::chrono::steady_clock::now() >= renew_at_) {
    Status s = Fetch();
    // A token that is due for renewal but not yet expired still works while the authority is
    // unreachable.
    if (!s.ok() && (token_.empty() || std::chrono::steady_clock::now() >= expires_at_)) return s;
  }
  *token = token_;
  return Status::OK();
}

void TokenProvider::Invalidate(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (token == token_) {
    token_.clear();
    renew_at_ = expires_at_ = {};
  }
}

uint64_t TokenProvider::renewals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return renewals_;
}

Status TokenProvider::Fetch() {
  HttpResponse resp;
  std::string authority;
  if (options_.managed_identity) {
    std::string url = fmt::format("{}?api-version=2018-02-01&resource={}", options_.imds_url,
                                  UrlEncode(options_.resource));
    if (!options_.client_id.empty()) url += "&client_id=" + UrlEncode(options_.client_id);
    authority = options_.imds_url;
    Status s = http_->Get(url, {"Metadata: true"}, &resp);
    if (!s.ok()) return s;
  } else {
    std::string url =
        fmt::format("{}/{}/oauth2/v2.0/token", options_.login_endpoint, options_.tenant_id);
    authority = url;
    std::string body = fmt::format(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        UrlEncode(options_.client_id), UrlEncode(options_.client_secret),
        UrlEncode(options_.scope));
    Status s = http_->Post(url, {"Content-Type: application/x-www-form-urlencoded"}, body, &resp);
    std::fill(body.begin(), body.end(), '\0');
    if (!s.ok()) return s;
  }
  if (resp.status == 0) {
    return Status::Unavailable(fmt::format("token request to {} failed: {}", authority,
                                           resp.transport_error));
  }
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (resp.status != 200) {
    // Entra answers {"error": "invalid_client", "error_description": "AADSTS7000215: ..."}; the
    // description never echoes the secret.
    std::string why;
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      why = j["error"].get<std::string>();
      if (j.contains("error_description") && j["error_description"].is_string()) {
        std::string d = j["error_description"].get<std::string>();
        why += ": " + d.substr(0, d.find('\n')).substr(0, 300);
      }
    }
    std::string msg = fmt::format("token request to {} answered HTTP {} {}", authority,
                                  resp.status, why);
    if (resp.status == 429 || resp.status >= 500) return Status::Unavailable(msg);
    return Status::Rejected(msg);
  }
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    return Status::Unavailable("token answer from " + authority + " has no access_token");
  }
  int64_t expires_in = 3600;
  if (j.contains("expires_in")) {
    // Entra sends a number; the metadata endpoint sends a string.
    if (j["expires_in"].is_number()) {
      expires_in = j["expires_in"].get<int64_t>();
    } else if (j["expires_in"].is_string()) {
      try {
        expires_in = std::stoll(j["expires_in"].get<std::string>());
      } catch (...) {
      }
    }
  }
  expires_in = std::max<int64_t>(expires_in, 1);
  auto now = std::chrono::steady_clock::now();
  token_ = j["access_token"].get<std::string>();
  expires_at_ = now + std::chrono::seconds(expires_in);
  int64_t margin = std::min<int64_t>(300, expires_in / 2);
  renew_at_ = now + std::chrono::seconds(expires_in - margin);
  ++renewals_;
  return Status::OK();
}

}  // namespace sg::azure
