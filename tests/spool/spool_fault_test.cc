// The spool's stuck states (issue 12): each test drives the spool into one with a fault-injecting
// filesystem over the real disk and proves that the spool leaves it by itself. No sleeps stand in
// for synchronisation: a test waits for a state with a bounded poll.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include "full_disk_fs.h"
#include "../support/power_loss_fs.h"
#include "sentinel_gateway/spool.h"
#include "spool_test_util.h"
#include "../support/wait.h"

namespace sg {
namespace {

using testing::MakeEvent;
using testing::TempDir;
using testing::WaitFor;

constexpr char kA[] = "CitrixAnalytics_riskScoreChange_CL";

spool::AppendBatch Batch(int32_t partition, int64_t first_offset, int n, const std::string& prefix) {
  spool::AppendBatch b;
  for (int i = 0; i < n; ++i) {
    const int64_t offset = first_offset + i;
    b.events.push_back(MakeEvent(kA, prefix + std::to_string(offset), partition, offset));
  }
  b.offsets = {{"citrix-risk", partition, first_offset + n - 1}};
  return b;
}

std::vector<spool::PendingEvent> ReadAll(spool::Spool* s) {
  std::vector<spool::PendingEvent> out;
  Status st = s->Read(kA, 0, 1 << 20, SIZE_MAX, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

class SpoolFaultTest : public ::testing::Test {
 protected:
  SpoolFaultTest()
      : fs(std::make_shared<testing::FullDiskFileSystem>(rocksdb::FileSystem::Default())),
        env(rocksdb::NewCompositeEnv(fs)) {
    o.env = env.get();
  }

  // Retries as ingest does until the spool takes the batch (bounded).
  static Status AppendUntilAccepted(spool::Spool* s, const spool::AppendBatch& b) {
    Status st;
    WaitFor([&] { return (st = s->Append(b)).ok(); }, std::chrono::seconds(60));
    return st;
  }

  TempDir dir;
  std::shared_ptr<testing::FullDiskFileSystem> fs;
  std::unique_ptr<rocksdb::Env> env;
  spool::SpoolOptions o;
};

// Issue 12 item 3: a reopen that failed is retried by the spool itself. Nothing but reads and
// watermark checks happen after the fault is gone (ingest is paused, the drainer has nothing to
// ack), and the spool still comes back.
TEST_F(SpoolFaultTest, FailedReopenIsRetriedWithoutAnyChange) {
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 3, "e")).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  ASSERT_EQ(events.size(), 3u);

  fs->io_error = true;
  EXPECT_FALSE(s->Ack(kA, events, 0, 1).ok()) << "the ack's WAL write fails (fatal in RocksDB)";
  // The next change tries the reopen, which fails too: the spool is closed.
  Status st;
  ASSERT_TRUE(WaitFor([&] {
    st = s->Ack(kA, events, 0, 1);
    return st.message().find("could not be reopened") != std::string::npos;
  }, std::chrono::seconds(10))) << st.ToString();
  EXPECT_TRUE(s->AboveHighWatermark()) << "a closed spool pauses ingest";
  // A consumer assigned a partition now must not start from scratch (or from "latest"): the
  // closed spool still answers what it holds.
  EXPECT_EQ(s->SourceOffset("citrix-risk", 0), 2);
  std::vector<spool::PartitionOffset> offsets;
  EXPECT_TRUE(s->SourceOffsets(&offsets).ok());
  EXPECT_EQ(offsets.size(), 1u);

  fs->io_error = false;
  // Only reads and watermark checks from here on.
  bool reads_ok = false, below = false;
  EXPECT_TRUE(WaitFor([&] {
    std::vector<spool::PendingEvent> out;
    reads_ok = s->Read(kA, 0, 100, SIZE_MAX, &out).ok() && out.size() == 3;
    below = !s->AboveHighWatermark();
    return reads_ok && below;
  }, std::chrono::seconds(5))) << "reads ok: " << reads_ok << ", below the high watermark: " << below;
  // And it takes writes again.
  EXPECT_TRUE(s->Ack(kA, events).ok());
  EXPECT_TRUE(ReadAll(s.get()).empty());
}

// Issue 12 item 5: the WAL write of an append succeeded but its fsync failed. The caller was told
// the append failed and retries the same batch; the reopen replays the first write. The batch's
// offsets say it is already spooled: it must be there once, not twice.
TEST_F(SpoolFaultTest, AppendRetriedAfterFailedFsyncIsSpooledOnce) {
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 2, "e")).ok());
  const spool::AppendBatch b = Batch(0, 2, 5, "e");
  fs->sync_error = true;
  Status st = s->Append(b);
  EXPECT_FALSE(st.ok()) << "the fsync failed, so the append is not durable";
  EXPECT_GT(fs->refused.load(), 0);
  fs->sync_error = false;
  st = AppendUntilAccepted(s.get(), b);
  ASSERT_TRUE(st.ok()) << st.ToString();

  std::vector<spool::PendingEvent> out = ReadAll(s.get());
  std::vector<std::string> payloads;
  for (const auto& e : out) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"e0", "e1", "e2", "e3", "e4", "e5", "e6"}));
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.appended_total, 7u);
  EXPECT_EQ(stats.routes[kA].pending_events, 7u);
  EXPECT_EQ(s->SourceOffset("citrix-risk", 0), 6);

  // The same after a restart: counters and events agree with the disk.
  s.reset();
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  EXPECT_EQ(ReadAll(s.get()).size(), 7u);
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.routes[kA].pending_events, 7u);
}

