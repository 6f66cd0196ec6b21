#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: every test of the release build (labels unit,
# integration, e2e), the unit tests again under ASan+UBSan, the concurrency-heavy tests under
# ThreadSanitizer, and a bounded run of each libFuzzer target on its seed corpus. Exits non-zero on
# any failure.
#   tools/test.sh            everything
#   tools/test.sh -L unit    only tests with that label (release build only)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --asan
if [ $# -gt 0 ]; then
  exec ctest --preset release "$@"
fi
tools/kafka-broker.sh fetch  # Apache Kafka's jars for the real-broker tests (Maven, pom.xml: 4.x)
tools/kafka-broker.sh --version 3.9.1 fetch  # the last 3.x, for the smoke test on both lines
ctest --preset release -j 2
ctest --preset asan-unit -j 2
tools/sanitizers.sh          # ThreadSanitizer: spool, control, deliver and tools tests (build/tsan)
tools/fuzz.sh 30             # libFuzzer: every target 30 s on its committed seed corpus (build/fuzz, clang)
