#include "authorized_request.h"

#include "sentinel_gateway/azure/post_result.h"

namespace sg::azure {

Status SendWithToken(TokenProvider* tokens,
                     const std::function<Status(const std::string& authorization, HttpResponse* response)>& send,
                     HttpResponse* response) {
  for (int attempt = 0;; ++attempt) {
    std::string token;
    Status s = tokens->GetToken(&token);
    if (!s.ok()) return s;
    *response = HttpResponse();
    s = send("Authorization: Bearer " + token, response);
    if (!s.ok()) return s;
    if (response->status != 401 || attempt > 0) return Status::OK();
    tokens->Invalidate(token);  // expired or revoked: one fresh token, one more try
  }
}

void ShortError(const std::string& body, std::string* code, std::string* message) {
  ParseErrorBody(body, code, message);
  *message = message->substr(0, message->find('\n')).substr(0, 300);
}

}  // namespace sg::azure