// The same class as item 5 for acks: an ack whose fsync failed may be on disk after all; the
// drainer retries it after the reopen. The retry must not count the events as acked twice (the
// counters drive the watermarks and max_bytes).
TEST_F(SpoolFaultTest, AckRetriedAfterFailedFsyncCountsOnce) {
  o.ack_sync_events = 1;  // every ack is synced, so its fsync can fail
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 5, "e")).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  const uint64_t before = s->UsedBytes();
  fs->sync_error = true;
  EXPECT_FALSE(s->Ack(kA, events, 0, 3).ok());
  fs->sync_error = false;
  Status st;
  ASSERT_TRUE(WaitFor([&] { return (st = s->Ack(kA, events, 0, 3)).ok(); }, std::chrono::seconds(30)))
      << st.ToString();
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.acked_total, 3u);
  EXPECT_EQ(stats.routes[kA].pending_events, 2u);
  EXPECT_EQ(s->UsedBytes(), before - events[0].payload.size() - events[1].payload.size() - events[2].payload.size());
  EXPECT_EQ(ReadAll(s.get()).size(), 2u);
}

// Issue 12 item 5, the rule itself: what the recorded offsets already cover is not written again;
// of a partly covered batch only the new part is; events without a Kafka offset are always written.
TEST(SpoolIdempotentAppendTest, OffsetsAlreadySpooledAreNotWrittenAgain) {
  TempDir dir;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 5, "p0-")).ok());
  ASSERT_TRUE(s->Append(Batch(1, 0, 2, "p1-")).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 5, "p0-")).ok()) << "a repeat is accepted (it is spooled) ...";
  EXPECT_EQ(ReadAll(s.get()).size(), 7u) << "... but not written again";

  // Partly covered, across two partitions: p0 3..7 (3 and 4 are spooled), p1 2..3 (new).
  spool::AppendBatch mixed = Batch(0, 3, 5, "p0-");
  spool::AppendBatch p1 = Batch(1, 2, 2, "p1-");
  mixed.events.insert(mixed.events.end(), p1.events.begin(), p1.events.end());
  mixed.offsets.push_back(p1.offsets[0]);
  spool::QuarantinedMessage old_bad;
  old_bad.payload = "not json";
  old_bad.source = {"citrix-risk", 0, 4};
  old_bad.why.reason = "invalid_json";
  mixed.quarantined.push_back(old_bad);
  spool::QuarantinedMessage new_bad = old_bad;
  new_bad.source.offset = 8;
  mixed.quarantined.push_back(new_bad);
  mixed.offsets[0].offset = 8;
  mixed.events.push_back(MakeEvent(kA, "no-source"));
  mixed.events.back().source = spool::SourceRef{};
  ASSERT_TRUE(s->Append(mixed).ok());

  std::vector<std::string> payloads;
  for (const auto& e : ReadAll(s.get())) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"p0-0", "p0-1", "p0-2", "p0-3", "p0-4", "p1-0", "p1-1",
                                                "p0-5", "p0-6", "p0-7", "p1-2", "p1-3", "no-source"}));
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(s->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u) << "only the quarantined message past the mark";
  EXPECT_EQ(failed[0].events.at(0).source.offset, 8);
  EXPECT_EQ(s->SourceOffset("citrix-risk", 0), 8);
  EXPECT_EQ(s->SourceOffset("citrix-risk", 1), 3);
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.appended_total, 13u);
  EXPECT_EQ(stats.quarantined_total, 1u);
}

