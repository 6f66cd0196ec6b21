// Fuzzes the spool's record and key decoding (src/spool/coding.h) on arbitrary bytes, as a damaged
// or foreign spool would present them. Invariants besides "no crash, no UB, no huge allocation":
//  - whatever decodes re-encodes to something that decodes to the same value: decode(encode(x)) == x;
//  - keys that parse are rebuilt byte for byte by the matching key function;
//  - values built from fuzzer-chosen fields (any topic, partition, offset, time, payload) survive
//    encode then decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "coding.h"

namespace {

using namespace sg::spool;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fuzz_spool_coding: invariant broken: %s\n", what);
  std::abort();
}

bool Same(const sg::spool::SourceRef& a, const sg::spool::SourceRef& b) {
  return a.topic == b.topic && a.partition == b.partition && a.offset == b.offset;
}
bool Same(const sg::spool::PendingEvent& a, const sg::spool::PendingEvent& b, bool with_seq) {
  return (!with_seq || a.seq == b.seq) && a.payload == b.payload && Same(a.source, b.source) &&
         a.enqueued_ms == b.enqueued_ms;
}
bool Same(const sg::spool::FailedBatch& a, const sg::spool::FailedBatch& b) {
  if (a.route != b.route || a.why.http_status != b.why.http_status || a.why.reason != b.why.reason ||
      a.why.error_text != b.why.error_text || a.why.attempts != b.why.attempts ||
      a.why.first_failure_ms != b.why.first_failure_ms || a.why.last_failure_ms != b.why.last_failure_ms ||
      a.bytes != b.bytes || a.events.size() != b.events.size()) {
    return false;
  }
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (!Same(a.events[i], b.events[i], true)) return false;
  }
  return true;
}

void CheckPending(std::string_view value) {
  sg::spool::PendingEvent e;
  if (!DecodePendingValue(value, &e).ok()) return;
  std::string again;
  EncodePendingValue(e.source, e.enqueued_ms, e.payload, &again);
  sg::spool::PendingEvent e2;
  if (!DecodePendingValue(again, &e2).ok()) Die("re-encoded pending value does not decode");
  if (!Same(e, e2, false)) Die("pending value changed on re-encoding");
}

void CheckFailed(std::string_view value) {
  sg::spool::FailedBatch b;
  if (!DecodeFailedBatch(value, &b).ok()) return;
  std::string again;
  EncodeFailedBatch(b, &again);
  sg::spool::FailedBatch b2;
  if (!DecodeFailedBatch(again, &b2).ok()) Die("re-encoded failed batch does not decode");
  b2.id = b.id;
  if (!Same(b, b2)) Die("failed batch changed on re-encoding");
}

void CheckKeys(std::string_view key) {
  std::string_view route;
  uint64_t seq = 0;
  if (ParsePendingKey(key, &route, &seq) && PendingKey(route, seq) != key) Die("pending key round trip");
  uint64_t id = 0;
  if (ParseFailedKey(key, &id) && FailedKey(id) != key) Die("failed key round trip");
  std::string topic;
  int32_t partition = 0;
  if (ParseOffsetKey(key, &topic, &partition)) {
    std::string t2;
    int32_t p2 = 0;
    if (!ParseOffsetKey(OffsetKey(topic, partition), &t2, &p2) || t2 != topic || p2 != partition) {
      Die("offset key round trip");
    }
  }
}

sg::spool::SourceRef AnySource(FuzzedDataProvider& fdp) {
  sg::spool::SourceRef s;
  s.topic = fdp.ConsumeRandomLengthString(64);
  s.partition = fdp.ConsumeIntegral<int32_t>();
  s.offset = fdp.ConsumeIntegral<int64_t>();
  return s;
}

void CheckEncodeDecode(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const sg::spool::SourceRef source = AnySource(fdp);
  const int64_t enqueued = fdp.ConsumeIntegral<int64_t>();
  const std::string payload = fdp.ConsumeRandomLengthString(256);
  std::string v;
  EncodePendingValue(source, enqueued, payload, &v);
  sg::spool::PendingEvent e;
  if (!DecodePendingValue(v, &e).ok()) Die("encoded pending value does not decode");
  if (!Same(e.source, source) || e.enqueued_ms != enqueued || e.payload != payload) Die("pending encode/decode");

  sg::spool::FailedBatch b;
  b.route = fdp.ConsumeRandomLengthString(32);
  b.why.http_status = fdp.ConsumeIntegral<int>();
  b.why.reason = fdp.ConsumeRandomLengthString(32);
  b.why.error_text = fdp.ConsumeRandomLengthString(64);
  b.why.attempts = fdp.ConsumeIntegral<int>();
  b.why.first_failure_ms = fdp.ConsumeIntegral<int64_t>();
  b.why.last_failure_ms = fdp.ConsumeIntegral<int64_t>();
  const size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < n; ++i) {
    sg::spool::PendingEvent pe;
    pe.seq = fdp.ConsumeIntegral<uint64_t>();
    pe.enqueued_ms = fdp.ConsumeIntegral<int64_t>();
    pe.source = AnySource(fdp);
    pe.payload = fdp.ConsumeRandomLengthString(64);
    b.bytes += static_cast<int64_t>(pe.payload.size());
    b.events.push_back(std::move(pe));
  }
  std::string fv;
  EncodeFailedBatch(b, &fv);
  sg::spool::FailedBatch b2;
  if (!DecodeFailedBatch(fv, &b2).ok()) Die("encoded failed batch does not decode");
  if (!Same(b, b2)) Die("failed batch encode/decode");

  const std::string route = fdp.ConsumeRandomLengthString(32);
  const uint64_t seq = fdp.ConsumeIntegral<uint64_t>();
  std::string_view r2;
  uint64_t s2 = 0;
  if (!ParsePendingKey(PendingKey(route, seq), &r2, &s2) || r2 != route || s2 != seq) Die("pending key");
  const std::string topic = fdp.ConsumeRandomLengthString(32);
  const int32_t partition = fdp.ConsumeIntegral<int32_t>();
  std::string t2;
  int32_t p2 = 0;
  if (!ParseOffsetKey(OffsetKey(topic, partition), &t2, &p2) || t2 != topic || p2 != partition) Die("offset key");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckPending(in);
  CheckFailed(in);
  CheckKeys(in);
  // The same bytes with a valid format byte in front, so the decoders get past the first check.
  std::string framed(1, static_cast<char>(kRecordFormat));
  framed.append(in);
  CheckPending(framed);
  CheckFailed(framed);
  CheckEncodeDecode(data, size);
  return 0;
}
