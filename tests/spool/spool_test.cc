#include "sentinel_gateway/spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "full_disk_fs.h"
#include "spool_test_util.h"

namespace sg {
namespace {

using testing::MakeEvent;
using testing::TempDir;

constexpr char kA[] = "CitrixAnalytics_riskScoreChange_CL";
constexpr char kB[] = "CitrixAnalytics_indicatorSummary_CL";

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(spool::SpoolOptions opts = spool::SpoolOptions()) {
    spool_.reset();
    Status s = spool::Spool::Open(opts, dir_.Sub("spool"), &spool_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void AppendN(const std::string& route, int n, const std::string& prefix = "e", int partition = 0) {
    spool::AppendBatch b;
    for (int i = 0; i < n; ++i) {
      b.events.push_back(MakeEvent(route, prefix + std::to_string(i), partition, next_offset_));
      b.offsets = {{"citrix-risk", partition, next_offset_++}};
    }
    Status s = spool_->Append(b);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<spool::PendingEvent> ReadAll(const std::string& route) {
    std::vector<spool::PendingEvent> out;
    Status s = spool_->Read(route, 0, 1 << 20, SIZE_MAX, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  static std::vector<std::string> Payloads(const std::vector<spool::PendingEvent>& v) {
    std::vector<std::string> p;
    for (const auto& e : v) p.push_back(e.payload);
    return p;
  }

  TempDir dir_;
  std::unique_ptr<spool::Spool> spool_;
  int64_t next_offset_ = 0;
};

TEST_F(SpoolTest, RoutesDrainInFifoOrderIndependently) {
  AppendN(kA, 3, "a");
  AppendN(kB, 2, "b");
  AppendN(kA, 2, "c");
  EXPECT_EQ(Payloads(ReadAll(kA)), (std::vector<std::string>{"a0", "a1", "a2", "c0", "c1"}));
  EXPECT_EQ(Payloads(ReadAll(kB)), (std::vector<std::string>{"b0", "b1"}));
  std::vector<spool::PendingEvent> a = ReadAll(kA);
  ASSERT_TRUE(spool_->Ack(kA, a).ok());
  EXPECT_TRUE(ReadAll(kA).empty());
  EXPECT_EQ(ReadAll(kB).size(), 2u);  // a drained route does not touch another
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].pending_events, 0u);
  EXPECT_EQ(st.routes[kB].pending_events, 2u);
  EXPECT_EQ(st.routes[kB].pending_bytes, 4u);
  EXPECT_GT(st.routes[kB].oldest_enqueued_ms, 0);
  EXPECT_EQ(st.routes[kA].oldest_enqueued_ms, 0);
  EXPECT_EQ(st.appended_total, 7u);
  EXPECT_EQ(st.acked_total, 5u);
}

TEST_F(SpoolTest, ReadHonoursCountByteBudgetAndCursor) {
  AppendN(kA, 10, "xxxxxxxxx");  // payloads of 10 bytes each
  std::vector<spool::PendingEvent> out;
  ASSERT_TRUE(spool_->Read(kA, 0, 4, SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 4u);
  ASSERT_TRUE(spool_->Read(kA, 0, 100, 35, &out).ok());
  EXPECT_EQ(out.size(), 3u);
  ASSERT_TRUE(spool_->Read(kA, 0, 100, 1, &out).ok());
  EXPECT_EQ(out.size(), 1u) << "one event is returned even when it alone exceeds the budget";
  uint64_t cursor = out.back().seq;
  ASSERT_TRUE(spool_->Read(kA, cursor, 2, SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, "xxxxxxxxx1");
  EXPECT_GT(out[0].seq, cursor);
}

TEST_F(SpoolTest, AnAckTakesOffTheSpooledSizeAfterTheReaderReleasedThePayloads) {
  AppendN(kA, 4, "payload-");
  std::vector<spool::PendingEvent> read = ReadAll(kA);
  ASSERT_EQ(read.size(), 4u);
  // The drainer frees each payload once shaped; the ack must still take its bytes off the count.
  for (spool::PendingEvent& e : read) std::string().swap(e.payload);
  ASSERT_TRUE(spool_->Ack(kA, read, 0, 2).ok());
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].pending_events, 2u);
  EXPECT_EQ(st.routes[kA].pending_bytes, 2 * std::string("payload-0").size());
  ASSERT_TRUE(spool_->Ack(kA, read, 2, 4).ok());
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].pending_bytes, 0u);
  EXPECT_EQ(spool_->UsedBytes(), 0u);
  // An event made by hand (not read) has only its payload: its size counts.
  AppendN(kA, 1, "by-hand-");
  spool::PendingEvent made;
  made.seq = ReadAll(kA).at(0).seq;
  made.payload = "by-hand-0";
  ASSERT_TRUE(spool_->Ack(kA, {made}).ok());
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].pending_bytes, 0u);
}

