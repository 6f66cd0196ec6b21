// Route defaults: which Sentinel table each Citrix event type goes to, and the stream or Log-Type
// that reaches it, for both Azure layouts.
//
// Legacy layout (Data Collector API): CitrixAnalytics_userProfile_CL, ..._riskScoreChange_CL,
// ..._indicatorSummary_CL, ..._indicatorEventDetails_CL; the Log-Type is the table name without
// "_CL". Current layout (Logs Ingestion API): the ..._V1_CL tables of the Citrix Analytics CCF
// solution, stream "Custom-<table without _CL>".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::deliver {

enum class TableLayout { kLegacy, kDcr };

// The destination table for a Citrix event_type, or "" when the layout has none for it.
std::string TableForEventType(TableLayout layout, const std::string& event_type);

// Legacy: Log-Type = table without "_CL". DCR: stream = "Custom-" + table without "_CL".
std::string DefaultTarget(TableLayout layout, const std::string& table);

// Every table of the layout, in a stable order.
std::vector<std::string> DefaultTables(TableLayout layout);

// Citrix fields whose flattened names are longer than the 45 characters Azure allows in a column
// name (docs/AZURE.md, "Column and table names"), with the column the gateway's DCR declares for
// each: {flattened field, column}. The legacy Data Collector tables keep the long names.
const std::vector<std::pair<std::string, std::string>>& LongFieldColumns();

// The DCR column for a flattened field: its short name from LongFieldColumns(), else the field.
std::string_view DcrColumnFor(std::string_view field);

}  // namespace sg::deliver
