#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: every test of the release build (labels unit,
# integration, e2e), then the unit tests again under ASan+UBSan. Exits non-zero on any failure.
#   tools/test.sh            everything
#   tools/test.sh -L unit    only tests with that label (release build only)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --asan
if [ $# -gt 0 ]; then
  exec ctest --preset release "$@"
fi
ctest --preset release -j 2
ctest --preset asan-unit -j 2
