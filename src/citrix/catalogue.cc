#include "sentinel_gateway/citrix/catalogue.h"

#include <array>

namespace sg::citrix {
namespace {

// The families, and which of them the Citrix Logstash integration (the legacy tables) had.
constexpr std::array<Family, 7> kFamilies = {{
    {"CitrixAnalytics_userProfile", true},
    {"CitrixAnalytics_riskScoreChange", true},
    {"CitrixAnalytics_indicatorSummary", true},
    {"CitrixAnalytics_indicatorEventDetails", true},
    {"CitrixAnalytics_SPA_Events", false},
    {"CitrixAnalytics_CVAD_Events", false},
    {"CitrixAnalytics_CCC_Events", false},
}};
constexpr Family kCatchAll = {kCatchAllBase, true};

// Citrix adds user profile types over time (userProfileRiskscore, ...App, ...Location, ...), hence
// the prefix; the other names are exact, so a new type is visible in the catch-all table.
constexpr std::array<Rule, 8> kRules = {{
    {"userProfile*", &kFamilies[0]},
    {"riskScoreChange", &kFamilies[1]},
    {"indicatorSummary", &kFamilies[2]},
    {"indicatorEventDetails", &kFamilies[3]},
    {"datasourceSPAEventDetails", &kFamilies[4]},
    {"datasourceDPSEventDetails", &kFamilies[4]},  // Citrix files DPS events with SPA's
    {"datasourceCVADEventDetails", &kFamilies[5]},
    {"datasourceCCCEventDetails", &kFamilies[6]},
}};

std::string_view WithoutCl(std::string_view table) {
  if (table.size() > 3 && table.substr(table.size() - 3) == "_CL") table.remove_suffix(3);
  return table;
}

}  // namespace

bool ParseLayout(std::string_view name, Layout* layout) {
  if (name == "legacy") {
    *layout = Layout::kLegacy;
  } else if (name == "dcr") {
    *layout = Layout::kDcr;
  } else {
    return false;
  }
  return true;
}

std::span<const Family> Families() { return kFamilies; }
const Family& CatchAll() { return kCatchAll; }
std::span<const Rule> Rules() { return kRules; }

bool PatternMatches(std::string_view pattern, std::string_view event_type) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return event_type.substr(0, pattern.size()) == pattern;
  }
  return event_type == pattern;
}

std::string TableName(Layout layout, const Family& family) {
  if (layout == Layout::kLegacy) return family.legacy ? std::string(family.base) + "_CL" : "";
  return std::string(family.base) + "_V1_CL";
}

std::string TableForEventType(Layout layout, std::string_view event_type) {
  for (const Rule& r : kRules) {
    if (PatternMatches(r.pattern, event_type)) return TableName(layout, *r.family);
  }
  return "";
}

std::string CatchAllTable(Layout layout) { return TableName(layout, kCatchAll); }

std::vector<std::string> Tables(Layout layout) {
  std::vector<std::string> out;
  for (const Family& f : kFamilies) {
    std::string table = TableName(layout, f);
    if (!table.empty()) out.push_back(std::move(table));
  }
  return out;
}

std::string TargetFor(Layout layout, std::string_view table) {
  const std::string_view base = WithoutCl(table);
  return layout == Layout::kDcr ? "Custom-" + std::string(base) : std::string(base);
}

bool HasBuiltinSchema(Layout layout, const Family& family) {
  if (layout == Layout::kDcr) return true;
  return family.legacy && &family != &kCatchAll;
}

}  // namespace sg::citrix
