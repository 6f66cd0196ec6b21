// kafka-mock-cluster: hosts librdkafka's mock Kafka cluster (rdkafka_mock.h) as a process of its
// own, so that the gateway, kcat and tests can connect to it like to any broker on 127.0.0.1.
//
// Prints exactly one line `bootstrap=HOST:PORT,...` on stdout once the cluster serves, then serves
// until SIGTERM or SIGINT and exits 0. Errors go to stderr with a non-zero exit.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(int argc, char** argv) {
  CLI::App app{"Serves librdkafka's mock Kafka cluster on 127.0.0.1 until SIGTERM/SIGINT."};
  int brokers = 3;
  std::vector<std::string> topics;
  int partitions = 4;
  int replication = 1;
  int join_errors = 0;
  app.add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 32))->capture_default_str();
  app.add_option("--topic", topics, "topic to create (repeatable)");
  app.add_option("--partitions", partitions, "partitions per topic")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--replication", replication, "replication factor per topic (<= brokers)")
      ->capture_default_str();
  app.add_option("--join-errors", join_errors,
                 "answer the first N JoinGroup requests with COORDINATOR_LOAD_IN_PROGRESS (consumers stay "
                 "in their group join)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (replication < 1 || replication > brokers) {
    fmt::print(stderr, "kafka-mock-cluster: --replication must be between 1 and --brokers\n");
    return 2;
  }

  // Block the stop signals before librdkafka starts its threads, so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host handle never produces; keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    fmt::print(stderr, "kafka-mock-cluster: cannot create handle: {}\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* mcluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (mcluster == nullptr) {
    fmt::print(stderr, "kafka-mock-cluster: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (const std::string& t : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, t.c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fmt::print(stderr, "kafka-mock-cluster: cannot create topic {}: {}\n", t, rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(mcluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  if (join_errors > 0) {
    constexpr int16_t kJoinGroup = 11;  // the Kafka protocol's JoinGroup API key
    std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(join_errors),
                                            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    rd_kafka_mock_push_request_errors_array(mcluster, kJoinGroup, errors.size(), errors.data());
  }
  fmt::print("bootstrap={}\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  fmt::print(stderr, "kafka-mock-cluster: signal {}, stopping\n", sig);
  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}
