// The append thread: a queue of appends, one thread that runs them, a queue of results.
#include "append_thread.h"

#include <cassert>
#include <utility>

#include "sentinel_gateway/thread_name.h"

namespace sg {
namespace ingest {
namespace {

Status NotRun() { return Status::Unavailable("ingest: stopping; the spool append was not run"); }

}  // namespace

AppendThread::AppendThread(std::string name) : name_(std::move(name)), thread_([this] { Loop(); }) {}

AppendThread::~AppendThread() { Shutdown(); }

void AppendThread::Submit(Append append) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++outstanding_;
    if (stopping_) {
      results_.push_back(NotRun());
      return;
    }
    queue_.push_back(std::move(append));
  }
  work_cv_.notify_one();
}

size_t AppendThread::outstanding() const {
  std::lock_guard<std::mutex> l(mu_);
  return outstanding_;
}

Status AppendThread::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  assert(outstanding_ > 0);
  done_cv_.wait(l, [this] { return !results_.empty(); });
  Status s = std::move(results_.front());
  results_.pop_front();
  --outstanding_;
  return s;
}

void AppendThread::BeginShutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
}

void AppendThread::Shutdown() {
  BeginShutdown();
  if (thread_.joinable()) thread_.join();
}

void AppendThread::Loop() {
  NameThisThread(name_.c_str());
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    work_cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    Append append = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    Status s = append();  // the spool's write and fsync, outside the lock
    l.lock();
    results_.push_back(std::move(s));
    done_cv_.notify_all();
  }
  // Shutdown: what was submitted but not started fails, in order, without running.
  for (size_t i = 0; i < queue_.size(); ++i) results_.push_back(NotRun());
  queue_.clear();
  done_cv_.notify_all();
}

}  // namespace ingest
}  // namespace sg
