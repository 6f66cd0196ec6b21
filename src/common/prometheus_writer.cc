#include "sentinel_gateway/prometheus_writer.h"

#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace sg {
namespace {

const char* TypeName(PrometheusWriter::Type type) {
  switch (type) {
    case PrometheusWriter::Type::kCounter: return "counter";
    case PrometheusWriter::Type::kGauge: return "gauge";
    case PrometheusWriter::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// The format escapes backslash and newline in HELP text, and the double quote too in label values.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '"' && quote) {
      out += "\\\"";
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace

std::string PrometheusWriter::EscapeLabelValue(std::string_view value) { return Escape(value, /*quote=*/true); }

void PrometheusWriter::Family(std::string_view name, Type type, std::string_view help) {
  if (!families_.emplace(name).second) return;
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, Escape(help, /*quote=*/false), name,
                 TypeName(type));
}

void PrometheusWriter::Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  if (std::isnan(value)) return SampleText(name, labels, "NaN");
  if (std::isinf(value)) return SampleText(name, labels, value > 0 ? "+Inf" : "-Inf");
  SampleText(name, labels, fmt::format("{}", value));
}

void PrometheusWriter::SampleText(std::string_view name, std::initializer_list<Label> labels,
                                  std::string_view value) {
  text_ += name;
  if (labels.size() > 0) {
    char sep = '{';
    for (const auto& [label, v] : labels) {
      text_.push_back(sep);
      text_ += label;
      text_ += "=\"";
      text_ += EscapeLabelValue(v);
      text_.push_back('"');
      sep = ',';
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  text_ += value;
  text_.push_back('\n');
}

}  // namespace sg
