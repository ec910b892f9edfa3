//! [`Fingerprint`] (SHA-256 of a certificate's DER) and [`CertificateName`]
//! (`cert_client_<fingerprint>`).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 digest of a certificate's DER encoding: its unique identifier.
///
/// `Display` prints 64 lowercase hex digits; [`Fingerprint::to_colon_hex`] prints the
/// colon-separated uppercase form OpenSSL uses. [`FromStr`] accepts both, in either case,
/// with colons or spaces between bytes, and with a `SHA256 Fingerprint=` or `sha256:` prefix.
///
/// ```
/// use inbound_certs::Fingerprint;
///
/// let text = "SHA256 Fingerprint=AB:".to_string() + &["CD"; 31].join(":");
/// let fingerprint: Fingerprint = text.parse()?;
/// assert_eq!(fingerprint.to_string(), "ab".to_string() + &"cd".repeat(31));
/// assert_eq!(fingerprint.to_string().parse::<Fingerprint>()?, fingerprint);
/// # Ok::<(), inbound_certs::names::ParseFingerprintError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Wraps 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Fingerprint(bytes)
    }

    /// Computes the fingerprint of DER bytes (SHA-256).
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The colon-separated uppercase form OpenSSL prints, e.g. `AB:CD:…`.
    pub fn to_colon_hex(&self) -> String {
        let mut out = String::with_capacity(95);
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{byte:02X}"));
        }
        out
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a string is not a [`Fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseFingerprintError {
    /// A character other than a hex digit, `:` or whitespace was found.
    #[error("invalid character {found:?} in fingerprint at position {position}: expected hex digits, optionally separated by ':' or spaces")]
    InvalidCharacter {
        /// The character found.
        found: char,
        /// Its character position in the input (after any prefix).
        position: usize,
    },
    /// The number of hex digits is not 64.
    #[error("a SHA-256 fingerprint has 64 hex digits, found {found}")]
    WrongLength {
        /// How many hex digits were found.
        found: usize,
    },
    /// A SHA-1 fingerprint: 40 hex digits, or a `SHA1 Fingerprint=` or `sha1:` prefix.
    #[error("this is a SHA-1 fingerprint; certificates are named by their SHA-256 fingerprint: get it with `openssl x509 -noout -fingerprint -sha256 -in FILE`")]
    Sha1,
}

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rest = text.trim();
        for prefix in ["sha1 fingerprint=", "sha-1:", "sha1:"] {
            if rest.len() >= prefix.len()
                && rest.is_char_boundary(prefix.len())
                && rest[..prefix.len()].eq_ignore_ascii_case(prefix)
            {
                return Err(ParseFingerprintError::Sha1);
            }
        }
        for prefix in ["sha256 fingerprint=", "sha2-256:", "sha-256:", "sha256:"] {
            if rest.len() >= prefix.len()
                && rest.is_char_boundary(prefix.len())
                && rest[..prefix.len()].eq_ignore_ascii_case(prefix)
            {
                rest = rest[prefix.len()..].trim_start();
                break;
            }
        }
        let mut bytes = [0u8; 32];
        let mut digits = 0usize;
        let mut high = 0u8;
        for (position, c) in rest.chars().enumerate() {
            if c == ':' || c.is_whitespace() {
                continue;
            }
            let value = c
                .to_digit(16)
                .ok_or(ParseFingerprintError::InvalidCharacter { found: c, position })?;
            // A hex digit is below 16, so it fits a byte.
            let value = value as u8;
            if let Some(slot) = bytes.get_mut(digits / 2) {
                if digits.is_multiple_of(2) {
                    high = value;
                } else {
                    *slot = (high << 4) | value;
                }
            }
            digits += 1;
        }
        match digits {
            64 => {}
            40 => return Err(ParseFingerprintError::Sha1),
            found => return Err(ParseFingerprintError::WrongLength { found }),
        }
        Ok(Fingerprint(bytes))
    }
}

/// The name of an imported certificate: `cert_client_` followed by its fingerprint in
/// 64 lowercase hex digits.
///
/// Parsing is strict about the form: `cert_client_` and exactly 64 hex digits, nothing
/// else, so a name from a caller can never name another file or a path. The digits may be
/// upper-case (a name retyped from `openssl`'s upper-case fingerprint); `Display` always
/// prints them lower-case.
///
/// ```
/// use inbound_certs::{CertificateName, Fingerprint};
///
/// let name = CertificateName::from(Fingerprint::from_bytes([0xab; 32]));
/// assert_eq!(name.to_string(), format!("cert_client_{}", "ab".repeat(32)));
/// assert_eq!(name.to_string().parse::<CertificateName>()?, name);
/// assert_eq!(format!("cert_client_{}", "AB".repeat(32)).parse::<CertificateName>()?, name);
/// assert!("cert_client_../../etc/passwd".parse::<CertificateName>().is_err());
/// # Ok::<(), inbound_certs::names::ParseCertificateNameError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertificateName(Fingerprint);

impl CertificateName {
    /// The prefix every certificate name starts with.
    pub const PREFIX: &'static str = "cert_client_";

    /// The fingerprint this name is made of.
    pub const fn fingerprint(&self) -> Fingerprint {
        self.0
    }
}

impl From<Fingerprint> for CertificateName {
    fn from(fingerprint: Fingerprint) -> Self {
        CertificateName(fingerprint)
    }
}

impl fmt::Display for CertificateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl fmt::Debug for CertificateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateName({self})")
    }
}

