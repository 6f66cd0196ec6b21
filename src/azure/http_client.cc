#include "sentinel_gateway/azure/http_client.h"

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace sg::azure {
namespace {

// Owners for libcurl's handle and header lists, so no return path leaks them.
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlDeleter>;

// Appends `line` to `*list`; false when libcurl is out of memory (the list is left as it was).
bool AppendHeader(CurlSlistPtr* list, const char* line) {
  curl_slist* head = curl_slist_append(list->get(), line);
  if (head == nullptr) return false;
  (void)list->release();  // `head` is the same list (or a new one when it was empty)
  list->reset(head);
  return true;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The extra CA certificates, loaded once so that a bad file is reported at start-up.
struct CaCerts {
  std::vector<X509*> certs;
  ~CaCerts() {
    for (X509* c : certs) X509_free(c);
  }
};

Status LoadCaFile(const std::string& path, CaCerts* out) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return Status::InvalidArgument("cannot read CA file " + path);
  while (X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr)) out->certs.push_back(cert);
  std::fclose(f);
  if (out->certs.empty()) return Status::InvalidArgument("no PEM certificate in CA file " + path);
  return Status::OK();
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after 100-continue or a proxy CONNECT)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  (*headers)[name] = std::string(value);
  return size * n;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return (cancel != nullptr && cancel->load(std::memory_order_relaxed)) ? 1 : 0;
}

CURLcode AddCaCerts(CURL*, void* ssl_ctx, void* user) {
  auto* ca = static_cast<CaCerts*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  for (X509* cert : ca->certs) X509_STORE_add_cert(store, cert);  // duplicates are harmless
  return CURLE_OK;
}

}  // namespace

struct HttpClient::Rep {
  HttpClientOptions options;
  CaCerts ca;                              // before curl: the handle points at both
  char error[CURL_ERROR_SIZE] = {0};
  CurlPtr curl;
};

HttpClient::HttpClient(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

HttpClient::~HttpClient() = default;

Status HttpClient::Create(const HttpClientOptions& options, std::unique_ptr<HttpClient>* out) {
  GlobalInit();
  auto rep = std::make_unique<Rep>();
  rep->options = options;
  if (!options.ca_file.empty()) {
    Status s = LoadCaFile(options.ca_file, &rep->ca);
    if (!s.ok()) return s;
  }
  rep->curl.reset(curl_easy_init());
  if (rep->curl == nullptr) return Status::Unavailable("curl_easy_init failed");
  CURL* c = rep->curl.get();
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rep->error);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // any encoding libcurl can decode
  if (options.no_proxy) {
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  } else if (!options.proxy.empty()) {
    curl_easy_setopt(c, CURLOPT_PROXY, options.proxy.c_str());
  }
  if (!rep->ca.certs.empty()) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, AddCaCerts);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &rep->ca);
  }
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, options.cancel);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  out->reset(new HttpClient(std::move(rep)));
  return Status::OK();
}

Status HttpClient::Post(const std::string& url, const std::vector<std::string>& headers,
                        const std::string& body, HttpResponse* response) {
  return Perform(url, headers, &body, response);
}

Status HttpClient::Get(const std::string& url, const std::vector<std::string>& headers,
                       HttpResponse* response) {
  return Perform(url, headers, nullptr, response);
}

Status HttpClient::Perform(const std::string& url, const std::vector<std::string>& headers,
                           const std::string* body, HttpResponse* response) {
  *response = HttpResponse();
  CURL* c = rep_->curl.get();
  rep_->error[0] = '\0';
  CurlSlistPtr list;
  bool listed = true;
  for (const auto& h : headers) listed = listed && AppendHeader(&list, h.c_str());
  // No "Expect: 100-continue" round trip for large bodies.
  listed = listed && AppendHeader(&list, "Expect:");
  if (!listed) {
    // A transport failure like any other: the request is retried later, nothing sent half-formed.
    response->status = 0;
    response->transport_error = "out of memory building the request headers";
    return Status::OK();
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response->body);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response->headers);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);  // the list is freed on return
  if (rc != CURLE_OK) {
    response->status = 0;
    response->cancelled = (rc == CURLE_ABORTED_BY_CALLBACK);
    // The error buffer names the host and the TLS problem, never a header value.
    response->transport_error =
        rep_->error[0] != '\0' ? fmt::format("{} ({})", rep_->error, curl_easy_strerror(rc))
                               : std::string(curl_easy_strerror(rc));
    return Status::OK();
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response->status = static_cast<int>(status);
  return Status::OK();
}

std::string UrlEncode(const std::string& value) {
  std::string out;
  for (unsigned char ch : value) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

}  // namespace sg::azure
