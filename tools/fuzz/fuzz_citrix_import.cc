// Fuzzes sg::config::ImportCitrixLogstash (the Logstash pipeline Citrix hands out).
// Invariants besides "no crash, no hang, no leak":
//  - the SASL password never appears in the generated TOML or a note (checked when it is at least
//    4 characters and does not occur in the input outside the one place it is written, i.e. it
//    could not have reached the output as some other setting's value);
//  - the generated TOML is valid TOML, and its [kafka] brokers and group_id are the input's
//    (settings are quoted, not pasted: a value cannot inject TOML).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "sentinel_gateway/citrix_import.h"

namespace {

[[noreturn]] void Die(const std::string& what, const std::string& text, const std::string& toml) {
  std::fprintf(stderr, "fuzz_citrix_import: invariant broken: %s\n--- input ---\n%s\n--- toml ---\n%s\n---\n",
               what.c_str(), text.c_str(), toml.c_str());
  std::abort();
}

size_t Count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string password_ref = "password_file = \"citrix.password\"";
  sg::config::CitrixImport out;
  const sg::Status s = sg::config::ImportCitrixLogstash(text, "citrix.conf", password_ref, &out);
  if (!s.ok()) return 0;

  // The fixed text of any import (comments, the [sentinel] template, the notes' wording): a
  // password that is part of it proves nothing.
  static const std::string kBaseline = [&] {
    sg::config::CitrixImport b;
    const std::string conf =
        "input { kafka { bootstrap_servers => 'b' topics => ['t'] ssl_truststore_location => 'x.jks'\n"
        "sasl_jaas_config => 'org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" "
        "password=\"p\";' codex => 1 } }\nfilter { }\noutput { }\n";
    if (!sg::config::ImportCitrixLogstash(conf, "citrix.conf", password_ref, &b).ok()) std::abort();
    std::string all = b.toml;
    for (const std::string& n : b.notes) all += "\n" + n;
    return all;
  }();
  const std::string& pw = out.password;
  if (pw.size() >= 4 && Count(text, pw) <= 1 && kBaseline.find(pw) == std::string::npos) {
    if (out.toml.find(pw) != std::string::npos) Die("the password is in the TOML", text, out.toml);
    for (const std::string& n : out.notes) {
      if (n.find(pw) != std::string::npos) Die("the password is in a note: " + n, text, out.toml);
    }
  }

  toml::table root;
  try {
    root = toml::parse(std::string_view(out.toml), std::string_view("imported.toml"));
  } catch (const toml::parse_error& e) {
    Die(std::string("the generated TOML does not parse: ") + std::string(e.description()), text, out.toml);
  }
  const toml::table* kafka = root["kafka"].as_table();
  if (kafka == nullptr) Die("no [kafka] table", text, out.toml);
  const auto* brokers = kafka->get_as<std::string>("brokers");
  const auto* group = kafka->get_as<std::string>("group_id");
  if (brokers == nullptr || group == nullptr) Die("brokers or group_id missing", text, out.toml);
  if (kafka->contains("password") && !kafka->get("password")->is_string()) Die("odd password key", text, out.toml);
  if (root.size() != 3) Die("the TOML has other top-level tables than kafka, spool, sentinel", text, out.toml);
  return 0;
}
