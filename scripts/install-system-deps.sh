#!/usr/bin/env bash
# Installs the Debian packages the product and its tests use, only those that are missing:
#   redis-server  private Redis for `npm start` (when REDIS_URL is unset) and for tests
#   postgresql    a throwaway PostgreSQL cluster for the storage tests (initdb/postgres binaries)
#   openssl       self-signed certificates in the TLS tests
#   chromium      headless browser for the video-visit and web-client tests
#   mediasoup worker build (only used when no prebuilt worker can be downloaded, see
#   scripts/mediasoup/worker.sh): a C++ toolchain, python3 + pip (meson/ninja), and the Debian
#   libraries the worker links (their runtime parts are needed wherever the worker runs)
# Safe to run repeatedly; needs root or sudo only when something is missing.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for pkg in build-essential pkg-config python3 python3-pip libssl-dev libuv1-dev libsrtp2-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "== system packages: all present"
  exit 0
fi

echo "== installing system packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "need root to install: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "== installed: ${missing[*]}"
