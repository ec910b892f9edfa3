//! Errors of the decoder. Each variant's doc says exactly which condition raises it.

use std::fmt;

use crate::der::{DerError, DerProblem};

/// Why an upload could not be turned into certificates.
///
/// Messages are meant for the administrator who uploaded the file: they say what was expected
/// and what was found, and never include key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is empty or holds only whitespace.
    #[error("the upload is empty: expected a certificate (PEM, DER or base64)")]
    Empty,
    /// The input is larger than [`DecodeOptions::max_input_bytes`](crate::decode::DecodeOptions).
    #[error("the upload is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The input holds more certificates than
    /// [`DecodeOptions::max_certificates`](crate::decode::DecodeOptions).
    #[error("the upload holds {found} certificates, more than the limit of {limit}")]
    TooManyCertificates {
        /// How many certificates were counted (before any was parsed).
        found: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The input is UTF-16 text (as some Windows tools save files).
    #[error("the upload is UTF-16 text: save the certificate as ASCII/UTF-8 PEM or as binary DER and upload it again")]
    Utf16Text,
    /// A private key was found (PEM label or DER structure). The whole upload is refused,
    /// even when it also holds certificates. The error holds none of the key's bytes.
    #[error("a private key ({kind}) was uploaded where a certificate was expected: upload only the certificate, and keep the private key secret")]
    PrivateKey {
        /// What kind of private key it is.
        kind: PrivateKeyKind,
    },
    /// A certificate signing request (PKCS#10) was found.
    #[error("a certificate signing request (CSR) was uploaded where a certificate was expected: upload the certificate issued for it")]
    CertificateRequest,
    /// A certificate revocation list was found.
    #[error("a certificate revocation list (CRL) was uploaded where a certificate was expected")]
    RevocationList,
    /// A public key alone (SubjectPublicKeyInfo or PKCS#1 RSA public key) was found.
    #[error("a public key was uploaded where a certificate was expected: upload the certificate that contains it")]
    PublicKey,
    /// A PEM block whose label is none of the certificate, bundle, key, CSR, CRL or public
    /// key labels.
    #[error("the upload holds a PEM block labelled {label:?} at line {line}, which is not a certificate")]
    UnsupportedPemLabel {
        /// The label (at most 64 characters of it).
        label: String,
        /// Line of the `-----BEGIN` marker (1-based).
        line: usize,
    },
    /// The input is neither DER, PEM, nor base64 text: it is not a SEQUENCE that fits the
    /// input, holds no PEM armour, and is not base64 of something that starts like a
    /// certificate or a PKCS#7 bundle (plain text, random bytes, a 1- or 2-byte file).
    #[error("the upload is not a certificate: expected PEM text ('-----BEGIN CERTIFICATE-----'), binary DER or base64")]
    UnrecognizedFormat,
    /// The input starts like a DER certificate or bundle (a SEQUENCE holding a SEQUENCE) but
    /// ends before the length its first element announces: the file was cut short.
    #[error("the upload is cut short: it starts like a DER certificate of {expected} bytes, but holds only {found} bytes")]
    CutShort {
        /// The size the outer SEQUENCE announces, header included.
        expected: usize,
        /// The size of the input.
        found: usize,
    },
    /// The input is a PKCS#12 archive (`.p12`, `.pfx`): it holds a private key beside the
    /// certificates. Nothing of it is decoded beyond recognising its outline.
    #[error("the upload is a PKCS#12 archive (.p12/.pfx), which holds a private key: export only the certificate, e.g. with `openssl pkcs12 -in FILE -nokeys -clcerts -out cert.pem`, and upload cert.pem")]
    Pkcs12,
    /// PEM armour is broken.
    #[error("malformed PEM at line {line}: {problem}")]
    MalformedPem {
        /// The line (1-based) where the problem was found.
        line: usize,
        /// What is wrong.
        problem: PemProblem,
    },
    /// Base64 text (in a PEM block or bare) holds a character outside the base64 alphabet,
    /// misplaced padding, or an impossible length.
    #[error("invalid base64 at line {line}: {problem}")]
    InvalidBase64 {
        /// The line (1-based) of the input where the problem is.
        line: usize,
        /// What is wrong.
        problem: Base64Problem,
    },
    /// The DER encoding breaks a structural rule (truncated, indefinite length, wrong tag,
    /// bytes left inside a structure, …).
    #[error("malformed DER at byte {offset}: {problem}")]
    MalformedDer {
        /// Offset of the offending element from the start of the DER.
        offset: usize,
        /// What is wrong.
        problem: DerProblem,
    },
    /// Bytes follow a complete DER certificate.
    #[error("{count} unexpected bytes after the end of the certificate at byte {offset}")]
    TrailingData {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// The structure is sound but a field's content is invalid (a bad version, an invalid
    /// time, an unparsable name or public key, …), as found by the X.509 parser.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(CertificateParseError),
    /// An extension appears twice (RFC 5280 §4.2 forbids it; OpenSSL refuses such certificates).
    #[error("invalid certificate: extension {oid} appears more than once")]
    DuplicateExtension {
        /// The extension's OID, dotted.
        oid: String,
    },
    /// The value of an extension this crate interprets (basicConstraints, keyUsage,
    /// extendedKeyUsage, subjectAltName, …: see the README's acceptance policy) is not
    /// one DER element of that extension's syntax. The values of other extensions are
    /// never looked at.
    #[error("invalid certificate: the value of extension {name} ({oid}) is malformed: {problem}")]
    MalformedExtension {
        /// The extension's name, e.g. `subjectAltName`.
        name: String,
        /// The extension's OID, dotted.
        oid: String,
        /// What is wrong.
        problem: ExtensionProblem,
    },
    /// A PKCS#7 bundle or a PEM file holds no certificate.
    #[error("the upload holds no certificate")]
    NoCertificate,
    /// A PKCS#7 bundle holds an entry that is not an X.509 certificate (an attribute
    /// certificate or another choice).
    #[error("certificate entry {index} of the PKCS#7 bundle is not an X.509 certificate")]
    UnsupportedBundleEntry {
        /// Position (1-based) of the entry in the bundle.
        index: usize,
    },
    /// A PEM block's content was refused; `source` says why. The message names the block
    /// only: [`ErrorReport`] shows it with the reason.
    #[error("PEM block {index} (line {line})")]
    InPemBlock {
        /// Position (1-based) of the block in the file.
        index: usize,
        /// Line (1-based) of its `-----BEGIN` marker.
        line: usize,
        /// Why its content was refused.
        #[source]
        source: Box<DecodeError>,
    },
    /// A certificate inside a PKCS#7 bundle was refused; `source` says why. The message
    /// names the certificate only: [`ErrorReport`] shows it with the reason.
    #[error("certificate {index} of the PKCS#7 bundle")]
    InBundle {
        /// Position (1-based) of the certificate in the bundle.
        index: usize,
        /// Why it was refused.
        #[source]
        source: Box<DecodeError>,
    },
}

/// An error and its causes on one line, for people: the error's message, then the message
/// of each [`source`](std::error::Error::source) in turn, separated by `": "`.
///
/// The errors of this crate follow one rule: a message never repeats its source's message,
/// which [`source`](std::error::Error::source) returns instead. So `to_string()` alone leaves
/// the causes out, and whatever shows an error to a person (a command's output, the console,
/// a log line) shows it through this report. A cause whose message the text already ends
/// with is skipped: some clients (the PostgreSQL client's errors) print their cause
/// in their own message as well as returning it.
///
/// ```
/// use inbound_certs::ErrorReport;
///
/// let pem = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
/// let error = inbound_certs::decode(pem).unwrap_err();
/// assert_eq!(error.to_string(), "PEM block 1 (line 1)");
/// assert_eq!(
///     ErrorReport::new(&error).to_string(),
///     "PEM block 1 (line 1): invalid base64 at line 2: a character outside the base64 alphabet"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct ErrorReport<'a>(&'a (dyn std::error::Error + 'static));

impl<'a> ErrorReport<'a> {
    /// The report of `error` and its causes.
    pub fn new(error: &'a (dyn std::error::Error + 'static)) -> Self {
        ErrorReport(error)
    }
}

