// Owners for librdkafka's handles: each frees its object with the one librdkafka function meant
// for it, on every path out of a scope, so an early return cannot leak a handle or a list.
//
// rd_kafka_new() takes over its configuration only when it succeeds: release() a KafkaConfPtr
// into it, and reset it yourself on failure (NewKafka below does both). A consumer that must not
// be closed (after a fatal error) is destroyed with rd_kafka_destroy_flags(ptr.release(), ...).
#pragma once

#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>

namespace sg {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};

using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using TopicPartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessagePtr = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaErrorPtr = std::unique_ptr<rd_kafka_error_t, KafkaDeleter>;

// rd_kafka_new() with an owned configuration: on success the handle owns it, on failure it is
// freed here and `*error` says why.
inline KafkaPtr NewKafka(rd_kafka_type_t type, KafkaConfPtr conf, std::string* error) {
  char errstr[512] = {0};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    if (error != nullptr) *error = errstr;
    return nullptr;  // conf is still ours: its owner frees it
  }
  conf.release();  // the handle owns it now
  return KafkaPtr(rk);
}

}  // namespace sg
