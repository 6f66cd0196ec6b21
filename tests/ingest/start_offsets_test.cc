// Unit tests of the start-offset decision (src/ingest/start_offsets.h) and of the batch's merge
// and drop (src/ingest/batch.h): each case of the README's invariants 4 and 8 on its own.
#include <gtest/gtest.h>

#include "../../src/ingest/batch.h"
#include "../../src/ingest/start_offsets.h"

namespace sg {
namespace ingest {
namespace {

using Why = StartOffset::Why;

TEST(StartOffsets, ResumesAfterTheCommittedAndSpooledOffsets) {
  StartOffset s = ChooseStart(/*committed=*/10, /*spooled=*/19, /*lo=*/0, /*hi=*/100, false);
  EXPECT_EQ(s.start, 20);
  EXPECT_EQ(s.why, Why::kResume);
  EXPECT_TRUE(s.commit_spooled);  // the spool is ahead of the group: commit its offset too
  s = ChooseStart(30, 19, 0, 100, false);
  EXPECT_EQ(s.start, 30);
  EXPECT_FALSE(s.commit_spooled);
  s = ChooseStart(-1, -1, 0, 100, false);  // nothing known: librdkafka's auto.offset.reset
  EXPECT_EQ(s.start, -1);
  EXPECT_EQ(s.position, -1);
  s = ChooseStart(-1, 19, -1, -1, false);  // log ends unknown: after the spool all the same
  EXPECT_EQ(s.start, 20);
  EXPECT_TRUE(s.commit_spooled);
}

TEST(StartOffsets, ALogEndingAtOrBelowTheSpooledOffsetIsConsumedAgain) {
  // Recreated topic, no committed offset: from the log's start.
  StartOffset s = ChooseStart(-1, 99, 0, 5, false);
  EXPECT_EQ(s.why, Why::kRewound);
  EXPECT_EQ(s.start, 0);
  EXPECT_FALSE(s.commit_spooled);
  // Committed offset inside the new log: from it.
  s = ChooseStart(3, 99, 0, 5, false);
  EXPECT_EQ(s.start, 3);
  // Committed offset past the new end (truncation): from the end.
  s = ChooseStart(50, 99, 0, 40, false);
  EXPECT_EQ(s.why, Why::kRewound);
  EXPECT_EQ(s.start, 40);
  // Ending exactly at the spooled offset counts as below the next one.
  EXPECT_EQ(ChooseStart(-1, 99, 0, 99, false).why, Why::kRewound);
  EXPECT_EQ(ChooseStart(-1, 99, 0, 100, false).why, Why::kResume);
}

TEST(StartOffsets, RetentionPassingThePositionResumesPerAutoOffsetReset) {
  StartOffset s = ChooseStart(10, -1, 50, 80, /*reset_latest=*/false);
  EXPECT_EQ(s.why, Why::kRetentionPassed);
  EXPECT_EQ(s.position, 10);
  EXPECT_EQ(s.start, 50);
  s = ChooseStart(10, -1, 50, 80, /*reset_latest=*/true);
  EXPECT_EQ(s.start, 80);
  s = ChooseStart(10, 9, 50, 80, false);  // spooled up to 9, retention at 50
  EXPECT_EQ(s.why, Why::kRetentionPassed);
  EXPECT_EQ(s.start, 50);
  EXPECT_FALSE(s.commit_spooled);
}

spool::NewEvent Event(const std::string& topic, int32_t partition, int64_t offset, const std::string& payload) {
  return spool::NewEvent{"route", payload, spool::SourceRef{topic, partition, offset}};
}

TEST(Batch, AbsorbKeepsTheOlderMessagesFirstAndTheHighestOffsets) {
  Batch older, newer;
  older.append.events.push_back(Event("t", 0, 5, "a"));
  older.Count({"t", 0}, 5, 1);
  newer.append.events.push_back(Event("t", 0, 6, "bb"));
  newer.Count({"t", 0}, 6, 2);
  newer.append.events.push_back(Event("t", 1, 2, "ccc"));
  newer.Count({"t", 1}, 2, 3);
  newer.rewound.insert({"t", 1});
  older.Absorb(&newer);
  ASSERT_EQ(older.append.events.size(), 3u);
  EXPECT_EQ(older.append.events[0].payload, "a");
  EXPECT_EQ(older.append.events[1].payload, "bb");
  EXPECT_EQ(older.msgs, 3u);
  EXPECT_EQ(older.bytes, 6u);
  EXPECT_EQ(newer.msgs, 0u);
  EXPECT_TRUE(newer.append.events.empty());
  older.SetSpoolOffsets();
  ASSERT_EQ(older.append.offsets.size(), 2u);
  EXPECT_EQ(older.append.offsets[0].offset, 6);
  EXPECT_FALSE(older.append.offsets[0].rewound);
  EXPECT_EQ(older.append.offsets[1].offset, 2);
  EXPECT_TRUE(older.append.offsets[1].rewound);
}

TEST(Batch, DropRemovesAPartitionsMessagesAndOffsetTogether) {
  Batch b;
  b.append.events.push_back(Event("t", 0, 1, "aa"));
  b.Count({"t", 0}, 1, 2);
  b.append.events.push_back(Event("t", 1, 7, "bbb"));
  b.Count({"t", 1}, 7, 3);
  EXPECT_EQ(b.Drop({{"t", 1}}), 1u);
  EXPECT_EQ(b.msgs, 1u);
  EXPECT_EQ(b.bytes, 2u);
  EXPECT_EQ(b.offsets.count({"t", 1}), 0u);
  ASSERT_EQ(b.append.events.size(), 1u);
  EXPECT_EQ(b.append.events[0].source.partition, 0);
}

}  // namespace
}  // namespace ingest
}  // namespace sg
