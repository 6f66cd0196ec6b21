// ingest_child: runs the ingest stage into a spool as a process of its own, so that tests can
// SIGKILL it at any moment. Prints `spooled=N commits=M` whenever the counters change, and stops
// cleanly on SIGTERM. Usage:
//   ingest_child BROKERS TOPIC GROUP SPOOL_DIR COMMIT_INTERVAL_MS
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "sentinel_gateway/ingest.h"
#include "sentinel_gateway/spool.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s BROKERS TOPIC GROUP SPOOL_DIR COMMIT_INTERVAL_MS\n", argv[0]);
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::unique_ptr<sg::spool::Spool> spool;
  sg::Status s = sg::spool::Spool::Open(sg::spool::SpoolOptions{}, argv[4], &spool);
  if (!s.ok()) {
    std::fprintf(stderr, "spool: %s\n", s.ToString().c_str());
    return 1;
  }
  sg::ingest::IngestOptions o;
  o.brokers = argv[1];
  o.topics = {argv[2]};
  o.group_id = argv[3];
  o.security_protocol = "plaintext";  // the mock cluster's
  o.max_batch_bytes = 32u << 20;      // as this test was written with
  o.commit_interval = std::chrono::milliseconds(std::atoi(argv[5]));
  // The mock cluster waits for a killed member's session to expire before the next rebalance.
  o.session_timeout = std::chrono::milliseconds(4500);
  o.librdkafka["heartbeat.interval.ms"] = "300";
  o.max_batch_messages = 100;  // many small appends: more moments to be killed between two
  std::unique_ptr<sg::ingest::Ingest> ingest;
  s = sg::ingest::Ingest::Create(o, spool.get(), &ingest);
  if (s.ok()) s = ingest->Start();
  if (!s.ok()) {
    std::fprintf(stderr, "ingest: %s\n", s.ToString().c_str());
    return 1;
  }
  uint64_t last = ~0ull;
  timespec tick{0, 2 * 1000 * 1000};
  while (true) {
    siginfo_t info;
    if (sigtimedwait(&stop, &info, &tick) == SIGTERM) break;
    sg::ingest::IngestStats st = ingest->Stats();
    if (st.spooled + st.commits != last) {
      last = st.spooled + st.commits;
      std::printf("spooled=%llu commits=%llu\n", static_cast<unsigned long long>(st.spooled),
                  static_cast<unsigned long long>(st.commits));
      std::fflush(stdout);
    }
  }
  s = ingest->Stop();
  return s.ok() ? 0 : 1;
}
