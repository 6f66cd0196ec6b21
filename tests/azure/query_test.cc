// The Log Analytics Query API as the exactly-once resolution uses it: azure::QueryClient against
// the emulator over real HTTPS (127.0.0.1, the emulator's test CA).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../../src/azure/authorized_request.h"
#include "emulator.h"
#include "sentinel_gateway/azure/ingestion_client.h"
#include "sentinel_gateway/azure/query_client.h"

namespace sg::azure {
namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class QueryEmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-query-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    eo_.tls_dir = dir_ + "/tls";
    eo_.threads = 8;
    eo_.query_api = true;
    ASSERT_TRUE(emulator::Emulator::Start(eo_, &emu_).ok());
    a_.endpoint = a_.login_endpoint = emu_->base_url();
    a_.dcr_immutable_id = "dcr-1";
    a_.tenant_id = eo_.tenant_id;
    a_.client_id = eo_.client_id;
    a_.client_secret = eo_.client_secret;
    a_.ca_file = emu_->ca_file();
    a_.gzip = false;  // JSON bodies, as these tests were written with
    std::shared_ptr<TokenProvider> tokens;
    ASSERT_TRUE(NewTokenProvider(a_, &tokens).ok());
    ASSERT_TRUE(NewIngestionClient(a_, tokens, nullptr, &ingest_).ok());
    Status s = QueryClient::Create(a_, emu_->base_url(), eo_.workspace_id, nullptr, &query_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    if (emu_) emu_->Stop();
    std::filesystem::remove_all(dir_);
  }
  void Post(const std::vector<std::string>& ids) {
    json rows = json::array();
    for (const auto& id : ids) rows.push_back({{"TimeGenerated", "2026-12-01T00:00:00Z"}, {"sg_event_id", id}});
    PostResult r = ingest_->Post("Custom-CitrixAnalytics_T_V1", rows.dump());
    ASSERT_EQ(r.http_status, 204) << r.Describe();
  }

  std::string dir_;
  emulator::EmulatorOptions eo_;
  std::unique_ptr<emulator::Emulator> emu_;
  AzureOptions a_;
  std::unique_ptr<IngestionClient> ingest_;
  std::unique_ptr<QueryClient> query_;
};

TEST_F(QueryEmulatorTest, FindsExactlyThePostedIdsOfTheTable) {
  Post({"citrix-risk/0/1", "citrix-risk/0/2", "quote\"and\\slash/1/1"});
  std::set<std::string> present;
  Status s = query_->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id",
                                {"citrix-risk/0/1", "citrix-risk/0/3", "quote\"and\\slash/1/1"}, NowMs() - 86400'000LL * 30,
                                &present);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(present, (std::set<std::string>{"citrix-risk/0/1", "quote\"and\\slash/1/1"}));
  present.clear();
  ASSERT_TRUE(query_->PresentIds("CitrixAnalytics_Other_V1_CL", "sg_event_id", {"citrix-risk/0/1"}, 0, &present).ok());
  EXPECT_TRUE(present.empty()) << "another table holds none of them";
}

