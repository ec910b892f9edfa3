//! [`AdminError`]: how the API and the pages report a failure (a status, a stable code, a
//! message), and the console's limit on bodies that are not uploads.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::server::error::error_response;
pub(super) use crate::server::error::ErrorJson;
use crate::store::StoreError;
use crate::ErrorReport;

/// The largest body of a request that is not an upload (a login, a form, a new system's
/// JSON): none needs more than a few hundred bytes.
pub(super) const FORM_BODY_LIMIT: usize = 16 * 1024;

/// An error as the API and the pages report it: a status, a stable code, a message.
#[derive(Debug)]
pub(super) struct AdminError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<i64>,
}

impl AdminError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(super) fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The `Retry-After` header this error's response carries, if any.
    pub(super) fn retry_after_header(
        &self,
    ) -> Option<(axum::http::HeaderName, axum::http::HeaderValue)> {
        let seconds = self.retry_after?;
        Some((
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        ))
    }

    pub(super) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(super) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub(super) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 413 for a form's (or a JSON body's) body over [`FORM_BODY_LIMIT`].
    pub(super) fn form_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a form or JSON body sent to the console is at most {FORM_BODY_LIMIT} bytes; this one is longer"
            ),
        )
    }

    pub(super) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        use crate::error::DecodeError;
        let status = match &error {
            StoreError::Decode(DecodeError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            StoreError::Decode(_) | StoreError::Refused(_) | StoreError::SuspensionReason(_) => {
                StatusCode::BAD_REQUEST
            }
            StoreError::SystemNotFound(_) | StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::NotInbound(_)
            | StoreError::TargetPermissions(_)
            | StoreError::SystemExists(_)
            | StoreError::SystemNotEmpty { .. }
            | StoreError::DirectoryNotEmpty(_)
            | StoreError::NotSuspended(_) => StatusCode::CONFLICT,
            StoreError::Database { .. } => StatusCode::SERVICE_UNAVAILABLE,
            // The change was not made because its audit record could not be written (a full
            // disk, a trail being repaired): the request was fine, try it again later.
            StoreError::NotAudited(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AdminError::new(status, error.code(), ErrorReport::new(&error).to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_header();
        let mut response = error_response(self.status, self.code, self.message);
        if let Some((name, value)) = retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
