//! The web pages: server-rendered HTML, forms that work without JavaScript, every change
//! followed by a redirect to a page that shows its outcome.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::api::{self, certificate_name, system_name, HistoryParameters};
use super::auth::{check_csrf, Actor, Base, SessionContext, SET_COOKIE};
use super::html::{badge, esc, instant, page, w, Flash, DAMAGED_BADGE, STYLE_SHEET};
use super::{upload, AdminError, Console};
use crate::audit::{AuditAction, AuditOutcome, HistoryQuery};
use crate::store::{CertificateStore, ImportPolicy, StoreError};
use crate::system::SystemName;

/// A page for an error, with its status.
pub(super) fn error_page(base: &Base, error: AdminError) -> Response {
    let body = format!(
        "<h1>{}</h1><p id=\"error\">{}</p><p><a href=\"{}\">Back to the systems</a></p>",
        esc(error.status.canonical_reason().unwrap_or("Error")),
        esc(&error.message),
        esc(&base.to("/"))
    );
    (error.status, Html(page(base, None, "Error", None, &body))).into_response()
}

/// The response of a page handler: the page, or the error's page.
fn respond(base: &Base, result: Result<Response, AdminError>) -> Response {
    result.unwrap_or_else(|error| error_page(base, error))
}

fn see_other(base: &Base, path: &str) -> Response {
    Redirect::to(&base.to(path)).into_response()
}

/// `/systems/<name>` with the name escaped for a URL path (system names are letters, digits,
/// `-`, `_` and `.`: nothing to escape).
fn system_path(system: &SystemName) -> String {
    format!("/systems/{system}")
}

/// The fields of a form that only confirms an action.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: Option<String>,
}

fn csrf_of(form: Result<Form<CsrfForm>, FormRejection>) -> Option<String> {
    form.ok().and_then(|Form(form)| form.csrf)
}

/// `GET /assets/console.css`.
pub(super) async fn style_sheet() -> Response {
    let mut response = STYLE_SHEET.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

/// Any other path.
pub(super) async fn not_found(Extension(base): Extension<Base>, request: Request) -> Response {
    let error = AdminError::not_found(format!("nothing at {}", request.uri().path()));
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        error.into_response()
    } else {
        error_page(&base, error)
    }
}

fn login_page(base: &Base, problem: Option<&str>) -> String {
    let mut body = String::from("<section class=\"login panel\"><h1>Log in</h1>");
    if let Some(problem) = problem {
        w!(
            body,
            "<p class=\"flash error\" id=\"login-error\">{}</p>",
            esc(problem)
        );
    }
    w!(
        body,
        "<form method=\"post\" action=\"{}\"><label for=\"token\">Console token</label>\
         <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required autofocus>\
         <button type=\"submit\" id=\"login\">Log in</button></form>\
         <p class=\"hint\">The token is the one the console was started with (the admin_console example prints it).</p></section>",
        esc(&base.to("/login"))
    );
    page(base, None, "Log in", None, &body)
}

/// `GET /login`.
pub(super) async fn login_form(Extension(base): Extension<Base>) -> Response {
    Html(login_page(&base, None)).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    token: Option<String>,
}