TEST_F(SpoolTest, OutOfOrderAcksKeepTheHead) {
  AppendN(kA, 6);
  std::vector<spool::PendingEvent> all = ReadAll(kA);
  ASSERT_TRUE(spool_->Ack(kA, all, 3, 6).ok());  // a later request finished first
  EXPECT_EQ(Payloads(ReadAll(kA)), (std::vector<std::string>{"e0", "e1", "e2"}));
  ASSERT_TRUE(spool_->Ack(kA, all, 0, 3).ok());
  EXPECT_TRUE(ReadAll(kA).empty());
  EXPECT_FALSE(spool_->Ack(kA, all, 4, 7).ok());
}

TEST_F(SpoolTest, FailMovesEventsToFailedAreaWithReason) {
  AppendN(kA, 5);
  std::vector<spool::PendingEvent> all = ReadAll(kA);
  spool::FailureInfo why;
  why.http_status = 400;
  why.reason = "http_400";
  why.error_text = "InvalidDataFormat: column type mismatch";
  why.attempts = 2;
  uint64_t id = 0;
  ASSERT_TRUE(spool_->Fail(kA, {all[1].seq, all[3].seq}, why, &id).ok());
  EXPECT_EQ(Payloads(ReadAll(kA)), (std::vector<std::string>{"e0", "e2", "e4"}));
  spool::FailedBatch fb;
  ASSERT_TRUE(spool_->GetFailed(id, &fb).ok());
  EXPECT_EQ(fb.route, kA);
  EXPECT_EQ(fb.why.http_status, 400);
  EXPECT_EQ(fb.why.error_text, why.error_text);
  EXPECT_EQ(fb.why.attempts, 2);
  EXPECT_GT(fb.why.first_failure_ms, 0);
  ASSERT_EQ(fb.events.size(), 2u);
  EXPECT_EQ(fb.events[0].payload, "e1");
  EXPECT_EQ(fb.events[1].source.offset, all[3].source.offset);
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.failed_batches, 1u);
  EXPECT_EQ(st.failed_events, 2u);
  EXPECT_EQ(st.routes[kA].pending_events, 3u);
  // A seq that is no longer pending cannot fail twice.
  EXPECT_TRUE(spool_->Fail(kA, {all[1].seq}, why, &id).IsNotFound());
}

TEST_F(SpoolTest, RequeueAppendsToTheTailAndKeepsAge) {
  AppendN(kA, 3, "old");
  std::vector<spool::PendingEvent> all = ReadAll(kA);
  uint64_t id = 0;
  ASSERT_TRUE(spool_->Fail(kA, {all[0].seq}, spool::FailureInfo{}, &id).ok());
  AppendN(kA, 1, "new");
  size_t moved = 0;
  ASSERT_TRUE(spool_->Requeue(id, &moved).ok());
  EXPECT_EQ(moved, 1u);
  std::vector<spool::PendingEvent> now = ReadAll(kA);
  EXPECT_EQ(Payloads(now), (std::vector<std::string>{"old1", "old2", "new0", "old0"}));
  EXPECT_EQ(now.back().enqueued_ms, all[0].enqueued_ms);
  spool::FailedBatch fb;
  EXPECT_TRUE(spool_->GetFailed(id, &fb).IsNotFound());
  EXPECT_TRUE(spool_->Requeue(id, &moved).IsNotFound());
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.failed_events, 0u);
  EXPECT_EQ(st.routes[kA].pending_events, 4u);
}

