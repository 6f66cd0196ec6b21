#include "sentinel_gateway/azure/cloud.h"

#include <algorithm>
#include <cctype>

namespace sg::azure {

Status ParseCloud(std::string_view name, Cloud* cloud) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "public" || n == "azurepubliccloud" || n == "azurecloud") {
    *cloud = Cloud::kPublic;
  } else if (n == "usgov" || n == "usgovernment" || n == "azureusgovernment") {
    *cloud = Cloud::kUsGov;
  } else if (n == "china" || n == "azurechinacloud") {
    *cloud = Cloud::kChina;
  } else {
    return Status::InvalidArgument("unknown cloud '" + std::string(name) +
                                   "' (expected public, usgov or china)");
  }
  return Status::OK();
}

// Management hosts: Learn "Azure Government developer guide" / "Azure China developer guide"
// (endpoint mappings), and docs/AZURE.md, "The deployed DCR read back".
// Query API hosts: the same guides ("Azure Monitor Logs": api.loganalytics.us, api.loganalytics.azure.cn).
CloudEndpoints EndpointsFor(Cloud cloud) {
  switch (cloud) {
    case Cloud::kUsGov:
      return {"https://login.microsoftonline.us", "https://monitor.azure.us/.default",
              "https://monitor.azure.us/", ".ods.opinsights.azure.us",
              "https://management.usgovcloudapi.net", "https://management.usgovcloudapi.net/.default",
              "https://management.usgovcloudapi.net/", "https://api.loganalytics.us",
              "https://api.loganalytics.us/.default", "https://api.loganalytics.us/"};
    case Cloud::kChina:
      return {"https://login.chinacloudapi.cn", "https://monitor.azure.cn/.default",
              "https://monitor.azure.cn/", ".ods.opinsights.azure.cn",
              "https://management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default",
              "https://management.chinacloudapi.cn/", "https://api.loganalytics.azure.cn",
              "https://api.loganalytics.azure.cn/.default", "https://api.loganalytics.azure.cn/"};
    case Cloud::kPublic:
      break;
  }
  return {"https://login.microsoftonline.com", "https://monitor.azure.com/.default",
          "https://monitor.azure.com/", ".ods.opinsights.azure.com",
          "https://management.azure.com", "https://management.azure.com/.default",
          "https://management.azure.com/", "https://api.loganalytics.io",
          "https://api.loganalytics.io/.default", "https://api.loganalytics.io/"};
}

}  // namespace sg::azure
