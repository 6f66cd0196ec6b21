// Fuzzes sg::config::Parse (the gateway's TOML configuration) and Redacted().
// Invariants besides "no crash, no hang, no leak":
//  - a secret never appears in an error, a warning or Redacted(): secrets are planted in the env
//    map (${SG_FUZZ_SECRET}, ${SG_FUZZ_QSECRET}) and in a secret file in the base directory
//    (password_file = "secret.txt"); the check applies when the input does not itself contain the
//    secret text and uses the variables only in secret keys (elsewhere their values are plain data);
//  - Redacted() of a valid configuration is itself a valid configuration.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "sentinel_gateway/config.h"

namespace {

[[noreturn]] void Die(const char* what, const std::string& text) {
  std::fprintf(stderr, "fuzz_config: invariant broken: %s\n--- text ---\n%s\n---\n", what, text.c_str());
  std::abort();
}

// What must never show: distinctive parts of each planted secret.
const char* const kEnvSecretMarks[] = {"pl4nted-secret", "secret-Wk3"};
const char* const kFileSecretMark = "f1le-secret-Jh5";

const std::map<std::string, std::string>& Env() {
  static const std::map<std::string, std::string> env = {
      {"SG_FUZZ_SECRET", "Zq7pl4nted-secret-Xv9"},
      {"SG_FUZZ_QSECRET", "q\"uo\\ted\nsecret-Wk3"},
      {"SG_FUZZ_HOST", "broker.example:9093"},  // a plain variable for non-secret keys
  };
  return env;
}

// A base directory holding a secret file that others may read (so the warning path runs too).
const std::string& BaseDir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/sg-fuzz-config-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    std::string d = tmpl;
    std::ofstream(d + "/secret.txt") << "f1le-secret-Jh5\n";
    ::chmod((d + "/secret.txt").c_str(), 0644);
    return d;
  }();
  static const bool cleanup = [] {
    std::atexit([] {
      ::unlink((dir + "/secret.txt").c_str());
      ::rmdir(dir.c_str());
    });
    return true;
  }();
  (void)cleanup;
  return dir;
}

bool IsSecretKey(const std::string& path) {
  return path == "kafka.password" || path == "sentinel.client_secret" || path == "sentinel.shared_key";
}

// True when a string outside the secret keys refers to one of the secret variables.
bool SecretVarOutsideSecretKeys(const toml::node& n, const std::string& path) {
  if (const auto* t = n.as_table()) {
    for (const auto& [k, v] : *t) {
      if (SecretVarOutsideSecretKeys(v, path.empty() ? std::string(k.str()) : path + "." + std::string(k.str()))) {
        return true;
      }
    }
    return false;
  }
  if (const auto* a = n.as_array()) {
    for (const auto& v : *a) {
      if (SecretVarOutsideSecretKeys(v, path + "[]")) return true;
    }
    return false;
  }
  if (const auto* s = n.as_string()) {
    const std::string& v = s->get();
    return !IsSecretKey(path) && (v.find("SG_FUZZ_SECRET") != std::string::npos ||
                                  v.find("SG_FUZZ_QSECRET") != std::string::npos);
  }
  return false;
}

void CheckNoSecret(const std::string& where, const std::string& text, bool env_secrets_apply) {
  if (where.find(kFileSecretMark) != std::string::npos && text.find(kFileSecretMark) == std::string::npos) {
    Die(("the secret file's content leaked: " + where).c_str(), text);
  }
  if (!env_secrets_apply) return;
  for (const char* mark : kEnvSecretMarks) {
    if (where.find(mark) != std::string::npos) Die(("an env secret leaked: " + where).c_str(), text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Secret files are read at parse time: keep the fuzzer to its own directory (no /dev/zero,
  // /dev/stdin or other special files, which would only test the machine).
  if (text.find("dev/") != std::string::npos || text.find("proc/") != std::string::npos ||
      text.find("sys/") != std::string::npos || text.find("..") != std::string::npos) {
    return -1;
  }

  bool env_secrets_apply = true;
  for (const char* mark : kEnvSecretMarks) {
    if (text.find(mark) != std::string::npos) env_secrets_apply = false;
  }
  if (env_secrets_apply) {
    try {
      toml::table root = toml::parse(std::string_view(text), std::string_view("fuzz.toml"));
      if (SecretVarOutsideSecretKeys(root, "")) env_secrets_apply = false;
    } catch (const toml::parse_error&) {
      // Parse fails too, before expanding anything.
    }
  }

  sg::config::GatewayConfig config;
  const sg::Status s = sg::config::Parse(text, "fuzz.toml", BaseDir(), &config, &Env());
  CheckNoSecret(s.message(), text, env_secrets_apply);
  if (!s.ok()) return 0;
  for (const std::string& w : config.warnings) CheckNoSecret(w, text, env_secrets_apply);
  const std::string redacted = sg::config::Redacted(config);
  CheckNoSecret(redacted, text, env_secrets_apply);

  sg::config::GatewayConfig again;
  const sg::Status s2 = sg::config::Parse(redacted, "redacted.toml", BaseDir(), &again, &Env());
  if (!s2.ok()) Die(("Redacted() output does not load: " + s2.message()).c_str(), text + "\n--- redacted ---\n" + redacted);
  return 0;
}
