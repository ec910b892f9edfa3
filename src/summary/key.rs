//! Public keys: algorithm, curve and exact size.

use super::*;

/// The subject's public key: its algorithm and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PublicKeyInfo {
    /// The key algorithm (with the curve for EC keys).
    pub algorithm: KeyAlgorithm,
    /// The key size in bits: the RSA modulus or DSA prime length, the EC curve size
    /// (256/384/521), 256 for Ed25519 and 456 for Ed448; `None` when unknown.
    pub bits: Option<u32>,
}

impl fmt::Display for PublicKeyInfo {
    /// E.g. `RSA (2048 bits)`, `EC P-256 (256 bits)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.algorithm {
            KeyAlgorithm::Ec(curve) => write!(f, "EC {curve}")?,
            other => write!(f, "{other}")?,
        }
        if let Some(bits) = self.bits {
            write!(f, " ({bits} bits)")?;
        }
        Ok(())
    }
}

/// A public key algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA (`rsaEncryption`).
    Rsa,
    /// An RSA key restricted to RSASSA-PSS signatures (`id-RSASSA-PSS`).
    RsaPss,
    /// Elliptic curve (`id-ecPublicKey`) on the given curve.
    Ec(EcCurve),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// DSA.
    Dsa,
    /// Any other algorithm.
    Other(Oid),
}

impl fmt::Display for KeyAlgorithm {
    /// `RSA`, `RSA-PSS`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the dotted OID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::Rsa => f.write_str("RSA"),
            KeyAlgorithm::RsaPss => f.write_str("RSA-PSS"),
            KeyAlgorithm::Ec(_) => f.write_str("EC"),
            KeyAlgorithm::Ed25519 => f.write_str("Ed25519"),
            KeyAlgorithm::Ed448 => f.write_str("Ed448"),
            KeyAlgorithm::Dsa => f.write_str("DSA"),
            KeyAlgorithm::Other(oid) => write!(f, "{oid}"),
        }
    }
}

/// An elliptic curve.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// secp256k1.
    Secp256k1,
    /// Another named curve, by OID.
    Named(Oid),
    /// Parameters that are neither a named curve's OID nor the explicit parameters of one of
    /// the four curves above (those are reported as that curve), or absent.
    Unnamed,
}

/// Other named curves this crate knows: dotted OID, name, size in bits.
pub(super) const OTHER_CURVES: &[(&str, &str, u32)] = &[
    ("1.2.840.10045.3.1.1", "P-192", 192),
    ("1.3.132.0.33", "P-224", 224),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", 256),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", 384),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", 512),
];

impl EcCurve {
    /// The curve size in bits, for the curves this crate knows.
    pub fn bits(&self) -> Option<u32> {
        match self {
            EcCurve::P256 | EcCurve::Secp256k1 => Some(256),
            EcCurve::P384 => Some(384),
            EcCurve::P521 => Some(521),
            EcCurve::Named(oid) => other_curve(oid).map(|(_, _, bits)| *bits),
            EcCurve::Unnamed => None,
        }
    }
}

pub(super) fn other_curve(oid: &Oid) -> Option<&'static (&'static str, &'static str, u32)> {
    OTHER_CURVES
        .iter()
        .find(|(dotted, _, _)| *dotted == oid.as_str())
}

impl fmt::Display for EcCurve {
    /// `P-256`, `P-384`, `P-521`, `secp256k1`, a known name, or the dotted OID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcCurve::P256 => f.write_str("P-256"),
            EcCurve::P384 => f.write_str("P-384"),
            EcCurve::P521 => f.write_str("P-521"),
            EcCurve::Secp256k1 => f.write_str("secp256k1"),
            EcCurve::Named(oid) => match other_curve(oid) {
                Some((_, name, _)) => f.write_str(name),
                None => f.write_str(oid.as_str()),
            },
            EcCurve::Unnamed => f.write_str("explicit parameters"),
        }
    }
}

