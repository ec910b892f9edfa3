#!/bin/sh
# Makes the TLS identities the rustls examples, README steps and verifier docs use:
#   ca.pem / ca.key           a CA for the server's certificate (clients trust it with --ca)
#   server.pem / server.key   the server's certificate for localhost and 127.0.0.1, signed by ca
#   client.pem / client.key   a self-signed client certificate (CN=demo client, clientAuth)
#   stranger.pem / stranger.key  another client certificate, never imported anywhere
# Test material only: these private keys are public. Valid for 100 years from the day made.
set -eu
cd "$(dirname "$0")"
days=36500
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
extensions=$(mktemp)
trap 'rm -f "$extensions" server.csr ca.srl' EXIT

openssl req -x509 $ec -keyout ca.key -out ca.pem -days $days \
    -subj "/CN=inbound-certs test server CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign

openssl req $ec -keyout server.key -out server.csr -subj "/CN=localhost"
printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$extensions"
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
    -extfile "$extensions" -out server.pem

for who in client stranger; do
    openssl req -x509 $ec -keyout $who.key -out $who.pem -days $days \
        -subj "/CN=demo $who/O=inbound-certs examples" \
        -addext basicConstraints=critical,CA:FALSE \
        -addext keyUsage=critical,digitalSignature \
        -addext extendedKeyUsage=clientAuth
done
