//! Signature algorithms, named.

use super::*;

/// The algorithm an issuer signed a certificate with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SignatureAlgorithm {
    oid: Oid,
    name: Cow<'static, str>,
}

impl SignatureAlgorithm {
    /// The algorithm's OID.
    pub fn oid(&self) -> &Oid {
        &self.oid
    }

    /// A readable name, as OpenSSL prints it (`sha256WithRSAEncryption`, `ecdsa-with-SHA384`,
    /// `ED25519`, …); RSASSA-PSS is named with its hash, e.g. `RSASSA-PSS with SHA-256`. An
    /// unknown algorithm is named by its dotted OID.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn new(oid: Oid, parameters: Option<&[u8]>) -> Self {
        let known = match oid.as_str() {
            "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
            "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
            "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
            "1.3.14.3.2.29" => "sha1WithRSA",
            "1.2.643.2.2.3" => "GOST R 34.11-94 with GOST R 34.10-2001",
            "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
            "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
            "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
            "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
            "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
            "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
            "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
            "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
            "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
            "1.3.101.112" => "ED25519",
            "1.3.101.113" => "ED448",
            "1.2.840.10040.4.3" => "dsaWithSHA1",
            "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
            "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
            "1.2.840.113549.1.1.10" => {
                let hash = parameters.map_or(Some("SHA-1"), pss_hash_name);
                let name = match hash {
                    Some(hash) => Cow::Owned(format!("RSASSA-PSS with {hash}")),
                    None => Cow::Borrowed("RSASSA-PSS"),
                };
                return SignatureAlgorithm { oid, name };
            }
            _ => {
                let name = Cow::Owned(oid.to_string());
                return SignatureAlgorithm { oid, name };
            }
        };
        SignatureAlgorithm {
            oid,
            name: Cow::Borrowed(known),
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The hash of RSASSA-PSS-params (RFC 4055): `[0]` holds its AlgorithmIdentifier; absent
/// means SHA-1. `parameters` is the content of the params SEQUENCE.
pub(super) fn pss_hash_name(parameters: &[u8]) -> Option<&'static str> {
    let mut reader = Reader::new(parameters);
    let Some(wrapper) = reader.optional(Tag::context(true, 0)).ok()? else {
        return Some("SHA-1");
    };
    let algorithm = wrapper.reader().expect(Tag::SEQUENCE, "hash").ok()?;
    let oid = algorithm.reader().expect(Tag::OID, "hash OID").ok()?;
    match Oid::from_content(oid.content).as_str() {
        "1.3.14.3.2.26" => Some("SHA-1"),
        "2.16.840.1.101.3.4.2.4" => Some("SHA-224"),
        "2.16.840.1.101.3.4.2.1" => Some("SHA-256"),
        "2.16.840.1.101.3.4.2.2" => Some("SHA-384"),
        "2.16.840.1.101.3.4.2.3" => Some("SHA-512"),
        _ => None,
    }
}
