// Citrix catalogue: what Citrix Analytics for Security sends, and where Sentinel keeps each part.
//
// Citrix tags every event with an `event_type`. Events of one family go to one Sentinel table,
// whose name depends on the table layout (`[routes] layout`):
//
//   layout   API                 table              stream / Log-Type      families
//   legacy   Data Collector      <base>_CL          Log-Type <base>        the four of the Citrix
//                                                                          Logstash integration
//   dcr      Logs Ingestion      <base>_V1_CL       Custom-<base>_V1       all (Citrix's CCF tables)
//
// An event type no rule names, and with the legacy layout a data source event (that integration
// had no table for them), goes to the catch-all family CitrixAnalytics_other.
//
// This is the only place that names Citrix event types, tables, streams and Log-Types: ingest's
// default router, the drainer's lanes, the configuration's defaults and the wiring between them
// all ask it, so that an event is always routed to a table that has a lane. The built-in schemas
// (config/azure's DCR, config/legacy-tables) are compiled into sg_azure (azure/builtin_streams.h)
// and keyed by the stream and Log-Type named here; HasBuiltinSchema() says which exist, and a
// test holds the two to each other.
//
// Guarantees: every event type matches at most one family through Rules() (the first matching
// rule), every family has one table per layout it belongs to, and table names are distinct
// across families and layouts. The data is constant: safe from any thread, no initialisation.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sg::citrix {

enum class Layout { kLegacy, kDcr };

// "legacy" or "dcr" (the values of `[routes] layout`); false for anything else.
bool ParseLayout(std::string_view name, Layout* layout);

// A family of event types and its table, named without the layout's suffix.
struct Family {
  std::string_view base;  // "CitrixAnalytics_riskScoreChange"
  bool legacy;            // the legacy layout has a table for it
};

// An event type rule: an exact `event_type`, or a prefix followed by '*'.
struct Rule {
  std::string_view pattern;  // "riskScoreChange", "userProfile*"
  const Family* family;      // never null
};

// The base name of the catch-all family (the route of the layout-free default router).
inline constexpr const char kCatchAllBase[] = "CitrixAnalytics_other";

// The families event types route to, in a stable order; the catch-all is not among them.
std::span<const Family> Families();
const Family& CatchAll();
// The rules in match order: the first that matches an event type decides its family.
std::span<const Rule> Rules();

// Whether `event_type` matches `pattern` (exact, or a prefix when the pattern ends in '*').
bool PatternMatches(std::string_view pattern, std::string_view event_type);

// The family table in `layout`: <base>_CL or <base>_V1_CL; "" when the layout has none for it.
std::string TableName(Layout layout, const Family& family);
// The table of an event type, or "" when no rule matches or the layout has no table for it
// (such an event goes to the catch-all table).
std::string TableForEventType(Layout layout, std::string_view event_type);
std::string CatchAllTable(Layout layout);
// Every table the rules reach in `layout`, in the order of Families(); without the catch-all.
std::vector<std::string> Tables(Layout layout);

// Where the APIs address a table: its Log-Type (legacy: the table without "_CL") or its stream
// (dcr: "Custom-" + the table without "_CL"). Also for tables outside the catalogue.
std::string TargetFor(Layout layout, std::string_view table);

// Whether the gateway has a built-in schema for the family's table in `layout`: config/azure's
// DCR declares a stream for every family and the catch-all; config/legacy-tables holds the
// legacy families only.
bool HasBuiltinSchema(Layout layout, const Family& family);

}  // namespace sg::citrix
