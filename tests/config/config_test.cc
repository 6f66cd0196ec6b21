#include "sentinel_gateway/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sentinel_gateway/citrix_import.h"

namespace sg::config {
namespace {

const char* kValid = R"(
[kafka]
brokers = "casnb-0.citrix.com:9094"
topic = "acme_default"
group_id = "acme_group"
username = "acme"
password = "${KAFKA_PW}"
ca_file = "certs/citrix-ca.pem"

[spool]
path = "/var/lib/sentinel-gateway/spool"
max_bytes = "20GiB"

[sentinel]
endpoint = "https://my-dce.eastus-1.ingest.monitor.azure.com"
dcr_immutable_id = "dcr-0123"
tenant_id = "tenant"
client_id = "client"
client_secret = "${CLIENT_SECRET}"

[delivery]
linger = "250ms"
backoff_cap = "5m"
)";

const std::map<std::string, std::string> kEnv = {{"KAFKA_PW", "kafka-secret-value"},
                                                 {"CLIENT_SECRET", "azure-secret-value"}};

Status ParseText(const std::string& text, GatewayConfig* c) {
  return Parse(text, "gateway.toml", "/etc/sentinel-gateway", c, &kEnv);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

TEST(ConfigTest, ValidConfigHasTypedValuesAndDefaults) {
  GatewayConfig c;
  Status s = ParseText(kValid, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.kafka.topics, std::vector<std::string>{"acme_default"});
  EXPECT_EQ(c.kafka.security_protocol, "SASL_SSL");
  EXPECT_EQ(c.kafka.sasl_mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(c.kafka.password.value, "kafka-secret-value");
  EXPECT_EQ(c.kafka.password.origin, "env KAFKA_PW");
  EXPECT_EQ(c.kafka.ca_file, "/etc/sentinel-gateway/certs/citrix-ca.pem");
  EXPECT_EQ(c.spool.max_bytes, 20ull << 30);
  EXPECT_EQ(c.delivery.linger, Millis(250));
  EXPECT_EQ(c.delivery.backoff_cap, Millis(300'000));
  EXPECT_EQ(c.routes.layout, "dcr");
  EXPECT_EQ(c.routes.catch_all, "CitrixAnalytics_other_V1_CL");
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
}

// Static membership: on by default with one group.instance.id per host and spool, the same on
// every load ("auto" says the same); "" turns it off; an explicit id is used as given.
// [routes.event_types] rules are tried in file order (the first match wins), so a prefix rule
// written after an exact one must come after it, whatever their alphabetical order.
TEST(ConfigTest, EventTypeRulesKeepTheFilesOrder) {
  GatewayConfig c;
  Status s = ParseText(std::string(kValid) + "\n[routes.event_types]\n\"zExact\" = \"T1_CL\"\n"
                                              "\"userProfile*\" = \"T2_CL\"\n\"userProfileUsage\" = \"T3_CL\"\n", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> order;
  for (const auto& [type, table] : c.routes.event_types) order.push_back(type);
  EXPECT_EQ(order, (std::vector<std::string>{"zExact", "userProfile*", "userProfileUsage"}));
}

TEST(ConfigTest, GroupInstanceIdDerivedFromHostAndSpoolUnlessSet) {
  GatewayConfig a, b, other, set, off, dflt;
  const std::string with_auto =
      Replace(kValid, "group_id = \"acme_group\"", "group_id = \"acme_group\"\ngroup_instance_id = \"auto\"");
  ASSERT_TRUE(ParseText(kValid, &dflt).ok());
  EXPECT_TRUE(dflt.kafka.group_instance_id_derived) << "static membership is the default";
  EXPECT_EQ(dflt.kafka.group_instance_id.rfind("sentinel-gateway-", 0), 0u) << dflt.kafka.group_instance_id;
  ASSERT_TRUE(ParseText(with_auto, &a).ok());
  EXPECT_EQ(dflt.kafka.group_instance_id, a.kafka.group_instance_id);
  ASSERT_TRUE(ParseText(with_auto, &b).ok());
  ASSERT_TRUE(ParseText(Replace(with_auto, "/var/lib/sentinel-gateway/spool", "/var/lib/sentinel-gateway/spool2"),
                        &other).ok());
  EXPECT_EQ(a.kafka.group_instance_id.rfind("sentinel-gateway-", 0), 0u) << a.kafka.group_instance_id;
  EXPECT_TRUE(a.kafka.group_instance_id_derived);
  EXPECT_EQ(a.kafka.group_instance_id, b.kafka.group_instance_id);
  EXPECT_NE(a.kafka.group_instance_id, other.kafka.group_instance_id);
  EXPECT_EQ(DefaultGroupInstanceId("edge1", "/spool"), DefaultGroupInstanceId("edge1", "/spool"));
  EXPECT_NE(DefaultGroupInstanceId("edge1", "/spool"), DefaultGroupInstanceId("edge2", "/spool"));
  EXPECT_EQ(DefaultGroupInstanceId("edge 1/x", "/spool").find_first_of(" /"), std::string::npos);
  EXPECT_NE(Redacted(a).find("group_instance_id = \"auto\"  # \"" + a.kafka.group_instance_id + "\""),
            std::string::npos);
  GatewayConfig again;
  ASSERT_TRUE(ParseText(Redacted(a), &again).ok());
  EXPECT_EQ(again.kafka.group_instance_id, a.kafka.group_instance_id);

  ASSERT_TRUE(ParseText(Replace(kValid, "group_id = \"acme_group\"", "group_id = \"acme_group\"\ngroup_instance_id = \"edge-a\""),
                        &set).ok());
  EXPECT_EQ(set.kafka.group_instance_id, "edge-a");
  EXPECT_FALSE(set.kafka.group_instance_id_derived);
  EXPECT_NE(Redacted(set).find("\ngroup_instance_id = \"edge-a\"\n"), std::string::npos);
  ASSERT_TRUE(ParseText(Replace(kValid, "group_id = \"acme_group\"", "group_id = \"acme_group\"\ngroup_instance_id = \"\""),
                        &off).ok());
  EXPECT_EQ(off.kafka.group_instance_id, "");  // static membership off
  GatewayConfig back;
  ASSERT_TRUE(ParseText(Redacted(off), &back).ok());
  EXPECT_EQ(back.kafka.group_instance_id, "");
}

TEST(ConfigTest, BuiltinSchemasDefaultOnAndCanBeTurnedOff) {
  GatewayConfig c;
  ASSERT_TRUE(ParseText(kValid, &c).ok());
  EXPECT_TRUE(c.routes.builtin_schemas);
  Status s = ParseText(std::string(kValid) + "\n[routes]\nbuiltin_schemas = false\n", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(c.routes.builtin_schemas);
  EXPECT_NE(Redacted(c).find("builtin_schemas = false"), std::string::npos);
}

TEST(ConfigTest, DcrResourceIdIsValidatedAndRoundTrips) {
  GatewayConfig c;
  ASSERT_TRUE(ParseText(kValid, &c).ok());
  EXPECT_TRUE(c.sentinel.dcr_resource_id.empty());
  EXPECT_EQ(c.sentinel.dcr_refresh, Millis(3'600'000));
  const std::string id =
      "/subscriptions/s1/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/citrix";
  const std::string with = Replace(kValid, "dcr_immutable_id = \"dcr-0123\"",
                                   "dcr_immutable_id = \"dcr-0123\"\ndcr_resource_id = \"" + id +
                                       "\"\nmanagement_endpoint = \"https://arm.example\"\ndcr_refresh = \"10m\"");
  Status s = ParseText(with, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.sentinel.dcr_resource_id, id);
  EXPECT_EQ(c.sentinel.management_endpoint, "https://arm.example");
  EXPECT_EQ(c.sentinel.dcr_refresh, Millis(600'000));
  GatewayConfig again;
  ASSERT_TRUE(ParseText(Redacted(c), &again).ok());
  EXPECT_EQ(again.sentinel.dcr_resource_id, id);
  s = ParseText(Replace(with, id, "dcr-0123"), &c);
  EXPECT_NE(s.message().find("sentinel.dcr_resource_id: must be /subscriptions/"), std::string::npos) << s.ToString();
  s = ParseText(Replace(with, "https://arm.example", "http://arm.example"), &c);
  EXPECT_NE(s.message().find("sentinel.management_endpoint"), std::string::npos) << s.ToString();
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKey) {
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "group_id = \"acme_group\"", "group_id = \"acme_group\"\npasword = \"x\""), &c);
  EXPECT_EQ(s.message(), "gateway.toml:6: kafka.pasword: unknown key");
  s = ParseText(std::string(kValid) + "\n[sentinal]\napi = \"x\"\n", &c);
  EXPECT_EQ(s.message(), "gateway.toml:25: sentinal: unknown key");
}

TEST(ConfigTest, WrongTypeNamesFileLineAndKey) {
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "max_bytes = \"20GiB\"", "max_bytes = \"20 parsecs\""), &c);
  EXPECT_NE(s.message().find("gateway.toml:12: spool.max_bytes:"), std::string::npos) << s.message();
  s = ParseText(Replace(kValid, "linger = \"250ms\"", "linger = 250"), &c);
  EXPECT_NE(s.message().find("gateway.toml:22: delivery.linger: must be a duration"), std::string::npos) << s.message();
  s = ParseText(Replace(kValid, "topic = \"acme_default\"", "topic = 7"), &c);
  EXPECT_NE(s.message().find("gateway.toml:4: kafka.topic:"), std::string::npos) << s.message();
}

TEST(ConfigTest, MissingRequiredValueNamesKey) {
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "dcr_immutable_id = \"dcr-0123\"", ""), &c);
  EXPECT_NE(s.message().find("sentinel.dcr_immutable_id: is required"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("gateway.toml:14:"), std::string::npos) << "points at the [sentinel] section: " << s.message();
  s = ParseText(Replace(kValid, "password = \"${KAFKA_PW}\"", ""), &c);
  EXPECT_NE(s.message().find("kafka.password: is required"), std::string::npos) << s.message();
}

TEST(ConfigTest, TomlSyntaxErrorHasLine) {
  GatewayConfig c;
  Status s = ParseText("[kafka]\nbrokers = \n", &c);
  EXPECT_EQ(s.message().rfind("gateway.toml:2:", 0), 0u) << s.message();
}

TEST(ConfigTest, UnsetEnvironmentVariableIsAnErrorWithoutValues) {
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "${CLIENT_SECRET}", "${NOT_SET_ANYWHERE}"), &c);
  EXPECT_EQ(s.message(),
            "gateway.toml:19: sentinel.client_secret: refers to environment variable NOT_SET_ANYWHERE, which is not set");
}

TEST(ConfigTest, SecretFromFileWithWarningWhenShared) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/sg-client-secret";
  { std::ofstream(path) << "file-secret-value\n"; }
  ::chmod(path.c_str(), 0644);
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "client_secret = \"${CLIENT_SECRET}\"", "client_secret_file = \"" + path + "\""), &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.sentinel.client_secret.value, "file-secret-value");
  EXPECT_EQ(c.sentinel.client_secret.origin, "file " + path);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("readable by others"), std::string::npos);
  EXPECT_EQ(c.warnings[0].find("file-secret-value"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  ASSERT_TRUE(ParseText(Replace(kValid, "client_secret = \"${CLIENT_SECRET}\"", "client_secret_file = \"" + path + "\""), &c).ok());
  EXPECT_TRUE(c.warnings.empty());
  s = ParseText(Replace(kValid, "client_secret = \"${CLIENT_SECRET}\"",
                        "client_secret = \"x\"\nclient_secret_file = \"" + path + "\""), &c);
  EXPECT_NE(s.message().find("not several"), std::string::npos) << s.message();
  std::remove(path.c_str());
}

TEST(ConfigTest, InlineSecretInReadableFileWarns) {
  std::string path = ::testing::TempDir() + "/sg-gateway.toml";
  { std::ofstream(path) << Replace(kValid, "${KAFKA_PW}", "inline-kafka-pw"); }
  ::chmod(path.c_str(), 0644);
  GatewayConfig c;
  Status s = Load(path, &c, &kEnv);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find(path), std::string::npos);
  EXPECT_EQ(c.warnings[0].find("inline-kafka-pw"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ConfigTest, RedactedOutputHidesEverySecretAndParsesBack) {
  GatewayConfig c;
  std::string text = Replace(kValid, "${KAFKA_PW}", "inline-kafka-pw");
  text += "\n[kafka.librdkafka]\n\"sasl.password\" = \"raw-secret\"\n\"fetch.max.bytes\" = 1048576\n"
          "\"ssl.key.pem\" = \"-----BEGIN PRIVATE KEY-----pem-body\"\n"
          "\"sasl.oauthbearer.config\" = \"principal=gw oauth-cfg-secret\"\n"
          "\"ssl.keystore.password\" = \"keystore-pw\"\n";
  ASSERT_TRUE(ParseText(text, &c).ok());
  std::string out = Redacted(c);
  // check-config printed ssl.key.pem before: two lists decided what is secret (ingest's and
  // this one) and disagreed; sg::IsSecretKey is now the only one.
  for (const char* secret : {"inline-kafka-pw", "azure-secret-value", "raw-secret", "pem-body", "oauth-cfg-secret",
                             "keystore-pw"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " leaked:\n" << out;
  }
  EXPECT_NE(out.find("password = \"<redacted: inline>\""), std::string::npos) << out;
  EXPECT_NE(out.find("client_secret = \"<redacted: env CLIENT_SECRET>\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"fetch.max.bytes\" = \"1048576\""), std::string::npos) << out;
  GatewayConfig back;
  Status s = ParseText(out, &back);
  EXPECT_TRUE(s.ok()) << "the redacted output is itself a valid configuration: " << s.ToString();
  EXPECT_EQ(back.spool.max_bytes, c.spool.max_bytes);
  EXPECT_EQ(back.delivery.linger, c.delivery.linger);
}

// Issue 12 item 7: a spool smaller than one merged retry append (two ingest batches, each full plus
// the event that took it past its limit) would answer Full for ever, even empty; the check refuses
// it with the reason.
TEST(ConfigTest, SpoolSmallerThanOneAppendIsRefusedWithTheReason) {
  GatewayConfig c;
  // 2 x (kafka.max_batch_bytes 4 MiB (default) + one event of up to 1,000,000 bytes).
  Status s = ParseText(Replace(kValid, "max_bytes = \"20GiB\"", "max_bytes = \"8MiB\""), &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("spool.max_bytes: must be at least 10388608"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("kafka.max_batch_bytes"), std::string::npos) << s.message();
  EXPECT_TRUE(ParseText(Replace(kValid, "max_bytes = \"20GiB\"", "max_bytes = 10388608"), &c).ok());
  // A smaller ingest batch makes a small spool possible.
  s = ParseText(Replace(Replace(kValid, "max_bytes = \"20GiB\"", "max_bytes = \"4MiB\""), "[kafka]\n",
                        "[kafka]\nmax_batch_bytes = \"1MiB\"\n"),
                &c);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(ConfigTest, SizesAndDurations) {
  uint64_t b = 0;
  ASSERT_TRUE(ParseSize("512MB", &b).ok());
  EXPECT_EQ(b, 512'000'000u);
  ASSERT_TRUE(ParseSize("1KiB", &b).ok());
  EXPECT_EQ(b, 1024u);
  ASSERT_TRUE(ParseSize("77", &b).ok());
  EXPECT_EQ(b, 77u);
  EXPECT_FALSE(ParseSize("GiB", &b).ok());
  EXPECT_FALSE(ParseSize("99999999999999999999TiB", &b).ok());
  Millis d;
  ASSERT_TRUE(ParseDuration("2h", &d).ok());
  EXPECT_EQ(d, Millis(7'200'000));
  EXPECT_FALSE(ParseDuration("5", &d).ok());
  EXPECT_FALSE(ParseDuration("5 minutes", &d).ok());
}

TEST(ConfigTest, DataCollectorNeedsWorkspaceAndKeyAndPicksLegacyTables) {
  std::string text = R"(
[kafka]
brokers = "b:9094"
topic = "t"
group_id = "g"
security_protocol = "PLAINTEXT"
[sentinel]
api = "data_collector"
workspace_id = "11111111-2222-3333-4444-555555555555"
)";
  GatewayConfig c;
  Status s = ParseText(text, &c);
  EXPECT_NE(s.message().find("sentinel.shared_key: is required"), std::string::npos) << s.message();
  ASSERT_TRUE(ParseText(text + "shared_key = \"${CLIENT_SECRET}\"\n", &c).ok());
  EXPECT_EQ(c.routes.layout, "legacy");
  EXPECT_EQ(c.routes.catch_all, "CitrixAnalytics_other_CL");
}

TEST(ConfigTest, PlainHttpEndpointIsRefused) {
  GatewayConfig c;
  Status s = ParseText(Replace(kValid, "https://my-dce", "http://my-dce"), &c);
  EXPECT_NE(s.message().find("sentinel.endpoint: must be an https:// URL"), std::string::npos) << s.message();
}

std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(SG_TESTDATA_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CitrixImportTest, JksPipelineBecomesAGatewayConfig) {
  CitrixImport imp;
  Status s = ImportCitrixLogstash(ReadTestData("citrix-logstash-jks.conf"), "citrix.conf",
                                  "password_file = \"citrix-kafka.password\"", &imp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(imp.password, "S3cr3t-Pa55");
  EXPECT_EQ(imp.toml.find("S3cr3t-Pa55"), std::string::npos) << "the password stays out of the TOML";
  EXPECT_EQ(imp.toml.find("changeit-truststore"), std::string::npos);
  std::string notes;
  for (const auto& n : imp.notes) notes += n + "\n";
  EXPECT_EQ(notes.find("changeit-truststore"), std::string::npos) << notes;
  EXPECT_NE(notes.find("keytool -list -rfc -keystore /etc/logstash/ssl/truststore.jks -storetype JKS"), std::string::npos) << notes;
  EXPECT_NE(notes.find("decorate_events"), std::string::npos) << notes;
  EXPECT_NE(notes.find("Log-Type 'CitrixAnalytics'"), std::string::npos) << notes;
  EXPECT_NE(notes.find("filter section"), std::string::npos) << notes;
  // The legacy output became the [sentinel] section: workspace id, and the key kept out of the TOML.
  EXPECT_EQ(imp.shared_key, "c2hhcmVkLWtleQ==");
  EXPECT_EQ(imp.toml.find("c2hhcmVkLWtleQ=="), std::string::npos) << "the workspace key stays out of the TOML";
  // The result is a complete gateway configuration: check-config accepts it as it is.
  std::string dir = ::testing::TempDir();
  { std::ofstream(dir + "/citrix-kafka.password") << imp.password; }
  GatewayConfig c;
  std::map<std::string, std::string> env = {{"SENTINEL_SHARED_KEY", imp.shared_key}};
  s = Parse(imp.toml, "imported.toml", dir, &c, &env);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << imp.toml;
  EXPECT_EQ(c.sentinel.api, "data_collector");
  EXPECT_EQ(c.sentinel.workspace_id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(c.sentinel.shared_key.value, "c2hhcmVkLWtleQ==");
  EXPECT_EQ(c.kafka.brokers, "casnb-0.citrix.com:9094,casnb-1.citrix.com:9094,casnb-2.citrix.com:9094");
  EXPECT_EQ(c.kafka.topics, std::vector<std::string>{"acmecorpxyz_default"});
  EXPECT_EQ(c.kafka.group_id, "acmecorpxyz_default_group");
  EXPECT_EQ(c.kafka.username, "acme-export");
  EXPECT_EQ(c.kafka.password.value, "S3cr3t-Pa55");
  EXPECT_EQ(c.kafka.ca_file, (std::filesystem::path(dir) / "citrix-ca.pem").lexically_normal().string());
  std::remove((dir + "/citrix-kafka.password").c_str());
}

// The DCR-based Sentinel output of the pipeline being replaced becomes the Logs Ingestion side:
// tenant, app, secret (to the caller's 0600 file), endpoint and DCR, so check-config accepts it.
TEST(CitrixImportTest, DcrSentinelOutputBecomesTheLogsIngestionSection) {
  const std::string input = R"(input { kafka {
  bootstrap_servers => "casnb-0.citrix.com:9094"
  topics => ["t"]
  group_id => "g"
  sasl_jaas_config => "org.apache.kafka.common.security.scram.ScramLoginModule required username='u' password='p';"
  ssl_truststore_location => "/etc/citrix/ca.pem"
} }
output {
  microsoft-sentinel-log-analytics-logstash-output-plugin {
    client_app_Id => "00000000-0000-0000-0000-0000000000bb"
    client_app_secret => "app-s3cret"
    tenant_id => "00000000-0000-0000-0000-0000000000aa"
    data_collection_endpoint => "https://my-dce-abcd.eastus-1.ingest.monitor.azure.com"
    dcr_immutable_id => "dcr-0123456789abcdef0123456789abcdef"
    dcr_stream_name => "Custom-CitrixAnalytics_CL"
    create_sample_file => false
  }
}
)";
  ImportSecretRefs refs;
  refs.password = "password_file = \"citrix-kafka.password\"";
  refs.client_secret = "client_secret_file = \"sentinel-client.secret\"";
  CitrixImport imp;
  Status s = ImportCitrixLogstash(input, "dcr.conf", refs, &imp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(imp.client_secret, "app-s3cret");
  EXPECT_EQ(imp.toml.find("app-s3cret"), std::string::npos) << imp.toml;
  std::string notes;
  for (const auto& n : imp.notes) notes += n + "\n";
  EXPECT_NE(notes.find("stream 'Custom-CitrixAnalytics_CL' (line 15)"), std::string::npos) << notes;
  EXPECT_NE(notes.find("Ignored Sentinel output setting 'create_sample_file' (line 16)"), std::string::npos) << notes;
  std::string dir = ::testing::TempDir() + "/dcr-import";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/citrix-kafka.password") << imp.password << "\n"; }
  { std::ofstream(dir + "/sentinel-client.secret") << imp.client_secret << "\n"; }
  GatewayConfig c;
  std::map<std::string, std::string> env;
  s = Parse(imp.toml, "imported.toml", dir, &c, &env);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << imp.toml;
  EXPECT_EQ(c.sentinel.api, "logs_ingestion");
  EXPECT_EQ(c.sentinel.endpoint, "https://my-dce-abcd.eastus-1.ingest.monitor.azure.com");
  EXPECT_EQ(c.sentinel.dcr_immutable_id, "dcr-0123456789abcdef0123456789abcdef");
  EXPECT_EQ(c.sentinel.tenant_id, "00000000-0000-0000-0000-0000000000aa");
  EXPECT_EQ(c.sentinel.client_id, "00000000-0000-0000-0000-0000000000bb");
  EXPECT_EQ(c.sentinel.client_secret.value, "app-s3cret");
  std::filesystem::remove_all(dir);

  // A secret Logstash read from its environment or keystore stays a reference; a managed
  // identity needs no app; two Sentinel outputs are one too many.
  std::string variable = input;
  variable.replace(variable.find("\"app-s3cret\""), 12, "\"${APP_SECRET}\"");
  ASSERT_TRUE(ImportCitrixLogstash(variable, "dcr.conf", refs, &imp).ok());
  EXPECT_TRUE(imp.client_secret.empty());
  EXPECT_NE(imp.toml.find("client_secret = \"${APP_SECRET}\""), std::string::npos) << imp.toml;
  std::string mi = input;
  mi.replace(mi.find("create_sample_file => false"), 27, "managed_identity => true");
  ASSERT_TRUE(ImportCitrixLogstash(mi, "dcr.conf", refs, &imp).ok());
  EXPECT_NE(imp.toml.find("managed_identity = true"), std::string::npos) << imp.toml;
  EXPECT_EQ(imp.toml.find("client_id"), std::string::npos) << imp.toml;
  std::string two = input + "output { microsoft-logstash-output-azure-loganalytics { workspace_id => \"w\" } }\n";
  s = ImportCitrixLogstash(two, "dcr.conf", refs, &imp);
  EXPECT_NE(s.message().find("dcr.conf:19: more than one Microsoft Sentinel output"), std::string::npos) << s.message();
}

TEST(CitrixImportTest, PemTruststoreIsUsedDirectly) {
  CitrixImport imp;
  ASSERT_TRUE(ImportCitrixLogstash(ReadTestData("citrix-logstash-pem.conf"), "eu.conf", "password = \"${PW}\"", &imp).ok());
  EXPECT_NE(imp.toml.find("ca_file = \"/etc/citrix/ca-eu.pem\""), std::string::npos) << imp.toml;
  EXPECT_NE(imp.toml.find("session_timeout = \"60000ms\""), std::string::npos) << imp.toml;
  EXPECT_NE(imp.toml.find("topic = [\"tenant_eu\"]"), std::string::npos) << imp.toml;
  EXPECT_EQ(imp.password, "eu-pass");
}

// sasl_jaas_config as Java's JAAS parser reads it (Kafka's JaasConfig: a StreamTokenizer whose
// quote characters are ' and ", with backslash escapes, `//` and `/* */` comments, and bare words
// as values). Logstash's own documentation writes single quotes inside a double-quoted string.
TEST(CitrixImportTest, JaasLineInEveryQuotingJavaAccepts) {
  auto pipeline = [](const std::string& logstash_value) {
    return "input { kafka {\n bootstrap_servers => \"b:9094\"\n topics => [\"t\"]\n sasl_mechanism => \"SCRAM-SHA-256\"\n"
           " sasl_jaas_config => " + logstash_value + "\n} }\n";
  };
  struct Case {
    std::string value, user, password;
  } cases[] = {
      // Logstash's documentation: single quotes inside a double-quoted string.
      {R"("org.apache.kafka.common.security.scram.ScramLoginModule required username='auser'  password='apassword';")",
       "auser", "apassword"},
      // Double quotes inside single quotes (what Citrix's file has).
      {R"('org.apache.kafka.common.security.scram.ScramLoginModule required username="u1" password="p1";')", "u1", "p1"},
      // Bare words, no spaces around `=`, a comment, and the other order.
      {R"('org.apache.kafka.common.security.scram.ScramLoginModule required /* c */ password=pw_2 username=user-2;')",
       "user-2", "pw_2"},
      // Escapes inside a quoted value, a quote of the other kind inside, and spaces.
      // (Logstash keeps backslashes as written: config.support_escapes is off by default.)
      {R"('org.apache.kafka.common.security.scram.ScramLoginModule required username="u 3" password="a\"b\'c\\d";')",
       "u 3", R"(a"b'c\d)"},
  };
  for (const auto& c : cases) {
    CitrixImport imp;
    Status s = ImportCitrixLogstash(pipeline(c.value), "jaas.conf", "password_file = \"p\"", &imp);
    ASSERT_TRUE(s.ok()) << c.value << ": " << s.ToString();
    EXPECT_EQ(imp.password, c.password) << c.value;
    EXPECT_NE(imp.toml.find("username = \"" + c.user + "\""), std::string::npos) << c.value << "\n" << imp.toml;
  }
  // What Java refuses is refused, by line, without the secret.
  for (const std::string bad : {
           R"("org.apache.kafka.common.security.scram.ScramLoginModule required username='u' password='s3cret'")",
           R"("org.apache.kafka.common.security.scram.ScramLoginModule username='u' password='s3cret';")",
           R"("org.apache.kafka.common.security.scram.ScramLoginModule required username='u' password=;")",
           R"("org.apache.kafka.common.security.scram.ScramLoginModule required username='u' password='s3cret;")",
           R"("org.apache.kafka.common.security.scram.ScramLoginModule required username='u';")"}) {
    CitrixImport imp;
    Status s = ImportCitrixLogstash(pipeline(bad), "jaas.conf", "", &imp);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("jaas.conf:5: sasl_jaas_config"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s.message();
  }
}

TEST(CitrixImportTest, BrokenPipelinesGiveLineNumbers) {
  CitrixImport imp;
  Status s = ImportCitrixLogstash("input {\n kafka {\n topics => [\"t\"]\n }\n}\n", "x.conf", "", &imp);
  EXPECT_EQ(s.message(), "x.conf:2: the kafka input has no bootstrap_servers");
  s = ImportCitrixLogstash("input {\n kafka {\n bootstrap_servers => \"b:1\"\n", "y.conf", "", &imp);
  EXPECT_NE(s.message().find("y.conf:4: unexpected end of file"), std::string::npos) << s.message();
  s = ImportCitrixLogstash("output { stdout {} }", "z.conf", "", &imp);
  EXPECT_NE(s.message().find("no `input { kafka { ... } }`"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sg::config

namespace sg::config {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Issue 13: without [spool] path, the packaged unit's StateDirectory= ($STATE_DIRECTORY) holds the
// spool; the configuration's directory (/etc, read-only under ProtectSystem=strict) never does.
TEST(ConfigTest, SpoolDefaultsToSystemdsStateDirectory) {
  const std::string text = Replace(kValid, "path = \"/var/lib/sentinel-gateway/spool\"\n", "");
  ASSERT_EQ(text.find("/var/lib/sentinel-gateway/spool"), std::string::npos) << "kValid sets no other path";
  std::map<std::string, std::string> env = {{"KAFKA_PW", "p"}, {"CLIENT_SECRET", "s"},
                                            {"STATE_DIRECTORY", "/var/lib/sentinel-gateway:/var/lib/other"}};
  GatewayConfig c;
  Status s = Parse(text, "gateway.toml", "/etc/sentinel-gateway", &c, &env);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.spool.path, "/var/lib/sentinel-gateway/spool");
  env.erase("STATE_DIRECTORY");
  GatewayConfig beside;
  s = Parse(text, "gateway.toml", "/etc/sentinel-gateway", &beside, &env);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(beside.spool.path, "/etc/sentinel-gateway/spool");
}

// Issue 13: secrets as systemd credentials. The unit's LoadCredential= copies each secret into
// $CREDENTIALS_DIRECTORY (a per-service tmpfs); `*_credential` names the file there.
class CredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/sg-credentials-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    Write("kafka-password", "cred-kafka-secret\n");
    Write("client-secret", "cred-azure-secret");
    Write("shared-key", "Y3JlZC1zaGFyZWQta2V5\n");
    env_ = {{"CREDENTIALS_DIRECTORY", dir_}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& value) {
    const std::string path = dir_ + "/" + name;
    { std::ofstream(path) << value; }
    ::chmod(path.c_str(), 0400);  // as systemd leaves them
  }
  static std::string WithCredentials(std::string text) {
    text = Replace(text, "password = \"${KAFKA_PW}\"", "password_credential = \"kafka-password\"");
    return Replace(text, "client_secret = \"${CLIENT_SECRET}\"", "client_secret_credential = \"client-secret\"");
  }
  Status ParseWith(const std::string& text, GatewayConfig* c) {
    return Parse(text, "gateway.toml", "/etc/sentinel-gateway", c, &env_);
  }
  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(CredentialTest, SecretsAreReadFromCredentialsDirectory) {
  GatewayConfig c;
  Status s = ParseWith(WithCredentials(kValid), &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.kafka.password.value, "cred-kafka-secret");  // trailing newline dropped, as for _file
  EXPECT_EQ(c.kafka.password.origin, "credential kafka-password");
  EXPECT_EQ(c.sentinel.client_secret.value, "cred-azure-secret");
  EXPECT_EQ(c.sentinel.client_secret.origin, "credential client-secret");
  EXPECT_TRUE(c.warnings.empty()) << c.warnings[0];
  const std::string out = Redacted(c);
  EXPECT_EQ(out.find("cred-kafka-secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("cred-azure-secret"), std::string::npos) << out;
  EXPECT_NE(out.find("password = \"<redacted: credential kafka-password>\""), std::string::npos) << out;

  std::string legacy = Replace(WithCredentials(kValid), "[sentinel]\n", "[sentinel]\napi = \"data_collector\"\n"
                               "workspace_id = \"ws\"\nshared_key_credential = \"shared-key\"\n");
  GatewayConfig dc;
  s = ParseWith(legacy, &dc);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(dc.sentinel.shared_key.value, "Y3JlZC1zaGFyZWQta2V5");
  EXPECT_EQ(dc.sentinel.shared_key.origin, "credential shared-key");
}

TEST_F(CredentialTest, WithoutCredentialsDirectoryTheErrorSaysWhy) {
  env_.erase("CREDENTIALS_DIRECTORY");
  GatewayConfig c;
  Status s = ParseWith(WithCredentials(kValid), &c);
  EXPECT_EQ(s.message(),
            "gateway.toml:7: kafka.password_credential: names credential kafka-password, but $CREDENTIALS_DIRECTORY "
            "is not set (the unit's LoadCredential= sets it; outside systemd set it to the directory holding "
            "kafka-password)");
}

TEST_F(CredentialTest, MissingOrEmptyCredentialNamesFileLineKeyAndPath) {
  std::filesystem::remove(dir_ + "/client-secret");
  GatewayConfig c;
  Status s = ParseWith(WithCredentials(kValid), &c);
  EXPECT_EQ(s.message(), "gateway.toml:19: sentinel.client_secret_credential: cannot read credential client-secret (" +
                             dir_ + "/client-secret)");
  // The unit's SetCredential= default: LoadCredential= found no file, systemd wrote an empty one.
  Write("client-secret", "");
  s = ParseWith(WithCredentials(kValid), &c);
  EXPECT_EQ(s.message(), "gateway.toml:19: sentinel.client_secret_credential: credential client-secret (" + dir_ +
                             "/client-secret) is empty");
}

TEST_F(CredentialTest, NameIsNotAPathAndExcludesTheOtherForms) {
  GatewayConfig c;
  Status s = ParseWith(Replace(WithCredentials(kValid), "\"kafka-password\"", "\"../kafka-password\""), &c);
  EXPECT_EQ(s.message(), "gateway.toml:7: kafka.password_credential: must be a credential name (a file name in "
                         "$CREDENTIALS_DIRECTORY, no '/')");
  s = ParseWith(Replace(kValid, "password = \"${KAFKA_PW}\"",
                        "password = \"inline-pw\"\npassword_credential = \"kafka-password\""), &c);
  EXPECT_EQ(s.message(), "gateway.toml:8: kafka.password_credential: give one of password, password_file or "
                         "password_credential, not several");
  EXPECT_EQ(s.message().find("inline-pw"), std::string::npos);
}

TEST_F(CredentialTest, CredentialReadableByOthersWarnsWithoutTheValue) {
  ::chmod((dir_ + "/kafka-password").c_str(), 0644);
  GatewayConfig c;
  ASSERT_TRUE(ParseWith(WithCredentials(kValid), &c).ok());
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find(dir_ + "/kafka-password (kafka.password_credential)"), std::string::npos)
      << c.warnings[0];
  EXPECT_EQ(c.warnings[0].find("cred-kafka-secret"), std::string::npos);
}

TEST(ExampleConfigTest, ParsesAndDocumentsEveryKey) {
  const std::string path = std::string(SG_SOURCE_DIR) + "/config/gateway.example.toml";
  // The example is the package's conffile: its secrets are the unit's credentials.
  const std::string creds = ::testing::TempDir() + "/sg-example-credentials-" + std::to_string(::getpid());
  std::filesystem::create_directories(creds);
  for (const char* name : {"sentinel-gateway.kafka-password", "sentinel-gateway.client-secret"}) {
    { std::ofstream(creds + "/" + name) << "secret"; }
    ::chmod((creds + "/" + name).c_str(), 0400);
  }
  std::map<std::string, std::string> env = {{"CREDENTIALS_DIRECTORY", creds}};
  GatewayConfig c;
  Status s = Load(path, &c, &env);
  std::filesystem::remove_all(creds);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.kafka.password.origin, "credential sentinel-gateway.kafka-password");
  EXPECT_EQ(c.sentinel.client_secret.origin, "credential sentinel-gateway.client-secret");
  const std::string example = ReadFile(path);
  std::istringstream redacted(Redacted(c));
  std::string line;
  while (std::getline(redacted, line)) {
    size_t eq = line.find(" = ");
    if (line.empty() || line[0] == '#' || line[0] == '[' || line[0] == '"' || eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    // A secret is documented by the form the example uses (the packaged unit's credential).
    const bool documented = example.find("\n" + key + " = ") != std::string::npos ||
                            example.find("\n" + key + "_credential = ") != std::string::npos;
    EXPECT_TRUE(documented) << key << " is not documented in " << path;
  }
  // Its defaults are the program's defaults.
  GatewayConfig defaults;
  EXPECT_EQ(c.spool.max_bytes, defaults.spool.max_bytes);
  EXPECT_EQ(c.delivery.linger, defaults.delivery.linger);
  EXPECT_EQ(c.delivery.backoff_cap, defaults.delivery.backoff_cap);
  EXPECT_EQ(c.delivery.probe_interval, defaults.delivery.probe_interval);
  EXPECT_EQ(c.delivery.max_batch_bytes, defaults.delivery.max_batch_bytes);
  EXPECT_EQ(c.kafka.session_timeout, defaults.kafka.session_timeout);
  EXPECT_EQ(c.metrics.listen, defaults.metrics.listen);
}

}  // namespace
}  // namespace sg::config
