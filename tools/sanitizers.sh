#!/usr/bin/env bash
# Runs the concurrency-heavy tests under ThreadSanitizer: configures the tsan preset (build/tsan),
# builds only the programs of the tests labelled tsan (target tsan_tests: the spool, control,
# deliver and tools test areas; see tests/CMakeLists.txt) and runs `ctest --preset tsan`.
# TSAN_OPTIONS comes from the test preset: tools/tsan.supp holds suppressions for uninstrumented
# system libraries only.
# (ASan+UBSan runs of the unit tests are ctest --preset asan-unit; fuzzing is tools/fuzz.sh.)
#   tools/sanitizers.sh [CTEST ARGS...]     e.g. -R SpoolConcurrency
# Environment: SG_TSAN_JOBS (build and ctest parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SG_TSAN_JOBS:-2}
start=$SECONDS
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target tsan_tests
echo "tsan: build took $((SECONDS - start)) s"
t0=$SECONDS
ctest --preset tsan -j "$jobs" "$@"
echo "tsan: tests took $((SECONDS - t0)) s (total $((SECONDS - start)) s)"
