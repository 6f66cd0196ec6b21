#include "kafka_broker.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "subprocess.h"

namespace sg::testing {

bool KafkaBroker::Start(const std::string& script, const std::string& version, const std::string& dir,
                        const std::string& log, std::string* why) {
  script_ = script;
  dir_ = dir;
  log_ = log;
  std::vector<std::string> args = {script};
  if (!version.empty()) args.insert(args.end(), {"--version", version});
  args.insert(args.end(), {"start", dir});
  Subprocess start;
  std::string pid;
  // The script's watchdog stops the broker if this process dies without Stop() (a crashed test).
  if (!start.Start(args, log, {"KAFKA_BROKER_WATCH_PID=" + std::to_string(::getpid())}) || !start.WaitForLine("pid=", &pid, std::chrono::seconds(180)) ||
      start.Wait(std::chrono::seconds(30)) != 0) {
    *why = "the broker did not start: see " + dir + "/broker.log and " + log;
    return false;
  }
  pid_ = static_cast<pid_t>(std::stol(pid));
  std::ifstream env(dir + "/broker.env");
  for (std::string line; std::getline(env, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) facts_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (facts_["plaintext"].empty() || facts_["sasl_ssl"].empty()) {
    *why = "broker.env in " + dir + " names no plaintext or sasl_ssl listener";
    return false;
  }
  return true;
}

void KafkaBroker::Stop() {
  if (dir_.empty()) return;
  Subprocess stop;
  if (stop.Start({script_, "stop", dir_}, log_)) stop.Wait(std::chrono::seconds(60));
  dir_.clear();
  pid_ = 0;
}

bool KafkaBroker::Restart() {
  if (dir_.empty()) return false;
  Subprocess restart;
  std::string pid;
  if (!restart.Start({script_, "restart", dir_}, log_, {"KAFKA_BROKER_WATCH_PID=" + std::to_string(::getpid())}) ||
      !restart.WaitForLine("pid=", &pid, std::chrono::seconds(240)) || restart.Wait(std::chrono::seconds(30)) != 0) {
    return false;
  }
  pid_ = static_cast<pid_t>(std::stol(pid));
  return true;
}

std::string KafkaBroker::Fact(const std::string& name) const {
  auto it = facts_.find(name);
  return it == facts_.end() ? std::string() : it->second;
}

}  // namespace sg::testing
