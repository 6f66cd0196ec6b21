// The Azure clients against the emulator over real HTTPS (127.0.0.1, the emulator's test CA):
// each check passes only if both the client and the emulator do what Azure documents.
#include <gtest/gtest.h>

#include <curl/curl.h>

#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/recorded_rows.h"
#include "emulator.h"
#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/azure/http_date.h"
#include "sentinel_gateway/azure/shared_key.h"
#include "sentinel_gateway/azure/ingestion_client.h"

namespace sg::azure {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class ClientEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-azure-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    eo_.tls_dir = dir_ + "/tls";
    eo_.threads = 8;
  }
  void TearDown() override {
    if (emu_) emu_->Stop();
    std::filesystem::remove_all(dir_);
  }
  void Start() { ASSERT_TRUE(emulator::Emulator::Start(eo_, &emu_).ok()); }

  AzureOptions Li() {
    AzureOptions a;
    a.endpoint = a.login_endpoint = emu_->base_url();
    a.dcr_immutable_id = "dcr-1";
    a.tenant_id = eo_.tenant_id;
    a.client_id = eo_.client_id;
    a.client_secret = eo_.client_secret;
    a.ca_file = emu_->ca_file();
    a.gzip = false;  // JSON bodies unless a test asks for gzip
    return a;
  }
  AzureOptions Dc() {
    AzureOptions a;
    a.api = Api::kDataCollector;
    a.workspace_id = eo_.workspace_id;
    a.shared_key = eo_.shared_key;
    a.data_collector_endpoint = emu_->base_url();
    a.ca_file = emu_->ca_file();
    return a;
  }
  std::unique_ptr<IngestionClient> Client(const AzureOptions& a) {
    std::shared_ptr<TokenProvider> tokens;
    EXPECT_TRUE(NewTokenProvider(a, &tokens).ok());
    std::unique_ptr<IngestionClient> c;
    Status s = NewIngestionClient(a, tokens, nullptr, &c);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return c;
  }

  std::string dir_;
  emulator::EmulatorOptions eo_;
  std::unique_ptr<emulator::Emulator> emu_;
};

TEST_F(ClientEmulatorTest, LogsIngestionAcceptsAndCountsRows) {
  Start();
  auto c = Client(Li());
  PostResult r = c->Post("Custom-T_V1", R"([{"a":1},{"a":2}])");
  EXPECT_EQ(r.http_status, 204) << r.Describe();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(emu_->Stats()["rows"]["T_V1_CL"], 2);
}

TEST_F(ClientEmulatorTest, GzipBodiesAreAccepted) {
  Start();
  auto a = Li();
  a.gzip = true;
  auto c = Client(a);
  EXPECT_EQ(c->Post("Custom-T_V1", R"([{"a":1}])").http_status, 204);
  EXPECT_EQ(emu_->Stats()["rows"]["T_V1_CL"], 1);
}

TEST_F(ClientEmulatorTest, BodyOverOneMebibyteIs413AndPermanent) {
  Start();
  auto c = Client(Li());
  std::string big = "[{\"a\":\"" + std::string(kLogsIngestionMaxBody, 'x') + "\"}]";
  PostResult r = c->Post("Custom-T_V1", big);
  EXPECT_EQ(r.http_status, 413);
  EXPECT_EQ(r.outcome, Outcome::kPermanent);
  EXPECT_EQ(r.error_code, "ContentLengthLimitExceeded");
  // Exactly at the limit is fine.
  std::string exact = "[{\"a\":\"" + std::string(kLogsIngestionMaxBody - 10, 'x') + "\"}]";
  ASSERT_EQ(exact.size(), kLogsIngestionMaxBody);
  EXPECT_EQ(c->Post("Custom-T_V1", exact).http_status, 204);
}

TEST_F(ClientEmulatorTest, NonArrayBodyAndBadStreamAre400) {
  Start();
  auto c = Client(Li());
  EXPECT_EQ(c->Post("Custom-T_V1", R"({"a":1})").http_status, 400);
  PostResult r = c->Post("NoPrefix", R"([{"a":1}])");
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.error_code, "InvalidStream");
}

TEST_F(ClientEmulatorTest, ThrottlingGives429WithRetryAfter) {
  eo_.rate_requests = 1;
  eo_.rate_window = 60s;
  Start();
  auto c = Client(Li());
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);
  PostResult r = c->Post("Custom-T_V1", "[{}]");
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.outcome, Outcome::kRetryable);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_GT(*r.retry_after, 50s);
  EXPECT_LE(*r.retry_after, 60s);
  // Coming straight back is an early retry, and the emulator says so.
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 429);
  EXPECT_EQ(emu_->Stats()["early_retries"], 1);
}