TEST_F(SpoolTest, DropDeletesOnlyTheNamedFailedBatch) {
  AppendN(kA, 3);
  std::vector<spool::PendingEvent> all = ReadAll(kA);
  uint64_t id1 = 0, id2 = 0;
  ASSERT_TRUE(spool_->Fail(kA, {all[0].seq}, spool::FailureInfo{}, &id1).ok());
  ASSERT_TRUE(spool_->Fail(kA, {all[1].seq}, spool::FailureInfo{}, &id2).ok());
  EXPECT_NE(id1, id2);
  ASSERT_TRUE(spool_->Drop(id1).ok());
  EXPECT_TRUE(spool_->Drop(id1).IsNotFound());
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(spool_->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, id2);
  ASSERT_TRUE(spool_->ListFailed(0, 10, kB, &failed).ok());
  EXPECT_TRUE(failed.empty());
}

TEST_F(SpoolTest, QuarantinedInputLandsInFailedAreaWithOffsetInTheSameWrite) {
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, R"({"event_type":"riskScoreChange"})", 2, 40));
  spool::QuarantinedMessage q;
  q.payload = "{not json";
  q.source = {"citrix-risk", 2, 41};
  q.why.reason = "invalid_json";
  q.why.error_text = "parse error at byte 1";
  b.quarantined.push_back(q);
  b.offsets = {{"citrix-risk", 2, 41}};
  ASSERT_TRUE(spool_->Append(b).ok());
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(spool_->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].why.reason, "invalid_json");
  ASSERT_EQ(failed[0].events.size(), 1u);
  EXPECT_EQ(failed[0].events[0].payload, "{not json");
  EXPECT_EQ(failed[0].events[0].source.partition, 2);
  EXPECT_EQ(failed[0].events[0].source.offset, 41);
  EXPECT_EQ(spool_->SourceOffset("citrix-risk", 2), 41);
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.quarantined_total, 1u);
  size_t moved = 0;
  EXPECT_EQ(spool_->Requeue(failed[0].id, &moved).code(), Status::Code::kInvalidArgument)
      << "unclassified input has no route to requeue to";
}

TEST_F(SpoolTest, OffsetsCountersAndSequencesSurviveReopen) {
  AppendN(kA, 4, "e", 0);
  AppendN(kB, 2, "e", 1);
  std::vector<spool::PendingEvent> a = ReadAll(kA);
  ASSERT_TRUE(spool_->Ack(kA, a, 0, 4).ok());
  uint64_t last_seq = a.back().seq;
  std::vector<spool::PendingEvent> b = ReadAll(kB);
  ASSERT_TRUE(spool_->Fail(kB, {b[0].seq}, spool::FailureInfo{}, nullptr).ok());
  spool::SpoolStats before;
  ASSERT_TRUE(spool_->Stats(&before).ok());
  Reopen();
  spool::SpoolStats after;
  ASSERT_TRUE(spool_->Stats(&after).ok());
  EXPECT_EQ(after.routes[kA].pending_events, 0u);
  EXPECT_EQ(after.routes[kB].pending_events, 1u);
  EXPECT_EQ(after.routes[kB].pending_bytes, before.routes[kB].pending_bytes);
  EXPECT_EQ(after.failed_events, 1u);
  EXPECT_EQ(after.appended_total, 6u);
  EXPECT_EQ(after.acked_total, 4u);
  EXPECT_EQ(spool_->SourceOffset("citrix-risk", 0), 3);
  EXPECT_EQ(spool_->SourceOffset("citrix-risk", 1), 5);
  EXPECT_EQ(spool_->SourceOffset("citrix-risk", 9), -1);
  std::vector<spool::PartitionOffset> offsets;
  ASSERT_TRUE(spool_->SourceOffsets(&offsets).ok());
  EXPECT_EQ(offsets.size(), 2u);
  // A drained route keeps counting upwards: sequences are never reused.
  AppendN(kA, 1);
  EXPECT_GT(ReadAll(kA).front().seq, last_seq);
  // Failed batch ids are never reused either, even after a drop.
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(spool_->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  ASSERT_TRUE(spool_->Drop(failed[0].id).ok());
  Reopen();
  uint64_t id = 0;
  ASSERT_TRUE(spool_->Fail(kB, {b[1].seq}, spool::FailureInfo{}, &id).ok());
  EXPECT_GT(id, failed[0].id);
}

TEST_F(SpoolTest, OffsetsOnlyMoveForward) {
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, "x"));
  b.offsets = {{"t", 0, 100}};
  ASSERT_TRUE(spool_->Append(b).ok());
  b.offsets = {{"t", 0, 50}};
  ASSERT_TRUE(spool_->Append(b).ok());
  EXPECT_EQ(spool_->SourceOffset("t", 0), 100);
}

