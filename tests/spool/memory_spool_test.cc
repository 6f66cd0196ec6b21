// The test double tests/support/memory_spool.h against the RocksDB spool: the same operations on
// both give the same answers, so a unit test over the memory spool proves what it would over the
// real one (durability aside, which the memory spool does not model).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "memory_spool.h"
#include "sentinel_gateway/spool.h"

namespace sg {
namespace {

class MemorySpoolAgreementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-memspool-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    spool::SpoolOptions so;
    so.max_bytes = 4096;
    ASSERT_TRUE(spool::Spool::Open(so, dir_ + "/spool", &real_).ok());
    memory_ = std::make_unique<testing::MemorySpool>(so);
  }
  void TearDown() override {
    real_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs `op` on both spools and expects the same Status code.
  template <typename Op>
  void Both(const Op& op) {
    Status a = op(real_.get());
    Status b = op(memory_.get());
    EXPECT_EQ(a.code(), b.code()) << a.ToString() << " vs " << b.ToString();
  }

  static spool::AppendBatch Events(const std::string& route, int first, int n, size_t size = 10) {
    spool::AppendBatch b;
    for (int i = first; i < first + n; ++i) {
      b.events.push_back({route, std::string(size, static_cast<char>('a' + i % 26)), {"t", 0, i}});
    }
    b.offsets.push_back({"t", 0, first + n - 1});
    return b;
  }

  static std::vector<uint64_t> Seqs(const std::vector<spool::PendingEvent>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events) out.push_back(e.seq);
    return out;
  }

  void ExpectSameReads(const std::string& route, uint64_t after, size_t max_events, size_t max_bytes) {
    std::vector<spool::PendingEvent> a, b;
    ASSERT_TRUE(real_->Read(route, after, max_events, max_bytes, &a).ok());
    ASSERT_TRUE(memory_->Read(route, after, max_events, max_bytes, &b).ok());
    ASSERT_EQ(Seqs(a), Seqs(b)) << route << " after " << after;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].payload, b[i].payload);
  }

  // reopened: the real spool was opened again since (duplicates_skipped counts since the open).
  void ExpectSameStats(bool reopened = false) {
    spool::SpoolStats a, b;
    ASSERT_TRUE(real_->Stats(&a).ok());
    ASSERT_TRUE(memory_->Stats(&b).ok());
    ASSERT_EQ(a.routes.size(), b.routes.size());
    for (const auto& [route, ra] : a.routes) {
      const spool::RouteStats& rb = b.routes[route];
      EXPECT_EQ(ra.pending_events, rb.pending_events) << route;
      EXPECT_EQ(ra.pending_bytes, rb.pending_bytes) << route;
      EXPECT_EQ(ra.in_doubt_events, rb.in_doubt_events) << route;
    }
    EXPECT_EQ(a.failed_batches, b.failed_batches);
    EXPECT_EQ(a.failed_events, b.failed_events);
    EXPECT_EQ(a.failed_bytes, b.failed_bytes);
    EXPECT_EQ(a.used_bytes, b.used_bytes);
    EXPECT_EQ(a.appended_total, b.appended_total);
    EXPECT_EQ(a.acked_total, b.acked_total);
    if (!reopened) {
      EXPECT_EQ(a.duplicates_skipped, b.duplicates_skipped);
    }
    EXPECT_EQ(real_->AboveHighWatermark(), memory_->AboveHighWatermark());
    EXPECT_EQ(real_->Routes(), memory_->Routes());
  }

  std::string dir_;
  std::unique_ptr<spool::Spool> real_;
  std::unique_ptr<testing::MemorySpool> memory_;
};

