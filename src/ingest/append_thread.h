// AppendThread: the one long-lived thread on which ingest's spool appends run, so the consumer
// thread gathers the next batch while the previous one is written and fsync'd.
//
// Guarantees:
//  - Appends run one at a time, on the same thread, in the order they were submitted; Wait()
//    returns their results in that order. (Ingest submits one and waits for it before the next,
//    so batches reach the spool in order and offsets are stored only after their append.)
//  - The thread is named once (NameThisThread) and lives as long as the object: the constructor
//    starts it, Shutdown() or the destructor joins it.
//  - Shutdown() lets an append that is running finish (a write and its fsync cannot be taken
//    back halfway) and runs none of those submitted but not started: each of those, and any
//    submitted afterwards, fails with Unavailable. Nothing is lost either way: the caller still
//    holds its batch and stores no offset for a failed append.
//
// Thread safety: Submit, Wait and Shutdown from one owning thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "sentinel_gateway/status.h"

namespace sg {
namespace ingest {

class AppendThread {
 public:
  using Append = std::function<Status()>;

  // Starts the thread, which names itself `name` (at most 15 characters are kept).
  explicit AppendThread(std::string name);
  ~AppendThread();
  AppendThread(const AppendThread&) = delete;
  AppendThread& operator=(const AppendThread&) = delete;

  // Queues `append` behind those already submitted.
  void Submit(Append append);
  // Submitted appends whose results Wait() has not returned yet.
  size_t outstanding() const;
  // Blocks until the oldest outstanding append has run (or was failed by Shutdown) and returns
  // its result. Requires outstanding() > 0.
  Status Wait();
  // Starts the shutdown described above and returns at once: no append starts after this one.
  void BeginShutdown();
  // BeginShutdown(), then joins the thread. Idempotent.
  void Shutdown();

 private:
  void Loop();

  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the thread waits for an append or for Shutdown
  std::condition_variable done_cv_;  // Wait() waits for a result
  std::deque<Append> queue_;         // submitted, not started
  std::deque<Status> results_;       // finished, not yet returned by Wait()
  size_t outstanding_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace ingest
}  // namespace sg
