// Unit test: the request latency histogram as it appears on /metrics.
#include "request_histogram.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace sg {
namespace {

// A route is a table name from the configuration: its quote stays inside the label value.
TEST(RequestHistogramTest, RendersBucketsWithEscapedRoute) {
  RequestHistogram h;
  h.Observe("My\"Table_CL", 204, std::chrono::milliseconds(20));
  h.Observe("My\"Table_CL", 204, std::chrono::seconds(60));
  PrometheusWriter w;
  h.Render(&w);
  const std::string& page = w.text();
  EXPECT_EQ(page.rfind("# HELP sg_request_duration_seconds Azure ingestion request latency.\n"
                       "# TYPE sg_request_duration_seconds histogram\n",
                       0),
            0u)
      << page;
  EXPECT_NE(page.find("sg_request_duration_seconds_bucket{route=\"My\\\"Table_CL\",code=\"2xx\",le=\"0.01\"} 0\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("sg_request_duration_seconds_bucket{route=\"My\\\"Table_CL\",code=\"2xx\",le=\"0.025\"} 1\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("sg_request_duration_seconds_bucket{route=\"My\\\"Table_CL\",code=\"2xx\",le=\"+Inf\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("sg_request_duration_seconds_count{route=\"My\\\"Table_CL\",code=\"2xx\"} 2\n"), std::string::npos)
      << page;
  EXPECT_EQ(page.find("My\"Table"), std::string::npos) << page;
}

}  // namespace
}  // namespace sg
