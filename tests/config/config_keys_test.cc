// The table of configuration keys (config_keys.h) against the code and the example file: a key in
// GatewayConfig without a row, a row the parser does not read or check-config does not print, or a
// key the example file does not document (or documents but the table lacks) fails here.
#include "sentinel_gateway/config_keys.h"

#include <cstddef>
#include <fstream>
#include <set>
#include <type_traits>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "sentinel_gateway/secret.h"

namespace sg::config {
namespace {

// The number of fields of an aggregate: how many initializers T{...} accepts (as Boost.PFR counts).
struct AnyField {
  template <class T>
  operator T&() const;  // never defined: only used in unevaluated contexts
};
template <class T, size_t... I>
constexpr bool InitializableWith(std::index_sequence<I...>) {
  return requires { T{(void(I), AnyField{})...}; };
}
template <class T, size_t N = 0>
constexpr size_t FieldCount() {
  if constexpr (!InitializableWith<T>(std::make_index_sequence<N + 1>())) {
    return N;
  } else {
    return FieldCount<T, N + 1>();
  }
}

size_t RowsIn(const std::string& section) {
  size_t n = 0;
  for (const KeyInfo& key : Keys()) n += key.section == section && (key.flags & kAlias) == 0;
  return n;
}

const void* Address(const FieldRef& field) {
  return std::visit([](auto* p) { return static_cast<const void*>(p); }, field);
}

std::string Dotted(const KeyInfo& key) { return std::string(key.section) + "." + key.name; }

// The fields of a section that derives from a stage's struct of settings (its first initializer
// is that base): the base's fields and its own.
template <class T, class Base>
constexpr size_t FieldCountWithBase() {
  static_assert(std::is_base_of_v<Base, T>);
  return FieldCount<Base>() + FieldCount<T>() - 1;
}

// Adding a field to one of the config structs (or to the stage structs they derive from) without a
// row in the table fails here. The fields that are no keys are named: GatewayConfig's source and
// warnings, KafkaConfig's group_instance_id_derived (how the parser filled group_instance_id).
TEST(KeyTableTest, EveryFieldOfGatewayConfigHasARow) {
  EXPECT_EQ(FieldCount<GatewayConfig>(), Sections().size() + 2);
  EXPECT_EQ((FieldCountWithBase<KafkaConfig, KafkaOptions>()), RowsIn("kafka") + 1);
  EXPECT_EQ(FieldCount<SpoolConfig>(), RowsIn("spool"));
  EXPECT_EQ((FieldCountWithBase<SentinelConfig, azure::AzureSettings>()), RowsIn("sentinel"));
  EXPECT_EQ(FieldCount<RoutesConfig>(), RowsIn("routes"));
  EXPECT_EQ((FieldCountWithBase<DeliveryConfig, deliver::DeliveryOptions>()), RowsIn("delivery"));
  EXPECT_EQ(FieldCount<MetricsConfig>(), RowsIn("metrics"));
  EXPECT_EQ(FieldCount<LogConfig>(), RowsIn("log"));
  EXPECT_EQ(Sections(), (std::vector<std::string>{"kafka", "spool", "sentinel", "routes", "delivery", "metrics", "log"}));

  // Each row points into its own section's struct, and no two rows (but an alias) share a field.
  GatewayConfig c;
  const std::map<std::string, std::pair<const void*, size_t>> structs = {
      {"kafka", {&c.kafka, sizeof c.kafka}},       {"spool", {&c.spool, sizeof c.spool}},
      {"sentinel", {&c.sentinel, sizeof c.sentinel}}, {"routes", {&c.routes, sizeof c.routes}},
      {"delivery", {&c.delivery, sizeof c.delivery}}, {"metrics", {&c.metrics, sizeof c.metrics}},
      {"log", {&c.log, sizeof c.log}}};
  std::set<const void*> seen;
  const void* previous = nullptr;
  for (const KeyInfo& key : Keys()) {
    const void* at = Address(key.field(c));
    const auto& [begin, size] = structs.at(key.section);
    const char* b = static_cast<const char*>(begin);
    EXPECT_TRUE(at >= begin && static_cast<const char*>(at) < b + size) << Dotted(key) << " points outside [" << key.section << "]";
    if ((key.flags & kAlias) != 0) {
      EXPECT_EQ(at, previous) << Dotted(key) << ": an alias names the field of the row before it";
    } else {
      EXPECT_TRUE(seen.insert(at).second) << Dotted(key) << " shares its field with another row";
    }
    previous = at;
  }
}

TEST(KeyTableTest, EveryRowsFieldHasTheShapeOfItsType) {
  GatewayConfig c;
  for (const KeyInfo& key : Keys()) {
    const FieldRef f = key.field(c);
    bool shape = false;
    switch (key.type) {
      case KeyType::kString:
      case KeyType::kPath:
        shape = std::holds_alternative<std::string*>(f);
        break;
      case KeyType::kStringList:
        shape = std::holds_alternative<std::string*>(f) || std::holds_alternative<std::vector<std::string>*>(f);
        break;
      case KeyType::kBool: shape = std::holds_alternative<bool*>(f); break;
      case KeyType::kInteger:
        shape = std::holds_alternative<int*>(f) || std::holds_alternative<uint64_t*>(f);
        break;
      case KeyType::kNumber: shape = std::holds_alternative<double*>(f); break;
      case KeyType::kSize: shape = std::holds_alternative<uint64_t*>(f); break;
      case KeyType::kDuration: shape = std::holds_alternative<Millis*>(f); break;
      case KeyType::kSecret: shape = std::holds_alternative<Secret*>(f); break;
      case KeyType::kRawMap: shape = std::holds_alternative<std::map<std::string, std::string>*>(f); break;
      case KeyType::kStringMap:
        shape = std::holds_alternative<std::map<std::string, std::string>*>(f) ||
                std::holds_alternative<std::vector<std::pair<std::string, std::string>>*>(f);
        break;
      case KeyType::kPathMap: shape = std::holds_alternative<std::map<std::string, std::string>*>(f); break;
    }
    EXPECT_TRUE(shape) << Dotted(key) << ": its field does not have the shape of its type";
    const bool text = key.type == KeyType::kString || key.type == KeyType::kPath;
    if (key.choices != nullptr || (key.flags & kHttps) != 0) {
      EXPECT_TRUE(text) << Dotted(key);
    }
    if (key.type == KeyType::kInteger) {
      EXPECT_LT(key.min, key.max) << Dotted(key);
    }
    if (key.min != 0 && key.type != KeyType::kInteger) {
      EXPECT_TRUE(key.type == KeyType::kSize || key.type == KeyType::kDuration) << Dotted(key);
    }
    EXPECT_NE(std::string(key.doc), "") << Dotted(key) << " has no doc";
  }
}

// The table's secret column and the one secret rule (secret.h) agree, so check-config and ingest's
// messages cannot disagree about a gateway key.
TEST(KeyTableTest, SecretRowsAreWhatTheSecretRuleSays) {
  for (const KeyInfo& key : Keys()) {
    EXPECT_EQ(key.type == KeyType::kSecret, IsSecretKey(key.name)) << Dotted(key);
  }
}

// A section's sub-tables come after its plain keys, or Redacted() would print keys into them.
TEST(KeyTableTest, SubTablesComeLastInTheirSection) {
  std::string section;
  bool in_sub_table = false;
  for (const KeyInfo& key : Keys()) {
    if (key.section != section) {
      section = key.section;
      in_sub_table = false;
    }
    const bool sub = key.type == KeyType::kRawMap || key.type == KeyType::kStringMap || key.type == KeyType::kPathMap;
    EXPECT_FALSE(in_sub_table && !sub) << Dotted(key) << " follows a sub-table of [" << section << "]";
    in_sub_table = in_sub_table || sub;
  }
}

// A configuration that passes Validate, as section -> key -> TOML value.
using Doc = std::map<std::string, std::map<std::string, std::string>>;

Doc BaseDoc() {
  return {{"kafka",
           {{"brokers", "\"b:9094\""}, {"topic", "\"t\""}, {"group_id", "\"g\""}, {"username", "\"u\""},
            {"password", "\"${KAFKA_PW}\""}}},
          {"sentinel",
           {{"endpoint", "\"https://dce.example\""}, {"dcr_immutable_id", "\"dcr-1\""}, {"tenant_id", "\"t\""},
            {"client_id", "\"c\""}, {"client_secret", "\"${CLIENT_SECRET}\""}}}};
}

std::string Render(const Doc& doc) {
  std::string out;
  for (const auto& [section, keys] : doc) {
    out += "[" + section + "]\n";
    for (const auto& [key, value] : keys) out += key + " = " + value + "\n";
  }
  return out;
}

Status ParseDoc(const Doc& doc, GatewayConfig* c) {
  static const std::map<std::string, std::string> kEnv = {{"KAFKA_PW", "kafka-pw"}, {"CLIENT_SECRET", "client-pw"}};
  return Parse(Render(doc), "keys.toml", "/etc/sentinel-gateway", c, &kEnv);
}

// Values unlike the defaults (and unlike BaseDoc), for one row. Several for keys with choices: the
// first one that differs is taken.
std::vector<std::string> OtherValues(const KeyInfo& key, const GatewayConfig& base) {
  const std::string dotted = Dotted(key);
  if (dotted == "sentinel.dcr_resource_id") {
    return {"\"/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/d\""};
  }
  if (dotted == "metrics.listen") return {"\"0.0.0.0:9999\""};
  if (dotted == "kafka.sasl_mechanism") return {"\"PLAIN\""};
  if (key.choices != nullptr) {
    std::vector<std::string> out;
    std::string_view rest(key.choices);
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      out.push_back("\"" + std::string(rest.substr(0, bar)) + "\"");
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    return out;
  }
  const FieldRef f = FieldOf(key, base);
  switch (key.type) {
    case KeyType::kString: return {(key.flags & kHttps) != 0 ? "\"https://other.example\"" : "\"other-value\""};
    case KeyType::kPath: return {"\"/srv/other-path\""};
    case KeyType::kStringList: return {"[\"other-1:9092\", \"other-2:9092\"]"};
    case KeyType::kBool: return {*std::get<bool*>(f) ? "false" : "true"};
    case KeyType::kInteger: {
      const int64_t v = std::holds_alternative<int*>(f) ? *std::get<int*>(f) : static_cast<int64_t>(*std::get<uint64_t*>(f));
      return {std::to_string(v == key.min ? key.min + 1 : key.min)};
    }
    case KeyType::kNumber: return {fmt::format("{}", *std::get<double*>(f) + 0.05)};
    case KeyType::kSize: return {std::to_string(*std::get<uint64_t*>(f) + (1 << 20))};
    case KeyType::kDuration: return {"\"" + std::to_string(std::get<Millis*>(f)->count() + 1000) + "ms\""};
    case KeyType::kSecret: return {"\"other-inline-secret\""};
    case KeyType::kRawMap: return {"{ \"fetch.min.bytes\" = 2, \"sasl.password\" = \"raw-secret\" }"};
    case KeyType::kStringMap:
    case KeyType::kPathMap: return {"{ \"SomeTable_CL\" = \"other.json\" }"};
  }
  return {};
}

// Every row is read by the parser into its field and printed by Redacted(), secrets redacted.
TEST(KeyTableTest, EveryRowIsParsedIntoItsFieldAndPrinted) {
  GatewayConfig base;
  Status s = ParseDoc(BaseDoc(), &base);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Keys that another key needs in order to take a value other than the default.
  const std::map<std::string, std::map<std::string, std::string>> companions = {
      {"sentinel.api", {{"workspace_id", "\"w\""}, {"shared_key", "\"${CLIENT_SECRET}\""}}},
      {"sentinel.dedupe", {{"workspace_id", "\"w\""}}}};
  for (const KeyInfo& key : Keys()) {
    if ((key.flags & kAlias) != 0) continue;
    const std::string dotted = Dotted(key);
    bool read = false;
    for (const std::string& value : OtherValues(key, base)) {
      Doc doc = BaseDoc();
      if (key.type == KeyType::kSecret) doc[key.section].erase(key.name);
      doc[key.section][key.name] = value;
      if (auto it = companions.find(dotted); it != companions.end()) {
        for (const auto& [k, v] : it->second) doc[key.section][k] = v;
      }
      GatewayConfig c;
      s = ParseDoc(doc, &c);
      if (!s.ok() || ValueText(key, c) == ValueText(key, base)) continue;
      read = true;
      const std::string printed = Redacted(c);
      const std::string line = key.type == KeyType::kRawMap || key.type == KeyType::kStringMap ||
                                       key.type == KeyType::kPathMap
                                   ? "[" + dotted + "]\n" + ValueText(key, c)
                                   : std::string(key.name) + " = " + ValueText(key, c) + "\n";
      EXPECT_NE(printed.find(line), std::string::npos) << dotted << " is not printed:\n" << printed;
      for (const char* secret : {"other-inline-secret", "raw-secret", "kafka-pw", "client-pw"}) {
        EXPECT_EQ(printed.find(secret), std::string::npos) << dotted << ": " << secret << " leaked";
      }
      GatewayConfig back;
      static const std::map<std::string, std::string> kEnv;
      s = Parse(printed, "redacted.toml", "/etc/sentinel-gateway", &back, &kEnv);
      if (key.type != KeyType::kSecret) {
        // A redacted secret does not parse back to itself; every other value does.
        EXPECT_TRUE(s.ok()) << dotted << ": " << s.ToString();
        if (s.ok()) {
          EXPECT_EQ(ValueText(key, back), ValueText(key, c)) << dotted;
        }
      }
      break;
    }
    EXPECT_TRUE(read) << dotted << ": no value given in the file reached its field (last: " << s.ToString() << ")";
  }
}

TEST(KeyTableTest, AliasIsReadOnlyWhenTheKeyItStandsForIsAbsent) {
  Doc doc = BaseDoc();
  doc["kafka"].erase("topic");
  doc["kafka"]["topics"] = "[\"a\", \"b\"]";
  GatewayConfig c;
  ASSERT_TRUE(ParseDoc(doc, &c).ok());
  EXPECT_EQ(c.kafka.topics, (std::vector<std::string>{"a", "b"}));
  doc["kafka"]["topic"] = "\"t\"";
  ASSERT_TRUE(ParseDoc(doc, &c).ok());
  EXPECT_EQ(c.kafka.topics, std::vector<std::string>{"t"});
}

TEST(KeyTableTest, SingleKeyRulesComeFromTheTable) {
  GatewayConfig c;
  Doc doc = BaseDoc();
  doc["delivery"]["concurrency"] = "65";
  Status s = ParseDoc(doc, &c);
  EXPECT_NE(s.message().find("keys.toml:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(": delivery.concurrency: must be between 1 and 64"), std::string::npos) << s.message();
  doc = BaseDoc();
  doc["log"]["level"] = "\"loud\"";
  s = ParseDoc(doc, &c);
  EXPECT_NE(s.message().find(": log.level: must be trace, debug, info, warn or error"), std::string::npos) << s.message();
  doc = BaseDoc();
  doc["kafka"]["security_protocol"] = "\"sasl_ssl\"";  // case-insensitive
  EXPECT_TRUE(ParseDoc(doc, &c).ok());
  doc = BaseDoc();
  doc["sentinel"]["dcr_refresh"] = "\"999ms\"";
  s = ParseDoc(doc, &c);
  EXPECT_NE(s.message().find(": sentinel.dcr_refresh: must be at least 1s"), std::string::npos) << s.message();
  doc = BaseDoc();
  doc["kafka"].erase("group_id");
  s = ParseDoc(doc, &c);
  EXPECT_NE(s.message().find(": kafka.group_id: is required"), std::string::npos) << s.message();
}

// The example file (the package's conffile) sets every key of the table, in the form the table
// reads (a secret as key, key_file or key_credential), and no key the table lacks.
TEST(KeyTableTest, ExampleFileDocumentsEveryRowAndNoOtherKey) {
  const std::string path = std::string(SG_SOURCE_DIR) + "/config/gateway.example.toml";
  toml::table example;
  try {
    example = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    FAIL() << path << ": " << e.description();
  }
  std::set<std::string> rows;
  for (const KeyInfo& key : Keys()) {
    const std::string dotted = Dotted(key);
    rows.insert(dotted);
    if (key.type == KeyType::kSecret) {
      rows.insert(dotted + "_file");
      rows.insert(dotted + "_credential");
    }
    if ((key.flags & kAlias) != 0) continue;
    const toml::table* section = example[key.section].as_table();
    ASSERT_NE(section, nullptr) << path << " has no [" << key.section << "]";
    bool documented = section->contains(key.name);
    if (key.type == KeyType::kSecret) {
      documented = documented || section->contains(std::string(key.name) + "_file") ||
                   section->contains(std::string(key.name) + "_credential");
    }
    EXPECT_TRUE(documented) << dotted << " is not documented in " << path;
  }
  for (const auto& [section, node] : example) {
    ASSERT_TRUE(node.is_table()) << section.str();
    for (const auto& [key, value] : *node.as_table()) {
      const std::string dotted = std::string(section.str()) + "." + std::string(key.str());
      EXPECT_TRUE(rows.count(dotted)) << path << " documents " << dotted << ", which the table lacks";
    }
  }
}

}  // namespace
}  // namespace sg::config
