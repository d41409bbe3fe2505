#!/usr/bin/env bash
# Makes sure a mediasoup-worker binary for the pinned mediasoup version exists in the cache
# outside the clone, and prints its path on stdout (progress goes to stderr).
#
#   1. MEDIASOUP_WORKER_BIN set and runnable      -> that binary, nothing built.
#   2. cached binary for <version>-<shims hash>   -> that binary (seconds).
#   3. otherwise, in a scratch copy of node_modules/mediasoup:
#      a. mediasoup's own postinstall downloads the official prebuilt worker (online machines);
#      b. when that is unreachable, the offline route: Debian libraries through meson shims
#         (scripts/mediasoup/shims-3.27.sh), source fixes (patches-3.27.sh), libsrtp built with
#         OpenSSL crypto from Debian's source package (Debian's own libsrtp2 uses NSS, about a
#         third slower per packet; used only when the source package cannot be fetched), then
#         mediasoup's own meson/ninja build.
#      The result is copied into the cache; the scratch copy is removed.
#
# Runs as the project's postinstall (package.json lists mediasoup as `false` in allowScripts so
# npm does not start the stock build that needs GitHub). Build dependencies are installed by
# scripts/install-system-deps.sh. Environment:
#   TELEHEALTH_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/telehealth)
#   MEDIASOUP_OFFLINE=1    skip the download attempt
#   MESON_VERSION / NINJA_VERSION  pins for pip when the defaults are not on your index
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
pkg="$root/node_modules/mediasoup"
shims="$root/scripts/mediasoup/shims-3.27.sh"
patches="$root/scripts/mediasoup/patches-3.27.sh"

say() { echo "mediasoup-worker: $*" >&2; }

# A worker binary started with no MEDIASOUP_VERSION exits 41: the check mediasoup itself uses.
runs() {
  local status=0
  [ -x "$1" ] || return 1
  env -i "$1" >/dev/null 2>&1 || status=$?
  [ "$status" -eq 41 ]
}

if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  if runs "$MEDIASOUP_WORKER_BIN"; then echo "$MEDIASOUP_WORKER_BIN"; exit 0; fi
  say "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN does not run here (missing file or libraries); building one instead"
fi

if [ ! -f "$pkg/package.json" ]; then
  say "node_modules/mediasoup is missing: run npm ci first"
  exit 1
fi
version=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)
# Keyed by everything that shapes the binary: the version and these build scripts.
key="$version-$(cat "$root"/scripts/mediasoup/*.sh | sha256sum | cut -c1-12)"
cache_root="${TELEHEALTH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telehealth}"
dest="$cache_root/mediasoup-worker/$key"
bin="$dest/mediasoup-worker"

if runs "$bin"; then
  say "cached worker $key"
  echo "$bin"
  exit 0
fi

mkdir -p "$cache_root/mediasoup-worker"
scratch=$(mktemp -d "$cache_root/mediasoup-worker/build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cp -R "$pkg" "$scratch/mediasoup"
# mediasoup's npm-scripts needs its own dependencies (tar, ...) next to it.
ln -s "$root/node_modules" "$scratch/node_modules"
ms="$scratch/mediasoup"
built="$ms/worker/out/Release/mediasoup-worker"
started=$(date +%s)

# Can GitHub (where mediasoup publishes its prebuilt workers) be reached? Asked with node, which
# every install has (curl may not be in slim images).
# libsrtp 2 from Debian's source package, static, with OpenSSL's AES (AES-NI) instead of NSS.
# Prints the install prefix; fails quietly (the caller falls back to the system libsrtp2).
build_srtp_with_openssl() {
  local d="$scratch/srtp" lists
  mkdir -p "$d/apt/lists/partial" "$d/src"
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")" > "$d/apt/src.sources"
  lists=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$d/apt" -o Dir::State::Lists="$d/apt/lists")
  (cd "$d/src" \
    && apt-get -qq "${lists[@]}" update \
    && apt-get -qq "${lists[@]}" source --download-only libsrtp2 \
    && tar xzf libsrtp2_*.orig.tar.gz \
    && cd libsrtp-* \
    && CFLAGS='-O2 -fPIC' ./configure --prefix="$d/prefix" --enable-openssl --disable-pcap \
    && make -j"$(nproc)" libsrtp2.a \
    && make install) >"$d/build.log" 2>&1 || return 1
  [ -f "$d/prefix/lib/pkgconfig/libsrtp2.pc" ] || return 1
  echo "$d/prefix"
}

online=0
if [ -z "${MEDIASOUP_OFFLINE:-}" ] && node -e "fetch('https://github.com', { method: 'HEAD', signal: AbortSignal.timeout(8000) }).then(() => process.exit(0), () => process.exit(1))" >/dev/null 2>&1; then
  online=1
fi

if [ "$online" -eq 1 ]; then
  say "downloading the official prebuilt worker $version"
  (cd "$ms" && MEDIASOUP_FORCE_WORKER_PREBUILT_DOWNLOAD=1 node npm-scripts.mjs postinstall >&2) || true
fi

if ! runs "$built"; then
  say "building worker $version from source against Debian libraries (about 4 minutes on 2 cores)"
  for lib in libuv libsrtp2 openssl flatbuffers absl_flat_hash_map; do
    if ! pkg-config --exists "$lib"; then
      say "missing build library '$lib': run scripts/install-system-deps.sh (as root) first"
      exit 1
    fi
  done
  sh "$shims" "$ms/worker" >&2
  sh "$patches" "$ms/worker" >&2
  if srtp_prefix=$(build_srtp_with_openssl); then
    export PKG_CONFIG_PATH="$srtp_prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    say "libsrtp: built with OpenSSL crypto"
  else
    say "libsrtp: Debian's source package unavailable; using the system libsrtp2 (NSS crypto, slower SRTP)"
  fi
  (cd "$ms" && MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=1 node npm-scripts.mjs postinstall >&2)
fi

if ! runs "$built"; then
  say "the build finished but $built does not run"
  exit 1
fi
mkdir -p "$dest"
cp "$built" "$bin.tmp"
mv "$bin.tmp" "$bin"
say "worker $key ready in $(( $(date +%s) - started )) s: $bin"
echo "$bin"