/// Why a string is not a [`CertificateName`]: the message quotes the text (cut to 100
/// characters) and says what was expected where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid certificate name {shown:?}: {problem}")]
pub struct ParseCertificateNameError {
    /// The rejected text, cut to 100 characters.
    shown: String,
    problem: NameSyntaxProblem,
}

/// What is wrong with a certificate name's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NameSyntaxProblem {
    #[error("expected it to start with 'cert_client_'")]
    Prefix,
    #[error("expected a hex digit at position {position}, found {found:?}")]
    Character { found: char, position: usize },
    #[error("expected 64 hex digits after 'cert_client_', found {found}")]
    Length { found: usize },
}

impl FromStr for CertificateName {
    type Err = ParseCertificateNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |problem| ParseCertificateNameError {
            shown: text.chars().take(100).collect(),
            problem,
        };
        let digits = text
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| error(NameSyntaxProblem::Prefix))?;
        let mut bytes = [0u8; 32];
        let mut found = 0usize;
        for (index, c) in digits.chars().enumerate() {
            let value = c.to_digit(16).ok_or_else(|| {
                error(NameSyntaxProblem::Character {
                    found: c,
                    position: Self::PREFIX.len() + index,
                })
            })?;
            if let Some(byte) = bytes.get_mut(index / 2) {
                // A hex digit is below 16: it fits the byte's half.
                *byte = (*byte << 4) | value as u8;
            }
            found += 1;
        }
        if found != 64 {
            return Err(error(NameSyntaxProblem::Length { found }));
        }
        Ok(CertificateName(Fingerprint(bytes)))
    }
}

impl CertificateName {
    /// The strict parse of `cert_client_` and 64 lowercase hex digits, on bytes (a file
    /// name need not be UTF-8): this runs once per file in a directory listing. Unlike
    /// `FromStr` it refuses upper-case digits: a stored file is found by the canonical
    /// spelling of its name, so a file named otherwise is not one this crate wrote.
    pub(crate) fn from_ascii(text: &[u8]) -> Option<Self> {
        let digits = text.strip_prefix(Self::PREFIX.as_bytes())?;
        if digits.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let [high, low] = *pair else {
                return None;
            };
            let (high, low) = (lower_hex(high), lower_hex(low));
            if (high | low) & 0xf0 != 0 {
                return None;
            }
            *byte = (high << 4) | low;
        }
        Some(CertificateName(Fingerprint(bytes)))
    }
}

/// The value of a lowercase hex digit; 0xff for any other byte.
fn lower_hex(byte: u8) -> u8 {
    // A u8 always indexes the 256-entry table: the optimiser removes the check.
    LOWER_HEX.get(usize::from(byte)).copied().unwrap_or(0xff)
}

/// The value of each lowercase hex digit; 0xff for every other byte.
#[allow(clippy::indexing_slicing)] // Compile-time loop over 0..256 into a 256-entry table.
const LOWER_HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

