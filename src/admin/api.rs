//! The JSON API: `/api/...` and `/metrics`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::auth::Actor;
use super::upload::{self, Trial};
use super::{AdminError, Console};
use crate::audit::HistoryQuery;
use crate::certificate::Certificate;
use crate::decode::decode_with;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::registry::SystemOverview;
use crate::store::{CertificateStore, DamagedEntry, ImportOutcome, ImportPolicy, StoreError};
use crate::system::{System, SystemKind, SystemName};

type ApiResult = Result<Response, AdminError>;

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

/// `GET /api/systems`.
pub(super) async fn systems(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    _: Parameters<NoParameters>,
) -> ApiResult {
    let (now, warn) = (console.now(), console.config().warn_within);
    let overviews = console
        .blocking(&actor, move |registry| registry.overview(now, warn))
        .await?;
    Ok(Json(overviews.iter().map(overview_json).collect::<Vec<_>>()).into_response())
}

fn system_json(system: &System) -> Value {
    json!({
        "name": system.name().as_str(),
        "kind": system.kind().as_str(),
        "created": rfc3339(system.created()),
    })
}

fn overview_json(overview: &SystemOverview) -> Value {
    let mut value = system_json(&overview.system);
    if let Value::Object(map) = &mut value {
        for (key, count) in [
            ("valid", overview.valid),
            ("expiring", overview.expiring),
            ("expired", overview.expired),
            ("damaged", overview.damaged),
        ] {
            map.insert(key.into(), count.into());
        }
        map.insert("status".into(), super::worst_status(overview).into());
    }
    value
}

pub(super) fn rfc3339(instant: OffsetDateTime) -> String {
    instant.format(&Rfc3339).unwrap_or_default()
}

/// The body of `POST /api/systems`.
#[derive(Debug, Deserialize)]
pub(super) struct NewSystem {
    name: String,
    kind: String,
}

/// `POST /api/systems`.
pub(super) async fn create_system(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    _: Parameters<NoParameters>,
    body: Result<Json<NewSystem>, JsonRejection>,
) -> ApiResult {
    let Json(new) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return super::pages::form_too_large();
        }
        AdminError::bad_request(
            "malformed_request",
            format!(
                "expected a JSON object {{\"name\": ..., \"kind\": \"source\" | \"proxy\" | \"target\"}}: {}",
                rejection.body_text()
            ),
        )
    })?;
    let (name, kind) = parse_new_system(&new.name, &new.kind)?;
    let now = console.now();
    let system = console
        .blocking(&actor, move |registry| {
            registry.create_system(&name, kind, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(system_json(&system))).into_response())
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

#[derive(Debug, Deserialize)]
pub(super) struct RemoveQuery {
    #[serde(default)]
    with_certificates: bool,
}

impl QueryParameters for RemoveQuery {
    const NAMES: &'static [&'static str] = &["with_certificates"];
}

