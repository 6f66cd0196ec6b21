// sentinel-spool against a running "gateway": this test process holds the spool read-write and
// hosts the ControlServer exactly as the gateway does, while the tool runs as a subprocess. Reading
// commands must go through a secondary instance, changes through the socket, and a requeue while a
// drainer delivers must deliver every requeued event exactly once.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <signal.h>

#include "sentinel_gateway/control.h"
#include "tool_test_util.h"

namespace sg::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Scratch directories of secondary instances: the tool must remove its own.
std::set<std::string> SecondaryScratchDirs() {
  std::set<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    if (e.path().filename().string().starts_with("sentinel-spool-secondary-")) dirs.insert(e.path().string());
  }
  return dirs;
}

class LiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A private TMPDIR for this test and the tools it runs: other tests running in parallel make
    // secondary scratch directories of their own, which the scratch check must not see.
    std::filesystem::create_directories(dir_.Sub("tmp"));
    ::setenv("TMPDIR", dir_.Sub("tmp").c_str(), 1);
    Status s = spool::Spool::Open(spool::SpoolOptions(), path(), &spool_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void StartServer() {
    control::ControlServerOptions o;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_.push_back(line);
    };
    Status s = control::ControlServer::Start(spool_.get(), o, &server_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    ::unsetenv("TMPDIR");
  }
  std::string path() const { return dir_.Sub("spool"); }
  RunResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--spool", path()});
    return Tool(args, input);
  }
  std::string LivePid() const { return "live via pid " + std::to_string(::getpid()); }

  TempDir dir_;
  std::unique_ptr<spool::Spool> spool_;
  std::unique_ptr<control::ControlServer> server_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(LiveTest, ReadsFollowTheGatewayAndChangesGoThroughItsSocket) {
  StartServer();
  int64_t next = 0;
  AppendEvents(spool_.get(), kRouteA, 30, &next);
  uint64_t a = FailHead(spool_.get(), kRouteA, 10, 400);
  uint64_t b = FailHead(spool_.get(), kRouteA, 5, 503);
  const std::set<std::string> scratch_before = SecondaryScratchDirs();

  RunResult r = Run({"stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "sentinel-spool: " + LivePid() + " (secondary instance)\n");
  json j = json::parse(r.out);
  EXPECT_EQ(j["access"], "live");
  EXPECT_EQ(j["pid"], ::getpid());
  EXPECT_EQ(j["pending_events"], 15);
  EXPECT_EQ(j["failed_batches"], 2);
  EXPECT_EQ(j["max_bytes_source"], "gateway");

  // Writes made after the tool's previous run are visible to the next one.
  AppendEvents(spool_.get(), kRouteB, 7, &next);
  r = Run({"ls", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1]["id"], kRouteB);
  EXPECT_EQ(lines[1]["events"], 7);

  r = Run({"requeue", std::to_string(a)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "sentinel-spool: " + LivePid() + " (control socket)\n");
  EXPECT_NE(r.out.find("requeued 1 batch, 10 events"), std::string::npos) << r.out;
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kRouteA].pending_events, 25u);
  EXPECT_EQ(st.failed_batches, 1u);

  r = Run({"requeue", "777"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no failed batch 777"), std::string::npos) << r.err;

  r = Run({"drop", std::to_string(b), "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.failed_batches, 0u);

  EXPECT_EQ(SecondaryScratchDirs(), scratch_before);
  std::lock_guard<std::mutex> l(log_mu_);
  ASSERT_EQ(log_.size(), 3u);  // one line per change applied or refused
}

TEST_F(LiveTest, HeldSpoolWithoutControlSocketRefusesChangesButReads) {
  int64_t next = 0;
  AppendEvents(spool_.get(), kRouteA, 4, &next);
  uint64_t a = FailHead(spool_.get(), kRouteA, 2, 400);
  RunResult r = Run({"ls", "--failed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonLines(r.out).size(), 1u);
  EXPECT_NE(r.err.find(LivePid() + " (secondary instance; pid"), std::string::npos) << r.err;

  r = Run({"requeue", std::to_string(a)});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("in use by pid " + std::to_string(::getpid())), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not answer"), std::string::npos) << r.err;
  spool::FailedBatch fb;
  EXPECT_TRUE(spool_->GetFailed(a, &fb).ok());
}

TEST_F(LiveTest, LsJsonPipesIntoRequeueThroughTheSocket) {
  StartServer();
  int64_t next = 0;
  AppendEvents(spool_.get(), kRouteA, 20, &next);
  for (int i = 0; i < 4; ++i) FailHead(spool_.get(), kRouteA, 5, 400);
  const std::string bin = SENTINEL_SPOOL_BIN;
  RunResult r = RunProgram({"/bin/sh", "-c",
                            bin + " --spool '" + path() + "' ls --failed --json | " + bin + " --spool '" +
                                path() + "' requeue -"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 4 batches, 20 events"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("(secondary instance)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(control socket)"), std::string::npos) << r.err;
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.failed_batches, 0u);
  EXPECT_EQ(st.routes[kRouteA].pending_events, 20u);
}

// The gateway's shape in miniature: an ingest thread keeps appending, one drainer per route reads
// the head and acks it, and meanwhile the operator requeues every failed batch. Every event must
// come out of the drainers exactly once.
TEST_F(LiveTest, RequeueWhileDrainingDeliversEveryEventOnce) {
  StartServer();
  int64_t next = 0;
  // 40 failed batches of 50 events on two routes, and a backlog for the drainers to chew on.
  for (const char* route : {kRouteA, kRouteB}) {
    AppendEvents(spool_.get(), route, 1000, &next);
    for (int i = 0; i < 20; ++i) FailHead(spool_.get(), route, 50, i % 2 == 0 ? 400 : 503);
    AppendEvents(spool_.get(), route, 1000, &next);
  }
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  ASSERT_EQ(st.failed_batches, 40u);

  std::mutex mu;
  std::map<int64_t, int> delivered;
  std::atomic<bool> stop_ingest{false}, stop_drain{false};
  std::atomic<int64_t> appended{next};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // ingest
    int64_t n = next;
    while (!stop_ingest.load()) {
      spool::AppendBatch b;
      for (int i = 0; i < 10; ++i, ++n) b.events.push_back(MakeEvent(i % 2 ? kRouteA : kRouteB, Payload(n)));
      ASSERT_TRUE(spool_->Append(b).ok());
      appended.store(n);
    }
  });
  for (const char* route : {kRouteA, kRouteB}) {
    threads.emplace_back([&, route] {  // drainer lane
      std::vector<spool::PendingEvent> batch;
      while (!stop_drain.load()) {
        ASSERT_TRUE(spool_->Read(route, 0, 64, 1 << 20, &batch).ok());
        if (batch.empty()) {
          std::this_thread::yield();  // an idle lane polls, as the drainer's linger does
          continue;
        }
        {
          std::lock_guard<std::mutex> l(mu);
          for (const spool::PendingEvent& e : batch) ++delivered[PayloadN(e.payload)];
        }
        ASSERT_TRUE(spool_->Ack(route, batch).ok());
      }
    });
  }

  auto delivered_count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return delivered.size();
  };
  // Requeue in two steps while everything runs: one route's 400s by filter, then the rest.
  const int64_t appended_before = appended.load();
  const size_t delivered_before = delivered_count();
  RunResult r = Run({"requeue", "--all", "--route", kRouteA, "--status", "400"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 10 batches, 500 events"), std::string::npos) << r.out;
  r = Run({"requeue", "--all", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["events"], 1500);
  // The requeues really overlapped ingest and delivery.
  EXPECT_GT(appended.load(), appended_before);
  EXPECT_GT(delivered_count(), delivered_before);

  stop_ingest.store(true);
  threads[0].join();
  const int64_t total = appended.load();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (static_cast<int64_t>(delivered.size()) == total) break;
    }
    ASSERT_LT(Clock::now(), deadline) << "drainers did not deliver everything in time";
    std::this_thread::yield();
  }
  stop_drain.store(true);
  for (size_t i = 1; i < threads.size(); ++i) threads[i].join();

  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(static_cast<int64_t>(delivered.size()), total);
  for (const auto& [n, count] : delivered) {
    ASSERT_GE(n, 0);
    ASSERT_LT(n, total);
    ASSERT_EQ(count, 1) << "event " << n << " delivered " << count << " times";
  }
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.failed_batches, 0u);
  EXPECT_EQ(st.routes[kRouteA].pending_events + st.routes[kRouteB].pending_events, 0u);
}

}  // namespace
}  // namespace sg::testing

namespace sg::testing {
namespace {

// A separate "gateway" process (sg-spool-fixture serve: the spool held read-write plus the same
// ControlServer) is killed with SIGKILL: the kernel frees its lock, its socket file stays. The
// tool must then work offline, and the next gateway must replace the stale socket.
TEST(LiveProcessTest, KilledGatewayLeavesNothingInTheWay) {
  TempDir dir;
  const std::string spool_dir = dir.Sub("spool");
  {
    std::unique_ptr<spool::Spool> spool;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), spool_dir, &spool).ok());
    int64_t next = 0;
    AppendEvents(spool.get(), kRouteA, 12, &next);
    for (int i = 0; i < 3; ++i) FailHead(spool.get(), kRouteA, 4, 400);
  }
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--spool", spool_dir});
    return Tool(args);
  };

  Subprocess gateway;  // a stand-in gateway owning the spool
  ASSERT_TRUE(gateway.Start({SG_SPOOL_FIXTURE_BIN, "serve", spool_dir}));
  std::string rest;
  ASSERT_TRUE(gateway.WaitForLine("ready", &rest, std::chrono::seconds(30)));
  RunResult r = run({"requeue", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "sentinel-spool: live via pid " + std::to_string(gateway.pid()) + " (control socket)\n");

  gateway.Signal(SIGKILL);
  EXPECT_EQ(gateway.Wait(std::chrono::seconds(30)), 128 + SIGKILL);
  ASSERT_TRUE(std::filesystem::exists(spool_dir + "/control.sock"));  // stale
  r = run({"requeue", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "sentinel-spool: offline\n");

  Subprocess next_gateway;
  ASSERT_TRUE(next_gateway.Start({SG_SPOOL_FIXTURE_BIN, "serve", spool_dir}));
  ASSERT_TRUE(next_gateway.WaitForLine("ready", &rest, std::chrono::seconds(30)));
  r = run({"requeue", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["pid"], next_gateway.pid());
  EXPECT_EQ(j["events"], 4);
  r = run({"--json", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["failed_batches"], 0);
  EXPECT_EQ(json::parse(r.out)["pending_events"], 12);

  next_gateway.Signal(SIGTERM);
  EXPECT_EQ(next_gateway.Wait(std::chrono::seconds(30)), 0);
  EXPECT_FALSE(std::filesystem::exists(spool_dir + "/control.sock"));  // a clean stop removes it
}

}  // namespace
}  // namespace sg::testing
