//! Object identifiers in dotted form, and the names of the well-known ones.

use super::*;

/// An ASN.1 object identifier in dotted form, e.g. `1.2.840.113549.1.1.11`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Oid(pub(super) Cow<'static, str>);

/// The OIDs a summary meets most (attribute types, algorithms, curves, key usages), with
/// their dotted forms, so that building a summary formats none of them.
pub(super) const KNOWN_OIDS: &[(&[u8], &str)] = &[
    (&oid!(raw 2.5.4.3), "2.5.4.3"),
    (&oid!(raw 2.5.4.6), "2.5.4.6"),
    (&oid!(raw 2.5.4.7), "2.5.4.7"),
    (&oid!(raw 2.5.4.8), "2.5.4.8"),
    (&oid!(raw 2.5.4.10), "2.5.4.10"),
    (&oid!(raw 2.5.4.11), "2.5.4.11"),
    (&oid!(raw 2.5.4.5), "2.5.4.5"),
    (&oid!(raw 2.5.4.9), "2.5.4.9"),
    (&oid!(raw 2.5.4.97), "2.5.4.97"),
    (
        &oid!(raw 0.9.2342.19200300.100.1.25),
        "0.9.2342.19200300.100.1.25",
    ),
    (
        &oid!(raw 0.9.2342.19200300.100.1.1),
        "0.9.2342.19200300.100.1.1",
    ),
    (&oid!(raw 1.2.840.113549.1.9.1), "1.2.840.113549.1.9.1"),
    (&oid!(raw 1.2.840.113549.1.1.1), "1.2.840.113549.1.1.1"),
    (&oid!(raw 1.2.840.113549.1.1.5), "1.2.840.113549.1.1.5"),
    (&oid!(raw 1.2.840.113549.1.1.10), "1.2.840.113549.1.1.10"),
    (&oid!(raw 1.2.840.113549.1.1.11), "1.2.840.113549.1.1.11"),
    (&oid!(raw 1.2.840.113549.1.1.12), "1.2.840.113549.1.1.12"),
    (&oid!(raw 1.2.840.113549.1.1.13), "1.2.840.113549.1.1.13"),
    (&oid!(raw 1.2.840.113549.1.1.14), "1.2.840.113549.1.1.14"),
    (&oid!(raw 1.2.840.10045.2.1), "1.2.840.10045.2.1"),
    (&oid!(raw 1.2.840.10045.4.3.2), "1.2.840.10045.4.3.2"),
    (&oid!(raw 1.2.840.10045.4.3.3), "1.2.840.10045.4.3.3"),
    (&oid!(raw 1.2.840.10045.4.3.4), "1.2.840.10045.4.3.4"),
    (&oid!(raw 1.2.840.10045.3.1.7), "1.2.840.10045.3.1.7"),
    (&oid!(raw 1.3.132.0.34), "1.3.132.0.34"),
    (&oid!(raw 1.3.132.0.35), "1.3.132.0.35"),
    (&oid!(raw 1.3.132.0.10), "1.3.132.0.10"),
    (&oid!(raw 1.3.101.112), "1.3.101.112"),
    (&oid!(raw 1.3.101.113), "1.3.101.113"),
    (&oid!(raw 1.2.840.10040.4.1), "1.2.840.10040.4.1"),
    (&oid!(raw 2.16.840.1.101.3.4.3.2), "2.16.840.1.101.3.4.3.2"),
    (&oid!(raw 2.16.840.1.101.3.4.2.1), "2.16.840.1.101.3.4.2.1"),
    (&oid!(raw 1.3.6.1.5.5.7.3.1), "1.3.6.1.5.5.7.3.1"),
    (&oid!(raw 1.3.6.1.5.5.7.3.2), "1.3.6.1.5.5.7.3.2"),
    (&oid!(raw 2.5.29.37.0), "2.5.29.37.0"),
];

impl Oid {
    /// The dotted form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(super) fn from_parser(oid: &der_parser::oid::Oid<'_>) -> Self {
        Self::from_content(oid.as_bytes())
    }

    /// From the content octets of a DER OBJECT IDENTIFIER.
    pub(super) fn from_content(content: &[u8]) -> Self {
        match KNOWN_OIDS
            .iter()
            .find(|(bytes, _)| same_oid(bytes, content))
        {
            Some((_, dotted)) => Oid(Cow::Borrowed(dotted)),
            None => Oid(Cow::Owned(
                der_parser::oid::Oid::new(Cow::Borrowed(content)).to_id_string(),
            )),
        }
    }
}

/// Whether two OBJECT IDENTIFIER contents are equal. OIDs of the same length mostly differ
/// in their last octet: comparing it first spares a call to `memcmp` for most candidates.
pub(super) fn same_oid(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.last() == b.last() && a == b
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.0)
    }
}
