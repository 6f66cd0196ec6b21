// Wire format of the control socket: one JSON object per line each way.
//
// Requests:  {"op":"hello"} | {"op":"stats"}
//            {"op":"requeue","ids":[17,18]} | {"op":"requeue","all":true,"route":"R","status":400}
//            {"op":"drop","ids":[17]}
// Answers:   {"ok":true,...} or {"ok":false,"code":"not_found","error":"no failed batch 99",...}
// A change answer carries "changed", "skipped" and "events" even when it is an error, so the
// client can report the part that was done. Kept internal: only ControlServer and ControlClient
// speak it, and both are built from this file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sentinel_gateway/control.h"

namespace sg::control::wire {

using nlohmann::json;

// Longest line either side accepts (a request is small; an answer lists batch ids).
inline constexpr size_t kMaxLine = 16u << 20;

json EncodeChangeRequest(const ChangeRequest& request);
Status DecodeChangeRequest(const json& j, ChangeRequest* request);

void EncodeChangeResult(const ChangeResult& result, json* j);
Status DecodeChangeResult(const json& j, ChangeResult* result);

json EncodeStats(const spool::SpoolStats& stats);
Status DecodeStats(const json& j, spool::SpoolStats* stats);

// {"ok":true} or {"ok":false,"code":...,"error":...}.
json EncodeStatus(const Status& status);
// The Status an answer carries (a malformed answer is Corruption).
Status DecodeStatus(const json& j);

// Compact one-line JSON; invalid UTF-8 is replaced rather than thrown about.
std::string Dump(const json& j);
// Parses one line; InvalidArgument (with the parser's message) when it is not a JSON object.
Status Parse(const std::string& line, json* j);

}  // namespace sg::control::wire
