// End-to-end tests against a real Apache Kafka broker (tools/kafka-broker.sh: KRaft, SASL_SSL with
// SCRAM-SHA-256 and a test CA) with a real RocksDB spool: the Citrix connection settings work, and
// a wrong password or a wrong CA each give a clear error and spool nothing.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../spool/spool_test_util.h"
#include "kafka_test_util.h"
#include "../support/kafka_broker.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/spool.h"

namespace sg::testing {
namespace {

using namespace std::chrono_literals;
using ingest::Ingest;
using ingest::IngestHealth;
using ingest::IngestOptions;
using ingest::IngestStats;

constexpr const char* kTopic = "citrix-e2e";
constexpr int kPartitions = 4;  // the broker's num.partitions (auto-created topic)
constexpr int kEvents = 3000;

bool Have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

class IngestBrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!Have("java") || !Have("mvn")) {
      skip_ = "Java and Maven are needed to run a real Kafka broker (tools/kafka-broker.sh)";
      return;
    }
    dir_ = new TempDir();
    broker_ = new KafkaBroker();
    std::string why;
    if (!broker_->Start(SG_SOURCE_DIR "/tools/kafka-broker.sh", "", dir_->Sub("broker"), dir_->Sub("broker-script.log"),
                        &why)) {
      failed_ = "tools/kafka-broker.sh start failed: " + why;
      return;
    }
    std::ifstream pw(Fact("password_file"));
    std::getline(pw, password_);
    // Produce the numbered events over PLAINTEXT (creates the topic).
    Producer producer(Fact("plaintext"), {{"message.timeout.ms", "60000"}});
    for (int i = 0; i < kEvents; ++i) producer.Produce(kTopic, i % kPartitions, CitrixEvent(i, 1000));
    if (!producer.Flush(60000)) failed_ = "producing to the broker failed";
  }

  static void TearDownTestSuite() {
    delete broker_;  // stops the broker
    broker_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(failed_.empty()) << failed_;
  }

  IngestOptions Options(const std::string& group) {
    IngestOptions o;
    o.brokers = Fact("sasl_ssl");
    o.topics = {kTopic};
    o.group_id = group;
    o.security_protocol = "sasl_ssl";
    o.sasl_mechanism = "SCRAM-SHA-256";
    o.username = Fact("username");
    o.password = password_;
    o.ca_file = Fact("ca");
    o.commit_interval = std::chrono::milliseconds(200);
    o.session_timeout = std::chrono::milliseconds(45'000);  // as these tests were written with
    o.max_batch_bytes = 32u << 20;
    o.librdkafka["log_level"] = "2";  // the test asserts on the errors itself
    return o;
  }

  std::unique_ptr<spool::Spool> OpenSpool(const std::string& name, const spool::SpoolOptions& so = {}) {
    std::unique_ptr<spool::Spool> s;
    Status st = spool::Spool::Open(so, local_.Sub(name), &s);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return s;
  }

  // A consumer that cannot connect must say why, keep the secret out of it, and spool nothing.
  void ExpectClearErrorAndNothingSpooled(const IngestOptions& o, const std::string& expected) {
    auto spool = OpenSpool("spool");
    std::unique_ptr<Ingest> in;
    ASSERT_TRUE(Ingest::Create(o, spool.get(), &in).ok());
    ASSERT_TRUE(in->Start().ok());
    ASSERT_TRUE(WaitFor([&] { return in->Stats().last_error.find(expected) != std::string::npos; }, 60s))
        << "last error: " << in->Stats().last_error;
    IngestHealth h = in->Health();
    EXPECT_FALSE(h.healthy);
    EXPECT_NE(h.reason.find(expected), std::string::npos) << h.reason;
    EXPECT_EQ(h.reason.find(password_), std::string::npos);
    EXPECT_EQ(in->Stats().last_error.find(password_), std::string::npos);
    ASSERT_TRUE(in->Stop().ok());
    EXPECT_EQ(in->Stats().consumed, 0u);
    EXPECT_EQ(PendingCount(spool.get()), 0u);
    spool::SpoolStats st;
    ASSERT_TRUE(spool->Stats(&st).ok());
    EXPECT_EQ(st.appended_total, 0u);
    EXPECT_EQ(st.quarantined_total, 0u);
  }

  static inline TempDir* dir_ = nullptr;
  static inline KafkaBroker* broker_ = nullptr;
  static std::string Fact(const std::string& name) { return broker_->Fact(name); }
  static inline std::string password_;
  static inline std::string skip_;
  static inline std::string failed_;
  TempDir local_;
};

TEST_F(IngestBrokerTest, SaslSslScramConsumesEverythingIntoTheSpool) {
  auto spool = OpenSpool("spool");
  std::unique_ptr<Ingest> in;
  ASSERT_TRUE(Ingest::Create(Options("gateway"), spool.get(), &in).ok());
  ASSERT_TRUE(in->Start().ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        IngestStats st = in->Stats();
        return st.assigned_partitions == kPartitions && st.lag == 0 && PendingCount(spool.get()) == kEvents;
      },
      90s))
      << PendingCount(spool.get()) << " spooled; last error: " << in->Stats().last_error;
  EXPECT_TRUE(in->Health().healthy) << in->Health().reason;
  ASSERT_TRUE(in->Stop().ok());
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, kEvents);
}