// Issue 12 item 4 (the spool's part): after the topic was recreated, offsets at or below the old
// mark are new messages. Ingest marks the batch's offset `rewound`; the new messages are then
// spooled, not skipped as duplicates, and the rewound mark survives a restart.
TEST(SpoolIdempotentAppendTest, ARewoundOffsetLetsARecreatedTopicsMessagesIn) {
  TempDir dir;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 10, "old-")).ok());
  ASSERT_TRUE(s->Append(Batch(1, 0, 3, "p1-")).ok());
  spool::AppendBatch recreated = Batch(0, 0, 5, "new-");
  recreated.offsets[0].rewound = true;
  ASSERT_TRUE(s->Append(recreated).ok());
  EXPECT_EQ(ReadAll(s.get()).size(), 18u) << "the 5 new messages are spooled beside the 13 before";
  EXPECT_EQ(s->SourceOffset("citrix-risk", 0), 4);
  EXPECT_EQ(s->SourceOffset("citrix-risk", 1), 2) << "other partitions keep their marks";
  ASSERT_TRUE(s->Append(Batch(0, 3, 4, "new-")).ok()) << "3 and 4 are spooled, 5 and 6 are new";
  EXPECT_EQ(ReadAll(s.get()).size(), 20u);
  s.reset();
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  EXPECT_EQ(s->SourceOffset("citrix-risk", 0), 6);
  EXPECT_EQ(ReadAll(s.get()).size(), 20u);
}

// Issue 12 item 8: acks are synced once a second at the latest, even when nothing else is written
// after them; a power cut then re-delivers nothing that was acked before that.
TEST(SpoolPowerLossTest, AcksReachTheDiskWithinTheSyncIntervalWithoutOtherWrites) {
  TempDir dir;
  auto fs = std::make_shared<testing::PowerLossFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  spool::SpoolOptions o;
  o.env = env.get();
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 5, "e")).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  ASSERT_TRUE(s->Ack(kA, events, 0, 3).ok());
  EXPECT_TRUE(WaitFor([&] { return fs->UnsyncedBytes(".log") == 0; }, std::chrono::seconds(5)))
      << fs->UnsyncedBytes(".log") << " bytes of the WAL are still unsynced";
  fs->PowerCut();
  s.reset();
  fs->DropUnsyncedData();
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  std::vector<std::string> payloads;
  for (const auto& e : ReadAll(s.get())) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"e3", "e4"}));
}

// Issue 12 item 8: with a long interval, the count bound syncs: every ack_sync_events acked events.
TEST(SpoolPowerLossTest, AcksAreSyncedEveryNEvents) {
  TempDir dir;
  auto fs = std::make_shared<testing::PowerLossFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  spool::SpoolOptions o;
  o.env = env.get();
  o.ack_sync_interval_ms = 3600 * 1000;
  o.ack_sync_events = 10;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 25, "e")).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  ASSERT_EQ(events.size(), 25u);
  for (size_t i = 0; i < events.size(); ++i) ASSERT_TRUE(s->Ack(kA, events, i, i + 1).ok());
  fs->PowerCut();
  s.reset();
  fs->DropUnsyncedData();
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &s).ok());
  std::vector<std::string> payloads;
  for (const auto& e : ReadAll(s.get())) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"e20", "e21", "e22", "e23", "e24"}))
      << "the acks of e0..e19 were synced at the 10th and 20th event";
}

