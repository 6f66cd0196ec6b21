// spool-bench: append and head-read throughput of the spool, beside the raw disk's fsync bandwidth.
//
// For each batch size it appends ~1 KB Citrix-shaped events for a fixed time with sync=true, then
// runs a plain write()+fdatasync() loop writing the same bytes per batch to a file in the same
// directory, so both numbers come from the same disk in the same run. Each append row also gives
// the CPU spent per event, which tells where a machine bound by its CPU, not its disk, will land.
// Then it reads and acks a backlog from the head. Output is a Markdown table for docs/BENCHMARKS.md.
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sentinel_gateway/spool.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string CitrixEvent(uint64_t i) {
  std::string e = fmt::format(
      R"({{"tenant_id":"acme","entity_id":"user{}@acme.example","entity_type":"user","event_type":"indicatorEventDetails","timestamp":"2026-11-28T07:00:00.{:03}Z","version":2,"indicator_uuid":"6f1c9a9e-8b53-4a52-9d8e-{:012}","client_ip":"203.0.113.{}","city":"Bengaluru","country":"India","region":"Karnataka","latitude":12.9716,"longitude":77.5946,"file_name":"quarterly-report-{}.xlsx","file_size_in_bytes":{},"device_id":"dev-{}","os_name":"Windows 11","app_url":"https://sharefile.example/files/{}","pad":")",
      i % 1000, i % 1000, i, i % 250, i, 1000 + i * 7, i % 97, i);
  e.append(1024 - std::min<size_t>(e.size(), 1000), 'x');
  e += "\"}";
  return e;
}

struct Result {
  double events_per_s = 0, mb_per_s = 0;
  // CPU per event, what a machine bound by its CPU rather than its disk pays: the appending
  // threads' own (encoding, the WAL's CRC and write, memtable inserts) and the whole process's
  // (RocksDB's flushes and compactions too), in microseconds.
  double appender_cpu_us = 0, process_cpu_us = 0;
};

double ThreadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ProcessCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

Result BenchAppend(sg::spool::Spool* spool, size_t batch, double seconds, int threads, uint64_t* id) {
  std::vector<std::string> payloads;
  for (size_t i = 0; i < batch; ++i) payloads.push_back(CitrixEvent((*id)++));
  std::atomic<uint64_t> events{0}, bytes{0};
  std::vector<double> thread_cpu(static_cast<size_t>(threads), 0.0);
  const double process_cpu0 = ProcessCpuSeconds();
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      sg::spool::AppendBatch b;
      // One source partition per appender, as Kafka's partitions would be: appends that share a
      // partition are serialised by the spool (its idempotent append over recorded offsets).
      for (const auto& p : payloads) b.events.push_back({"CitrixAnalytics_indicatorEventDetails_CL", p, {"bench", t, 0}});
      uint64_t n = 0, by = 0;
      const double cpu0 = ThreadCpuSeconds();
      while (Clock::now() < deadline) {
        sg::Status s = spool->Append(b);
        if (!s.ok()) {
          std::fprintf(stderr, "append failed: %s\n", s.ToString().c_str());
          std::exit(1);
        }
        n += batch;
        for (const auto& p : payloads) by += p.size();
      }
      thread_cpu[static_cast<size_t>(t)] = ThreadCpuSeconds() - cpu0;
      events += n;
      bytes += by;
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double appender_cpu = 0;
  for (double c : thread_cpu) appender_cpu += c;
  const double n = static_cast<double>(events.load());
  return {n / secs, bytes / secs / 1e6, appender_cpu * 1e6 / n, (ProcessCpuSeconds() - process_cpu0) * 1e6 / n};
}