/// `DELETE /api/systems/{system}`.
pub(super) async fn remove_system(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path(system): Path<String>,
    Parameters(query): Parameters<RemoveQuery>,
) -> ApiResult {
    let name = system_name(&system)?;
    console
        .blocking(&actor, move |registry| {
            registry.remove_system(&name, query.with_certificates)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    expiring_within_days: Option<u32>,
}

impl QueryParameters for ListQuery {
    const NAMES: &'static [&'static str] = &["expiring_within_days"];
}

/// `GET /api/systems/{system}/certificates`.
pub(super) async fn certificates(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path(system): Path<String>,
    Parameters(query): Parameters<ListQuery>,
) -> ApiResult {
    let name = system_name(&system)?;
    let listing = console
        .blocking(&actor, move |registry| registry.store(&name)?.list())
        .await?;
    let now = console.now();
    let certificates: Vec<Value> = listing
        .certificates
        .iter()
        .filter(|certificate| match query.expiring_within_days {
            Some(days) => certificate
                .summary()
                .validity
                .ends_within(now, Duration::days(i64::from(days))),
            None => true,
        })
        .map(|certificate| certificate_json(certificate, now, console.config()))
        .collect();
    Ok(Json(json!({
        "certificates": certificates,
        "damaged": listing.damaged.iter().map(damaged_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// A certificate's summary with its status at `now`.
pub(super) fn certificate_json(
    certificate: &Certificate,
    now: OffsetDateTime,
    config: &super::AdminConfig,
) -> Value {
    let keys = &config.tls_keys;
    let status = certificate
        .summary()
        .validity
        .status_at(now, config.warn_within);
    let mut value = serde_json::to_value(certificate.summary()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        let weaknesses: Vec<Value> = certificate
            .summary()
            .weaknesses(keys)
            .iter()
            .map(|weakness| {
                json!({
                    "code": weakness.code(),
                    "message": weakness.to_string(),
                    "prevents_authentication": weakness.prevents_authentication(),
                })
            })
            .collect();
        map.insert("weaknesses".into(), weaknesses.into());
        map.insert("status".into(), status.as_str().into());
        map.insert("status_text".into(), status.to_string().into());
    }
    value
}

fn damaged_json(entry: &DamagedEntry) -> Value {
    json!({
        "location": entry.location.display().to_string(),
        "problem": entry.problem.to_string(),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct ImportQuery {
    #[serde(default)]
    allow_expired: bool,
    #[serde(default)]
    allow_ca: bool,
    #[serde(default)]
    allow_without_client_auth: bool,
    #[serde(default)]
    allow_weak: bool,
    #[serde(default)]
    dry_run: bool,
}

impl QueryParameters for ImportQuery {
    const NAMES: &'static [&'static str] = &[
        "allow_expired",
        "allow_ca",
        "allow_without_client_auth",
        "allow_weak",
        "dry_run",
    ];
}

/// `POST /api/systems/{system}/certificates`.
pub(super) async fn import(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path(system): Path<String>,
    Parameters(query): Parameters<ImportQuery>,
    request: Request,
) -> ApiResult {
    let name = system_name(&system)?;
    let limit = console.config().decode.max_input_bytes;
    let upload = upload::read(&console, request, limit, None).await?;
    let policy = upload.named(
        ImportPolicy::new(console.now())
            .allow_expired(query.allow_expired)
            .allow_ca(query.allow_ca)
            .allow_without_client_auth(query.allow_without_client_auth)
            .allow_weak(query.allow_weak)
            .tls_key_types(console.config().tls_keys.clone())
            .decode_options(console.config().decode.clone()),
    );
    if query.dry_run {
        let trials = console
            .blocking(&actor, move |registry| {
                upload::dry_run(registry, &name, &upload.file, &policy)
            })
            .await?;
        return Ok(Json(trials.iter().map(trial_json).collect::<Vec<_>>()).into_response());
    }
    let imported = console
        .blocking(&actor, move |registry| {
            registry.store(&name)?.import_upload(&upload.file, &policy)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(imported.iter().map(imported_json).collect::<Vec<_>>()),
    )
        .into_response())
}

fn imported_json(imported: &ImportOutcome) -> Value {
    let mut json = json!({
        "name": imported.name().to_string(),
        "outcome": imported.code(),
    });
    match (imported, json.as_object_mut()) {
        (ImportOutcome::Skipped(_, reason), Some(object)) => {
            object.insert("reason".into(), json!(reason.code()));
            object.insert("message".into(), json!(reason.to_string()));
        }
        (
            ImportOutcome::Renewed {
                renews,
                renews_not_after,
                ..
            },
            Some(object),
        ) => {
            object.insert("renews".into(), json!(renews.to_string()));
            object.insert(
                "renews_not_after".into(),
                json!(crate::store::rfc3339(*renews_not_after)),
            );
        }
        _ => {}
    }
    json
}

fn trial_json(trial: &Trial) -> Value {
    match &trial.result {
        Ok(imported) => {
            let mut json = imported_json(imported);
            if let Some(object) = json.as_object_mut() {
                object.insert("subject".into(), json!(trial.subject));
            }
            json
        }
        Err(error) => json!({
            "name": trial.name.to_string(),
            "subject": trial.subject,
            "outcome": "refused",
            "error": { "code": error.code(), "message": crate::ErrorReport::new(error).to_string() },
        }),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CertificateQuery {
    format: Option<String>,
}

impl QueryParameters for CertificateQuery {
    const NAMES: &'static [&'static str] = &["format"];
}

/// `GET /api/systems/{system}/certificates/{name}`.
pub(super) async fn certificate(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    Parameters(query): Parameters<CertificateQuery>,
) -> ApiResult {
    let (_, certificate) = stored_certificate(&console, &actor, &system, &name).await?;
    match query.format.as_deref() {
        None | Some("json") => {
            let mut json = certificate_json(&certificate, console.now(), console.config());
            // Here only, not in lists: it costs a signature verification.
            if let Value::Object(map) = &mut json {
                map.insert("self_signed".into(), certificate.is_self_signed().into());
            }
            Ok(Json(json).into_response())
        }
        Some(format) => certificate_file(&certificate, format).ok_or_else(|| {
            AdminError::bad_request(
                "invalid_format",
                format!(
                    "unknown format {:?}: use format=pem or format=der (or none, for the summary in JSON)",
                    format.chars().take(20).collect::<String>()
                ),
            )
        }),
    }
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

/// `DELETE /api/systems/{system}/certificates/{name}`.
pub(super) async fn delete(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    _: Parameters<NoParameters>,
) -> ApiResult {
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    console
        .blocking(&actor, move |registry| {
            registry.store(&system)?.delete(&name)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/systems/{system}/purge-expired`.
pub(super) async fn purge_expired(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path(system): Path<String>,
    _: Parameters<NoParameters>,
) -> ApiResult {
    let system = system_name(&system)?;
    let now = console.now();
    let purged = console
        .blocking(&actor, move |registry| {
            registry.store(&system)?.purge_expired(now)
        })
        .await?;
    Ok(Json(purged.iter().map(ToString::to_string).collect::<Vec<_>>()).into_response())
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

/// `GET /api/history`.
pub(super) async fn history(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Parameters(parameters): Parameters<HistoryParameters>,
) -> ApiResult {
    let query = parameters.query()?;
    let history = console
        .blocking(&actor, move |registry| registry.history(&query))
        .await?;
    Ok(Json(json!({
        "records": history.records.iter().map(|record| record.to_value()).collect::<Vec<_>>(),
        "damaged": history.damaged,
        "more_damaged": history.more_damaged,
    }))
    .into_response())
}

/// `GET /metrics`.
pub(super) async fn metrics(
    State(console): State<Console>,
    _: Parameters<NoParameters>,
) -> ApiResult {
    let Some(handle) = &console.config().metrics else {
        return Err(AdminError::not_found(
            "no metrics recorder was given to this console (AdminConfig::metrics)",
        ));
    };
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
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

/// `POST /api/identify`: which systems trust a certificate, given as a file (the body, in
/// any format the decoder accepts, or a `multipart/form-data` form's `file`; exactly one
/// certificate) or as `{"fingerprint": "..."}` with `Content-Type: application/json`.
pub(super) async fn identify(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    _: Parameters<NoParameters>,
    request: Request,
) -> ApiResult {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
        });
    let fingerprint = if json {
        let body = axum::body::to_bytes(request.into_body(), super::FORM_BODY_LIMIT)
            .await
            .map_err(|error| {
                if error.into_inner().is::<http_body_util::LengthLimitError>() {
                    super::pages::form_too_large()
                } else {
                    AdminError::bad_request(
                        "unreadable_body",
                        "the body could not be read to its end",
                    )
                }
            })?;
        // An object with this one member, nothing else (serde would also take `["..."]`).
        let fingerprint = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(object)) if object.len() == 1 => match object.get("fingerprint") {
                Some(Value::String(text)) => Some(text.clone()),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| {
            AdminError::bad_request(
                "malformed_request",
                "expected a JSON object {\"fingerprint\": \"...\"} (the SHA-256 fingerprint in any spelling, or cert_client_<hex>)",
            )
        })?;
        typed_fingerprint(&fingerprint)?
    } else {
        let limit = console.config().decode.max_input_bytes;
        let upload = upload::read(&console, request, limit, None).await?;
        let certificates = decode_with(&upload.file, &console.config().decode)
            .map_err(|error| AdminError::from(StoreError::Decode(error)))?;
        match certificates.as_slice() {
            [certificate] => certificate.fingerprint(),
            several => {
                return Err(AdminError::bad_request(
                    "malformed_request",
                    format!(
                        "the upload holds {} certificates; identify one at a time (the client's own certificate)",
                        several.len()
                    ),
                ))
            }
        }
    };
    let systems = console
        .blocking(&actor, move |registry| registry.identify(&fingerprint))
        .await?;
    Ok(Json(json!({
        "fingerprint": fingerprint.to_string(),
        "name": CertificateName::from(fingerprint).to_string(),
        "systems": systems
            .iter()
            .map(|system| json!({"name": system.name().as_str(), "kind": system.kind().as_str()}))
            .collect::<Vec<_>>(),
    }))
    .into_response())
}
