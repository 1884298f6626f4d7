#!/usr/bin/env bash
# Builds Benchmarks/openssl/tls_bench.c (with Sources/COpenSSLPair/ossl_pair.c, the handshake
# driver it shares with the paired Swift benchmarks) against the system libssl and runs it:
# OpenSSL's numbers for the same in-memory TLS 1.2 and TLS 1.3 work as the Swift benchmarks.
#
#   Benchmarks/run-openssl.sh [handshakes] [records]     (defaults 2000 and 20000)
#
# Output: `name value unit` lines (see Benchmarks/README.md). Needs gcc and libssl-dev
# (installed with apt when missing and running as root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/.build-openssl"
mkdir -p "$out"

if ! echo '#include <openssl/ssl.h>' | gcc -E -x c - >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libssl-dev
  else
    echo "run-openssl.sh: libssl-dev is missing (sudo apt-get install libssl-dev)" >&2
    exit 1
  fi
fi

gcc -O2 -Wall -Wextra -Werror -I "$here/Sources/COpenSSLPair" -I "$here/Sources/COpenSSLPair/include" \
  -o "$out/tls_bench" "$here/openssl/tls_bench.c" "$here/Sources/COpenSSLPair/ossl_pair.c" -lssl -lcrypto
exec "$out/tls_bench" "$@"
