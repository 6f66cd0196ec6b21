// ingest-bench: Kafka (librdkafka's mock cluster, in process) -> ingest -> RocksDB spool on disk.
//
// Pre-produces N Citrix-shaped events of about --size bytes over P partitions (enough partitions
// that the mock's ~5 MB per-partition log keeps them all), then times the ingest stage from its
// first consumed message until every event is in the spool. Every spool append is fsync'd before
// its offsets are stored, as in production. Prints events/s, MB/s and the appends (fsyncs) done.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/spool.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* kTypes[] = {"userProfileRiskscore", "userProfileApp", "riskScoreChange", "indicatorSummary",
                        "indicatorEventDetails"};

std::string Event(int64_t seq, size_t size) {
  nlohmann::json j = {{"tenant_id", "jimex9vbhnya"},
                      {"entity_id", fmt::format("user{}@example.com", seq % 9973)},
                      {"entity_type", "user"},
                      {"event_type", kTypes[seq % 5]},
                      {"timestamp", "2021-11-05T10:07:33.652Z"},
                      {"version", 2},
                      {"seq", seq},
                      {"indicator_uuid", "ebc8e26c-3434-5572-b59a-2552e995234e"},
                      {"client_ip", "104.203.191.202"},
                      {"city", "Los Angeles"},
                      {"country", "United States"},
                      {"latitude", 33.8697},
                      {"longitude", -118.3693}};
  std::string s = j.dump();
  if (s.size() + 12 < size) {
    j["file_name"] = std::string(size - s.size() - 16, 'f');
    s = j.dump();
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka (mock cluster) -> ingest -> spool throughput, every batch fsync'd."};
  int64_t events = 300000;
  int partitions = 64;
  size_t size = 1000;
  size_t batch = 20000;
  std::string dir;
  app.add_option("--events", events, "events to ingest")->capture_default_str();
  app.add_option("--partitions", partitions, "topic partitions")->capture_default_str();
  app.add_option("--size", size, "approximate event size in bytes")->capture_default_str();
  app.add_option("--batch", batch, "max messages per spool append")->capture_default_str();
  app.add_option("--dir", dir, "spool parent directory (default: the temp directory)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (static_cast<double>(events) * static_cast<double>(size) / partitions > 4.5e6) {
    fmt::print(stderr, "too many bytes per partition for the mock's ~5 MB log: use more --partitions\n");
    return 2;
  }

  char errstr[512];
  rd_kafka_conf_t* hconf = rd_kafka_conf_new();
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, hconf, errstr, sizeof(errstr));
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(host, 1);
  rd_kafka_mock_topic_create(mc, "citrix", partitions, 1);
  const std::string brokers = rd_kafka_mock_cluster_bootstraps(mc);

  // Produce everything first.
  {
    rd_kafka_conf_t* pconf = rd_kafka_conf_new();
    rd_kafka_conf_set(pconf, "bootstrap.servers", brokers.c_str(), errstr, sizeof(errstr));
    rd_kafka_conf_set(pconf, "linger.ms", "20", errstr, sizeof(errstr));
    rd_kafka_conf_set(pconf, "batch.num.messages", "5000", errstr, sizeof(errstr));
    rd_kafka_conf_set(pconf, "queue.buffering.max.kbytes", "1048576", errstr, sizeof(errstr));
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof(errstr));
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < events; ++i) {
      std::string v = Event(i, size);
      while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("citrix"), RD_KAFKA_V_PARTITION(static_cast<int32_t>(i % partitions)),
                               RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(p, 10);
      }
    }
    if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fmt::print(stderr, "producing failed\n");
      return 1;
    }
    rd_kafka_destroy(p);
    fmt::print(stderr, "produced {} events in {:.1f} s\n", events,
               std::chrono::duration<double>(Clock::now() - t0).count());
  }

  const std::filesystem::path parent = dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(dir);
  const std::filesystem::path spool_dir = parent / fmt::format("ingest-bench-{}", getpid());
  std::unique_ptr<sg::spool::Spool> spool;
  sg::Status s = sg::spool::Spool::Open(sg::spool::SpoolOptions{}, spool_dir.string(), &spool);
  if (!s.ok()) {
    fmt::print(stderr, "spool: {}\n", s.ToString());
    return 1;
  }
  sg::ingest::IngestOptions o;
  o.brokers = brokers;
  o.topics = {"citrix"};
  o.group_id = "bench";
  o.security_protocol = "plaintext";
  o.max_batch_messages = batch;
  o.max_batch_bytes = 32u << 20;  // as BENCHMARKS.md's runs had it
  o.librdkafka["queued.max.messages.kbytes"] = "262144";
  o.librdkafka["fetch.max.bytes"] = "104857600";
  o.librdkafka["max.partition.fetch.bytes"] = "4194304";
  std::unique_ptr<sg::ingest::Ingest> in;
  s = sg::ingest::Ingest::Create(o, spool.get(), &in);
  if (s.ok()) s = in->Start();
  if (!s.ok()) {
    fmt::print(stderr, "ingest: {}\n", s.ToString());
    return 1;
  }
  // Poll the counters; the clock starts with the first consumed message (after the group join).
  Clock::time_point first{};
  sg::ingest::IngestStats st;
  const auto deadline = Clock::now() + std::chrono::minutes(10);
  while (Clock::now() < deadline) {
    st = in->Stats();
    if (first == Clock::time_point{} && st.consumed > 0) first = Clock::now();
    if (st.spooled + st.quarantined >= static_cast<uint64_t>(events)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto end = Clock::now();
  // Stop reports the last append's failure: a run whose appends failed measured nothing.
  const sg::Status stop_status = in->Stop();
  if (!stop_status.ok()) fmt::print(stderr, "ingest-bench: ingest stopped with an error: {}\n", stop_status.ToString());
  st = in->Stats();
  const double secs = std::chrono::duration<double>(end - first).count();
  const double mb = static_cast<double>(st.spooled_bytes) / 1e6;
  fmt::print("ingest-bench: events={} size~{}B partitions={} max_batch={}\n", events, size, partitions, batch);
  fmt::print("  spooled {} events ({:.1f} MB) in {:.2f} s: {:.0f} events/s, {:.1f} MB/s\n", st.spooled, mb, secs,
             static_cast<double>(st.spooled) / secs, mb / secs);
  fmt::print("  {} fsync'd appends (avg {:.0f} events each, {:.1f} ms each), {} quarantined, {} append failures\n",
             st.appends, st.appends ? static_cast<double>(st.spooled) / static_cast<double>(st.appends) : 0.0,
             st.appends ? static_cast<double>(st.append_micros) / 1000.0 / static_cast<double>(st.appends) : 0.0,
             st.quarantined, st.append_failures);
  const bool ok = stop_status.ok() && st.spooled == static_cast<uint64_t>(events);
  spool.reset();
  in.reset();
  std::error_code ec;
  std::filesystem::remove_all(spool_dir, ec);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(host);
  return ok ? 0 : 1;
}
