#include "sentinel_gateway/thread_name.h"

#include <pthread.h>

#include <cstring>
#include <string>

namespace sg {

void NameThisThread(const char* name) {
  // pthread_setname_np refuses (ERANGE) names of 16 bytes or more: cut instead.
  std::string cut(name, strnlen(name, 15));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace sg
