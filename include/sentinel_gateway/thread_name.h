// NameThisThread: gives the calling thread a name that `top -H`, `perf report --sort comm` and
// core dumps show, so the CPU of each pipeline stage can be told apart (docs/BENCHMARKS.md,
// "Where the CPU goes"). Linux keeps at most 15 characters; longer names are cut, never refused.
#pragma once

namespace sg {

void NameThisThread(const char* name);

}  // namespace sg
