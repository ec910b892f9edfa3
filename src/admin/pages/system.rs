//! A system's page: its *Inbound Certificates*, the import, deleting the expired ones, and
//! removing the system.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};

use serde::Deserialize;

use super::{csrf_of, error_page, respond, see_other, system_path, CsrfForm};
use crate::admin::api::system_name;
use crate::admin::auth::{check_csrf, Actor, Base, SessionContext};
use crate::admin::html::{badge, esc, instant, page, unusable_badge, w, Flash, DAMAGED_BADGE};
use crate::admin::{upload, Console};
use crate::decode::decode_with;
use crate::store::{CertificateStore, ImportPolicy, RefusalReason, StoreError};

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
                 <label><input type=\"checkbox\" name=\"allow_expired\" id=\"allow-expired\" value=\"true\"> {ALLOW_EXPIRED}</label>\
                 <label><input type=\"checkbox\" name=\"allow_without_client_auth\" id=\"allow-without-client-auth\" value=\"true\"> {ALLOW_WITHOUT_CLIENT_AUTH}</label>\
                 <label><input type=\"checkbox\" name=\"allow_ca\" id=\"allow-ca\" value=\"true\"> {ALLOW_CA}</label>\
                 <label><input type=\"checkbox\" name=\"allow_weak\" id=\"allow-weak\" value=\"true\"> {ALLOW_WEAK}</label>\
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
                    badge(&status) + &unusable_badge(summary, &console.config().tls_keys),
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
        } else {
            // Its certificates go with it: first a page that lists them.
            w!(
                body,
                "<a class=\"button secondary\" id=\"remove-system\" href=\"{}\">Remove system…</a>",
                esc(&base.to(&format!("{path}/remove"))),
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
    let policy = upload.named(
        ImportPolicy::new(console.now())
            .allow_expired(upload.flag("allow_expired"))
            .allow_ca(upload.flag("allow_ca"))
            .allow_weak(upload.flag("allow_weak"))
            .tls_key_types(console.config().tls_keys.clone())
            .allow_without_client_auth(upload.flag("allow_without_client_auth"))
            .decode_options(console.config().decode.clone()),
    );
    let target = name.clone();
    let imported = console
        .blocking(&actor, move |registry| {
            let imported = match registry
                .store(&target)?
                .import_upload(&upload.file, &policy)
            {
                Ok(imported) => imported,
                Err(error) => match refusal_hint(&error) {
                    // A refusal that a checkbox of the form would allow: said in the
                    // library's words, then which box to tick.
                    Some(hint) => return Ok(Err(vec![error.to_string(), hint])),
                    None => return Err(error),
                },
            };
            // The subjects, from the upload already in memory (outcomes come in its order),
            // not read back from the store: the import succeeded, and a failed read must not
            // report it as failed.
            let certificates = decode_with(&upload.file, &policy.decode).unwrap_or_default();
            let count = |code: &str| imported.iter().filter(|o| o.code() == code).count();
            let counts = (
                count("added") + count("renewed"),
                count("already_present"),
                count("skipped"),
            );
            let mut lines = Vec::with_capacity(imported.len());
            for (index, outcome) in imported.iter().enumerate() {
                let subject = certificates
                    .get(index)
                    .map(|certificate| certificate.summary().subject.to_string())
                    .unwrap_or_default();
                lines.push(match outcome {
                    crate::store::ImportOutcome::Added(name) => format!("imported: {name} ({subject})"),
                    crate::store::ImportOutcome::Renewed {
                        name,
                        renews,
                        renews_not_after,
                    } => format!(
                        "imported: {name} ({subject}), a renewal of {renews}, which ends {}: delete that one once no client presents it",
                        instant(*renews_not_after)
                    ),
                    crate::store::ImportOutcome::AlreadyPresent(name) => {
                        format!("already present: {name} ({subject})")
                    }
                    crate::store::ImportOutcome::Skipped(name, reason) => {
                        format!("skipped {subject} ({name}): {reason}")
                    }
                });
            }
            Ok(Ok((counts, lines)))
        })
        .await;
    let flash = match imported {
        Ok(Ok(((added, present, skipped), lines))) => {
            Flash::ok(import_heading(added, present, skipped), lines)
        }
        Ok(Err(lines)) => Flash::error("Nothing was imported", lines),
        Err(error) => Flash::error("Nothing was imported", vec![error.message]),
    };
    console.flash(&session, flash);
    see_other(&base, &system_path(&name))
}

/// The import form's checkboxes, as labelled (and as the refusals they would allow name them).
const ALLOW_EXPIRED: &str = "allow expired certificates";
const ALLOW_WITHOUT_CLIENT_AUTH: &str = "allow certificates without clientAuth";
const ALLOW_CA: &str = "allow CA certificates";
const ALLOW_WEAK: &str = "allow keys that could never authenticate";

/// For a refusal that one of the import form's checkboxes would allow, the sentence that
/// names it.
fn refusal_hint(error: &StoreError) -> Option<String> {
    let StoreError::Refused(refusal) = error else {
        return None;
    };
    let checkbox = match refusal.reason {
        RefusalReason::Expired { .. } => ALLOW_EXPIRED,
        RefusalReason::NotForClientAuth => ALLOW_WITHOUT_CLIENT_AUTH,
        RefusalReason::CaCertificate => ALLOW_CA,
        RefusalReason::WeakKey(_) => ALLOW_WEAK,
    };
    Some(format!("tick “{checkbox}” to import it anyway"))
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

/// `GET /systems/{system}/remove`: the confirmation, listing the certificates (and damaged
/// entries) that would go with the system.
pub(in crate::admin) async fn confirm_remove(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
) -> Response {
    let result = async {
        let system = system_name(&system)?;
        let lookup = system.clone();
        let listing = console
            .blocking(&actor, move |registry| registry.store(&lookup)?.list())
            .await?;
        let path = system_path(&system);
        let held = listing.certificates.len() + listing.damaged.len();
        let mut body = format!(
            "<h1>Remove the system {}?</h1><div class=\"panel\">",
            esc(system.as_str())
        );
        if held == 0 {
            body.push_str("<p class=\"empty\" id=\"no-certificates\">It holds no certificates.</p>");
        } else {
            w!(
                body,
                "<p id=\"remove-warning\">Its {} go with it: the clients that present them are refused \
                 from the next request on.</p><ul id=\"removed-certificates\">",
                certificates(held)
            );
            for certificate in &listing.certificates {
                let summary = certificate.summary();
                w!(
                    body,
                    "<li><span class=\"dn\">{}</span> <code>{}</code> (expires {})</li>",
                    esc(&summary.subject.to_string()),
                    esc(&certificate.name().to_string()),
                    instant(summary.validity.not_after)
                );
            }
            for entry in &listing.damaged {
                w!(
                    body,
                    "<li class=\"damaged\">{} <code>{}</code>: {}</li>",
                    DAMAGED_BADGE,
                    esc(&entry.location.display().to_string()),
                    esc(&entry.problem.to_string())
                );
            }
            body.push_str("</ul>");
        }
        // The count confirmed goes with the form: if the system holds another number when
        // the form comes back, nothing is removed and the page is shown again.
        w!(
            body,
            "<form method=\"post\" action=\"{}\" class=\"actions\">{}\
             <input type=\"hidden\" name=\"with_certificates\" value=\"{}\">\
             <input type=\"hidden\" name=\"holding\" value=\"{held}\">\
             <button type=\"submit\" class=\"danger\" id=\"confirm-remove\">{}</button></form>",
            esc(&base.to(&format!("{path}/remove"))),
            crate::admin::html::csrf_field(&session),
            held > 0,
            if held == 0 {
                "Remove the system".to_owned()
            } else {
                format!("Remove the system and its {}", certificates(held))
            },
        );
        w!(body, "<p><a href=\"{}\" id=\"cancel\">Cancel</a></p></div>", esc(&base.to(&path)));
        Ok(Html(page(&base, Some(&session), "Remove system", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// `N certificate(s)` in words.
fn certificates(count: usize) -> String {
    format!("{count} certificate{}", if count == 1 { "" } else { "s" })
}

/// The fields of the form that removes a system.
#[derive(Debug, Deserialize)]
pub(in crate::admin) struct RemoveForm {
    csrf: Option<String>,
    /// `true` from the confirmation page: remove its certificates too.
    with_certificates: Option<String>,
    /// How many certificates and damaged entries the confirmation listed.
    holding: Option<usize>,
}

/// `POST /systems/{system}/remove`: removes an empty system, or, from the confirmation page,
/// a system with the certificates the page listed.
pub(in crate::admin) async fn remove_system(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    Path(system): Path<String>,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Response {
    let result = async {
        let form = form.ok().map(|Form(form)| form);
        check_csrf(&session, form.as_ref().and_then(|form| form.csrf.as_deref()))?;
        let system = system_name(&system)?;
        let with_certificates = form
            .as_ref()
            .is_some_and(|form| form.with_certificates.as_deref() == Some("true"));
        let confirmed = form.and_then(|form| form.holding);
        let target = system.clone();
        let removed = console
            .blocking(&actor, move |registry| {
                if with_certificates {
                    let listing = registry.store(&target)?.list()?;
                    let held = listing.certificates.len() + listing.damaged.len();
                    if confirmed != Some(held) {
                        return Ok(Err(held));
                    }
                }
                registry.remove_system(&target, with_certificates).map(Ok)
            })
            .await;
        match removed {
            Ok(Ok(removed)) => {
                let title = if removed == 0 {
                    format!("Removed the system {system}")
                } else {
                    format!("Removed the system {system} with its {}", certificates(removed))
                };
                console.flash(&session, Flash::ok(title, vec![]));
                Ok(see_other(&base, "/"))
            }
            Ok(Err(held)) => {
                console.flash(
                    &session,
                    Flash::error(
                        "The system was not removed",
                        vec![format!(
                            "it holds {} now, not the {} listed when you confirmed; look at the list again",
                            certificates(held),
                            confirmed.unwrap_or_default()
                        )],
                    ),
                );
                Ok(see_other(&base, &system_path(&system)))
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
