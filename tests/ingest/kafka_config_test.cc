// Unit tests of the consumer's librdkafka configuration (src/ingest/kafka_config.h): the
// properties the options become, and secrets kept out of errors by the one secret rule.
#include <chrono>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "../../src/ingest/kafka_config.h"
#include "sentinel_gateway/rdkafka_handles.h"
#include "sentinel_gateway/secret.h"

namespace sg {
namespace ingest {
namespace {

IngestOptions Basic() {
  IngestOptions o;
  o.brokers = "127.0.0.1:9092";
  o.topics = {"citrix"};
  o.group_id = "g";
  o.security_protocol = "plaintext";
  return o;
}

std::map<std::string, std::string> AsMap(const KafkaProperties& props) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : props) m[k] = v;  // later wins, as in librdkafka
  return m;
}

TEST(KafkaConfig, PlaintextDefaultsKeepOffsetsInTheGatewaysHands) {
  IngestOptions o = Basic();
  o.session_timeout = std::chrono::milliseconds(45'000);  // librdkafka's own default
  KafkaProperties props;
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  auto m = AsMap(props);
  EXPECT_EQ(m["bootstrap.servers"], "127.0.0.1:9092");
  EXPECT_EQ(m["group.id"], "g");
  EXPECT_EQ(m["client.id"], "sentinel-gateway");
  EXPECT_EQ(m["security.protocol"], "plaintext");
  EXPECT_EQ(m["auto.offset.reset"], "earliest");
  EXPECT_EQ(m["session.timeout.ms"], "45000");
  EXPECT_EQ(m["max.poll.interval.ms"], "300000");
  EXPECT_EQ(m["partition.assignment.strategy"], "cooperative-sticky");
  EXPECT_EQ(m["enable.auto.offset.store"], "false");
  EXPECT_EQ(m["enable.auto.commit"], "false");
  EXPECT_EQ(m["enable.partition.eof"], "false");
  EXPECT_EQ(m["ssl.endpoint.identification.algorithm"], "https");
  for (const char* absent : {"sasl.mechanisms", "sasl.username", "sasl.password", "ssl.ca.location", "group.instance.id"}) {
    EXPECT_EQ(m.count(absent), 0u) << absent;
  }
}

TEST(KafkaConfig, SaslTlsAndStaticMembership) {
  IngestOptions o = Basic();
  o.security_protocol = "SASL_SSL";  // case-insensitive, as in the gateway's configuration
  o.sasl_mechanism = "SCRAM-SHA-512";
  o.username = "citrix";
  o.password = "s3cr3t-Pa55";
  o.ca_file = "/etc/ssl/ca.pem";
  o.verify_hostname = false;
  o.group_instance_id = "edge-1";
  KafkaProperties props;
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  auto m = AsMap(props);
  EXPECT_EQ(m["security.protocol"], "sasl_ssl");
  EXPECT_EQ(m["sasl.mechanisms"], "SCRAM-SHA-512");
  EXPECT_EQ(m["sasl.username"], "citrix");
  EXPECT_EQ(m["sasl.password"], "s3cr3t-Pa55");
  EXPECT_EQ(m["ssl.ca.location"], "/etc/ssl/ca.pem");
  EXPECT_EQ(m["ssl.endpoint.identification.algorithm"], "none");
  EXPECT_EQ(m["group.instance.id"], "edge-1");
  // Every property that carries the password is one the secret rule hides.
  for (const auto& [k, v] : props) {
    if (v == o.password) {
      EXPECT_TRUE(IsSecretKey(k)) << k;
    }
  }
}

TEST(KafkaConfig, RawPropertiesComeLastAndOverride) {
  IngestOptions o = Basic();
  o.librdkafka["enable.auto.commit"] = "true";  // an operator's override wins, and is theirs
  o.librdkafka["fetch.max.bytes"] = "1048576";
  KafkaProperties props;
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  ASSERT_GE(props.size(), 2u);
  EXPECT_EQ(props[props.size() - 2], (std::pair<std::string, std::string>{"enable.auto.commit", "true"}));
  EXPECT_EQ(props.back(), (std::pair<std::string, std::string>{"fetch.max.bytes", "1048576"}));
  EXPECT_EQ(AsMap(props)["enable.auto.commit"], "true");
}

// The consumer's local queue is small (16 MiB, for memory); librdkafka stops fetching a partition
// whose queue is full for fetch.queue.backoff.ms, 1 s by default, which left ingest idle most of
// each second at full speed (docs/librdkafka.md, "Fetch queue backoff"). Every consumer gets a
// backoff far below the time the queue takes to drain; an operator's own value wins.
TEST(KafkaConfig, AFullFetchQueuePausesFetchingBrieflyNotForASecond) {
  IngestOptions o = Basic();
  KafkaProperties props;
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  auto m = AsMap(props);
  ASSERT_EQ(m.count("fetch.queue.backoff.ms"), 1u);
  EXPECT_LE(std::stoi(m["fetch.queue.backoff.ms"]), 100);
  EXPECT_EQ(m["queued.max.messages.kbytes"], "16384");
  EXPECT_EQ(m["fetch.wait.max.ms"], "100");  // a quiet topic's fetch is not held 500 ms

  o.librdkafka["fetch.queue.backoff.ms"] = "500";
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  EXPECT_EQ(AsMap(props)["fetch.queue.backoff.ms"], "500");
}

TEST(KafkaConfig, InvalidOptionsNameTheSetting) {
  KafkaProperties props;
  IngestOptions o = Basic();
  o.brokers.clear();
  EXPECT_NE(ConsumerProperties(o, &props).message().find("brokers"), std::string::npos);
  o = Basic();
  o.group_id.clear();
  EXPECT_NE(ConsumerProperties(o, &props).message().find("group_id"), std::string::npos);
  o = Basic();
  o.security_protocol = "tls";
  EXPECT_NE(ConsumerProperties(o, &props).message().find("security_protocol"), std::string::npos);
  o = Basic();
  o.security_protocol = "sasl_plaintext";
  o.username = "u";
  Status s = ConsumerProperties(o, &props);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("password"), std::string::npos);
  EXPECT_TRUE(props.empty());  // untouched on error
}

TEST(KafkaConfig, ApplySetsEveryPropertyOnTheConf) {
  IngestOptions o = Basic();
  o.security_protocol = "sasl_plaintext";
  o.username = "u";
  o.password = "p";
  KafkaProperties props;
  ASSERT_TRUE(ConsumerProperties(o, &props).ok());
  KafkaConfPtr conf(rd_kafka_conf_new());
  ASSERT_TRUE(ApplyProperties(props, conf.get()).ok());
  char value[256];
  size_t size = sizeof(value);
  ASSERT_EQ(rd_kafka_conf_get(conf.get(), "enable.auto.offset.store", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "false");
  size = sizeof(value);
  ASSERT_EQ(rd_kafka_conf_get(conf.get(), "group.id", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "g");
}

TEST(KafkaConfig, RefusedSecretNamesTheKeyNeverTheValue) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  // A secret key librdkafka refuses: the error names the key and hides the value.
  Status s = ApplyProperties({{"no.such.password", "s3cr3t-Pa55"}}, conf.get());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "kafka: invalid value for no.such.password");
  // A key that is not secret keeps librdkafka's own message, which may quote the value.
  s = ApplyProperties({{"session.timeout.ms", "soon"}}, conf.get());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("session.timeout.ms"), std::string::npos) << s.message();
  // It stops at the first refusal: what follows is not applied.
  s = ApplyProperties({{"no.such.property", "x"}, {"group.id", "later"}}, conf.get());
  EXPECT_FALSE(s.ok());
  char value[64] = {0};
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf.get(), "group.id", value, &size) == RD_KAFKA_CONF_OK) {
    EXPECT_STRNE(value, "later");
  }
}

}  // namespace
}  // namespace ingest
}  // namespace sg
