// Integration test of build/bin/kafka-mock-cluster as other processes use it: it prints one
// bootstrap line, serves the Kafka protocol on 127.0.0.1 (a message produced by one client is
// consumed by another), and exits 0 on SIGTERM.
#include <signal.h>

#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "kafka_test_util.h"
#include "../support/subprocess.h"

namespace sg::testing {
namespace {

using namespace std::chrono_literals;

TEST(KafkaMockClusterTool, ServesUntilSigtermAndExitsZero) {
  Subprocess mock;  // its destructor kills and reaps the mock cluster if a check below fails
  ASSERT_TRUE(mock.Start({MOCK_CLUSTER_PATH, "--brokers", "2", "--topic", "citrix", "--topic", "other", "--partitions",
                          "3"}));
  std::string first;
  ASSERT_TRUE(mock.ReadLine(&first, 20s)) << "no bootstrap line";
  ASSERT_EQ(first.rfind("bootstrap=", 0), 0u) << "the first line: " << first;
  const std::string bootstrap = first.substr(10);
  EXPECT_EQ(bootstrap.rfind("127.0.0.1:", 0), 0u) << bootstrap;
  EXPECT_NE(bootstrap.find(','), std::string::npos) << "two brokers: " << bootstrap;

  // Topics exist with their partitions.
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  const rd_kafka_metadata_t* md = nullptr;
  ASSERT_EQ(rd_kafka_metadata(rk, 1, nullptr, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(md->broker_cnt, 2);
  int found = 0;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const std::string t = md->topics[i].topic;
    if (t == "citrix" || t == "other") {
      ++found;
      EXPECT_EQ(md->topics[i].partition_cnt, 3) << t;
    }
  }
  EXPECT_EQ(found, 2);
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);

  // A message goes through.
  {
    Producer p(bootstrap);
    p.Produce("citrix", 1, "{\"event_type\":\"riskScoreChange\"}");
    ASSERT_TRUE(p.Flush(10000));
  }
  conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", "tool-test", errstr, sizeof(errstr));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  rd_kafka_topic_partition_list_t* a = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(a, "citrix", 1)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(c, a), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(a);
  std::string got;
  ASSERT_TRUE(WaitFor(
      [&] {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
        if (m != nullptr && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) got.assign(static_cast<char*>(m->payload), m->len);
        if (m != nullptr) rd_kafka_message_destroy(m);
        return !got.empty();
      },
      15s));
  EXPECT_EQ(got, "{\"event_type\":\"riskScoreChange\"}");
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);

  mock.Signal(SIGTERM);
  EXPECT_EQ(mock.Wait(30s), 0) << "exit status, 128+signal when killed, -1 when still running";
}

}  // namespace
}  // namespace sg::testing