TEST_F(MemorySpoolAgreementTest, AppendReadAckFailRequeueAndMarksAgree) {
  Both([](spool::Spool* s) { return s->Append(Events("A", 0, 20)); });
  Both([](spool::Spool* s) { return s->Append(Events("B", 20, 5)); });
  Both([](spool::Spool* s) { return s->Append(Events("A", 15, 10)); });  // 15..24 spooled before: skipped
  Both([](spool::Spool* s) { return s->Append(Events("A", 25, 1000)); });  // past max_bytes: Full
  Both([](spool::Spool* s) { return s->Append(spool::AppendBatch{{spool::NewEvent{"", "x", {}}}, {}, {}}); });  // no route
  ExpectSameStats();
  ExpectSameReads("A", 0, 100, SIZE_MAX);
  ExpectSameReads("A", 0, 7, SIZE_MAX);
  ExpectSameReads("A", 5, 100, 35);   // a byte budget: whole events only
  ExpectSameReads("A", 0, 100, 1);    // at least one event
  ExpectSameReads("B", 0, 100, SIZE_MAX);
  ExpectSameReads("none", 0, 100, SIZE_MAX);

  std::vector<spool::PendingEvent> head;
  ASSERT_TRUE(memory_->Read("A", 0, 6, SIZE_MAX, &head).ok());
  Both([&](spool::Spool* s) { return s->Ack("A", head, 0, 4); });
  Both([&](spool::Spool* s) { return s->Ack("A", head, 4, 9); });  // out of bounds
  std::vector<spool::PendingEvent> reversed = {head[5], head[4]};
  Both([&](spool::Spool* s) { return s->Ack("A", reversed); });    // not in seq order
  ExpectSameStats();
  ExpectSameReads("A", 0, 100, SIZE_MAX);

  spool::FailureInfo why;
  why.http_status = 400;
  why.reason = "http_400";
  uint64_t id_a = 0, id_b = 0;
  Both([&](spool::Spool* s) { return s->Fail("A", {head[4].seq, head[5].seq}, why, s == real_.get() ? &id_a : &id_b); });
  EXPECT_EQ(id_a, id_b);
  Both([&](spool::Spool* s) { return s->Fail("A", {head[0].seq}, why, nullptr); });  // acked: NotFound
  ExpectSameStats();
  std::vector<spool::FailedBatch> fa, fb;
  ASSERT_TRUE(real_->ListFailed(0, 10, "A", &fa).ok());
  ASSERT_TRUE(memory_->ListFailed(0, 10, "A", &fb).ok());
  ASSERT_EQ(fa.size(), fb.size());
  ASSERT_EQ(fa.size(), 1u);
  EXPECT_EQ(Seqs(fa[0].events), Seqs(fb[0].events));
  EXPECT_EQ(fa[0].why.reason, fb[0].why.reason);
  EXPECT_EQ(fa[0].bytes, fb[0].bytes);

  size_t moved_a = 0, moved_b = 0;
  Both([&](spool::Spool* s) { return s->Requeue(id_a, s == real_.get() ? &moved_a : &moved_b); });
  EXPECT_EQ(moved_a, moved_b);
  Both([&](spool::Spool* s) { return s->Requeue(id_a, nullptr); });  // gone: NotFound
  ExpectSameStats();
  ExpectSameReads("A", 0, 100, SIZE_MAX);  // requeued at the tail, with new seqs

  EXPECT_EQ(real_->SourceOffset("t", 0), memory_->SourceOffset("t", 0));

  // In-flight marks: a cleared one is gone; those left become in doubt at the writer's next open
  // (the memory spool: PromoteInFlight), and Stats counts each pending event in them once.
  Both([](spool::Spool* s) { return s->MarkInFlight("A", 7, 9); });
  Both([](spool::Spool* s) { return s->ClearInFlight("A", 7); });
  Both([](spool::Spool* s) { return s->MarkInFlight("A", 8, 12); });
  Both([](spool::Spool* s) { return s->MarkInFlight("A", 10, 14); });  // overlaps the one before
  Both([](spool::Spool* s) { return s->MarkInFlight("B", 21, 22); });
  real_.reset();
  spool::SpoolOptions so;
  so.max_bytes = 4096;
  ASSERT_TRUE(spool::Spool::Open(so, dir_ + "/spool", &real_).ok());
  memory_->PromoteInFlight();
  std::vector<spool::InDoubtRange> da, db;
  ASSERT_TRUE(real_->InDoubt(&da).ok());
  ASSERT_TRUE(memory_->InDoubt(&db).ok());
  ASSERT_EQ(da.size(), 3u);
  ASSERT_EQ(da.size(), db.size());
  for (size_t i = 0; i < da.size(); ++i) {
    EXPECT_EQ(da[i].route, db[i].route);
    EXPECT_EQ(da[i].first_seq, db[i].first_seq);
    EXPECT_EQ(da[i].last_seq, db[i].last_seq);
  }
  ExpectSameStats(/*reopened=*/true);
  Both([](spool::Spool* s) { return s->ClearInDoubt("A", 8); });
  ExpectSameStats(/*reopened=*/true);
}

}  // namespace
}  // namespace sg
