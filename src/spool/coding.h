// Binary encoding of spool keys and records (internal to src/spool).
//
// Keys sort the way the spool reads them: pending keys are `route \0 big-endian seq`, so one route's
// events are contiguous and in append order; failed keys are a big-endian batch id. Values start with
// a format byte so a future layout can be told apart; decoding never trusts lengths it reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sentinel_gateway/spool.h"

namespace sg::spool {

inline constexpr uint8_t kRecordFormat = 1;

void PutFixed64BE(std::string* dst, uint64_t v);
uint64_t DecodeFixed64BE(const char* p);
void PutVarint64(std::string* dst, uint64_t v);
bool GetVarint64(std::string_view* in, uint64_t* v);
void PutLengthPrefixed(std::string* dst, std::string_view s);
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);

// Pending keys.
std::string PendingKey(std::string_view route, uint64_t seq);
std::string PendingPrefix(std::string_view route);  // route + '\0'
// Splits a pending key; false when the key is not one.
bool ParsePendingKey(std::string_view key, std::string_view* route, uint64_t* seq);

// Failed keys.
std::string FailedKey(uint64_t id);
bool ParseFailedKey(std::string_view key, uint64_t* id);

// Pending value: header (format, enqueue time, source) then the payload bytes unchanged, so a read
// copies the payload once.
void EncodePendingValue(const SourceRef& source, int64_t enqueued_ms, std::string_view payload,
                        std::string* dst);
// On success fills everything but `seq`. Corruption on malformed input.
Status DecodePendingValue(std::string_view value, PendingEvent* out);

void EncodeFailedBatch(const FailedBatch& batch, std::string* dst);
Status DecodeFailedBatch(std::string_view value, FailedBatch* out);

// Meta keys.
inline constexpr std::string_view kMetaFormatVersion = "format_version";
inline constexpr std::string_view kMetaRoutePrefix = "route/";
inline constexpr std::string_view kMetaOffsetPrefix = "offset/";
inline constexpr std::string_view kMetaCounterPrefix = "ctr/";
// In-flight and in-doubt marks: prefix + route + '\0' + big-endian first seq -> big-endian last
// seq + big-endian mark time (ms).
inline constexpr std::string_view kMetaInFlightPrefix = "inflight/";
inline constexpr std::string_view kMetaInDoubtPrefix = "indoubt/";
// The open writer's run record: its machine's boot id. Present at an open: the last writer did
// not close (a crash, or a power cut when the boot id differs).
inline constexpr std::string_view kMetaRun = "run";
std::string MarkKey(std::string_view prefix, std::string_view route, uint64_t first_seq);
bool ParseMarkKey(std::string_view key, std::string_view prefix, std::string* route, uint64_t* first_seq);
std::string OffsetKey(std::string_view topic, int32_t partition);
bool ParseOffsetKey(std::string_view key, std::string* topic, int32_t* partition);

}  // namespace sg::spool