// Issue 15, power loss: a cut takes back the unsynced acks and in-flight marks, so the events a
// drainer posted last are pending again with nothing saying they may be in Azure. The next open,
// on another boot, puts the head of each route in doubt up to the bound; a read-only open (a
// stopped gateway's `sentinel-spool stats`) shows the same before that start.
// A spool's options over the power-loss filesystem, on boot "boot-1".
struct PowerLossRig {
  std::shared_ptr<testing::PowerLossFileSystem> fs =
      std::make_shared<testing::PowerLossFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  spool::SpoolOptions Options() {
    spool::SpoolOptions o;
    o.env = env.get();
    o.boot_id = "boot-1";
    return o;
  }
  // The power goes with `s` open: nothing unsynced survives its close.
  void Cut(std::unique_ptr<spool::Spool>* s) {
    fs->PowerCut();
    s->reset();
    fs->DropUnsyncedData();
  }
};

TEST(SpoolPowerLossTest, AfterARestartTheHeadOfEachRouteIsInDoubt) {
  TempDir dir;
  const std::string kB = "CitrixAnalytics_indicatorSummary_CL";
  PowerLossRig rig;
  spool::SpoolOptions o = rig.Options();
  o.ack_sync_interval_ms = 3600 * 1000;
  o.ack_sync_events = 3;
  o.in_flight_bound_events = 5;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  spool::AppendBatch b = Batch(0, 0, 20, "e");
  for (int i = 0; i < 2; ++i) b.events.push_back(MakeEvent(kB, "b" + std::to_string(i), 1, i));
  b.offsets.push_back({"citrix-risk", 1, 1});
  ASSERT_TRUE(s->Append(b).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  ASSERT_TRUE(s->MarkInFlight(kA, events[0].seq, events[1].seq).ok());
  ASSERT_TRUE(s->Ack(kA, events, 0, 2).ok());  // under ack_sync_events: not synced
  rig.Cut(&s);

  o.env = nullptr;
  o.boot_id = "boot-2";
  for (bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "read-only open" : "writer open");
    o.read_only = read_only;
    ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
    ASSERT_EQ(ReadAll(s.get()).size(), 20u) << "the unsynced acks were taken back";
    std::vector<spool::InDoubtRange> doubt;
    ASSERT_TRUE(s->InDoubt(&doubt).ok());
    ASSERT_EQ(doubt.size(), 2u);
    spool::SpoolStats st;
    ASSERT_TRUE(s->Stats(&st).ok());
    EXPECT_EQ(st.routes[kA].in_doubt_events, 8u) << "in_flight_bound_events + ack_sync_events from the head";
    EXPECT_EQ(st.routes[kB].in_doubt_events, 2u) << "the whole of a shorter route";
    auto a = std::find_if(doubt.begin(), doubt.end(), [&](const spool::InDoubtRange& r) { return r.route == kA; });
    ASSERT_NE(a, doubt.end());
    EXPECT_EQ(a->first_seq, events[0].seq) << "from the head, whose ack was lost";
    s.reset();
  }
  // The writer's open made it durable: the next open on the same boot still has it in doubt.
  o.read_only = false;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  std::vector<spool::InDoubtRange> doubt;
  ASSERT_TRUE(s->InDoubt(&doubt).ok());
  EXPECT_EQ(doubt.size(), 2u);
}

// Events already in doubt at the head are held, not posted: lanes went past them, so the bound
// counts from the first event outside them.
TEST(SpoolPowerLossTest, TheHeadRangeCountsPastEventsAlreadyInDoubt) {
  TempDir dir;
  PowerLossRig rig;
  spool::SpoolOptions o = rig.Options();
  o.ack_sync_events = 3;
  o.in_flight_bound_events = 5;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 20, "e")).ok());
  std::vector<spool::PendingEvent> events = ReadAll(s.get());
  ASSERT_TRUE(s->MarkInFlight(kA, events[0].seq, events[3].seq).ok());
  ASSERT_TRUE(s->Append(Batch(0, 20, 1, "e")).ok());  // synced: the mark is durable too
  rig.Cut(&s);
  o.env = nullptr;
  o.boot_id = "boot-2";
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  spool::SpoolStats st;
  ASSERT_TRUE(s->Stats(&st).ok());
  EXPECT_EQ(st.routes[kA].in_doubt_events, 12u) << "the 4 marked, then 5 + 3 more";
}