/// Reads algorithm and size from a SubjectPublicKeyInfo's DER, without trusting
/// x509-parser's `key_size` (which miscounts odd RSA sizes, P-521 and Ed25519/Ed448).
pub(super) fn public_key_info(spki: &[u8]) -> PublicKeyInfo {
    let unknown = || PublicKeyInfo {
        algorithm: KeyAlgorithm::Other(Oid(Cow::Borrowed(""))),
        bits: None,
    };
    let mut outer = Reader::new(spki);
    let Ok(spki) = outer.expect(Tag::SEQUENCE, "SubjectPublicKeyInfo") else {
        return unknown();
    };
    let mut fields = spki.reader();
    let Ok(algorithm) = fields.expect(Tag::SEQUENCE, "AlgorithmIdentifier") else {
        return unknown();
    };
    let mut algorithm = algorithm.reader();
    let Ok(oid) = algorithm.expect(Tag::OID, "algorithm") else {
        return unknown();
    };
    let parameters = algorithm.read().ok();
    let key = fields
        .expect(Tag::BIT_STRING, "subjectPublicKey")
        .ok()
        .and_then(|bits| bits.content.split_first().map(|(_, key)| key))
        .unwrap_or(&[]);
    let oid = Oid::from_content(oid.content);
    let rsa_bits = || {
        let mut reader = Reader::new(key);
        let sequence = reader.expect(Tag::SEQUENCE, "RSAPublicKey").ok()?;
        let modulus = sequence.reader().expect(Tag::INTEGER, "modulus").ok()?;
        Some(der::integer_bits(modulus.content))
    };
    match oid.as_str() {
        "1.2.840.113549.1.1.1" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Rsa,
            bits: rsa_bits(),
        },
        "1.2.840.113549.1.1.10" => PublicKeyInfo {
            algorithm: KeyAlgorithm::RsaPss,
            bits: rsa_bits(),
        },
        "1.2.840.10045.2.1" => match parameters {
            Some(curve) if curve.tag == Tag::OID => {
                let curve = Oid::from_content(curve.content);
                let curve = match curve.as_str() {
                    "1.2.840.10045.3.1.7" => EcCurve::P256,
                    "1.3.132.0.34" => EcCurve::P384,
                    "1.3.132.0.35" => EcCurve::P521,
                    "1.3.132.0.10" => EcCurve::Secp256k1,
                    _ => EcCurve::Named(curve),
                };
                PublicKeyInfo {
                    bits: curve.bits(),
                    algorithm: KeyAlgorithm::Ec(curve),
                }
            }
            Some(explicit) if explicit.tag == Tag::SEQUENCE => {
                let (curve, bits) = explicit_curve(&explicit).unwrap_or((EcCurve::Unnamed, None));
                PublicKeyInfo {
                    bits,
                    algorithm: KeyAlgorithm::Ec(curve),
                }
            }
            _ => PublicKeyInfo {
                bits: None,
                algorithm: KeyAlgorithm::Ec(EcCurve::Unnamed),
            },
        },
        "1.3.101.112" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Ed25519,
            bits: Some(256),
        },
        "1.3.101.113" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Ed448,
            bits: Some(456),
        },
        "1.2.840.10040.4.1" => PublicKeyInfo {
            algorithm: KeyAlgorithm::Dsa,
            bits: parameters
                .filter(|p| p.tag == Tag::SEQUENCE)
                .and_then(|p| p.reader().expect(Tag::INTEGER, "p").ok())
                .map(|p| der::integer_bits(p.content)),
        },
        _ => PublicKeyInfo {
            algorithm: KeyAlgorithm::Other(oid),
            bits: None,
        },
    }
}

/// A named curve as explicit ECParameters spell it out: the prime p, the coefficients a
/// and b and the order n (hex, no leading zeros), and the curve.
pub(super) type ExplicitCurve = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    fn() -> EcCurve,
);

/// The named curves an explicit ECParameters may spell out.
pub(super) const EXPLICIT_CURVES: &[ExplicitCurve] = &[
    (
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
        "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        || EcCurve::P256,
    ),
    (
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        || EcCurve::P384,
    ),
    (
        "1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc",
        "51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
        "1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
        || EcCurve::P521,
    ),
    (
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
        "",
        "7",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        || EcCurve::Secp256k1,
    ),
];

/// The curve and its size (the bit length of the field: of p for a prime field, m for a
/// binary one) of explicit ECParameters (RFC 3279 §2.3.5), the curve named when p, a, b
/// and n are those of a named curve. `None` if the parameters are not of that shape.
pub(super) fn explicit_curve(parameters: &der::Tlv<'_>) -> Option<(EcCurve, Option<u32>)> {
    let mut fields = parameters.reader();
    fields.expect(Tag::INTEGER, "version").ok()?;
    let field_id = fields.expect(Tag::SEQUENCE, "fieldID").ok()?;
    let curve = fields.expect(Tag::SEQUENCE, "curve").ok()?;
    fields.expect(Tag::OCTET_STRING, "base").ok()?;
    let order = fields.expect(Tag::INTEGER, "order").ok()?;
    let mut field = field_id.reader();
    let field_type = Oid::from_content(field.expect(Tag::OID, "fieldType").ok()?.content);
    let mut coefficients = curve.reader();
    let a = coefficients.expect(Tag::OCTET_STRING, "a").ok()?;
    let b = coefficients.expect(Tag::OCTET_STRING, "b").ok()?;
    match field_type.as_str() {
        // prime-field: the parameter is p.
        "1.2.840.10045.1.1" => {
            let prime = field.expect(Tag::INTEGER, "p").ok()?;
            let hex = |bytes: &[u8]| {
                let text = hex::encode(bytes);
                text.trim_start_matches('0').to_string()
            };
            let key = (
                hex(prime.content),
                hex(a.content),
                hex(b.content),
                hex(order.content),
            );
            let named = EXPLICIT_CURVES
                .iter()
                .find(|(p, a, b, n, _)| key.0 == *p && key.1 == *a && key.2 == *b && key.3 == *n);
            let bits = der::integer_bits(prime.content);
            Some((
                named.map_or(EcCurve::Unnamed, |(.., curve)| curve()),
                Some(bits),
            ))
        }
        // characteristic-two-field: SEQUENCE { m INTEGER, basis, parameters }.
        "1.2.840.10045.1.2" => {
            let parameters = field.expect(Tag::SEQUENCE, "Characteristic-two").ok()?;
            let m = parameters.reader().expect(Tag::INTEGER, "m").ok()?;
            let m = match m.content {
                [high, low] => u32::from(u16::from_be_bytes([*high, *low])),
                [only] => u32::from(*only),
                _ => return Some((EcCurve::Unnamed, None)),
            };
            Some((EcCurve::Unnamed, Some(m)))
        }
        _ => Some((EcCurve::Unnamed, None)),
    }
}
