// drain_bench: drain throughput from a full spool to the Sentinel emulator over HTTPS.
//
// Fills a fresh RocksDB spool with N events of about --size bytes, then starts the drainer against
// an in-process emulator (real TLS with certificate verification, Logs Ingestion API, token
// endpoint) and times how long it takes to empty the spool. Reports events/s and MB/s with the
// emulator's rate limits off; with --limits it runs for --seconds against the per-DCR byte limit
// (2 GB/min by default, scaled to --window) and reports the share of that limit achieved.
// Always reports requests per million events and the body bytes per request, as JSON and as
// sent (compressed with --gzip), from the emulator's record of accepted requests.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "emulator.h"
#include "url_words.h"
#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/deliver.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/spool.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int64_t events = 200'000;
  size_t size = 1024;
  int routes = 1;
  int concurrency = 4;
  size_t batch_events = 5000;
  bool limits = false;
  bool gzip = false;
  bool schema = false;
  double window_s = 10;
  double seconds = 30;
  uint64_t limit_bytes_per_min = 2'000'000'000ull;
  std::string dir;
  std::string padding = "repeat";
  CLI::App app{"Drain throughput: spool -> drainer -> sentinel-emulator over HTTPS"};
  app.add_option("--events", events, "events to spool and drain")->capture_default_str();
  app.add_option("--size", size, "approximate event size in bytes")->capture_default_str();
  app.add_option("--routes", routes, "routes (lanes), events spread evenly")->capture_default_str();
  app.add_option("--concurrency", concurrency, "requests in flight per lane")->capture_default_str();
  app.add_option("--batch-events", batch_events, "max events per request")->capture_default_str();
  app.add_flag("--limits", limits, "turn the emulator's per-DCR rate limits on");
  app.add_option("--limit-bytes-per-min", limit_bytes_per_min, "DCR byte limit per minute")
      ->capture_default_str();
  app.add_option("--window", window_s, "rate-limit window in seconds (limit scaled to it)")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "with --limits: measure for this long")->capture_default_str();
  app.add_flag("--gzip", gzip, "Content-Encoding: gzip");
  app.add_flag("--schema", schema,
               "shape with a built-in DCR schema (type conversion, AdditionalFields), as the gateway "
               "does by default for its own tables");
  std::string schema_stream = "Custom-CitrixAnalytics_indicatorEventDetails_V1";
  app.add_option("--schema-stream", schema_stream,
                 "with --schema: the stream whose built-in schema shapes the events (default: the "
                 "events' own; indicatorSummary's lacks app_url, the padding, which then goes to "
                 "AdditionalFields too)")
      ->capture_default_str();
  app.add_option("--padding", padding,
                 "what fills app_url up to --size: 'repeat' (one letter: compresses far better than "
                 "real events) or 'words' (URL-like words and numbers drawn at random)")
      ->check(CLI::IsMember({"repeat", "words"}))
      ->capture_default_str();
  double outage_s = 0;
  int64_t probe_ms = -1;
  uint64_t read_ahead_mib = 0;
  app.add_option("--outage", outage_s,
                 "Azure answers 503 to every request for this many seconds from the drainer's start, "
                 "with the gateway's default backoff (1 s growing to 5 min): reports the time from "
                 "Azure's return to the first delivery and to the last")
      ->capture_default_str();
  app.add_option("--probe-interval-ms", probe_ms, "the drainer's probe_interval (default: the gateway's; 0: off)");
  app.add_option("--read-ahead-mib", read_ahead_mib,
                 "the drainer's read_ahead_bytes in MiB (default: the gateway's)");
  app.add_option("--dir", dir, "work directory (default: a fresh temporary one)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-drain-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }

  sg::emulator::EmulatorOptions eo;
  eo.tls_dir = dir + "/tls";
  eo.threads = std::max(16, routes * concurrency + 8);
  eo.rate_limits = limits;
  eo.rate_window = std::chrono::milliseconds(static_cast<int64_t>(window_s * 1000));
  eo.rate_bytes = static_cast<uint64_t>(limit_bytes_per_min * window_s / 60.0);
  eo.rate_requests = static_cast<uint64_t>(12'000 * window_s / 60.0);
  std::unique_ptr<sg::emulator::Emulator> emu;
  sg::Status s = sg::emulator::Emulator::Start(eo, &emu);
  if (!s.ok()) {
    std::fprintf(stderr, "emulator: %s\n", s.ToString().c_str());
    return 1;
  }

  std::unique_ptr<sg::spool::Spool> spool;
  sg::spool::SpoolOptions so;
  so.max_bytes = 64ull << 30;
  s = sg::spool::Spool::Open(so, dir + "/spool", &spool);
  if (!s.ok()) {
    std::fprintf(stderr, "spool: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<std::string> route_names;
  for (int r = 0; r < routes; ++r) route_names.push_back(fmt::format("Bench{}_V1_CL", r));

  // Fill.
  auto fill_start = Clock::now();
  uint64_t payload_bytes = 0;
  std::mt19937 rng(42);
  for (int64_t i = 0; i < events;) {
    sg::spool::AppendBatch b;
    for (int k = 0; k < 1000 && i < events; ++k, ++i) {
      nlohmann::json j = {{"tenant_id", "jimex9vbhnya"},
                          {"entity_id", fmt::format("user{}@example.com", i)},
                          {"entity_type", "user"},
                          {"event_type", "indicatorEventDetails"},
                          {"timestamp", "2021-12-15T01:00:00Z"},
                          {"version", 2},
                          {"seq", i},
                          {"indicator_vector", {{"name", "Insider Threat - Files"}, {"id", "6"}}}};
      std::string p = j.dump();
      if (p.size() < size && padding == "repeat") {
        j["app_url"] = std::string(size - p.size() - 12, 'u');
      } else if (p.size() < size) {
        std::string url = "https://sharefile.example.com";
        sg::testing::AppendUrlWords(&url, size > p.size() + 12 ? size - p.size() - 12 : 0, &rng);
        j["app_url"] = url;
      }
      sg::spool::NewEvent e;
      e.route = route_names[static_cast<size_t>(i % routes)];
      e.payload = j.dump();
      e.source = {"citrix", 0, i};
      payload_bytes += e.payload.size();
      b.events.push_back(std::move(e));
    }
    s = spool->Append(b);
    if (!s.ok()) {
      std::fprintf(stderr, "append: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  double fill_s = std::chrono::duration<double>(Clock::now() - fill_start).count();

  sg::azure::AzureOptions az;
  az.api = sg::azure::Api::kLogsIngestion;
  az.endpoint = az.login_endpoint = emu->base_url();
  az.dcr_immutable_id = "dcr-bench";
  az.tenant_id = eo.tenant_id;
  az.client_id = eo.client_id;
  az.client_secret = eo.client_secret;
  az.ca_file = emu->ca_file();
  az.gzip = gzip;
  sg::deliver::DrainerOptions d;
  for (const auto& r : route_names) {
    std::optional<sg::azure::StreamSchema> route_schema;
    if (schema) {
      auto it = sg::azure::BuiltinStreamSchemas().find(schema_stream);
      if (it == sg::azure::BuiltinStreamSchemas().end()) {
        std::fprintf(stderr, "no built-in stream %s\n", schema_stream.c_str());
        return 2;
      }
      route_schema = it->second;
    }
    d.routes.push_back({r, sg::citrix::TargetFor(sg::citrix::Layout::kDcr, r), route_schema});
  }
  d.concurrency = concurrency;
  d.max_batch_events = batch_events;
  d.linger = std::chrono::milliseconds(50);
  d.event_id_field = "";  // no event id, as BENCHMARKS.md's runs had it
  if (probe_ms >= 0) d.probe_interval = std::chrono::milliseconds(probe_ms);
  if (read_ahead_mib > 0) d.read_ahead_bytes = read_ahead_mib << 20;
  if (outage_s > 0 && !emu->SetFaults({{"outage", {{"status", 503}, {"seconds", outage_s}}}}).ok()) return 1;

  // A failed Stats read ends the wait (0 pending) and fails the run below: it must not pass
  // for a drained spool.
  std::string stats_error;
  auto pending = [&] {
    sg::spool::SpoolStats st;
    if (sg::Status ss = spool->Stats(&st); !ss.ok()) {
      if (stats_error.empty()) stats_error = ss.ToString();
      return uint64_t{0};
    }
    uint64_t n = 0;
    for (auto& [r, rs] : st.routes) n += rs.pending_events;
    return n;
  };

  std::unique_ptr<sg::deliver::Drainer> drainer;
  auto t0 = Clock::now();
  s = sg::deliver::Drainer::Start(d, az, spool.get(), &drainer);
  if (!s.ok()) {
    std::fprintf(stderr, "drainer: %s\n", s.ToString().c_str());
    return 1;
  }
  auto deadline = t0 + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  const auto azure_back = t0 + std::chrono::milliseconds(static_cast<int64_t>(outage_s * 1000));
  double first_after_return = -1;
  while (pending() > 0 && (!limits || Clock::now() < deadline)) {
    if (outage_s > 0 && first_after_return < 0 && pending() < static_cast<uint64_t>(events)) {
      first_after_return = std::chrono::duration<double>(Clock::now() - azure_back).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double all_after_return = std::chrono::duration<double>(Clock::now() - azure_back).count();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json stats = emu->Stats();
  drainer->Stop(std::chrono::milliseconds(2000));
  if (!stats_error.empty()) {
    std::fprintf(stderr, "spool stats: %s\n", stats_error.c_str());
    return 1;
  }
  uint64_t delivered = 0, body_bytes = 0, throttled = 0, requests = 0, splits = 0;
  for (auto& [r, c] : drainer->Counters()) {
    delivered += c.delivered_events;
    body_bytes += c.delivered_bytes;
    throttled += c.retries_throttled;
    requests += c.requests;
    splits += c.oversize_splits;
  }
  uint64_t accepted = stats["bytes_accepted"].get<uint64_t>();
  std::printf("events=%lld size~%zu padding=%s routes=%d concurrency=%d batch_events=%zu gzip=%d "
              "limits=%d schema=%d\n",
              static_cast<long long>(events), size, padding.c_str(), routes, concurrency, batch_events,
              gzip, limits, schema);
  std::printf("fill: %.2f s (%.0f events/s)\n", fill_s, events / fill_s);
  std::printf("drain: delivered=%llu in %.2f s -> %.0f events/s, %.1f MB/s payload, %.1f MB/s body\n",
              static_cast<unsigned long long>(delivered), elapsed, delivered / elapsed,
              payload_bytes * (static_cast<double>(delivered) / events) / elapsed / 1e6,
              body_bytes / elapsed / 1e6);
  // From the emulator: the latest 1,000 accepted requests (all of them in a short run).
  uint64_t sent = 0, json_bytes = 0, largest_sent = 0;
  const auto& accepted_list = stats["accepted_requests"];
  for (const auto& r : accepted_list) {
    sent += r["sent_bytes"].get<uint64_t>();
    json_bytes += r["body_bytes"].get<uint64_t>();
    largest_sent = std::max(largest_sent, r["sent_bytes"].get<uint64_t>());
  }
  const double n_acc = static_cast<double>(std::max<size_t>(1, accepted_list.size()));
  std::printf("requests: %llu sent (%.0f per million events), %zu accepted%s; per request: "
              "%.0f events, %.0f bytes of JSON, %.0f bytes sent (largest %llu); gzip bodies split "
              "before sending: %llu\n",
              static_cast<unsigned long long>(requests), requests * 1e6 / std::max<uint64_t>(1, delivered),
              accepted_list.size(), accepted_list.size() >= 1000 ? " (the latest 1,000 below)" : "",
              delivered / std::max(1.0, static_cast<double>(requests)), json_bytes / n_acc, sent / n_acc,
              static_cast<unsigned long long>(largest_sent), static_cast<unsigned long long>(splits));
  if (outage_s > 0) {
    std::printf("outage: %.0f s of 503; after Azure's return: first events delivered in %.2f s, all %lld in %.2f s\n",
                outage_s, first_after_return, static_cast<long long>(events), all_after_return);
  }
  if (limits) {
    double limit_rate = limit_bytes_per_min / 60.0;
    std::printf("limits: %.1f MB/s accepted of %.1f MB/s allowed = %.1f%% of the DCR byte limit "
                "(429s: %llu, early retries: %llu)\n",
                accepted / elapsed / 1e6, limit_rate / 1e6, 100.0 * accepted / elapsed / limit_rate,
                static_cast<unsigned long long>(throttled),
                static_cast<unsigned long long>(stats["early_retries"].get<uint64_t>()));
  }
  drainer.reset();
  emu->Stop();
  spool.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
