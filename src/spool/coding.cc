#include "coding.h"

#include <cstring>

namespace sg::spool {

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(buf, 8);
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (unsigned shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t len = 0;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

std::string PendingPrefix(std::string_view route) {
  std::string k(route);
  k.push_back('\0');
  return k;
}

std::string PendingKey(std::string_view route, uint64_t seq) {
  std::string k = PendingPrefix(route);
  PutFixed64BE(&k, seq);
  return k;
}

bool ParsePendingKey(std::string_view key, std::string_view* route, uint64_t* seq) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  *route = key.substr(0, key.size() - 9);
  *seq = DecodeFixed64BE(key.data() + key.size() - 8);
  return true;
}

std::string FailedKey(uint64_t id) {
  std::string k;
  PutFixed64BE(&k, id);
  return k;
}

bool ParseFailedKey(std::string_view key, uint64_t* id) {
  if (key.size() != 8) return false;
  *id = DecodeFixed64BE(key.data());
  return true;
}

namespace {

// Partition and offset are stored +1 so that "none" (-1) encodes as 0. The arithmetic is unsigned
// (modulo 2^64), so every int32 partition and int64 offset round-trips and no input overflows.
void PutSource(std::string* dst, const SourceRef& s) {
  PutVarint64(dst, static_cast<uint64_t>(static_cast<int64_t>(s.partition)) + 1);
  PutVarint64(dst, static_cast<uint64_t>(s.offset) + 1);
  PutLengthPrefixed(dst, s.topic);
}

bool GetSource(std::string_view* in, SourceRef* s) {
  uint64_t partition = 0, offset = 0;
  std::string_view topic;
  if (!GetVarint64(in, &partition) || !GetVarint64(in, &offset) || !GetLengthPrefixed(in, &topic)) {
    return false;
  }
  const int64_t p = static_cast<int64_t>(partition - 1);
  if (p < INT32_MIN || p > INT32_MAX) return false;
  s->partition = static_cast<int32_t>(p);
  s->offset = static_cast<int64_t>(offset - 1);
  s->topic.assign(topic);
  return true;
}

}  // namespace

void EncodePendingValue(const SourceRef& source, int64_t enqueued_ms, std::string_view payload,
                        std::string* dst) {
  dst->push_back(static_cast<char>(kRecordFormat));
  PutVarint64(dst, static_cast<uint64_t>(enqueued_ms));
  PutSource(dst, source);
  dst->append(payload);
}

Status DecodePendingValue(std::string_view value, PendingEvent* out) {
  if (value.empty()) return Status::Corruption("empty pending record");
  if (static_cast<uint8_t>(value.front()) != kRecordFormat) {
    return Status::Unsupported("pending record has unknown format " +
                               std::to_string(static_cast<uint8_t>(value.front())));
  }
  value.remove_prefix(1);
  uint64_t enqueued = 0;
  if (!GetVarint64(&value, &enqueued) || !GetSource(&value, &out->source)) {
    return Status::Corruption("truncated pending record header");
  }
  out->enqueued_ms = static_cast<int64_t>(enqueued);
  out->payload.assign(value);
  out->payload_bytes = value.size();
  return Status::OK();
}

void EncodeFailedBatch(const FailedBatch& batch, std::string* dst) {
  dst->push_back(static_cast<char>(kRecordFormat));
  PutLengthPrefixed(dst, batch.route);
  PutVarint64(dst, static_cast<uint64_t>(batch.why.http_status));
  PutLengthPrefixed(dst, batch.why.reason);
  PutLengthPrefixed(dst, batch.why.error_text);
  PutVarint64(dst, static_cast<uint64_t>(batch.why.attempts));
  PutVarint64(dst, static_cast<uint64_t>(batch.why.first_failure_ms));
  PutVarint64(dst, static_cast<uint64_t>(batch.why.last_failure_ms));
  PutVarint64(dst, batch.events.size());
  for (const PendingEvent& e : batch.events) {
    PutVarint64(dst, e.seq);
    PutVarint64(dst, static_cast<uint64_t>(e.enqueued_ms));
    PutSource(dst, e.source);
    PutLengthPrefixed(dst, e.payload);
  }
}

Status DecodeFailedBatch(std::string_view in, FailedBatch* out) {
  if (in.empty()) return Status::Corruption("empty failed batch record");
  if (static_cast<uint8_t>(in.front()) != kRecordFormat) {
    return Status::Unsupported("failed batch record has unknown format " +
                               std::to_string(static_cast<uint8_t>(in.front())));
  }
  in.remove_prefix(1);
  std::string_view route, reason, error_text;
  uint64_t status = 0, attempts = 0, first = 0, last = 0, count = 0;
  if (!GetLengthPrefixed(&in, &route) || !GetVarint64(&in, &status) ||
      !GetLengthPrefixed(&in, &reason) || !GetLengthPrefixed(&in, &error_text) ||
      !GetVarint64(&in, &attempts) || !GetVarint64(&in, &first) || !GetVarint64(&in, &last) ||
      !GetVarint64(&in, &count)) {
    return Status::Corruption("truncated failed batch header");
  }
  // Each event needs at least 6 bytes; reject counts the record cannot hold before reserving.
  if (count > in.size() / 6 + 1) return Status::Corruption("failed batch event count too large");
  out->route.assign(route);
  out->why.http_status = static_cast<int>(status);
  out->why.reason.assign(reason);
  out->why.error_text.assign(error_text);
  out->why.attempts = static_cast<int>(attempts);
  out->why.first_failure_ms = static_cast<int64_t>(first);
  out->why.last_failure_ms = static_cast<int64_t>(last);
  out->events.clear();
  out->events.reserve(count);
  out->bytes = 0;
  for (uint64_t i = 0; i < count; ++i) {
    PendingEvent e;
    uint64_t enq = 0;
    std::string_view payload;
    if (!GetVarint64(&in, &e.seq) || !GetVarint64(&in, &enq) || !GetSource(&in, &e.source) ||
        !GetLengthPrefixed(&in, &payload)) {
      return Status::Corruption("truncated failed batch event " + std::to_string(i));
    }
    e.enqueued_ms = static_cast<int64_t>(enq);
    e.payload.assign(payload);
    e.payload_bytes = payload.size();
    out->bytes += static_cast<int64_t>(payload.size());
    out->events.push_back(std::move(e));
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after failed batch");
  return Status::OK();
}

std::string OffsetKey(std::string_view topic, int32_t partition) {
  std::string k(kMetaOffsetPrefix);
  k.append(topic);
  k.push_back('\0');
  PutFixed64BE(&k, static_cast<uint32_t>(partition));
  return k;
}

bool ParseOffsetKey(std::string_view key, std::string* topic, int32_t* partition) {
  if (key.substr(0, kMetaOffsetPrefix.size()) != kMetaOffsetPrefix) return false;
  key.remove_prefix(kMetaOffsetPrefix.size());
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  topic->assign(key.substr(0, key.size() - 9));
  *partition = static_cast<int32_t>(DecodeFixed64BE(key.data() + key.size() - 8));
  return true;
}

std::string MarkKey(std::string_view prefix, std::string_view route, uint64_t first_seq) {
  std::string k(prefix);
  k.append(route);
  k.push_back('\0');
  PutFixed64BE(&k, first_seq);
  return k;
}

bool ParseMarkKey(std::string_view key, std::string_view prefix, std::string* route, uint64_t* first_seq) {
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  route->assign(key.substr(0, key.size() - 9));
  *first_seq = DecodeFixed64BE(key.data() + key.size() - 8);
  return true;
}

}  // namespace sg::spool