TEST_F(ClientEmulatorTest, ExpiredTokenIsRenewedAtOnce) {
  Start();
  auto c = Client(Li());
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);
  ASSERT_TRUE(emu_->SetFaults({{"expire_tokens", true}}).ok());
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);  // 401 -> new token -> 204
  json st = emu_->Stats();
  EXPECT_EQ(st["tokens_issued"], 2);
  EXPECT_EQ(st["requests"]["401"], 1);
}

TEST_F(ClientEmulatorTest, TokenIsRenewedAheadOfExpiresIn) {
  eo_.token_lifetime_s = 2;  // renewed after half its life when that is under 5 minutes
  Start();
  auto c = Client(Li());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (emu_->Stats()["tokens_issued"].get<int>() < 3 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);
    std::this_thread::sleep_for(50ms);  // pacing the requests, not synchronisation
  }
  json st = emu_->Stats();
  EXPECT_GE(st["tokens_issued"].get<int>(), 3) << st.dump();
  EXPECT_FALSE(st["requests"].contains("401")) << st.dump();  // never sent an expired token
}

TEST_F(ClientEmulatorTest, ManagedIdentityThroughConfigurableMetadataEndpoint) {
  Start();
  auto a = Li();
  a.managed_identity = true;
  a.imds_url = emu_->base_url() + "/metadata/identity/oauth2/token";
  a.client_secret.clear();
  auto c = Client(a);
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);
  EXPECT_EQ(emu_->Stats()["tokens_issued"], 1);
}

TEST_F(ClientEmulatorTest, DataCollectorSignatureIsChecked) {
  Start();
  auto c = Client(Dc());
  PostResult ok = c->Post("CitrixAnalytics_riskScoreChange", R"([{"a":1}])");
  EXPECT_EQ(ok.http_status, 200) << ok.Describe();
  EXPECT_EQ(emu_->Stats()["rows"]["CitrixAnalytics_riskScoreChange_CL"], 1);

  auto wrong = Dc();
  wrong.shared_key = "d3Jvbmcta2V5LXdyb25nLWtleQ==";
  PostResult r = Client(wrong)->Post("CitrixAnalytics_riskScoreChange", R"([{"a":1}])");
  EXPECT_EQ(r.http_status, 403);
  EXPECT_EQ(r.outcome, Outcome::kAuth);
  EXPECT_EQ(r.error_code, "InvalidAuthorization");
  EXPECT_EQ(r.Describe().find(wrong.shared_key), std::string::npos);

  PostResult bad_type = c->Post("Bad-Type!", R"([{"a":1}])");
  EXPECT_EQ(bad_type.http_status, 400);
  EXPECT_EQ(bad_type.error_code, "InvalidLogType");
  EXPECT_EQ(bad_type.outcome, Outcome::kAuth);  // request-level: holds the route
}

TEST_F(ClientEmulatorTest, DataCollectorTooLargeIs404) {
  Start();
  auto c = Client(Dc());
  std::string big = "[{\"a\":\"" + std::string(kDataCollectorMaxBody, 'x') + "\"}]";
  PostResult r = c->Post("T", big);
  EXPECT_EQ(r.http_status, 404);
  // The gateway never sends more than kDataCollectorMaxBody, so its 404 means a wrong URL.
  EXPECT_EQ(r.outcome, Outcome::kAuth);
}

// ---- the emulator behaves like Azure (docs/AZURE.md; each behaviour cites its source in
// emulator.cc) ----

// A raw HTTPS POST with curl: any request target, any header.
int RawPost(const std::string& base, const std::string& ca, const std::string& target,
            const std::vector<std::string>& headers, const std::string& body, std::string* out) {
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, (base + "/").c_str());
  curl_easy_setopt(curl, CURLOPT_REQUEST_TARGET, target.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  out->clear();
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t n, size_t m, void* ud) {
    static_cast<std::string*>(ud)->append(p, n * m);
    return n * m;
  });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return static_cast<int>(status);
}

