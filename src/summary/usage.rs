//! [`KeyUsage`]: what the certificate's key may be used for (the keyUsage extension).

/// The bits of the keyUsage extension (RFC 5280, 4.2.1.3), in their encoded order.
const NAMES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

/// What the certificate's key may be used for, as its keyUsage extension says. Shown as the
/// RFC 5280 names of the bits that are set, comma-separated (`digitalSignature, keyCertSign`).
///
/// ```
/// let pem = std::fs::read("tests/data/ca.pem")?;
/// let ca = &inbound_certs::decode(&pem)?[0];
/// let usage = ca.summary().key_usage.expect("a CA certificate has keyUsage");
/// assert!(usage.key_cert_sign());
/// assert!(usage.names().any(|name| name == "cRLSign"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyUsage {
    /// Bit `i` is the RFC 5280 bit `i` (digitalSignature is 0).
    bits: u16,
}

impl KeyUsage {
    pub(crate) fn from_bits(bits: u16) -> Self {
        KeyUsage { bits }
    }

    fn has(&self, bit: u16) -> bool {
        self.bits >> bit & 1 == 1
    }

    /// digitalSignature: the key signs (a TLS client's key signs the handshake).
    pub fn digital_signature(&self) -> bool {
        self.has(0)
    }

    /// keyCertSign: the key signs certificates, which makes the certificate a CA's.
    pub fn key_cert_sign(&self) -> bool {
        self.has(5)
    }

    /// The RFC 5280 names of the bits that are set, in bit order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        NAMES
            .iter()
            .zip(0..)
            .filter(|(_, bit)| self.has(*bit))
            .map(|(name, _)| *name)
    }
}

impl std::fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names = self.names();
        match names.next() {
            None => f.write_str("(none)"),
            Some(first) => {
                f.write_str(first)?;
                names.try_for_each(|name| write!(f, ", {name}"))
            }
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeyUsage {
    /// The names of the bits that are set: `["digitalSignature", "keyCertSign"]`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_bits() {
        assert_eq!(KeyUsage::from_bits(0).to_string(), "(none)");
        let usage = KeyUsage::from_bits(1 | 1 << 5 | 1 << 6);
        assert_eq!(usage.to_string(), "digitalSignature, keyCertSign, cRLSign");
        assert!(usage.digital_signature() && usage.key_cert_sign());
        assert!(!KeyUsage::from_bits(1 << 8).key_cert_sign());
        assert_eq!(KeyUsage::from_bits(1 << 8).to_string(), "decipherOnly");
    }
}