serialize_as_text!(Fingerprint, CertificateName);
deserialize_from_text!(Fingerprint, CertificateName);

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn fingerprint_parses_every_common_spelling() {
        let canonical: Fingerprint = HEX.parse().unwrap();
        let colon_upper = canonical.to_colon_hex();
        assert_eq!(colon_upper.len(), 95);
        for text in [
            colon_upper.clone(),
            colon_upper.to_lowercase(),
            format!("SHA256 Fingerprint={colon_upper}"),
            format!("sha256 fingerprint={}", colon_upper.replace(':', " ")),
            format!("sha256:{HEX}"),
            format!("  {}  ", HEX.to_uppercase()),
        ] {
            assert_eq!(text.parse::<Fingerprint>(), Ok(canonical), "{text}");
        }
        assert_eq!(canonical.to_string(), HEX);
    }

    #[test]
    fn fingerprint_rejects_wrong_length_and_characters() {
        assert_eq!(
            HEX[..62].parse::<Fingerprint>(),
            Err(ParseFingerprintError::WrongLength { found: 62 })
        );
        assert_eq!(
            format!("{HEX}00").parse::<Fingerprint>(),
            Err(ParseFingerprintError::WrongLength { found: 66 })
        );
        assert_eq!(
            format!("{}g", &HEX[..63]).parse::<Fingerprint>(),
            Err(ParseFingerprintError::InvalidCharacter {
                found: 'g',
                position: 63
            })
        );
        assert!("".parse::<Fingerprint>().is_err());
        assert!("é".repeat(64).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn sha1_fingerprints_are_recognised_in_every_spelling() {
        // What `openssl x509 -noout -fingerprint` (SHA-1 by default in OpenSSL 1.x) prints.
        let colons = "SHA1 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01";
        for text in [
            colons,
            "sha1 fingerprint=abcdef0123456789abcdef0123456789abcdef01",
            "abcdef0123456789abcdef0123456789abcdef01",
            &colons["SHA1 Fingerprint=".len()..],
            "sha1:abcdef0123456789abcdef0123456789abcdef01",
            "SHA-1: AB CD EF 01 23 45 67 89 AB CD EF 01 23 45 67 89 AB CD EF 01",
        ] {
            let error = text.parse::<Fingerprint>().unwrap_err();
            assert_eq!(error, ParseFingerprintError::Sha1, "{text}");
            assert_eq!(
                error.to_string(),
                "this is a SHA-1 fingerprint; certificates are named by their SHA-256 fingerprint: get it with `openssl x509 -noout -fingerprint -sha256 -in FILE`"
            );
        }
    }

    #[test]
    fn name_is_strict() {
        let name: CertificateName = format!("cert_client_{HEX}").parse().unwrap();
        assert_eq!(name.to_string(), format!("cert_client_{HEX}"));
        for bad in [
            format!("cert_client_{HEX}.der"),
            format!("Cert_client_{HEX}"),
            format!("cert_client_{}", &HEX[..63]),
            format!("cert_client_{}/", &HEX[..63]),
            format!("../cert_client_{HEX}"),
            format!("cert_client_{}", "é".repeat(64)),
            "cert_client_".to_string(),
            String::new(),
        ] {
            let error = bad.parse::<CertificateName>().unwrap_err();
            assert!(error.to_string().starts_with("invalid certificate name"));
        }
    }

    #[test]
    fn upper_case_digits_name_the_same_certificate_and_print_lower_case() {
        let upper = format!("cert_client_{}", HEX.to_uppercase());
        let name: CertificateName = upper.parse().unwrap();
        assert_eq!(name.to_string(), format!("cert_client_{HEX}"));
        let mixed = format!("cert_client_{}{}", &HEX[..32], HEX[32..].to_uppercase());
        assert_eq!(mixed.parse::<CertificateName>(), Ok(name));
        // A file name is found by the canonical spelling only.
        assert_eq!(CertificateName::from_ascii(upper.as_bytes()), None);
        assert_eq!(
            CertificateName::from_ascii(name.to_string().as_bytes()),
            Some(name)
        );
    }

    #[test]
    fn a_wrong_name_says_what_was_expected_where() {
        let message = |text: &str| text.parse::<CertificateName>().unwrap_err().to_string();
        assert_eq!(
            message("client_ab"),
            "invalid certificate name \"client_ab\": expected it to start with 'cert_client_'"
        );
        assert_eq!(
            message(&format!("cert_client_{}x{}", &HEX[..10], &HEX[11..])),
            format!(
                "invalid certificate name \"cert_client_{}x{}\": expected a hex digit at position 22, found 'x'",
                &HEX[..10],
                &HEX[11..]
            )
        );
        assert_eq!(
            message(&format!("cert_client_{}", &HEX[..63])),
            format!(
                "invalid certificate name \"cert_client_{}\": expected 64 hex digits after 'cert_client_', found 63",
                &HEX[..63]
            )
        );
        assert_eq!(
            message(&format!("cert_client_{HEX}0")),
            format!(
                "invalid certificate name \"cert_client_{HEX}0\": expected 64 hex digits after 'cert_client_', found 65"
            )
        );
        // Characters are counted, not bytes, and control characters are shown escaped.
        assert_eq!(
            message("cert_client_éa\u{1b}"),
            "invalid certificate name \"cert_client_éa\\u{1b}\": expected a hex digit at position 12, found 'é'"
        );
    }
}
