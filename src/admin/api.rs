//! The JSON API: `/api/...` and `/metrics`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::console::{worst_status, Actor, Console};
use super::error::{AdminError, ErrorJson, FORM_BODY_LIMIT};
use super::request::{
    certificate_file, certificate_name, parse_new_system, stored_certificate, system_name,
    typed_fingerprint, HistoryParameters, NoParameters, Parameters, QueryParameters,
};
use super::upload::{self, Trial};
use crate::certificate::Certificate;
use crate::clock::rfc3339;
use crate::decode::decode_with;
use crate::fingerprint::CertificateName;
use crate::registry::SystemOverview;
use crate::registry::{LastUse, Permission};
use crate::report::CertificateReport;
use crate::store::Suspension;
use crate::store::{CertificateStore, DamagedEntry, ImportOutcome, ImportPolicy, StoreError};
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
    Ok(Json(overviews.iter().map(OverviewJson::from).collect::<Vec<_>>()).into_response())
}

// The response types below list their fields in alphabetical order: the order in which
// the `json!` objects they replace (serde_json's map without `preserve_order`) wrote them.

/// A system, as `POST /api/systems` answers it.
#[derive(Debug, Serialize)]
struct SystemJson {
    created: String,
    kind: &'static str,
    name: String,
    permissions: Vec<String>,
}

impl From<&System> for SystemJson {
    fn from(system: &System) -> Self {
        SystemJson {
            created: rfc3339(system.created()),
            kind: system.kind().as_str(),
            name: system.name().as_str().to_owned(),
            permissions: permission_names(system),
        }
    }
}

/// A system's permissions as JSON strings, sorted.
fn permission_names(system: &System) -> Vec<String> {
    system
        .permissions()
        .iter()
        .map(|permission| permission.as_str().to_owned())
        .collect()
}

/// Permissions sent to the API, each checked: 400 `invalid_permission` naming the first that
/// is not one (nothing is changed).
fn parse_permissions(texts: &[String]) -> Result<Vec<Permission>, AdminError> {
    texts
        .iter()
        .map(|text| {
            text.parse::<Permission>()
                .map_err(|error| AdminError::bad_request("invalid_permission", error.to_string()))
        })
        .collect()
}

/// A system with its counts and worst status, as `GET /api/systems` lists it.
#[derive(Debug, Serialize)]
struct OverviewJson {
    created: String,
    damaged: usize,
    expired: usize,
    expiring: usize,
    kind: &'static str,
    name: String,
    permissions: Vec<String>,
    status: &'static str,
    valid: usize,
}

impl From<&SystemOverview> for OverviewJson {
    fn from(overview: &SystemOverview) -> Self {
        let system = &overview.system;
        OverviewJson {
            created: rfc3339(system.created()),
            damaged: overview.damaged,
            expired: overview.expired,
            expiring: overview.expiring,
            kind: system.kind().as_str(),
            name: system.name().as_str().to_owned(),
            permissions: permission_names(system),
            status: worst_status(overview),
            valid: overview.valid,
        }
    }
}

