// Integration tests: the ingest stage against librdkafka's mock cluster (real Kafka protocol,
// consumer groups, injected errors) with a real RocksDB spool on disk. Every test counts what
// reached the spool: each produced event exactly once, bad input in the failed area.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <spdlog/spdlog.h>

#include "../spool/full_disk_fs.h"
#include "../spool/spool_test_util.h"
#include "kafka_test_util.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/spool.h"

namespace sg::testing {
namespace {

using namespace std::chrono_literals;
using ingest::Ingest;
using ingest::IngestHealth;
using ingest::IngestOptions;
using ingest::IngestStats;

constexpr const char* kTopic = "citrix";
constexpr int kPartitions = 4;
// Kafka API keys for rd_kafka_mock_push_request_errors (not in librdkafka's public headers).
constexpr int16_t kApiFetch = 1;
constexpr int16_t kApiOffsetCommit = 8;

// Reads and acks everything pending in `spool`, counting each seq, as the deliver stage would.
void DrainAll(spool::Spool* spool, std::map<int64_t, int>* drained) {
  for (const std::string& route : spool->Routes()) {
    while (true) {
      std::vector<spool::PendingEvent> out;
      if (!spool->Read(route, 0, 1000, 1 << 20, &out).ok() || out.empty()) break;
      for (const spool::PendingEvent& e : out) ++(*drained)[nlohmann::json::parse(e.payload)["seq"].get<int64_t>()];
      if (!spool->Ack(route, out).ok()) break;
    }
  }
}

// Drains what is left in `a` into `drained`, then checks seqs [0, n) each once across what was
// drained from `a` and what `b` holds. A member that lost partitions (its session expired: under
// tools/load-test.sh a 4.5 s session can) could not commit what it had spooled, so their next
// owner reads it again: then every seq must be there at least once (Kafka's at-least-once across
// members; each spool alone still holds each seq once).
void ExpectDrainedAndSpooledOnce(spool::Spool* a, std::map<int64_t, int>* drained, spool::Spool* b, int64_t n,
                                 uint64_t partitions_lost = 0) {
  DrainAll(a, drained);
  SpoolContents cb = ReadSpool(b);
  SpoolContents ca;
  ca.pending_by_seq = *drained;
  for (const SpoolContents* c : {&ca, &cb}) {
    for (const auto& [seq, k] : c->pending_by_seq) EXPECT_EQ(k, 1) << "seq " << seq << " twice in one spool";
  }
  if (partitions_lost > 0) std::printf("%llu partitions lost: duplicates across the two spools allowed\n",
                                       static_cast<unsigned long long>(partitions_lost));
  ExpectExactlyOnce({&ca, &cb}, n, partitions_lost > 0);
}

class IngestMockTest : public ::testing::Test {
 protected:
  IngestMockTest() : mc_(3, kTopic, kPartitions), producer_(mc_.bootstraps()) {}

  std::unique_ptr<spool::Spool> OpenSpool(const std::string& name, spool::SpoolOptions so = {}) {
    std::unique_ptr<spool::Spool> s;
    Status st = spool::Spool::Open(so, tmp_.Sub(name), &s);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }

  IngestOptions Options(const std::string& group) {
    IngestOptions o;
    o.brokers = mc_.bootstraps();
    o.topics = {kTopic};
    o.group_id = group;
    o.security_protocol = "plaintext";  // the mock cluster's
    o.max_batch_bytes = 32u << 20;      // as these tests were written with
    o.commit_interval = std::chrono::milliseconds(100);
    o.poll_timeout_ms = 50;
    o.session_timeout = std::chrono::milliseconds(4500);  // > the mock's 3 s first-join delay; rejoins wait this - 1 s
    o.librdkafka["heartbeat.interval.ms"] = "300";
    o.librdkafka["log_level"] = "3";
    if (getenv("SG_KDEBUG")) {
      o.librdkafka["debug"] = getenv("SG_KDEBUG"), o.librdkafka["log_level"] = "7";
      spdlog::set_level(spdlog::level::debug);
    }
    return o;
  }

  std::unique_ptr<Ingest> StartIngest(const IngestOptions& o, spool::Spool* spool) {
    std::unique_ptr<Ingest> in;
    Status s = Ingest::Create(o, spool, &in);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (in) {
      s = in->Start();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return in;
  }

  void Produce(int64_t from, int64_t to, size_t size = 300) {
    for (int64_t i = from; i < to; ++i) producer_.Produce(kTopic, static_cast<int32_t>(i % kPartitions), CitrixEvent(i, size));
    ASSERT_TRUE(producer_.Flush());
  }

  // The consumer holds all partitions given, has fetched to the end of each, and the spool holds n.
  static bool CaughtUp(Ingest* in, spool::Spool* spool, uint64_t n, int partitions = kPartitions) {
    IngestStats st = in->Stats();
    return st.assigned_partitions == partitions && st.lag == 0 && PendingCount(spool) == n;
  }

  // Committed offsets of the group, per partition (-1001 when none).
  std::vector<int64_t> Committed(const std::string& group) {
    return CommittedOffsets(mc_.bootstraps(), group, kTopic, kPartitions);
  }

  int64_t CommittedSum(const std::string& group) {
    return testing::CommittedSum(mc_.bootstraps(), group, kTopic, kPartitions);
  }

  void ExpectFatalErrorRecovered(const std::function<void(rd_kafka_t*)>& raise);

  TempDir tmp_;
  MockCluster mc_;
  Producer producer_;
};

TEST_F(IngestMockTest, EverythingSpooledExactlyOnceAcrossRestart) {
  auto spool = OpenSpool("spool");
  Produce(0, 1000);
  {
    auto in = StartIngest(Options("g"), spool.get());
    ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 1000); }, 30s));
    ASSERT_TRUE(in->Stop().ok());
    IngestStats st = in->Stats();
    EXPECT_EQ(st.spooled, 1000u);
    EXPECT_EQ(st.consumed, 1000u);
    EXPECT_GE(st.commits, 1u);
    EXPECT_TRUE(in->Health().healthy);
  }
  // Every offset is committed after a clean stop.
  int64_t committed = 0;
  for (int64_t c : Committed("g")) committed += c;
  EXPECT_EQ(committed, 1000);

  Produce(1000, 2000);
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 2000); }, 30s));
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_EQ(in->Stats().spooled, 1000u);
  EXPECT_EQ(in->Stats().skipped_duplicates, 0u);
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, 2000);
  EXPECT_TRUE(c.failed.empty());
  // Routes follow event_type.
  std::vector<std::string> routes = spool->Routes();
  EXPECT_NE(std::find(routes.begin(), routes.end(), "CitrixAnalytics_userProfile"), routes.end());
  EXPECT_NE(std::find(routes.begin(), routes.end(), "CitrixAnalytics_CVAD_Events"), routes.end());
  EXPECT_NE(std::find(routes.begin(), routes.end(), ingest::kDefaultCatchAllRoute), routes.end());
}

