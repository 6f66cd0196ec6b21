#include "http.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include <curl/curl.h>

namespace sg::testing {
namespace {

size_t Collect(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

}  // namespace

int HttpRequest(const std::string& method, const std::string& url, const std::string& ca,
                const std::string& request_body, std::string* response_body) {
  CURL* c = curl_easy_init();
  response_body->clear();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (!ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, response_body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_slist* h = nullptr;
  if (!request_body.empty()) {
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request_body.c_str());
  }
  long code = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return static_cast<int>(code);
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

uint64_t MetricValue(const std::string& text, const std::string& name) {
  size_t p = text.rfind(name + " ", 0) == 0 ? 0 : text.find("\n" + name + " ");
  if (p == std::string::npos) return UINT64_MAX;
  size_t start = text.find(' ', p + 1);
  return std::strtoull(text.c_str() + start + 1, nullptr, 10);
}

uint64_t MetricSum(const std::string& text, const std::string& family, const std::string& label) {
  uint64_t sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(family, 0) != 0) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    sum += std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
  }
  return sum;
}

}  // namespace sg::testing
