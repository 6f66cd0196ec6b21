// Unit tests of ingest's append thread: order, one named thread, error propagation, and a
// shutdown with appends pending. Synchronisation is by futures and latches, never by sleeping.
#include <pthread.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../../src/ingest/append_thread.h"

namespace sg {
namespace ingest {
namespace {

std::string ThisThreadName() {
  char name[16] = {0};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

TEST(AppendThread, RunsAppendsInOrderOnOneNamedThread) {
  AppendThread appender("sg-spool-append");
  std::vector<int> ran;  // touched only by the append thread until the results are taken
  std::vector<std::thread::id> threads;
  std::vector<std::string> names;
  constexpr int kAppends = 100;
  for (int i = 0; i < kAppends; ++i) {
    appender.Submit([&, i] {
      ran.push_back(i);
      threads.push_back(std::this_thread::get_id());
      names.push_back(ThisThreadName());
      return Status::NotFound(std::to_string(i));  // a distinct result per append
    });
  }
  EXPECT_EQ(appender.outstanding(), static_cast<size_t>(kAppends));
  for (int i = 0; i < kAppends; ++i) {
    Status s = appender.Wait();
    EXPECT_EQ(s.message(), std::to_string(i));  // results come back in submission order
  }
  EXPECT_EQ(appender.outstanding(), 0u);
  ASSERT_EQ(ran.size(), static_cast<size_t>(kAppends));
  for (int i = 0; i < kAppends; ++i) {
    EXPECT_EQ(ran[i], i);
    EXPECT_EQ(threads[i], threads[0]) << "append " << i << " ran on another thread";
    EXPECT_EQ(names[i], "sg-spool-append");
  }
  EXPECT_NE(threads[0], std::this_thread::get_id());

  // Submit-then-wait, as ingest uses it: still the same long-lived thread.
  for (int i = 0; i < 3; ++i) {
    std::thread::id id;
    appender.Submit([&] {
      id = std::this_thread::get_id();
      return Status::OK();
    });
    EXPECT_TRUE(appender.Wait().ok());
    EXPECT_EQ(id, threads[0]);
  }
}

TEST(AppendThread, PropagatesEachAppendsErrorAndKeepsWorking) {
  AppendThread appender("sg-test-append");
  appender.Submit([] { return Status::IOError("fsync failed"); });
  Status s = appender.Wait();
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.message(), "fsync failed");

  appender.Submit([] { return Status::Full("spool full"); });
  appender.Submit([] { return Status::OK(); });
  EXPECT_TRUE(appender.Wait().IsFull());
  EXPECT_TRUE(appender.Wait().ok());  // a failed append does not stop the thread
}

TEST(AppendThread, ShutdownFinishesTheRunningAppendAndRunsNoOther) {
  AppendThread appender("sg-test-append");
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> later_ran{0};
  appender.Submit([&] {
    started.set_value();
    released.wait();  // the write and fsync in progress while shutdown begins
    return Status::OK();
  });
  appender.Submit([&] {
    ++later_ran;
    return Status::OK();
  });
  started.get_future().wait();
  appender.BeginShutdown();
  release.set_value();

  EXPECT_TRUE(appender.Wait().ok());  // the running append finished with its own result
  Status s = appender.Wait();         // the one not started fails, without running
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  appender.Submit([&] {
    ++later_ran;
    return Status::OK();
  });
  EXPECT_EQ(appender.Wait().code(), Status::Code::kUnavailable);
  appender.Shutdown();
  appender.Shutdown();  // idempotent
  EXPECT_EQ(later_ran.load(), 0);
  EXPECT_EQ(appender.outstanding(), 0u);
}

TEST(AppendThread, DestructorJoinsWithAppendsPending) {
  std::atomic<int> ran{0};
  std::promise<void> started;
  {
    AppendThread appender("sg-test-append");
    appender.Submit([&] {
      started.set_value();
      ++ran;
      return Status::OK();
    });
    for (int i = 0; i < 10; ++i) {
      appender.Submit([&] {
        ++ran;
        return Status::OK();
      });
    }
    started.get_future().wait();
  }  // no Wait(): the destructor lets the running append finish and joins
  EXPECT_GE(ran.load(), 1);
  EXPECT_LE(ran.load(), 11);
}

TEST(AppendThread, ShutdownWithNothingSubmitted) {
  AppendThread appender("sg-test-append");
  appender.Shutdown();
  appender.Submit([] { return Status::OK(); });
  EXPECT_EQ(appender.Wait().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace ingest
}  // namespace sg