// A child process spools without ever committing and is SIGKILLed mid-stream, three times. Each
// restart must seek past what the spool holds: no event twice, none missing.
// The on_spooled hook (the gateway wakes its drainer with it) fires for appends that held events,
// and only once they are in the spool.
TEST_F(IngestMockTest, OnSpooledRunsAfterEachDurableAppend) {
  auto spool = OpenSpool("spool");
  std::atomic<uint64_t> calls{0}, seen_pending{0};
  IngestOptions o = Options("g");
  o.max_batch_messages = 100;
  o.on_spooled = [&] {
    ++calls;
    seen_pending = std::max<uint64_t>(seen_pending, PendingCount(spool.get()));
  };
  Produce(0, 1000);
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 1000); }, 30s));
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_EQ(calls.load(), in->Stats().appends) << "one call per append that held events";
  EXPECT_GE(calls.load(), 10u) << "batches of at most 100 messages";
  EXPECT_EQ(seen_pending.load(), 1000u) << "the last call saw every event already in the spool";
}

TEST_F(IngestMockTest, KillBetweenAppendAndCommitSpoolsNothingTwice) {
  const int64_t kTotal = 6000;
  Produce(0, kTotal);
  const std::string dir = tmp_.Sub("spool");
  const int64_t kill_after[] = {300, 1500, 3000};
  for (int64_t at : kill_after) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(out[1], 1);
      close(out[0]);
      execl(INGEST_CHILD_PATH, INGEST_CHILD_PATH, mc_.bootstraps().c_str(), kTopic, "g", dir.c_str(),
            "3600000", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // Read progress lines until this run has spooled `at` events (or the deadline passes).
    std::string buf;
    int64_t spooled = 0, commits = -1;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (spooled < at && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      ssize_t n = read(out[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        long long s = 0, c = 0;
        if (std::sscanf(buf.substr(0, nl).c_str(), "spooled=%lld commits=%lld", &s, &c) == 2) spooled = s, commits = c;
        buf.erase(0, nl + 1);
      }
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(out[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended on its own: " << status;
    ASSERT_GE(spooled, at) << "the child did not make progress";
    EXPECT_EQ(commits, 0) << "the child committed offsets: the kill would not test the spool's offsets";
  }
  auto spool = OpenSpool("spool");
  const uint64_t before = PendingCount(spool.get());
  EXPECT_GE(before, 300u);
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), kTotal); }, 60s))
      << "pending " << PendingCount(spool.get());
  ASSERT_TRUE(in->Stop().ok());
  // The seek to spooled+1 did the work, not the duplicate guard.
  EXPECT_EQ(in->Stats().skipped_duplicates, 0u);
  EXPECT_EQ(in->Stats().spooled, kTotal - before);
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, kTotal);
}

class IngestRebalanceTest : public IngestMockTest, public ::testing::WithParamInterface<const char*> {};

// Two gateways in one group, each with its own spool: partitions move when the second joins and
// come back when it leaves; the union of both spools holds every event exactly once.
//
// The mock cluster refuses offset commits while its group rebalances (a real broker accepts the
// current generation's commits then), so a partition that moves mid-rebalance would restart at
// an older commit in the other gateway's spool. The test lets the periodic commit catch up
// before each membership change; the kill and commit-error tests cover uncommitted offsets.
TEST_P(IngestRebalanceTest, TwoConsumersShareThePartitions) {
  auto sa = OpenSpool("a");
  auto sb = OpenSpool("b");
  IngestOptions o = Options("g");
  o.assignment_strategy = GetParam();
  auto committed_sum = [&] {
    int64_t sum = 0;
    for (int64_t c : Committed("g")) sum += std::max<int64_t>(c, 0);
    return sum;
  };
  Produce(0, 2000);
  auto a = StartIngest(o, sa.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(a.get(), sa.get(), 2000) && committed_sum() == 2000; }, 30s));
  auto b = StartIngest(o, sb.get());
  ASSERT_TRUE(WaitFor(
      [&] {
        int na = a->Stats().assigned_partitions, nb = b->Stats().assigned_partitions;
        return na > 0 && nb > 0 && na + nb == kPartitions;
      },
      60s))
      << "a=" << a->Stats().assigned_partitions << " b=" << b->Stats().assigned_partitions;
  Produce(2000, 4000);
  ASSERT_TRUE(WaitFor(
      [&] {
        IngestStats x = a->Stats(), y = b->Stats();
        return x.lag == 0 && y.lag == 0 && x.assigned_partitions + y.assigned_partitions == kPartitions &&
               PendingCount(sa.get()) + PendingCount(sb.get()) == 4000 && committed_sum() == 4000;
      },
      60s))
      << PendingCount(sa.get()) << " + " << PendingCount(sb.get());
  EXPECT_GT(PendingCount(sb.get()), 0u);
  Produce(4000, 5000);
  ASSERT_TRUE(b->Stop().ok());  // B commits what it spooled before it leaves
  ASSERT_TRUE(WaitFor(
      [&] { return CaughtUp(a.get(), sa.get(), 5000 - PendingCount(sb.get())); }, 60s))
      << PendingCount(sa.get()) << " + " << PendingCount(sb.get()) << " assigned "
      << a->Stats().assigned_partitions << " lag " << a->Stats().lag;
  ASSERT_TRUE(a->Stop().ok());
  EXPECT_GE(a->Stats().rebalances, 3u);
  SpoolContents ca = ReadSpool(sa.get()), cb = ReadSpool(sb.get());
  ExpectExactlyOnce({&ca, &cb}, 5000);
}

