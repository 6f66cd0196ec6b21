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

void RequestHistogram::Render(PrometheusWriter* out) const {
  out->Family("sg_request_duration_seconds", PrometheusWriter::Type::kHistogram, "Azure ingestion request latency.");
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, s] : series_) {
    const auto& [route, code] = key;
    for (size_t i = 0; i < kBounds.size(); ++i) {
      const std::string le = fmt::format("{}", kBounds[i]);
      out->Sample("sg_request_duration_seconds_bucket", {{"route", route}, {"code", code}, {"le", le}}, s.buckets[i]);
    }
    out->Sample("sg_request_duration_seconds_bucket", {{"route", route}, {"code", code}, {"le", "+Inf"}}, s.count);
    out->Sample("sg_request_duration_seconds_sum", {{"route", route}, {"code", code}}, s.sum);
    out->Sample("sg_request_duration_seconds_count", {{"route", route}, {"code", code}}, s.count);
  }
}

}  // namespace sg