impl fmt::Display for ErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let message = cause.to_string();
            if !message.is_empty() && !text.ends_with(&message) {
                text.push_str(": ");
                text.push_str(&message);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for ErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl DecodeError {
    /// The innermost error, past any [`InPemBlock`](Self::InPemBlock) or
    /// [`InBundle`](Self::InBundle) context.
    pub fn root_cause(&self) -> &DecodeError {
        match self {
            DecodeError::InPemBlock { source, .. } | DecodeError::InBundle { source, .. } => {
                source.root_cause()
            }
            other => other,
        }
    }

    pub(crate) fn in_pem_block(self, index: usize, line: usize) -> Self {
        DecodeError::InPemBlock {
            index,
            line,
            source: Box::new(self),
        }
    }
}

impl From<DerError> for DecodeError {
    fn from(error: DerError) -> Self {
        DecodeError::MalformedDer {
            offset: error.offset,
            problem: error.problem,
        }
    }
}

/// The kinds of private key the decoder recognises and refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateKeyKind {
    /// PKCS#8 `PrivateKeyInfo` (PEM `PRIVATE KEY`).
    Pkcs8,
    /// PKCS#8 `EncryptedPrivateKeyInfo`, PBES1 or PBES2 (PEM `ENCRYPTED PRIVATE KEY`).
    EncryptedPkcs8,
    /// PKCS#1 `RSAPrivateKey` (PEM `RSA PRIVATE KEY`).
    Rsa,
    /// SEC1 `ECPrivateKey` (PEM `EC PRIVATE KEY`).
    Ec,
    /// OpenSSL's DSA private key (PEM `DSA PRIVATE KEY`).
    Dsa,
    /// Another PEM label naming a private key, e.g. `OPENSSH PRIVATE KEY`.
    OtherPem(String),
}

