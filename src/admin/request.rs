//! What a request names and how it is checked, for the API and the pages alike: its query
//! parameters ([`Parameters`], refusing any the route does not take), systems and
//! certificates named in paths or typed in, the stored certificate they name, and a
//! certificate as a file to save.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::console::{Actor, Console};
use super::error::AdminError;
use crate::audit::HistoryQuery;
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{CertificateStore, DamagedEntry, StoreError};
use crate::system::{SystemKind, SystemName};

/// The query parameters a route takes, by name: what [`Parameters`] accepts.
pub(super) trait QueryParameters: DeserializeOwned {
    /// Every parameter the route takes, in the order its refusal lists them.
    const NAMES: &'static [&'static str];
}

/// A request's query parameters, or 400 `malformed_request` saying which one is wrong: a
/// parameter the route does not take (named, with those it takes: a misspelt option must
/// not be silently ignored), or a value that does not parse.
pub(super) struct Parameters<T>(pub(super) T);

impl<T: QueryParameters, S: Send + Sync> FromRequestParts<S> for Parameters<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AdminError> {
        let malformed = |rejection: QueryRejection| {
            AdminError::bad_request("malformed_request", rejection.body_text())
        };
        let Query(pairs) =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(malformed)?;
        if let Some((unknown, _)) = pairs
            .iter()
            .find(|(name, _)| !T::NAMES.contains(&name.as_str()))
        {
            let takes = if T::NAMES.is_empty() {
                "this route takes no query parameters".to_owned()
            } else {
                format!("this route takes {}", T::NAMES.join(", "))
            };
            return Err(AdminError::bad_request(
                "malformed_request",
                format!(
                    "unknown query parameter `{}`; {takes}",
                    unknown.chars().take(64).collect::<String>()
                ),
            ));
        }
        let Query(parameters) = Query::<T>::try_from_uri(&parts.uri).map_err(malformed)?;
        Ok(Parameters(parameters))
    }
}

/// The parameters of a route that takes none.
#[derive(Debug, Deserialize)]
pub(super) struct NoParameters {}

impl QueryParameters for NoParameters {
    const NAMES: &'static [&'static str] = &[];
}

/// A new system's name and kind, or the reason they are refused.
pub(super) fn parse_new_system(
    name: &str,
    kind: &str,
) -> Result<(SystemName, SystemKind), AdminError> {
    let name = name
        .parse::<SystemName>()
        .map_err(|error| AdminError::bad_request("invalid_system_name", error.to_string()))?;
    let kind = kind
        .parse::<SystemKind>()
        .map_err(|error| AdminError::bad_request("invalid_system_kind", error.to_string()))?;
    Ok((name, kind))
}

/// A system named in a path.
pub(super) fn system_name(text: &str) -> Result<SystemName, AdminError> {
    text.parse::<SystemName>().map_err(|_| {
        AdminError::not_found(format!(
            "no system named {:?} is registered",
            text.chars().take(80).collect::<String>()
        ))
    })
}

/// A certificate named in a path: `cert_client_<fingerprint>` or the fingerprint in any
/// spelling (`AB:CD:...`, `sha256:abcd...`).
pub(super) fn certificate_name(text: &str) -> Result<crate::CertificateName, AdminError> {
    let name_error = match text.parse::<crate::CertificateName>() {
        Ok(name) => return Ok(name),
        Err(error) => error,
    };
    // Text that starts like a name is a name with a mistake: the fingerprint parser would
    // only say that the 'r' of 'cert' is not a hex digit.
    if text.starts_with(crate::CertificateName::PREFIX) {
        return Err(AdminError::not_found(name_error.to_string()));
    }
    text.parse::<crate::Fingerprint>()
        .map(crate::CertificateName::from)
        .map_err(|error| {
            AdminError::not_found(format!(
                "no certificate is named {:?}: {error}",
                text.chars().take(100).collect::<String>()
            ))
        })
}

/// The certificate a path names (`…/{system}/certificates/{name}`), with its system's name.
pub(super) async fn stored_certificate(
    console: &Console,
    actor: &Actor,
    system: &str,
    name: &str,
) -> Result<(SystemName, Certificate), AdminError> {
    let system = system_name(system)?;
    let name = certificate_name(name)?;
    let lookup = system.clone();
    let certificate = console
        .blocking(actor, move |registry| {
            registry
                .store(&lookup)?
                .get(&name)?
                .ok_or(StoreError::NotFound(name))
        })
        .await?;
    Ok((system, certificate))
}

