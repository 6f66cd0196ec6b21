#!/usr/bin/env bash
# Runs the release test suite while stress-ng keeps every core busy, RUNS times: a test that bets
# on a race instead of waiting for a state fails here sooner than on a quiet machine (issue 12).
# Run it after changing a test that waits for something.
#   tools/load-test.sh                 the whole suite once under load
#   tools/load-test.sh 3 -L integration   three runs of one label
# Exits non-zero when any run failed; prints each run's failures.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then runs=$1; shift; fi

tools/setup.sh
if ! command -v stress-ng >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends stress-ng
fi
tools/kafka-broker.sh fetch

stress-ng --cpu "$(nproc)" --quiet &
load=$!
trap 'kill "$load" 2>/dev/null; wait "$load" 2>/dev/null || true' EXIT

failed=0
for i in $(seq 1 "$runs"); do
  echo "load-test: run $i of $runs with $(nproc) stress-ng CPU workers"
  if ! ctest --preset release -j 2 "$@" > "build/load-test-$i.log" 2>&1; then
    failed=$((failed + 1))
    grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted)' "build/load-test-$i.log" || true
  fi
  tail -n 3 "build/load-test-$i.log"
done
echo "load-test: $failed of $runs runs failed (logs: build/load-test-*.log)"
[ "$failed" -eq 0 ]
