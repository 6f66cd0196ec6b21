// Route defaults: which Sentinel table each Citrix event type goes to, and the stream or Log-Type
// that reaches it, for both Azure layouts.
//
// Legacy layout (Data Collector API): CitrixAnalytics_userProfile_CL, ..._riskScoreChange_CL,
// ..._indicatorSummary_CL, ..._indicatorEventDetails_CL; the Log-Type is the table name without
// "_CL". Current layout (Logs Ingestion API): the ..._V1_CL tables of the Citrix Analytics CCF
// solution, stream "Custom-<table without _CL>".
#pragma once

#include <string>
#include <vector>

namespace sg::deliver {

enum class TableLayout { kLegacy, kDcr };

// The destination table for a Citrix event_type, or "" when the layout has none for it.
std::string TableForEventType(TableLayout layout, const std::string& event_type);

// Legacy: Log-Type = table without "_CL". DCR: stream = "Custom-" + table without "_CL".
std::string DefaultTarget(TableLayout layout, const std::string& table);

// Every table of the layout, in a stable order.
std::vector<std::string> DefaultTables(TableLayout layout);

}  // namespace sg::deliver
