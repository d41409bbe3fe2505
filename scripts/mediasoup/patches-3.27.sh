#!/bin/sh
# Usage: patches-3.27.sh <mediasoup-worker-dir>
# Source fixes for building mediasoup 3.27's worker against Debian's libraries.
#
# DtlsTransport's BIO callback tells a post-operation call apart with `op == BIO_CB_RETURN`,
# but OpenSSL passes `BIO_CB_RETURN | <op>`, so after every BIO operation the callback answers 1
# instead of the operation's result. The OpenSSL mediasoup bundles tolerates that; Debian's
# OpenSSL 3.0.19 believes it (a write BIO reporting an MTU of 1) and the DTLS handshake then
# writes through a NULL record buffer: the worker dies with SIGSEGV on the first ClientHello.
# Testing the flag bit is what the OpenSSL documentation prescribes.
set -e
f="$1/src/RTC/DtlsTransport.cpp"
old='const long resultOfcallback = (operationType == BIO_CB_RETURN)'
new='const long resultOfcallback = ((operationType \& BIO_CB_RETURN) != 0)'
if ! grep -qF "$old" "$f"; then
  echo "patches-3.27.sh: expected code not found in $f (mediasoup version changed?)" >&2
  exit 1
fi
sed -i "s/$old/$new/" "$f"
grep -qF 'operationType & BIO_CB_RETURN' "$f"
echo "patched $f"
