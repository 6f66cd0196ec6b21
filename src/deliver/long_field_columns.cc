#include "sentinel_gateway/deliver/long_field_columns.h"

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
