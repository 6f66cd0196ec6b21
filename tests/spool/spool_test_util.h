// Helpers shared by the spool tests: a temporary directory that removes itself, and batch builders.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "sentinel_gateway/spool.h"

namespace sg::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sg-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline spool::NewEvent MakeEvent(const std::string& route, const std::string& payload, int32_t partition = 0,
                          int64_t offset = -1) {
  spool::NewEvent e;
  e.route = route;
  e.payload = payload;
  e.source = {"citrix-risk", partition, offset};
  return e;
}

}  // namespace sg::testing
