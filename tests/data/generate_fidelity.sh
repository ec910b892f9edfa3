#!/usr/bin/env bash
# Makes the fixtures of the decoder-fidelity cases (issue 12) from the committed ones and
# fresh keys, with the openssl CLI (and Python where openssl cannot write the bytes).
# generate.sh runs it at its end; it can also be run alone: bash tests/data/generate_fidelity.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$here"

mkdir -p "$work/db"
: > "$work/db/index.txt"
echo 2000 > "$work/db/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $work/db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
countryName = optional
organizationName = optional
commonName = supplied
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
# Extensions this crate does not interpret, with values that are not DER: ASCII "test".
[ unknown_opaque ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
1.2.3.4 = DER:74:65:73:74
1.2.840.113583.1.1.9.1 = critical,DER:74:65:73:74
# Malformed values of extensions this crate interprets.
[ bad_inhibit_any_policy ]
extendedKeyUsage = clientAuth
2.5.29.54 = DER:02:01
# openssl writes no empty value: NULL here, emptied below.
[ empty_aia ]
extendedKeyUsage = clientAuth
1.3.6.1.5.5.7.1.1 = DER:05:00
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
CNF

# sign STEM KEY SECTION: a leaf signed by a fresh CA, valid 2025-2045, as STEM.pem and STEM.der.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
openssl req -new -key "$work/ca.key" -subj "/O=Inbound Certs Tests/CN=Fidelity Test CA" \
  -out "$work/ca.csr" -config "$work/ca.cnf" 2>/dev/null
openssl ca -batch -selfsign -config "$work/ca.cnf" -in "$work/ca.csr" -out "$work/ca.crt" \
  -keyfile "$work/ca.key" -extensions root -notext \
  -startdate 20250101000000Z -enddate 20450101000000Z 2>/dev/null
sign() {
  local stem=$1 keyfile=$2 section=$3
  openssl req -new -key "$keyfile" -subj "/O=Inbound Certs Tests/CN=$stem.client.example" \
    -out "$work/$stem.csr" -config "$work/ca.cnf" 2>/dev/null
  openssl ca -batch -config "$work/ca.cnf" -in "$work/$stem.csr" -out "$work/$stem.crt" \
    -cert "$work/ca.crt" -keyfile "$work/ca.key" -extensions "$section" -notext \
    -startdate 20250101000000Z -enddate 20450101000000Z 2>/dev/null
  openssl x509 -in "$work/$stem.crt" -out "$stem.pem"
  openssl x509 -in "$work/$stem.crt" -outform DER -out "$stem.der"
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/leaf.key" 2>/dev/null
sign unknown_opaque "$work/leaf.key" unknown_opaque
sign bad_inhibit_any_policy "$work/leaf.key" bad_inhibit_any_policy
rm bad_inhibit_any_policy.pem
sign empty_aia "$work/leaf.key" empty_aia
rm empty_aia.pem
# Empty the authorityInfoAccess value: the DER is re-encoded from its tree with the new lengths.
python3 - empty_aia.der <<'PY'
import sys
def parse(data):
    items, at = [], 0
    while at < len(data):
        tag, first = data[at], data[at + 1]
        if first < 0x80:
            start, length = at + 2, first
        else:
            count = first & 0x7f
            start, length = at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")
        content = data[start:start + length]
        items.append([tag, parse(content) if tag & 0x20 else content])
        at = start + length
    return items
def encode(items):
    out = b""
    for tag, content in items:
        body = encode(content) if tag & 0x20 else content
        n = len(body)
        length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
        out += bytes([tag]) + length + body
    return out
AIA = bytes.fromhex("2b06010505070101")
def empty_aia(items):
    for item in items:
        if item[0] & 0x20:
            children = item[1]
            if len(children) == 2 and children[0] == [0x06, AIA]:
                children[1][1] = b""
            empty_aia(children)
tree = parse(open(sys.argv[1], "rb").read())
empty_aia(tree)
open(sys.argv[1], "wb").write(encode(tree))
PY

# EC keys given by explicit curve parameters (RFC 3279 ECParameters), not a curve OID.
for curve in prime256v1:ec_explicit_p256 secp384r1:ec_explicit_p384; do
  openssl ecparam -name "${curve%%:*}" -param_enc explicit -genkey -noout -out "$work/${curve#*:}.key"
  sign "${curve#*:}" "$work/${curve#*:}.key" client
done

# A PKCS#12 archive of a certificate and its private key.
openssl pkcs12 -export -in unknown_opaque.pem -inkey "$work/leaf.key" -passout pass:test \
  -name fidelity -out keystore.p12

# The committed PKCS#7 bundle with its wrapper re-encoded in BER, as Windows and Java tools
# write it: indefinite lengths on ContentInfo, [0] and SignedData (the certificates untouched).
python3 - bundle.p7b bundle_ber.p7b <<'PY'
import sys
def header(data, at):
    first = data[at + 1]
    if first < 0x80:
        return at + 2, first
    count = first & 0x7f
    return at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")
def indefinite(data, at):
    """The element at `at` (constructed) with an indefinite length, its content unchanged."""
    content, length = header(data, at)
    return bytes([data[at], 0x80]), content, content + length
der = open(sys.argv[1], "rb").read()
outer_head, outer_content, outer_end = indefinite(der, 0)
oid_content, oid_length = header(der, outer_content)
explicit_at = oid_content + oid_length
explicit_head, explicit_content, explicit_end = indefinite(der, explicit_at)
signed_head, signed_content, signed_end = indefinite(der, explicit_content)
ber = (outer_head + der[outer_content:explicit_at] + explicit_head + signed_head
       + der[signed_content:signed_end] + b"\0\0" + b"\0\0" + b"\0\0")
assert outer_end == explicit_end == signed_end == len(der)
open(sys.argv[2], "wb").write(ber)
PY

# A certificate and the CA that issued it, as fullchain.pem files hold them.
cat via_intermediate.pem intermediate.pem > fullchain.pem

# Plain text and tiny files that are not certificates.
printf 'hello world\n' > hello.txt
printf 'This is not a certificate\n' > not_a_certificate.txt
printf '\x30' > one_byte.bin
printf '\x30\x82' > two_bytes.bin
echo "fidelity fixtures written to $here"
