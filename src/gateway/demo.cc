#include "demo.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "emulator.h"
#include "logging.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/config.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/gateway.h"
#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/rdkafka_handles.h"
#include "sentinel_gateway/spool.h"

namespace sg {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
constexpr char kTopic[] = "citrix-analytics-demo";

// Synthetic Citrix Analytics events of every type, shaped like Azure-Sentinel's sample data for
// the Citrix connector (copies in tests/azure_templates/testdata/).
std::string MakeEvent(uint64_t n) {
  static const char* kTypes[] = {"userProfileRiskscore", "userProfileApp",   "userProfileLocation",
                                 "userProfileUsage",     "userProfileDevice", "riskScoreChange",
                                 "indicatorSummary",     "indicatorEventDetails", "indicatorEventDetails"};
  const char* type = kTypes[n % 9];
  nlohmann::json e = {{"tenant_id", "demotenant"},
                      {"entity_id", fmt::format("user{}@demo.example", n % 500)},
                      {"entity_type", "user"},
                      {"event_type", type},
                      {"timestamp", fmt::format("2026-11-28T07:{:02}:{:02}.{:03}Z", n / 60000 % 60, n / 1000 % 60, n % 1000)},
                      {"version", 2},
                      {"demo_seq", n}};
  std::string t = type;
  if (t == "userProfileRiskscore") {
    e["cur_riskscore"] = n % 100;
  } else if (t == "userProfileApp") {
    e["app"] = "Citrix Workspace";
    e["cnt"] = n % 40;
    e["session_domain"] = "DEMO";
    e["user_samaccountname"] = fmt::format("user{}", n % 500);
  } else if (t == "userProfileLocation") {
    e["city"] = "Bengaluru";
    e["country"] = "India";
    e["cnt"] = n % 12;
  } else if (t == "userProfileUsage") {
    e["data_usage_bytes"] = n * 1024;
    e["downloaded_bytes"] = n * 512;
    e["uploaded_bytes"] = n * 256;
    e["downloaded_file_cnt"] = n % 9;
  } else if (t == "userProfileDevice") {
    e["device"] = "Windows 11";
    e["cnt"] = n % 5;
  } else if (t == "riskScoreChange") {
    e["cur_riskscore"] = 40 + n % 60;
    e["alert_value"] = 12.5;
    e["alert_type"] = "riskscore_increase";
    e["alert_message"] = "Risk score of the user increased";
  } else if (t == "indicatorSummary") {
    e["indicator_id"] = 510 + n % 7;
    e["indicator_uuid"] = fmt::format("2c3d4e5f-0000-4000-8000-{:012}", n);
    e["indicator_name"] = "Excessive file downloads";
    e["indicator_category"] = "Data exfiltration";
    e["indicator_category_id"] = 2;
    e["indicator_vector"] = {{"id", "3"}, {"name", "Excessive data download"}};
    e["severity"] = "medium";
    e["risk_probability"] = 0.8;
    e["data_source"] = "Citrix Content Collaboration";
    e["data_source_id"] = 2;
    e["indicator_type"] = "builtin";
    e["ui_link"] = "https://analytics.cloud.com/user/demo";
    e["occurrence_details"] = {{"event_count", 1 + n % 20}, {"relevant_event_type", "Download"}};
  } else {
    e["indicator_uuid"] = fmt::format("2c3d4e5f-0000-4000-8000-{:012}", n / 10);
    e["indicator_vector"] = {{"id", 3}, {"name", "Excessive data download"}};
    e["client_ip"] = fmt::format("203.0.113.{}", n % 250);
    e["city"] = "Bengaluru";
    e["country"] = "India";
    e["region"] = "Karnataka";
    e["latitude"] = 12.97;
    e["longitude"] = 77.59;
    e["file_name"] = fmt::format("quarterly-report-{}.xlsx", n);
    e["file_size_in_bytes"] = 1000 + n * 7;
    e["device_id"] = fmt::format("dev-{}", n % 97);
    e["os_name"] = "Windows 11";
    e["app_url"] = "https://sharefile.example/files";
  }
  return e.dump();
}

KafkaPtr NewProducer(const std::string& bootstrap, std::string* err) {
  char errstr[512];
  KafkaConfPtr conf(rd_kafka_conf_new());
  const std::pair<const char*, std::string> props[] = {
      {"bootstrap.servers", bootstrap}, {"linger.ms", "5"}, {"log_level", "3"}};
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf.get(), k, v.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      *err = errstr;
      return nullptr;
    }
  }
  return NewKafka(RD_KAFKA_PRODUCER, std::move(conf), err);
}