TEST_F(SpoolTest, WatermarksAndCapacity) {
  spool::SpoolOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.9;
  o.low_watermark = 0.5;
  Reopen(o);
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, std::string(800, 'x')));
  ASSERT_TRUE(spool_->Append(b).ok());
  EXPECT_FALSE(spool_->AboveHighWatermark());
  EXPECT_FALSE(spool_->BelowLowWatermark());
  b.events[0].payload = std::string(100, 'y');
  ASSERT_TRUE(spool_->Append(b).ok());
  EXPECT_TRUE(spool_->AboveHighWatermark());
  b.events[0].payload = std::string(101, 'z');
  Status s = spool_->Append(b);
  EXPECT_TRUE(s.IsFull()) << s.ToString();
  EXPECT_EQ(ReadAll(kA).size(), 2u) << "a refused append writes nothing";
  std::vector<spool::PendingEvent> all = ReadAll(kA);
  ASSERT_TRUE(spool_->Ack(kA, all, 0, 1).ok());
  EXPECT_TRUE(spool_->BelowLowWatermark());
  EXPECT_FALSE(spool_->AboveHighWatermark());
  EXPECT_TRUE(spool_->Append(b).ok());
}

TEST_F(SpoolTest, SecondWriterGetsInUseByPid) {
  std::unique_ptr<spool::Spool> second;
  Status s = spool::Spool::Open(spool::SpoolOptions(), dir_.Sub("spool"), &second);
  ASSERT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_NE(s.message().find("in use by pid " + std::to_string(::getpid())), std::string::npos)
      << s.message();
}

TEST_F(SpoolTest, DirectoryIsPrivate) {
  AppendN(kA, 1);
  Reopen();
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Sub("spool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("spool"))) {
    ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
    if (S_ISREG(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 0077, 0u) << entry.path();
    }
  }
}

