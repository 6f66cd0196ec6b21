// ControlServer / ControlClient / ApplyChange against a real spool in a temp dir.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sentinel_gateway/control.h"
#include "spool_test_util.h"

namespace sg::control {
namespace {

using sg::testing::MakeEvent;
using sg::testing::TempDir;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool::SpoolOptions o;
    ASSERT_TRUE(spool::Spool::Open(o, dir_.Sub("spool"), &spool_).ok());
  }

  // Appends n events to route and fails them as one batch with the given HTTP status.
  uint64_t AddFailed(const std::string& route, int n, int http_status) {
    spool::AppendBatch b;
    for (int i = 0; i < n; ++i) b.events.push_back(MakeEvent(route, R"({"n":)" + std::to_string(i) + "}"));
    EXPECT_TRUE(spool_->Append(b).ok());
    std::vector<spool::PendingEvent> events;
    EXPECT_TRUE(spool_->Read(route, 0, 100000, SIZE_MAX, &events).ok());
    std::vector<uint64_t> seqs;
    for (const auto& e : events) seqs.push_back(e.seq);
    spool::FailureInfo why;
    why.http_status = http_status;
    why.reason = "http_" + std::to_string(http_status);
    why.error_text = "rejected";
    uint64_t id = 0;
    EXPECT_TRUE(spool_->Fail(route, seqs, why, &id).ok());
    return id;
  }

  uint64_t AddQuarantined() {
    spool::AppendBatch b;
    spool::QuarantinedMessage q;
    q.payload = "{not json";
    q.why.reason = "invalid_json";
    b.quarantined.push_back(q);
    EXPECT_TRUE(spool_->Append(b).ok());
    std::vector<spool::FailedBatch> all;
    EXPECT_TRUE(spool_->ListFailed(0, 1000, "", &all).ok());
    return all.back().id;
  }

  uint64_t Pending(const std::string& route) {
    spool::SpoolStats st;
    EXPECT_TRUE(spool_->Stats(&st).ok());
    return st.routes[route].pending_events;
  }

  TempDir dir_;
  std::unique_ptr<spool::Spool> spool_;
};

TEST_F(ControlTest, RequeueByIdsIsAllOrNothingOnUnknownId) {
  uint64_t a = AddFailed("TableA_CL", 3, 400);
  ChangeRequest r;
  r.ids = {a, 999};
  ChangeResult res;
  Status s = ApplyChange(spool_.get(), r, &res);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("999"), std::string::npos);
  EXPECT_TRUE(res.changed.empty());
  EXPECT_EQ(Pending("TableA_CL"), 0u);

  r.ids = {a, a};
  ASSERT_TRUE(ApplyChange(spool_.get(), r, &res).ok());
  ASSERT_EQ(res.changed.size(), 1u);
  EXPECT_EQ(res.changed[0].id, a);
  EXPECT_EQ(res.changed[0].route, "TableA_CL");
  EXPECT_EQ(res.events, 3u);
  EXPECT_EQ(Pending("TableA_CL"), 3u);
}

TEST_F(ControlTest, RequeueAllFiltersByRouteAndStatusAndSkipsRouteless) {
  uint64_t a400 = AddFailed("TableA_CL", 2, 400);
  uint64_t a503 = AddFailed("TableA_CL", 1, 503);
  uint64_t b400 = AddFailed("TableB_CL", 4, 400);
  uint64_t q = AddQuarantined();

  ChangeRequest r;
  r.all = true;
  r.route = "TableA_CL";
  r.http_status = 400;
  ChangeResult res;
  ASSERT_TRUE(ApplyChange(spool_.get(), r, &res).ok());
  ASSERT_EQ(res.changed.size(), 1u);
  EXPECT_EQ(res.changed[0].id, a400);

  r.route.clear();
  r.http_status = -1;
  ASSERT_TRUE(ApplyChange(spool_.get(), r, &res).ok());
  ASSERT_EQ(res.changed.size(), 2u);
  EXPECT_EQ(res.changed[0].id, a503);
  EXPECT_EQ(res.changed[1].id, b400);
  EXPECT_EQ(res.events, 5u);
  ASSERT_EQ(res.skipped.size(), 1u);
  EXPECT_EQ(res.skipped[0].first, q);

  // The routeless batch asked for by id is refused, and nothing else happens.
  r = ChangeRequest();
  r.ids = {q};
  EXPECT_EQ(ApplyChange(spool_.get(), r, &res).code(), Status::Code::kInvalidArgument);
}

TEST_F(ControlTest, DropNeedsIdsAndDeletes) {
  uint64_t a = AddFailed("TableA_CL", 2, 400);
  ChangeRequest r;
  r.op = ChangeRequest::Op::kDrop;
  r.all = true;
  ChangeResult res;
  EXPECT_EQ(ApplyChange(spool_.get(), r, &res).code(), Status::Code::kInvalidArgument);
  r.all = false;
  r.ids = {a};
  ASSERT_TRUE(ApplyChange(spool_.get(), r, &res).ok());
  EXPECT_EQ(res.events, 2u);
  spool::FailedBatch fb;
  EXPECT_TRUE(spool_->GetFailed(a, &fb).IsNotFound());
}

