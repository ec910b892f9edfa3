//! One certificate's pages: its details, its download, and deleting it.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::{csrf_of, respond, see_other, system_path, CsrfForm};
use crate::admin::api::{self, certificate_name, system_name};
use crate::admin::auth::{check_csrf, Actor, Base, SessionContext};
use crate::admin::html::{badge, esc, instant, page, w, Flash, DAMAGED_BADGE};
use crate::admin::{AdminError, Console};
use crate::fingerprint::CertificateName;
use crate::store::{CertificateStore, DamagedEntry};
use crate::system::SystemName;

/// `GET /systems/{system}/certificates/{name}`: everything about one certificate.
pub(in crate::admin) async fn certificate(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path((system, name)): Path<(String, String)>,
) -> Response {
    let result = async {
        let (system, name, entry) = api::stored_entry(&console, &actor, &system, &name).await?;
        let certificate = match entry {
            Ok(certificate) => certificate,
            Err(damaged) => {
                let flash = console.take_flash(&session);
                return Ok(damaged_page(&base, &session, &system, &name, &damaged, flash.as_ref()));
            }
        };
        let lookup = system.clone();
        let this = certificate.clone();
        let (imported, renewed_by, renews) = console
            .blocking(&actor, move |registry| {
                let imported = registry.import_record(&lookup, &name)?;
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
                let renews = last(all.iter().filter(|c| this.renews(c)).collect());
                Ok((imported, renewed_by, renews))
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
            esc(&summary.subject.common_name().map_or_else(|| summary.subject.to_string(), |name| crate::summary::Visible::new(name).to_string())),
            esc(&full),
            badge(&status),
        );
        // One row per field, in the order the CLI's `show` prints them: a new field is one
        // more `row` (its id is what tests and scripts select).
        let mut row = |id: &str, label: &str, value: &str| {
            w!(body, "<dt>{label}</dt><dd id=\"{id}\">{}</dd>", esc(value));
        };
        row("subject", "Subject", &summary.subject.to_string());
        row("issuer", "Issuer", &summary.issuer.to_string());
        row("serial", "Serial number", &summary.serial.to_string());
        row("version", "X.509 version", &summary.version.to_string());
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
        row(
            "key-usage",
            "Key usage",
            &summary.key_usage.map_or_else(|| "not restricted".to_owned(), |usage| usage.to_string()),
        );
        let weaknesses: Vec<String> = summary
            .weaknesses(&console.config().tls_keys)
            .iter()
            .map(|weakness| format!("{weakness}"))
            .collect();
        row(
            "weaknesses",
            "Weaknesses",
            &if weaknesses.is_empty() { "none".to_owned() } else { weaknesses.join("; ") },
        );
        row("ca", "CA certificate", &match summary.path_len_constraint {
            Some(length) if summary.is_ca => format!("yes (path length {length})"),
            _ => yes_no(summary.is_ca).to_owned(),
        });
        row("self-issued", "Self-issued (subject = issuer)", yes_no(summary.self_issued));
        row(
            "self-signed",
            "Self-signed (signed with its own key)",
            yes_no(certificate.is_self_signed()),
        );
        row(
            "imported",
            "Imported",
            &imported.map_or_else(
                || "not in the audit trail".to_owned(),
                |record| format!("{} by {}", instant(record.time), record.actor),
            ),
        );
        body.push_str("</dl>");
        let link = |other: &crate::Certificate| {
            format!(
                "<a href=\"{}\"><code>{}</code></a> (valid until {})",
                esc(&base.to(&format!("{}/certificates/{}", system_path(&system), other.name()))),
                other.name(),
                instant(other.summary().validity.not_after),
            )
        };
        if let Some(newer) = &renewed_by {
            w!(
                body,
                "<p class=\"flash\" id=\"renewed-by\">Renewed by {}: once no client presents this certificate any more, retire it with <em>Delete</em>.</p>",
                link(newer)
            );
        }
        if let Some(older) = &renews {
            w!(body, "<p class=\"hint\" id=\"renews\">Renews {}.</p>", link(older));
        }
        body.push_str("<div class=\"actions\">");
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

/// The details page of a damaged entry: where it is, what is wrong, and how to delete it.
fn damaged_page(
    base: &Base,
    session: &SessionContext,
    system: &SystemName,
    name: &CertificateName,
    damaged: &DamagedEntry,
    flash: Option<&Flash>,
) -> Response {
    let full = name.to_string();
    let path = format!("{}/certificates/{full}", system_path(system));
    let body = format!(
        "<p><a href=\"{}\">← {}</a></p><h1>Damaged entry</h1><p><code id=\"name\">{}</code> {}</p>\
         <dl class=\"details\"><dt>Location</dt><dd id=\"location\">{}</dd>\
         <dt>Problem</dt><dd id=\"problem\">{}</dd></dl>\
         <p class=\"hint\">It is not trusted. Delete it, or import the certificate again to replace it.</p>\
         <div class=\"actions\"><a class=\"button danger\" id=\"delete\" href=\"{}\">Delete</a></div>",
        esc(&base.to(&system_path(system))),
        esc(system.as_str()),
        esc(&full),
        DAMAGED_BADGE,
        esc(&damaged.location.display().to_string()),
        esc(&damaged.problem.to_string()),
        esc(&base.to(&format!("{path}/delete"))),
    );
    Html(page(base, Some(session), &full, flash, &body)).into_response()
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
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Path((system, name)): Path<(String, String)>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Response {
    let result = async {
        let (_, certificate) = api::stored_certificate(&console, &actor, &system, &name).await?;
        let format = query.ok().and_then(|Query(query)| query.format);
        // PEM unless DER is asked for.
        let format = if format.as_deref() == Some("der") {
            "der"
        } else {
            "pem"
        };
        api::certificate_file(&certificate, format)
            .ok_or_else(|| AdminError::internal(format!("no {format} file")))
    }
    .await;
    respond(&base, result)
}

/// `GET /systems/{system}/certificates/{name}/delete`: the confirmation.
pub(in crate::admin) async fn confirm_delete(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path((system, name)): Path<(String, String)>,
) -> Response {
    let result = async {
        let (system, name, entry) = api::stored_entry(&console, &actor, &system, &name).await?;
        let path = format!("{}/certificates/{name}", system_path(&system));
        // A damaged entry is deleted like a certificate; the page says what it is instead.
        let (what, consequence) = match &entry {
            Ok(certificate) => (
                esc(&certificate.summary().subject.to_string()).to_string(),
                format!(
                    "{} will no longer be able to call in with it.",
                    esc(system.as_str())
                ),
            ),
            Err(damaged) => (
                format!(
                    "{} <code id=\"location\">{}</code>: <span id=\"problem\">{}</span>",
                    DAMAGED_BADGE,
                    esc(&damaged.location.display().to_string()),
                    esc(&damaged.problem.to_string())
                ),
                "It is damaged and trusted by nobody; deleting it removes the entry.".to_owned(),
            ),
        };
        let body = format!(
            "<h1>Delete this certificate?</h1><div class=\"panel\"><p><code>{}</code></p><p>{}</p>\
             <p>{} This cannot be undone.</p>\
             <form method=\"post\" action=\"{}\" class=\"actions\">{}\
             <button type=\"submit\" class=\"danger\" id=\"confirm-delete\">Delete</button>\
             <a class=\"button secondary\" href=\"{}\">Cancel</a></form></div>",
            esc(&name.to_string()),
            what,
            consequence,
            esc(&base.to(&format!("{path}/delete"))),
            crate::admin::html::csrf_field(&session),
            esc(&base.to(&path)),
        );
        Ok(Html(page(&base, Some(&session), "Delete", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// `POST /systems/{system}/certificates/{name}/delete`.
pub(in crate::admin) async fn delete(
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
