#include "e2e_fixture.h"

#include "http.h"
#include "kafka_produce.h"
#include "recorded_rows.h"
#include "wait.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

namespace sg::testing {
int E2eFixture::FreePort() { return testing::FreePort(); }

void E2eFixture::SetUp() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sg-e2e-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
}

void E2eFixture::TearDown() {
  if (producer_ != nullptr) rd_kafka_destroy(producer_);
  emulator_.Signal(SIGTERM);
  emulator_.Wait(std::chrono::seconds(10));
  kafka_.Signal(SIGTERM);
  kafka_.Wait(std::chrono::seconds(10));
  if (!HasFailure() && std::getenv("SG_E2E_KEEP") == nullptr) {  // SG_E2E_KEEP=1 keeps passing runs too
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } else {
    std::cerr << "e2e: kept " << dir_ << " for inspection\n";
    // CI keeps only the test's output: the end of each process log says why (a crash, say).
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() != ".log") continue;
      std::cerr << "e2e: last lines of " << entry.path().filename().string() << ":\n";
      PrintLogTail(entry.path().string());
    }
  }
}

void E2eFixture::StartKafka(int partitions) {
  partitions_ = partitions;
  ASSERT_TRUE(kafka_.Start({BinDir() + "/kafka-mock-cluster", "--brokers", "3", "--topic", "citrix-risk",
                            "--partitions", std::to_string(partitions)},
                           dir_ + "/kafka.log"));
  ASSERT_TRUE(kafka_.WaitForLine("bootstrap=", &bootstrap_, std::chrono::seconds(20)));
  ConnectProducer();
}

void E2eFixture::ConnectProducer() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr));
  // Oversized messages are part of the poison the tests send.
  rd_kafka_conf_set(conf, "message.max.bytes", "4000000", errstr, sizeof(errstr));
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  ASSERT_NE(producer_, nullptr) << errstr;
}

void E2eFixture::StartEmulator(const std::vector<std::string>& extra_args, int port, bool rate_limits) {
  std::vector<std::string> args = {BinDir() + "/sentinel-emulator", "--listen", fmt::format("127.0.0.1:{}", port),
                                    "--tls-dir", dir_ + "/tls", "--record", dir_ + "/rows.jsonl"};
  if (!rate_limits) args.push_back("--no-rate-limits");
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ASSERT_TRUE(emulator_.Start(args, dir_ + "/emulator.log"));
  std::string rest;
  ASSERT_TRUE(emulator_.WaitForLine("listening=", &rest, std::chrono::seconds(30)));
  size_t sp = rest.find(" ca=");
  emulator_url_ = rest.substr(0, sp);
  // A restart reuses the certificate in the TLS directory and prints no new CA: keep the first.
  if (!rest.substr(sp + 4).empty()) emulator_ca_ = rest.substr(sp + 4);
  emulator_port_ = std::atoi(emulator_url_.c_str() + emulator_url_.rfind(':') + 1);
}

void E2eFixture::StopEmulator() {
  emulator_.Signal(SIGTERM);
  ASSERT_EQ(emulator_.Wait(std::chrono::seconds(20)), 0);
}

void E2eFixture::AddToSection(const std::string& config, const std::string& section, const std::string& line) {
  std::ifstream in(config);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  size_t p = text.find("[" + section + "]\n");
  ASSERT_NE(p, std::string::npos) << section;
  text.insert(p + section.size() + 3, line + "\n");
  std::ofstream(config, std::ios::trunc) << text;
}

std::string E2eFixture::SpoolDir(const std::string& name) const {
  return name == "gateway" ? dir_ + "/spool" : dir_ + "/" + name + "-spool";
}

void E2eFixture::Report(const std::string& scenario, uint64_t produced, const Recorded& r,
                        std::chrono::steady_clock::time_point start) {
  uint64_t delivered = 0;
  for (const auto& [seq, n] : r.count) delivered += seq < produced ? 1 : 0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("scenario {:<28} produced {:>7}  delivered {:>7}  lost {:>5}  duplicates {:>5}  wall {:6.1f}s\n",
                           scenario, produced, delivered, produced - delivered, r.rows - r.count.size(), wall)
            << std::flush;
}