/// `POST /login`.
pub(super) async fn login(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let token = form
        .ok()
        .and_then(|Form(form)| form.token)
        .unwrap_or_default();
    let Some(admin) = console.admin_with_token(token.trim()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(
                &base,
                Some("That token is not the console's. Try again."),
            )),
        )
            .into_response();
    };
    match console.start_session(admin) {
        Ok(id) => {
            let mut response = see_other(&base, "/");
            if let Ok(cookie) = HeaderValue::from_str(&console.session_cookie(&base, &id)) {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => error_page(&base, error),
    }
}

/// `POST /logout`.
pub(super) async fn logout(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(session): Extension<SessionContext>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    if let Err(error) = check_csrf(&session, csrf_of(form).as_deref()) {
        return error_page(&base, error);
    }
    console.end_session(&session);
    let mut response = see_other(&base, "/login");
    if let Ok(cookie) = HeaderValue::from_str(&console.expired_cookie(&base)) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// `GET /`: the systems, with their counts and worst status, and the form to add one.
pub(super) async fn systems(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
) -> Response {
    let (now, warn) = (console.now(), console.config().warn_within);
    let result = console
        .blocking(&actor, move |registry| {
            Ok((registry.overview(now, warn)?, registry.systems()?.damaged))
        })
        .await
        .map(|(overviews, damaged)| {
            let mut body = String::from(
                "<h1>Systems</h1><p class=\"hint\">Each source or proxy system has its own inbound certificates: \
                 the client certificates it may present when it calls this service.</p>",
            );
            if overviews.is_empty() {
                body.push_str("<p class=\"empty\" id=\"no-systems\">No systems yet: add one below.</p>");
            } else {
                body.push_str(
                    "<table id=\"systems\"><thead><tr><th>System</th><th>Kind</th><th>Valid</th>\
                     <th>Expiring</th><th>Expired</th><th>Damaged</th><th>Status</th></tr></thead><tbody>",
                );
                for overview in &overviews {
                    let name = overview.system.name();
                    w!(
                        body,
                        "<tr data-system=\"{0}\"><td><a href=\"{1}\">{0}</a></td><td>{2}</td>\
                         <td class=\"num\">{3}</td><td class=\"num\">{4}</td><td class=\"num\">{5}</td>\
                         <td class=\"num\">{6}</td><td>{7}</td></tr>",
                        esc(name.as_str()),
                        esc(&base.to(&system_path(name))),
                        overview.system.kind(),
                        overview.valid,
                        overview.expiring,
                        overview.expired,
                        overview.damaged,
                        status_badge(super::worst_status(overview)),
                    );
                }
                body.push_str("</tbody></table>");
            }
            for entry in &damaged {
                w!(body, "<p class=\"flash error\">{} {}</p>", DAMAGED_BADGE, esc(&entry.to_string()));
            }
            w!(
                body,
                "<h2>Add a system</h2><form method=\"post\" action=\"{}\" class=\"panel actions\">{}\
                 <label>Name <input type=\"text\" name=\"name\" id=\"system-name\" required \
                 pattern=\"[A-Za-z0-9][A-Za-z0-9._\\-]*\" maxlength=\"64\" placeholder=\"crm\"></label>\
                 <label>Kind <select name=\"kind\" id=\"system-kind\"><option value=\"source\">source</option>\
                 <option value=\"proxy\">proxy</option></select></label>\
                 <button type=\"submit\" id=\"add-system\">Add system</button></form>",
                esc(&base.to("/systems")),
                super::html::csrf_field(&session),
            );
            let flash = console.take_flash(&session);
            Html(page(&base, Some(&session), "Systems", flash.as_ref(), &body)).into_response()
        });
    respond(&base, result)
}

fn status_badge(status: &str) -> String {
    match status {
        "damaged" => DAMAGED_BADGE.to_owned(),
        "expired" => "<span class=\"badge expired\">expired</span>".to_owned(),
        "expiring" => "<span class=\"badge expiring\">expiring</span>".to_owned(),
        "valid" => "<span class=\"badge valid\">valid</span>".to_owned(),
        _ => "<span class=\"badge none\">no certificates</span>".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct NewSystemForm {
    csrf: Option<String>,
    name: Option<String>,
    kind: Option<String>,
}

/// `POST /systems`: add a system.
pub(super) async fn create_system(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    form: Result<Form<NewSystemForm>, FormRejection>,
) -> Response {
    let form = form.ok().map(|Form(form)| form);
    let csrf = form.as_ref().and_then(|form| form.csrf.as_deref());
    if let Err(error) = check_csrf(&session, csrf) {
        return error_page(&base, error);
    }
    let (name, kind) = form
        .map(|form| (form.name.unwrap_or_default(), form.kind.unwrap_or_default()))
        .unwrap_or_default();
    let created = match api::parse_new_system(name.trim(), &kind) {
        Ok((name, kind)) => {
            let now = console.now();
            console
                .blocking(&actor, move |registry| {
                    registry.create_system(&name, kind, now)
                })
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(system) => {
            console.flash(
                &session,
                Flash::ok(
                    format!("Added the {} system {}", system.kind(), system.name()),
                    vec![],
                ),
            );
            see_other(&base, &system_path(system.name()))
        }
        Err(error) => {
            console.flash(
                &session,
                Flash::error("The system was not added", vec![error.message]),
            );
            see_other(&base, "/")
        }
    }
}

/// `GET /systems/{system}`: its *Inbound Certificates*, the import form and the actions.
pub(super) async fn system(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
) -> Response {
    let result = async {
        let name = system_name(&system)?;
        let (system, listing) = console
            .blocking(&actor, move |registry| {
                let store = registry.store(&name)?;
                Ok((store.system().clone(), store.list()?))
            })
            .await?;
        let (now, warn) = (console.now(), console.config().warn_within);
        let name = system.name();
        let path = system_path(name);
        let mut body = String::new();
        w!(
            body,
            "<h1 id=\"system-title\">{} <small>{} system</small></h1><h2>Inbound Certificates</h2>",
            esc(name.as_str()),
            system.kind()
        );
        if system.kind().accepts_inbound() {
            w!(
                body,
                "<form method=\"post\" action=\"{}\" enctype=\"multipart/form-data\" class=\"panel actions\" id=\"import-form\">{}\
                 <label>Certificate file <input type=\"file\" name=\"file\" id=\"file\" required \
                 accept=\".crt,.pem,.der,.cer,.p7b\"></label>\
                 <label><input type=\"checkbox\" name=\"allow_expired\" value=\"true\"> allow expired</label>\
                 <label><input type=\"checkbox\" name=\"allow_ca\" value=\"true\"> allow CA certificates</label>\
                 <button type=\"submit\" id=\"import\">Import</button></form>",
                esc(&base.to(&format!("{path}/import"))),
                super::html::csrf_field(&session),
            );
        } else {
            body.push_str("<p class=\"hint\">A target system has no inbound certificates: only source and proxy systems call in.</p>");
        }
        let mut expired = 0;
        if listing.certificates.is_empty() && listing.damaged.is_empty() {
            body.push_str("<p class=\"empty\" id=\"no-certificates\">No certificates yet.</p>");
        } else {
            body.push_str(
                "<table id=\"certificates\"><thead><tr><th>Name</th><th>Subject</th><th>Issuer</th>\
                 <th>Expires</th><th>Status</th></tr></thead><tbody>",
            );
            for certificate in &listing.certificates {
                let summary = certificate.summary();
                let status = summary.validity.status_at(now, warn);
                expired += usize::from(status.is_expired());
                let full = certificate.name().to_string();
                let short: String = full.chars().take(20).collect();
                w!(
                    body,
                    "<tr data-fingerprint=\"{}\"><td><a href=\"{}\" title=\"{}\"><code>{}…</code></a></td>\
                     <td class=\"dn\">{}</td><td class=\"dn\">{}</td><td>{}</td><td>{}</td></tr>",
                    summary.fingerprint,
                    esc(&base.to(&format!("{path}/certificates/{full}"))),
                    esc(&full),
                    esc(&short),
                    esc(&summary.subject.to_string()),
                    esc(&summary.issuer.to_string()),
                    instant(summary.validity.not_after),
                    badge(&status),
                );
            }
            for entry in &listing.damaged {
                w!(
                    body,
                    "<tr class=\"damaged\"><td colspan=\"4\"><code>{}</code>: {}</td><td>{}</td></tr>",
                    esc(&entry.location.display().to_string()),
                    esc(&entry.problem.to_string()),
                    DAMAGED_BADGE
                );
            }
            body.push_str("</tbody></table>");
        }
        body.push_str("<div class=\"actions\">");
        if expired > 0 {
            w!(
                body,
                "<a class=\"button danger\" id=\"purge\" href=\"{}\">Delete expired ({expired})</a>",
                esc(&base.to(&format!("{path}/purge-expired")))
            );
        }
        w!(
            body,
            "<a class=\"button secondary\" href=\"{}\">Activity of {}</a>",
            esc(&base.to(&format!("/activity?system={name}"))),
            esc(name.as_str())
        );
        if listing.certificates.is_empty() && listing.damaged.is_empty() {
            w!(
                body,
                "<form method=\"post\" action=\"{}\" class=\"inline\">{}\
                 <button type=\"submit\" class=\"secondary\" id=\"remove-system\">Remove system</button></form>",
                esc(&base.to(&format!("{path}/remove"))),
                super::html::csrf_field(&session),
            );
        }
        body.push_str("</div>");
        let flash = console.take_flash(&session);
        Ok(Html(page(&base, Some(&session), name.as_str(), flash.as_ref(), &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// `POST /systems/{system}/import`: the outcome, per certificate, or the refusal, is shown on
/// the system's page.
pub(super) async fn import(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
    request: Request,
) -> Response {
    let name = match system_name(&system) {
        Ok(name) => name,
        Err(error) => return error_page(&base, error),
    };
    let limit = console.config().decode.max_input_bytes;
    let upload = match upload::read(&console, request, limit).await {
        Ok(upload) => upload,
        Err(error) => {
            console.flash(
                &session,
                Flash::error("Nothing was imported", vec![error.message]),
            );
            return see_other(&base, &system_path(&name));
        }
    };
    if let Err(error) = check_csrf(&session, upload.fields.get("csrf").map(String::as_str)) {
        return error_page(&base, error);
    }
    let policy = ImportPolicy::new(console.now())
        .allow_expired(upload.flag("allow_expired"))
        .allow_ca(upload.flag("allow_ca"))
        .decode_options(console.config().decode.clone());
    let target = name.clone();
    let imported = console
        .blocking(&actor, move |registry| {
            let store = registry.store(&target)?;
            let imported = store.import_upload(&upload.file, &policy)?;
            let mut lines = Vec::with_capacity(imported.len());
            for outcome in &imported {
                let subject = store
                    .get(&outcome.name())?
                    .map(|certificate| certificate.summary().subject.to_string())
                    .unwrap_or_default();
                let what = match outcome {
                    crate::store::Imported::Added(_) => "imported",
                    crate::store::Imported::AlreadyPresent(_) => "already present",
                };
                lines.push(format!("{what}: {} ({subject})", outcome.name()));
            }
            Ok(lines)
        })
        .await;
    let flash = match imported {
        Ok(lines) => Flash::ok(
            format!(
                "Imported {} certificate{}",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            ),
            lines,
        ),
        Err(error) => Flash::error("Nothing was imported", vec![error.message]),
    };
    console.flash(&session, flash);
    see_other(&base, &system_path(&name))
}

/// `GET /systems/{system}/certificates/{name}`: everything about one certificate.
pub(super) async fn certificate(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path((system, name)): Path<(String, String)>,
) -> Response {
    let result = async {
        let system = system_name(&system)?;
        let name = certificate_name(&name)?;
        let lookup = system.clone();
        let (certificate, imported) = console
            .blocking(&actor, move |registry| {
                let certificate = registry
                    .store(&lookup)?
                    .get(&name)?
                    .ok_or(StoreError::NotFound(name))?;
                // Newest first: the first import record is the last import.
                let history = registry.history(&HistoryQuery::new().system(lookup))?;
                let imported = history.records.into_iter().find(|record| {
                    record.certificate == Some(name)
                        && record.action == AuditAction::Import
                        && record.outcome == AuditOutcome::Added
                });
                Ok((certificate, imported))
            })
            .await?;
        let summary = certificate.summary();
        let status = summary.validity.status_at(console.now(), console.config().warn_within);
        let full = certificate.name().to_string();
        let path = format!("{}/certificates/{full}", system_path(&system));
        let mut body = String::new();
        w!(
            body,
            "<p><a href=\"{}\">← {}</a></p><h1>{}</h1><p><code id=\"name\">{}</code> {}</p><dl class=\"details\">",
            esc(&base.to(&system_path(&system))),
            esc(system.as_str()),
            esc(&summary.subject.common_name().map_or_else(|| summary.subject.to_string(), str::to_owned)),
            esc(&full),
            badge(&status),
        );
        let mut row = |id: &str, label: &str, value: &str| {
            w!(body, "<dt>{label}</dt><dd id=\"{id}\">{}</dd>", esc(value));
        };
        row("subject", "Subject", &summary.subject.to_string());
        row("issuer", "Issuer", &summary.issuer.to_string());
        row("serial", "Serial number", &summary.serial.to_string());
        row("signature-algorithm", "Signature algorithm", &summary.signature_algorithm.to_string());
        row("not-before", "Valid from", &instant(summary.validity.not_before));
        row("not-after", "Valid until", &instant(summary.validity.not_after));
        row("status", "Status", &status.to_string());
        let key_algorithm = match &summary.public_key.algorithm {
            crate::summary::KeyAlgorithm::Ec(curve) => format!("EC {curve}"),
            other => other.to_string(),
        };
        row("key-algorithm", "Key algorithm", &key_algorithm);
        row(
            "key-size",
            "Key size",
            &summary.public_key.bits.map_or_else(|| "unknown".to_owned(), |bits| format!("{bits} bits")),
        );
        row("fingerprint", "SHA-256 fingerprint", &summary.fingerprint.to_string());
        row("fingerprint-colons", "SHA-256 fingerprint (colons)", &summary.fingerprint.to_colon_hex());
        let sans: Vec<String> = summary.subject_alt_names.iter().map(ToString::to_string).collect();
        row("sans", "Subject alternative names", &if sans.is_empty() { "none".to_owned() } else { sans.join(", ") });
        let ekus: Vec<String> = summary.extended_key_usage.iter().map(|oid| eku_name(oid.as_str())).collect();
        row(
            "extended-key-usage",
            "Extended key usage",
            &if ekus.is_empty() { "not restricted".to_owned() } else { ekus.join(", ") },
        );
        row("ca", "CA certificate", if summary.is_ca { "yes" } else { "no" });
        row(
            "imported",
            "Imported",
            &imported.map_or_else(
                || "not in the audit trail".to_owned(),
                |record| format!("{} by {}", instant(record.time), record.actor),
            ),
        );
        body.push_str("</dl><div class=\"actions\">");
        for format in ["pem", "der"] {
            w!(
                body,
                "<a class=\"button secondary\" href=\"{}\">Download .{format}</a>",
                esc(&base.to(&format!("{path}/download?format={format}")))
            );
        }
        w!(
            body,
            "<a class=\"button danger\" id=\"delete\" href=\"{}\">Delete</a></div>",
            esc(&base.to(&format!("{path}/delete")))
        );
        let flash = console.take_flash(&session);
        Ok(Html(page(&base, Some(&session), &full, flash.as_ref(), &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// A readable name for an extended key usage OID.
fn eku_name(oid: &str) -> String {
    let name = match oid {
        "1.3.6.1.5.5.7.3.1" => "TLS server authentication",
        "1.3.6.1.5.5.7.3.2" => "TLS client authentication",
        "1.3.6.1.5.5.7.3.3" => "code signing",
        "1.3.6.1.5.5.7.3.4" => "email protection",
        "1.3.6.1.5.5.7.3.8" => "time stamping",
        "1.3.6.1.5.5.7.3.9" => "OCSP signing",
        "2.5.29.37.0" => "any",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

#[derive(Debug, Deserialize)]
pub(super) struct DownloadQuery {
    format: Option<String>,
}

/// `GET /systems/{system}/certificates/{name}/download?format=pem|der`.
pub(super) async fn download(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Response {
    let result = async {
        let system = system_name(&system)?;
        let name = certificate_name(&name)?;
        let format = query.ok().and_then(|Query(query)| query.format);
        let certificate = console
            .blocking(&actor, move |registry| {
                registry
                    .store(&system)?
                    .get(&name)?
                    .ok_or(StoreError::NotFound(name))
            })
            .await?;
        Ok(match format.as_deref() {
            Some("der") => api::download(
                certificate.der().to_vec(),
                "application/pkix-cert",
                &format!("{}.der", certificate.name()),
            ),
            _ => api::download(
                certificate.to_pem().into_bytes(),
                "application/x-pem-file",
                &format!("{}.pem", certificate.name()),
            ),
        })
    }
    .await;
    respond(&base, result)
}

/// `GET /systems/{system}/certificates/{name}/delete`: the confirmation.
pub(super) async fn confirm_delete(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path((system, name)): Path<(String, String)>,
) -> Response {
    let result = async {
        let system = system_name(&system)?;
        let name = certificate_name(&name)?;
        let lookup = system.clone();
        let certificate = console
            .blocking(&actor, move |registry| {
                registry
                    .store(&lookup)?
                    .get(&name)?
                    .ok_or(StoreError::NotFound(name))
            })
            .await?;
        let path = format!(
            "{}/certificates/{}",
            system_path(&system),
            certificate.name()
        );
        let body = format!(
            "<h1>Delete this certificate?</h1><div class=\"panel\"><p><code>{}</code></p><p>{}</p>\
             <p>{} will no longer be able to call in with it. This cannot be undone.</p>\
             <form method=\"post\" action=\"{}\" class=\"actions\">{}\
             <button type=\"submit\" class=\"danger\" id=\"confirm-delete\">Delete</button>\
             <a class=\"button secondary\" href=\"{}\">Cancel</a></form></div>",
            esc(&certificate.name().to_string()),
            esc(&certificate.summary().subject.to_string()),
            esc(system.as_str()),
            esc(&base.to(&format!("{path}/delete"))),
            super::html::csrf_field(&session),
            esc(&base.to(&path)),
        );
        Ok(Html(page(&base, Some(&session), "Delete", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// `POST /systems/{system}/certificates/{name}/delete`.
pub(super) async fn delete(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path((system, name)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        check_csrf(&session, csrf_of(form).as_deref())?;
        let system = system_name(&system)?;
        let name = certificate_name(&name)?;
        let target = system.clone();
        console
            .blocking(&actor, move |registry| {
                registry.store(&target)?.delete(&name)
            })
            .await?;
        console.flash(&session, Flash::ok(format!("Deleted {name}"), vec![]));
        Ok(see_other(&base, &system_path(&system)))
    }
    .await;
    respond(&base, result)
}

/// `GET /systems/{system}/purge-expired`: the confirmation, listing what would go.
pub(super) async fn confirm_purge(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
) -> Response {
    let result = async {
        let system = system_name(&system)?;
        let now = console.now();
        let lookup = system.clone();
        let expired = console
            .blocking(&actor, move |registry| registry.store(&lookup)?.expired(now))
            .await?;
        let path = system_path(&system);
        let mut body = format!("<h1>Delete the expired certificates of {}?</h1><div class=\"panel\">", esc(system.as_str()));
        if expired.is_empty() {
            body.push_str("<p class=\"empty\">None of its certificates has expired.</p>");
        } else {
            body.push_str("<ul>");
            for certificate in &expired {
                w!(
                    body,
                    "<li><code>{}</code> {} (expired {})</li>",
                    esc(&certificate.name().to_string()),
                    esc(&certificate.summary().subject.to_string()),
                    instant(certificate.summary().validity.not_after)
                );
            }
            w!(
                body,
                "</ul><form method=\"post\" action=\"{}\" class=\"actions\">{}\
                 <button type=\"submit\" class=\"danger\" id=\"confirm-purge\">Delete {} expired</button>",
                esc(&base.to(&format!("{path}/purge-expired"))),
                super::html::csrf_field(&session),
                expired.len()
            );
            body.push_str("</form>");
        }
        w!(body, "<p><a href=\"{}\">Cancel</a></p></div>", esc(&base.to(&path)));
        Ok(Html(page(&base, Some(&session), "Delete expired", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// `POST /systems/{system}/purge-expired`.
pub(super) async fn purge_expired(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        check_csrf(&session, csrf_of(form).as_deref())?;
        let system = system_name(&system)?;
        let now = console.now();
        let target = system.clone();
        let purged = console
            .blocking(&actor, move |registry| {
                registry.store(&target)?.purge_expired(now)
            })
            .await?;
        console.flash(
            &session,
            Flash::ok(
                format!(
                    "Deleted {} expired certificate{}",
                    purged.len(),
                    if purged.len() == 1 { "" } else { "s" }
                ),
                purged.iter().map(ToString::to_string).collect(),
            ),
        );
        Ok(see_other(&base, &system_path(&system)))
    }
    .await;
    respond(&base, result)
}

/// `POST /systems/{system}/remove`: removes a system that holds no certificates.
pub(super) async fn remove_system(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let result = async {
        check_csrf(&session, csrf_of(form).as_deref())?;
        let system = system_name(&system)?;
        let target = system.clone();
        match console
            .blocking(&actor, move |registry| {
                registry.remove_system(&target, false)
            })
            .await
        {
            Ok(_) => {
                console.flash(
                    &session,
                    Flash::ok(format!("Removed the system {system}"), vec![]),
                );
                Ok(see_other(&base, "/"))
            }
            Err(error) => {
                console.flash(
                    &session,
                    Flash::error("The system was not removed", vec![error.message]),
                );
                Ok(see_other(&base, &system_path(&system)))
            }
        }
    }
    .await;
    respond(&base, result)
}

/// `GET /activity`: the audit trail, newest first (`?system=` for one system's).
pub(super) async fn activity(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    parameters: Result<Query<HistoryParameters>, QueryRejection>,
) -> Response {
    let result = async {
        let Query(parameters) = parameters
            .map_err(|rejection| AdminError::bad_request("malformed_request", rejection.body_text()))?;
        let mut query = parameters.query()?;
        if parameters.limit().is_none() {
            query = query.limit(200);
        }
        let history = console
            .blocking(&actor, move |registry| registry.history(&query))
            .await?;
        let mut body = String::from("<h1>Activity</h1><p class=\"hint\">Every change, newest first, with who made it.</p>");
        if history.records.is_empty() {
            body.push_str("<p class=\"empty\">Nothing has happened yet.</p>");
        } else {
            body.push_str(
                "<table id=\"activity\"><thead><tr><th>Time</th><th>Who</th><th>Action</th><th>System</th>\
                 <th>Certificate</th><th>Outcome</th><th>Detail</th></tr></thead><tbody>",
            );
            for record in &history.records {
                w!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"dn\">{}</td><td>{}</td><td class=\"dn\">{}</td></tr>",
                    instant(record.time),
                    esc(&record.actor),
                    record.action.as_str(),
                    esc(record.system.as_ref().map_or("", SystemName::as_str)),
                    esc(&match (&record.certificate, &record.subject) {
                        (Some(name), Some(subject)) => format!("{name} ({subject})"),
                        (Some(name), None) => name.to_string(),
                        _ => String::new(),
                    }),
                    record.outcome.as_str(),
                    esc(&record.detail),
                );
            }
            body.push_str("</tbody></table>");
        }
        for line in &history.damaged {
            w!(body, "<p class=\"flash error\">{} {}</p>", DAMAGED_BADGE, esc(line));
        }
        Ok(Html(page(&base, Some(&session), "Activity", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}