INSTANTIATE_TEST_SUITE_P(Protocols, IngestRebalanceTest, ::testing::Values("cooperative-sticky", "range"),
                         [](const auto& info) { return std::string(info.param[0] == 'c' ? "Cooperative" : "Eager"); });

TEST_F(IngestMockTest, BrokersDownAndUpLoseNothing) {
  auto spool = OpenSpool("spool");
  Produce(0, 1000);
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 1000); }, 30s));
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc_.get(), b);
  // Health reports the outage with librdkafka's reason.
  ASSERT_TRUE(WaitFor([&] { return !in->Health().healthy; }, 30s));
  EXPECT_NE(in->Stats().last_error.find("kafka:"), std::string::npos) << in->Stats().last_error;
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc_.get(), b);
  Produce(1000, 2000);
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 2000); }, 60s)) << PendingCount(spool.get());
  EXPECT_TRUE(WaitFor([&] { return in->Health().healthy; }, 10s)) << in->Health().reason;
  ASSERT_TRUE(in->Stop().ok());
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, 2000);
}

// A fatal librdkafka error (for a static member fenced by its own rejoin after a broker restart:
// FENCED_INSTANCE_ID on a commit, rdkafka_request.c) spoils the consumer for good: librdkafka
// answers every later rebalance of it with an empty assignment and no rebalance callback
// (rdkafka_cgrp.c), which is how the gateway stopped consuming in the chaos suite's broker restart.
// Ingest destroys it and creates a new one; what the old one had consumed but not spooled is
// consumed again, what it spooled is not (the spool's offsets decide where to resume). `raise`
// makes the error happen, given A's first consumer handle; then B joins the group (a rebalance).
void IngestMockTest::ExpectFatalErrorRecovered(const std::function<void(rd_kafka_t*)>& raise) {
  auto sa = OpenSpool("a");
  auto sb = OpenSpool("b");
  std::mutex mu;
  rd_kafka_t* consumer = nullptr;
  IngestOptions o = Options("g");
  // A static member, as the gateway is by default: librdkafka heeds its own fatal error only for
  // one (rd_kafka_fatal_error_code(), rdkafka_int.h); a dynamic consumer carries on regardless.
  o.group_instance_id = "gateway-a";
  o.TEST_on_consumer_created = [&](void* rk) {
    std::lock_guard<std::mutex> l(mu);
    if (consumer == nullptr) consumer = static_cast<rd_kafka_t*>(rk);
  };
  Produce(0, 1000);
  auto a = StartIngest(o, sa.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(a.get(), sa.get(), 1000) && CommittedSum("g") == 1000; }, 30s));
  {
    std::lock_guard<std::mutex> l(mu);
    raise(consumer);
  }
  Produce(1000, 1100);  // a commit for the broker to refuse
  ASSERT_TRUE(WaitFor([&] { return a->Stats().last_error.find("fenced") != std::string::npos; }, 30s))
      << a->Stats().last_error;
  // A works again: it holds every partition and the group's offsets cover what its spool holds
  // (else B, joining next, would read again what A spooled but could not commit).
  ASSERT_TRUE(WaitFor(
      [&] { return CaughtUp(a.get(), sa.get(), 1100) && CommittedSum("g") == 1100; }, 60s))
      << "spooled " << PendingCount(sa.get()) << ", committed " << CommittedSum("g") << ", assigned "
      << a->Stats().assigned_partitions << ", " << a->Stats().last_error;
  auto b = StartIngest(Options("g"), sb.get());
  ASSERT_TRUE(WaitFor(
      [&] {
        int na = a->Stats().assigned_partitions, nb = b->Stats().assigned_partitions;
        return na > 0 && nb > 0 && na + nb == kPartitions;
      },
      60s))
      << "a=" << a->Stats().assigned_partitions << " b=" << b->Stats().assigned_partitions;
  Produce(1100, 2000);
  // Consumed, spooled and committed by consumers that work, A's share too.
  ASSERT_TRUE(WaitFor(
      [&] {
        return a->Stats().lag == 0 && b->Stats().lag == 0 && PendingCount(sa.get()) + PendingCount(sb.get()) == 2000 &&
               CommittedSum("g") == 2000;
      },
      60s))
      << "spooled " << PendingCount(sa.get()) << " + " << PendingCount(sb.get()) << ", committed "
      << CommittedSum("g") << ", " << a->Stats().last_error;
  EXPECT_EQ(a->Stats().consumer_restarts, 1u);
  EXPECT_NE(a->Stats().last_error.find("FENCED_INSTANCE_ID"), std::string::npos) << a->Stats().last_error;
  EXPECT_TRUE(a->Health().healthy) << a->Health().reason;
  ASSERT_TRUE(b->Stop().ok());
  ASSERT_TRUE(a->Stop().ok());
  SpoolContents ca = ReadSpool(sa.get()), cb = ReadSpool(sb.get());
  ExpectExactlyOnce({&ca, &cb}, 2000);
  EXPECT_TRUE(ca.failed.empty());
}