class AzureFaithfulTest : public ClientEmulatorTest {
 protected:
  void StartWithSchema() {
    const std::string schema = dir_ + "/dcr.json";
    std::ofstream(schema) << json{{"Custom-T_V1",
                                   {{"columns", json::array({{{"name", "n"}, {"type", "int"}},
                                                             {{"name", "s"}, {"type", "string"}},
                                                             {{"name", "d"}, {"type", "dynamic"}},
                                                             {{"name", "TimeGenerated"}, {"type", "datetime"}}})}}}}
                                 .dump();
    eo_.schema_file = schema;
    eo_.record_file = dir_ + "/rows.jsonl";
    Start();
  }
  std::vector<json> Rows() {
    std::vector<json> out;
    sg::testing::ForEachRecord(eo_.record_file, [&](const json& j) { out.push_back(j["row"]); });
    return out;
  }
  std::string Token() {
    std::shared_ptr<TokenProvider> tokens;
    EXPECT_TRUE(NewTokenProvider(Li(), &tokens).ok());
    std::string t;
    EXPECT_TRUE(tokens->GetToken(&t).ok());
    return t;
  }
};

TEST_F(AzureFaithfulTest, MismatchedValuesAndUndeclaredKeysAre204AndDroppedAndCounted) {
  StartWithSchema();
  auto c = Client(Li());
  PostResult r = c->Post("Custom-T_V1",
                         R"([{"n":"seven","s":"ok","extra":1,"d":{"a":[1,{"b":2}]}},{"n":8,"d":[1,2]}])");
  EXPECT_EQ(r.http_status, 204) << r.Describe();
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], json::parse(R"({"s":"ok","d":{"a":[1,{"b":2}]}})"));  // whole in dynamic
  EXPECT_EQ(rows[1], json::parse(R"({"n":8,"d":[1,2]})"));
  json st = emu_->Stats();
  EXPECT_EQ(st["dropped"]["Custom-T_V1"]["mismatched_values"], 1) << st.dump();
  EXPECT_EQ(st["dropped"]["Custom-T_V1"]["undeclared_keys"], 1) << st.dump();
  EXPECT_EQ(st["dropped"]["Custom-T_V1"]["columns_dropped"], 2) << st.dump();
  ASSERT_EQ(st["log_errors"].size(), 2u) << st.dump();
  std::set<std::string> columns;
  for (const json& e : st["log_errors"]) columns.insert(e["Column"].get<std::string>());
  EXPECT_EQ(columns, (std::set<std::string>{"n", "extra"}));
  // Every drop, per column (log_errors keeps only the latest 100).
  EXPECT_EQ(st["dropped"]["Custom-T_V1"]["columns"], json::parse(R"({"n":1,"extra":1})")) << st.dump();
}

TEST_F(AzureFaithfulTest, TimeGeneratedOutsideTwoDaysBackToOneDayAheadIsTheReceiveTime) {
  StartWithSchema();
  auto c = Client(Li());
  const auto now = std::chrono::system_clock::now();
  auto iso = [](std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  };
  const std::string recent = iso(now - 47h), old = iso(now - 49h), ahead = iso(now + 25h);
  json body = json::array({{{"n", 1}, {"TimeGenerated", recent}}, {{"n", 2}, {"TimeGenerated", old}},
                           {{"n", 3}, {"TimeGenerated", ahead}}});
  ASSERT_EQ(c->Post("Custom-T_V1", body.dump()).http_status, 204);
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["TimeGenerated"], recent);
  const std::string today = iso(now).substr(0, 10);
  EXPECT_NE(rows[1]["TimeGenerated"], old);
  EXPECT_NE(rows[2]["TimeGenerated"], ahead);
  EXPECT_EQ(rows[1]["TimeGenerated"].get<std::string>().substr(0, 10), today) << rows[1].dump();
  EXPECT_EQ(emu_->Stats()["dropped"]["Custom-T_V1"]["time_generated_replaced"], 2);
}

TEST_F(AzureFaithfulTest, TheSizeCapIsOnTheBodyAsSentAndGzipCarriesMore) {
  Start();
  auto a = Li();
  a.gzip = true;
  auto c = Client(a);
  // 3 MiB of JSON that compresses well: within the cap as sent.
  json rows = json::array();
  for (size_t bytes = 0; bytes < 3 * 1024 * 1024; bytes += 1020) {
    rows.push_back({{"a", std::string(1000, 'x')}, {"i", rows.size()}});
  }
  PostResult r = c->Post("Custom-T_V1", rows.dump());
  EXPECT_EQ(r.http_status, 204) << r.Describe();
  EXPECT_EQ(emu_->Stats()["rows"]["T_V1_CL"], rows.size());
  // Over the cap as sent (random bytes do not compress): 413 with Azure's text and the size sent.
  std::string noise;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> printable('0', 'z');  // no quote among them
  while (noise.size() < 1'600'000) {
    const char ch = static_cast<char>(printable(rng));
    noise.push_back(ch == '\\' ? 'x' : ch);  // nor a backslash
  }
  std::string body = "[{\"a\":\"" + noise + "\"}]";
  std::string zipped;
  ASSERT_TRUE(GzipCompress(body, &zipped).ok());
  ASSERT_GT(zipped.size(), kLogsIngestionMaxBody);
  r = c->Post("Custom-T_V1", body);
  EXPECT_EQ(r.http_status, 413);
  EXPECT_EQ(r.error_text, "Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: " +
                              std::to_string(zipped.size()) + " bytes")
      << r.error_text;
}

