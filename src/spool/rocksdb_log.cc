#include "rocksdb_log.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string_view>

#include <spdlog/spdlog.h>

namespace sg::spool {
namespace {

spdlog::level::level_enum ToSpd(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return spdlog::level::trace;
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL:
      return spdlog::level::debug;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
    default:
      return spdlog::level::critical;
  }
}

class RocksLog final : public rocksdb::Logger {
 public:
  RocksLog() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  // RocksDB calls this one for messages without a level (header lines).
  void Logv(const char* format, va_list ap) override { Emit(spdlog::level::debug, format, ap); }

  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    Emit(ToSpd(level), format, ap);
  }

 private:
  static void Emit(spdlog::level::level_enum level, const char* format, va_list ap) {
    std::shared_ptr<spdlog::logger> log = spdlog::default_logger();
    if (!log->should_log(level)) return;  // skip formatting what nobody will read
    char buf[2048];
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    if (n < 0) return;
    std::string_view text(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    log->log(level, "spool: rocksdb: {}", text);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewRocksLog() { return std::make_shared<RocksLog>(); }

}  // namespace sg::spool
