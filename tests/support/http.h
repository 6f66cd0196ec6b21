// Small HTTP helpers for end-to-end tests and benchmarks, over libcurl: a GET with an optional CA
// (HTTPS with verification), a free loopback port, and reading one sample of a Prometheus metric.
#pragma once

#include <cstdint>
#include <string>

namespace sg::testing {

// Returns the HTTP status, or 0 when no answer came. `ca` empty: the system CAs (or plain HTTP).
int HttpRequest(const std::string& method, const std::string& url, const std::string& ca,
                const std::string& request_body, std::string* response_body);
inline int HttpGet(const std::string& url, const std::string& ca, std::string* body) {
  return HttpRequest("GET", url, ca, "", body);
}

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// The value of an unlabelled metric line `name value` in Prometheus text, or UINT64_MAX if absent.
uint64_t MetricValue(const std::string& text, const std::string& name);
// The sum of every sample of a metric family (all label sets), or 0 when absent; a non-empty
// `label` keeps only the samples whose line contains it (`outcome="posted"`).
uint64_t MetricSum(const std::string& text, const std::string& family, const std::string& label = "");
// True when a gateway's metrics report its spool with no event pending in any route: a failed
// scrape (empty text, which MetricSum also sums to 0) is not taken for an empty spool.
inline bool NothingPending(const std::string& text) {
  return text.find("sg_spool_pending_events") != std::string::npos && MetricSum(text, "sg_spool_pending_events") == 0;
}

}  // namespace sg::testing
