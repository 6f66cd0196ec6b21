// Wiring: turns the gateway's configuration into each stage's options.
//
// One place decides the routes, so ingest (event type -> table) and delivery (table -> stream or
// Log-Type, schema) always agree: the route of an event is its destination table's name. The
// defaults are the Citrix catalogue's (citrix/catalogue.h); tests/citrix/agreement_test.cc holds
// ingest's routes to the drainer's lanes for both layouts.
#pragma once

#include <string>
#include <vector>

#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/status.h"

namespace sg {

// Event type rules: the configured ones first, then the defaults of the table layout.
std::vector<ingest::RouteRule> RouteRulesFor(const config::GatewayConfig& config);

Status BuildIngestOptions(const config::GatewayConfig& config, ingest::IngestOptions* out);
// `spool_routes` are the routes the spool already holds (from an earlier configuration): they get
// a lane too, so nothing spooled is stranded by a configuration change.
Status BuildDrainerOptions(const config::GatewayConfig& config, const std::vector<std::string>& spool_routes,
                           deliver::DrainerOptions* out);
Status BuildAzureOptions(const config::GatewayConfig& config, azure::AzureOptions* out);

}  // namespace sg