// Two gateways (cooperative-sticky) in one group while events flow: the second joins mid-stream,
// later leaves; together their spools hold every event exactly once. Each is a static member with
// its own id, as the gateway's default derives one per spool: a static member that stops does not
// leave the group (KIP-345), so A takes B's partitions once B's session times out.
TEST_F(IngestBrokerTest, TwoGatewaysShareThePartitionsWhileEventsFlow) {
  const std::string topic = "citrix-scale";
  Producer producer(Fact("plaintext"), {{"message.timeout.ms", "60000"}});
  auto produce = [&](int from, int to) {
    for (int i = from; i < to; ++i) producer.Produce(topic, i % kPartitions, CitrixEvent(i, 1000));
    ASSERT_TRUE(producer.Flush(60000));
  };
  produce(0, 5000);
  auto sa = OpenSpool("a");
  auto sb = OpenSpool("b");
  IngestOptions o = Options("scale");
  o.topics = {topic};
  o.max_batch_messages = 200;  // small batches: the rebalance lands mid-stream
  o.session_timeout = std::chrono::milliseconds(10'000);
  IngestOptions ob = o;
  o.group_instance_id = config::DefaultGroupInstanceId("edge", local_.Sub("a"));
  ob.group_instance_id = config::DefaultGroupInstanceId("edge", local_.Sub("b"));
  ASSERT_NE(o.group_instance_id, ob.group_instance_id);
  std::unique_ptr<Ingest> a, b;
  ASSERT_TRUE(Ingest::Create(o, sa.get(), &a).ok());
  ASSERT_TRUE(Ingest::Create(ob, sb.get(), &b).ok());
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().spooled > 0; }, 60s)) << a->Stats().last_error;
  ASSERT_TRUE(b->Start().ok());
  // Produce the next events only once B owns partitions: some of them are then B's to spool,
  // whatever A managed to consume meanwhile (a test may wait for a state, not bet on a race).
  ASSERT_TRUE(WaitFor(
      [&] {
        int na = a->Stats().assigned_partitions, nb = b->Stats().assigned_partitions;
        return na > 0 && nb > 0 && na + nb == kPartitions;
      },
      90s))
      << "a=" << a->Stats().assigned_partitions << " b=" << b->Stats().assigned_partitions;
  produce(5000, 8000);
  ASSERT_TRUE(WaitFor(
      [&] {
        IngestStats x = a->Stats(), y = b->Stats();
        return x.assigned_partitions > 0 && y.assigned_partitions > 0 &&
               x.assigned_partitions + y.assigned_partitions == kPartitions && x.lag == 0 && y.lag == 0 &&
               PendingCount(sa.get()) + PendingCount(sb.get()) >= 8000;
      },
      90s))
      << PendingCount(sa.get()) << " + " << PendingCount(sb.get());
  std::thread more([&] { produce(8000, 10000); });
  ASSERT_TRUE(b->Stop().ok());
  more.join();
  ASSERT_TRUE(WaitFor(
      [&] {
        IngestStats x = a->Stats();
        return x.assigned_partitions == kPartitions && x.lag == 0 &&
               PendingCount(sa.get()) + PendingCount(sb.get()) >= 10000;
      },
      90s))
      << PendingCount(sa.get()) << " + " << PendingCount(sb.get());
  ASSERT_TRUE(a->Stop().ok());
  EXPECT_GT(b->Stats().spooled, 0u);
  EXPECT_EQ(a->Stats().partitions_lost + b->Stats().partitions_lost, 0u);
  SpoolContents ca = ReadSpool(sa.get()), cb = ReadSpool(sb.get());
  ExpectExactlyOnce({&ca, &cb}, 10000);
}

