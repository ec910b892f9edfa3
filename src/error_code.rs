//! Stable snake_case codes for errors: the `reason` label of refusal metrics, and the code an
//! HTTP API returns beside the message. A code never changes once published; new variants get
//! new codes.

use crate::error::DecodeError;
use crate::store::StoreError;

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

impl StoreError {
    /// The error's stable code, e.g. `expired`, `not_inbound`, `system_not_found`; for an
    /// upload that could not be decoded, the decoder's code (`private_key`, …).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotInbound(_) => "not_inbound",
            StoreError::Expired { .. } => "expired",
            StoreError::NotForClientAuth { .. } => "not_for_client_auth",
            StoreError::CaCertificate { .. } => "ca_certificate",
            StoreError::WeakKey { .. } => "weak_key",
            StoreError::SystemNotFound(_) => "system_not_found",
            StoreError::SystemExists(_) => "system_exists",
            StoreError::SystemNotEmpty { .. } => "system_not_empty",
            StoreError::NotFound(_) => "not_found",
            StoreError::Decode(error) => error.code(),
            StoreError::Damaged(_) => "damaged",
            StoreError::InsecurePermissions { .. } => "insecure_permissions",
            StoreError::NoDirectory(_) => "no_directory",
            StoreError::DirectoryNotEmpty(_) => "directory_not_empty",
            StoreError::Io { .. } => "io",
            StoreError::BackendContract(_) => "backend_contract",
            StoreError::NotAudited(_) => "not_audited",
            StoreError::Database { .. } => "database",
        }
    }
}