impl fmt::Display for PrivateKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivateKeyKind::Pkcs8 => f.write_str("PKCS#8"),
            PrivateKeyKind::EncryptedPkcs8 => f.write_str("encrypted PKCS#8"),
            PrivateKeyKind::Rsa => f.write_str("PKCS#1 RSA"),
            PrivateKeyKind::Ec => f.write_str("SEC1 EC"),
            PrivateKeyKind::Dsa => f.write_str("DSA"),
            PrivateKeyKind::OtherPem(label) => write!(f, "PEM {label:?}"),
        }
    }
}

/// What is wrong with PEM armour.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemProblem {
    /// A `-----BEGIN` line has no matching `-----END` line.
    MissingEnd {
        /// The label of the unterminated block.
        label: String,
    },
    /// The `-----END` label differs from the `-----BEGIN` label.
    MismatchedEnd {
        /// The BEGIN label.
        begin: String,
        /// The END label.
        end: String,
    },
    /// An `-----END` line without a `-----BEGIN` line.
    UnexpectedEnd,
    /// A block holds no data.
    EmptyBlock,
}

impl fmt::Display for PemProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemProblem::MissingEnd { label } => {
                write!(f, "'-----BEGIN {label}-----' has no matching '-----END {label}-----' line (is the file cut short?)")
            }
            PemProblem::MismatchedEnd { begin, end } => {
                write!(
                    f,
                    "'-----BEGIN {begin}-----' is closed by '-----END {end}-----'"
                )
            }
            PemProblem::UnexpectedEnd => {
                f.write_str("an '-----END' line without a '-----BEGIN' line")
            }
            PemProblem::EmptyBlock => f.write_str("the block holds no data"),
        }
    }
}

/// What is wrong with base64 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base64Problem {
    /// A character that is neither a base64 symbol, `=` padding nor whitespace.
    InvalidSymbol,
    /// `=` after fewer than two symbols of a group of four, or more `=` than the group has
    /// room for.
    MisplacedPadding,
    /// Symbols after the `=` padding that ends the data.
    DataAfterPadding,
    /// Padding that does not complete the last group of four (one `=` where two are needed).
    WrongPadding,
    /// One symbol after the last whole group: six bits, less than a byte.
    CutShort,
}

