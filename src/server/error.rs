//! [`Refusal`]: why the front door refused a request, and the JSON error shape every HTTP
//! answer of the crate has (`{"error": {"code": "...", "message": "..."}}`), shared with the
//! console's API.

use axum::http::{header, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::registry::Unauthorized;

/// Why the mTLS front door ([`serve`](super::serve)) refused a request, or why an
/// [`InboundClient`](super::InboundClient) could not be extracted. Needs the feature `axum`.
///
/// As a response (it implements [`IntoResponse`]) it is the console API's JSON error:
/// `{"error": {"code": "...", "message": "..."}}` with the status of [`status`](Self::status)
/// and the code of [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The client is not let in, or not allowed the permission the route requires
    /// ([`Registry::admit`](crate::Registry::admit),
    /// [`Registry::authorize`](crate::Registry::authorize)): 403 with the refusal's code,
    /// or 503 `registry_unavailable` when the registry could not be read (the request is
    /// refused rather than let through).
    #[error(transparent)]
    Unauthorized(#[from] Unauthorized),
    /// The request did not come through the front door, so it carries no
    /// [`InboundClient`](super::InboundClient) (a router served by `axum::serve`, or a test
    /// that did not insert one): 500 `no_inbound_client`.
    #[error(
        "the request carries no inbound client: serve the router with inbound_certs::server::serve"
    )]
    NoInboundClient,
}

impl Refusal {
    /// The HTTP status the refusal is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthorized(Unauthorized::Registry(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Unauthorized(_) => StatusCode::FORBIDDEN,
            Refusal::NoInboundClient => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for the refusal, the `code` of its JSON: [`Unauthorized::code`], or
    /// `no_inbound_client`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unauthorized(unauthorized) => unauthorized.code(),
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
