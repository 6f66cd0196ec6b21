// Helpers for the ingest integration tests: librdkafka's mock cluster hosted in the test process,
// a producer, Citrix-shaped numbered events, a spool reader that counts what arrived, and a
// condition poller with a deadline (no sleeps standing in for synchronisation).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>

#include "../support/kafka_produce.h"
#include "../support/wait.h"
#include "sentinel_gateway/spool.h"

namespace sg::testing {

class MockCluster {
 public:
  MockCluster(int brokers, const std::string& topic, int partitions) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    mc_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!topic.empty()) rd_kafka_mock_topic_create(mc_, topic.c_str(), partitions, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
  rd_kafka_mock_cluster_t* get() { return mc_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

class Producer {
 public:
  explicit Producer(const std::string& brokers, std::map<std::string, std::string> extra = {}) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    extra.emplace("bootstrap.servers", brokers);
    extra.emplace("linger.ms", "5");
    extra.emplace("log_level", "2");
    for (const auto& [k, v] : extra) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        ADD_FAILURE() << errstr;
      }
    }
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  }
  ~Producer() { rd_kafka_destroy(rk_); }

  void Produce(const std::string& topic, int32_t partition, const std::string& value) {
    rd_kafka_resp_err_t err = ProduceCopy(rk_, topic, partition, value);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  }
  // Returns true when every message was acknowledged by the brokers.
  bool Flush(int timeout_ms = 30000) { return rd_kafka_flush(rk_, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR; }

 private:
  rd_kafka_t* rk_ = nullptr;
};

inline const char* kEventTypes[] = {"userProfileRiskscore", "userProfileApp", "riskScoreChange", "indicatorSummary",
                                    "indicatorEventDetails", "datasourceCVADEventDetails", "somethingNew"};

// A numbered Citrix-shaped event of about `size` bytes.
inline std::string CitrixEvent(int64_t seq, size_t size = 300) {
  nlohmann::json j = {{"tenant_id", "jimex9vbhnya"},
                      {"entity_id", "user" + std::to_string(seq % 977) + "@example.com"},
                      {"entity_type", "user"},
                      {"event_type", kEventTypes[seq % std::size(kEventTypes)]},
                      {"timestamp", "2021-11-05T10:07:33.652Z"},
                      {"version", 2},
                      {"seq", seq},
                      {"cur_riskscore", seq % 100}};
  std::string s = j.dump();
  if (s.size() + 12 < size) {
    j["pad"] = std::string(size - s.size() - 12, 'x');
    s = j.dump();
  }
  return s;
}

// Everything a spool holds, counted by the `seq` of numbered events.
struct SpoolContents {
  std::map<int64_t, int> pending_by_seq;  // seq -> copies pending
  std::vector<spool::QuarantinedMessage> failed;  // failed area entries (payload, source, reason)
  std::vector<spool::FailedBatch> failed_batches;
  size_t pending = 0;
};

inline SpoolContents ReadSpool(spool::Spool* spool) {
  SpoolContents c;
  for (const std::string& route : spool->Routes()) {
    uint64_t after = 0;
    while (true) {
      std::vector<spool::PendingEvent> out;
      Status s = spool->Read(route, after, 100000, size_t{1} << 30, &out);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || out.empty()) break;
      for (const spool::PendingEvent& e : out) {
        auto j = nlohmann::json::parse(e.payload, nullptr, false);
        if (!j.is_discarded() && j.contains("seq")) ++c.pending_by_seq[j["seq"].get<int64_t>()];
        ++c.pending;
        after = e.seq;
      }
    }
  }
  uint64_t after = 0;
  while (true) {
    std::vector<spool::FailedBatch> out;
    Status s = spool->ListFailed(after, 1000, "", &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || out.empty()) break;
    for (spool::FailedBatch& b : out) {
      after = b.id;
      for (const spool::PendingEvent& e : b.events) {
        spool::QuarantinedMessage q;
        q.route = b.route;
        q.payload = e.payload;
        q.source = e.source;
        q.why = b.why;
        c.failed.push_back(std::move(q));
      }
      c.failed_batches.push_back(std::move(b));
    }
  }
  return c;
}

// Pending events in the spool (from its counters).
// Committed offsets of `group` on partitions [0, partitions) of `topic` (-1001 when none).
inline std::vector<int64_t> CommittedOffsets(const std::string& bootstraps, const std::string& group,
                                             const std::string& topic, int partitions) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", group.c_str(), errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(l, topic.c_str(), p);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, 10000);
  EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
  std::vector<int64_t> out;
  for (int p = 0; p < partitions; ++p) out.push_back(l->elems[p].offset);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// The sum of the committed offsets (partitions without one count 0).
inline int64_t CommittedSum(const std::string& bootstraps, const std::string& group, const std::string& topic,
                            int partitions) {
  int64_t sum = 0;
  for (int64_t c : CommittedOffsets(bootstraps, group, topic, partitions)) sum += std::max<int64_t>(c, 0);
  return sum;
}

inline uint64_t PendingCount(spool::Spool* spool) {
  spool::SpoolStats st;
  if (!spool->Stats(&st).ok()) return 0;
  uint64_t n = 0;
  for (const auto& [route, rs] : st.routes) n += rs.pending_events;
  return n;
}

// Asserts that seqs [0, n) are each present exactly once across the given contents; with
// duplicates_allowed, at least once (see ExpectDrainedAndSpooledOnce).
inline void ExpectExactlyOnce(const std::vector<const SpoolContents*>& spools, int64_t n,
                              bool duplicates_allowed = false) {
  std::map<int64_t, int> all;
  for (const SpoolContents* c : spools) {
    for (const auto& [seq, k] : c->pending_by_seq) all[seq] += k;
  }
  int64_t missing = 0, duplicated = 0, unexpected = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto it = all.find(i);
    if (it == all.end()) {
      if (missing++ < 5) ADD_FAILURE() << "seq " << i << " missing";
    } else if (it->second != 1 && !duplicates_allowed) {
      if (duplicated++ < 5) ADD_FAILURE() << "seq " << i << " spooled " << it->second << " times";
    }
  }
  for (const auto& [seq, k] : all) {
    if (seq < 0 || seq >= n) ++unexpected;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(unexpected, 0);
}

}  // namespace sg::testing