// rd_kafka_test_fatal_error raises the error as librdkafka's own fatal paths do
// (rd_kafka_set_fatal_error, rdkafka.c): for a consumer, a __FATAL consumer error.
TEST_F(IngestMockTest, FatalConsumerErrorRecreatesTheConsumer) {
  ExpectFatalErrorRecovered([](rd_kafka_t* rk) {
    ASSERT_EQ(rd_kafka_test_fatal_error(rk, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, "fenced by the test"),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  });
}

// The incident's own path: the broker answers an offset commit FENCED_INSTANCE_ID.
TEST_F(IngestMockTest, FencedOffsetCommitRecreatesTheConsumer) {
  ExpectFatalErrorRecovered([this](rd_kafka_t*) {
    rd_kafka_mock_push_request_errors(mc_.get(), kApiOffsetCommit, 1, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  });
}

// Fetch errors are retried; commits that all fail leave the group without committed offsets, and
// the spool's recorded offsets still keep the next consumer from spooling anything twice.
TEST_F(IngestMockTest, InjectedFetchAndCommitErrors) {
  auto spool = OpenSpool("spool");
  Produce(0, 2000);
  rd_kafka_mock_push_request_errors(mc_.get(), kApiFetch, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  std::vector<rd_kafka_resp_err_t> commit_errors(1000, RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE);
  rd_kafka_mock_push_request_errors_array(mc_.get(), kApiOffsetCommit, commit_errors.size(), commit_errors.data());
  {
    auto in = StartIngest(Options("g"), spool.get());
    ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 2000) && in->Stats().commit_failures > 0; }, 30s));
    ASSERT_TRUE(in->Stop().ok());
    EXPECT_EQ(in->Stats().commits, 0u);
    EXPECT_NE(in->Stats().last_error.find("commit"), std::string::npos) << in->Stats().last_error;
  }
  for (int64_t c : Committed("g")) EXPECT_LT(c, 0) << "a commit got through the injected errors";
  rd_kafka_mock_clear_request_errors(mc_.get(), kApiOffsetCommit);
  Produce(2000, 2500);
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 2500); }, 30s)) << PendingCount(spool.get());
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_EQ(in->Stats().spooled, 500u);
  EXPECT_EQ(in->Stats().skipped_duplicates, 0u);
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, 2500);
}

TEST_F(IngestMockTest, BadInputIsQuarantinedWithReasonAndOffset) {
  auto spool = OpenSpool("spool");
  const std::string big = "{\"event_type\":\"indicatorEventDetails\",\"pad\":\"" + std::string(3000, 'x') + "\"}";
  struct Case {
    std::string payload;
    const char* reason;  // "" for a good event
  };
  const std::vector<Case> cases = {
      {CitrixEvent(0), ""},
      {"this is not json", ingest::kReasonInvalidJson},
      {std::string("{\"event_type\":\"riskScoreChange\",\"city\":\"Z\xfcrich\"}"), ingest::kReasonInvalidUtf8},
      {"[{\"event_type\":\"riskScoreChange\"}]", ingest::kReasonNotObject},
      {"{\"entity_id\":\"a@b.c\"}", ingest::kReasonMissingEventType},
      {big, ingest::kReasonTooLarge},
      {"", ingest::kReasonInvalidJson},
      {CitrixEvent(1), ""},
  };
  for (const Case& c : cases) producer_.Produce(kTopic, 0, c.payload);
  Produce(2, 100);  // and good events on every partition
  IngestOptions o = Options("g");
  o.classifier.max_event_bytes = 2000;
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 100); }, 30s));
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_EQ(in->Stats().quarantined, 6u);
  SpoolContents got = ReadSpool(spool.get());
  ExpectExactlyOnce({&got}, 100);
  ASSERT_EQ(got.failed.size(), 6u);
  for (const spool::QuarantinedMessage& q : got.failed) {
    ASSERT_EQ(q.source.topic, kTopic);
    ASSERT_EQ(q.source.partition, 0);
    ASSERT_GE(q.source.offset, 1);
    ASSERT_LE(q.source.offset, 6);
    const Case& expected = cases[static_cast<size_t>(q.source.offset)];
    EXPECT_EQ(q.why.reason, expected.reason) << q.source.offset;
    EXPECT_EQ(q.payload, expected.payload) << "payload kept byte for byte";
    EXPECT_FALSE(q.why.error_text.empty());
  }
  // The offsets of bad messages advanced with the rest: partition 0 is committed to its end
  // (the 8 cases, then seqs 4, 8, ..., 96).
  std::vector<int64_t> committed = Committed("g");
  EXPECT_EQ(committed[0], static_cast<int64_t>(cases.size()) + 24);
}

// Above the high watermark consumption pauses (the consumer stays in the group), below the low
// watermark it resumes; a drainer acking events meanwhile sees every event exactly once.
TEST_F(IngestMockTest, BackpressurePausesAndResumes) {
  spool::SpoolOptions so;
  so.max_bytes = 200 * 1024;
  so.high_watermark = 0.5;
  so.low_watermark = 0.25;
  auto spool = OpenSpool("spool", so);
  const int64_t kTotal = 1000;  // ~1 MB: five times the spool
  Produce(0, kTotal, 1000);
  IngestOptions o = Options("g");
  o.max_batch_messages = 20;
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return in->Stats().paused; }, 30s));
  EXPECT_TRUE(in->Health().healthy);
  EXPECT_NE(in->Health().reason.find("paused"), std::string::npos);
  EXPECT_LE(spool->UsedBytes(), so.max_bytes);
  // Drain like the deliver stage would: read and ack, counting each seq.
  std::map<int64_t, int> drained;
  auto drain_some = [&] {
    for (const std::string& route : spool->Routes()) {
      std::vector<spool::PendingEvent> out;
      if (!spool->Read(route, 0, 30, 1 << 20, &out).ok() || out.empty()) continue;
      for (const spool::PendingEvent& e : out) ++drained[nlohmann::json::parse(e.payload)["seq"].get<int64_t>()];
      EXPECT_TRUE(spool->Ack(route, out).ok());
    }
  };
  // Drain only while consumption is paused, as far as the low watermark: each cycle then refills
  // the spool to its high watermark and pauses again, however fast either side runs (draining
  // all the time let a slow consumer never pause twice on a busy machine).
  ASSERT_TRUE(WaitFor(
      [&] {
        if (in->Stats().paused) drain_some();
        IngestStats st = in->Stats();
        return st.lag == 0 && st.assigned_partitions == kPartitions && !st.paused &&
               static_cast<int64_t>(drained.size() + PendingCount(spool.get())) >= kTotal;
      },
      60s))
      << drained.size() << " drained, " << PendingCount(spool.get()) << " pending";
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_GE(in->Stats().pauses, 2u);  // paused more than once as the drainer freed room
  SpoolContents rest = ReadSpool(spool.get());
  for (const auto& [seq, k] : drained) rest.pending_by_seq[seq] += k;
  ExpectExactlyOnce({&rest}, kTotal);
}

