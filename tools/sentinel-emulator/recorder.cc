// What the emulator counts and records of accepted rows: per-table counts, the latest requests,
// and the --record file tests read (emulator_impl.h).
#include "emulator_impl.h"

namespace sg::emulator {

void Emulator::Impl::NoteAccepted(const std::string& stream, size_t sent, size_t inflated, size_t n, bool gzip) {
  std::lock_guard<std::mutex> lock(mu);
  largest_sent = std::max<uint64_t>(largest_sent, sent);
  largest_inflated = std::max<uint64_t>(largest_inflated, inflated);
  accepted_requests.push_back(
      {{"stream", stream}, {"sent_bytes", sent}, {"body_bytes", inflated}, {"rows", n}, {"gzip", gzip}});
  if (accepted_requests.size() > 1000) accepted_requests.pop_front();
}

void Emulator::Impl::Count(const std::string& table, size_t n, size_t body_bytes) {
  std::lock_guard<std::mutex> lock(mu);
  rows[table] += n;
  bytes_accepted += body_bytes;
}

void Emulator::Impl::Record(const std::string& table, json& array, size_t body_bytes) {
  {
    std::lock_guard<std::mutex> lock(mu);
    rows[table] += array.size();
    bytes_accepted += body_bytes;
  }
  if (record == nullptr) return;
  std::string out;
  out.reserve(body_bytes + array.size() * (table.size() + 40));
  // When Azure accepted the row: benchmarks measure produce-to-accept latency from it.
  const std::string received = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
  for (auto& row : array) {
    out += "{\"table\":";
    out += json(table).dump();
    out += ",\"received_ms\":";
    out += received;
    out += ",\"row\":";
    out += row.dump();
    out += "}\n";
  }
  std::lock_guard<std::mutex> lock(record_mu);
  std::fwrite(out.data(), 1, out.size(), record);
  std::fflush(record);
}

}  // namespace sg::emulator
