#include "request_histogram.h"

#include <fmt/format.h>

namespace sg {

void RequestHistogram::Observe(const std::string& route, int http_status, std::chrono::microseconds latency) {
  std::string code = http_status == 0 ? "error" : fmt::format("{}xx", http_status / 100);
  double seconds = static_cast<double>(latency.count()) / 1e6;
  std::lock_guard<std::mutex> l(mu_);
  Series& s = series_[{route, code}];
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++s.buckets[i];
  }
  ++s.count;
  s.sum += seconds;
}

void RequestHistogram::Render(std::string* out) const {
  *out += "# HELP sg_request_duration_seconds Azure ingestion request latency.\n";
  *out += "# TYPE sg_request_duration_seconds histogram\n";
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, s] : series_) {
    const auto& [route, code] = key;
    for (size_t i = 0; i < kBounds.size(); ++i) {
      *out += fmt::format("sg_request_duration_seconds_bucket{{route=\"{}\",code=\"{}\",le=\"{}\"}} {}\n", route, code,
                          kBounds[i], s.buckets[i]);
    }
    *out += fmt::format("sg_request_duration_seconds_bucket{{route=\"{}\",code=\"{}\",le=\"+Inf\"}} {}\n", route, code, s.count);
    *out += fmt::format("sg_request_duration_seconds_sum{{route=\"{}\",code=\"{}\"}} {}\n", route, code, s.sum);
    *out += fmt::format("sg_request_duration_seconds_count{{route=\"{}\",code=\"{}\"}} {}\n", route, code, s.count);
  }
}

}  // namespace sg
