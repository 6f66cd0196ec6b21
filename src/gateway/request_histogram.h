// RequestHistogram: Azure request latency per route and status class, in Prometheus buckets.
// Observe() is called by the drainer's workers concurrently; Render() by the metrics server.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "sentinel_gateway/prometheus_writer.h"

namespace sg {

class RequestHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10,  30};
  void Observe(const std::string& route, int http_status, std::chrono::microseconds latency);
  void Render(PrometheusWriter* out) const;

 private:
  struct Series {
    std::array<uint64_t, kBounds.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Series> series_;  // (route, code class)
};

}  // namespace sg
