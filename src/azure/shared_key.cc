#include "sentinel_gateway/azure/shared_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

namespace sg::azure {

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n);
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  std::string buf(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!text.empty() && text.back() == '=') --n;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
  buf.resize(n);
  *out = std::move(buf);
  return true;
}

std::string SharedKeyStringToSign(size_t content_length, std::string_view x_ms_date) {
  return fmt::format("POST\n{}\napplication/json\nx-ms-date:{}\n/api/logs", content_length,
                     x_ms_date);
}

Status SharedKeySignature(std::string_view base64_key, size_t content_length,
                          std::string_view x_ms_date, std::string* signature) {
  std::string key;
  if (base64_key.empty() || !Base64Decode(base64_key, &key)) {
    return Status::InvalidArgument("shared key is not valid base64");
  }
  std::string data = SharedKeyStringToSign(content_length, x_ms_date);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &mac_len) == nullptr) {
    return Status::InvalidArgument("HMAC-SHA256 failed");
  }
  OPENSSL_cleanse(key.data(), key.size());
  *signature = Base64Encode(std::string_view(reinterpret_cast<char*>(mac), mac_len));
  return Status::OK();
}

}  // namespace sg::azure
