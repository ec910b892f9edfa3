//! [`Weakness`]: what makes a certificate weak, or unable ever to authenticate a TLS client,
//! and [`TlsKeyTypes`]: the keys a TLS provider verifies client signatures with.

use std::fmt;

use super::{CertificateSummary, EcCurve, KeyAlgorithm, PublicKeyInfo};

/// The RSA key sizes TLS providers verify signatures with (rustls with ring or aws-lc-rs:
/// 2048 to 8192 bits; OpenSSL refuses under 2048 at its default security level).
const RSA_BITS: std::ops::RangeInclusive<u32> = 2048..=8192;

/// The key types a TLS provider verifies a client's handshake signature with: a certificate
/// whose key is of another type can never authenticate a client, whatever store trusts it.
///
/// ```
/// use inbound_certs::summary::TlsKeyTypes;
///
/// let pem = std::fs::read("tests/data/ed448.pem")?;
/// let ed448 = &inbound_certs::decode(&pem)?[0];
/// assert!(!TlsKeyTypes::common().accepts(&ed448.summary().public_key));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsKeyTypes {
    rsa: bool,
    p256: bool,
    p384: bool,
    p521: bool,
    ed25519: bool,
    ed448: bool,
}

impl TlsKeyTypes {
    /// What every TLS provider of rustls verifies (ring and aws-lc-rs): RSA of 2048 to 8192
    /// bits, EC on P-256 and P-384, Ed25519. The default of [`ImportPolicy`](crate::ImportPolicy).
    pub fn common() -> Self {
        TlsKeyTypes {
            rsa: true,
            p256: true,
            p384: true,
            p521: false,
            ed25519: true,
            ed448: false,
        }
    }

    /// The key types `provider`'s signature verification algorithms take (aws-lc-rs adds
    /// P-521, for instance). Feature `rustls`.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    pub fn of_provider(provider: &rustls::crypto::CryptoProvider) -> Self {
        use rustls::pki_types::alg_id;
        let ids: Vec<rustls::pki_types::AlgorithmIdentifier> = provider
            .signature_verification_algorithms
            .all
            .iter()
            .map(|algorithm| algorithm.public_key_alg_id())
            .collect();
        let has = |id: rustls::pki_types::AlgorithmIdentifier| ids.contains(&id);
        TlsKeyTypes {
            rsa: has(alg_id::RSA_ENCRYPTION),
            p256: has(alg_id::ECDSA_P256),
            p384: has(alg_id::ECDSA_P384),
            p521: has(alg_id::ECDSA_P521),
            ed25519: has(alg_id::ED25519),
            ed448: has(alg_id::ED448),
        }
    }

    /// Whether a client holding this key can sign a TLS handshake these key types verify.
    pub fn accepts(&self, key: &PublicKeyInfo) -> bool {
        match &key.algorithm {
            KeyAlgorithm::Rsa => self.rsa && key.bits.is_some_and(|bits| RSA_BITS.contains(&bits)),
            KeyAlgorithm::Ec(EcCurve::P256) => self.p256,
            KeyAlgorithm::Ec(EcCurve::P384) => self.p384,
            KeyAlgorithm::Ec(EcCurve::P521) => self.p521,
            KeyAlgorithm::Ed25519 => self.ed25519,
            KeyAlgorithm::Ed448 => self.ed448,
            _ => false,
        }
    }
}

impl Default for TlsKeyTypes {
    fn default() -> Self {
        TlsKeyTypes::common()
    }
}

/// What makes a certificate weak ([`CertificateSummary::weaknesses`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Weakness {
    /// An RSA key shorter than 2048 bits: TLS providers refuse it (and it can be factored
    /// with enough effort), so the certificate can never authenticate a client.
    ShortRsaKey {
        /// The modulus's size.
        bits: u32,
    },
    /// A key the TLS provider does not verify signatures with (DSA, a curve it lacks, an
    /// RSA-PSS-only key, RSA over 8192 bits, …): the certificate can never authenticate a
    /// client.
    UnusableKey {
        /// The key, as [`PublicKeyInfo`] shows it (`DSA (2048 bits)`).
        key: String,
    },
    /// The issuer signed with MD5 or SHA-1, whose collisions are practical. A pinned
    /// certificate is trusted by its fingerprint, not by its signature: it still
    /// authenticates, but it is due for replacement.
    WeakSignature {
        /// The signature algorithm's name (`sha1WithRSAEncryption`).
        algorithm: String,
    },
}

