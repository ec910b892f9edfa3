# Sourced by the fixture scripts. record STEM (run in the fixtures' directory): writes
# expected/STEM.txt, the fields openssl reports for STEM.pem, which the tests compare with the
# crate's summary.
record() {
  local stem=$1 text
  text=$(openssl x509 -in "$stem.pem" -noout -text)
  {
    echo "fingerprint=$(openssl x509 -in "$stem.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)"
    echo "serial=$(openssl x509 -in "$stem.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)"
    openssl x509 -in "$stem.pem" -noout -dates -dateopt iso_8601 \
      | sed -e 's/^notBefore=/not_before=/' -e 's/^notAfter=/not_after=/' -e 's/ /T/'
    echo "subject=$(openssl x509 -in "$stem.pem" -noout -subject -nameopt RFC2253,-esc_msb | sed 's/^subject=//')"
    echo "issuer=$(openssl x509 -in "$stem.pem" -noout -issuer -nameopt RFC2253,-esc_msb | sed 's/^issuer=//')"
    echo "signature_algorithm=$(grep -m1 'Signature Algorithm:' <<<"$text" | sed -e 's/.*Signature Algorithm: *//' -e 's/ *$//')"
    if grep -q 'Hash Algorithm:' <<<"$text"; then
      echo "pss_hash=$(grep -m1 'Hash Algorithm:' <<<"$text" | sed -e 's/.*Hash Algorithm: *//' -e 's/ *$//')"
    fi
    echo "key_algorithm=$(grep -m1 'Public Key Algorithm:' <<<"$text" | sed -e 's/.*Public Key Algorithm: *//' -e 's/ *$//')"
    echo "key_bits=$(grep -m1 -o 'Public-Key: ([0-9]* bit)' <<<"$text" | grep -o '[0-9]*' || true)"
    echo "ec_curve=$( (grep -m1 'NIST CURVE:' <<<"$text" || grep -m1 'ASN1 OID:' <<<"$text" || true) | sed 's/.*: *//')"
    echo "version=$(grep -m1 'Version:' <<<"$text" | sed 's/.*Version: *\([0-9]\).*/\1/')"
    # basicConstraints: the line after its heading says CA:TRUE or CA:FALSE; absent means false.
    if grep -A1 'X509v3 Basic Constraints:' <<<"$text" | grep -q 'CA:TRUE'; then
      echo "is_ca=true"
    else
      echo "is_ca=false"
    fi
  } > "expected/$stem.txt"
}
