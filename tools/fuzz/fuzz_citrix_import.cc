// Fuzzes sg::config::ImportCitrixLogstash (the Logstash pipeline Citrix hands out).
// Invariants besides "no crash, no hang, no leak":
//  - the SASL password never appears in the generated TOML or a note (checked when it is at least
//    4 characters and occurs once in the input, by comparison with the import of the same input
//    whose password has other letters and digits);
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

  // A password can be part of the fixed text of an import (a comment or note: "September 2"
  // is in "retired in September 2026"), so the check is differential: import the same text
  // with the password's letters and digits rotated (same length, same punctuation, so the
  // pipeline parses alike); a leak is an occurrence the twin's output does not have.
  const std::string& pw = out.password;
  if (pw.size() >= 4 && Count(text, pw) == 1) {
    std::string twin_pw = pw;
    bool changed = false;
    for (char& c : twin_pw) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 1) % 26), changed = true;
      else if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + (c - 'A' + 1) % 26), changed = true;
      else if (c >= '0' && c <= '9') c = static_cast<char>('0' + (c - '0' + 1) % 10), changed = true;
    }
    std::string twin_text = text;
    twin_text.replace(twin_text.find(pw), pw.size(), twin_pw);
    sg::config::CitrixImport twin;
    if (changed && sg::config::ImportCitrixLogstash(twin_text, "citrix.conf", password_ref, &twin).ok() &&
        twin.password == twin_pw) {
      if (Count(out.toml, pw) > Count(twin.toml, pw)) Die("the password is in the TOML", text, out.toml);
      std::string notes, twin_notes;
      for (const std::string& n : out.notes) notes += n + "\n";
      for (const std::string& n : twin.notes) twin_notes += n + "\n";
      if (Count(notes, pw) > Count(twin_notes, pw)) Die("the password is in a note: " + notes, text, out.toml);
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
