// IngestionClient: posts one batch (a JSON array) to one destination of Sentinel.
//
// The destination (`target`) is the stream name (Logs Ingestion API, e.g.
// "Custom-CitrixAnalytics_riskScoreChange_V1") or the Log-Type (Data Collector API, e.g.
// "CitrixAnalytics_riskScoreChange"). Each client owns one connection: give each worker its own,
// and let Logs Ingestion clients share one TokenProvider. The client renews the token and
// repeats the request once at once on a 401; every other decision belongs to the caller.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/azure/post_result.h"
#include "sentinel_gateway/azure/token_provider.h"
#include "sentinel_gateway/status.h"

namespace sg::azure {

// Logs Ingestion API: a request body is at most 1 MiB as sent: compressed when Content-Encoding
// is gzip (docs/AZURE.md, "Size limits and api-version").
inline constexpr size_t kLogsIngestionMaxBody = 1'048'576;
// Logs Ingestion API: a gzip body decompresses to at most 50 MiB (docs/AZURE.md, "Size limits and
// api-version").
inline constexpr size_t kLogsIngestionMaxInflatedBody = 50 * 1024 * 1024;
// Data Collector API: at most 30 MB per post, read strictly as 30,000,000 bytes (it takes no gzip;
// docs/AZURE.md, "Size limits and api-version").
inline constexpr size_t kDataCollectorMaxBody = 30'000'000;

class IngestionClient {
 public:
  virtual ~IngestionClient() = default;
  // body: a UTF-8 JSON array of objects, uncompressed; compressed here when the options say gzip.
  virtual PostResult Post(const std::string& target, const std::string& body) = 0;
  // Sends `payload` exactly as given: a JSON array, or one the caller gzip-compressed (gzipped:
  // Content-Encoding: gzip; Logs Ingestion API only), so that the caller knows the size of the
  // body as sent before it goes out.
  virtual PostResult PostPrepared(const std::string& target, const std::string& payload,
                                  bool gzipped) = 0;
  virtual Api api() const = 0;
  virtual size_t max_body_bytes() const = 0;
};

// Shared by the clients of one gateway: the token cache for the Logs Ingestion API (null for the
// Data Collector API). Validates the options (InvalidArgument names the missing setting).
// cancel: optional flag that aborts a running token request (shutdown).
// The HTTP client settings of every Azure call (CA, proxy, timeouts) from the configuration.
HttpClientOptions HttpOptionsFor(const AzureOptions& options, const std::atomic<bool>* cancel);
Status NewTokenProvider(const AzureOptions& options, std::shared_ptr<TokenProvider>* out,
                        const std::atomic<bool>* cancel = nullptr);

// cancel: optional flag that aborts a running request (shutdown).
Status NewIngestionClient(const AzureOptions& options, std::shared_ptr<TokenProvider> tokens,
                          const std::atomic<bool>* cancel, std::unique_ptr<IngestionClient>* out);

}  // namespace sg::azure
