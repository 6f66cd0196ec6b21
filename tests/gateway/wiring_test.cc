// Wiring: which schema each delivery route gets from the configuration.
#include "wiring.h"

#include <string>

#include <gtest/gtest.h>

namespace sg {
namespace {

const deliver::RouteConfig* RouteOf(const deliver::DrainerOptions& o, const std::string& route) {
  for (const deliver::RouteConfig& r : o.routes) {
    if (r.route == route) return &r;
  }
  return nullptr;
}

// The built-in DCR schema applies by default, never with builtin_schemas = false, and a
// [routes.schemas] file replaces it (a schema read from the user's DCR removes undeclared fields).
TEST(WiringTest, BuiltinSchemaUnlessTurnedOffOrReplacedByAFile) {
  const std::string table = "CitrixAnalytics_indicatorSummary_V1_CL";
  config::GatewayConfig c;
  c.routes.layout = "dcr";
  deliver::DrainerOptions o;
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &o).ok());
  const deliver::RouteConfig* r = RouteOf(o, table);
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->schema.has_value());
  EXPECT_TRUE(r->schema->keep_undeclared);
  EXPECT_EQ(r->schema->columns.at("indicator_id"), azure::ColumnType::kString);

  c.routes.builtin_schemas = false;
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &o).ok());
  r = RouteOf(o, table);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->schema.has_value());

  c.routes.builtin_schemas = true;
  c.routes.schemas[table] = std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json";
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &o).ok());
  r = RouteOf(o, table);
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->schema.has_value());
  EXPECT_FALSE(r->schema->keep_undeclared);
}

// Data Collector layout: the legacy tables' column types, so Citrix's integer indicator_id goes
// to the existing indicator_id_s column instead of a new indicator_id_d twin.
TEST(WiringTest, LegacyLayoutGetsTheLegacyTablesColumnTypes) {
  config::GatewayConfig c;
  c.routes.layout = "legacy";
  deliver::DrainerOptions o;
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &o).ok());
  const deliver::RouteConfig* r = RouteOf(o, "CitrixAnalytics_indicatorSummary_CL");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->schema.has_value());
  EXPECT_TRUE(r->schema->keep_undeclared);
  EXPECT_EQ(r->schema->columns.at("indicator_id"), azure::ColumnType::kString);
  EXPECT_EQ(r->schema->columns.count("AdditionalFields"), 0u);
  r = RouteOf(o, "CitrixAnalytics_riskScoreChange_CL");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->schema.has_value());
  EXPECT_EQ(r->schema->columns.at("alert_value"), azure::ColumnType::kString);
  EXPECT_EQ(r->schema->columns.at("cur_riskscore"), azure::ColumnType::kReal);
}

}  // namespace
}  // namespace sg