TEST_F(QueryEmulatorTest, TimeBoundExcludesOlderRows) {
  Post({"citrix-risk/0/1"});
  std::set<std::string> present;
  // The row's TimeGenerated is the arrival (its own is more than 2 days old): a bound after now misses it.
  ASSERT_TRUE(query_->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id", {"citrix-risk/0/1"}, NowMs() + 3600'000, &present).ok());
  EXPECT_TRUE(present.empty());
}

TEST_F(QueryEmulatorTest, RowsAreQueryableOnlyAfterTheIngestionDelay) {
  ASSERT_TRUE(emu_->SetFaults(json{{"ingestion_delay_ms", 3'600'000}}).ok());
  Post({"citrix-risk/0/7"});
  std::set<std::string> present;
  ASSERT_TRUE(query_->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id", {"citrix-risk/0/7"}, 0, &present).ok());
  EXPECT_TRUE(present.empty()) << "accepted, not yet queryable: a query right after a post proves nothing";
}

TEST_F(QueryEmulatorTest, WithoutTheReaderRoleTheQueryIsRefused) {
  ASSERT_TRUE(emu_->SetFaults(json{{"deny_query", true}}).ok());
  std::set<std::string> present;
  Status s = query_->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id", {"citrix-risk/0/1"}, 0, &present);
  EXPECT_EQ(s.code(), Status::Code::kRejected) << s.ToString();
  EXPECT_NE(s.message().find("HTTP 403 InsufficientAccessError"), std::string::npos) << s.message();
}

TEST_F(QueryEmulatorTest, UnknownWorkspaceIs404AndOutageIsUnavailable) {
  std::unique_ptr<QueryClient> other;
  ASSERT_TRUE(QueryClient::Create(a_, emu_->base_url(), "11111111-0000-0000-0000-000000000000", nullptr, &other).ok());
  std::set<std::string> present;
  Status s = other->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id", {"x/0/1"}, 0, &present);
  EXPECT_EQ(s.code(), Status::Code::kRejected);
  EXPECT_NE(s.message().find("HTTP 404"), std::string::npos) << s.message();
  ASSERT_TRUE(emu_->SetFaults(json{{"outage", {{"status", 503}, {"seconds", 60}}}}).ok());
  s = query_->PresentIds("CitrixAnalytics_T_V1_CL", "sg_event_id", {"x/0/1"}, 0, &present);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
}

TEST(QueryTextTest, QuotesIdsAndBoundsTime) {
  EXPECT_EQ(PresentIdsQuery("T_CL", "sg_event_id", {"a/0/1", "q\"\\"}, 1'764'633'600'123),
            "T_CL | where TimeGenerated >= datetime(2025-12-02T00:00:00.123Z) | where sg_event_id in "
            "(\"a/0/1\", \"q\\\"\\\\\") | project sg_event_id");
}

TEST(QueryTextTest, PartialResultIsNotTrusted) {
  std::vector<std::string> v;
  EXPECT_TRUE(ParseQueryColumn(R"({"tables":[{"name":"PrimaryResult","columns":[{"name":"sg_event_id","type":"string"}],"rows":[["a"],["b"]]}]})", &v).ok());
  EXPECT_EQ(v, (std::vector<std::string>{"a", "b"}));
  Status s = ParseQueryColumn(R"({"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}],"error":{"code":"PartialError"}})", &v);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_FALSE(ParseQueryColumn("[]", &v).ok());
}

// SendWithToken (src/azure/authorized_request.h), which this client and the DCR reader share: a
// 401 gets one more try with a fresh token, a second 401 is the answer, any other answer ends it.
TEST_F(QueryEmulatorTest, A401GetsOneMoreTryWithAFreshToken) {
  std::shared_ptr<TokenProvider> tokens;
  ASSERT_TRUE(NewTokenProvider(a_, &tokens).ok());
  std::string first;
  ASSERT_TRUE(tokens->GetToken(&first).ok());
  const std::vector<std::vector<int>> cases = {{401, 200}, {401, 401}, {500}, {200}};
  for (const std::vector<int>& answers : cases) {
    SCOPED_TRACE(answers.size() == 1 ? std::to_string(answers[0]) : "401 then " + std::to_string(answers[1]));
    const uint64_t renewals = tokens->renewals();
    std::vector<std::string> sent;
    HttpResponse resp;
    Status s = SendWithToken(
        tokens.get(),
        [&](const std::string& authorization, HttpResponse* r) {
          r->status = answers.at(sent.size());
          sent.push_back(authorization);
          return Status::OK();
        },
        &resp);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(sent.size(), answers.size());
    EXPECT_EQ(resp.status, answers.back());
    for (const std::string& a : sent) EXPECT_EQ(a.rfind("Authorization: Bearer ", 0), 0u);
    EXPECT_EQ(tokens->renewals() - renewals, answers.front() == 401 ? 1u : 0u) << "one fresh token after a 401";
  }
}

}  // namespace
}  // namespace sg::azure
