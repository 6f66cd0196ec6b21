// E2eFixture: kafka-mock-cluster, sentinel-emulator and sentinel-gateway as separate processes on
// 127.0.0.1, a producer of numbered Citrix-shaped events, and readers of what Sentinel recorded.
#pragma once

#include <cstdlib>

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

// A test's knob from the environment (SG_CHAOS_KILLS=...), or `def` when it is not set.
inline int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : def;
}

// The ARM resource id of the DCR the end-to-end tests have the gateway read back from the emulator.
inline constexpr const char* kDcrId =
    "/subscriptions/00000000-0000-0000-0000-0000000000cc/resourceGroups/sentinel/providers/"
    "Microsoft.Insights/dataCollectionRules/citrix-analytics";

class E2eFixture : public ::testing::Test {
 protected:
  // Rows the emulator recorded: seq -> number of times, and the seq order per (table, partition).
  struct Recorded {
    std::map<uint64_t, int> count;
    std::map<std::pair<std::string, int>, std::vector<uint64_t>> order;
    uint64_t rows = 0;
  };
  void SetUp() override;
  void TearDown() override;

  // Starts the mock cluster with `partitions` partitions of topic "citrix-risk".
  void StartKafka(int partitions);
  // Creates the producer for bootstrap_ (StartKafka does it; tests with another broker call it).
  void ConnectProducer();
  // Starts the emulator (on `port`, or a free one); a restart on the same port keeps its CA and
  // appends to the same record file.
  void StartEmulator(const std::vector<std::string>& extra_args = {}, int port = 0, bool rate_limits = false);
  // Inserts `line` right after the `[section]` header of a written config.
  static void AddToSection(const std::string& config, const std::string& section, const std::string& line);
  void StopEmulator();
  // Writes a gateway's TOML (with `extra` appended verbatim) and returns its path. Each `name` gets
  // its own spool (dir/spool for the default name) and metrics port (metrics_ports_[name]).
  std::string WriteConfig(const std::string& extra = "", const std::string& client_secret = "emulator-secret",
                          const std::string& name = "gateway");
  void StartGateway(Subprocess* gw, const std::string& config_path);
  std::string SpoolDir(const std::string& name = "gateway") const;
  // Prints the scenario's line: produced, delivered, lost, duplicates, wall time.
  void Report(const std::string& scenario, uint64_t produced, const Recorded& r,
              std::chrono::steady_clock::time_point start);
  static int FreePort();

  // Produces events [first, first+count) round-robin over the partitions; each carries `seq`.
  void Produce(uint64_t first, uint64_t count);
  static std::string Event(uint64_t seq);

  // HTTPS GET/POST/DELETE to the emulator (certificate verified against its CA).
  nlohmann::json EmulatorStats();
  void EmulatorFaults(const std::string& method, const std::string& body = "");
  // HTTP GET to the gateway's metrics server; returns the status code.
  int HttpGet(const std::string& url, std::string* body);
  // Polls a gateway's /metrics until the unlabelled metric reaches `value`.
  bool WaitForMetricAtLeast(const std::string& metric, uint64_t value, std::chrono::seconds timeout,
                            const std::string& gateway = "gateway");

  Recorded ReadRecord();
  bool WaitForRows(uint64_t rows, std::chrono::seconds timeout);
  // Until the emulator has recorded every seq below `produced` at least once.
  bool WaitForAllRecorded(uint64_t produced, std::chrono::seconds timeout);

  std::string dir_;
  std::string bootstrap_;
  std::string emulator_url_, emulator_ca_;
  int partitions_ = 0;
  int metrics_port_ = 0;  // of the last config written
  int emulator_port_ = 0;
  std::map<std::string, int> metrics_ports_;
  Subprocess kafka_, emulator_;
  rd_kafka_t* producer_ = nullptr;
};

}  // namespace sg::testing
