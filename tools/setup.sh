#!/usr/bin/env bash
# Installs what sentinel-gateway needs (Debian packages, by name) and builds it into build/bin.
# Idempotent: packages already present are not touched, and the build is incremental.
# When the system's librdkafka is older than tools/librdkafka.pin's LIBRDKAFKA_MIN (Debian 12 ships
# 2.0.2), it builds the pinned one from Debian's source package (apt-get source, through a deb-src
# entry on the machine's own Debian mirror) into a cache outside the clone, once per version;
# cmake/Rdkafka.cmake links it statically. Cache: $SG_CACHE_DIR, else /var/cache/sentinel-gateway
# as root, else ${XDG_CACHE_HOME:-~/.cache}/sentinel-gateway.
#   tools/setup.sh           release build
#   tools/setup.sh --asan    also the ASan+UBSan build (build/asan/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev librocksdb-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libdeflate-dev
  libfmt-dev libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libgtest-dev
  clang libclang-rt-14-dev kafkacat openssl
  dpkg-dev libsasl2-dev liblz4-dev libzstd-dev
  help2man lintian
  openjdk-17-jdk-headless maven
  prometheus  # promtool: the monitoring rules' checks and unit tests (tests/monitoring)
  linux-perf  # perf: e2e-bench --perf, the gateway's CPU by stage (docs/BENCHMARKS.md)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The machine may ship a JDK and Maven outside Debian's packages; accept those.
if command -v java >/dev/null && command -v mvn >/dev/null; then
  missing=("${missing[@]/openjdk-17-jdk-headless}"); missing=("${missing[@]/maven}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
tools/build-librdkafka.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
if [ "${1:-}" = "--asan" ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
fi
