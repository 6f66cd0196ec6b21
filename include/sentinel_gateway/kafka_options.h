// KafkaOptions: the consumer's Kafka settings, shared by ingest (IngestOptions derives from it) and
// the gateway's [kafka] section (config::KafkaConfig derives from it too), in the way RocksDB's
// Options derives from DBOptions. One struct, so each field and its default is written once, and
// the gateway passes the section to ingest with one assignment.
//
// The SASL password is not here: each side holds it in its own type (config::Secret, which knows
// where it came from, and IngestOptions::password), so nothing that copies or prints these
// settings can carry it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sg {

struct KafkaOptions {
  std::string brokers;              // "host:port,host:port"
  std::vector<std::string> topics;  // at least one
  std::string group_id;
  std::string client_id = "sentinel-gateway";
  // PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL, any case. Production brokers (Citrix's) speak
  // SASL_SSL; the tests' mock cluster needs "plaintext" said explicitly.
  std::string security_protocol = "SASL_SSL";
  std::string sasl_mechanism = "SCRAM-SHA-256";  // SCRAM-SHA-256 | SCRAM-SHA-512 | PLAIN
  std::string username;
  std::string ca_file;          // PEM CA bundle for the brokers' certificates; "": the system's
  bool verify_hostname = true;  // TLS host name check; Citrix's own consumer once turned it off
  std::string auto_offset_reset = "earliest";  // where a group without committed offsets starts
  std::chrono::milliseconds session_timeout{60'000};
  std::chrono::milliseconds max_poll_interval{300'000};
  std::string assignment_strategy = "cooperative-sticky";  // or "range", "roundrobin" (eager)
  // group.instance.id: static membership (KIP-345); empty: dynamic. The configuration derives a
  // default for it (config.h, DefaultGroupInstanceId).
  std::string group_instance_id;
  std::chrono::milliseconds commit_interval{1'000};  // periodic asynchronous commit of stored offsets
  uint64_t max_batch_messages = 20'000;  // per spool append
  uint64_t max_batch_bytes = 4ull << 20;  // payload bytes per spool append
  // Raw librdkafka properties, applied last (they override everything above). Values whose key
  // names a password or secret are treated as secrets (secret.h).
  std::map<std::string, std::string> librdkafka;
};

}  // namespace sg