/// The body of `POST /api/systems`.
#[derive(Debug, Deserialize)]
pub(super) struct NewSystem {
    name: String,
    kind: String,
    /// The permissions it holds from the start (none if left out).
    #[serde(default)]
    permissions: Vec<String>,
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
    let permissions = parse_permissions(&new.permissions)?;
    let now = console.now();
    let system = console
        .blocking(&actor, move |registry| {
            registry.create_system_with(&name, kind, permissions, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(SystemJson::from(&system))).into_response())
}

/// `PUT /api/systems/{system}/permissions` with a JSON list of permissions: replaces the
/// system's permissions (one audit record; the same set changes nothing). Answers the system
/// as kept after.
pub(super) async fn set_permissions(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path(system): Path<String>,
    _: Parameters<NoParameters>,
    body: Result<Json<Vec<String>>, JsonRejection>,
) -> ApiResult {
    let Json(texts) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AdminError::form_too_large();
        }
        AdminError::bad_request(
            "malformed_request",
            format!(
                "expected a JSON list of permissions, e.g. [\"proxy-api\", \"realtime-api\"]: {}",
                rejection.body_text()
            ),
        )
    })?;
    let name = system_name(&system)?;
    let permissions = parse_permissions(&texts)?;
    let system = console
        .blocking(&actor, move |registry| {
            registry.set_permissions(&name, permissions)
        })
        .await?;
    Ok(Json(SystemJson::from(&system)).into_response())
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
    let (listing, suspensions, usage) = console
        .blocking(&actor, move |registry| {
            let store = registry.store(&name)?;
            Ok((store.list()?, store.suspensions()?, registry.usage(&name)?))
        })
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
        .map(|certificate| {
            let name = certificate.name();
            let suspension = suspensions.get(&name);
            certificate_json(
                certificate,
                now,
                console.config(),
                suspension,
                usage.get(&name),
            )
        })
        .collect();
    Ok(Json(CertificateListJson {
        certificates,
        damaged: listing.damaged.iter().map(DamagedJson::from).collect(),
    })
    .into_response())
}

/// A certificate's summary with its status at `now`.
pub(super) fn certificate_json(
    certificate: &Certificate,
    now: OffsetDateTime,
    config: &super::config::AdminConfig,
    suspension: Option<&Suspension>,
    last_use: Option<LastUse>,
) -> Value {
    let report = CertificateReport::new(certificate, now, config.warn_within, &config.tls_keys);
    let mut json = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut json {
        map.insert(
            "suspension".into(),
            serde_json::to_value(suspension).unwrap_or(Value::Null),
        );
        // The keys `certstore --json` gives a last use.
        map.insert(
            "last_used".into(),
            last_use.map_or(Value::Null, |last| rfc3339(last.at).into()),
        );
        map.insert(
            "last_used_from".into(),
            last_use
                .and_then(|last| last.peer)
                .map_or(Value::Null, |peer| peer.to_string().into()),
        );
        map.insert(
            "first_used".into(),
            last_use.map_or(Value::Null, |last| rfc3339(last.first).into()),
        );
    }
    json
}

/// `GET /api/systems/{system}/certificates`: the certificates ([`certificate_json`]) and the
/// damaged entries.
#[derive(Debug, Serialize)]
struct CertificateListJson {
    certificates: Vec<Value>,
    damaged: Vec<DamagedJson>,
}

/// A damaged entry of a store: where it is, what is wrong.
#[derive(Debug, Serialize)]
struct DamagedJson {
    location: String,
    problem: String,
}

impl From<&DamagedEntry> for DamagedJson {
    fn from(entry: &DamagedEntry) -> Self {
        DamagedJson {
            location: entry.location.display().to_string(),
            problem: entry.problem.to_string(),
        }
    }
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
        return Ok(Json(trials.iter().map(OutcomeJson::from).collect::<Vec<_>>()).into_response());
    }
    let imported = console
        .blocking(&actor, move |registry| {
            registry.store(&name)?.import_upload(&upload.file, &policy)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(imported.iter().map(OutcomeJson::from).collect::<Vec<_>>()),
    )
        .into_response())
}

/// One certificate's outcome of an import (`added`, `renewed`, `already_present`,
/// `skipped`), or of a dry run (which adds its subject, and may be `refused` with the error).
#[derive(Debug, Serialize)]
struct OutcomeJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson>,
    /// Why a certificate was skipped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    name: String,
    outcome: &'static str,
    /// Why a certificate was skipped: its code.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renews: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renews_not_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
}

impl From<&ImportOutcome> for OutcomeJson {
    fn from(imported: &ImportOutcome) -> Self {
        let mut json = OutcomeJson {
            error: None,
            message: None,
            name: imported.name().to_string(),
            outcome: imported.code(),
            reason: None,
            renews: None,
            renews_not_after: None,
            subject: None,
        };
        match imported {
            ImportOutcome::Skipped(_, reason) => {
                json.reason = Some(reason.code());
                json.message = Some(reason.to_string());
            }
            ImportOutcome::Renewed {
                renews,
                renews_not_after,
                ..
            } => {
                json.renews = Some(renews.to_string());
                json.renews_not_after = Some(crate::clock::rfc3339(*renews_not_after));
            }
            _ => {}
        }
        json
    }
}

