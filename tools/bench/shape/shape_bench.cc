// shape_bench: CPU time per event of the shaper (deliver/shaper.h) alone, on one thread.
//
// Shapes the Citrix-shaped sample events of tools/fuzz/corpus/fuzz_shaper (one per event type,
// plus nested and unicode ones) round after round, without a schema and with each event type's
// built-in stream schema (type conversion, the AdditionalFields catch-all), as the drainer's
// reader thread does. Reports nanoseconds of this thread's CPU time per event (CLOCK_THREAD_CPUTIME_ID,
// so other load on the machine changes it little, unlike drain_bench's events/s) and the row bytes.
#include <time.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sentinel_gateway/azure/builtin_streams.h"
#include "sentinel_gateway/citrix/catalogue.h"
#include "sentinel_gateway/deliver/shaper.h"

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Sample {
  std::string name;
  std::string payload;
  const sg::azure::StreamSchema* schema = nullptr;  // the event type's built-in stream
  std::shared_ptr<sg::azure::ColumnIndex> index;    // of it, as the drainer keeps one
};

}  // namespace

int main(int argc, char** argv) {
  std::string corpus = SG_SHAPE_CORPUS;
  int64_t events = 2'000'000;
  CLI::App app{"Shaper CPU time per event, without and with the built-in schemas"};
  app.add_option("--events", events, "events to shape in each mode")->capture_default_str();
  app.add_option("--corpus", corpus, "folder of sample events (one JSON object per file)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<Sample> samples;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!doc.is_object() || !doc.contains("event_type") || !doc["event_type"].is_string()) continue;
    Sample s;
    s.name = entry.path().filename().string();
    s.payload = ss.str();
    const std::string table = sg::citrix::TableForEventType(sg::citrix::Layout::kDcr,
                                                            doc["event_type"].get<std::string>());
    auto it = sg::azure::BuiltinStreamSchemas().find(sg::citrix::TargetFor(sg::citrix::Layout::kDcr, table));
    if (it != sg::azure::BuiltinStreamSchemas().end()) {
      s.schema = &it->second;
      s.index = std::make_shared<sg::azure::ColumnIndex>(it->second);
    }
    samples.push_back(std::move(s));
  }
  if (samples.empty()) {
    std::fprintf(stderr, "no sample events in %s\n", corpus.c_str());
    return 1;
  }
  size_t with_schema = 0;
  for (const auto& s : samples) with_schema += s.schema != nullptr;
  std::printf("samples=%zu (%zu with a built-in schema) events=%lld\n", samples.size(), with_schema,
              static_cast<long long>(events));

  for (const bool schema : {false, true}) {
    sg::deliver::ShapeOptions o;
    o.event_id_field = "sg_event_id";
    o.now_s = 1'700'000'000;
    sg::spool::SourceRef src{"citrix-topic", 3, 0};
    std::string row;
    sg::deliver::ShapeReport report;
    uint64_t bytes = 0;
    const double t0 = ThreadCpuSeconds();
    for (int64_t i = 0; i < events; ++i) {
      const Sample& s = samples[static_cast<size_t>(i) % samples.size()];
      o.schema = schema ? s.schema : nullptr;
      o.index = schema ? s.index.get() : nullptr;
      src.offset = i;
      report = {};
      if (!sg::deliver::ShapeEvent(s.payload, src, o, &row, &report).ok()) {
        std::fprintf(stderr, "%s does not shape\n", s.name.c_str());
        return 1;
      }
      bytes += row.size();
    }
    const double cpu = ThreadCpuSeconds() - t0;
    std::printf("%-9s %.0f ns/event (thread CPU), %.0f events/s on one core, %.0f row bytes/event\n",
                schema ? "schema" : "no-schema", cpu * 1e9 / static_cast<double>(events),
                static_cast<double>(events) / cpu, static_cast<double>(bytes) / static_cast<double>(events));
  }
  return 0;
}
