// Long field columns: the DCR column names the gateway uses for Citrix fields whose flattened
// names exceed what Azure allows. Which table, stream or Log-Type an event goes to is the Citrix
// catalogue's (citrix/catalogue.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::deliver {

// Citrix fields whose flattened names are longer than the 45 characters Azure allows in a column
// name (docs/AZURE.md, "Column and table names"), with the column the gateway's DCR declares for
// each: {flattened field, column}. The legacy Data Collector tables keep the long names.
const std::vector<std::pair<std::string, std::string>>& LongFieldColumns();

// The DCR column for a flattened field: its short name from LongFieldColumns(), else the field.
std::string_view DcrColumnFor(std::string_view field);

}  // namespace sg::deliver
