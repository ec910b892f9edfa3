#!/usr/bin/env bash
# Builds and runs benches/openssl_summary.c: the certificate summary made with the OpenSSL C
# library, per certificate of the system trust store, to compare with
# `cargo bench --bench decode` (trust_store/b_from_der). Needs libssl-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/include/openssl/x509.h ]; then
  apt-get update -qq && apt-get install -y -qq libssl-dev
fi
out="${TMPDIR:-/tmp}/openssl_summary"
gcc -O2 -Wall -Wextra -o "$out" benches/openssl_summary.c -lcrypto
"$out" /etc/ssl/certs/ca-certificates.crt "${1:-200}"
