// CheckAzure: `sentinel-gateway check-azure`, the Azure side checked without sending anything.
//
// Gets a token for ingestion (the credentials work), reads the deployed DCR back when
// sentinel.dcr_resource_id is set, checks that it is the DCR the gateway posts to and that it
// declares every configured stream, and prints per table which Citrix fields land in a declared
// column, which go to the catch-all AdditionalFields and which Azure would drop. Posts nothing.
// Returns the exit code: 0 only when nothing would be lost; 1 when something would be lost or
// could not be checked (the output says which); 2 for a configuration that cannot be checked.
#pragma once

#include <cstdio>

#include "sentinel_gateway/config.h"

namespace sg {

int CheckAzure(const config::GatewayConfig& config, std::FILE* out);

}  // namespace sg
