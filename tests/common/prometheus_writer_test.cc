// Unit tests: the Prometheus text format as the /metrics page writes it.
#include "sentinel_gateway/prometheus_writer.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace sg {
namespace {

// A table or field name is configuration or Citrix input: a quote, backslash or newline in it must
// stay inside the label value, or the page no longer parses (or a second series is forged).
TEST(PrometheusWriterTest, EscapesLabelValues) {
  PrometheusWriter w;
  w.Counter("sg_undeclared_fields_total", "Fields not declared.");
  w.Sample("sg_undeclared_fields_total", {{"route", "Tab\"le"}, {"field", "a\\b\nc"}}, uint64_t{3});
  EXPECT_EQ(w.text(),
            "# HELP sg_undeclared_fields_total Fields not declared.\n"
            "# TYPE sg_undeclared_fields_total counter\n"
            "sg_undeclared_fields_total{route=\"Tab\\\"le\",field=\"a\\\\b\\nc\"} 3\n");
  EXPECT_EQ(PrometheusWriter::EscapeLabelValue("x\"} 1\nforged{a=\""), "x\\\"} 1\\nforged{a=\\\"");
  EXPECT_EQ(PrometheusWriter::EscapeLabelValue("plain_Table-1.é"), "plain_Table-1.é");
}

TEST(PrometheusWriterTest, HelpAndTypeOncePerFamily) {
  PrometheusWriter w;
  w.Gauge("sg_route_state", "1 for the state\nof each \\ route.");
  w.Sample("sg_route_state", {{"route", "a"}, {"state", "ok"}}, 1);
  w.Gauge("sg_route_state", "1 for the state\nof each \\ route.");
  w.Sample("sg_route_state", {{"route", "b"}, {"state", "ok"}}, 1);
  w.Counter("sg_token_renewals_total", "Entra ID token renewals.");
  w.Sample("sg_token_renewals_total", {}, int64_t{-1});
  EXPECT_EQ(w.text(),
            "# HELP sg_route_state 1 for the state\\nof each \\\\ route.\n"
            "# TYPE sg_route_state gauge\n"
            "sg_route_state{route=\"a\",state=\"ok\"} 1\n"
            "sg_route_state{route=\"b\",state=\"ok\"} 1\n"
            "# HELP sg_token_renewals_total Entra ID token renewals.\n"
            "# TYPE sg_token_renewals_total counter\n"
            "sg_token_renewals_total -1\n");
}

TEST(PrometheusWriterTest, FloatingPointValues) {
  PrometheusWriter w;
  w.Family("h", PrometheusWriter::Type::kHistogram, "latency");
  w.Sample("h_bucket", {{"le", "0.005"}}, 2);
  w.Sample("h_sum", {}, 1.25);
  w.Sample("g", {}, std::numeric_limits<double>::quiet_NaN());
  w.Sample("g", {}, std::numeric_limits<double>::infinity());
  w.Sample("g", {}, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(w.text(),
            "# HELP h latency\n# TYPE h histogram\n"
            "h_bucket{le=\"0.005\"} 2\nh_sum 1.25\ng NaN\ng +Inf\ng -Inf\n");
}

}  // namespace
}  // namespace sg
