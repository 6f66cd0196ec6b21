// sentinel-spool with the gateway stopped: every command against a real spool in a temp dir,
// run as a subprocess, checked by its stdout, stderr and exit code, and by reopening the spool.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <rocksdb/db.h>

#include "tool_test_util.h"

namespace sg::testing {
namespace {

using nlohmann::json;

class OfflineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::unique_ptr<spool::Spool> spool = OpenSpool();
    int64_t next = 0;
    AppendEvents(spool.get(), kRouteA, 30, &next);
    a400_ = FailHead(spool.get(), kRouteA, 10, 400,
                     "InvalidStream: the stream Custom-X is not declared in the DCR, so every row of "
                     "this request was rejected");
    a503_ = FailHead(spool.get(), kRouteA, 5, 503);
    AppendEvents(spool.get(), kRouteB, 20, &next);
    b400_ = FailHead(spool.get(), kRouteB, 4, 400);
    quarantined_ = Quarantine(spool.get(), "{not json");
  }

  std::unique_ptr<spool::Spool> OpenSpool() {
    std::unique_ptr<spool::Spool> spool;
    Status s = spool::Spool::Open(spool::SpoolOptions(), path(), &spool);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return spool;
  }
  spool::SpoolStats Stats() {
    spool::SpoolStats st;
    EXPECT_TRUE(OpenSpool()->Stats(&st).ok());
    return st;
  }
  std::string path() const { return dir_.Sub("spool"); }
  RunResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--spool", path()});
    return Tool(args, input);
  }

  TempDir dir_;
  uint64_t a400_ = 0, a503_ = 0, b400_ = 0, quarantined_ = 0;
};

void ExpectFits80(const std::string& out) {
  for (const std::string& l : Lines(out)) EXPECT_LE(l.size(), 80u) << l;
}

