// PrometheusWriter: builds a metrics page in the Prometheus text exposition format (0.0.4).
//
// The gateway's /metrics page is written by several owners (ingest and drainer counters, the
// request histogram, the DCR watch). They all write through one writer so that the format is
// right in one place: each family gets its `# HELP` and `# TYPE` lines once, before its samples,
// and every label value is escaped. Label values come from configuration and input (table names,
// Citrix field names, Kafka topics), so a backslash, double quote or newline in one must not
// break the page or forge a series.
//
// Guarantees: a label value is written as `\\` for a backslash, `\"` for a double quote and `\n`
// for a newline, everything else as is; HELP text escapes backslash and newline. A family's HELP
// and TYPE appear at most once per page, however often Family() is called. Samples are written
// in call order. NaN and infinities are written as Prometheus spells them (NaN, +Inf, -Inf).
// Thread safety: none; one writer per page.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace sg {

class PrometheusWriter {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  using Label = std::pair<std::string_view, std::string_view>;  // name (a valid label name), value

  // Declares a family: writes its HELP and TYPE lines unless this page has them already. A family
  // with no samples still shows what it would count.
  void Family(std::string_view name, Type type, std::string_view help);
  void Counter(std::string_view name, std::string_view help) { Family(name, Type::kCounter, help); }
  void Gauge(std::string_view name, std::string_view help) { Family(name, Type::kGauge, help); }

  // One sample: `name` is the family's (for a histogram, its _bucket, _sum or _count series).
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  template <typename T>
    requires std::integral<T> && (!std::same_as<T, bool>)
  void Sample(std::string_view name, std::initializer_list<Label> labels, T value) {
    SampleText(name, labels, std::to_string(value));
  }

  const std::string& text() const { return text_; }

  // The escaped form of a label value (exposed for tests and for callers that build label sets).
  static std::string EscapeLabelValue(std::string_view value);

 private:
  void SampleText(std::string_view name, std::initializer_list<Label> labels, std::string_view value);

  std::string text_;
  std::set<std::string, std::less<>> families_;
};

}  // namespace sg