// Overlapping and touching ranges of one route become one; other routes stay apart.
TEST(SpoolPowerLossTest, InDoubtRangesMergePerRoute) {
  std::vector<spool::InDoubtRange> merged = spool::MergeInDoubt({{"b", 5, 9, 30}, {"a", 10, 12, 20}, {"a", 1, 4, 50},
                                                   {"a", 3, 6, 10}, {"b", 11, 11, 5}});
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(std::tie(merged[0].route, merged[0].first_seq, merged[0].last_seq, merged[0].marked_ms),
            std::make_tuple(std::string("a"), uint64_t{1}, uint64_t{6}, int64_t{10}));
  EXPECT_EQ(std::tie(merged[1].first_seq, merged[1].last_seq), std::make_tuple(uint64_t{10}, uint64_t{12}))
      << "7..9 is a gap";
  EXPECT_EQ(std::tie(merged[2].route, merged[2].first_seq, merged[2].last_seq),
            std::make_tuple(std::string("b"), uint64_t{5}, uint64_t{9}));
  EXPECT_EQ(merged[3].first_seq, 11u);
}

// A clean stop leaves nothing in doubt, even across a restart; a stop without a close on the same
// boot (a process crash: the page cache keeps the WAL) adds nothing to the in-flight marks.
TEST(SpoolPowerLossTest, ACleanStopOrACrashWithoutRestartPutsNothingInDoubt) {
  TempDir dir;
  PowerLossRig rig;
  spool::SpoolOptions o = rig.Options();
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->Append(Batch(0, 0, 10, "e")).ok());
  s.reset();  // clean
  o.boot_id = "boot-2";
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  std::vector<spool::InDoubtRange> doubt;
  ASSERT_TRUE(s->InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty()) << "a clean stop, then a restart";
  rig.Cut(&s);  // no close reaches the disk: as if the process died
  o.env = nullptr;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty()) << "same boot: the in-flight marks say all";
  s.reset();
  o.boot_id = "boot-3";
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  ASSERT_TRUE(s->InDoubt(&doubt).ok());
  EXPECT_TRUE(doubt.empty()) << "the last open closed cleanly";
}

// Issue 12 item 7: one pending record that cannot be decoded used to fail every read of its route
// (the drainer retried it for ever). It moves to the failed area with its reason; the rest flows.
TEST(SpoolCorruptRecordTest, CorruptPendingRecordMovesToTheFailedAreaAndTheRouteGoesOn) {
  TempDir dir;
  const std::string path = dir.Sub("spool");
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), path, &s).ok());
    ASSERT_TRUE(s->Append(Batch(0, 0, 3, "e")).ok());
  }
  uint64_t bad_seq = 0;
  {
    // Damage the middle record's header with RocksDB itself (the spool is closed).
    rocksdb::DBOptions dbo;
    // The spool's meta counters are merge operands; this plain RocksDB has no merge operator, so
    // it must not flush them on recovery (they stay in the WAL for the spool to replay).
    dbo.avoid_flush_during_recovery = true;
    dbo.avoid_flush_during_shutdown = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* n : {"default", "pending", "failed", "meta"}) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(dbo, path, cfs, &h, &db).ok());
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h[1]));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    it->Next();
    ASSERT_TRUE(it->Valid());
    std::string key = it->key().ToString();
    bad_seq = 2;
    it.reset();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db->Put(wo, h[1], key, std::string("\x01\xff\xff", 3)).ok());
    for (auto* x : h) db->DestroyColumnFamilyHandle(x);
    delete db;
  }
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), path, &s).ok());
  spool::SpoolStats before;
  ASSERT_TRUE(s->Stats(&before).ok());
  EXPECT_EQ(before.routes[kA].pending_events, 3u);
  std::vector<spool::PendingEvent> out;
  Status st = s->Read(kA, 0, 100, SIZE_MAX, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<std::string> payloads;
  for (const auto& e : out) payloads.push_back(e.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"e0", "e2"}));
  std::vector<spool::FailedBatch> failed;
  ASSERT_TRUE(s->ListFailed(0, 10, "", &failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].route, kA);
  EXPECT_EQ(failed[0].why.reason, "corrupt_record");
  EXPECT_NE(failed[0].why.error_text.find("seq " + std::to_string(bad_seq)), std::string::npos)
      << failed[0].why.error_text;
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.routes[kA].pending_events, 2u);
  EXPECT_EQ(stats.failed_batches, 1u);
  ASSERT_TRUE(s->Ack(kA, out).ok());
  EXPECT_TRUE(ReadAll(s.get()).empty());
}

