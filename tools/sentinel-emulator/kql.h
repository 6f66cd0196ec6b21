// The KQL subset the emulator's Log Analytics Query API understands: exactly what the gateway's
// exactly-once resolution sends (azure::PresentIdsQuery, sentinel_gateway/azure/query_client.h):
//   Table | where TimeGenerated >= datetime(ISO) | where Col in ("a", "b") | project Col[, Col]
// (also `>`, and several where stages). Anything else is refused with a reason, as Azure answers a
// query it cannot parse with 400 (Learn "Query - Execute",
// https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sg::emulator {

struct KqlQuery {
  std::string table;
  int64_t time_from_ms = INT64_MIN;
  bool time_strict = false;  // `>` rather than `>=`
  std::vector<std::pair<std::string, std::set<std::string>>> in_filters;
  std::vector<std::string> project;  // empty: every column
};

// False with *error set when `text` is outside the subset.
bool ParseKql(const std::string& text, KqlQuery* q, std::string* error);

// An ISO 8601 UTC time ("2026-12-01T10:00:00.123Z", fraction optional) in Unix milliseconds.
bool ParseIsoMs(const std::string& v, int64_t* ms);

}  // namespace sg::emulator