// Destroys the mock cluster before the handle that hosts it (declared after it, so destroyed
// first).
struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* c) const { rd_kafka_mock_cluster_destroy(c); }
};
using MockClusterPtr = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

struct Progress {
  uint64_t produced = 0, spooled = 0, delivered = 0, pending = 0;
};

}  // namespace

int RunDemo(const DemoOptions& opts) {
  if (opts.events == 0 || opts.rate <= 0) {
    std::fprintf(stderr, "demo: --events and --rate must be positive\n");
    return 2;
  }
  if (Status ls = SetupLogging("warn", "text"); !ls.ok()) {
    std::fprintf(stderr, "demo: cannot set up logging: %s\n", ls.ToString().c_str());
    return 1;
  }
  std::string dir = opts.keep_dir;
  bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = (fs::temp_directory_path() / "sentinel-gateway-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }
  fs::create_directories(dir);
  std::printf("sentinel-gateway demo: %llu Citrix Analytics events at %d/s, Azure outage of %ds on the way\n",
              static_cast<unsigned long long>(opts.events), opts.rate, opts.outage_seconds);
  std::printf("working directory: %s\n\n", dir.c_str());

  // 1. Kafka: librdkafka's mock cluster, a real Kafka protocol peer on 127.0.0.1.
  // Owned from here: every return below frees them (and the gateway, emulator and producer
  // declared after them are freed first).
  char errstr[512];
  KafkaConfPtr hconf(rd_kafka_conf_new());
  rd_kafka_conf_set(hconf.get(), "log_level", "3", errstr, sizeof(errstr));  // a known property
  std::string host_error;
  KafkaPtr host = NewKafka(RD_KAFKA_PRODUCER, std::move(hconf), &host_error);
  MockClusterPtr cluster(host ? rd_kafka_mock_cluster_new(host.get(), 3) : nullptr);
  if (cluster == nullptr) {
    std::fprintf(stderr, "demo: cannot start the Kafka mock cluster\n");
    return 1;
  }
  rd_kafka_mock_topic_create(cluster.get(), kTopic, 4, 1);
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster.get());
  std::printf("  kafka     mock cluster at %s, topic %s (4 partitions)\n", bootstrap.c_str(), kTopic);

  // 2. Azure: the emulator, over HTTPS with its own test CA.
  emulator::EmulatorOptions eo;
  eo.tls_dir = dir + "/tls";
  eo.record_file = dir + "/sentinel-rows.jsonl";
  eo.rate_limits = false;
  std::unique_ptr<emulator::Emulator> emu;
  Status s = emulator::Emulator::Start(eo, &emu);
  if (!s.ok()) {
    std::fprintf(stderr, "demo: cannot start the Sentinel emulator: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("  sentinel  emulator at %s (Logs Ingestion API, TLS verified against %s)\n", emu->base_url().c_str(),
              emu->ca_file().c_str());

  // 3. The gateway, configured as a user would in TOML.
  config::GatewayConfig c;
  c.source = "<demo>";
  c.kafka.brokers = bootstrap;
  c.kafka.topics = {kTopic};
  c.kafka.group_id = "sentinel-gateway-demo";
  c.kafka.security_protocol = "PLAINTEXT";
  c.spool.path = dir + "/spool";
  c.spool.max_bytes = 1ull << 30;
  c.sentinel.endpoint = emu->base_url();
  c.sentinel.login_endpoint = emu->base_url();
  c.sentinel.ca_file = emu->ca_file();
  c.sentinel.tenant_id = eo.tenant_id;
  c.sentinel.client_id = eo.client_id;
  c.sentinel.client_secret = {eo.client_secret, "demo"};
  c.sentinel.dcr_immutable_id = "dcr-demo0000000000000000000000000000";
  c.routes.layout = "dcr";
  c.routes.catch_all = citrix::CatchAllTable(citrix::Layout::kDcr);
  c.delivery.event_id_field = "sg_event_id";
  c.delivery.linger = std::chrono::milliseconds(100);
  c.delivery.backoff_initial = std::chrono::milliseconds(250);
  c.delivery.backoff_cap = std::chrono::milliseconds(2000);
  c.metrics.listen = "127.0.0.1:0";
  std::unique_ptr<Gateway> gw;
  s = Gateway::Start(c, &gw);
  if (!s.ok()) {
    std::fprintf(stderr, "demo: cannot start the gateway: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("  gateway   spool %s, metrics http://%s/metrics\n\n", c.spool.path.c_str(), gw->metrics_address().c_str());

  // 4. Produce at the chosen rate; cut Azure off a third of the way through.
  std::string err;
  KafkaPtr producer = NewProducer(bootstrap, &err);
  if (producer == nullptr) {
    std::fprintf(stderr, "demo: cannot create the producer: %s\n", err.c_str());
    return 1;
  }
  std::atomic<uint64_t> produced{0};
  auto start = Clock::now();
  std::thread feeder([&] {
    for (uint64_t n = 0; n < opts.events; ++n) {
      auto due = start + std::chrono::microseconds(n * 1'000'000 / static_cast<uint64_t>(opts.rate));
      std::this_thread::sleep_until(due);  // pacing the producer, not synchronisation
      std::string v = MakeEvent(n);
      while (rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_VALUE(v.data(), v.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_poll(producer.get(), 10);
      }
      rd_kafka_poll(producer.get(), 0);
      produced = n + 1;
      if (opts.outage_seconds > 0 && n == opts.events / 3) {
        // Without the outage the demo still runs, it just shows no retrying: say so and go on.
        Status fs = emu->SetFaults({{"outage", {{"status", 503}, {"seconds", opts.outage_seconds}}}});
        if (!fs.ok()) std::fprintf(stderr, "\ndemo: cannot start the Azure outage: %s\n", fs.ToString().c_str());
      }
    }
    rd_kafka_flush(producer.get(), 30'000);
  });

  auto progress = [&] {
    Progress p;
    p.produced = produced;
    p.spooled = gw->ingest()->Stats().spooled;
    for (const auto& [route, rc] : gw->drainer()->Counters()) p.delivered += rc.delivered_events;
    spool::SpoolStats st;
    if (gw->spool()->Stats(&st).ok()) {
      for (const auto& [route, rs] : st.routes) p.pending += rs.pending_events;
    }
    return p;
  };
  const bool tty = ::isatty(STDOUT_FILENO);
  auto deadline_after_produce = std::chrono::seconds(60 + opts.outage_seconds);
  Clock::time_point produced_at{};
  Progress p;
  for (;;) {
    p = progress();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::string azure = "accepting";
    for (const auto& [route, rc] : gw->drainer()->Counters()) {
      if (rc.state == deliver::RouteState::kRetrying) azure = "OUTAGE, retrying";
    }
    std::string line = fmt::format("{:6.1f}s  produced {:>7}  spooled {:>7}  delivered {:>7}  pending in spool {:>7}  azure {}",
                                   elapsed, p.produced, p.spooled, p.delivered, p.pending, azure);
    if (tty) {
      std::printf("\r%-110s", line.c_str());
    } else {
      std::printf("%s\n", line.c_str());
    }
    std::fflush(stdout);
    if (p.produced == opts.events) {
      if (produced_at == Clock::time_point{}) produced_at = Clock::now();
      if (p.delivered >= opts.events && p.pending == 0) break;
      if (Clock::now() - produced_at > deadline_after_produce) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 200 : 1000));
  }
  if (tty) std::printf("\n");
  feeder.join();
  producer.reset();
  double wall = std::chrono::duration<double>(Clock::now() - start).count();

  // 5. Count what Sentinel received, from the emulator's record of accepted rows.
  // A failed stop (ingest's last append) or stats read is reported; without the spool's stats
  // the pending and failed counts are unknown, so the demo cannot claim that nothing was lost.
  if (Status ss = gw->Stop(); !ss.ok()) {
    std::fprintf(stderr, "demo: the gateway stopped with an error: %s\n", ss.ToString().c_str());
  }
  spool::SpoolStats st;
  const Status stats_status = gw->spool()->Stats(&st);
  if (!stats_status.ok()) {
    std::fprintf(stderr, "demo: cannot read the spool's stats: %s; pending, failed and lost counts are unknown\n",
                 stats_status.ToString().c_str());
  }
  uint64_t pending_left = 0;
  for (const auto& [route, rs] : st.routes) pending_left += rs.pending_events;
  std::map<std::string, uint64_t> per_table;
  std::set<uint64_t> seen;
  uint64_t duplicates = 0;
  std::ifstream rec(eo.record_file);
  std::string line;
  while (std::getline(rec, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("row")) continue;
    ++per_table[j.value("table", "?")];
    uint64_t seq = j["row"].value("demo_seq", uint64_t{0});
    if (!seen.insert(seq).second) ++duplicates;
  }
  // Signed: an event Azure accepted whose ack was not yet written at the stop is both delivered
  // and pending (it is sent again on restart); unsigned, that overlap wrapped "lost" round to 2^64.
  const int64_t unaccounted = static_cast<int64_t>(opts.events) -
                              static_cast<int64_t>(std::min<uint64_t>(seen.size(), opts.events)) -
                              static_cast<int64_t>(pending_left) - static_cast<int64_t>(st.failed_events);
  const uint64_t lost = unaccounted > 0 ? static_cast<uint64_t>(unaccounted) : 0;
  const uint64_t counted_twice = unaccounted < 0 ? static_cast<uint64_t>(-unaccounted) : 0;
  nlohmann::json emu_stats = emu->Stats();
  gw.reset();
  emu.reset();
  cluster.reset();
  host.reset();

  std::printf("\nSummary after %.1fs\n", wall);
  std::printf("  produced to Kafka        %10llu\n", static_cast<unsigned long long>(opts.events));
  std::printf("  spooled (fsync'd)        %10llu\n", static_cast<unsigned long long>(p.spooled));
  std::printf("  delivered to Sentinel    %10llu unique rows\n", static_cast<unsigned long long>(seen.size()));
  for (const auto& [table, n] : per_table) {
    std::printf("      %-44s %8llu\n", table.c_str(), static_cast<unsigned long long>(n));
  }
  if (stats_status.ok()) {
    std::printf("  still pending in spool   %10llu\n", static_cast<unsigned long long>(pending_left));
    std::printf("  in the failed area       %10llu\n", static_cast<unsigned long long>(st.failed_events));
    std::printf("  lost                     %10llu\n", static_cast<unsigned long long>(lost));
    if (counted_twice > 0) {
      std::printf("  delivered, ack not yet written (pending too, sent again on restart) %llu\n",
                  static_cast<unsigned long long>(counted_twice));
    }
  } else {
    std::printf("  still pending in spool   %10s\n", "unknown");
    std::printf("  in the failed area       %10s\n", "unknown");
    std::printf("  lost                     %10s\n", "unknown");
  }
  std::printf("  duplicated               %10llu\n", static_cast<unsigned long long>(duplicates));
  std::printf("  Azure answers by status  %s\n", emu_stats.value("requests", nlohmann::json::object()).dump().c_str());
  std::printf("\nWhere to look next:\n");
  std::printf("  README.md                 configuration, operations, troubleshooting\n");
  std::printf("  config/gateway.example.toml   every setting with its default\n");
  if (own_dir) {
    std::printf("  sentinel-gateway demo --keep DIR   keeps the spool and the emulator's rows for build/bin/sentinel-spool --spool DIR/spool stats\n");
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    std::printf("  build/bin/sentinel-spool --spool %s/spool stats\n", dir.c_str());
    std::printf("  %s/sentinel-rows.jsonl     every row Sentinel accepted\n", dir.c_str());
  }
  return stats_status.ok() && lost == 0 && pending_left == 0 ? 0 : 1;
}

}  // namespace sg
