#!/usr/bin/env bash
# Makes the uploads administrators really have, from fixtures generate.sh made, and changes
# nothing else: bash tests/data/generate_upload_cases.sh
# - req_x509_ec.pem, req_x509_rsa.pem: a client's own self-signed certificate made the way
#   `openssl req -x509` makes it with OpenSSL 3's default configuration (basicConstraints
#   critical CA:TRUE, no keyUsage, no extendedKeyUsage), valid for 100 years from today;
# - fullchain_root.pem: a client certificate, its intermediate CA and the root CA;
# - ca_bundle.pem: the intermediate and the root CA alone (no client certificate);
# - rsa1024_sha1.pem: a self-signed client certificate with a 1024-bit RSA key, signed with
#   SHA-1 (what old devices still present).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$here"
source "$here/record.sh"

OPENSSL_CONF=/usr/lib/ssl/openssl.cnf openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -nodes -keyout "$work/ec.key" -subj "/O=Partner/CN=partner-gw.example" -days 36500 \
  -out "$work/req_x509_ec.pem" 2>/dev/null
OPENSSL_CONF=/usr/lib/ssl/openssl.cnf openssl req -x509 -newkey rsa:2048 \
  -nodes -keyout "$work/rsa.key" -subj "/O=Partner/CN=partner-rsa.example" -days 36500 \
  -out "$work/req_x509_rsa.pem" 2>/dev/null
OPENSSL_CONF=/usr/lib/ssl/openssl.cnf openssl req -x509 -newkey rsa:1024 -sha1 \
  -nodes -keyout "$work/rsa1024.key" -subj "/O=Legacy Devices/CN=legacy-device.example" -days 36500 \
  -addext "basicConstraints=CA:FALSE" -addext "extendedKeyUsage=clientAuth" \
  -out "$work/rsa1024_sha1.pem" 2>/dev/null
for stem in req_x509_ec req_x509_rsa rsa1024_sha1; do
  openssl x509 -in "$work/$stem.pem" -out "$stem.pem"
  record "$stem"
done
cat via_intermediate.pem intermediate.pem ca.pem > fullchain_root.pem
cat intermediate.pem ca.pem > ca_bundle.pem