Result BenchRawFsync(const std::string& dir, size_t batch, double seconds) {
  std::string path = dir + "/raw-fsync.dat";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  if (fd < 0) std::exit(1);
  std::string buf;
  for (size_t i = 0; i < batch; ++i) buf += CitrixEvent(i);
  uint64_t events = 0, bytes = 0;
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  auto start = Clock::now();
  while (Clock::now() < deadline) {
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()) || ::fdatasync(fd) != 0) {
      std::perror("raw write");
      std::exit(1);
    }
    events += batch;
    bytes += buf.size();
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  return {events / secs, bytes / secs / 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"spool-bench: spool append and head-read throughput against raw fdatasync"};
  std::string dir;
  double seconds = 5;
  size_t backlog = 1'000'000;
  app.add_option("--dir", dir, "directory on the disk to measure (default: a new temp dir)");
  app.add_option("--seconds", seconds, "duration of each append measurement");
  app.add_option("--backlog", backlog, "events in the head-read backlog");
  CLI11_PARSE(app, argc, argv);
  bool own_dir = dir.empty();
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-bench-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  uint64_t id = 0;
  std::printf("| batch (events of ~1 KB) | appenders | spool events/s | spool MB/s | raw write+fdatasync MB/s | spool / raw "
              "| appenders' CPU us/event | process CPU us/event |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (auto [batch, threads] : {std::pair<size_t, int>{1, 1}, {1, 4}, {100, 1}, {1000, 1}}) {
    std::string path = fmt::format("{}/spool-{}-{}", dir, batch, threads);
    std::unique_ptr<sg::spool::Spool> spool;
    sg::spool::SpoolOptions o;
    o.max_bytes = 1ull << 40;
    sg::Status s = sg::spool::Spool::Open(o, path, &spool);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    Result sp = BenchAppend(spool.get(), batch, seconds, threads, &id);
    spool.reset();
    std::filesystem::remove_all(path);
    Result raw = BenchRawFsync(dir, batch, seconds);
    std::printf("| %zu | %d | %.0f | %.1f | %.1f | %.2f | %.2f | %.2f |\n", batch, threads, sp.events_per_s, sp.mb_per_s,
                raw.mb_per_s, sp.mb_per_s / raw.mb_per_s, sp.appender_cpu_us, sp.process_cpu_us);
    std::fflush(stdout);
  }

  // Head reads: fill a backlog, then read and ack it from the head in batches of 1,000.
  std::string path = dir + "/spool-backlog";
  std::unique_ptr<sg::spool::Spool> spool;
  sg::spool::SpoolOptions o;
  o.max_bytes = 1ull << 40;
  if (!sg::spool::Spool::Open(o, path, &spool).ok()) return 1;
  const std::string route = "CitrixAnalytics_indicatorEventDetails_CL";
  for (size_t i = 0; i < backlog; i += 1000) {
    sg::spool::AppendBatch b;
    for (size_t j = 0; j < 1000; ++j) b.events.push_back({route, CitrixEvent(i + j), {"bench", 0, 0}});
    if (!spool->Append(b).ok()) return 1;
  }
  std::vector<sg::spool::PendingEvent> head;
  uint64_t n = 0, bytes = 0;
  double first_tenth = 0, last_tenth = 0;
  auto start = Clock::now();
  auto tenth_start = start;
  for (;;) {
    if (!spool->Read(route, 0, 1000, SIZE_MAX, &head).ok()) return 1;
    if (head.empty()) break;
    for (const auto& e : head) bytes += e.payload.size();
    n += head.size();
    if (!spool->Ack(route, head).ok()) return 1;
    if (n == backlog / 10) first_tenth = std::chrono::duration<double>(Clock::now() - tenth_start).count();
    if (n == backlog - backlog / 10) tenth_start = Clock::now();
  }
  last_tenth = std::chrono::duration<double>(Clock::now() - tenth_start).count();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("\n| head read + ack, backlog | events/s | MB/s | first 10%% s | last 10%% s |\n|---:|---:|---:|---:|---:|\n");
  std::printf("| %zu | %.0f | %.1f | %.2f | %.2f |\n", backlog, n / secs, bytes / secs / 1e6, first_tenth, last_tenth);
  spool.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