// Issue 12, items 0 and 2 on a real broker, as a new user tried them: gateway A's spool is full
// (appends fail with Full during an Azure outage); gateway B joins and must own partitions within
// 15 s; B consumes its share and leaves; A's Azure comes back, A takes every partition back and
// spools everything, the 2,000 events produced after B left included. Before: B waited about
// 15 s, and after B left A spooled nothing for two minutes (its failure never cleared).
TEST_F(IngestBrokerTest, FullSpoolMemberHandsPartitionsOverAndRecovers) {
  const std::string topic = "citrix-full";
  Producer producer(Fact("plaintext"), {{"message.timeout.ms", "60000"}});
  auto produce = [&](int from, int to) {
    for (int i = from; i < to; ++i) producer.Produce(topic, i % kPartitions, CitrixEvent(i, 1000));
    ASSERT_TRUE(producer.Flush(60000));
  };
  produce(0, 4000);  // ~4 MB: ten times A's spool
  spool::SpoolOptions small;
  small.max_bytes = 400 * 1000;
  small.high_watermark = 1.0;  // no backpressure pause: appends fail with Full
  small.low_watermark = 1.0;
  auto sa = OpenSpool("a", small);
  auto sb = OpenSpool("b");
  IngestOptions o = Options("full");
  o.topics = {topic};
  o.max_batch_messages = 100;
  std::unique_ptr<Ingest> a, b;
  ASSERT_TRUE(Ingest::Create(o, sa.get(), &a).ok());
  ASSERT_TRUE(Ingest::Create(o, sb.get(), &b).ok());
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return a->Stats().append_failures >= 2; }, 90s)) << a->Stats().last_error;
  // Let A's commits cover what its spool holds, so that B starts after it (what two spools hold
  // twice would be a duplicate, which this test counts).
  ASSERT_TRUE(WaitFor(
      [&] {
        return CommittedSum(Fact("plaintext"), "full", topic, kPartitions) ==
               static_cast<int64_t>(PendingCount(sa.get()));
      },
      30s));
  ASSERT_TRUE(b->Start().ok());
  const auto joined = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return b->Stats().assigned_partitions > 0; }, 15s))
      << "B got no partition within 15 s; A holds " << a->Stats().assigned_partitions;
  std::printf("b owned partitions %lld ms after joining\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - joined).count()));
  ASSERT_TRUE(WaitFor([&] { return b->Stats().lag == 0 && PendingCount(sb.get()) > 0; }, 60s));
  ASSERT_TRUE(b->Stop().ok());
  // A's Azure comes back (the test drains A's spool as the deliver stage would) and 2,000 more
  // events arrive: A must own every partition again and spool all of them.
  std::map<int64_t, int> drained;
  auto drain = [&] {
    for (const std::string& route : sa->Routes()) {
      while (true) {
        std::vector<spool::PendingEvent> out;
        if (!sa->Read(route, 0, 1000, 1 << 20, &out).ok() || out.empty()) break;
        for (const spool::PendingEvent& e : out) ++drained[nlohmann::json::parse(e.payload)["seq"].get<int64_t>()];
        if (!sa->Ack(route, out).ok()) break;
      }
    }
  };
  produce(4000, 6000);
  ASSERT_TRUE(WaitFor(
      [&] {
        drain();
        const IngestStats st = a->Stats();
        return st.assigned_partitions == kPartitions && st.lag == 0 && !st.paused &&
               drained.size() + PendingCount(sb.get()) >= 6000;
      },
      120s))
      << drained.size() << " drained from A, " << PendingCount(sb.get()) << " in B; A: " << a->Health().reason
      << ", assigned " << a->Stats().assigned_partitions << ", lag " << a->Stats().lag;
  ASSERT_TRUE(a->Stop().ok());
  drain();
  SpoolContents ca, cb = ReadSpool(sb.get());
  ca.pending_by_seq = drained;
  ExpectExactlyOnce({&ca, &cb}, 6000);
}

// The broker restarts (same data, ports, credentials) while a gateway consumes: it reconnects,
// rejoins its group and spools everything exactly once.
TEST_F(IngestBrokerTest, BrokerRestartWhileConsumingLosesNothing) {
  const std::string topic = "citrix-restart";
  auto produce = [&](int from, int to) {
    Producer producer(Fact("plaintext"), {{"message.timeout.ms", "60000"}});
    for (int i = from; i < to; ++i) producer.Produce(topic, i % kPartitions, CitrixEvent(i, 1000));
    ASSERT_TRUE(producer.Flush(60000));
  };
  produce(0, 1000);
  auto spool = OpenSpool("spool");
  IngestOptions o = Options("restart");
  o.topics = {topic};
  std::unique_ptr<Ingest> in;
  ASSERT_TRUE(Ingest::Create(o, spool.get(), &in).ok());
  ASSERT_TRUE(in->Start().ok());
  auto caught_up = [&](uint64_t n) {
    IngestStats st = in->Stats();
    return st.assigned_partitions == kPartitions && st.lag == 0 && PendingCount(spool.get()) == n;
  };
  ASSERT_TRUE(WaitFor([&] { return caught_up(1000); }, 90s)) << in->Stats().last_error;
  ASSERT_TRUE(broker_->Restart());
  produce(1000, 2000);
  ASSERT_TRUE(WaitFor([&] { return caught_up(2000); }, 120s))
      << PendingCount(spool.get()) << " spooled; last error: " << in->Stats().last_error;
  EXPECT_TRUE(WaitFor([&] { return in->Health().healthy; }, 30s)) << in->Health().reason;
  ASSERT_TRUE(in->Stop().ok());
  SpoolContents c = ReadSpool(spool.get());
  ExpectExactlyOnce({&c}, 2000);
}

TEST_F(IngestBrokerTest, WrongPasswordIsAClearErrorAndSpoolsNothing) {
  IngestOptions o = Options("wrong-password");
  o.password = "not-" + password_;
  ExpectClearErrorAndNothingSpooled(o, "Authentication failed");
}

TEST_F(IngestBrokerTest, WrongCaIsAClearErrorAndSpoolsNothing) {
  IngestOptions o = Options("wrong-ca");
  o.ca_file = Fact("other_ca");
  ExpectClearErrorAndNothingSpooled(o, "certificate verify failed");
}

}  // namespace
}  // namespace sg::testing
