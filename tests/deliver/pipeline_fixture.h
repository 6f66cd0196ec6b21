// Shared by the delivery integration tests: a real RocksDB spool in a temporary directory, the
// Sentinel emulator in-process on 127.0.0.1 over HTTPS with its own test CA, and helpers to feed
// events and to check, from the emulator's record file, that each was delivered exactly once.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "../support/recorded_rows.h"
#include "../support/wait.h"
#include "emulator.h"
#include "sentinel_gateway/azure/azure_options.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/spool.h"

namespace sg::testing {

inline const std::string kRiskRoute = "CitrixAnalytics_riskScoreChange_V1_CL";
inline const std::string kIndicatorRoute = "CitrixAnalytics_indicatorSummary_V1_CL";
inline const std::string kDcrId = "dcr-00000000000000000000000000000001";

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-deliver-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    spool::SpoolOptions so;
    ASSERT_TRUE(spool::Spool::Open(so, dir_ + "/spool", &spool_).ok());
  }

  void TearDown() override {
    if (drainer_) drainer_->Stop(std::chrono::milliseconds(0));
    drainer_.reset();
    if (emulator_) emulator_->Stop();
    emulator_.reset();
    spool_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  emulator::EmulatorOptions EmulatorDefaults() {
    emulator::EmulatorOptions o;
    o.tls_dir = dir_ + "/tls";
    o.record_file = dir_ + "/record.jsonl";
    o.dcr_id = kDcrId;
    o.threads = 32;
    return o;
  }

  void StartEmulator(const emulator::EmulatorOptions& o) {
    emu_options_ = o;
    ASSERT_TRUE(emulator::Emulator::Start(o, &emulator_).ok());
  }

  azure::AzureOptions LogsIngestion() {
    azure::AzureOptions a;
    a.api = azure::Api::kLogsIngestion;
    a.endpoint = emulator_->base_url();
    a.login_endpoint = emulator_->base_url();
    a.dcr_immutable_id = kDcrId;
    a.tenant_id = emu_options_.tenant_id;
    a.client_id = emu_options_.client_id;
    a.client_secret = emu_options_.client_secret;
    a.ca_file = emulator_->ca_file();
    a.request_timeout = std::chrono::milliseconds(5000);
    a.connect_timeout = std::chrono::milliseconds(2000);
    a.gzip = false;  // JSON bodies, as these tests were written with; the gzip tests set it
    return a;
  }

  deliver::DrainerOptions FastRetries(std::vector<std::string> routes) {
    deliver::DrainerOptions d;
    for (const auto& r : routes) {
      d.routes.push_back({r, citrix::TargetFor(citrix::Layout::kDcr, r), std::nullopt});
    }
    d.linger = std::chrono::milliseconds(20);
    d.poll_interval = std::chrono::milliseconds(20);
    d.backoff_initial = std::chrono::milliseconds(50);
    d.backoff_cap = std::chrono::milliseconds(500);
    d.max_batch_events = 200;
    d.concurrency = 3;
    d.event_id_field = "";  // no event id, as these tests were written with; the dedupe tests set it
    return d;
  }

  void StartDrainer(const deliver::DrainerOptions& d, const azure::AzureOptions& a) {
    Status s = deliver::Drainer::Start(d, a, spool_.get(), &drainer_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A Citrix-like event of about `size` bytes carrying a unique "uid".
  static std::string Event(const std::string& route, int uid, size_t size = 400) {
    nlohmann::json j = {{"tenant_id", "jimex9vbhnya"},
                        {"entity_id", "user" + std::to_string(uid) + "@example.com"},
                        {"entity_type", "user"},
                        {"timestamp", "2021-12-15T01:00:00Z"},
                        {"version", 2},
                        {"uid", uid}};
    if (route == kRiskRoute) {
      j["event_type"] = "riskScoreChange";
      j["cur_riskscore"] = uid % 100;
      j["alert_value"] = 12.5;
    } else {
      j["event_type"] = "indicatorSummary";
      j["indicator_id"] = uid % 17;
      j["occurrence_details"] = {{"event_count", uid % 9}, {"relevant_event_type", "Download"}};
    }
    std::string s = j.dump();
    if (s.size() < size) j["alert_message"] = std::string(size - s.size(), 'm');
    return j.dump();
  }

  // Appends events uid [first, first+n) to `route`, in batches of 100.
  void Feed(const std::string& route, int first, int n,
            const std::function<std::string(int)>& make = nullptr) {
    for (int i = first; i < first + n;) {
      spool::AppendBatch b;
      for (int k = 0; k < 100 && i < first + n; ++k, ++i) {
        spool::NewEvent e;
        e.route = route;
        e.payload = make ? make(i) : Event(route, i);
        e.source = {"citrix-risk", 0, i};
        b.events.push_back(std::move(e));
      }
      ASSERT_TRUE(spool_->Append(b).ok());
    }
    if (drainer_) drainer_->Notify();
  }

  // Pending events over all routes (`field`: another per-route count, e.g. the events in doubt).
  uint64_t Pending(uint64_t spool::RouteStats::*field = &spool::RouteStats::pending_events) {
    spool::SpoolStats st;
    EXPECT_TRUE(spool_->Stats(&st).ok());
    uint64_t n = 0;
    for (auto& [r, rs] : st.routes) n += rs.*field;
    return n;
  }
  uint64_t InDoubtEvents() { return Pending(&spool::RouteStats::in_doubt_events); }

  uint64_t FailedEvents() {
    spool::SpoolStats st;
    EXPECT_TRUE(spool_->Stats(&st).ok());
    return st.failed_events;
  }

  static bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return testing::WaitFor(done, timeout);  // tests/support/wait.h
  }

  // uid -> how many times it was recorded, per table.
  std::map<std::string, std::map<int, int>> Recorded() {
    std::map<std::string, std::map<int, int>> out;
    ForEachRecord(emu_options_.record_file,
                  [&](const nlohmann::json& j) { out[j["table"].get<std::string>()][j["row"]["uid"].get<int>()]++; });
    return out;
  }

  // Every uid in [0, n) recorded exactly once in `table`.
  void ExpectExactlyOnce(const std::string& table, int n) {
    auto rec = Recorded()[table];
    EXPECT_EQ(rec.size(), static_cast<size_t>(n)) << table;
    int missing = 0, dup = 0;
    for (int i = 0; i < n; ++i) {
      auto it = rec.find(i);
      if (it == rec.end()) {
        ++missing;
      } else if (it->second != 1) {
        ++dup;
      }
    }
    EXPECT_EQ(missing, 0) << table;
    EXPECT_EQ(dup, 0) << table;
  }

  std::string dir_;
  std::unique_ptr<spool::Spool> spool_;
  emulator::EmulatorOptions emu_options_;
  std::unique_ptr<emulator::Emulator> emulator_;
  std::unique_ptr<deliver::Drainer> drainer_;
};

// Seconds from an environment variable (tests keep long scenarios configurable).
inline int EnvSeconds(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

}  // namespace sg::testing