impl From<&Trial> for OutcomeJson {
    fn from(trial: &Trial) -> Self {
        match &trial.result {
            Ok(imported) => OutcomeJson {
                subject: Some(trial.subject.clone()),
                ..OutcomeJson::from(imported)
            },
            Err(error) => OutcomeJson {
                error: Some(ErrorJson {
                    code: error.code(),
                    message: crate::ErrorReport::new(error).to_string(),
                }),
                message: None,
                name: trial.name.to_string(),
                outcome: "refused",
                reason: None,
                renews: None,
                renews_not_after: None,
                subject: Some(trial.subject.clone()),
            },
        }
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
    let (system, certificate) = stored_certificate(&console, &actor, &system, &name).await?;
    match query.format.as_deref() {
        None | Some("json") => {
            let name = certificate.name();
            let (suspension, last_use) = console
                .blocking(&actor, move |registry| {
                    let suspension = registry.store(&system)?.suspension(&name)?;
                    Ok((suspension, registry.last_used(&system, &name)?))
                })
                .await?;
            let json = certificate_json(
                &certificate,
                console.now(),
                console.config(),
                suspension.as_ref(),
                last_use,
            );
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
    Ok(Json(HistoryJson {
        damaged: history.damaged,
        more_damaged: history.more_damaged,
        records: history
            .records
            .iter()
            .map(|record| record.to_value())
            .collect(),
    })
    .into_response())
}

/// `GET /api/history`: the records (each as the audit trail writes it), and the lines of the
/// trail that are not records.
#[derive(Debug, Serialize)]
struct HistoryJson {
    damaged: Vec<String>,
    more_damaged: usize,
    records: Vec<Value>,
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
    Ok(Json(IdentifiedJson {
        fingerprint: fingerprint.to_string(),
        name: CertificateName::from(fingerprint).to_string(),
        systems: systems
            .iter()
            .map(|system| TrustingSystemJson {
                kind: system.kind().as_str(),
                name: system.name().as_str().to_owned(),
            })
            .collect(),
    })
    .into_response())
}

/// `POST /api/identify`: the certificate asked about and the systems that trust it.
#[derive(Debug, Serialize)]
struct IdentifiedJson {
    fingerprint: String,
    name: String,
    systems: Vec<TrustingSystemJson>,
}

/// A system that trusts a certificate.
#[derive(Debug, Serialize)]
struct TrustingSystemJson {
    kind: &'static str,
    name: String,
}

/// The body of `POST /api/systems/{system}/certificates/{name}/suspend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SuspendBody {
    reason: String,
}

/// `POST /api/systems/{system}/certificates/{name}/suspend` with `{"reason": …}`: the
/// certificate stays stored and is refused at every handshake until it is resumed. Answers
/// the suspension as kept (`reason`, `since`, `by`).
pub(super) async fn suspend(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    _: Parameters<NoParameters>,
    body: Result<Json<SuspendBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(|rejection| {
        AdminError::bad_request(
            "invalid_body",
            format!(
                "the body must be JSON {{\"reason\": \"…\"}}: {}",
                rejection.body_text()
            ),
        )
    })?;
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    let suspension = console
        .blocking(&actor, move |registry| {
            registry.store(&system)?.suspend(&name, &body.reason)
        })
        .await?;
    Ok(Json(suspension).into_response())
}

/// `POST /api/systems/{system}/certificates/{name}/resume`: trusts a suspended certificate
/// again. Answers the suspension it lifted; 409 `not_suspended` if there was none.
pub(super) async fn resume(
    State(console): State<Console>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    _: Parameters<NoParameters>,
) -> ApiResult {
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    let lifted = console
        .blocking(&actor, move |registry| {
            registry.store(&system)?.resume(&name)
        })
        .await?;
    Ok(Json(lifted).into_response())
}
