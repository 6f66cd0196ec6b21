#include "sentinel_gateway/secret.h"

#include <array>
#include <cctype>
#include <string>

namespace sg {

bool IsSecretKey(std::string_view key) {
  std::string k(key);
  for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Substrings: librdkafka's secret properties (CONFIGURATION.md: sasl.password,
  // ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret,
  // sasl.oauthbearer.config, sasl.jaas.config in Java-style imports) and the gateway's keys
  // (password, client_secret, shared_key). Exact names: inline PEM private keys.
  static constexpr std::array<std::string_view, 6> kParts = {"password", "secret",           "jaas",
                                                              "sasl.oauthbearer.config", "shared_key", "private"};
  for (std::string_view part : kParts) {
    if (k.find(part) != std::string::npos) return true;
  }
  return k == "ssl.key.pem" || k == "ssl_key" || k == "ssl_key_pem" || k == "ssl.keystore.pem";
}

}  // namespace sg
