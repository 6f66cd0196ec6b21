// Unit tests: the Citrix catalogue's names, and its agreement with the compiled-in schemas.
#include "sentinel_gateway/citrix/catalogue.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "sentinel_gateway/azure/builtin_streams.h"

namespace sg::citrix {
namespace {

constexpr Layout kLayouts[] = {Layout::kLegacy, Layout::kDcr};

// Moved from deliver_unit_test (RoutesTest) with its assertions when the catalogue took the names.
TEST(RoutesTest, LegacyAndDcrDefaults) {
  EXPECT_EQ(TableForEventType(Layout::kLegacy, "userProfileLocation"), "CitrixAnalytics_userProfile_CL");
  EXPECT_EQ(TableForEventType(Layout::kLegacy, "indicatorEventDetails"), "CitrixAnalytics_indicatorEventDetails_CL");
  EXPECT_EQ(TableForEventType(Layout::kLegacy, "datasourceCCCEventDetails"), "");
  EXPECT_EQ(TableForEventType(Layout::kDcr, "riskScoreChange"), "CitrixAnalytics_riskScoreChange_V1_CL");
  EXPECT_EQ(TableForEventType(Layout::kDcr, "datasourceDPSEventDetails"), "CitrixAnalytics_SPA_Events_V1_CL");
  EXPECT_EQ(TargetFor(Layout::kLegacy, "CitrixAnalytics_riskScoreChange_CL"), "CitrixAnalytics_riskScoreChange");
  EXPECT_EQ(TargetFor(Layout::kDcr, "CitrixAnalytics_riskScoreChange_V1_CL"),
            "Custom-CitrixAnalytics_riskScoreChange_V1");
  EXPECT_EQ(Tables(Layout::kLegacy).size(), 4u);
  EXPECT_EQ(Tables(Layout::kDcr).size(), 7u);
}

TEST(CatalogueTest, CatchAllAndLayoutNames) {
  EXPECT_EQ(CatchAllTable(Layout::kLegacy), "CitrixAnalytics_other_CL");
  EXPECT_EQ(CatchAllTable(Layout::kDcr), "CitrixAnalytics_other_V1_CL");
  EXPECT_EQ(TableForEventType(Layout::kDcr, "somethingNew"), "");
  EXPECT_EQ(TableForEventType(Layout::kDcr, "riskScoreChangeV2"), "");  // exact names are exact
  EXPECT_EQ(TableForEventType(Layout::kDcr, "userprofileApp"), "");     // case matters
  Layout layout = Layout::kDcr;
  EXPECT_TRUE(ParseLayout("legacy", &layout));
  EXPECT_EQ(layout, Layout::kLegacy);
  EXPECT_TRUE(ParseLayout("dcr", &layout));
  EXPECT_EQ(layout, Layout::kDcr);
  EXPECT_FALSE(ParseLayout("DCR", &layout));
  EXPECT_FALSE(ParseLayout("", &layout));
}

// A table name says which family and layout it belongs to: no two coincide, so a spooled route
// always means one lane.
TEST(CatalogueTest, TableNamesAreDistinctAcrossFamiliesAndLayouts) {
  std::set<std::string> seen;
  size_t count = 0;
  for (Layout layout : kLayouts) {
    for (const Family& f : Families()) {
      const std::string table = TableName(layout, f);
      if (table.empty()) continue;
      ++count;
      EXPECT_TRUE(seen.insert(table).second) << table;
    }
    ++count;
    EXPECT_TRUE(seen.insert(CatchAllTable(layout)).second) << CatchAllTable(layout);
  }
  EXPECT_EQ(count, 4u + 1u + 7u + 1u);
}

// Every rule names a family of Families(), and every family is reached by a rule.
TEST(CatalogueTest, RulesAndFamiliesCoverEachOther) {
  std::set<const Family*> families;
  for (const Family& f : Families()) families.insert(&f);
  std::set<const Family*> reached;
  for (const Rule& r : Rules()) {
    ASSERT_NE(r.family, nullptr) << r.pattern;
    EXPECT_EQ(families.count(r.family), 1u) << r.pattern;
    reached.insert(r.family);
  }
  EXPECT_EQ(reached, families);
}

TEST(CatalogueTest, PatternsAreExactOrAPrefix) {
  EXPECT_TRUE(PatternMatches("userProfile*", "userProfileApp"));
  EXPECT_TRUE(PatternMatches("userProfile*", "userProfile"));
  EXPECT_FALSE(PatternMatches("userProfile*", "userprofileApp"));
  EXPECT_TRUE(PatternMatches("riskScoreChange", "riskScoreChange"));
  EXPECT_FALSE(PatternMatches("riskScoreChange", "riskScoreChangeV2"));
  EXPECT_FALSE(PatternMatches("riskScoreChange", "riskScore"));
}

// HasBuiltinSchema() and the schemas compiled into sg_azure (config/azure, config/legacy-tables)
// say the same, both ways: each family that should have one has it under the name TargetFor()
// gives, and there is no built-in schema the catalogue does not name.
TEST(CatalogueTest, BuiltinSchemasAreExactlyTheCataloguesTargets) {
  for (Layout layout : kLayouts) {
    SCOPED_TRACE(layout == Layout::kDcr ? "dcr" : "legacy");
    std::set<std::string> named;
    std::vector<const Family*> families;
    for (const Family& f : Families()) families.push_back(&f);
    families.push_back(&CatchAll());
    for (const Family* f : families) {
      const std::string table = TableName(layout, *f);
      const std::string target = table.empty() ? "" : TargetFor(layout, table);
      const bool has = !target.empty() && azure::BuiltinSchemaFor(layout, target) != nullptr;
      EXPECT_EQ(has, HasBuiltinSchema(layout, *f)) << f->base << " -> " << target;
      if (has) named.insert(target);
    }
    const auto& builtin = layout == Layout::kDcr ? azure::BuiltinStreamSchemas() : azure::BuiltinLegacySchemas();
    std::set<std::string> compiled;
    for (const auto& [target, schema] : builtin) compiled.insert(target);
    EXPECT_EQ(compiled, named);
  }
}

}  // namespace
}  // namespace sg::citrix