impl fmt::Display for Base64Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base64Problem::InvalidSymbol => "a character outside the base64 alphabet",
            Base64Problem::MisplacedPadding => "misplaced '=' padding",
            Base64Problem::DataAfterPadding => "data after '=' padding",
            Base64Problem::WrongPadding => "wrong amount of '=' padding",
            Base64Problem::CutShort => "the data ends in the middle of a byte (is it cut short?)",
        })
    }
}

/// What is wrong with the value of an extension the decoder interprets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtensionProblem {
    /// The value is empty.
    Empty,
    /// The value breaks a DER rule at this offset of the certificate.
    Der {
        /// Offset of the offending element from the start of the certificate's DER.
        offset: usize,
        /// What is wrong.
        problem: DerProblem,
    },
    /// The value is sound DER but not of the extension's syntax.
    Syntax {
        /// Offset of the offending element from the start of the certificate's DER.
        offset: usize,
        /// What was expected there.
        expected: String,
    },
}

impl fmt::Display for ExtensionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtensionProblem::Empty => f.write_str("the value is empty"),
            ExtensionProblem::Der {
                offset,
                problem: DerProblem::RunsPast { element, container },
            } => write!(
                f,
                "the {element} at byte {offset} runs past the end of {container}"
            ),
            ExtensionProblem::Der { offset, problem } => write!(f, "at byte {offset}: {problem}"),
            ExtensionProblem::Syntax { offset, expected } => {
                write!(f, "expected {expected} at byte {offset}")
            }
        }
    }
}

/// Which X.509 rule a structurally sound certificate breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateParseError {
    /// The version field is not 0, 1 or 2 (v1, v2, v3).
    #[error("the version field is {version}; only 0, 1 and 2 (v1, v2, v3) exist")]
    UnknownVersion {
        /// The version field's value, in decimal (or hexadecimal when long).
        version: String,
    },
    /// A version 1 or 2 certificate carries extensions (only v3 may).
    #[error("extensions are present in a version 1 or 2 certificate")]
    ExtensionsBeforeVersion3,
    /// The signature algorithm inside the signed part differs from the outer one.
    #[error("the signature algorithm inside the signed part differs from the outer one")]
    SignatureAlgorithmMismatch,
    /// A validity time is neither a valid UTCTime nor a valid GeneralizedTime.
    #[error("the {field} time is not a valid UTCTime or GeneralizedTime")]
    InvalidTime {
        /// `notBefore` or `notAfter`.
        field: &'static str,
    },
}