impl Weakness {
    /// A stable code for programs: `short_rsa_key`, `unusable_key` or `weak_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            Weakness::ShortRsaKey { .. } => "short_rsa_key",
            Weakness::UnusableKey { .. } => "unusable_key",
            Weakness::WeakSignature { .. } => "weak_signature",
        }
    }

    /// Whether the certificate could never authenticate a client: the import policy refuses
    /// it unless weak certificates are allowed.
    pub fn prevents_authentication(&self) -> bool {
        !matches!(self, Weakness::WeakSignature { .. })
    }
}

impl fmt::Display for Weakness {
    /// Reads after the certificate: "(its key) is …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Weakness::ShortRsaKey { bits } => write!(
                f,
                "has a {bits}-bit RSA key: TLS refuses RSA keys under 2048 bits, so it could never authenticate a client"
            ),
            Weakness::UnusableKey { key } => write!(
                f,
                "has a key the TLS provider does not verify signatures with ({key}), so it could never authenticate a client"
            ),
            Weakness::WeakSignature { algorithm } => write!(
                f,
                "is signed with {algorithm}, a hash with practical collisions: replace it with a certificate signed with SHA-256 or better"
            ),
        }
    }
}

impl CertificateSummary {
    /// What makes the certificate weak, with `keys` the key types the service's TLS provider
    /// verifies ([`TlsKeyTypes::common`] unless the service knows better); empty when
    /// nothing does. Computed from the summary, without verifying anything.
    ///
    /// ```
    /// use inbound_certs::summary::{TlsKeyTypes, Weakness};
    ///
    /// let pem = std::fs::read("tests/data/rsa1024.pem")?;
    /// let short = &inbound_certs::decode(&pem)?[0];
    /// let weaknesses = short.summary().weaknesses(&TlsKeyTypes::common());
    /// assert_eq!(weaknesses, vec![Weakness::ShortRsaKey { bits: 1024 }]);
    /// assert!(weaknesses[0].prevents_authentication());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn weaknesses(&self, keys: &TlsKeyTypes) -> Vec<Weakness> {
        let mut weaknesses = Vec::new();
        let key = &self.public_key;
        match (&key.algorithm, key.bits) {
            (KeyAlgorithm::Rsa | KeyAlgorithm::RsaPss, Some(bits)) if bits < 2048 => {
                weaknesses.push(Weakness::ShortRsaKey { bits });
            }
            _ if !keys.accepts(key) => weaknesses.push(Weakness::UnusableKey {
                key: key.to_string(),
            }),
            _ => {}
        }
        let algorithm = self.signature_algorithm.name().to_ascii_lowercase();
        if algorithm.contains("md5") || algorithm.contains("md2") || algorithm.contains("sha1") {
            weaknesses.push(Weakness::WeakSignature {
                algorithm: self.signature_algorithm.name().to_owned(),
            });
        }
        weaknesses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(file: &str) -> CertificateSummary {
        let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read(path).unwrap_or_default();
        crate::decode(&pem)
            .ok()
            .and_then(|mut certificates| certificates.pop())
            .map(|certificate| certificate.summary().clone())
            .unwrap_or_else(|| CertificateSummary::clone(&summary("ec_p256.pem")))
    }

    #[test]
    fn weak_and_unusable_keys_are_named() {
        let keys = TlsKeyTypes::common();
        for (file, codes) in [
            ("rsa1024.pem", vec!["short_rsa_key"]),
            ("rsa2047.pem", vec!["short_rsa_key"]),
            ("rsa2048.pem", vec![]),
            ("dsa2048.pem", vec!["unusable_key"]),
            ("ed448.pem", vec!["unusable_key"]),
            ("ec_p521.pem", vec!["unusable_key"]),
            ("ec_secp256k1.pem", vec!["unusable_key"]),
            ("ec_p256.pem", vec![]),
            ("ed25519.pem", vec![]),
        ] {
            let found: Vec<&str> = summary(file)
                .weaknesses(&keys)
                .iter()
                .map(Weakness::code)
                .collect();
            assert_eq!(found, codes, "{file}");
        }
        let mut with_p521 = TlsKeyTypes::common();
        with_p521.p521 = true;
        assert!(summary("ec_p521.pem").weaknesses(&with_p521).is_empty());
    }
}