TEST_F(SpoolTest, ReadOnlyAndSecondaryInstancesSeeTheData) {
  AppendN(kA, 3);
  spool::SpoolOptions ro;
  ro.secondary = true;
  ro.secondary_path = dir_.Sub("secondary");
  std::unique_ptr<spool::Spool> follower;
  Status s = spool::Spool::Open(ro, dir_.Sub("spool"), &follower);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<spool::PendingEvent> out;
  ASSERT_TRUE(follower->Read(kA, 0, 100, SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 3u);
  AppendN(kA, 2);
  ASSERT_TRUE(follower->CatchUp().ok());
  ASSERT_TRUE(follower->Read(kA, 0, 100, SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 5u);
  spool::SpoolStats st;
  ASSERT_TRUE(follower->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].pending_events, 5u);
  EXPECT_EQ(follower->Append(spool::AppendBatch{}).code(), Status::Code::kInvalidArgument);
  follower.reset();
  spool_.reset();
  spool::SpoolOptions offline;
  offline.read_only = true;
  ASSERT_TRUE(spool::Spool::Open(offline, dir_.Sub("spool"), &follower).ok());
  ASSERT_TRUE(follower->Read(kA, 0, 100, SIZE_MAX, &out).ok());
  EXPECT_EQ(out.size(), 5u);
}

// Issue 15: a mark left by a process that stopped mid-post is in doubt at the next writer's open,
// for as long as nobody clears it; a cleared mark leaves nothing; stats count the pending events
// the in-doubt ranges hold.
TEST_F(SpoolTest, InFlightMarksBecomeInDoubtAtTheNextOpen) {
  AppendN(kA, 10);
  AppendN(kB, 4);
  std::vector<spool::PendingEvent> a = ReadAll(kA);
  std::vector<spool::PendingEvent> b = ReadAll(kB);
  ASSERT_TRUE(spool_->MarkInFlight(kA, a[0].seq, a[4].seq).ok());
  ASSERT_TRUE(spool_->MarkInFlight(kA, a[5].seq, a[9].seq).ok());
  ASSERT_TRUE(spool_->MarkInFlight(kB, b[0].seq, b[3].seq).ok());
  ASSERT_TRUE(spool_->ClearInFlight(kA, a[5].seq).ok());  // that request's outcome is known
  ASSERT_TRUE(spool_->Ack(kA, a, 0, 2).ok());             // two of the first range were acked
  std::vector<spool::InDoubtRange> doubt;
  ASSERT_TRUE(spool_->InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty()) << "in flight in this process is not in doubt";

  // Read-only inspection of the stopped spool sees what the next start will hold in doubt.
  spool_.reset();
  {
    std::unique_ptr<spool::Spool> ro;
    spool::SpoolOptions o;
    o.read_only = true;
    ASSERT_TRUE(spool::Spool::Open(o, dir_.Sub("spool"), &ro).ok());
    spool::SpoolStats st;
    ASSERT_TRUE(ro->Stats(&st).ok());
    EXPECT_EQ(st.routes[kA].in_doubt_events, 3u);
    EXPECT_EQ(st.routes[kB].in_doubt_events, 4u);
  }
  Reopen();
  ASSERT_TRUE(spool_->InDoubt(&doubt).ok());
  ASSERT_EQ(doubt.size(), 2u);
  EXPECT_EQ(doubt[0].route, kB);
  EXPECT_EQ(doubt[0].first_seq, b[0].seq);
  EXPECT_EQ(doubt[0].last_seq, b[3].seq);
  EXPECT_EQ(doubt[1].route, kA);
  EXPECT_EQ(doubt[1].first_seq, a[0].seq);
  EXPECT_EQ(doubt[1].last_seq, a[4].seq);
  EXPECT_GT(doubt[1].marked_ms, 0);
  spool::SpoolStats st;
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].in_doubt_events, 3u);
  EXPECT_EQ(st.routes[kA].pending_events, 8u);

  // Still in doubt after another restart until resolved; a new mark of this process is not.
  ASSERT_TRUE(spool_->MarkInFlight(kA, a[5].seq, a[9].seq).ok());
  ASSERT_TRUE(spool_->ClearInFlight(kA, a[5].seq).ok());
  Reopen();
  ASSERT_TRUE(spool_->InDoubt(&doubt).ok());
  EXPECT_EQ(doubt.size(), 2u);
  ASSERT_TRUE(spool_->ClearInDoubt(kA, a[0].seq).ok());
  ASSERT_TRUE(spool_->ClearInDoubt(kB, b[0].seq).ok());
  Reopen();
  ASSERT_TRUE(spool_->InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty());
  ASSERT_TRUE(spool_->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].in_doubt_events, 0u);
}

TEST(SpoolOpenTest, MissingSpoolIsNotFoundWhenNotCreating) {
  TempDir dir;
  spool::SpoolOptions o;
  o.create_if_missing = false;
  std::unique_ptr<spool::Spool> s;
  Status st = spool::Spool::Open(o, dir.Sub("nope"), &s);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  o.read_only = true;
  EXPECT_TRUE(spool::Spool::Open(o, dir.Sub("nope"), &s).IsNotFound());
}

TEST(SpoolOpenTest, ForeignDirectoryIsRefusedAndUntouched) {
  TempDir dir;
  std::filesystem::create_directories(dir.Sub("data"));
  { std::ofstream(dir.Sub("data/precious.txt")) << "keep me"; }
  std::unique_ptr<spool::Spool> s;
  Status st = spool::Spool::Open(spool::SpoolOptions(), dir.Sub("data"), &s);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.Sub("data")), {}), 1);
}

