#!/usr/bin/env bash
# Microsoft's SDK as the referee of the emulator (sdk_referee.py says what it checks).
# Usage: sdk_referee_test.sh EMULATOR_BIN VENV_DIR. Creates the virtual environment VENV_DIR with
# azure-monitor-ingestion, azure-monitor-query and azure-identity from PyPI (kept for the next run), starts the emulator
# on 127.0.0.1, runs the referee, and stops the emulator. Exit 77 (skipped) only when the packages
# cannot be installed (no PyPI); any check that fails exits non-zero.
set -euo pipefail
emulator=$1
venv=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import azure.monitor.ingestion, azure.monitor.query, azure.identity' 2>/dev/null; then
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install -q "azure-monitor-ingestion>=1.0" "azure-monitor-query>=1.2" "azure-identity>=1.16"; then
    echo "sdk_referee: cannot install the SDK from PyPI; skipped" >&2
    exit 77
  fi
fi
work=$(mktemp -d)
coproc EMU { exec "$emulator" --listen 127.0.0.1:0 --tls-dir "$work/tls" --record "$work/rows.jsonl" \
  --no-rate-limits --query-api 2>"$work/emulator.log"; }
emu_pid=$EMU_PID
cleanup() {
  kill "$emu_pid" 2>/dev/null || true
  wait "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
read -r -t 20 line <&"${EMU[0]}"   # listening=https://127.0.0.1:PORT ca=...
base=${line#listening=}
base=${base%% *}
ca=${line##*ca=}
SSL_CERT_FILE=$ca REQUESTS_CA_BUNDLE=$ca NO_PROXY='*' no_proxy='*' \
  "$venv/bin/python" "$here/sdk_referee.py" "$base" "$ca" "$work/rows.jsonl"
