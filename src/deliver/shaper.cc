#include "sentinel_gateway/deliver/shaper.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sg::deliver {
namespace {

using nlohmann::json;

void Flatten(const std::string& prefix, json&& value, json* out) {
  if (value.is_object()) {
    for (auto& [k, v] : value.items()) {
      Flatten(prefix.empty() ? k : prefix + "_" + k, std::move(v), out);
    }
    return;
  }
  (*out)[prefix] = std::move(value);
}

}  // namespace

Status ShapeEvent(std::string_view payload, const SourceRef& source, const ShapeOptions& options,
                  std::string* row, ShapeReport* report) {
  json in = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return Status::InvalidArgument("event is not a JSON object");
  json out = json::object();
  for (auto& [k, v] : in.items()) Flatten(k, std::move(v), &out);

  const azure::StreamSchema* schema = options.schema;
  bool want_time = options.set_time_generated && !out.contains("TimeGenerated") &&
                   (schema == nullptr || schema->columns.count("TimeGenerated") != 0);
  if (want_time) {
    auto it = out.find(options.timestamp_field);
    if (it != out.end() && it->is_string()) out["TimeGenerated"] = *it;
  }
  if (!options.event_id_field.empty() && !source.topic.empty()) {
    out[options.event_id_field] =
        fmt::format("{}/{}/{}", source.topic, source.partition, source.offset);
  }
  if (schema != nullptr) {
    for (auto it = out.begin(); it != out.end();) {
      auto col = schema->columns.find(it.key());
      if (col == schema->columns.end()) {
        if (report != nullptr) report->undeclared.push_back(it.key());
        it = out.erase(it);
        continue;
      }
      if (!azure::ConvertValue(col->second, &it.value()) && report != nullptr) {
        // Sent unchanged: Azure decides, and a refusal isolates this event by bisection.
        report->unconvertible.push_back(it.key());
      }
      ++it;
    }
  }
  *row = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return Status::OK();
}

}  // namespace sg::deliver
