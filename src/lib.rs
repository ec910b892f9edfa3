//! Decode, inspect and keep the X.509 client certificates a service trusts for inbound
//! (mTLS) connections.
//!
//! An administrator uploads a `.crt`, `.pem` or `.der` file; [`decode()`] recognises its format
//! and returns every [`Certificate`] in it, or a typed [`DecodeError`] that says exactly what
//! is wrong (a private key, a certificate signing request, truncated DER, …). Each certificate
//! is parsed once; its [`CertificateSummary`] holds everything the administrator sees, and its
//! [`CertificateName`] (`cert_client_<fingerprint>`) identifies it.
//!
//! ```
//! use inbound_certs::{decode, summary::ValidityStatus};
//! use time::{macros::datetime, Duration};
//!
//! let upload = std::fs::read("tests/data/bundle.pem")?;
//! for certificate in decode(&upload)? {
//!     let summary = certificate.summary();
//!     let status = summary.validity.status_at(datetime!(2026-06-01 0:00 UTC), Duration::days(30));
//!     println!(
//!         "{}  {}  {}  {}",
//!         certificate.name(),
//!         summary.subject,
//!         summary.public_key,
//!         status
//!     );
//!     assert!(matches!(status, ValidityStatus::Valid { .. }));
//! }
//!
//! // A private key uploaded by mistake is refused, and the message says so.
//! let key = std::fs::read("tests/data/key_ec_sec1.pem")?;
//! let error = decode(&key).unwrap_err();
//! assert!(error.to_string().contains("private key"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the decoder accepts and refuses
//!
//! Accepted, without being told which: binary DER; PEM with one or many `CERTIFICATE`,
//! `X509 CERTIFICATE`, `TRUSTED CERTIFICATE` or `PKCS7` blocks, with LF, CRLF or CR line ends,
//! a UTF-8 byte order mark, text before, between and after blocks (as `openssl x509 -text`
//! writes), bytes around blocks that are not UTF-8, and RFC 1421 headers inside a block; base64
//! of DER without PEM armour; PKCS#7 / CMS bundles in DER or PEM.
//!
//! Refused, each with its own [`DecodeError`] variant: private keys of any kind (the whole
//! upload is refused, even if it also holds certificates, and the key's body is never
//! decoded); certificate signing requests; CRLs; bare public keys; other PEM labels; UTF-16
//! text; empty input; input over [`decode::DecodeOptions::max_input_bytes`] or with more than
//! [`decode::DecodeOptions::max_certificates`] certificates (both checked before any parsing).
//!
//! The DER of a certificate is held to the rules OpenSSL and rustls-webpki enforce:
//! refused are indefinite lengths, lengths and tags not in their shortest form, elements that
//! run past their parent (truncation), an element with the wrong tag class or number anywhere
//! in the certificate's outline (such as a context-specific tag where the serial's INTEGER
//! belongs, x509-parser issue #248), bytes left inside any structure or after the certificate,
//! nesting deeper than 64, a version other than v1/v2/v3, extensions in a v1 or v2
//! certificate, an inner signature algorithm that differs from the outer one, duplicate
//! extensions, and known extensions whose value is malformed (a bad subject alternative name).
//! Accepted, as OpenSSL accepts them: zero, negative and over-long serial numbers, unknown
//! non-critical and critical extensions, any validity dates (validity is reported, not
//! enforced, by the decoder), empty subjects, and signature or key algorithms this crate does
//! not know (named by OID).
//!
//! No input makes the decoder panic, loop without bound or allocate more than a small
//! multiple of the input's size.

#![forbid(unsafe_code)]
// On docs.rs (nightly), every item shows the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[macro_use]
mod text_serde;

#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
pub mod admin;
pub mod audit;
pub mod backend;
mod certificate;
mod clock;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
pub mod decode;
mod der;
mod error;
mod fingerprint;
pub mod monitor;
pub mod registry;
mod report;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod server;
pub mod store;
pub mod summary;
mod sync;
mod system;
#[cfg(feature = "rustls")]
mod verifier;

/// The errors of parsing a name: a certificate's name or fingerprint, a system's name or
/// kind, a permission.
pub mod names {
    pub use crate::fingerprint::{ParseCertificateNameError, ParseFingerprintError};
    pub use crate::system::{
        NameProblem, ParsePermissionError, ParseSystemKindError, ParseSystemNameError,
    };
}

pub use certificate::Certificate;
pub use decode::decode;
pub use error::{DecodeError, ErrorReport};
pub use fingerprint::{CertificateName, Fingerprint};
pub use monitor::Monitor;
pub use registry::{Registry, SystemStore};
pub use report::CertificateReport;
pub use store::{CertificateStore, ImportOutcome, ImportPolicy, StoreError};
pub use summary::CertificateSummary;
pub use system::{System, SystemKind, SystemName};
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub use verifier::{StoreClientVerifier, VerifierError};

/// The README's examples, compiled and run by `cargo test --all-features` (they use the
/// `rustls`, `postgres` and `admin` features).
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "rustls", feature = "postgres", feature = "admin"))]
pub struct ReadmeDoctests;