TEST(SpoolOpenTest, NewerFormatVersionIsRefused) {
  TempDir dir;
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  }
  {
    // Stamp a future version with plain RocksDB, as a newer gateway would have.
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"pending", {}}, {"failed", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.Sub("spool"), cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[3], "format_version", "99").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  std::unique_ptr<spool::Spool> s;
  Status st = spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s);
  EXPECT_EQ(st.code(), Status::Code::kUnsupported) << st.ToString();
  EXPECT_NE(st.message().find("format version 99"), std::string::npos) << st.message();
}

TEST(SpoolOpenTest, CorruptedSpoolIsReportedAndLeftAlone) {
  TempDir dir;
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
    spool::AppendBatch b;
    b.events.push_back(MakeEvent(kA, "x"));
    ASSERT_TRUE(s->Append(b).ok());
  }
  std::string manifest;
  for (const auto& entry : std::filesystem::directory_iterator(dir.Sub("spool"))) {
    if (entry.path().filename().string().starts_with("MANIFEST")) manifest = entry.path();
  }
  ASSERT_FALSE(manifest.empty());
  {
    std::fstream f(manifest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.write("garbage!garbage!garbage!", 24);
  }
  auto listing = [&] {
    std::set<std::pair<std::string, uintmax_t>> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir.Sub("spool"))) {
      files.insert({entry.path().filename().string(), entry.file_size()});
    }
    return files;
  };
  auto before = listing();
  std::unique_ptr<spool::Spool> s;
  Status st = spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("left untouched"), std::string::npos) << st.message();
  auto after = listing();
  for (const auto& f : before) {
    EXPECT_TRUE(after.count(f)) << f.first << " changed or vanished";
  }
}

// A spool on a disk that can be made full (or failing) on demand.
class SpoolDiskFullTest : public ::testing::Test {
 protected:
  SpoolDiskFullTest()
      : fs(std::make_shared<testing::FullDiskFileSystem>(rocksdb::FileSystem::Default())),
        env(rocksdb::NewCompositeEnv(fs)) {
    o.env = env.get();
  }

  // RocksDB recovers from the error in the background (its SstFileManager re-checks the disk
  // every few seconds); the caller retries, as ingest does, with a short pause between tries.
  static Status AppendUntilAccepted(spool::Spool* s, const spool::AppendBatch& b) {
    Status st;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(st = s->Append(b)).ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return st;
  }

  TempDir dir;
  std::shared_ptr<testing::FullDiskFileSystem> fs;
  std::unique_ptr<rocksdb::Env> env;
  spool::SpoolOptions o;
};

TEST_F(SpoolDiskFullTest, AppendFailsCleanlyAndRecoversWhenSpaceReturns) {
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
    spool::AppendBatch b;
    b.events.push_back(MakeEvent(kA, "before"));
    b.offsets = {{"t", 0, 1}};
    ASSERT_TRUE(s->Append(b).ok());
    fs->full = true;
    b.events[0].payload = "during";
    b.offsets = {{"t", 0, 2}};
    Status st = s->Append(b);
    EXPECT_TRUE(st.IsIOError()) << st.ToString();
    EXPECT_NE(st.message().find("disk full"), std::string::npos) << st.message();
    EXPECT_GT(fs->refused.load(), 0);
    EXPECT_EQ(s->SourceOffset("t", 0), 1) << "a failed append records no offset";
    std::vector<spool::PendingEvent> out;
    ASSERT_TRUE(s->Read(kA, 0, 10, SIZE_MAX, &out).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "before");
    fs->full = false;
    b.events[0].payload = "after";
    b.offsets = {{"t", 0, 3}};
    st = AppendUntilAccepted(s.get(), b);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  std::vector<spool::PendingEvent> out;
  ASSERT_TRUE(s->Read(kA, 0, 10, SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, "before");
  EXPECT_EQ(out[1].payload, "after");
  EXPECT_EQ(s->SourceOffset("t", 0), 3);
}

// A disk that stays full through many retries. RocksDB 7.8 aborts the process on the line it logs
// after its own LOG file failed (seen on a full tmpfs in ChaosTest.DiskFullPausesAndResumes), so
// RocksDB's diagnostics must never be written to the spool's disk.
TEST_F(SpoolDiskFullTest, LongOutageNeverAbortsAndLeavesNoLogFileOnTheSpoolDisk) {
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, std::string(4000, 'x')));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->Append(b).ok());
  fs->full = true;
  int failed = 0;
  for (int i = 0; i < 3000; ++i) failed += s->Append(b).ok() ? 0 : 1;
  EXPECT_EQ(failed, 3000);
  fs->full = false;
  Status st = AppendUntilAccepted(s.get(), b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.routes[kA].pending_events, 51u);
  for (const auto& entry : std::filesystem::directory_iterator(dir.Sub("spool"))) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("LOG")) << entry.path();
  }
}

