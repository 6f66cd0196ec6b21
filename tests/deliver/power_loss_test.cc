// Exactly once after power cuts (issue 15, the power-loss variant). A power cut takes back what
// the spool wrote since its last sync: the acks of events Azure already has, and the in-flight
// marks of requests Azure may have taken. The next start, on another boot, puts the head of each
// table in doubt up to the in-flight bound (spool.h, "Power loss"); with dedupe = "query" the
// Query API then says which of those events arrived. Real parts: the spool on RocksDB over the
// power-loss filesystem (tests/support/power_loss_fs.h), the drainer, the HTTPS emulator with its
// Query API and an ingestion delay.
//
// Each round: a drainer delivers at full speed; once Azure has taken a random number of new rows,
// delivery stops, the power goes (nothing unsynced survives), and the next round starts on a new
// boot id. With dedupe on: lost 0 and duplicated 0. With dedupe off: lost 0, and the duplicates
// the cuts caused are measured and printed, so the difference shows in one run.
//
// Knob: SG_POWER_CUTS (default 6).
#include <algorithm>
#include <iostream>
#include <random>

#include <fmt/format.h>
#include <rocksdb/env.h>

#include "../support/power_loss_fs.h"
#include "pipeline_fixture.h"

namespace sg::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class PowerLossExactlyOnceTest : public PipelineTest, public ::testing::WithParamInterface<bool> {
 protected:
  deliver::DrainerOptions Options(bool dedupe) {
    deliver::DrainerOptions d = FastRetries({kRiskRoute});
    d.event_id_field = "sg_event_id";
    d.dedupe.query = dedupe;
    d.dedupe.workspace_id = emu_options_.workspace_id;
    d.dedupe.query_endpoint = emulator_->base_url();
    d.dedupe.wait = milliseconds(1000);  // above the emulator's ingestion delay, as in Azure
    d.dedupe.query_timeout = seconds(20);
    return d;
  }

  spool::SpoolOptions Spooling(const deliver::DrainerOptions& d, rocksdb::Env* env, const std::string& boot) {
    spool::SpoolOptions so;
    so.env = env;
    so.boot_id = boot;
    // Acks synced by count only, so every cut takes some back.
    so.ack_sync_interval_ms = 60'000;
    so.ack_sync_events = 2'000;
    so.in_flight_bound_events = d.UnmarkedPostBound();
    return so;
  }

  uint64_t RowsInAzure() { return emulator_->Stats().value("rows_total", uint64_t{0}); }
};

TEST_P(PowerLossExactlyOnceTest, PowerCutsAtRandomMomentsOfDelivery) {
  const bool dedupe = GetParam();
  const int n = 30'000;
  const int cuts = EnvSeconds("SG_POWER_CUTS", 6);
  emulator::EmulatorOptions eo = EmulatorDefaults();
  eo.query_api = true;
  eo.ingestion_delay = milliseconds(300);
  StartEmulator(eo);
  Feed(kRiskRoute, 0, n);
  spool_.reset();  // closed cleanly: the rounds below start from a durable backlog

  const deliver::DrainerOptions d = Options(dedupe);
  std::mt19937 rng(std::random_device{}());
  int cut_during_delivery = 0, rounds = 0;
  for (int round = 0; round < cuts; ++round, ++rounds) {
    auto fs = std::make_shared<PowerLossFileSystem>(rocksdb::FileSystem::Default());
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
    Status s = spool::Spool::Open(Spooling(d, env.get(), fmt::format("boot-{}", round)), dir_ + "/spool", &spool_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (Pending() == 0) break;
    const uint64_t before = RowsInAzure();
    const uint64_t more = std::uniform_int_distribution<uint64_t>(300, 4'000)(rng);
    StartDrainer(d, LogsIngestion());
    const bool delivering =
        WaitFor([&] { return RowsInAzure() >= before + more || Pending() == 0; }, seconds(60));
    ASSERT_TRUE(delivering) << "round " << round << ": Azure took " << RowsInAzure() - before << " rows";
    cut_during_delivery += Pending() > 0 ? 1 : 0;
    drainer_->Stop(milliseconds(0));
    drainer_.reset();
    fs->PowerCut();
    spool_.reset();
    fs->DropUnsyncedData();
  }
  EXPECT_GT(cut_during_delivery, 0) << "no cut fell during delivery: the backlog is too small";

  // Power back for good: whatever is pending or in doubt is settled.
  spool::SpoolOptions so = Spooling(d, nullptr, "boot-final");
  ASSERT_TRUE(spool::Spool::Open(so, dir_ + "/spool", &spool_).ok());
  const uint64_t in_doubt_at_restart = InDoubtEvents();
  StartDrainer(d, LogsIngestion());
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0 && InDoubtEvents() == 0; }, seconds(120)))
      << Pending() << " pending, " << InDoubtEvents() << " in doubt";
  auto counters = drainer_->Counters()[kRiskRoute];
  drainer_->Stop(seconds(5));

  auto rec = Recorded()[kRiskRoute];
  int missing = 0;
  uint64_t duplicates = 0;
  for (int i = 0; i < n; ++i) {
    auto it = rec.find(i);
    if (it == rec.end()) {
      ++missing;
    } else {
      duplicates += static_cast<uint64_t>(it->second - 1);
    }
  }
  std::cout << fmt::format(
      "[ power    ] dedupe {}: {} cuts ({} during delivery), {} events: lost {}, duplicated {}; "
      "last restart: {} in doubt, {} found in the table, {} posted after the query, {} posted unchecked\n",
      dedupe ? "query" : "off", rounds, cut_during_delivery, n, missing, duplicates, in_doubt_at_restart,
      counters.in_doubt_already_delivered, counters.in_doubt_posted, counters.in_doubt_posted_unchecked);
  EXPECT_EQ(missing, 0) << "lost";
  if (dedupe) {
    EXPECT_EQ(duplicates, 0u);
    EXPECT_TRUE(counters.in_doubt_failures.empty());
  } else {
    EXPECT_GT(duplicates, 0u) << "the cuts took back acks of delivered events: without the query they "
                                 "are posted again (if not, this test does not cut where it matters)";
  }
}

INSTANTIATE_TEST_SUITE_P(Dedupe, PowerLossExactlyOnceTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Query" : "Off"; });

}  // namespace
}  // namespace sg::testing