// A code never changes once published; new variants get new codes (the `reason` label of
// refusal metrics, and the code an HTTP API returns beside the message).
impl DecodeError {
    /// The error's stable code, e.g. `private_key`, `malformed_der`; for an error inside a
    /// PEM block or a bundle, the code of the cause.
    ///
    /// ```
    /// let error = inbound_certs::decode(b"").unwrap_err();
    /// assert_eq!(error.code(), "empty");
    /// ```
    pub fn code(&self) -> &'static str {
        match self.root_cause() {
            DecodeError::Empty => "empty",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::TooManyCertificates { .. } => "too_many_certificates",
            DecodeError::Utf16Text => "utf16_text",
            DecodeError::PrivateKey { .. } => "private_key",
            DecodeError::CertificateRequest => "certificate_request",
            DecodeError::RevocationList => "revocation_list",
            DecodeError::PublicKey => "public_key",
            DecodeError::UnsupportedPemLabel { .. } => "unsupported_pem_label",
            DecodeError::UnrecognizedFormat => "unrecognized_format",
            DecodeError::CutShort { .. } => "cut_short",
            DecodeError::Pkcs12 => "pkcs12",
            DecodeError::MalformedPem { .. } => "malformed_pem",
            DecodeError::InvalidBase64 { .. } => "invalid_base64",
            DecodeError::MalformedDer { .. } => "malformed_der",
            DecodeError::TrailingData { .. } => "trailing_data",
            DecodeError::InvalidCertificate(_) => "invalid_certificate",
            DecodeError::DuplicateExtension { .. } => "duplicate_extension",
            DecodeError::MalformedExtension { .. } => "malformed_extension",
            DecodeError::NoCertificate => "no_certificate",
            DecodeError::UnsupportedBundleEntry { .. } => "unsupported_bundle_entry",
            _ => "invalid_upload",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::ErrorReport;
    use crate::store::StoreError;

    /// The messages of `error` and of each of its sources, outermost first.
    fn chain(error: &(dyn Error + 'static)) -> Vec<String> {
        let mut messages = vec![error.to_string()];
        let mut source = error.source();
        while let Some(cause) = source {
            messages.push(cause.to_string());
            source = cause.source();
        }
        messages
    }

    /// Representative errors that wrap another, of every kind the crate makes.
    fn wrapping_errors() -> Vec<Box<dyn Error + 'static>> {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let in_pem_block = crate::decode(pem).err();
        let in_bundle = super::DecodeError::InBundle {
            index: 2,
            source: Box::new(super::DecodeError::TrailingData {
                offset: 10,
                count: 3,
            }),
        };
        let io = StoreError::Io {
            operation: "write",
            path: "/store/cert_client_x".into(),
            source: std::io::Error::other("no space left on device"),
        };
        let not_audited = StoreError::NotAudited(Box::new(StoreError::Io {
            operation: "append to",
            path: "/store/audit/trail".into(),
            source: std::io::Error::other("read-only file system"),
        }));
        let database = StoreError::Database {
            operation: "connect to the database",
            source: Box::new(StoreError::Io {
                operation: "connect to",
                path: "/run/postgresql".into(),
                source: std::io::Error::other("connection refused"),
            }),
        };
        let mut errors: Vec<Box<dyn Error>> = vec![
            Box::new(in_bundle),
            Box::new(io),
            Box::new(not_audited),
            Box::new(database),
            Box::new(StoreError::Decode(super::DecodeError::InBundle {
                index: 1,
                source: Box::new(super::DecodeError::NoCertificate),
            })),
        ];
        errors.extend(in_pem_block.map(|error| Box::new(error) as Box<dyn Error>));
        #[cfg(feature = "rustls")]
        errors.push(Box::new(crate::verifier::VerifierError::Store {
            name: crate::CertificateName::from(crate::Fingerprint::from_bytes([7; 32])),
            source: StoreError::Io {
                operation: "read",
                path: "/store/cert_client_07".into(),
                source: std::io::Error::other("input/output error"),
            },
        }));
        #[cfg(feature = "postgres")]
        errors.push(Box::new(StoreError::Database {
            operation: "configure TLS to the database",
            source: Box::new(crate::backend::PostgresTlsError::Rustls(
                rustls::Error::General("no usable TLS version".into()),
            )),
        }));
        errors
    }

    #[test]
    fn no_message_repeats_its_source_and_the_report_shows_each_cause_once() {
        let errors = wrapping_errors();
        assert!(errors.len() >= 6);
        for error in &errors {
            let messages = chain(error.as_ref());
            assert!(messages.len() >= 2, "{messages:?} has no source");
            for pair in messages.windows(2) {
                if let [outer, inner] = pair {
                    assert!(
                        !outer.contains(inner.as_str()),
                        "{outer:?} repeats its source {inner:?}"
                    );
                }
            }
            let report = ErrorReport::new(error.as_ref()).to_string();
            assert_eq!(report, messages.join(": "));
            for message in &messages {
                assert_eq!(report.matches(message.as_str()).count(), 1, "{report}");
            }
        }
    }

    #[test]
    fn a_report_skips_a_cause_its_error_already_printed() {
        /// Like the PostgreSQL client's errors: the cause in the message and in `source()`.
        #[derive(Debug)]
        struct Both(std::io::Error);
        impl std::fmt::Display for Both {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "error connecting to server: {}", self.0)
            }
        }
        impl Error for Both {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = StoreError::Database {
            operation: "connect to the database",
            source: Box::new(Both(std::io::Error::other("connection refused"))),
        };
        assert_eq!(
            ErrorReport::new(&error).to_string(),
            "cannot connect to the database: error connecting to server: connection refused"
        );
    }
}