TEST_F(ControlTest, ServerAnswersHelloStatsAndChanges) {
  std::vector<std::string> logs;
  ControlServerOptions o;
  o.log = [&](const std::string& l) { logs.push_back(l); };
  std::vector<ChangeResult> changes;
  o.on_change = [&](const ChangeRequest&, const ChangeResult& r) { changes.push_back(r); };
  std::unique_ptr<ControlServer> server;
  ASSERT_TRUE(ControlServer::Start(spool_.get(), o, &server).ok());
  const std::string path = SocketPath(dir_.Sub("spool"));
  EXPECT_EQ(server->socket_path(), path);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  uint64_t a = AddFailed("TableA_CL", 3, 400);
  std::unique_ptr<ControlClient> client;
  ASSERT_TRUE(ControlClient::Connect(path, 5000, &client).ok());
  ServerInfo info;
  ASSERT_TRUE(client->Hello(&info).ok());
  EXPECT_EQ(info.pid, ::getpid());
  EXPECT_EQ(info.protocol, kProtocolVersion);
  EXPECT_EQ(info.spool, dir_.Sub("spool"));
  EXPECT_EQ(info.max_bytes, spool::SpoolOptions().max_bytes);

  spool::SpoolStats stats;
  ASSERT_TRUE(client->Stats(&stats).ok());
  EXPECT_EQ(stats.failed_batches, 1u);
  EXPECT_EQ(stats.failed_events, 3u);

  ChangeRequest r;
  r.ids = {a + 100};
  ChangeResult res;
  EXPECT_TRUE(client->Change(r, &res).IsNotFound());
  r.ids = {a};
  ASSERT_TRUE(client->Change(r, &res).ok());
  EXPECT_EQ(res.events, 3u);
  EXPECT_EQ(Pending("TableA_CL"), 3u);

  server->Stop();
  EXPECT_GE(server->requests_served(), 4u);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // socket removed
  ASSERT_EQ(changes.size(), 1u);  // the refused change moved nothing
  EXPECT_EQ(changes[0].events, 3u);
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_NE(logs[1].find("requeued failed batches for uid " + std::to_string(::geteuid()) + ": 1 batch(es), 3 event(s)"), std::string::npos) << logs[1];
  std::unique_ptr<ControlClient> late;
  EXPECT_EQ(ControlClient::Connect(path, 1000, &late).code(), Status::Code::kUnavailable);
}

TEST_F(ControlTest, MalformedRequestsGetErrorsAndTheConnectionSurvives) {
  std::unique_ptr<ControlServer> server;
  ASSERT_TRUE(ControlServer::Start(spool_.get(), {}, &server).ok());
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = server->socket_path();
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string req = "not json\n{\"op\":\"frobnicate\"}\n{\"op\":\"requeue\",\"ids\":\"x\"}\n{\"op\":\"hello\"}\n";
  ASSERT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (std::count(got.begin(), got.end(), '\n') < 4) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  std::vector<std::string> lines;
  size_t pos = 0;
  for (size_t nl; (nl = got.find('\n', pos)) != std::string::npos; pos = nl + 1) lines.push_back(got.substr(pos, nl - pos));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("\"ok\":false"), std::string::npos);
  EXPECT_NE(lines[1].find("unknown control request"), std::string::npos);
  EXPECT_NE(lines[2].find("malformed request"), std::string::npos);
  EXPECT_NE(lines[3].find("\"ok\":true"), std::string::npos);
}

TEST_F(ControlTest, StaleSocketIsReplacedAndALiveOneIsNot) {
  const std::string path = SocketPath(dir_.Sub("spool"));
  {
    // A socket file nobody listens on, as a kill -9'd gateway leaves it.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  std::unique_ptr<ControlServer> server;
  Status s = ControlServer::Start(spool_.get(), {}, &server);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<ControlServer> second;
  EXPECT_TRUE(ControlServer::Start(spool_.get(), {}, &second).IsBusy());
  std::unique_ptr<ControlClient> client;
  ASSERT_TRUE(ControlClient::Connect(path, 5000, &client).ok());
  ServerInfo info;
  EXPECT_TRUE(client->Hello(&info).ok());
}

TEST_F(ControlTest, LongSocketPathsWork) {
  std::string deep = dir_.Sub(std::string(60, 'd') + "/" + std::string(60, 'e'));
  std::filesystem::create_directories(deep);
  ControlServerOptions o;
  o.socket_path = deep + "/control.sock";
  ASSERT_GT(o.socket_path.size(), sizeof(sockaddr_un::sun_path));
  std::unique_ptr<ControlServer> server;
  Status s = ControlServer::Start(spool_.get(), o, &server);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<ControlClient> client;
  ASSERT_TRUE(ControlClient::Connect(o.socket_path, 5000, &client).ok());
  ServerInfo info;
  EXPECT_TRUE(client->Hello(&info).ok());
  server.reset();
  EXPECT_FALSE(std::filesystem::exists(o.socket_path));
}

TEST_F(ControlTest, IdleClientDoesNotBlockOthers) {
  ControlServerOptions o;
  o.idle_timeout_ms = 200;
  std::unique_ptr<ControlServer> server;
  ASSERT_TRUE(ControlServer::Start(spool_.get(), o, &server).ok());
  std::unique_ptr<ControlClient> idle, active;
  ASSERT_TRUE(ControlClient::Connect(server->socket_path(), 5000, &idle).ok());
  ServerInfo info;
  ASSERT_TRUE(idle->Hello(&info).ok());  // now being served, then idle
  ASSERT_TRUE(ControlClient::Connect(server->socket_path(), 5000, &active).ok());
  EXPECT_TRUE(active->Hello(&info).ok());  // answered once the idle one timed out
}

}  // namespace
}  // namespace sg::control
