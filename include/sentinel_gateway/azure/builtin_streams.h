// BuiltinStreamSchemas: the stream declarations of the gateway's own DCR, compiled in.
//
// config/azure/citrix-analytics-streams.json (the DCR that config/azure's template creates) is
// embedded at build time, so the drainer can convert Citrix's values to the declared column types
// without any file to install: Citrix sends indicator_id as an integer where the DCR declares a
// string, and the Logs Ingestion API drops a mismatched value while answering 204.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/citrix/catalogue.h"

namespace sg::azure {

// Stream name ("Custom-CitrixAnalytics_indicatorSummary_V1", ...) -> its columns. Every schema
// returned has keep_undeclared set: the user's DCR may declare more than ours, so fields ours
// does not name are left for Azure to keep or drop.
const std::map<std::string, StreamSchema>& BuiltinStreamSchemas();

// Log-Type ("CitrixAnalytics_riskScoreChange", the table without "_CL") -> the columns of the
// legacy Data Collector table (config/legacy-tables), by their name without the type suffix:
// indicator_id_s gives indicator_id (string), cur_riskscore_d gives cur_riskscore (real). The
// Data Collector path converts values to these types so that the existing columns keep filling
// instead of typed twins (indicator_id_d) appearing. keep_undeclared is set.
const std::map<std::string, StreamSchema>& BuiltinLegacySchemas();

// The built-in schema of a stream (dcr) or Log-Type (legacy), as citrix::TargetFor() names them;
// null when the layout has none for it.
const StreamSchema* BuiltinSchemaFor(citrix::Layout layout, std::string_view target);

}  // namespace sg::azure
