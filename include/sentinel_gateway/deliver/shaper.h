// Shaper: turns a Citrix event as spooled into the row Sentinel expects.
//
//  - Nested objects are flattened with '_' (occurrence_details.event_count becomes
//    occurrence_details_event_count), as both Azure layouts expect. Arrays stay as they are.
//  - TimeGenerated is set from the Citrix `timestamp` when the event has none (Logs Ingestion API;
//    the Data Collector API names the field in a header instead).
//  - With a stream schema: values are converted to the declared column types where that is
//    lossless (indicator_id 7 -> "7"), and fields the stream does not declare are removed and
//    reported, because Azure would drop them without a word. A schema that is only assumed (the
//    built-in copy of the gateway's own DCR, keep_undeclared) converts and removes nothing else.
//  - An optional stable event id (topic/partition/offset) lets analysts deduplicate re-posts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sentinel_gateway/azure/column_index.h"
#include "sentinel_gateway/azure/stream_schema.h"
#include "sentinel_gateway/spool.h"
#include "sentinel_gateway/status.h"

namespace sg::deliver {

struct ShapeOptions {
  bool set_time_generated = true;
  std::string timestamp_field = "timestamp";
  std::string event_id_field;                       // empty: no event id
  const azure::StreamSchema* schema = nullptr;      // not owned; null: no schema
  // Optional, not owned: an index built from *schema, for hash lookups of each field (the
  // drainer keeps one per schema in use). Ignored unless index->schema() == schema.
  const azure::ColumnIndex* index = nullptr;
  // Logs Ingestion: a flattened Citrix field longer than Azure's 45-character column names goes
  // to its short column (long_field_columns.h). The legacy tables keep the long names.
  bool azure_column_names = true;
  // Seconds since the epoch, for ShapeReport::time_replaced (0: not checked). Azure replaces a
  // TimeGenerated more than 2 days old or more than 1 day ahead by the arrival time.
  int64_t now_s = 0;
  // Without a schema, rows are shaped while parsing (no document is built). This forces the
  // slower document path, the reference the streaming one is tested against.
  bool use_document = false;
};

struct ShapeReport {
  // Fields the stream does not declare: copied whole into the catch-all column AdditionalFields
  // when the schema declares it; else removed (a schema read from the DCR) or, for an assumed
  // schema, left in the row and not reported.
  std::vector<std::string> undeclared;
  // Declared fields whose value could not be converted: their original text goes into the
  // catch-all when the schema has one.
  std::vector<std::string> unconvertible;
  // Fields whose row name an earlier field of the event already holds ({"a":{"b":1}} beside
  // "a_b", or the event's own copy of the event id field): the earlier keeps the column, the later
  // goes whole into the catch-all under its original path as a JSON Pointer ("/a_b"), or is dropped
  // without a catch-all. Named by the column; not repeated when the event already reports that
  // name as undeclared or unconvertible.
  std::vector<std::string> collided;
  bool catch_all = false;      // the schema has the AdditionalFields column
  bool time_replaced = false;  // TimeGenerated is outside what Azure keeps (see ShapeOptions::now)
};

// InvalidArgument when the payload is not a JSON object.
Status ShapeEvent(std::string_view payload, const spool::SourceRef& source, const ShapeOptions& options,
                  std::string* row, ShapeReport* report);

}  // namespace sg::deliver
