#include "tls_material.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace sg::emulator {
namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Deleter> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1;
}

CertPtr MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sentinel-emulator"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  bool ok = true;
  if (ca) {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature");
    ok = ok && AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth");
    ok = ok && AddExt(cert.get(), iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  ok = ok && AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  if (!ok || X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

Status WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::IOError("cannot write " + path);
  if (key != nullptr) ::chmod(path.c_str(), 0600);
  bool ok = key != nullptr
                ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1
                : PEM_write_X509(f, cert) == 1;
  ok = (std::fclose(f) == 0) && ok;
  return ok ? Status::OK() : Status::IOError("cannot write " + path);
}

}  // namespace

Status EnsureTlsFiles(const std::string& dir, TlsFiles* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  out->cert = dir + "/cert.pem";
  out->key = dir + "/key.pem";
  out->ca = dir + "/ca.pem";
  if (fs::exists(out->cert) && fs::exists(out->key)) {
    if (!fs::exists(out->ca)) out->ca.clear();
    return Status::OK();
  }
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr srv_key(EVP_EC_gen("P-256"));
  if (!ca_key || !srv_key) return Status::IOError("EC key generation failed");
  // A unique CA name: two emulators' CAs must never be mistaken for one another by name.
  unsigned char tag[6];
  RAND_bytes(tag, sizeof(tag));
  char ca_name[64];
  std::snprintf(ca_name, sizeof(ca_name), "sentinel-emulator test CA %02x%02x%02x%02x%02x%02x",
                tag[0], tag[1], tag[2], tag[3], tag[4], tag[5]);
  CertPtr ca = MakeCert(ca_key.get(), ca_name, nullptr, ca_key.get(), true);
  if (!ca) return Status::IOError("CA certificate generation failed");
  CertPtr srv = MakeCert(srv_key.get(), "localhost", ca.get(), ca_key.get(), false);
  if (!srv) return Status::IOError("server certificate generation failed");
  Status s = WritePem(out->ca, nullptr, ca.get());
  if (s.ok()) s = WritePem(out->key, srv_key.get(), nullptr);
  if (s.ok()) s = WritePem(out->cert, nullptr, srv.get());
  return s;
}

}  // namespace sg::emulator
