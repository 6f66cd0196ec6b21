// Demo: the whole pipeline on an embedded default, for someone who has just cloned the project.
// It starts librdkafka's mock cluster and the Sentinel emulator in-process, feeds synthetic Citrix
// events of every type, runs the real gateway on a temporary spool, cuts Azure off for a while, and
// ends with a count of what was produced, spooled, delivered, lost and duplicated.
#pragma once

#include <cstdint>
#include <string>

namespace sg {

struct DemoOptions {
  uint64_t events = 20'000;
  int rate = 2'000;          // events per second
  int outage_seconds = 5;    // Azure answers 503 this long, a third of the way through
  std::string keep_dir;      // keep spool and records here instead of a removed temp dir
};

// Exit status: 0 when every event reached the emulator, 1 otherwise.
int RunDemo(const DemoOptions& options);

}  // namespace sg
