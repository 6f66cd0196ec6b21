// Human-readable formatting for an 80-column terminal: sizes, ages, times and cut-down text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sg::spooltool {

// 312 B, 51.0 KiB, 1.2 MiB, 20.0 GiB.
std::string HumanBytes(uint64_t bytes);
// 0s, 41s, 3m12s, 2h05m, 3d04h (an elapsed time in milliseconds; negative counts as 0).
std::string HumanAge(int64_t ms);
// 2026-11-28 07:40:11 UTC
std::string HumanTime(int64_t epoch_ms);
// 2026-11-28T07:40:11.123Z (for JSON output).
std::string IsoTime(int64_t epoch_ms);
// `text` on one line (control characters become spaces) and at most `width` columns, ending in
// "..." when cut.
std::string Fit(std::string_view text, size_t width);
// The same, cutting at the front (keeps the distinctive end of long table names).
std::string FitLeft(std::string_view text, size_t width);
// Columns of the terminal on stdout, 80 when it is not a terminal (stable output for scripts).
size_t TerminalWidth();
int64_t NowMs();

}  // namespace sg::spooltool
