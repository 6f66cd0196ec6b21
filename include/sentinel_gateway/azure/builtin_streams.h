// BuiltinStreamSchemas: the stream declarations of the gateway's own DCR, compiled in.
//
// config/azure/citrix-analytics-streams.json (the DCR that config/azure's template creates) is
// embedded at build time, so the drainer can convert Citrix's values to the declared column types
// without any file to install: Citrix sends indicator_id as an integer where the DCR declares a
// string, and the Logs Ingestion API drops a mismatched value while answering 204.
#pragma once

#include <map>
#include <string>

#include "sentinel_gateway/azure/stream_schema.h"

namespace sg::azure {

// Stream name ("Custom-CitrixAnalytics_indicatorSummary_V1", ...) -> its columns. Every schema
// returned has keep_undeclared set: the user's DCR may declare more than ours, so fields ours
// does not name are left for Azure to keep or drop.
const std::map<std::string, StreamSchema>& BuiltinStreamSchemas();

}  // namespace sg::azure
