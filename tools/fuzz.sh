#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake --preset fuzz: clang, ASan+UBSan, build/fuzz) and runs each
# for a bounded time on a scratch copy of its committed seed corpus (tools/fuzz/corpus/<target>/,
# never written to). Exits non-zero when a target crashes, hangs, leaks or breaks an invariant and
# prints where the reproducer is and how to replay it.
#   tools/fuzz.sh [SECONDS] [TARGET...]    default: 30 seconds for each of all targets
# Environment: SG_FUZZ_JOBS (build parallelism, default 2), SG_FUZZ_KEEP=1 keeps the scratch dir.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
all=(fuzz_classifier fuzz_config fuzz_citrix_import fuzz_http_date fuzz_spool_coding fuzz_shaper
     fuzz_control_protocol)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

start=$SECONDS
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${SG_FUZZ_JOBS:-2}" --target "${targets[@]}"
echo "fuzz: build took $((SECONDS - start)) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/sg-fuzz.XXXXXX")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp -r tools/fuzz/corpus/"$t"/. "$work/$t/corpus/"
  t0=$SECONDS
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a runaway allocation is a finding.
  if build/fuzz/bin/"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
       -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" \
       >"$work/$t/log" 2>&1; then
    echo "fuzz: $t ok ($((SECONDS - t0)) s, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t/log" | grep -o '[0-9]*$') runs, corpus $(ls "$work/$t/corpus" | wc -l))"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED after $((SECONDS - t0)) s; last lines of $work/$t/log:"
    grep -v '^#[0-9]' "$work/$t/log" | tail -n 40
    for a in "$work/$t/artifacts"/*; do
      [ -e "$a" ] || continue
      echo "fuzz: reproducer $a"
      echo "fuzz:   replay with: build/fuzz/bin/$t $a"
    done
  fi
done
echo "fuzz: total $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (scratch dir kept: $work)"
  exit 1
fi
[ "${SG_FUZZ_KEEP:-0}" = 1 ] && echo "fuzz: scratch dir $work" || rm -rf "$work"