// RocksDB's diagnostics reach the process log (journald under systemd), marked as RocksDB's.
TEST_F(SpoolDiskFullTest, RocksDbDiagnosticsGoToTheProcessLog) {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  auto capture = std::make_shared<spdlog::logger>("capture", ring);
  capture->set_level(spdlog::level::debug);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(capture);
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  }
  spdlog::set_default_logger(previous);
  size_t from_rocksdb = 0;
  for (const std::string& line : ring->last_formatted()) {
    from_rocksdb += line.find("spool: rocksdb: ") != std::string::npos ? 1 : 0;
  }
  EXPECT_GT(from_rocksdb, 0u) << "RocksDB logs its options and recovery when a database opens";

  // At the default level (info) none of that chatter shows: RocksDB's info lines are debug.
  auto info_ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
  auto info_capture = std::make_shared<spdlog::logger>("capture-info", info_ring);
  info_capture->set_level(spdlog::level::info);
  spdlog::set_default_logger(info_capture);
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool2"), &s).ok());
    spool::AppendBatch b;
    b.events.push_back(MakeEvent(kA, "x"));
    ASSERT_TRUE(s->Append(b).ok());
  }
  spdlog::set_default_logger(previous);
  for (const std::string& line : info_ring->last_formatted()) {
    EXPECT_EQ(line.find("spool: rocksdb: "), std::string::npos) << line;
  }
}

// An I/O error that RocksDB deems fatal cannot be resumed in-process; the spool closes and reopens
// its database on the next change, and nothing acknowledged is lost.
TEST_F(SpoolDiskFullTest, FatalIoErrorIsRecoveredByReopening) {
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, "before"));
  ASSERT_TRUE(s->Append(b).ok());
  fs->io_error = true;
  b.events[0].payload = "during";
  EXPECT_FALSE(s->Append(b).ok());
  fs->io_error = false;
  b.events[0].payload = "after";
  Status st = AppendUntilAccepted(s.get(), b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<spool::PendingEvent> out;
  ASSERT_TRUE(s->Read(kA, 0, 10, SIZE_MAX, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, "before");
  EXPECT_EQ(out[1].payload, "after");
  std::unique_ptr<spool::Spool> second;
  EXPECT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &second).IsBusy()) << "the lock was held throughout";
}

// Appenders race a reader that follows with a cursor: the reader must see every event exactly once,
// even though concurrent appends commit out of sequence order.
TEST(SpoolConcurrencyTest, CursorReaderNeverSkipsConcurrentAppends) {
  TempDir dir;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  constexpr int kThreads = 4, kBatches = 60, kPerBatch = 5;
  std::atomic<int> done{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kBatches; ++i) {
        spool::AppendBatch b;
        for (int j = 0; j < kPerBatch; ++j) {
          b.events.push_back(MakeEvent(kA, std::to_string(t) + ":" + std::to_string(i * kPerBatch + j)));
        }
        ASSERT_TRUE(s->Append(b).ok());
      }
      ++done;
    });
  }
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  std::vector<spool::PendingEvent> out;
  while (true) {
    bool finished = done.load() == kThreads;
    ASSERT_TRUE(s->Read(kA, cursor, 64, SIZE_MAX, &out).ok());
    for (const auto& e : out) {
      ASSERT_GT(e.seq, cursor);
      cursor = e.seq;
      seen.insert(e.payload);
    }
    if (finished && out.empty()) break;
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
}

}  // namespace
}  // namespace sg