// The emulator's refuse_inflated_above test device (not Azure behaviour): a gzip body within the
// cap as sent is refused for its decompressed size, worded as Azure's 413; uncompressed bodies
// and smaller ones pass, and the stats give the size of each accepted body as sent and inflated.
TEST_F(AzureFaithfulTest, TheInflatedSizeTestDeviceRefusesLargeGzipBodiesOnly) {
  Start();
  ASSERT_TRUE(emu_->SetFaults({{"refuse_inflated_above", 100'000}}).ok());
  auto a = Li();
  a.gzip = true;
  auto c = Client(a);
  json rows = json::array();
  for (int i = 0; i < 200; ++i) rows.push_back({{"a", std::string(1000, 'x')}, {"i", i}});
  const std::string body = rows.dump();
  PostResult r = c->Post("Custom-T_V1", body);
  EXPECT_EQ(r.http_status, 413);
  EXPECT_EQ(r.error_code, "ContentLengthLimitExceeded");
  EXPECT_NE(r.error_text.find("Provided content length: " + std::to_string(body.size())), std::string::npos)
      << r.error_text;
  json small = json::array({{{"a", 1}}});
  EXPECT_EQ(c->Post("Custom-T_V1", small.dump()).http_status, 204);
  a.gzip = false;
  EXPECT_EQ(Client(a)->Post("Custom-T_V1", body).http_status, 204);  // uncompressed: not the device's
  json stats = emu_->Stats();
  ASSERT_EQ(stats["accepted_requests"].size(), 2u);
  EXPECT_EQ(stats["accepted_requests"][0]["gzip"], true);
  EXPECT_EQ(stats["accepted_requests"][1]["gzip"], false);
  EXPECT_EQ(stats["accepted_requests"][1]["sent_bytes"], body.size());
  EXPECT_EQ(stats["accepted_requests"][1]["body_bytes"], body.size());
  EXPECT_EQ(stats["accepted_requests"][1]["rows"], 200);
  EXPECT_EQ(stats["largest_body_inflated"], body.size());
  EXPECT_FALSE(emu_->SetFaults({{"refuse_inflated_above", "lots"}}).ok());  // bad value: refused
}

TEST_F(AzureFaithfulTest, PreviewApiVersionAndAbsoluteFormTargetsAreAccepted) {
  Start();
  const std::string token = Token();
  const std::vector<std::string> headers = {"Authorization: Bearer " + token,
                                            "Content-Type: application/json"};
  std::string out;
  for (const char* version : {"2023-01-01", "2021-11-01-preview"}) {
    const std::string path = std::string("/dataCollectionRules/dcr-1/streams/Custom-T_V1?api-version=") + version;
    EXPECT_EQ(RawPost(emu_->base_url(), emu_->ca_file(), path, headers, "[{\"a\":1}]", &out), 204) << version << out;
    // RFC 9112 section 3.2.2: the absolute form, as Fluent Bit sends it.
    EXPECT_EQ(RawPost(emu_->base_url(), emu_->ca_file(), emu_->base_url() + path, headers, "[{\"a\":1}]", &out), 204)
        << version << out;
  }
  EXPECT_EQ(RawPost(emu_->base_url(), emu_->ca_file(),
                    "/dataCollectionRules/dcr-1/streams/Custom-T_V1?api-version=2020-01-01", headers,
                    "[{\"a\":1}]", &out),
            400);
  EXPECT_EQ(emu_->Stats()["rows"]["T_V1_CL"], 4);
}

TEST_F(AzureFaithfulTest, InjectedFaultsCarryAzuresErrorCodesAndUnknownFaultsAreRefused) {
  Start();
  ASSERT_TRUE(emu_->SetFaults({{"failure_rate", 1.0}, {"failure_status", 429}}).ok());
  PostResult r = Client(Li())->Post("Custom-T_V1", "[{}]");
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.error_code, "TooManyRequests");
  EXPECT_FALSE(emu_->SetFaults({{"no_such_fault", 1}}).ok());
  EXPECT_FALSE(emu_->SetFaults({{"outage", {{"stauts", 503}}}}).ok());
}

TEST_F(ClientEmulatorTest, RetryAfterIsCappedAtTenMinutes) {
  Start();
  auto c = Client(Li());
  ASSERT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);  // the token, before the outage
  ASSERT_TRUE(emu_->SetFaults({{"outage", {{"status", 503}, {"seconds", 60}, {"retry_after_s", 86400}}}}).ok());
  PostResult r = c->Post("Custom-T_V1", "[{}]");
  EXPECT_EQ(r.http_status, 503);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, std::chrono::milliseconds(600'000));
}

TEST_F(ClientEmulatorTest, ManagedIdentityTokensNeverGoThroughTheProxy) {
  Start();
  auto a = Li();
  a.managed_identity = true;
  a.imds_url = emu_->base_url() + "/metadata/identity/oauth2/token";
  a.client_secret.clear();
  a.proxy = "http://127.0.0.1:9";  // nothing listens there: a proxied request would fail
  std::shared_ptr<TokenProvider> tokens;
  ASSERT_TRUE(NewTokenProvider(a, &tokens).ok());
  std::string token;
  Status s = tokens->GetToken(&token);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(emu_->Stats()["tokens_issued"], 1);
}

TEST_F(AzureFaithfulTest, ServesTheOpenIdConfigurationThatMsalReadsFirst) {
  Start();
  std::unique_ptr<HttpClient> http;
  HttpClientOptions o;
  o.ca_file = emu_->ca_file();
  ASSERT_TRUE(HttpClient::Create(o, &http).ok());
  HttpResponse resp;
  ASSERT_TRUE(http->Get(emu_->base_url() + "/" + eo_.tenant_id + "/v2.0/.well-known/openid-configuration", {},
                        &resp).ok());
  ASSERT_EQ(resp.status, 200) << resp.body;
  json doc = json::parse(resp.body);
  EXPECT_EQ(doc["token_endpoint"], emu_->base_url() + "/" + eo_.tenant_id + "/oauth2/v2.0/token");
  EXPECT_TRUE(doc.contains("issuer") && doc.contains("authorization_endpoint")) << doc.dump();
}

TEST_F(AzureFaithfulTest, DataCollectorContentTypeWithACharsetFailsTheSignature) {
  Start();
  const std::string date = FormatHttpDate(std::chrono::system_clock::now());
  const std::string body = "[{\"a\":1}]";
  std::string sig;
  ASSERT_TRUE(SharedKeySignature(eo_.shared_key, body.size(), date, &sig).ok());
  std::string out;
  EXPECT_EQ(RawPost(emu_->base_url(), emu_->ca_file(), "/api/logs?api-version=2016-04-01",
                    {"Authorization: SharedKey " + eo_.workspace_id + ":" + sig,
                     "Content-Type: application/json; charset=utf-8", "Log-Type: T", "x-ms-date: " + date},
                    body, &out),
            403)
      << out;
}

TEST_F(ClientEmulatorTest, VerificationIsAlwaysOnWithoutTheCa) {
  Start();
  auto a = Li();
  a.ca_file.clear();  // only the system's roots: the test CA is not among them
  auto c = Client(a);
  PostResult r = c->Post("Custom-T_V1", "[{}]");
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.outcome, Outcome::kRetryable);
  EXPECT_NE(r.error_text.find("certificate"), std::string::npos) << r.error_text;
}

TEST_F(ClientEmulatorTest, UnreadableCaFileIsAnError) {
  Start();
  auto a = Li();
  a.ca_file = dir_ + "/missing.pem";
  std::unique_ptr<IngestionClient> c;
  std::shared_ptr<TokenProvider> tokens;
  EXPECT_FALSE(NewTokenProvider(a, &tokens).ok());
}

TEST_F(ClientEmulatorTest, OutageAnswersWithTheChosenStatusThenRecovers) {
  Start();
  auto c = Client(Li());
  ASSERT_TRUE(c->Post("Custom-T_V1", "[{}]").ok());  // token cached before the outage
  ASSERT_TRUE(emu_->SetFaults({{"outage", {{"status", 500}, {"seconds", 60}}}}).ok());
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 500);
  emu_->ClearFaults();
  EXPECT_EQ(c->Post("Custom-T_V1", "[{}]").http_status, 204);
}

}  // namespace
}  // namespace sg::azure