// A paused partition is not fetched; its lag must still follow the topic. Before, the lag came
// from librdkafka's cached high watermark, which only fetches update: it stood still while
// events piled up in Kafka during a pause.
TEST_F(IngestMockTest, LagOfPausedPartitionsFollowsTheTopic) {
  spool::SpoolOptions so;
  so.max_bytes = 200 * 1024;
  so.high_watermark = 0.5;
  so.low_watermark = 0.25;
  auto spool = OpenSpool("spool", so);
  Produce(0, 1000, 1000);
  IngestOptions o = Options("g");
  o.max_batch_messages = 20;
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return in->Stats().paused && in->Stats().assigned_partitions == kPartitions; }, 30s));
  Produce(1000, 1500, 1000);
  ASSERT_TRUE(WaitFor(
      [&] {
        const IngestStats st = in->Stats();
        return st.paused && st.lag == 1500 - static_cast<int64_t>(st.consumed);
      },
      30s))
      << "lag " << in->Stats().lag << ", consumed " << in->Stats().consumed << " of 1500";
  ASSERT_TRUE(in->Stop().ok());
}

// A spool at capacity: the append fails with Full, no offset advances, health says why, the
// same batch is retried; once a drainer frees room it goes in, nothing lost or doubled.
TEST_F(IngestMockTest, FailedAppendAdvancesNoOffsetAndRetries) {
  spool::SpoolOptions so;
  so.max_bytes = 200 * 1000;
  so.high_watermark = 1.0;  // no backpressure pause: exercise the failed-append path alone
  so.low_watermark = 1.0;
  auto spool = OpenSpool("spool", so);
  Produce(0, 400);  // ~120 KB
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 400); }, 30s));
  ASSERT_TRUE(WaitFor(
      [&] {
        int64_t sum = 0;
        for (int64_t c : Committed("g")) sum += c;
        return sum == 400;
      },
      30s));
  Produce(400, 800);  // does not fit
  ASSERT_TRUE(WaitFor([&] { return in->Stats().append_failures >= 2; }, 30s));
  IngestHealth h = in->Health();
  EXPECT_FALSE(h.healthy);
  EXPECT_NE(h.reason.find("spool append failing: Full"), std::string::npos) << h.reason;
  EXPECT_TRUE(in->Stats().paused);
  // Part of the new events may have fitted in smaller batches; the rest is held and retried, and
  // the committed offsets cover exactly what the spool holds, never more.
  const uint64_t held = PendingCount(spool.get());
  EXPECT_LT(held, 800u);
  auto committed_sum = [&] {
    int64_t sum = 0;
    for (int64_t c : Committed("g")) sum += c;
    return sum;
  };
  EXPECT_LE(committed_sum(), static_cast<int64_t>(held)) << "an offset advanced past what the spool holds";
  ASSERT_TRUE(WaitFor([&] { return committed_sum() == static_cast<int64_t>(held); }, 10s));
  EXPECT_EQ(PendingCount(spool.get()), held) << "appends went on while the spool was full";
  // Drain 300 events, as the deliver stage would.
  std::map<int64_t, int> drained;
  for (const std::string& route : spool->Routes()) {
    std::vector<spool::PendingEvent> out;
    ASSERT_TRUE(spool->Read(route, 0, 1000, 1 << 20, &out).ok());
    for (const spool::PendingEvent& e : out) ++drained[nlohmann::json::parse(e.payload)["seq"].get<int64_t>()];
    ASSERT_TRUE(spool->Ack(route, out).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 800 - drained.size()); }, 60s))
      << PendingCount(spool.get()) << " " << in->Health().reason;
  EXPECT_TRUE(WaitFor([&] { return in->Health().healthy && !in->Stats().paused; }, 10s)) << in->Health().reason;
  ASSERT_TRUE(in->Stop().ok());
  SpoolContents c = ReadSpool(spool.get());
  for (const auto& [seq, k] : drained) c.pending_by_seq[seq] += k;
  ExpectExactlyOnce({&c}, 800);
}

// A disk that refuses writes: the append fails, no offset advances, health says why; once space
// returns the same batch goes in and nothing is lost or doubled.
TEST_F(IngestMockTest, FailedAppendOnFullDiskAdvancesNoOffsetAndRetries) {
  auto fs = std::make_shared<FullDiskFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  spool::SpoolOptions so;
  so.env = env.get();
  auto spool = OpenSpool("spool", so);
  Produce(0, 400);
  auto in = StartIngest(Options("g"), spool.get());
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 400); }, 30s));
  ASSERT_TRUE(WaitFor(
      [&] {
        int64_t sum = 0;
        for (int64_t c : Committed("g")) sum += c;
        return sum == 400;
      },
      30s));
  fs->full = true;
  Produce(400, 800);
  ASSERT_TRUE(WaitFor([&] { return in->Stats().append_failures >= 2; }, 30s));
  IngestHealth h = in->Health();
  EXPECT_FALSE(h.healthy);
  EXPECT_NE(h.reason.find("spool append failing"), std::string::npos) << h.reason;
  EXPECT_TRUE(in->Stats().paused);
  int64_t sum = 0;
  for (int64_t c : Committed("g")) sum += c;
  EXPECT_EQ(sum, 400) << "an offset advanced past what the spool holds";
  fs->full = false;
  ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 800); }, 60s))
      << PendingCount(spool.get()) << " " << in->Health().reason;
  EXPECT_TRUE(in->Health().healthy) << in->Health().reason;
  ASSERT_TRUE(in->Stop().ok());
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, 800);
}


