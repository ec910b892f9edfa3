#!/usr/bin/env bash
# Makes the certificates whose subject or issuer holds an empty RelativeDistinguishedName
# (`SET {}`), which OpenSSL, Go and pyca read (as no attribute) though RFC 5280 says SIZE
# (1..MAX), and records what `openssl x509` reports for them in expected/. openssl will not
# write an empty RDN: an empty SET is put into the committed ec_p256.der (the signature then
# no longer matches, which the decoder does not check). generate.sh runs it at its end; it can
# also be run alone, and changes nothing else: bash tests/data/generate_empty_rdn.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
source "$here/record.sh"

# empty_rdn_subject: an empty SET between the subject's O and CN RDNs.
# empty_rdn_issuer: an empty SET first in the issuer (before C) and another last (after CN).
python3 - ec_p256.der <<'PY'
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
        size = (n.bit_length() + 7) // 8
        length = bytes([n]) if n < 0x80 else bytes([0x80 | size]) + n.to_bytes(size, "big")
        out += bytes([tag]) + length + body
    return out
EMPTY_SET = [0x31, []]
def make(stem, edit):
    tree = parse(open(sys.argv[1], "rb").read())
    tbs = tree[0][1][0][1]
    # version [0], serial, signature, issuer, validity, subject, ...
    assert tbs[0][0] == 0xa0
    edit(issuer=tbs[3][1], subject=tbs[5][1])
    open(stem + ".der", "wb").write(encode(tree))
def subject(issuer, subject):
    subject.insert(len(subject) - 1, EMPTY_SET)
def issuer(issuer, subject):
    issuer.insert(0, EMPTY_SET)
    issuer.append(EMPTY_SET)
make("empty_rdn_subject", subject)
make("empty_rdn_issuer", issuer)
PY
for stem in empty_rdn_subject empty_rdn_issuer; do
  openssl x509 -inform DER -in "$stem.der" -out "$stem.pem"
  record "$stem"
done
echo "empty-RDN fixtures written to $here"