std::string E2eFixture::WriteConfig(const std::string& extra, const std::string& client_secret,
                                    const std::string& name) {
  metrics_port_ = FreePort();
  metrics_ports_[name] = metrics_port_;
  std::string path = dir_ + "/" + name + ".toml";
  std::ofstream(path) << fmt::format(R"(
[kafka]
brokers = "{}"
topic = "citrix-risk"
group_id = "sentinel-gateway-e2e"
security_protocol = "PLAINTEXT"
commit_interval = "200ms"
# A killed gateway's partitions move once its session times out; keep tests quick.
session_timeout = "6s"

[spool]
path = "{}"
max_bytes = "2GiB"

[sentinel]
endpoint = "{}"
login_endpoint = "{}"
ca_file = "{}"
tenant_id = "00000000-0000-0000-0000-0000000000aa"
client_id = "00000000-0000-0000-0000-0000000000bb"
client_secret = "{}"
dcr_immutable_id = "dcr-e2e"

[metrics]
listen = "127.0.0.1:{}"

{}
)",
                                     bootstrap_, SpoolDir(name), emulator_url_, emulator_url_, emulator_ca_, client_secret,
                                     metrics_port_, extra);
  return path;
}

void E2eFixture::StartGateway(Subprocess* gw, const std::string& config_path) {
  std::string log = config_path.substr(0, config_path.size() - 5) + ".log";
  ASSERT_TRUE(gw->Start({BinDir() + "/sentinel-gateway", "run", "--config", config_path}, log));
}

std::string E2eFixture::Event(uint64_t seq) {
  static const char* kTypes[] = {"userProfileRiskscore", "riskScoreChange", "indicatorSummary", "indicatorEventDetails"};
  nlohmann::json e = {{"tenant_id", "e2e"},         {"entity_id", fmt::format("user{}@e2e.example", seq % 100)},
                      {"entity_type", "user"},      {"event_type", kTypes[seq % 4]},
                      {"timestamp", "2026-11-28T07:00:00Z"}, {"version", 2},
                      {"seq", seq},                 {"occurrence_details", {{"event_count", seq % 7}}}};
  return e.dump();
}

void E2eFixture::Produce(uint64_t first, uint64_t count) {
  for (uint64_t seq = first; seq < first + count; ++seq) {
    std::string v = Event(seq);
    int32_t partition = static_cast<int32_t>(seq % static_cast<uint64_t>(partitions_));
    ASSERT_EQ(ProduceCopy(producer_, "citrix-risk", partition, v), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer_, 60'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

nlohmann::json E2eFixture::EmulatorStats() {
  std::string body;
  if (testing::HttpGet(emulator_url_ + "/emulator/stats", emulator_ca_, &body) != 200) return nlohmann::json::object();
  return nlohmann::json::parse(body, nullptr, false);
}

void E2eFixture::EmulatorFaults(const std::string& method, const std::string& body) {
  std::string out;
  int code = HttpRequest(method, emulator_url_ + "/emulator/faults", emulator_ca_, body, &out);
  ASSERT_TRUE(code >= 200 && code < 300) << code << " " << out;
}

int E2eFixture::HttpGet(const std::string& url, std::string* body) { return testing::HttpGet(url, "", body); }

bool E2eFixture::WaitForMetricAtLeast(const std::string& metric, uint64_t value, std::chrono::seconds timeout,
                                      const std::string& gateway) {
  std::string body;
  return WaitFor([&] {
    if (HttpGet(fmt::format("http://127.0.0.1:{}/metrics", metrics_ports_[gateway]), &body) != 200) return false;
    const uint64_t v = MetricValue(body, metric);
    return v != UINT64_MAX && v >= value;
  }, timeout, std::chrono::milliseconds(100));
}

E2eFixture::Recorded E2eFixture::ReadRecord() {
  Recorded r;
  ForEachRecord(dir_ + "/rows.jsonl", [&](const nlohmann::json& j) {
    uint64_t seq = j["row"].value("seq", uint64_t{0});
    ++r.count[seq];
    ++r.rows;
    r.order[{j.value("table", ""), static_cast<int>(seq % static_cast<uint64_t>(partitions_))}].push_back(seq);
  });
  return r;
}

bool E2eFixture::WaitForRows(uint64_t rows, std::chrono::seconds timeout) {
  return WaitFor([&] {
    nlohmann::json s = EmulatorStats();
    return s.is_object() && s.value("rows_total", uint64_t{0}) >= rows;
  }, timeout, std::chrono::milliseconds(100));
}

bool E2eFixture::WaitForAllRecorded(uint64_t produced, std::chrono::seconds timeout) {
  return WaitFor([&] {
    // The cheap counter first; the record is read only once enough rows arrived.
    nlohmann::json s = EmulatorStats();
    return s.is_object() && s.value("rows_total", uint64_t{0}) >= produced && ReadRecord().count.size() >= produced;
  }, timeout, std::chrono::milliseconds(200));
}

}  // namespace sg::testing
