//! A system's page: its *Inbound Certificates*, the import, deleting the expired ones, and
//! removing the system.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};

use super::{csrf_of, error_page, respond, see_other, system_path, CsrfForm};
use crate::admin::api::system_name;
use crate::admin::auth::{check_csrf, Actor, Base, SessionContext};
use crate::admin::html::{badge, esc, instant, page, w, Flash, DAMAGED_BADGE};
use crate::admin::{upload, Console};
use crate::decode::decode_with;
use crate::store::{CertificateStore, ImportPolicy};

/// `GET /systems/{system}`: its *Inbound Certificates*, the import form and the actions.
pub(in crate::admin) async fn system(
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
                crate::admin::html::csrf_field(&session),
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
                // Linked to its details page (which offers to delete it) when it is under a
                // certificate's name.
                let location = esc(&entry.location.display().to_string()).to_string();
                let name = entry
                    .location
                    .file_name()
                    .and_then(|file| file.to_str())
                    .and_then(|file| file.strip_suffix(".der"))
                    .and_then(|stem| stem.parse::<crate::fingerprint::CertificateName>().ok());
                let shown = match name {
                    Some(name) => format!(
                        "<a href=\"{}\"><code>{location}</code></a>",
                        esc(&base.to(&format!("{path}/certificates/{name}")))
                    ),
                    None => format!("<code>{location}</code>"),
                };
                w!(
                    body,
                    "<tr class=\"damaged\"><td colspan=\"4\">{shown}: {}</td><td>{}</td></tr>",
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
                crate::admin::html::csrf_field(&session),
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
pub(in crate::admin) async fn import(
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
    let upload = match upload::read(&console, request, limit, Some(&session)).await {
        Ok(upload) => upload,
        // Not a form of this session's: nothing goes to its next page.
        Err(error) if error.code == "csrf" => return error_page(&base, error),
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
            let imported = registry
                .store(&target)?
                .import_upload(&upload.file, &policy)?;
            // The subjects, from the upload already in memory (outcomes come in its order),
            // not read back from the store: the import succeeded, and a failed read must not
            // report it as failed.
            let certificates = decode_with(&upload.file, &policy.decode).unwrap_or_default();
            let count = |code: &str| imported.iter().filter(|o| o.code() == code).count();
            let counts = (count("added"), count("already_present"), count("skipped"));
            let mut lines = Vec::with_capacity(imported.len());
            for (index, outcome) in imported.iter().enumerate() {
                let subject = certificates
                    .get(index)
                    .map(|certificate| certificate.summary().subject.to_string())
                    .unwrap_or_default();
                lines.push(match outcome {
                    crate::store::Imported::Added(name) => format!("imported: {name} ({subject})"),
                    crate::store::Imported::AlreadyPresent(name) => {
                        format!("already present: {name} ({subject})")
                    }
                    crate::store::Imported::Skipped(name, reason) => {
                        format!("skipped {subject} ({name}): {reason}")
                    }
                });
            }
            Ok((counts, lines))
        })
        .await;
    let flash = match imported {
        Ok(((added, present, skipped), lines)) => {
            Flash::ok(import_heading(added, present, skipped), lines)
        }
        Err(error) => Flash::error("Nothing was imported", vec![error.message]),
    };
    console.flash(&session, flash);
    see_other(&base, &system_path(&name))
}

/// The heading of an import's outcome: what was added, what was there already and what was
/// skipped (an import that added nothing does not say "Imported").
fn import_heading(added: usize, present: usize, skipped: usize) -> String {
    let certificates =
        |count: usize| format!("{count} certificate{}", if count == 1 { "" } else { "s" });
    let mut heading = match (added, present) {
        (0, present) => format!("Nothing new: {} already present", certificates(present)),
        (added, 0) => format!("Imported {}", certificates(added)),
        (added, present) => format!(
            "Imported {}; {present} already present",
            certificates(added)
        ),
    };
    if skipped > 0 {
        heading.push_str(&format!("; skipped {} of the chain", certificates(skipped)));
    }
    heading
}

/// `GET /systems/{system}/purge-expired`: the confirmation, listing what would go.
pub(in crate::admin) async fn confirm_purge(
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
                crate::admin::html::csrf_field(&session),
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
pub(in crate::admin) async fn purge_expired(
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
pub(in crate::admin) async fn remove_system(
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
