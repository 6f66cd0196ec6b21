// The one subprocess harness of the tests and benches. Subprocess starts a long-running program of
// the build (gateway, emulator, mock Kafka, a stand-in gateway), reads its stdout line by line
// with a deadline, signals it, and never outlives the test: the destructor SIGKILLs and reaps a
// child that is still running. RunProgram runs a short one (sentinel-spool, a shell) to its end,
// feeding stdin and collecting stdout, stderr and the exit code, killed at a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace sg::testing {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] is the path of the program. stderr goes to `stderr_file` (appended) when not empty,
  // else it is inherited. Returns false (with errno set) if the program could not start.
  bool Start(const std::vector<std::string>& argv, const std::string& stderr_file = "",
             const std::vector<std::string>& extra_env = {});

  // Next stdout line (without '\n'); false on EOF or when the deadline passes.
  bool ReadLine(std::string* line, std::chrono::milliseconds timeout);
  // Reads lines until one starts with `prefix`; returns the rest of that line.
  bool WaitForLine(const std::string& prefix, std::string* rest, std::chrono::milliseconds timeout);

  void Signal(int sig);
  // Waits for exit; returns the exit status (0-255), 128+signal when killed, -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

struct RunResult {
  int exit_code = -1;  // -1: killed at the deadline or by a signal
  std::string out;
  std::string err;
};

// Runs args[0] (a path) with the arguments after it to its end.
RunResult RunProgram(const std::vector<std::string>& args, const std::string& input = "",
                     int timeout_ms = 60'000);

// The last `lines` lines of a process's log on stderr, each indented "  | " and cut at 400
// characters: why a process a test or bench started has stopped (a crash, a bad config).
void PrintLogTail(const std::string& path, size_t lines = 15);

// Lines of `text`, without the '\n'.
std::vector<std::string> Lines(const std::string& text);

// The directory holding the built programs (build/bin), from the test binary's own location.
std::string BinDir();

}  // namespace sg::testing
