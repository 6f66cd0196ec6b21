#include "wiring.h"

#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/citrix/catalogue.h"

namespace sg {
namespace {

// A layout Validate() has not filled in (empty) is dcr, its default for logs_ingestion.
citrix::Layout LayoutOf(const config::GatewayConfig& c) {
  citrix::Layout layout = citrix::Layout::kDcr;
  citrix::ParseLayout(c.routes.layout, &layout);
  return layout;
}

}  // namespace

std::vector<ingest::RouteRule> RouteRulesFor(const config::GatewayConfig& c) {
  std::vector<ingest::RouteRule> rules;
  for (const auto& [type, table] : c.routes.event_types) rules.push_back({type, table});
  const citrix::Layout layout = LayoutOf(c);
  // The catalogue's rules whose family has a table in this layout; the others fall to the catch-all.
  for (const citrix::Rule& r : citrix::Rules()) {
    std::string table = citrix::TableName(layout, *r.family);
    if (!table.empty()) rules.push_back({std::string(r.pattern), std::move(table)});
  }
  return rules;
}

Status BuildIngestOptions(const config::GatewayConfig& c, ingest::IngestOptions* o) {
  const config::KafkaConfig& k = c.kafka;
  static_cast<KafkaOptions&>(*o) = k;  // the settings the section shares with ingest; not the password
  for (char& ch : o->security_protocol) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  o->password = k.password.value;
  o->routes.rules = RouteRulesFor(c);
  o->routes.default_route = c.routes.catch_all;
  // An event larger than one request can never be delivered: quarantine it at the door.
  o->classifier.max_event_bytes = std::min<size_t>(c.delivery.max_batch_bytes, 1'000'000);
  return Status::OK();
}

namespace {

using SchemaFiles = std::map<std::string, std::map<std::string, azure::StreamSchema>>;  // file -> stream -> schema

// The lane of one table: its stream or Log-Type, and the schema its values are shaped to.
Status RouteConfigFor(const config::GatewayConfig& c, const std::string& table, SchemaFiles* loaded,
                      deliver::RouteConfig* rc) {
  rc->route = table;
  auto t = c.routes.targets.find(table);
  rc->target = t != c.routes.targets.end() ? t->second : citrix::TargetFor(LayoutOf(c), table);
  rc->schema.reset();
  auto sf = c.routes.schemas.find(table);
  if (sf != c.routes.schemas.end()) {
    auto& streams = (*loaded)[sf->second];
    if (streams.empty()) {
      Status s = azure::LoadStreamSchemas(sf->second, &streams);
      if (!s.ok()) return Status::InvalidArgument(fmt::format("routes.schemas.{}: {}", table, s.message()));
    }
    auto it = streams.find(rc->target);
    if (it == streams.end()) {
      return Status::InvalidArgument(
          fmt::format("routes.schemas.{}: {} declares no stream {}", table, sf->second, rc->target));
    }
    rc->schema = it->second;
  } else if (c.routes.builtin_schemas) {
    // No DCR file for this table: when its stream is one of ours, convert to our column types.
    // Legacy tables: convert to the types of their existing columns.
    const azure::StreamSchema* builtin = azure::BuiltinSchemaFor(LayoutOf(c), rc->target);
    if (builtin != nullptr) rc->schema = *builtin;
  }
  return Status::OK();
}

}  // namespace

Status BuildDrainerOptions(const config::GatewayConfig& c, const std::vector<std::string>& spool_routes,
                           deliver::DrainerOptions* o) {
  std::set<std::string> tables(spool_routes.begin(), spool_routes.end());
  for (const ingest::RouteRule& r : RouteRulesFor(c)) tables.insert(r.route);
  tables.insert(c.routes.catch_all);
  for (const auto& [table, file] : c.routes.schemas) tables.insert(table);

  SchemaFiles loaded;
  o->routes.clear();
  for (const std::string& table : tables) {
    deliver::RouteConfig rc;
    Status s = RouteConfigFor(c, table, &loaded, &rc);
    if (!s.ok()) return s;
    o->routes.push_back(std::move(rc));
  }
  // A table that gets events later (an operator's requeue) gets its lane the same way.
  auto config = std::make_shared<const config::GatewayConfig>(c);
  o->route_config = [config](const std::string& table, deliver::RouteConfig* rc) {
    SchemaFiles files;
    return RouteConfigFor(*config, table, &files, rc);
  };
  static_cast<deliver::DeliveryOptions&>(*o) = c.delivery;  // all of [delivery] but shutdown_grace
  const config::SentinelConfig& sc = c.sentinel;
  o->dedupe.query = sc.dedupe == "query";
  o->dedupe.workspace_id = sc.workspace_id;
  o->dedupe.query_endpoint = sc.query_endpoint;
  o->dedupe.wait = sc.dedupe_wait;
  o->dedupe.query_timeout = sc.dedupe_query_timeout;
  return Status::OK();
}

Status BuildAzureOptions(const config::GatewayConfig& c, azure::AzureOptions* o) {
  const config::SentinelConfig& s = c.sentinel;
  o->api = s.api == "data_collector" ? azure::Api::kDataCollector : azure::Api::kLogsIngestion;
  Status st = azure::ParseCloud(s.cloud, &o->cloud);
  if (!st.ok()) return st;
  static_cast<azure::AzureSettings&>(*o) = s;  // the settings [sentinel] shares with the clients
  o->client_secret = s.client_secret.value;
  o->shared_key = s.shared_key.value;
  return Status::OK();
}

}  // namespace sg