// Issue 12, item 4: the topic is deleted and created again (here: a fresh cluster) while the
// spool remembers offsets far beyond the new log's end. The new messages sit at offsets the spool
// once held; they must be spooled, not skipped as duplicates, and the rewind is counted. A
// restart afterwards spools nothing twice (the spool's offsets were rewound with it).
TEST_F(IngestMockTest, RecreatedTopicIsSpooledNotSkipped) {
  auto spool = OpenSpool("spool");
  Produce(0, 2000);
  {
    auto in = StartIngest(Options("g"), spool.get());
    ASSERT_TRUE(WaitFor([&] { return CaughtUp(in.get(), spool.get(), 2000); }, 30s));
    ASSERT_TRUE(in->Stop().ok());
  }
  std::map<int64_t, int> drained;
  DrainAll(spool.get(), &drained);
  ASSERT_EQ(drained.size(), 2000u);
  MockCluster fresh(3, kTopic, kPartitions);
  Producer p(fresh.bootstraps());
  for (int64_t i = 2000; i < 2500; ++i) p.Produce(kTopic, static_cast<int32_t>(i % kPartitions), CitrixEvent(i));
  ASSERT_TRUE(p.Flush());
  IngestOptions o = Options("g");
  o.brokers = fresh.bootstraps();
  {
    auto in = StartIngest(o, spool.get());
    ASSERT_TRUE(WaitFor([&] { return in->Stats().assigned_partitions == kPartitions && PendingCount(spool.get()) == 500; }, 30s))
        << "pending " << PendingCount(spool.get()) << ", skipped " << in->Stats().skipped_duplicates;
    ASSERT_TRUE(in->Stop().ok());
    EXPECT_EQ(in->Stats().skipped_duplicates, 0u);
    EXPECT_EQ(in->Stats().offset_rewinds, static_cast<uint64_t>(kPartitions));
  }
  for (int64_t i = 2500; i < 2600; ++i) p.Produce(kTopic, static_cast<int32_t>(i % kPartitions), CitrixEvent(i));
  ASSERT_TRUE(p.Flush());
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return in->Stats().assigned_partitions == kPartitions && in->Stats().lag == 0 && PendingCount(spool.get()) == 600; }, 30s))
      << "pending " << PendingCount(spool.get());
  ASSERT_TRUE(in->Stop().ok());
  EXPECT_EQ(in->Stats().offset_rewinds, 0u) << "the spool's offsets were not rewound with the topic";
  SpoolContents c = ReadSpool(spool.get());
  for (const auto& [seq, k] : drained) c.pending_by_seq[seq] += k;
  ExpectExactlyOnce({&c}, 2600);
}

// Issue 12, item 7: Kafka's retention deletes messages this gateway never spooled (the mock
// keeps 5 MiB per partition). The reset says how many were lost upstream, counts them, and with
// auto_offset_reset = "latest" also what it skipped of the retained ones.
class IngestRetentionTest : public IngestMockTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(IngestRetentionTest, RetentionPassingThePositionIsCountedAndSaid) {
  const std::string reset = GetParam();
  auto spool = OpenSpool("spool");
  for (int64_t i = 0; i < 100; ++i) producer_.Produce(kTopic, 0, CitrixEvent(i, 1000));
  ASSERT_TRUE(producer_.Flush());
  IngestOptions o = Options("g");
  o.auto_offset_reset = reset;
  o.librdkafka["log_level"] = "2";
  {
    IngestOptions first = o;
    first.auto_offset_reset = "earliest";  // the group's first start takes these 100
    auto in = StartIngest(first, spool.get());
    ASSERT_TRUE(WaitFor([&] { return in->Stats().assigned_partitions == kPartitions && PendingCount(spool.get()) == 100; }, 30s));
    ASSERT_TRUE(in->Stop().ok());
    EXPECT_EQ(in->Stats().offset_resets, 0u) << "a new group's start is not a loss";
  }
  // ~8 MB more into partition 0: the mock's retention drops the oldest, past offset 100.
  for (int64_t i = 100; i < 8100; ++i) producer_.Produce(kTopic, 0, CitrixEvent(i, 1000));
  ASSERT_TRUE(producer_.Flush());
  auto in = StartIngest(o, spool.get());
  ASSERT_TRUE(WaitFor([&] { return in->Stats().offset_resets == 1 && in->Stats().lag == 0; }, 30s))
      << "resets " << in->Stats().offset_resets << ", lag " << in->Stats().lag;
  const IngestStats st = in->Stats();
  int64_t lo = -1, hi = -1;
  {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", mc_.bootstraps().c_str(), errstr, sizeof(errstr));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ASSERT_EQ(rd_kafka_query_watermark_offsets(rk, kTopic, 0, &lo, &hi, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
  }
  ASSERT_GT(lo, 100) << "the mock's retention did not pass the position";
  ASSERT_EQ(hi, 8100);
  if (reset == "earliest") {
    EXPECT_EQ(st.offset_reset_skipped, static_cast<uint64_t>(lo - 100));
    EXPECT_EQ(PendingCount(spool.get()), static_cast<uint64_t>(100 + hi - lo));
  } else {
    EXPECT_EQ(st.offset_reset_skipped, static_cast<uint64_t>(hi - 100));
    EXPECT_EQ(PendingCount(spool.get()), 100u);
  }
  EXPECT_NE(st.last_error.find("deleted by retention"), std::string::npos) << st.last_error;
  ASSERT_TRUE(in->Stop().ok());
}

