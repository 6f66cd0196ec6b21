// E2eFixture: kafka-mock-cluster, sentinel-emulator and sentinel-gateway as separate processes on
// 127.0.0.1, a producer of numbered Citrix-shaped events, and readers of what Sentinel recorded.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include "subprocess.h"

namespace sg::testing {

class E2eFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the mock cluster with `partitions` partitions of topic "citrix-risk".
  void StartKafka(int partitions);
  void StartEmulator(const std::vector<std::string>& extra_args = {});
  // Writes the gateway's TOML (with `extra` appended verbatim) and returns its path.
  std::string WriteConfig(const std::string& extra = "", const std::string& client_secret = "emulator-secret");
  void StartGateway(Subprocess* gw, const std::string& config_path);

  // Produces events [first, first+count) round-robin over the partitions; each carries `seq`.
  void Produce(uint64_t first, uint64_t count);
  static std::string Event(uint64_t seq);

  // HTTPS GET/POST/DELETE to the emulator (certificate verified against its CA).
  nlohmann::json EmulatorStats();
  void EmulatorFaults(const std::string& method, const std::string& body = "");
  // HTTP GET to the gateway's metrics server; returns the status code.
  int HttpGet(const std::string& url, std::string* body);

  // Rows the emulator recorded: seq -> number of times, and the seq order per (table, partition).
  struct Recorded {
    std::map<uint64_t, int> count;
    std::map<std::pair<std::string, int>, std::vector<uint64_t>> order;
    uint64_t rows = 0;
  };
  Recorded ReadRecord();
  bool WaitForRows(uint64_t rows, std::chrono::seconds timeout);

  std::string dir_;
  std::string bootstrap_;
  std::string emulator_url_, emulator_ca_;
  int partitions_ = 0;
  int metrics_port_ = 0;
  Subprocess kafka_, emulator_;
  rd_kafka_t* producer_ = nullptr;
};

}  // namespace sg::testing
