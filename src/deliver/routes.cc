#include "sentinel_gateway/deliver/routes.h"

namespace sg::deliver {

std::string TableForEventType(TableLayout layout, const std::string& t) {
  const bool dcr = layout == TableLayout::kDcr;
  const char* suffix = dcr ? "_V1_CL" : "_CL";
  auto table = [&](const char* base) { return std::string("CitrixAnalytics_") + base + suffix; };
  if (t.rfind("userProfile", 0) == 0) return table("userProfile");
  if (t == "riskScoreChange") return table("riskScoreChange");
  if (t == "indicatorSummary") return table("indicatorSummary");
  if (t == "indicatorEventDetails") return table("indicatorEventDetails");
  if (!dcr) return "";  // the legacy integration had no tables for data source events
  if (t == "datasourceSPAEventDetails" || t == "datasourceDPSEventDetails") return table("SPA_Events");
  if (t == "datasourceCVADEventDetails") return table("CVAD_Events");
  if (t == "datasourceCCCEventDetails") return table("CCC_Events");
  return "";
}

std::string DefaultTarget(TableLayout layout, const std::string& table) {
  std::string base = table;
  if (base.size() > 3 && base.compare(base.size() - 3, 3, "_CL") == 0) base.resize(base.size() - 3);
  return layout == TableLayout::kDcr ? "Custom-" + base : base;
}

std::vector<std::string> DefaultTables(TableLayout layout) {
  std::vector<std::string> out;
  for (const char* t : {"userProfileRiskscore", "riskScoreChange", "indicatorSummary",
                        "indicatorEventDetails", "datasourceSPAEventDetails",
                        "datasourceCVADEventDetails", "datasourceCCCEventDetails"}) {
    std::string table = TableForEventType(layout, t);
    if (!table.empty()) out.push_back(table);
  }
  return out;
}

}  // namespace sg::deliver

namespace sg::deliver {

const std::vector<std::pair<std::string, std::string>>& LongFieldColumns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"occurrence_details_exfiltrated_data_volume_in_bytes", "occurrence_details_exfiltrated_data_bytes"},
      {"occurrence_details_historical_observation_period_in_days", "occurrence_details_historical_period_days"},
      {"occurrence_details_lifetime_download_volume_in_bytes", "occurrence_details_lifetime_download_bytes"},
  };
  return columns;
}

std::string_view DcrColumnFor(std::string_view field) {
  if (field.size() <= 45) return field;  // every entry of LongFieldColumns() is longer
  for (const auto& [long_name, column] : LongFieldColumns()) {
    if (field == long_name) return column;
  }
  return field;
}

}  // namespace sg::deliver
