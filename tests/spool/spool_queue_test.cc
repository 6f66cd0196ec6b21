// The queue trap: deleting from the head of a RocksDB key range leaves tombstones that every later
// seek to the head must step over (RocksDB wiki "Implement Queue Service Using RocksDB",
// facebook/rocksdb#5265, #10300). This test drains a million events and checks, with RocksDB's own
// perf counters rather than a clock, that the work of a head read stays flat.
#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "sentinel_gateway/spool.h"
#include "spool_test_util.h"

namespace sg {
namespace {

uint64_t InternalStepsOfLastRead() {
  const rocksdb::PerfContext* p = rocksdb::get_perf_context();
  return p->internal_key_skipped_count + p->internal_delete_skipped_count +
         p->internal_range_del_reseek_count + p->seek_on_memtable_count + p->next_on_memtable_count;
}

TEST(SpoolQueueTest, HeadReadsStayFlatAcrossAMillionAcks) {
  constexpr int kEvents = 1'000'000, kBatch = 1000;
  testing::TempDir dir;
  std::unique_ptr<spool::Spool> spool;
  ASSERT_TRUE(spool::Spool::Open(spool::SpoolOptions(), dir.Sub("spool"), &spool).ok());
  const std::string route = "CitrixAnalytics_indicatorEventDetails_CL";
  const std::string payload(100, 'x');
  for (int i = 0; i < kEvents; i += kBatch) {
    spool::AppendBatch b;
    b.events.reserve(kBatch);
    for (int j = 0; j < kBatch; ++j) b.events.push_back(testing::MakeEvent(route, payload));
    ASSERT_TRUE(spool->Append(b).ok());
  }
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  std::vector<uint64_t> steps;
  std::vector<spool::PendingEvent> head;
  size_t drained = 0;
  for (;;) {
    rocksdb::get_perf_context()->Reset();
    ASSERT_TRUE(spool->Read(route, 0, kBatch, SIZE_MAX, &head).ok());
    steps.push_back(InternalStepsOfLastRead());
    if (head.empty()) break;
    drained += head.size();
    ASSERT_TRUE(spool->Ack(route, head).ok());
  }
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_EQ(drained, static_cast<size_t>(kEvents));
  ASSERT_GT(steps.size(), 100u);
  uint64_t first = 0, last = 0;
  for (size_t i = 0; i < 50; ++i) {
    first = std::max(first, steps[i]);
    last = std::max(last, steps[steps.size() - 2 - i]);
  }
  std::cerr << "internal steps per head read of " << kBatch << " events: first reads max " << first
            << ", last reads max " << last << "\n";
  // Without the remembered head the last reads would step over ~1M tombstones; with range deletes
  // they would re-fragment every tombstone since the last flush. Flat means a few steps at most.
  EXPECT_LE(last, first + first / 10 + 16);
  EXPECT_LE(steps.back(), static_cast<uint64_t>(4 * kBatch)) << "reading an empty route after the drain";
}

}  // namespace
}  // namespace sg
