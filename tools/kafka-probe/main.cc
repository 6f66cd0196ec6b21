// kafka-probe: asks a Kafka cluster for its metadata once, the way a client of the gateway would
// connect, and says how many brokers answered. tools/kafka-broker.sh uses it as its readiness
// probe on the PLAINTEXT and the SASL_SSL (SCRAM) listeners.
//
//   kafka-probe -b HOST:PORT [-t TIMEOUT_MS] [-X librdkafka.property=value]... [--password-file F]
//
// Prints "brokers=N" and exits 0 when the metadata lists at least one broker; otherwise prints the
// last error librdkafka reported (authentication failed, TLS, timeout) on stderr and exits 1.
// Usage errors exit 2. The password comes from a file so that it is not on a command line.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <librdkafka/rdkafka.h>

namespace {

std::string last_error;  // written by librdkafka's error callback, on the polling thread

void ErrorCb(rd_kafka_t*, int err, const char* reason, void*) {
  last_error = std::string(rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason;
}

int Usage() {
  std::fprintf(stderr, "usage: kafka-probe -b HOST:PORT [-t TIMEOUT_MS] [-X key=value]... [--password-file FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  int timeout_ms = 3000;
  bool have_brokers = false;
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "kafka-probe: %s\n", errstr);
      return false;
    }
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    if (a == "-b") {
      if (!set("bootstrap.servers", v)) return 2;
      have_brokers = true;
    } else if (a == "-t") {
      timeout_ms = std::atoi(v.c_str());
    } else if (a == "-X") {
      const size_t eq = v.find('=');
      if (eq == std::string::npos || !set(v.substr(0, eq), v.substr(eq + 1))) return 2;
    } else if (a == "--password-file") {
      std::ifstream in(v);
      std::string pw;
      if (!in || !std::getline(in, pw)) {
        std::fprintf(stderr, "kafka-probe: cannot read %s\n", v.c_str());
        return 2;
      }
      if (!set("sasl.password", pw)) return 2;
    } else {
      return Usage();
    }
  }
  if (!have_brokers) return Usage();
  set("log_level", "0");  // errors arrive through the error callback and are printed once
  rd_kafka_conf_set_error_cb(conf, ErrorCb);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka-probe: %s\n", errstr);
    return 2;
  }
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  int brokers = 0;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_poll(rk, 0);  // deliver pending error callbacks
  rd_kafka_destroy(rk);
  if (brokers > 0) {
    std::printf("brokers=%d\n", brokers);
    return 0;
  }
  std::fprintf(stderr, "kafka-probe: no metadata: %s%s%s\n", rd_kafka_err2str(err),
               last_error.empty() ? "" : "; last error: ", last_error.c_str());
  return 1;
}