/// A stored entry, healthy or not: the certificate, or what is wrong with what is stored
/// under its name (so that a page can show the damage and offer to delete it).
pub(super) async fn stored_entry(
    console: &Console,
    actor: &Actor,
    system: &str,
    name: &str,
) -> Result<
    (
        SystemName,
        CertificateName,
        Result<Certificate, DamagedEntry>,
    ),
    AdminError,
> {
    let system = system_name(system)?;
    let name = certificate_name(name)?;
    let lookup = system.clone();
    let entry = console
        .blocking(actor, move |registry| {
            match registry.store(&lookup)?.get(&name) {
                Ok(Some(certificate)) => Ok(Ok(certificate)),
                Ok(None) => Err(StoreError::NotFound(name)),
                Err(StoreError::Damaged(damaged)) => Ok(Err(damaged)),
                Err(error) => Err(error),
            }
        })
        .await?;
    Ok((system, name, entry))
}

/// The certificate as a file to save, `cert_client_<fingerprint>.pem` or `.der`; `None` for
/// another format.
pub(super) fn certificate_file(certificate: &Certificate, format: &str) -> Option<Response> {
    let (body, content_type) = match format {
        "pem" => (certificate.to_pem().into_bytes(), "application/x-pem-file"),
        "der" => (certificate.der().to_vec(), "application/pkix-cert"),
        _ => return None,
    };
    Some(download(
        body,
        content_type,
        &format!("{}.{format}", certificate.name()),
    ))
}

/// A file to save, named `file_name` (made of a certificate's name: no quoting needed).
fn download(body: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Records of the audit trail returned when a request names no `limit`.
pub(super) const DEFAULT_HISTORY_LIMIT: usize = 50;

/// The largest `limit` accepted: a larger one is refused rather than clamped, so a client
/// that asked for more never mistakes a partial page for the whole trail.
pub(super) const MAX_HISTORY_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
pub(super) struct HistoryParameters {
    system: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

impl QueryParameters for HistoryParameters {
    const NAMES: &'static [&'static str] = &["system", "since", "until", "limit"];
}

impl HistoryParameters {
    /// The `system` asked for, if any.
    pub(super) fn system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    pub(super) fn query(&self) -> Result<HistoryQuery, AdminError> {
        let mut query = HistoryQuery::new();
        if let Some(system) = self.system.as_deref().filter(|text| !text.is_empty()) {
            query = query.system(system_name(system)?);
        }
        let instant = |text: &str, what: &str| {
            OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                AdminError::bad_request(
                    "invalid_time",
                    format!(
                        "{what} must be an RFC 3339 time such as 2026-06-01T00:00:00Z, not {:?}",
                        text.chars().take(40).collect::<String>()
                    ),
                )
            })
        };
        if let Some(since) = self.since.as_deref().filter(|text| !text.is_empty()) {
            query = query.since(instant(since, "since")?);
        }
        if let Some(until) = self.until.as_deref().filter(|text| !text.is_empty()) {
            query = query.until(instant(until, "until")?);
        }
        let limit = match self.limit {
            None => DEFAULT_HISTORY_LIMIT,
            Some(limit) if limit > MAX_HISTORY_LIMIT => {
                return Err(AdminError::bad_request(
                    "malformed_request",
                    format!("limit must be at most {MAX_HISTORY_LIMIT}, not {limit}; page with until= instead"),
                ))
            }
            Some(limit) => limit,
        };
        Ok(query.limit(limit))
    }
}

/// A fingerprint typed or pasted by someone: `cert_client_<hex>`, or the SHA-256
/// fingerprint in any spelling (colons, spaces, either case, a `sha256:` or
/// `SHA256 Fingerprint=` prefix); 400 `malformed_request` otherwise.
pub(super) fn typed_fingerprint(text: &str) -> Result<Fingerprint, AdminError> {
    let text = text.trim();
    if let Ok(name) = text.parse::<CertificateName>() {
        return Ok(name.fingerprint());
    }
    text.parse::<Fingerprint>().map_err(|error| {
        AdminError::bad_request(
            "malformed_request",
            format!(
                "{:?} is not a SHA-256 fingerprint: {error}",
                text.chars().take(100).collect::<String>()
            ),
        )
    })
}
