// Test TLS material for the emulator: a throw-away CA and a server certificate for 127.0.0.1 and
// localhost, so clients verify the emulator exactly as they verify Azure.
#pragma once

#include <string>

#include "sentinel_gateway/status.h"

namespace sg::emulator {

struct TlsFiles {
  std::string cert;  // server certificate chain (PEM)
  std::string key;   // server private key (PEM, mode 0600)
  std::string ca;    // CA certificate to trust (PEM); empty when the directory brought its own cert
};

// Uses dir/cert.pem and dir/key.pem when both exist; otherwise writes a fresh CA (dir/ca.pem) and
// a server certificate signed by it (dir/cert.pem, dir/key.pem). Creates dir when missing.
Status EnsureTlsFiles(const std::string& dir, TlsFiles* out);

}  // namespace sg::emulator
