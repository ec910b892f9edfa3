#!/usr/bin/env bash
# Regenerates every fixture in tests/data/ with the openssl CLI, and records in expected/ the
# values openssl reports for each certificate. Run from anywhere: bash tests/data/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Everything is written to $work/out first and swapped into tests/data/ at the end, so a failed
# run leaves the old fixtures in place and the directory is incomplete only for a moment.
mkdir -p "$work/out/expected"
cd "$work/out"

mkdir -p "$work/db"
: > "$work/db/index.txt"
echo 1000 > "$work/db/serial"
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
default_crl_days = 36500
[ anything ]
countryName = optional
organizationName = optional
commonName = supplied
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
subjectAltName = DNS:\${ENV::STEM}.client.example
[ server_only ]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:\${ENV::STEM}.client.example
[ no_eku ]
basicConstraints = CA:FALSE
subjectAltName = DNS:\${ENV::STEM}.client.example
[ any_eku ]
basicConstraints = CA:FALSE
extendedKeyUsage = anyExtendedKeyUsage
subjectAltName = DNS:\${ENV::STEM}.client.example
[ many_sans ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth, serverAuth
subjectAltName = DNS:a.client.example, DNS:b.client.example, IP:10.0.0.1, IP:2001:db8::1, email:admin@client.example, URI:spiffe://client.example/source
[ bad_san ]
basicConstraints = CA:FALSE
2.5.29.17 = DER:30:03:02:01:05
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
CNF
export STEM=unused

GOOD_START=20250101000000Z
GOOD_END=20450101000000Z

key() { # key FILE ALGORITHM [OPTIONS...]
  local file=$1 algorithm=$2; shift 2
  local options=()
  for option in "$@"; do options+=(-pkeyopt "$option"); done
  openssl genpkey -algorithm "$algorithm" "${options[@]}" -out "$file" 2>/dev/null
}

# sign STEM KEY SUBJECT ISSUER_CERT ISSUER_KEY EXTENSIONS START END [extra ca options...]
sign() {
  local stem=$1 keyfile=$2 subject=$3 issuer_cert=$4 issuer_key=$5 section=$6 start=$7 end=$8
  shift 8
  openssl req -new -key "$keyfile" -subj "$subject" -out "$work/$stem.csr" -config "$work/ca.cnf" 2>/dev/null
  STEM=$stem openssl ca -batch -config "$work/ca.cnf" -in "$work/$stem.csr" -out "$work/$stem.crt" \
    -cert "$issuer_cert" -keyfile "$issuer_key" -extensions "$section" -notext \
    -startdate "$start" -enddate "$end" "$@" 2>/dev/null
  finish "$stem" "$work/$stem.crt"
}

selfsign() { # selfsign STEM KEY SUBJECT EXTENSIONS [extra ca options...]
  local stem=$1 keyfile=$2 subject=$3 section=$4; shift 4
  openssl req -new -key "$keyfile" -subj "$subject" -out "$work/$stem.csr" -config "$work/ca.cnf" 2>/dev/null
  STEM=$stem openssl ca -batch -selfsign -config "$work/ca.cnf" -in "$work/$stem.csr" -out "$work/$stem.crt" \
    -keyfile "$keyfile" -extensions "$section" -notext \
    -startdate "$GOOD_START" -enddate "$GOOD_END" "$@" 2>/dev/null
  finish "$stem" "$work/$stem.crt"
}

finish() { # finish STEM CERT: writes STEM.pem, STEM.der and expected/STEM.txt
  local stem=$1 cert=$2
  openssl x509 -in "$cert" -out "$stem.pem"
  openssl x509 -in "$cert" -outform DER -out "$stem.der"
  record "$stem"
}

# record STEM: expected/STEM.txt, what openssl reports for STEM.pem.
source "$here/record.sh"

subject() { echo "/C=DE/O=Inbound Certs Tests/CN=$1.client.example"; }

# The root CA.
key "$work/ca.key" RSA rsa_keygen_bits:3072
selfsign ca "$work/ca.key" "/C=DE/O=Inbound Certs Tests/CN=Inbound Test Root CA" root
CA=("ca.pem" "$work/ca.key")

leaf() { # leaf STEM KEYFILE [section] [extra ca options...]
  local stem=$1 keyfile=$2 section=${3:-client}; shift 3 || shift $#
  sign "$stem" "$keyfile" "$(subject "$stem")" "${CA[@]}" "$section" "$GOOD_START" "$GOOD_END" "$@"
}

for bits in 1024 2048 3072 2047; do
  key "$work/rsa$bits.key" RSA "rsa_keygen_bits:$bits"
  leaf "rsa$bits" "$work/rsa$bits.key" client
done
key "$work/rsa4096.key" RSA rsa_keygen_bits:4096
leaf rsa4096 "$work/rsa4096.key" client -md sha512
for curve in P-256:ec_p256 P-384:ec_p384 P-521:ec_p521 secp256k1:ec_secp256k1; do
  key "$work/${curve#*:}.key" EC "ec_paramgen_curve:${curve%%:*}" ec_param_enc:named_curve
  leaf "${curve#*:}" "$work/${curve#*:}.key" client
done
key "$work/ed25519.key" ED25519
leaf ed25519 "$work/ed25519.key" client
key "$work/ed448.key" ED448
leaf ed448 "$work/ed448.key" client
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$work/dsa.params" 2>/dev/null
openssl genpkey -paramfile "$work/dsa.params" -out "$work/dsa2048.key" 2>/dev/null
leaf dsa2048 "$work/dsa2048.key" client

key "$work/rsa_pss.key" RSA-PSS rsa_keygen_bits:2048
selfsign rsa_pss "$work/rsa_pss.key" "$(subject rsa_pss)" client \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256
key "$work/ec_p384_selfsigned.key" EC ec_paramgen_curve:P-384 ec_param_enc:named_curve
selfsign ec_p384_selfsigned "$work/ec_p384_selfsigned.key" "$(subject ec_p384_selfsigned)" client -md sha384
selfsign ed25519_selfsigned "$work/ed25519.key" "$(subject ed25519_selfsigned)" client

key "$work/rsa_dated.key" RSA rsa_keygen_bits:2048
sign expired "$work/rsa_dated.key" "$(subject expired)" "${CA[@]}" client 20200101000000Z 20210101000000Z
sign not_yet_valid "$work/rsa_dated.key" "$(subject not_yet_valid)" "${CA[@]}" client 20400101000000Z 20410101000000Z

key "$work/p256.key" EC ec_paramgen_curve:P-256
leaf server_only "$work/p256.key" server_only
leaf no_eku "$work/p256.key" no_eku
leaf any_eku "$work/p256.key" any_eku
leaf many_sans "$work/p256.key" many_sans

key "$work/intermediate.key" EC ec_paramgen_curve:P-256
sign intermediate "$work/intermediate.key" "/C=DE/O=Inbound Certs Tests/CN=Inbound Test Intermediate CA" \
  "${CA[@]}" intermediate "$GOOD_START" "$GOOD_END"
sign via_intermediate "$work/p256.key" "$(subject via_intermediate)" intermediate.pem "$work/intermediate.key" \
  client "$GOOD_START" "$GOOD_END"

# Refused by the decoder (recorded anyway: openssl x509 prints them).
# openssl will not write an extension twice: copy one in the DER (the signature then no longer
# matches, which the decoder does not check).
python3 - ec_p256.der dup_extension.der <<'PY'
import sys
def tlv(data, at):
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        return at + 2, first
    count = first & 0x7f
    return at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")
def children(data, start, end):
    items, at = [], start
    while at < end:
        content, length = tlv(data, at)
        items.append((at, content, content + length))
        at = content + length
    return items
def encode(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content
der = open(sys.argv[1], "rb").read()
_, cert_content, cert_end = children(der, 0, len(der))[0]
tbs, algorithm, signature = children(der, cert_content, cert_end)
fields = children(der, tbs[1], tbs[2])
wrapper = fields[-1]
assert der[wrapper[0]] == 0xa3
extensions = children(der, wrapper[1], wrapper[2])[0]
items = children(der, extensions[1], extensions[2])
first = der[items[0][0]:items[0][2]]
body = der[extensions[1]:extensions[2]] + first
new_wrapper = encode(0xa3, encode(0x30, body))
new_tbs = encode(0x30, der[tbs[1]:wrapper[0]] + new_wrapper)
rest = der[algorithm[0]:signature[2]]
open(sys.argv[2], "wb").write(encode(0x30, new_tbs + rest))
PY
leaf bad_san "$work/p256.key" bad_san

# Serial quirks, with the good dates: openssl ca will not write a negative serial (its serial file
# is unsigned hex), but openssl x509 -CA re-signs a self-signed certificate with any -set_serial and
# (3.0) -preserve_dates keeps its validity. It adds subject and authority key identifiers.
reserial() { # reserial STEM SERIAL
  selfsign "$1" "$work/p256.key" "$(subject "$1")" client
  openssl x509 -in "$1.pem" -CA ca.pem -CAkey "$work/ca.key" -set_serial "$2" -preserve_dates \
    -out "$work/$1.resigned" 2>/dev/null
  finish "$1" "$work/$1.resigned"
}
reserial serial_zero 0
reserial serial_negative -1234
# Version 1: openssl ca without -extensions (and copy_extensions = none) writes no extensions.
openssl req -new -key "$work/p256.key" -subj "$(subject v1)" -out "$work/v1.csr" -config "$work/ca.cnf" 2>/dev/null
openssl ca -batch -config "$work/ca.cnf" -in "$work/v1.csr" -out "$work/v1.crt" -cert ca.pem \
  -keyfile "$work/ca.key" -notext -startdate "$GOOD_START" -enddate "$GOOD_END" 2>/dev/null
finish v1 "$work/v1.crt"

key "$work/source.key" EC ec_paramgen_curve:P-256
sign sample_source "$work/source.key" "/C=DE/O=Orders Inc/CN=orders-service.source.example" "${CA[@]}" client "$GOOD_START" "$GOOD_END"
key "$work/proxy.key" EC ec_paramgen_curve:P-256
sign sample_proxy "$work/proxy.key" "/C=DE/O=Edge Ltd/CN=edge-proxy.proxy.example" "${CA[@]}" client "$GOOD_START" "$GOOD_END"

# Encodings of the same certificate.
for stem in rsa2048 ec_p256 ed25519; do
  sed 's/$/\r/' "$stem.pem" > "$stem.crlf.pem"
  openssl x509 -in "$stem.pem" -text > "$stem.text.pem"
  base64 -w 64 "$stem.der" > "$stem.b64"
  base64 -w 0 "$stem.der" > "$stem.oneline.b64"
  { printf '\xef\xbb\xbf'; cat "$stem.pem"; } > "$stem.bom.pem"
done
for stem in rsa2048 ec_p256 ed25519 via_intermediate intermediate; do
  openssl x509 -in "$stem.pem" -subject -issuer
done > bundle.pem
openssl crl2pkcs7 -nocrl -certfile bundle.pem -outform DER -out bundle.p7b
openssl crl2pkcs7 -nocrl -certfile bundle.pem -out bundle.p7b.pem
sed 's/CERTIFICATE-----/X509 CERTIFICATE-----/' ec_p256.pem > legacy_x509.pem
openssl x509 -in ec_p256.pem -trustout -addtrust clientAuth -out trusted.pem
awk 'NR==1 {print; print "Proc-Type: 4,CLEAR"; print "Content-Domain: RFC822"; print ""; next} {print}' ec_p256.pem > headers.pem
python3 -c 'import sys; sys.stdout.buffer.write("\ufeff".encode("utf-16-le") + open("ec_p256.pem").read().encode("utf-16-le"))' > utf16.pem

# Things that are not certificates.
key "$work/k.key" EC ec_paramgen_curve:P-256
openssl pkey -in "$work/k.key" -out key_pkcs8.pem
cat ec_p256.pem key_pkcs8.pem > cert_and_key.pem
openssl pkcs8 -topk8 -nocrypt -in "$work/k.key" -outform DER -out key_pkcs8.der
openssl pkcs8 -topk8 -in "$work/k.key" -v2 aes-256-cbc -passout pass:test -out key_pkcs8_encrypted_pbes2.pem
openssl pkcs8 -topk8 -in "$work/k.key" -v2 aes-256-cbc -passout pass:test -outform DER -out key_pkcs8_encrypted_pbes2.der
openssl pkcs8 -topk8 -in "$work/k.key" -v1 PBE-SHA1-3DES -passout pass:test -outform DER -out key_pkcs8_encrypted_pbes1.der
key "$work/k_rsa.key" RSA rsa_keygen_bits:2048
openssl pkey -in "$work/k_rsa.key" -traditional -out key_rsa_pkcs1.pem
openssl rsa -in "$work/k_rsa.key" -traditional -outform DER -out key_rsa_pkcs1.der 2>/dev/null
openssl ec -in "$work/k.key" -out key_ec_sec1.pem 2>/dev/null
openssl ec -in "$work/k.key" -outform DER -out key_ec_sec1.der 2>/dev/null
openssl genpkey -paramfile "$work/dsa.params" -out "$work/k_dsa.key" 2>/dev/null
openssl pkey -in "$work/k_dsa.key" -traditional -out key_dsa.pem
openssl dsa -in "$work/k_dsa.key" -outform DER -out key_dsa.der 2>/dev/null
key "$work/k_ed25519.key" ED25519
openssl pkey -in "$work/k_ed25519.key" -outform DER -out key_ed25519_pkcs8.der
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -q -t ed25519 -N '' -C inbound-certs-fixture -f "$work/ssh" && cp "$work/ssh" key_openssh.pem
fi
openssl req -new -key "$work/k.key" -subj "/CN=request.client.example" -out csr.pem -config "$work/ca.cnf"
openssl req -in csr.pem -outform DER -out csr.der
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' csr.pem > csr_new.pem
openssl ca -gencrl -config "$work/ca.cnf" -cert ca.pem -keyfile "$work/ca.key" -out crl.pem 2>/dev/null
openssl crl -in crl.pem -outform DER -out crl.der
openssl crl2pkcs7 -in crl.pem -outform DER -out crl_only.p7b
openssl pkey -in "$work/k.key" -pubout -out pubkey.pem
openssl pkey -in "$work/k.key" -pubout -outform DER -out pubkey.der
openssl rsa -in "$work/k_rsa.key" -RSAPublicKey_out -out rsa_pubkey.pem 2>/dev/null
openssl genpkey -genparam -algorithm DH -pkeyopt dh_paramgen_prime_len:512 -out dh_params.pem 2>/dev/null
{ printf '\x01'; head -c 4095 /dev/urandom; } > garbage.bin
: > empty.der
head -c 200 rsa2048.der > truncated.der
{ cat ec_p256.der; printf '\x00\x01\x02'; } > trailing.der
printf 'hello, this is not a certificate\n' > text.txt
cd "$here"
find . -maxdepth 1 -type f ! -name '*.sh' ! -name README.md -delete
rm -rf expected
cp -R "$work/out/." "$here/"
echo "fixtures written to $here"
bash "$here/generate_fidelity.sh"
bash "$here/generate_empty_rdn.sh"
