#include "kafka_broker.h"

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
  if (!start.Start(args, log) || !start.WaitForLine("pid=", &pid, std::chrono::seconds(180)) ||
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

std::string KafkaBroker::Fact(const std::string& name) const {
  auto it = facts_.find(name);
  return it == facts_.end() ? std::string() : it->second;
}

}  // namespace sg::testing
