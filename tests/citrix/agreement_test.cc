// Unit test: ingest's routing and the drainer's lanes agree, for both table layouts.
//
// The gateway wires both from one configuration (wiring.h): ingest routes each event to a table,
// the drainer opens a lane per table. An event whose table has no lane would wait in the spool
// for ever; a lane to the wrong stream would send it to the wrong table. So, for every Citrix
// event type and for types no rule names, the route ingest picks must be a lane of the drainer,
// be the catalogue's table (or catch-all) and reach the catalogue's stream or Log-Type.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/event_router.h"
#include "wiring.h"

namespace sg {
namespace {

// A configuration as an operator writes it, so Validate() fills in the layout's defaults
// (routes.layout from sentinel.api, routes.catch_all from the layout).
const char* kKafka = R"(
[kafka]
brokers = "broker:9094"
topic = "acme_default"
group_id = "acme_group"
username = "acme"
password = "kafka-password"

[spool]
path = "/tmp/sg-agreement-spool"
)";

const char* kLogsIngestion = R"(
[sentinel]
endpoint = "https://my-dce.eastus-1.ingest.monitor.azure.com"
dcr_immutable_id = "dcr-0123"
tenant_id = "tenant"
client_id = "client"
client_secret = "azure-secret"
)";

const char* kDataCollector = R"(
[sentinel]
api = "data_collector"
workspace_id = "00000000-0000-0000-0000-000000000000"
shared_key = "c2hhcmVkLWtleQ=="
)";

// Every rule's event type (a prefix rule: the prefix alone and with a suffix), and types no rule
// names: a new type, a longer exact name, another case, no type at all.
std::vector<std::string> EventTypes() {
  std::vector<std::string> types;
  for (const citrix::Rule& r : citrix::Rules()) {
    std::string pattern(r.pattern);
    if (pattern.back() == '*') {
      pattern.pop_back();
      types.push_back(pattern);
      types.push_back(pattern + "Riskscore");
    } else {
      types.push_back(pattern);
    }
  }
  for (const char* unknown : {"somethingNew", "riskScoreChangeV2", "userprofileApp", ""}) types.push_back(unknown);
  return types;
}

struct LayoutCase {
  const char* name;
  const char* sentinel;
  citrix::Layout layout;
  const char* catch_all;  // written out: the configuration's documented default
};

class AgreementTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(AgreementTest, EveryEventTypesRouteIsALaneToItsTable) {
  const LayoutCase& lc = GetParam();
  config::GatewayConfig c;
  Status s = config::Parse(std::string(kKafka) + lc.sentinel, "gateway.toml", "/etc/sentinel-gateway", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(c.routes.catch_all, lc.catch_all);

  ingest::IngestOptions io;
  ASSERT_TRUE(BuildIngestOptions(c, &io).ok());
  std::unique_ptr<ingest::EventRouter> router;
  ASSERT_TRUE(ingest::EventRouter::Create(io.routes, &router).ok());
  deliver::DrainerOptions d;
  ASSERT_TRUE(BuildDrainerOptions(c, {}, &d).ok());
  std::map<std::string, const deliver::RouteConfig*> lanes;
  for (const deliver::RouteConfig& rc : d.routes) {
    EXPECT_TRUE(lanes.emplace(rc.route, &rc).second) << "two lanes for " << rc.route;
  }

  std::set<std::string> reached;
  for (const std::string& type : EventTypes()) {
    SCOPED_TRACE("event_type \"" + type + "\"");
    const std::string& route = router->RouteFor(type);
    std::string table = citrix::TableForEventType(lc.layout, type);
    if (table.empty()) table = lc.catch_all;
    EXPECT_EQ(route, table);
    auto lane = lanes.find(route);
    ASSERT_NE(lane, lanes.end()) << "no lane for route " << route;
    EXPECT_EQ(lane->second->target, citrix::TargetFor(lc.layout, route));
    // builtin_schemas is on by default: every table of ours gets its schema.
    EXPECT_TRUE(lane->second->schema.has_value() || (lc.layout == citrix::Layout::kLegacy && route == lc.catch_all))
        << route;
    reached.insert(route);
  }
  // And no lane that no event type reaches (with an empty spool and no [routes] overrides).
  std::set<std::string> lane_routes;
  for (const auto& [route, rc] : lanes) lane_routes.insert(route);
  EXPECT_EQ(lane_routes, reached);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, AgreementTest,
    ::testing::Values(LayoutCase{"dcr", kLogsIngestion, citrix::Layout::kDcr, "CitrixAnalytics_other_V1_CL"},
                      LayoutCase{"legacy", kDataCollector, citrix::Layout::kLegacy, "CitrixAnalytics_other_CL"}),
    [](const ::testing::TestParamInfo<LayoutCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sg