TEST_F(OfflineTest, StatsShowsRoutesFailedAndOffsets) {
  RunResult r = Run({"stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "sentinel-spool: offline\n");
  EXPECT_NE(r.out.find("pending   31 events"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed    4 batches, 20 events"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(kRouteA), std::string::npos);
  EXPECT_NE(r.out.find("citrix-risk"), std::string::npos);
  ExpectFits80(r.out);

  r = Run({"stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["access"], "offline");
  EXPECT_EQ(j["pending_events"], 31);
  EXPECT_EQ(j["failed_batches"], 4);
  EXPECT_EQ(j["failed_events"], 20);
  EXPECT_EQ(j["quarantined_total"], 1);
  EXPECT_EQ(j["max_bytes_source"], "default");
  ASSERT_EQ(j["routes"].size(), 2u);
  EXPECT_EQ(j["routes"][0]["route"], kRouteA);
  EXPECT_EQ(j["routes"][0]["events"], 15);
  ASSERT_EQ(j["offsets"].size(), 2u);
  EXPECT_EQ(j["offsets"][1]["offset"], 49);
}

// A gateway that stopped while posting (issue 15): stats shows the events in doubt per table,
// as the next start will hold them; nothing when none are.
TEST_F(OfflineTest, StatsShowsEventsInDoubtPerTable) {
  RunResult r = Run({"stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("in doubt"), std::string::npos) << r.out;
  {
    std::unique_ptr<spool::Spool> spool = OpenSpool();
    std::vector<spool::PendingEvent> b;
    ASSERT_TRUE(spool->Read(kRouteB, 0, 100, SIZE_MAX, &b).ok());
    ASSERT_GE(b.size(), 6u);
    ASSERT_TRUE(spool->MarkInFlight(kRouteB, b[0].seq, b[5].seq).ok());
  }  // closed with the mark left: as after a crash mid-post
  r = Run({"stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("in doubt  6 events"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IN DOUBT"), std::string::npos) << r.out;
  ExpectFits80(r.out);
  r = Run({"stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["in_doubt_events"], 6);
  EXPECT_EQ(j["routes"][1]["route"], kRouteB);
  EXPECT_EQ(j["routes"][1]["in_doubt_events"], 6);
}

TEST_F(OfflineTest, LsListsPendingRoutesAndFailedBatches) {
  RunResult r = Run({"ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFits80(r.out);
  EXPECT_NE(r.out.find("PENDING"), std::string::npos);
  EXPECT_NE(r.out.find("FAILED " + std::string(kRouteB)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("http_400: InvalidStream: the"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no route"), std::string::npos);

  r = Run({"ls", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 6u);  // 2 routes + 4 batches
  EXPECT_EQ(lines[0]["kind"], "pending");
  EXPECT_EQ(lines[0]["id"], kRouteA);
  EXPECT_EQ(lines[2]["id"], std::to_string(a400_));
  EXPECT_EQ(lines[2]["events"], 10);
  EXPECT_EQ(lines[2]["http_status"], 400);
  EXPECT_EQ(lines[2]["attempts"], 3);

  r = Run({"ls", "--failed", "--route", kRouteA, "--json"});
  lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["id"], std::to_string(a503_));

  r = Run({"--json", "ls", "--failed", "--limit", "1"});
  EXPECT_EQ(JsonLines(r.out).size(), 1u);

  r = Run({"ls", "--route", "NoSuchTable_CL"});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(OfflineTest, ShowFailedBatchAndPendingRoute) {
  RunResult r = Run({"show", std::to_string(a400_)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("http status   400"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("so every row of"), std::string::npos);  // the whole error text
  EXPECT_NE(r.out.find("event 1 of 10"), std::string::npos);
  EXPECT_NE(r.out.find("  \"n\": 0"), std::string::npos);  // pretty JSON
  ExpectFits80(r.out);

  r = Run({"show", std::to_string(a400_), "--json", "--limit", "0"});
  json j = json::parse(r.out);
  EXPECT_EQ(j["event_list"].size(), 10u);
  EXPECT_EQ(j["event_list"][9]["event"]["n"], 9);

  r = Run({"show", kRouteB, "--limit", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pending events of route"), std::string::npos);
  EXPECT_NE(r.out.find("... 13 more events"), std::string::npos) << r.out;

  r = Run({"show", std::to_string(quarantined_)});
  EXPECT_NE(r.out.find("not valid JSON"), std::string::npos);

  r = Run({"show", "12345"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no failed batch or route named '12345'"), std::string::npos);
}

TEST_F(OfflineTest, ExportWritesEveryEventAsJsonLines) {
  RunResult r = Run({"export"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 51u);  // 31 pending + 20 failed
  std::set<int64_t> seen;
  for (const json& l : lines) {
    if (l.contains("event")) seen.insert(l["event"]["n"].get<int64_t>());
  }
  EXPECT_EQ(seen.size(), 50u);  // every event once; the 51st is the quarantined non-JSON payload
  EXPECT_EQ(lines.back()["payload"], "{not json");

  r = Run({"export", "--failed", "--route", kRouteA});
  EXPECT_EQ(JsonLines(r.out).size(), 15u);

  r = Run({"export", "--raw", std::to_string(b400_)});
  std::vector<std::string> raw = Lines(r.out);
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[0], Payload(30));

  r = Run({"export", std::to_string(a400_), "999"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(r.out.empty());  // checked before anything is printed
}

TEST_F(OfflineTest, RequeueByIdsMovesBatchesBack) {
  RunResult r = Run({"requeue", std::to_string(a400_), std::to_string(b400_)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 2 batches, 14 events"), std::string::npos) << r.out;
  spool::SpoolStats st = Stats();
  EXPECT_EQ(st.routes[kRouteA].pending_events, 25u);
  EXPECT_EQ(st.routes[kRouteB].pending_events, 20u);
  EXPECT_EQ(st.failed_batches, 2u);

  // Unknown id: nothing changes.
  r = Run({"requeue", std::to_string(a503_), "4242"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no failed batch 4242"), std::string::npos) << r.err;
  EXPECT_EQ(Stats().failed_batches, 2u);
}

TEST_F(OfflineTest, RequeueAllWithFilters) {
  RunResult r = Run({"requeue", "--all", "--status", "503", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["changed"].size(), 1u);
  EXPECT_EQ(j["changed"][0]["id"], std::to_string(a503_));
  EXPECT_EQ(j["events"], 5);

  r = Run({"requeue", "--all", "--route", kRouteB});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 1 batch, 4 events"), std::string::npos) << r.out;

  r = Run({"requeue", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("skipped batch " + std::to_string(quarantined_)), std::string::npos) << r.out;
  spool::SpoolStats st = Stats();
  EXPECT_EQ(st.failed_batches, 1u);  // only the routeless one is left
  EXPECT_EQ(st.routes[kRouteA].pending_events + st.routes[kRouteB].pending_events, 50u);
}

TEST_F(OfflineTest, UsageErrors) {
  EXPECT_EQ(Run({"requeue"}).exit_code, 2);
  EXPECT_EQ(Run({"requeue", "1", "--all"}).exit_code, 2);
  EXPECT_EQ(Run({"requeue", "1", "--status", "400"}).exit_code, 2);
  EXPECT_EQ(Run({"requeue", kRouteA}).exit_code, 2);
  RunResult unknown = Run({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  EXPECT_EQ(Tool({"stats"}).exit_code, 2);  // no --spool
  EXPECT_EQ(Run({"show"}).exit_code, 2);
  EXPECT_EQ(Tool({"--help"}).exit_code, 0);
}

TEST_F(OfflineTest, DropNeedsYes) {
  RunResult r = Run({"drop", std::to_string(quarantined_)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--yes"), std::string::npos);
  EXPECT_EQ(Stats().failed_batches, 4u);
  r = Run({"drop", std::to_string(quarantined_), std::to_string(a503_), "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dropped 2 batches, 6 events"), std::string::npos) << r.out;
  EXPECT_EQ(Stats().failed_batches, 2u);
}

TEST_F(OfflineTest, LsJsonPipesIntoRequeue) {
  const std::string bin = SENTINEL_SPOOL_BIN;
  RunResult r = RunProgram({"/bin/sh", "-c",
                            bin + " --spool '" + path() + "' ls --failed --json | " + bin + " --spool '" +
                                path() + "' requeue -"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("requeued 3 batches, 19 events"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("skipped batch " + std::to_string(quarantined_)), std::string::npos) << r.err;
  EXPECT_EQ(Stats().failed_batches, 1u);

  // Plain ids work too, and an empty list is not an error.
  r = Run({"requeue", "-"}, "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(OfflineTest, ConfigFileGivesThePathRelativeToItsDirectory) {
  std::ofstream(dir_.Sub("gateway.toml")) << "[spool]\npath = \"spool\"\nmax_bytes = \"1GiB\"\n";
  RunResult r = Tool({"--config", dir_.Sub("gateway.toml"), "--json", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["max_bytes"], 1u << 30);
  EXPECT_EQ(j["max_bytes_source"], "config");
  EXPECT_EQ(j["pending_events"], 31);

  std::ofstream(dir_.Sub("bad.toml")) << "[spool]\npath = 12\n";
  r = Tool({"--config", dir_.Sub("bad.toml"), "stats"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.toml:2: spool.path"), std::string::npos) << r.err;
  EXPECT_EQ(Tool({"--config", dir_.Sub("none.toml"), "stats"}).exit_code, 3);
}

TEST_F(OfflineTest, ClearErrorsForMissingNewerAndForbiddenSpools) {
  RunResult r = Tool({"--spool", dir_.Sub("nothing-here"), "stats"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no spool at"), std::string::npos) << r.err;
  ::mkdir(dir_.Sub("empty").c_str(), 0700);
  r = Tool({"--spool", dir_.Sub("empty"), "ls"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("holds no spool"), std::string::npos) << r.err;

  // A spool stamped by a newer gateway.
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"pending", {}}, {"failed", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path(), cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[3], "format_version", "99").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  r = Run({"stats"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("format version 99, newer than this build"), std::string::npos) << r.err;
}

TEST_F(OfflineTest, PermissionDenied) {
  if (::geteuid() == 0) {
    // Root on another user's spool: reading works read-only; changing is refused, since files
    // written as root would lock the gateway's own user out.
    ASSERT_EQ(::chown(path().c_str(), 65534, 65534), 0);
    RunResult r = Run({"stats"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "sentinel-spool: offline, read-only\n");
    r = Run({"requeue", std::to_string(a400_)});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sudo -u"), std::string::npos) << r.err;
    ASSERT_EQ(::chown(path().c_str(), 0, 0), 0);
  } else {
    ASSERT_EQ(::chmod(path().c_str(), 0), 0);
    RunResult r = Run({"stats"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
    ASSERT_EQ(::chmod(path().c_str(), 0700), 0);
  }
  EXPECT_EQ(Stats().failed_batches, 4u);
}

}  // namespace
}  // namespace sg::testing
