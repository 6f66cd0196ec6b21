// AppendUrlWords: padding that compresses like the text of real events (gzip about 5 times), not
// like one letter repeated (about 30 times): URL path steps of words and numbers drawn at random.
// The benches pad their ~1 KB Citrix-shaped events with it when compression is part of what they
// measure (drain_bench and e2e-bench, --padding words).
#pragma once

#include <random>
#include <string>

namespace sg::testing {

// Appends "/<word><number>" steps to *url until it holds at least `until` bytes.
inline void AppendUrlWords(std::string* url, size_t until, std::mt19937* rng) {
  static const char* kWords[] = {"share",  "files", "download", "sales",  "q3",      "report",
                                 "users",  "docs",  "project",  "backup", "archive", "finance",
                                 "images", "hr",    "drive",    "export", "data",    "team"};
  while (url->size() < until) {
    *url += '/';
    *url += kWords[(*rng)() % (sizeof(kWords) / sizeof(kWords[0]))];
    *url += std::to_string((*rng)() % 10000);
  }
}

}  // namespace sg::testing
