// Azure clouds: the public cloud and the sovereign ones differ only in host names and the token
// scope. One setting picks them; every endpoint can still be overridden in AzureOptions.
#pragma once

#include <string>
#include <string_view>

#include "sentinel_gateway/status.h"

namespace sg::azure {

enum class Cloud { kPublic, kUsGov, kChina };

struct CloudEndpoints {
  std::string login_endpoint;  // token authority base, e.g. https://login.microsoftonline.com
  std::string scope;           // client-credentials scope, e.g. https://monitor.azure.com/.default
  std::string resource;        // managed identity resource, e.g. https://monitor.azure.com/
  std::string ods_suffix;      // Data Collector host suffix: .ods.opinsights.azure.com
  // Azure Resource Manager (the management plane: reading the deployed DCR back). A token is
  // bound to the audience it was asked for, so ARM needs its own (docs/AZURE.md, "Tokens").
  std::string management_endpoint;  // e.g. https://management.azure.com
  std::string management_scope;     // e.g. https://management.azure.com/.default
  std::string management_resource;  // managed identity resource, e.g. https://management.azure.com/
  // Log Analytics Query API (the exactly-once resolution asks it which ids arrived), with its
  // own audience (Learn "Query - Execute", https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute).
  std::string query_endpoint;       // e.g. https://api.loganalytics.io
  std::string query_scope;          // e.g. https://api.loganalytics.io/.default
  std::string query_resource;       // managed identity resource, e.g. https://api.loganalytics.io/
};

// "public" (also "azurepubliccloud"), "usgov" ("azureusgovernment"), "china" ("azurechinacloud").
Status ParseCloud(std::string_view name, Cloud* cloud);
CloudEndpoints EndpointsFor(Cloud cloud);

}  // namespace sg::azure