// The same while the partition stays assigned: a pause (here backpressure) lasts until retention
// passes the position; when consumption resumes librdkafka resets it (auto.offset.reset), and
// the gateway says and counts the gap as at assignment. Before, only librdkafka's own log line
// told, and no metric.
TEST_P(IngestRetentionTest, RetentionPassingWhilePausedIsCountedAndSaid) {
  const std::string reset = GetParam();
  spool::SpoolOptions so;
  so.max_bytes = 200 * 1024;
  so.high_watermark = 0.5;
  so.low_watermark = 0.25;
  auto spool = OpenSpool("spool", so);
  for (int64_t i = 0; i < 300; ++i) producer_.Produce(kTopic, 0, CitrixEvent(i, 1000));  // ~300 KB
  ASSERT_TRUE(producer_.Flush());
  IngestOptions o = Options("g");
  o.auto_offset_reset = reset;
  o.max_batch_messages = 20;
  o.librdkafka["log_level"] = "2";
  {
    IngestOptions first = o;
    first.auto_offset_reset = "earliest";  // the group's first start takes the first events
    auto in = StartIngest(first, spool.get());
    ASSERT_TRUE(WaitFor([&] { return in->Stats().paused; }, 30s)) << "the spool's high watermark pauses";
    ASSERT_TRUE(in->Stop().ok());
  }
  auto in = StartIngest(o, spool.get());  // assigned after what the spool holds, and paused at once
  ASSERT_TRUE(WaitFor(
      [&] {
        const IngestStats st = in->Stats();
        return st.paused && st.assigned_partitions == kPartitions;
      },
      30s));
  // ~8 MB more while paused: the mock's retention (5 MiB a partition) passes the paused position.
  for (int64_t i = 300; i < 8300; ++i) producer_.Produce(kTopic, 0, CitrixEvent(i, 1000));
  ASSERT_TRUE(producer_.Flush());
  int64_t lo = -1, hi = -1;
  {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", mc_.bootstraps().c_str(), errstr, sizeof(errstr));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ASSERT_EQ(rd_kafka_query_watermark_offsets(rk, kTopic, 0, &lo, &hi, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
  }
  ASSERT_GT(lo, 300) << "the mock's retention did not pass the paused position";
  ASSERT_EQ(hi, 8300);
  EXPECT_EQ(in->Stats().offset_resets, 0u) << "nothing is lost while the partition stays paused";
  // The drainer frees the spool: consumption resumes, the fetch finds its position gone and
  // librdkafka resets it. "latest" resets to the log's end, where nothing arrives by itself: a
  // message now and then (never before consumption resumed) shows where the reset went.
  std::map<int64_t, int> drained;
  int64_t produced = hi;
  auto last_produce = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] {
        DrainAll(spool.get(), &drained);
        const IngestStats st = in->Stats();
        if (reset == "latest" && !st.paused && st.offset_resets == 0 &&
            std::chrono::steady_clock::now() - last_produce > 500ms) {
          producer_.Produce(kTopic, 0, CitrixEvent(produced++, 1000));
          (void)producer_.Flush();
          last_produce = std::chrono::steady_clock::now();
        }
        return st.offset_resets == 1 && !st.paused && st.lag == 0 && drained.count(produced - 1) > 0;
      },
      60s))
      << "resets " << in->Stats().offset_resets << ", lag " << in->Stats().lag << ", drained " << drained.size()
      << " up to " << (drained.empty() ? -1 : drained.rbegin()->first);
  ASSERT_TRUE(in->Stop().ok());
  DrainAll(spool.get(), &drained);
  // Spooled: offsets [0, position) before the pause, then [resumed_at, produced) after the reset.
  int64_t position = 0;
  while (drained.count(position) > 0) ++position;
  ASSERT_GT(position, 0);
  ASSERT_LT(position, lo);
  ASSERT_GT(drained.size(), static_cast<size_t>(position));
  const int64_t resumed_at = drained.upper_bound(position)->first;
  EXPECT_EQ(drained.size(), static_cast<size_t>(position + produced - resumed_at)) << "contiguous after the reset";
  const IngestStats st = in->Stats();
  EXPECT_EQ(st.offset_resets, 1u);
  EXPECT_EQ(st.offset_reset_skipped, static_cast<uint64_t>(resumed_at - position));
  if (reset == "earliest") {
    EXPECT_EQ(resumed_at, lo);
  } else {
    EXPECT_GE(resumed_at, hi) << "latest skips what was retained";
  }
  for (const auto& [seq, k] : drained) EXPECT_EQ(k, 1) << "seq " << seq << " spooled " << k << " times";
  EXPECT_NE(st.last_error.find("deleted by retention"), std::string::npos) << st.last_error;
}

INSTANTIATE_TEST_SUITE_P(Resets, IngestRetentionTest, ::testing::Values("earliest", "latest"),
                         [](const auto& info) { return std::string(info.param); });

class IngestWedgeTest : public IngestMockTest, public ::testing::WithParamInterface<const char*> {};

// Issue 12, item 0: a member whose spool is full (appends fail, consumption paused) must not
// hold its partitions hostage: a second member of the group gets partitions within seconds, and
// once it leaves and the first one's spool drains, every event is spooled exactly once.
TEST_P(IngestWedgeTest, FullSpoolMemberHandsPartitionsOver) {
  spool::SpoolOptions so;
  so.max_bytes = 150 * 1000;
  so.high_watermark = 1.0;  // no backpressure pause: appends fail with Full
  so.low_watermark = 1.0;
  auto sa = OpenSpool("a", so);
  auto sb = OpenSpool("b");
  IngestOptions o = Options("g");
  o.assignment_strategy = GetParam();
  o.max_batch_messages = 100;
  Produce(0, 2000);  // ~600 KB: four times A's spool
  auto a = StartIngest(o, sa.get());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().append_failures >= 2; }, 30s));
  // The mock refuses commits while its group rebalances: let A's commits cover its spool first.
  ASSERT_TRUE(WaitFor([&] { return CommittedSum("g") == static_cast<int64_t>(PendingCount(sa.get())); }, 10s));
  auto b = StartIngest(o, sb.get());
  const auto joined = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return b->Stats().assigned_partitions > 0; }, 15s))
      << "b got no partition within 15 s; a holds " << a->Stats().assigned_partitions;
  const auto took = std::chrono::steady_clock::now() - joined;
  std::printf("b owned partitions %lld ms after joining\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  // B consumes its share while A is still full.
  ASSERT_TRUE(WaitFor([&] { return b->Stats().lag == 0 && PendingCount(sb.get()) > 0; }, 30s));
  ASSERT_TRUE(b->Stop().ok());
  // A's Azure comes back: drain it while it takes every partition back and catches up.
  std::map<int64_t, int> drained;
  Produce(2000, 2500);
  ASSERT_TRUE(WaitFor(
      [&] {
        DrainAll(sa.get(), &drained);
        IngestStats st = a->Stats();
        return st.assigned_partitions == kPartitions && st.lag == 0 && !st.paused &&
               drained.size() + PendingCount(sb.get()) >= 2500;
      },
      90s))
      << drained.size() << " drained from a, " << PendingCount(sb.get()) << " in b, a: "
      << a->Health().reason << " assigned " << a->Stats().assigned_partitions << " lag " << a->Stats().lag;
  ASSERT_TRUE(a->Stop().ok());
  ExpectDrainedAndSpooledOnce(sa.get(), &drained, sb.get(), 2500,
                              a->Stats().partitions_lost + b->Stats().partitions_lost);
}