// Issue 12 item 7: the failed area has its own budget; a dead-letter area as large as the whole
// pending capacity neither pauses ingest (watermarks) nor refuses appends (Full).
TEST(SpoolFailedBudgetTest, ALargeFailedAreaNeitherPausesNorFillsTheSpool) {
  TempDir dir;
  spool::SpoolOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.9;
  o.low_watermark = 0.5;
  std::unique_ptr<spool::Spool> s;
  ASSERT_TRUE(spool::Spool::Open(o, dir.Sub("spool"), &s).ok());
  spool::AppendBatch b;
  b.events.push_back(MakeEvent(kA, std::string(950, 'x')));
  ASSERT_TRUE(s->Append(b).ok());
  EXPECT_TRUE(s->AboveHighWatermark());
  std::vector<spool::PendingEvent> out = ReadAll(s.get());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(s->Fail(kA, {out[0].seq}, spool::FailureInfo{400, "http_400", "refused", 1, 0, 0}, nullptr).ok());
  EXPECT_FALSE(s->AboveHighWatermark()) << "the failed area does not count toward the watermarks";
  EXPECT_TRUE(s->BelowLowWatermark());
  b.events[0].payload = std::string(800, 'y');
  Status st = s->Append(b);
  EXPECT_TRUE(st.ok()) << st.ToString();
  spool::SpoolStats stats;
  ASSERT_TRUE(s->Stats(&stats).ok());
  EXPECT_EQ(stats.failed_bytes, 950u);
  EXPECT_EQ(stats.used_bytes, 800u);
  EXPECT_EQ(stats.failed_max_bytes, 250u) << "default: a quarter of max_bytes";
  // Quarantined input is never refused for room either.
  spool::AppendBatch q;
  spool::QuarantinedMessage m;
  m.payload = std::string(900, 'q');
  m.why.reason = "invalid_json";
  q.quarantined.push_back(m);
  st = s->Append(q);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// Issue 12 item 7: a writer that finds the lock held for a moment (a tool's probe, a gateway still
// stopping) waits for it, bounded, instead of giving up at once; held longer, it still gets Busy.
TEST(SpoolLockTest, AWriterWaitsForABrieflyHeldLockAndIsBusyAfterItsBound) {
  TempDir dir;
  const std::string path = dir.Sub("spool");
  {
    std::unique_ptr<spool::Spool> s;
    ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), path, &s).ok());
  }
  int fd = ::open((path + "/gateway.lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);  // what an older tool's probe did
  spool::SpoolOptions o;
  o.lock_wait_ms = 10000;
  Status opened;
  std::unique_ptr<spool::Spool> s;
  std::thread writer([&] { opened = spool::Spool::Open(o, path, &s); });
  ::close(fd);  // the probe ends while the writer waits (or before it tried: either way it must win)
  writer.join();
  EXPECT_TRUE(opened.ok()) << opened.ToString();

  spool::SpoolOptions brief;
  brief.lock_wait_ms = 300;
  std::unique_ptr<spool::Spool> second;
  const auto t0 = std::chrono::steady_clock::now();
  Status busy = spool::Spool::Open(brief, path, &second);
  EXPECT_TRUE(busy.IsBusy()) << busy.ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
}

}  // namespace
}  // namespace sg
