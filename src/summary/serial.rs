//! Serial numbers.

use super::*;

/// A certificate serial number, kept exactly as encoded (it may be zero or negative).
#[derive(Clone)]
pub struct SerialNumber {
    /// DER holding the INTEGER's content octets at `range` (shared with the certificate).
    pub(super) der: Arc<[u8]>,
    pub(super) range: Range<usize>,
}

impl SerialNumber {
    /// The content octets of the DER INTEGER, as encoded (two's complement, big-endian).
    pub fn as_bytes(&self) -> &[u8] {
        self.der.get(self.range.clone()).unwrap_or_default()
    }

    /// Whether the encoded integer is negative (not allowed by RFC 5280, seen in practice).
    pub fn is_negative(&self) -> bool {
        self.as_bytes().first().is_some_and(|b| b & 0x80 != 0)
    }
}

impl PartialEq for SerialNumber {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SerialNumber {}

impl Hash for SerialNumber {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Display for SerialNumber {
    /// Lowercase hex of the content octets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialNumber({self})")
    }
}

serialize_as_text!(SerialNumber);