// Issue 12, item 2: an append fails (spool full), a rebalance takes the partitions of the held
// batch away and gives them back; once room returns, the consumer must catch up. Before the fix
// the emptied batch left the ingest "failing" for ever: paused, nothing appended again.
TEST_P(IngestWedgeTest, FailedAppendThenRebalanceRecovers) {
  spool::SpoolOptions so;
  so.max_bytes = 150 * 1000;
  so.high_watermark = 1.0;
  so.low_watermark = 1.0;
  auto sa = OpenSpool("a", so);
  auto sb = OpenSpool("b");
  IngestOptions o = Options("g");
  o.assignment_strategy = GetParam();
  o.max_batch_messages = 100;
  Produce(0, 2000);
  auto a = StartIngest(o, sa.get());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().append_failures >= 2; }, 30s));
  ASSERT_TRUE(WaitFor([&] { return CommittedSum("g") == static_cast<int64_t>(PendingCount(sa.get())); }, 10s));
  // B takes every partition A holds a batch of: with all 4 partitions it must take some from A.
  auto b = StartIngest(o, sb.get());
  ASSERT_TRUE(WaitFor([&] { return b->Stats().assigned_partitions > 0 && b->Stats().lag == 0; }, 60s));
  ASSERT_TRUE(b->Stop().ok());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().assigned_partitions == kPartitions; }, 60s));
  std::map<int64_t, int> drained;
  Produce(2000, 2500);
  ASSERT_TRUE(WaitFor(
      [&] {
        DrainAll(sa.get(), &drained);
        IngestStats st = a->Stats();
        return st.lag == 0 && !st.paused && drained.size() + PendingCount(sb.get()) >= 2500;
      },
      60s))
      << drained.size() << " drained from a, " << PendingCount(sb.get()) << " in b, a: " << a->Health().reason;
  EXPECT_TRUE(a->Health().healthy) << a->Health().reason;
  ASSERT_TRUE(a->Stop().ok());
  ExpectDrainedAndSpooledOnce(sa.get(), &drained, sb.get(), 2500,
                              a->Stats().partitions_lost + b->Stats().partitions_lost);
}

// Issue 12, item 1: partitions paused by backpressure are revoked, the spool drains below its
// low watermark while they are away, and they come back: they must be fetched again (librdkafka
// keeps an application pause across unassign and assign, rdkafka_partition.c). The amounts keep
// A below its high watermark once drained, so no later pause and resume of the whole assignment
// can mask the partitions that came back paused.
TEST_P(IngestWedgeTest, PartitionsPausedByBackpressureResumeAfterTheyMoveBack) {
  spool::SpoolOptions so;
  so.max_bytes = 1000 * 1000;
  so.high_watermark = 0.5;
  so.low_watermark = 0.25;
  auto sa = OpenSpool("a", so);
  auto sb = OpenSpool("b");
  IngestOptions o = Options("g");
  o.assignment_strategy = GetParam();
  o.max_batch_messages = 20;
  Produce(0, 600, 1000);  // ~600 KB: A pauses at 500 KB with ~100 events left in Kafka
  auto a = StartIngest(o, sa.get());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().paused && a->Stats().assigned_partitions == kPartitions; }, 30s));
  ASSERT_TRUE(WaitFor([&] { return CommittedSum("g") == static_cast<int64_t>(PendingCount(sa.get())); }, 10s));
  auto b = StartIngest(o, sb.get());
  ASSERT_TRUE(WaitFor([&] { return b->Stats().assigned_partitions > 0 && b->Stats().lag == 0; }, 60s));
  // Drain A below its low watermark while B holds part of the partitions: A resumes its own.
  std::map<int64_t, int> drained;
  ASSERT_TRUE(WaitFor(
      [&] {
        DrainAll(sa.get(), &drained);
        return !a->Stats().paused && a->Stats().lag == 0;
      },
      30s));
  ASSERT_TRUE(b->Stop().ok());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().assigned_partitions == kPartitions; }, 60s));
  Produce(600, 1100, 300);  // ~150 KB, drained as it comes: A stays below its high watermark
  ASSERT_TRUE(WaitFor(
      [&] {
        DrainAll(sa.get(), &drained);
        return a->Stats().lag == 0 && drained.size() + PendingCount(sb.get()) >= 1100;
      },
      30s))
      << drained.size() << " drained from a, " << PendingCount(sb.get()) << " in b, lag " << a->Stats().lag
      << ", paused " << a->Stats().paused;
  EXPECT_EQ(a->Stats().pauses, 1u) << "a later pause and resume may have masked the partitions left paused";
  ASSERT_TRUE(a->Stop().ok());
  ExpectDrainedAndSpooledOnce(sa.get(), &drained, sb.get(), 1100,
                              a->Stats().partitions_lost + b->Stats().partitions_lost);
}

INSTANTIATE_TEST_SUITE_P(Protocols, IngestWedgeTest, ::testing::Values("cooperative-sticky", "range"),
                         [](const auto& info) { return std::string(info.param[0] == 'c' ? "Cooperative" : "Eager"); });

TEST_F(IngestMockTest, ConfigErrorsNameTheSettingNeverTheSecret) {
  auto spool = OpenSpool("spool");
  std::unique_ptr<Ingest> in;
  IngestOptions o = Options("g");
  o.security_protocol = "sasl_ssl";
  o.username = "u";
  o.password = "";
  Status s = Ingest::Create(o, spool.get(), &in);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("password"), std::string::npos);
  o.password = "s3cr3t-Pa55";
  o.librdkafka["ssl.key.password"] = "s3cr3t-Pa55";
  o.librdkafka["no.such.property"] = "s3cr3t-Pa55";
  s = Ingest::Create(o, spool.get(), &in);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("no.such.property"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cr3t"), std::string::npos) << s.message();
  o = Options("");
  EXPECT_NE(Ingest::Create(o, spool.get(), &in).message().find("group_id"), std::string::npos);
  o = Options("g");
  o.routes.default_route = "";
  EXPECT_EQ(Ingest::Create(o, spool.get(), &in).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sg::testing
