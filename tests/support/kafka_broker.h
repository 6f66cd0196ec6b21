// KafkaBroker: a real Apache Kafka broker from tools/kafka-broker.sh, for end-to-end tests and
// benchmarks on 127.0.0.1, and the facts the script writes about it (broker.env: its PLAINTEXT and
// SASL_SSL listeners, the SCRAM user, the password file, the CA, the Kafka version). The broker is
// stopped by Stop() or the destructor, so no test or bench leaves one running.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <sys/types.h>

namespace sg::testing {

class KafkaBroker {
 public:
  KafkaBroker() = default;
  ~KafkaBroker() { Stop(); }
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  // Starts a broker in `dir` with `script` (tools/kafka-broker.sh); `version` empty: pom.xml's.
  // The script's output goes to `log`. False (with the reason in *why) when it did not start.
  bool Start(const std::string& script, const std::string& version, const std::string& dir,
             const std::string& log, std::string* why);
  // Stops the broker through the script and waits for it (bounded); nothing when not started.
  void Stop();
  // Stops and starts the same broker (same listeners, data and facts); false when it did not return.
  bool Restart();

  // A fact of broker.env ("plaintext", "sasl_ssl", "username", "password_file", "ca",
  // "kafka_version"); empty when the script wrote none of that name.
  std::string Fact(const std::string& name) const;
  pid_t pid() const { return pid_; }

 private:
  std::string script_, dir_, log_;
  pid_t pid_ = 0;
  std::map<std::string, std::string> facts_;
};

}  // namespace sg::testing
