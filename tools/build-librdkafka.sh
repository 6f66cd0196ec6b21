#!/usr/bin/env bash
# Makes sure a librdkafka of at least LIBRDKAFKA_MIN (tools/librdkafka.pin) can be linked.
# If the system's (pkg-config rdkafka) is new enough, there is nothing to do. Otherwise builds
# Debian's source package librdkafka LIBRDKAFKA_SOURCE_VERSION (suite LIBRDKAFKA_SOURCE_SUITE):
#  - apt-get source, after adding a deb-src entry for that suite whose mirror is the one the
#    machine's own apt sources use for Debian (nothing but apt downloads anything);
#  - its own configure (mklove) without --install-deps: the features whose libraries are installed
#    (setup.sh installs them by name) and nothing fetched;
#  - installed into CACHE/librdkafka-VERSION (static library, headers, pkg-config files), which
#    cmake/Rdkafka.cmake finds and links statically. A second run finds it and returns at once.
# Called by tools/setup.sh. Prints the prefix it uses (or "system") on its last line.
# Environment: SG_CACHE_DIR (cache root), SG_RDKAFKA_FORCE_BUILD=1 (build even if the system's
# librdkafka is new enough), SG_RDKAFKA_PREFIX (use that install, build nothing; on a system that
# is not Debian, where this script cannot build one).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=librdkafka.pin
. tools/librdkafka.pin
die() { echo "build-librdkafka: $*" >&2; exit 1; }
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

if [ -n "${SG_RDKAFKA_PREFIX:-}" ]; then
  # An operator's own build (cmake/Rdkafka.cmake checks its version when configuring).
  echo "build-librdkafka: using SG_RDKAFKA_PREFIX=$SG_RDKAFKA_PREFIX"
  echo "$SG_RDKAFKA_PREFIX"
  exit 0
fi
if [ "${SG_RDKAFKA_FORCE_BUILD:-0}" != 1 ] && pkg-config --atleast-version="$LIBRDKAFKA_MIN" rdkafka 2>/dev/null; then
  echo "build-librdkafka: the system's librdkafka $(pkg-config --modversion rdkafka) is >= $LIBRDKAFKA_MIN"
  echo system
  exit 0
fi

if [ -n "${SG_CACHE_DIR:-}" ]; then cache_root=$SG_CACHE_DIR
elif [ "$(id -u)" -eq 0 ]; then cache_root=/var/cache/sentinel-gateway
else cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/sentinel-gateway
fi
ver=$LIBRDKAFKA_SOURCE_VERSION
prefix=$cache_root/librdkafka-$ver
if [ -f "$prefix/lib/pkgconfig/rdkafka-static.pc" ]; then
  echo "$prefix"
  exit 0
fi
mkdir -p "$cache_root"

# The Debian mirror this machine uses: the URI of its apt source (deb822 or one-line format) for
# its own release. Never a host written here.
mirror() {
  local codename f
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v c="$codename" '
      /^[ \t]*$/ { if (uri != "" && suite && deb) { print uri; exit } uri=""; suite=0; deb=0; next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb=1 }
      tolower($1) == "uris:" { uri=$2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == c) suite=1 }
      END { if (uri != "" && suite && deb) print uri }' "$f"
  done | head -n 1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v c="$codename" '$1 == "deb" { u=""; for (i = 2; i <= NF; i++) { if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue } if (u == "") { u=$i; continue } if ($i == c) { print u; exit } break } }' |
    head -n 1 | grep .
}

(
  flock 9
  [ -f "$prefix/lib/pkgconfig/rdkafka-static.pc" ] && exit 0
  start=$SECONDS
  if ! apt-cache showsrc librdkafka 2>/dev/null | grep -qx "Version: $ver"; then
    # The source is Debian's archive, signed by Debian's keyring: another distribution's mirror
    # (Ubuntu 24.04 ships librdkafka 2.3.0) does not serve it.
    os_id=$(. /etc/os-release && echo "${ID:-unknown}")
    [ "$os_id" = debian ] || die "librdkafka >= $LIBRDKAFKA_MIN is needed and this system ($os_id) is not Debian, whose source package this script builds; install librdkafka >= $LIBRDKAFKA_MIN and set SG_RDKAFKA_PREFIX to its prefix"
    url=$(mirror) || die "no Debian mirror found in this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/); set SG_RDKAFKA_PREFIX to a librdkafka >= $LIBRDKAFKA_MIN instead"
    list=/etc/apt/sources.list.d/sentinel-gateway-$LIBRDKAFKA_SOURCE_SUITE-src.sources
    echo "build-librdkafka: adding $list (deb-src $url $LIBRDKAFKA_SOURCE_SUITE main)"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
      "$url" "$LIBRDKAFKA_SOURCE_SUITE" "$keyring" | $sudo_cmd tee "$list" >/dev/null
    # Update only that source (the others stay as they are).
    $sudo_cmd apt-get update -qq -o DPkg::Lock::Timeout=600 -o Dir::Etc::sourcelist="$list" \
      -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
    apt-cache showsrc librdkafka 2>/dev/null | grep -qx "Version: $ver" \
      || die "apt does not serve source package librdkafka $ver from $url ($LIBRDKAFKA_SOURCE_SUITE)"
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/sg-librdkafka.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work"  # apt's _apt user downloads into it
  (cd "$work" && apt-get source -qq "librdkafka=$ver" >/dev/null) || die "apt-get source librdkafka=$ver failed"
  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'librdkafka-*' | head -n 1)
  [ -n "$src" ] || die "apt-get source left no librdkafka-* directory"
  jobs=$(nproc); [ "$jobs" -le 4 ] || jobs=4
  # SSL, zlib, zstd and lz4 are required (their -dev packages come from setup.sh); libcurl and
  # Cyrus SASL (GSSAPI) are used when present. No --install-deps: nothing is downloaded.
  (cd "$src" && ./configure --prefix="$prefix" --enable-ssl --enable-zlib --enable-zstd --enable-lz4-ext \
     >"$work/configure.log" 2>&1) || { tail -30 "$work/configure.log" >&2; die "configure failed"; }
  make -C "$src/src" -j "$jobs" lib >"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; die "make failed"; }
  make -C "$src/src" install DESTDIR="$work/stage" >>"$work/make.log" 2>&1 || die "make install failed"
  rm -f "$work/stage$prefix"/lib/librdkafka.so* "$work/stage$prefix"/lib/librdkafka++*
  grep -m1 '^  BUILT_WITH' "$work/configure.log" | sed 's/^ *//' > "$work/stage$prefix/BUILT_WITH"
  echo "Debian source package librdkafka $ver ($LIBRDKAFKA_SOURCE_SUITE)" > "$work/stage$prefix/SOURCE"
  rm -rf "$prefix.tmp"
  mv "$work/stage$prefix" "$prefix.tmp"
  mv "$prefix.tmp" "$prefix"  # the .pc file appears only with a complete install
  echo "build-librdkafka: built librdkafka $ver into $prefix in $((SECONDS - start)) s" >&2
) 9>"$cache_root/.librdkafka.lock"
echo "$prefix"
