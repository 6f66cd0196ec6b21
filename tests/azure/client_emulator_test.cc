// The Azure clients against the emulator over real HTTPS (127.0.0.1, the emulator's test CA):
// each check passes only if both the client and the emulator do what Azure documents.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "emulator.h"
#include "sentinel_gateway/azure/compression.h"
#include "sentinel_gateway/azure/http_client.h"
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
  EXPECT_EQ(bad_type.outcome, Outcome::kPermanent);
}

TEST_F(ClientEmulatorTest, DataCollectorTooLargeIs404AndPermanent) {
  Start();
  auto c = Client(Dc());
  std::string big = "[{\"a\":\"" + std::string(kDataCollectorMaxBody, 'x') + "\"}]";
  PostResult r = c->Post("T", big);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_EQ(r.outcome, Outcome::kPermanent);
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
