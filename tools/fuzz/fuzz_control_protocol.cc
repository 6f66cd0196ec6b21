// Fuzzes the control socket's wire format (src/control/protocol.h): one line as a client or a
// server would send it, parsed and decoded as each kind of message. Invariants besides "no crash,
// no UB, no uncaught exception": a decoded request, result or stats re-encodes to JSON that decodes
// to the same value, and Dump() always yields one line of valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "protocol.h"

namespace {

using namespace sg::control;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fuzz_control_protocol: invariant broken: %s\n", what);
  std::abort();
}

// Route and status are filters of `all` only, and any negative status means "any" (change.cc), so
// the encoder leaves them out otherwise; compare what ApplyChange acts on.
bool Same(const ChangeRequest& a, const ChangeRequest& b) {
  if (a.op != b.op || a.ids != b.ids || a.all != b.all) return false;
  if (!a.all) return true;
  return a.route == b.route && (a.http_status < 0 ? b.http_status < 0 : a.http_status == b.http_status);
}

bool Same(const ChangeResult& a, const ChangeResult& b) {
  if (a.events != b.events || a.skipped != b.skipped || a.changed.size() != b.changed.size()) return false;
  for (size_t i = 0; i < a.changed.size(); ++i) {
    if (a.changed[i].id != b.changed[i].id || a.changed[i].route != b.changed[i].route ||
        a.changed[i].events != b.changed[i].events) {
      return false;
    }
  }
  return true;
}

void CheckDump(const wire::json& j) {
  const std::string line = wire::Dump(j);
  if (line.find('\n') != std::string::npos) Die("Dump() wrote more than one line");
  wire::json back;
  if (!wire::Parse(line, &back).ok() && j.is_object()) Die("Dump() of an object does not parse back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  wire::json j;
  if (!wire::Parse(line, &j).ok()) return 0;
  CheckDump(j);

  ChangeRequest req;
  if (wire::DecodeChangeRequest(j, &req).ok()) {
    const wire::json again = wire::EncodeChangeRequest(req);
    CheckDump(again);
    ChangeRequest req2;
    if (!wire::DecodeChangeRequest(again, &req2).ok()) Die("re-encoded request does not decode");
    if (!Same(req, req2)) Die("request changed on re-encoding");
  }
  ChangeResult res;
  if (wire::DecodeChangeResult(j, &res).ok()) {
    wire::json again;
    wire::EncodeChangeResult(res, &again);
    CheckDump(again);
    ChangeResult res2;
    if (!wire::DecodeChangeResult(again, &res2).ok()) Die("re-encoded result does not decode");
    if (!Same(res, res2)) Die("result changed on re-encoding");
  }
  sg::spool::SpoolStats stats;
  if (wire::DecodeStats(j, &stats).ok()) {
    sg::spool::SpoolStats stats2;
    if (!wire::DecodeStats(wire::EncodeStats(stats), &stats2).ok()) Die("re-encoded stats do not decode");
    if (stats2.routes.size() != stats.routes.size() || stats2.failed_batches != stats.failed_batches ||
        stats2.used_bytes != stats.used_bytes) {
      Die("stats changed on re-encoding");
    }
  }
  const sg::Status s = wire::DecodeStatus(j);
  CheckDump(wire::EncodeStatus(s));
  return 0;
}
