// HttpClient: one libcurl easy handle, for one thread at a time.
//
// Guarantees:
//  - TLS peer and host verification are always on; TLS 1.2 or newer. An extra CA bundle (PEM)
//    can be added to the system's trusted roots (private endpoints, the emulator); there is no
//    way to turn verification off.
//  - The connection is kept alive and reused across requests; HTTP/2 is used where the server
//    offers it through ALPN. Proxies work as libcurl supports them (https_proxy, or `proxy`).
//  - A request can be cancelled from another thread through the cancel flag.
// Not thread-safe: give each worker its own HttpClient (they are cheap).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sentinel_gateway/status.h"

namespace sg::azure {

struct HttpClientOptions {
  std::string ca_file;  // extra trusted CAs (PEM), added to the system store; empty: none
  std::string proxy;    // empty: libcurl's default (environment)
  // Never through a proxy, configured or from the environment (CURLOPT_NOPROXY "*"): the instance
  // metadata endpoint 169.254.169.254 must be reached directly (docs/AZURE.md, "Managed identity").
  bool no_proxy = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{60'000};
  const std::atomic<bool>* cancel = nullptr;  // when it turns true, requests stop at once
};

struct HttpResponse {
  int status = 0;                              // 0: no HTTP answer (see transport_error)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string transport_error;                 // libcurl's message when status is 0
  bool cancelled = false;
};

class HttpClient {
 public:
  // Fails when the CA file cannot be read or holds no certificate.
  static Status Create(const HttpClientOptions& options, std::unique_ptr<HttpClient>* out);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // headers: "Name: value" lines. Never returns an error Status for HTTP failures: those are in
  // the response; the Status is for local problems (cannot build the request).
  Status Post(const std::string& url, const std::vector<std::string>& headers,
              const std::string& body, HttpResponse* response);
  Status Get(const std::string& url, const std::vector<std::string>& headers,
             HttpResponse* response);

 private:
  struct Rep;
  explicit HttpClient(std::unique_ptr<Rep> rep);
  Status Perform(const std::string& url, const std::vector<std::string>& headers,
                 const std::string* body, HttpResponse* response);
  std::unique_ptr<Rep> rep_;
};

// Percent-encodes for application/x-www-form-urlencoded and URL query values.
std::string UrlEncode(const std::string& value);

}  // namespace sg::azure
