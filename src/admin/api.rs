//! The JSON API: `/api/...` and `/metrics`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::console::{worst_status, Actor, Console};
use super::error::{AdminError, FORM_BODY_LIMIT};
use super::request::{
    certificate_file, certificate_name, parse_new_system, stored_certificate, system_name,
    typed_fingerprint, HistoryParameters, NoParameters, Parameters, QueryParameters,
};
use super::upload::{self, Trial};
use crate::certificate::Certificate;
use crate::decode::decode_with;
use crate::fingerprint::CertificateName;
use crate::registry::SystemOverview;
use crate::store::{CertificateStore, DamagedEntry, ImportPolicy, Imported, StoreError};
use crate::system::System;

type ApiResult = Result<Response, AdminError>;

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
        map.insert("status".into(), worst_status(overview).into());
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
            return AdminError::form_too_large();
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
    config: &super::config::AdminConfig,
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

fn imported_json(imported: &Imported) -> Value {
    let mut json = json!({
        "name": imported.name().to_string(),
        "outcome": imported.code(),
    });
    match (imported, json.as_object_mut()) {
        (Imported::Skipped(_, reason), Some(object)) => {
            object.insert("reason".into(), json!(reason.code()));
            object.insert("message".into(), json!(reason.to_string()));
        }
        (
            Imported::Renewed {
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
        let body = axum::body::to_bytes(request.into_body(), FORM_BODY_LIMIT)
            .await
            .map_err(|error| {
                if error.into_inner().is::<http_body_util::LengthLimitError>() {
                    AdminError::form_too_large()
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
