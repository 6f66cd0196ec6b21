// TokenProvider: Microsoft Entra ID access tokens for the Logs Ingestion API.
//
// Client credentials ({login}/{tenant}/oauth2/v2.0/token) or a managed identity (the instance
// metadata endpoint, whose URL is configurable). Guarantees:
//  - One token is cached and shared by all callers; it is renewed ahead of its expires_in
//    (at 5 minutes, or half its lifetime when that is shorter), and at once when a caller
//    reports that Azure refused it (Invalidate), but only the token that was refused, so many
//    workers seeing the same 401 cause one renewal.
//  - Neither the client secret nor a token appears in an error message or a log line.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/status.h"

namespace sg::azure {

struct TokenProviderOptions {
  bool managed_identity = false;
  // Client credentials.
  std::string login_endpoint;  // e.g. https://login.microsoftonline.com
  std::string tenant_id;
  std::string client_id;       // also the user-assigned identity's client id when set
  std::string client_secret;
  std::string scope;           // e.g. https://monitor.azure.com/.default
  // Managed identity.
  std::string imds_url = "http://169.254.169.254/metadata/identity/oauth2/token";
  std::string resource;        // e.g. https://monitor.azure.com/
  HttpClientOptions http;
};

class TokenProvider {
 public:
  static Status Create(const TokenProviderOptions& options, std::shared_ptr<TokenProvider>* out);

  // A valid token, from the cache or freshly requested. Unavailable when the authority cannot be
  // reached or answers 5xx/429; Rejected when it refuses the credentials (4xx).
  Status GetToken(std::string* token);

  // Azure refused `token` (401): the next GetToken fetches a new one.
  void Invalidate(const std::string& token);

  uint64_t renewals() const;

 private:
  explicit TokenProvider(const TokenProviderOptions& options);
  Status Fetch();  // with mu_ held

  TokenProviderOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<HttpClient> http_;
  std::string token_;
  std::chrono::steady_clock::time_point renew_at_{};
  std::chrono::steady_clock::time_point expires_at_{};
  uint64_t renewals_ = 0;
};

}  // namespace sg::azure
