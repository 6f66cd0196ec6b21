// Internal to sg_azure: the part of a bearer-token request to Azure Resource Manager or the Log
// Analytics Query API that the DCR reader (dcr_reader.cc) and the Query API client
// (query_client.cc) share: one retry with a fresh token after a 401, and the short form of
// Azure's error answer that their Status messages quote.
#pragma once

#include <functional>
#include <string>

#include "sentinel_gateway/azure/http_client.h"
#include "sentinel_gateway/azure/token_provider.h"
#include "sentinel_gateway/status.h"

namespace sg::azure {

// Calls `send` with an "Authorization: Bearer <token>" header of a token from `tokens`. A 401
// means the token expired or was revoked: it is invalidated and `send` called once more with a
// fresh one; a second 401 is the answer. Not OK only when no token could be had or `send` failed;
// otherwise *response is the last answer (status 0: no HTTP answer), for the caller to judge.
Status SendWithToken(TokenProvider* tokens,
                     const std::function<Status(const std::string& authorization, HttpResponse* response)>& send,
                     HttpResponse* response);

// Azure's error answer ({"error": {"code", "message"}}; it never holds the token): its code, and
// the first line of its message cut to 300 characters, short enough for a log line.
void ShortError(const std::string& body, std::string* code, std::string* message);

}  // namespace sg::azure
