// RocksLog: where the spool's RocksDB writes its diagnostics (its "info log").
//
// RocksDB's default info log is a LOG file in the database directory. On a full disk that file
// fails like any other; RocksDB 7.8 (Debian 12) then asserts on the next line it logs and the
// process aborts (its EnvLogger reuses a writer that saw an error). The spool's disk is exactly
// the disk that fills up, so RocksDB's messages go to the process log instead: warnings and errors
// at their own level, RocksDB's chatty info lines (flushes, compactions) at debug. Nothing is ever
// written to the spool directory for them, and logging can never fail a write.
#pragma once

#include <memory>

#include <rocksdb/env.h>

namespace sg::spool {

// A RocksDB Logger that forwards every message to the process log (spdlog's default logger),
// prefixed with "spool: rocksdb:".
std::shared_ptr<rocksdb::Logger> NewRocksLog();

}  // namespace sg::spool
