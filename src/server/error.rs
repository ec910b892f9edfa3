//! [`Refusal`]: why the front door refused a request, and the JSON error shape every HTTP
//! answer of the crate has (`{"error": {"code": "...", "message": "..."}}`), shared with the
//! console's API.

use axum::http::{header, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::fingerprint::CertificateName;
use crate::store::StoreError;
use crate::system::SystemName;

/// Why the mTLS front door ([`serve`](super::serve)) refused a request, or why an
/// [`InboundClient`](super::InboundClient) could not be extracted. Needs the feature `axum`.
///
/// As a response (it implements [`IntoResponse`]) it is the console API's JSON error:
/// `{"error": {"code": "...", "message": "..."}}` with the status of [`status`](Self::status)
/// and the code of [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No source or proxy system trusts the certificate any more (it was deleted, or its
    /// systems removed, since the connection was opened): 403 `not_trusted`.
    #[error("client certificate {certificate} is not trusted by any source or proxy system")]
    NotTrusted {
        /// The certificate the client presented.
        certificate: CertificateName,
    },
    /// Every source or proxy system that holds the certificate
    /// [suspended](crate::SystemStore::suspend) it: 403 `suspended`.
    #[error("client certificate {certificate} is suspended by {}", names(systems))]
    Suspended {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// The systems that hold it suspended, sorted by name.
        systems: Vec<SystemName>,
    },
    /// The certificate's `notAfter` has passed, by the registry's clock: 403 `expired`.
    #[error("client certificate {certificate} expired at {}", rfc3339(*not_after))]
    Expired {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// Its last valid instant.
        not_after: OffsetDateTime,
    },
    /// The certificate's `notBefore` is still to come, by the registry's clock: 403
    /// `not_yet_valid`.
    #[error("client certificate {certificate} is not valid before {}", rfc3339(*not_before))]
    NotYetValid {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// Its first valid instant.
        not_before: OffsetDateTime,
    },
    /// The registry could not say who trusts the certificate (a directory registry whose
    /// index could not be rebuilt): 503 `registry_unavailable`. The request is refused
    /// rather than let through.
    #[error("the registry of trusted certificates could not be read")]
    Registry(#[source] StoreError),
    /// The request did not come through the front door, so it carries no
    /// [`InboundClient`](super::InboundClient) (a router served by `axum::serve`, or a test
    /// that did not insert one): 500 `no_inbound_client`.
    #[error("the request carries no inbound client: serve the router with inbound_certs::server::serve")]
    NoInboundClient,
}

impl Refusal {
    /// The HTTP status the refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NotTrusted { .. }
            | Refusal::Suspended { .. }
            | Refusal::Expired { .. }
            | Refusal::NotYetValid { .. } => StatusCode::FORBIDDEN,
            Refusal::Registry(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::NoInboundClient => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for the refusal, the `code` of its JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotTrusted { .. } => "not_trusted",
            Refusal::Suspended { .. } => "suspended",
            Refusal::Expired { .. } => "expired",
            Refusal::NotYetValid { .. } => "not_yet_valid",
            Refusal::Registry(_) => "registry_unavailable",
            Refusal::NoInboundClient => "no_inbound_client",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        // Without the causes: a registry's error may name its files, which are no client's
        // business.
        error_response(self.status(), self.code(), self.to_string())
    }
}

/// The refusal of a request on an HTTP/1 connection also closes it: the client's next
/// connection meets the verifier, which says why in the handshake. (HTTP/2 has no
/// `Connection` header.)
pub(super) fn refuse(refusal: Refusal, version: Version) -> Response {
    let mut response = refusal.into_response();
    if version <= Version::HTTP_11 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn names(systems: &[SystemName]) -> String {
    systems
        .iter()
        .map(|system| system.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// An error response: `status`, and `{"error": {"code": code, "message": message}}`.
pub(crate) fn error_response(status: StatusCode, code: &'static str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorJson { code, message },
    };
    (status, axum::Json(body)).into_response()
}

/// The body of an error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: ErrorJson,
}

/// An error's code and message, as the API's responses give them.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorJson {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}
