// librdkafka configuration of the consumer: what the gateway's options become, and how they are
// set without a secret reaching an error.
#include "kafka_config.h"

#include <cctype>

#include <fmt/core.h>

#include "sentinel_gateway/secret.h"

namespace sg {
namespace ingest {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Status ConsumerProperties(const IngestOptions& o, KafkaProperties* props) {
  if (o.brokers.empty()) return Status::InvalidArgument("kafka: brokers is required");
  if (o.group_id.empty()) return Status::InvalidArgument("kafka: group_id is required");
  const std::string proto = Lower(o.security_protocol);
  if (proto != "plaintext" && proto != "ssl" && proto != "sasl_plaintext" && proto != "sasl_ssl") {
    return Status::InvalidArgument("kafka: security_protocol must be plaintext, ssl, sasl_plaintext or sasl_ssl");
  }
  const bool sasl = proto.rfind("sasl", 0) == 0;
  if (sasl && (o.username.empty() || o.password.empty())) {
    return Status::InvalidArgument("kafka: security_protocol " + proto + " needs username and password");
  }
  KafkaProperties p = {
      {"bootstrap.servers", o.brokers},
      {"group.id", o.group_id},
      {"client.id", o.client_id},
      {"security.protocol", proto},
      {"auto.offset.reset", o.auto_offset_reset},
      {"session.timeout.ms", std::to_string(o.session_timeout.count())},
      {"max.poll.interval.ms", std::to_string(o.max_poll_interval.count())},
      {"partition.assignment.strategy", o.assignment_strategy},
      // The heart of the at-least-once contract: we store offsets ourselves after the fsync and
      // commit them ourselves.
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
      {"ssl.endpoint.identification.algorithm", o.verify_hostname ? "https" : "none"},
  };
  if (sasl) {
    p.emplace_back("sasl.mechanisms", o.sasl_mechanism);
    p.emplace_back("sasl.username", o.username);
    p.emplace_back("sasl.password", o.password);
  }
  if (!o.ca_file.empty()) p.emplace_back("ssl.ca.location", o.ca_file);
  if (!o.group_instance_id.empty()) p.emplace_back("group.instance.id", o.group_instance_id);
  // The consumer's fetch tuning (docs/librdkafka.md), before the raw map so an operator's value wins.
  // librdkafka's 500 ms holds a fetch open that long when the topic is quiet, which is the normal
  // state of a risk feed: it would add up to half a second to every event's latency.
  p.emplace_back("fetch.wait.max.ms", "100");
  // librdkafka prefetches up to 64 MiB per consumer by default; the spool is the buffer here, so a
  // smaller prefetch keeps memory down without slowing ingest (appends are the bottleneck).
  p.emplace_back("queued.max.messages.kbytes", "16384");
  // With that queue full, librdkafka stops fetching a partition for fetch.queue.backoff.ms,
  // 1,000 ms by default ("may need to be decreased if the queue thresholds are set low"). 16 MiB
  // is about 0.3 s of events at full speed, so ingest sat idle for most of every second
  // (docs/librdkafka.md, "Fetch queue backoff").
  p.emplace_back("fetch.queue.backoff.ms", "25");
  for (const auto& [k, v] : o.librdkafka) p.emplace_back(k, v);
  *props = std::move(p);
  return Status::OK();
}

Status ApplyProperties(const KafkaProperties& props, rd_kafka_conf_t* conf) {
  for (const auto& [key, value] : props) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      // librdkafka's message may quote the value: leave it out for secrets.
      if (IsSecretKey(key)) return Status::InvalidArgument(fmt::format("kafka: invalid value for {}", key));
      return Status::InvalidArgument(fmt::format("kafka: {}", errstr));
    }
  }
  return Status::OK();
}

}  // namespace ingest
}  // namespace sg
