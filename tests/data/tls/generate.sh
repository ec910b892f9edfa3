#!/bin/sh
# Makes the TLS identities the rustls examples, README steps and verifier docs use:
#   ca.pem / ca.key           a CA for the server's certificate (clients trust it with --ca)
#   server.pem / server.key   the server's certificate for localhost and 127.0.0.1, signed by ca
#   client.pem / client.key   a self-signed client certificate (CN=demo client, clientAuth)
#   stranger.pem / stranger.key  another client certificate, never imported anywhere
#   rsa.pem / rsa.key         a client certificate with an RSA 2048 key
#   v1.pem / v1.key           a version 1 client certificate (no extensions)
#   critical.pem / critical.key  a client certificate with an unknown critical extension
# Test material only: these private keys are public. Valid for 100 years from the day made.
set -eu
cd "$(dirname "$0")"
days=36500
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
extensions=$(mktemp)
trap 'rm -f "$extensions" server.csr v1.csr ca.srl' EXIT

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

openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem -days $days \
    -subj "/CN=demo rsa client" -addext extendedKeyUsage=clientAuth

# `x509 -req` without extensions writes a version 1 certificate.
openssl req $ec -keyout v1.key -out v1.csr -subj "/CN=demo v1 client"
openssl x509 -req -in v1.csr -key v1.key -days $days -out v1.pem

openssl req -x509 $ec -keyout critical.key -out critical.pem -days $days \
    -subj "/CN=demo critical extension client" -addext extendedKeyUsage=clientAuth \
    -addext "1.3.6.1.4.1.55555.1=critical,DER:05:00"
