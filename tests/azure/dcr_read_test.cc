// The management-plane read of a DCR, against the emulator over real HTTPS (127.0.0.1, its test
// CA): the emulator serves the DCR it holds to a management-scope token and refuses what Azure
// refuses (a token of the other audience on either side, no Reader role, an unknown id); the
// gateway's DcrReader reads it with the right token; DcrCoverage says what a stream drops.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "emulator.h"
#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/azure/dcr_coverage.h"
#include "sentinel_gateway/azure/dcr_reader.h"
#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/azure/ingestion_client.h"

namespace sg::azure {
namespace {

using nlohmann::json;

const std::string kCcfDcr = std::string(SG_SOURCE_DIR) + "/tests/azure/testdata/ccf-CitrixAnalytics_DCR.json";
const std::string kOurDcr = std::string(SG_SOURCE_DIR) + "/config/azure/citrix-analytics-streams.json";

class DcrReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-dcr-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    eo_.tls_dir = dir_ + "/tls";
    eo_.threads = 8;
    eo_.dcr_id = "dcr-ccf";
  }
  void TearDown() override {
    if (emu_) emu_->Stop();
    std::filesystem::remove_all(dir_);
  }
  void Start(const std::string& schema) {
    eo_.schema_file = schema;
    ASSERT_TRUE(emulator::Emulator::Start(eo_, &emu_).ok());
  }
  AzureOptions Options() {
    AzureOptions a;
    a.endpoint = a.login_endpoint = emu_->base_url();
    a.dcr_immutable_id = eo_.dcr_id;
    a.tenant_id = eo_.tenant_id;
    a.client_id = eo_.client_id;
    a.client_secret = eo_.client_secret;
    a.ca_file = emu_->ca_file();
    a.gzip = false;  // JSON bodies, as these tests were written with
    return a;
  }
  // A token for `scope` from the emulator's Entra endpoint.
  std::string TokenFor(const std::string& scope) {
    AzureOptions a = Options();
    a.scope = scope;
    std::shared_ptr<TokenProvider> tokens;
    EXPECT_TRUE(NewTokenProvider(a, &tokens).ok());
    std::string t;
    Status s = tokens->GetToken(&t);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return t;
  }
  HttpResponse Get(const std::string& path_and_query, const std::string& token) {
    HttpClientOptions o;
    o.ca_file = emu_->ca_file();
    std::unique_ptr<HttpClient> http;
    EXPECT_TRUE(HttpClient::Create(o, &http).ok());
    HttpResponse r;
    EXPECT_TRUE(http->Get(emu_->base_url() + path_and_query, {"Authorization: Bearer " + token}, &r).ok());
    return r;
  }
  HttpResponse PostRows(const std::string& token) {
    HttpClientOptions o;
    o.ca_file = emu_->ca_file();
    std::unique_ptr<HttpClient> http;
    EXPECT_TRUE(HttpClient::Create(o, &http).ok());
    HttpResponse r;
    EXPECT_TRUE(http->Post(emu_->base_url() + "/dataCollectionRules/" + eo_.dcr_id +
                               "/streams/Custom-CitrixAnalytics_riskScoreChange_V1?api-version=2023-01-01",
                           {"Authorization: Bearer " + token, "Content-Type: application/json"},
                           R"([{"event_type":"riskScoreChange"}])", &r)
                    .ok());
    return r;
  }
  static std::string Code(const HttpResponse& r) {
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  std::string dir_;
  emulator::EmulatorOptions eo_;
  std::unique_ptr<emulator::Emulator> emu_;
};

TEST_F(DcrReadTest, ManagementReadReturnsTheDcrItHolds) {
  Start(kCcfDcr);
  const std::string mgmt = TokenFor("https://management.azure.com/.default");
  HttpResponse r = Get(eo_.dcr_resource_id + "?api-version=2023-03-11", mgmt);
  ASSERT_EQ(r.status, 200) << r.body;
  json dcr = json::parse(r.body);
  EXPECT_EQ(dcr["id"], eo_.dcr_resource_id);
  EXPECT_EQ(dcr["type"], "Microsoft.Insights/dataCollectionRules");
  EXPECT_EQ(dcr["properties"]["immutableId"], "dcr-ccf");
  EXPECT_EQ(dcr["properties"]["endpoints"]["logsIngestion"], emu_->base_url());
  EXPECT_EQ(dcr["properties"]["streamDeclarations"].size(), 7u);
  EXPECT_EQ(dcr["properties"]["dataFlows"].size(), 7u);
  // Resource ids are case-insensitive; another DCR is not found; api-version is required.
  std::string upper = eo_.dcr_resource_id;
  upper.replace(upper.find("Microsoft.Insights"), 18, "MICROSOFT.INSIGHTS");
  EXPECT_EQ(Get(upper + "?api-version=2023-03-11", mgmt).status, 200);
  HttpResponse other = Get("/subscriptions/1/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/x"
                           "?api-version=2023-03-11", mgmt);
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(Code(other), "ResourceNotFound");
  HttpResponse no_version = Get(eo_.dcr_resource_id, mgmt);
  EXPECT_EQ(no_version.status, 400);
  EXPECT_EQ(Code(no_version), "MissingApiVersionParameter");
}

TEST_F(DcrReadTest, TokensAreBoundToTheAudienceTheyWereAskedFor) {
  Start(kCcfDcr);
  const std::string mgmt = TokenFor("https://management.azure.com/.default");
  const std::string ingest = TokenFor("https://monitor.azure.com/.default");
  // Ingestion refuses a management token; the management read refuses an ingestion token.
  HttpResponse posted = PostRows(mgmt);
  EXPECT_EQ(posted.status, 401) << posted.body;
  EXPECT_EQ(Code(posted), "InvalidAudience");
  HttpResponse read = Get(eo_.dcr_resource_id + "?api-version=2023-03-11", ingest);
  EXPECT_EQ(read.status, 401) << read.body;
  EXPECT_EQ(Code(read), "InvalidAuthenticationTokenAudience");
  // Each works where it belongs.
  EXPECT_EQ(PostRows(ingest).status, 204);
  EXPECT_EQ(Get(eo_.dcr_resource_id + "?api-version=2023-03-11", mgmt).status, 200);
  // A managed identity's token is bound to the resource it named.
  HttpClientOptions o;
  o.ca_file = emu_->ca_file();
  std::unique_ptr<HttpClient> http;
  ASSERT_TRUE(HttpClient::Create(o, &http).ok());
  HttpResponse mi;
  ASSERT_TRUE(http->Get(emu_->base_url() + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" +
                            UrlEncode("https://management.azure.com/"),
                        {"Metadata: true"}, &mi)
                  .ok());
  ASSERT_EQ(mi.status, 200) << mi.body;
  json mij = json::parse(mi.body);
  EXPECT_EQ(mij["resource"], "https://management.azure.com/");
  const std::string mi_token = mij["access_token"];
  EXPECT_EQ(Get(eo_.dcr_resource_id + "?api-version=2023-03-11", mi_token).status, 200);
  EXPECT_EQ(PostRows(mi_token).status, 401);
}

TEST_F(DcrReadTest, WithoutReaderTheReadIs403AndTheReaderSaysRejected) {
  Start(kCcfDcr);
  ASSERT_TRUE(emu_->SetFaults(json{{"deny_dcr_read", true}}).ok());
  HttpResponse r = Get(eo_.dcr_resource_id + "?api-version=2023-03-11", TokenFor("https://management.azure.com/.default"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Code(r), "AuthorizationFailed");
  std::unique_ptr<DcrReader> reader;
  ASSERT_TRUE(DcrReader::Create(Options(), emu_->base_url(), eo_.dcr_resource_id, nullptr, &reader).ok());
  DeployedDcr dcr;
  Status s = reader->Read(&dcr);
  EXPECT_EQ(s.code(), Status::Code::kRejected) << s.ToString();
  EXPECT_NE(s.message().find("AuthorizationFailed"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("emu."), std::string::npos) << "no token in the message: " << s.ToString();
}

TEST_F(DcrReadTest, ReaderUsesTheManagementScopeAndParsesStreamsAndTransforms) {
  Start(kCcfDcr);
  std::unique_ptr<DcrReader> reader;
  ASSERT_TRUE(DcrReader::Create(Options(), emu_->base_url(), eo_.dcr_resource_id, nullptr, &reader).ok());
  EXPECT_EQ(reader->scope(), "https://management.azure.com/.default");
  DeployedDcr dcr;
  Status s = reader->Read(&dcr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(dcr.immutable_id, "dcr-ccf");
  EXPECT_EQ(dcr.streams.size(), 7u);
  ASSERT_EQ(dcr.streams.count("Custom-CitrixAnalytics_indicatorSummary_V1"), 1u);
  EXPECT_FALSE(dcr.streams["Custom-CitrixAnalytics_indicatorSummary_V1"].keep_undeclared);
  EXPECT_NE(dcr.transforms["Custom-CitrixAnalytics_indicatorSummary_V1"].find("where event_type"), std::string::npos);
  // A sovereign cloud's reader asks for that cloud's management audience.
  AzureOptions gov = Options();
  gov.cloud = Cloud::kUsGov;
  ASSERT_TRUE(DcrReader::Create(gov, "", eo_.dcr_resource_id, nullptr, &reader).ok());
  EXPECT_EQ(reader->scope(), "https://management.usgovcloudapi.net/.default");
  EXPECT_EQ(reader->url().rfind("https://management.usgovcloudapi.net/subscriptions/", 0), 0u) << reader->url();
}

// What the published CCF DCR does with the fields Citrix sends (our DCR declares them all).
TEST(DcrCoverageTest, TheCcfDcrDropsIndicatorVectorAndUsageCountersOursKeepsAll) {
  std::map<std::string, StreamSchema> ccf, ours;
  ASSERT_TRUE(LoadStreamSchemas(kCcfDcr, &ccf).ok());
  ASSERT_TRUE(LoadStreamSchemas(kOurDcr, &ours).ok());
  const std::set<std::string> skip = {"TimeGenerated", "AdditionalFields", "sg_event_id"};
  const auto& builtin = BuiltinStreamSchemas();
  std::map<std::string, FieldFate> fate;
  for (const auto& f : CompareStreams(builtin.at("Custom-CitrixAnalytics_indicatorSummary_V1"),
                                      &ccf.at("Custom-CitrixAnalytics_indicatorSummary_V1"), skip)) {
    fate[f.field] = f.fate;
  }
  EXPECT_EQ(fate["indicator_vector_id"], FieldFate::kLost);
  EXPECT_EQ(fate["indicator_vector_name"], FieldFate::kLost);
  EXPECT_EQ(fate["occurrence_details_event_count"], FieldFate::kLost);
  EXPECT_EQ(fate["indicator_name"], FieldFate::kDeclared);
  EXPECT_EQ(fate.count("TimeGenerated"), 0u);
  for (const auto& [stream, schema] : builtin) {
    for (const auto& f : CompareStreams(schema, &ours.at(stream), skip)) {
      EXPECT_EQ(f.fate, FieldFate::kDeclared) << stream << " " << f.field;
    }
  }
  // Without a stream, everything is lost; with a dynamic parent, the flattened fields land in it.
  EXPECT_EQ(CompareStreams(builtin.at("Custom-CitrixAnalytics_userProfile_V1"), nullptr, skip).front().fate,
            FieldFate::kLost);
  StreamSchema parent;
  parent.columns = {{"occurrence_details", ColumnType::kDynamic}, {"AdditionalFields", ColumnType::kDynamic},
                    {"version", ColumnType::kString}, {"cur_riskscore", ColumnType::kGuid}};
  StreamSchema citrix;
  citrix.columns = {{"occurrence_details_event_count", ColumnType::kLong}, {"version", ColumnType::kInt},
                    {"cur_riskscore", ColumnType::kInt}, {"new_field", ColumnType::kString}};
  std::map<std::string, FieldCoverage> by;
  for (auto& f : CompareStreams(citrix, &parent, {})) by[f.field] = f;
  EXPECT_EQ(by["occurrence_details_event_count"].fate, FieldFate::kDeclared);
  EXPECT_EQ(by["occurrence_details_event_count"].column, "occurrence_details");
  EXPECT_EQ(by["version"].fate, FieldFate::kDeclared);  // an int written as text
  EXPECT_EQ(by["cur_riskscore"].fate, FieldFate::kCatchAll);
  EXPECT_EQ(by["new_field"].fate, FieldFate::kCatchAll);
}

TEST(DcrResourceIdTest, ShapeIsChecked) {
  EXPECT_TRUE(IsDcrResourceId("/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/n"));
  EXPECT_TRUE(IsDcrResourceId("/subscriptions/s/resourcegroups/g/providers/microsoft.insights/datacollectionrules/n"));
  EXPECT_FALSE(IsDcrResourceId("dcr-0123"));
  EXPECT_FALSE(IsDcrResourceId("/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/dataCollectionEndpoints/n"));
  EXPECT_FALSE(IsDcrResourceId("/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/n/x"));
}

}  // namespace
}  // namespace sg::azure
