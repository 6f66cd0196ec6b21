// ProduceCopy: one message to a topic partition, waiting while librdkafka's queue is full.
//
// Tests and benchmarks produce many messages fast; a full local queue is back-pressure, any other
// error is a real failure and is returned (never retried for ever).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

namespace sg::testing {

inline rd_kafka_resp_err_t ProduceCopy(rd_kafka_t* producer, const std::string& topic, int32_t partition,
                                       std::string_view value) {
  rd_kafka_resp_err_t err;
  while ((err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
         RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    rd_kafka_poll(producer, 10);  // wait for room
  }
  rd_kafka_poll(producer, 0);  // serve delivery reports
  return err;
}

}  // namespace sg::testing
