#!/usr/bin/env bash
# Sets up, builds and runs the gateway's demo (arguments are passed to `sentinel-gateway-demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
exec build/bin/sentinel-gateway-demo "$@"
