//! One certificate's pages: its details, its download, suspending and resuming it, and
//! deleting it.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::admin::error::AdminError;
use crate::admin::page::{csrf_of, system_path, CsrfForm, Page, PageError};
use crate::admin::request::{
    certificate_file, certificate_name, stored_certificate, stored_entry, system_name,
};
use crate::admin::session::Flash;
use crate::admin::templates::{
    badge, csrf_field, damaged_badge, instant, suspended_badge, Text, Time,
};
use crate::fingerprint::CertificateName;
use crate::store::{CertificateStore, DamagedEntry, MAX_REASON_CHARS};
use crate::system::SystemName;

/// `GET /systems/{system}/certificates/{name}`: everything about one certificate.
pub(in crate::admin) async fn certificate(
    page: Page,
    Path((system, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let console = &page.console;
    let (system, name, entry) = stored_entry(console, &page.actor, &system, &name).await?;
    let certificate = match entry {
        Ok(certificate) => certificate,
        Err(damaged) => return Ok(damaged_page(&page, &system, &name, &damaged)),
    };
    let lookup = system.clone();
    let this = certificate.clone();
    let (imported, renewed_by, renews, suspension, last_use) = console
        .blocking(&page.actor, move |registry| {
            let imported = registry.import_record(&lookup, &name)?;
            let suspension = registry.store(&lookup)?.suspension(&name)?;
            let last_use = registry.last_used(&lookup, &name)?;
            // Renewals are found by the same client and a later end, among the system's
            // certificates (the one that ends last, each way).
            let listing = registry.store(&lookup)?.list()?;
            let last = |certificates: Vec<&crate::Certificate>| {
                certificates
                    .into_iter()
                    .max_by_key(|c| c.summary().validity.not_after)
                    .cloned()
            };
            let all = &listing.certificates;
            let renewed_by = last(all.iter().filter(|c| c.renews(&this)).collect());
            // Whether the renewal is in use yet: when the old one may be retired.
            let renewed_by = match renewed_by {
                Some(newer) => {
                    let used = registry.last_used(&lookup, &newer.name())?;
                    Some((newer, used))
                }
                None => None,
            };
            let renews = last(all.iter().filter(|c| this.renews(c)).collect());
            Ok((imported, renewed_by, renews, suspension, last_use))
        })
        .await?;
    let summary = certificate.summary();
    let status = summary
        .validity
        .status_at(console.now(), console.config().warn_within);
    let full = certificate.name().to_string();
    let path = format!("{}/certificates/{full}", system_path(&system));
    let title = summary.subject.common_name().map_or_else(
        || summary.subject.to_string(),
        |name| crate::summary::Visible::new(name).to_string(),
    );
    let key_algorithm = match &summary.public_key.algorithm {
        crate::summary::KeyAlgorithm::Ec(curve) => format!("EC {curve}"),
        other => other.to_string(),
    };
    let sans: Vec<String> = summary
        .subject_alt_names
        .iter()
        .map(ToString::to_string)
        .collect();
    let ekus: Vec<String> = summary
        .extended_key_usage
        .iter()
        .map(|oid| eku_name(oid.as_str()))
        .collect();
    let weaknesses: Vec<String> = summary
        .weaknesses(&console.config().tls_keys)
        .iter()
        .map(ToString::to_string)
        .collect();
    let or = |texts: Vec<String>, separator: &str, none: &str| {
        if texts.is_empty() {
            none.to_owned()
        } else {
            texts.join(separator)
        }
    };
    // One row per field, in the order the CLI's `show` prints them: a new field is one
    // more row (its id is what tests and scripts select).
    let mut rows = vec![
        ("subject", "Subject", summary.subject.to_string()),
        ("issuer", "Issuer", summary.issuer.to_string()),
        ("serial", "Serial number", summary.serial.to_string()),
        ("version", "X.509 version", summary.version.to_string()),
        (
            "signature-algorithm",
            "Signature algorithm",
            summary.signature_algorithm.to_string(),
        ),
        (
            "not-before",
            "Valid from",
            instant(summary.validity.not_before),
        ),
        (
            "not-after",
            "Valid until",
            instant(summary.validity.not_after),
        ),
        ("status", "Status", status.to_string()),
        ("key-algorithm", "Key algorithm", key_algorithm),
        (
            "key-size",
            "Key size",
            summary
                .public_key
                .bits
                .map_or_else(|| "unknown".to_owned(), |bits| format!("{bits} bits")),
        ),
        (
            "fingerprint",
            "SHA-256 fingerprint",
            summary.fingerprint.to_string(),
        ),
        (
            "fingerprint-colons",
            "SHA-256 fingerprint (colons)",
            summary.fingerprint.to_colon_hex(),
        ),
        ("sans", "Subject alternative names", or(sans, ", ", "none")),
        (
            "extended-key-usage",
            "Extended key usage",
            or(ekus, ", ", "not restricted"),
        ),
        (
            "key-usage",
            "Key usage",
            summary
                .key_usage
                .map_or_else(|| "not restricted".to_owned(), |usage| usage.to_string()),
        ),
        ("weaknesses", "Weaknesses", or(weaknesses, "; ", "none")),
        (
            "ca",
            "CA certificate",
            match summary.path_len_constraint {
                Some(length) if summary.is_ca => format!("yes (path length {length})"),
                _ => yes_no(summary.is_ca).to_owned(),
            },
        ),
        (
            "self-issued",
            "Self-issued (subject = issuer)",
            yes_no(summary.self_issued).to_owned(),
        ),
        (
            "self-signed",
            "Self-signed (signed with its own key)",
            yes_no(certificate.is_self_signed()).to_owned(),
        ),
        (
            "imported",
            "Imported",
            imported.map_or_else(
                || "not in the audit trail".to_owned(),
                |record| format!("{} by {}", instant(record.time), record.actor),
            ),
        ),
    ];
    rows.push((
        "last-used",
        "Last used",
        last_use.map_or_else(
            || "never used".to_owned(),
            |last| {
                let from = last
                    .peer
                    .map(|peer| format!(" from {peer}"))
                    .unwrap_or_default();
                format!(
                    "{} ({}){from}",
                    ago(console.now() - last.at),
                    instant(last.at)
                )
            },
        ),
    ));
    if let Some(suspension) = &suspension {
        rows.push((
            "suspension",
            "Suspended",
            format!(
                "{} by {}: {}",
                instant(suspension.since()),
                suspension.by(),
                suspension.reason()
            ),
        ));
    }
    let link = |other: &crate::Certificate| -> Markup {
        let href = page.to(&format!(
            "{}/certificates/{}",
            system_path(&system),
            other.name()
        ));
        html! {
            a href=(href) { code { (other.name()) } }
            " (valid until " (Time(other.summary().validity.not_after)) ")"
        }
    };
    let body = html! {
        p { a href=(page.to(&system_path(&system))) { "← " (system) } }
        h1 { (Text(&title)) }
        p {
            code id="name" { (Text(&full)) } " " (badge(&status))
            @if suspension.is_some() { " " (suspended_badge()) }
        }
        @if suspension.is_some() {
            p class="flash error" id="suspended" {
                "Suspended: every handshake with this certificate is refused until it is resumed."
            }
        }
        dl class="details" {
            @for (id, label, value) in &rows {
                dt { (*label) }
                dd id=(*id) { (Text(value)) }
            }
        }
        @if let Some((newer, used)) = &renewed_by {
            p class="flash" id="renewed-by" {
                "Renewed by " (link(newer))
                @match used {
                    Some(used) => {
                        ", in use since " (Text(instant(used.first))) " (first used "
                        (Text(ago(console.now() - used.first))) ", last used "
                        (Text(ago(console.now() - used.at))) "): once no client presents this \
                         certificate any more, retire it with "
                        em { "Delete" } "."
                    }
                    None => {
                        ", not used yet: keep this certificate until its clients present the \
                         renewal."
                    }
                }
            }
        }
        @if let Some(older) = &renews {
            p class="hint" id="renews" { "Renews " (link(older)) "." }
        }
        div class="actions" {
            @for format in ["pem", "der"] {
                a class="button secondary" href=(page.to(&format!("{path}/download?format={format}"))) {
                    "Download ." (format)
                }
            }
            @if suspension.is_some() {
                a class="button secondary" id="resume" href=(page.to(&format!("{path}/resume"))) {
                    "Resume"
                }
            } @else {
                a class="button secondary" id="suspend" href=(page.to(&format!("{path}/suspend"))) {
                    "Suspend"
                }
            }
            a class="button danger" id="delete" href=(page.to(&format!("{path}/delete"))) {
                "Delete"
            }
        }
    };
    let flash = page.take_flash();
    Ok(page.render(&full, flash.as_ref(), body).into_response())
}

/// The details page of a damaged entry: where it is, what is wrong, and how to delete it.
fn damaged_page(
    page: &Page,
    system: &SystemName,
    name: &CertificateName,
    damaged: &DamagedEntry,
) -> Response {
    let full = name.to_string();
    let path = format!("{}/certificates/{full}", system_path(system));
    let body = html! {
        p { a href=(page.to(&system_path(system))) { "← " (system) } }
        h1 { "Damaged entry" }
        p { code id="name" { (Text(&full)) } " " (damaged_badge()) }
        dl class="details" {
            dt { "Location" }
            dd id="location" { (Text(damaged.location.display().to_string())) }
            dt { "Problem" }
            dd id="problem" { (Text(damaged.problem.to_string())) }
        }
        p class="hint" {
            "It is not trusted. Delete it, or import the certificate again to replace it."
        }
        div class="actions" {
            a class="button danger" id="delete" href=(page.to(&format!("{path}/delete"))) { "Delete" }
        }
    };
    let flash = page.take_flash();
    page.render(&full, flash.as_ref(), body).into_response()
}
/// How long ago, in the largest whole unit: "just now", "5 minutes ago", "3 days ago".
fn ago(elapsed: time::Duration) -> String {
    let plural = |count: i64, unit: &str| {
        if count == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{count} {unit}s ago")
        }
    };
    match elapsed {
        // A use recorded by another process whose clock runs ahead.
        elapsed if elapsed.is_negative() => "just now".to_owned(),
        elapsed if elapsed.whole_days() > 0 => plural(elapsed.whole_days(), "day"),
        elapsed if elapsed.whole_hours() > 0 => plural(elapsed.whole_hours(), "hour"),
        elapsed if elapsed.whole_minutes() > 0 => plural(elapsed.whole_minutes(), "minute"),
        _ => "just now".to_owned(),
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
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
pub(in crate::admin) struct DownloadQuery {
    format: Option<String>,
}

/// `GET /systems/{system}/certificates/{name}/download?format=pem|der`.
pub(in crate::admin) async fn download(
    page: Page,
    Path((system, name)): Path<(String, String)>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let (_, certificate) = stored_certificate(&page.console, &page.actor, &system, &name).await?;
    let format = query.ok().and_then(|Query(query)| query.format);
    // PEM unless DER is asked for.
    let format = if format.as_deref() == Some("der") {
        "der"
    } else {
        "pem"
    };
    Ok(certificate_file(&certificate, format)
        .ok_or_else(|| AdminError::internal(format!("no {format} file")))?)
}

/// `GET /systems/{system}/certificates/{name}/delete`: the confirmation.
pub(in crate::admin) async fn confirm_delete(
    page: Page,
    Path((system, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (system, name, entry) = stored_entry(&page.console, &page.actor, &system, &name).await?;
    let path = format!("{}/certificates/{name}", system_path(&system));
    let body = html! {
        h1 { "Delete this certificate?" }
        div class="panel" {
            p { code { (name) } }
            // A damaged entry is deleted like a certificate; the page says what it is instead.
            @match &entry {
                Ok(certificate) => {
                    p { (certificate.summary().subject) }
                    p {
                        (system) " will no longer be able to call in with it."
                        " This cannot be undone."
                    }
                }
                Err(damaged) => {
                    p {
                        (damaged_badge()) " "
                        code id="location" { (Text(damaged.location.display().to_string())) } ": "
                        span id="problem" { (Text(damaged.problem.to_string())) }
                    }
                    p {
                        "It is damaged and trusted by nobody; deleting it removes the entry."
                        " This cannot be undone."
                    }
                }
            }
            form method="post" action=(page.to(&format!("{path}/delete"))) class="actions" {
                (csrf_field(&page.session))
                button type="submit" class="danger" id="confirm-delete" { "Delete" }
                a class="button secondary" href=(page.to(&path)) { "Cancel" }
            }
        }
    };
    Ok(page.render("Delete", None, body).into_response())
}

/// `POST /systems/{system}/certificates/{name}/delete`.
pub(in crate::admin) async fn delete(
    page: Page,
    Path((system, name)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    page.check_csrf(csrf_of(form).as_deref())?;
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    let target = system.clone();
    page.console
        .blocking(&page.actor, move |registry| {
            registry.store(&target)?.delete(&name)
        })
        .await?;
    page.flash(Flash::ok(format!("Deleted {name}"), vec![]));
    Ok(page.see_other(&system_path(&system)))
}

/// The form that suspends a certificate: the CSRF token and the reason.
#[derive(Debug, Deserialize)]
pub(in crate::admin) struct SuspendForm {
    csrf: Option<String>,
    reason: Option<String>,
}

/// `GET /systems/{system}/certificates/{name}/suspend`: asks why, and to confirm.
pub(in crate::admin) async fn confirm_suspend(
    page: Page,
    Path((system, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (system, certificate) =
        stored_certificate(&page.console, &page.actor, &system, &name).await?;
    let name = certificate.name();
    let path = format!("{}/certificates/{name}", system_path(&system));
    let body = html! {
        h1 { "Suspend this certificate?" }
        div class="panel" {
            p { code { (name) } }
            p { (certificate.summary().subject) }
            p {
                (system) " will not be able to call in with it until it is resumed. It stays "
                "stored, and resuming it trusts it again at once."
            }
            form method="post" action=(page.to(&format!("{path}/suspend"))) class="actions" {
                (csrf_field(&page.session))
                label {
                    "Reason (recorded in the activity) "
                    input type="text" name="reason" id="reason" required maxlength=(MAX_REASON_CHARS)
                        placeholder="key possibly leaked: ticket 4711";
                }
                button type="submit" class="danger" id="confirm-suspend" { "Suspend" }
                a class="button secondary" href=(page.to(&path)) { "Cancel" }
            }
        }
    };
    Ok(page.render("Suspend", None, body).into_response())
}

/// `POST /systems/{system}/certificates/{name}/suspend`.
pub(in crate::admin) async fn suspend(
    page: Page,
    Path((system, name)): Path<(String, String)>,
    form: Result<Form<SuspendForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form.ok().map(|Form(form)| form);
    page.check_csrf(form.as_ref().and_then(|form| form.csrf.as_deref()))?;
    let reason = form.and_then(|form| form.reason).unwrap_or_default();
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    let target = system.clone();
    page.console
        .blocking(&page.actor, move |registry| {
            registry.store(&target)?.suspend(&name, &reason)
        })
        .await?;
    page.flash(Flash::ok(
        format!("Suspended {name}"),
        vec!["Every handshake with it is refused until it is resumed.".to_owned()],
    ));
    Ok(page.see_other(&format!("{}/certificates/{name}", system_path(&system))))
}

/// `GET /systems/{system}/certificates/{name}/resume`: asks to confirm.
pub(in crate::admin) async fn confirm_resume(
    page: Page,
    Path((system, name)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (system, certificate) =
        stored_certificate(&page.console, &page.actor, &system, &name).await?;
    let name = certificate.name();
    let path = format!("{}/certificates/{name}", system_path(&system));
    let body = html! {
        h1 { "Resume this certificate?" }
        div class="panel" {
            p { code { (name) } }
            p { (certificate.summary().subject) }
            p { (system) " will be able to call in with it again at once." }
            form method="post" action=(page.to(&format!("{path}/resume"))) class="actions" {
                (csrf_field(&page.session))
                button type="submit" id="confirm-resume" { "Resume" }
                a class="button secondary" href=(page.to(&path)) { "Cancel" }
            }
        }
    };
    Ok(page.render("Resume", None, body).into_response())
}

/// `POST /systems/{system}/certificates/{name}/resume`.
pub(in crate::admin) async fn resume(
    page: Page,
    Path((system, name)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    page.check_csrf(csrf_of(form).as_deref())?;
    let system = system_name(&system)?;
    let name = certificate_name(&name)?;
    let target = system.clone();
    page.console
        .blocking(&page.actor, move |registry| {
            registry.store(&target)?.resume(&name)
        })
        .await?;
    page.flash(Flash::ok(format!("Resumed {name}"), vec![]));
    Ok(page.see_other(&format!("{}/certificates/{name}", system_path(&system))))
}
