#include "sentinel_gateway/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace {

std::string NameOf(std::thread::native_handle_type t) {
  char buf[64] = {};
  return pthread_getname_np(t, buf, sizeof(buf)) == 0 ? std::string(buf) : std::string("<error>");
}

std::string NameSetInThread(const char* name) {
  std::string seen;
  std::thread t([&] {
    sg::NameThisThread(name);
    seen = NameOf(pthread_self());
  });
  t.join();
  return seen;
}

TEST(NameThisThread, NamesTheCallingThread) { EXPECT_EQ(NameSetInThread("sg-drain-send"), "sg-drain-send"); }

// Linux refuses 16 bytes or more (ERANGE); the thread would keep its inherited name.
TEST(NameThisThread, CutsNamesLongerThanLinuxKeeps) {
  EXPECT_EQ(NameSetInThread("sg-a-name-longer-than-fifteen"), "sg-a-name-longe");
}

}  // namespace
