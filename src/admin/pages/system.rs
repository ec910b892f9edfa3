//! A system's page: its permissions, its *Inbound Certificates*, the import, deleting the
//! expired ones, and removing the system.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Request};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use crate::admin::page::{csrf_of, system_path, CsrfForm, Page, PageError};
use crate::admin::request::system_name;
use crate::admin::session::Flash;
use crate::admin::templates::{
    badge, csrf_field, damaged_badge, instant, short_name, suspended_badge, unusable_badge, Text,
    Time,
};
use crate::admin::upload;
use crate::decode::decode_with;
use crate::store::{CertificateStore, ImportPolicy, RefusalReason, StoreError};

/// `GET /systems/{system}`: its *Inbound Certificates*, the import form and the actions.
pub(in crate::admin) async fn system(
    page: Page,
    Path(system): Path<String>,
) -> Result<Response, PageError> {
    let name = system_name(&system)?;
    let (system, listing, suspensions) = page
        .console
        .blocking(&page.actor, move |registry| {
            let store = registry.store(&name)?;
            Ok((store.system().clone(), store.list()?, store.suspensions()?))
        })
        .await?;
    let (now, warn) = (page.console.now(), page.console.config().warn_within);
    let keys = &page.console.config().tls_keys;
    let name = system.name();
    let path = system_path(name);
    let empty = listing.certificates.is_empty() && listing.damaged.is_empty();
    let statuses: Vec<_> = listing
        .certificates
        .iter()
        .map(|certificate| certificate.summary().validity.status_at(now, warn))
        .collect();
    let expired = statuses.iter().filter(|status| status.is_expired()).count();
    let body = html! {
        h1 id="system-title" { (name) " " small { (system.kind().as_str()) " system" } }
        (super::permissions::section(&page, &system))
        h2 { "Inbound Certificates" }
        @if system.kind().accepts_inbound() {
            form method="post" action=(page.to(&format!("{path}/import")))
                enctype="multipart/form-data" class="panel actions" id="import-form" {
                (csrf_field(&page.session))
                label {
                    "Certificate file "
                    input type="file" name="file" id="file" required
                        accept=".crt,.pem,.der,.cer,.p7b";
                }
                label {
                    input type="checkbox" name="allow_expired" id="allow-expired" value="true";
                    " " (ALLOW_EXPIRED)
                }
                label {
                    input type="checkbox" name="allow_without_client_auth"
                        id="allow-without-client-auth" value="true";
                    " " (ALLOW_WITHOUT_CLIENT_AUTH)
                }
                label {
                    input type="checkbox" name="allow_ca" id="allow-ca" value="true";
                    " " (ALLOW_CA)
                }
                label {
                    input type="checkbox" name="allow_weak" id="allow-weak" value="true";
                    " " (ALLOW_WEAK)
                }
                button type="submit" id="import" { "Import" }
            }
        } @else {
            p class="hint" {
                "A target system has no inbound certificates: only source and proxy systems call in."
            }
        }
        @if empty {
            p class="empty" id="no-certificates" { "No certificates yet." }
        } @else {
            table id="certificates" {
                thead {
                    tr {
                        th { "Name" } th { "Subject" } th { "Issuer" } th { "Expires" }
                        th { "Status" }
                    }
                }
                tbody {
                    @for (certificate, status) in listing.certificates.iter().zip(&statuses) {
                        @let summary = certificate.summary();
                        @let certificate_name = certificate.name();
                        tr data-fingerprint=(summary.fingerprint) {
                            td {
                                (short_name(
                                    &page.to(&format!("{path}/certificates/{certificate_name}")),
                                    &certificate_name,
                                ))
                            }
                            td class="dn" { (summary.subject) }
                            td class="dn" { (summary.issuer) }
                            td { (Time(summary.validity.not_after)) }
                            td {
                                (badge(status)) (unusable_badge(summary, keys))
                                @if suspensions.contains_key(&certificate_name) {
                                    " " (suspended_badge())
                                }
                            }
                        }
                    }
                    @for entry in &listing.damaged {
                        // Linked to its details page (which offers to delete it) when it is
                        // under a certificate's name.
                        @let location = Text(entry.location.display().to_string());
                        @let stored_as = entry
                            .location
                            .file_name()
                            .and_then(|file| file.to_str())
                            .and_then(|file| file.strip_suffix(".der"))
                            .and_then(|stem| stem.parse::<crate::fingerprint::CertificateName>().ok());
                        tr class="damaged" {
                            td colspan="4" {
                                @if let Some(stored_as) = stored_as {
                                    a href=(page.to(&format!("{path}/certificates/{stored_as}"))) {
                                        code { (location) }
                                    }
                                } @else {
                                    code { (location) }
                                }
                                ": " (Text(entry.problem.to_string()))
                            }
                            td { (damaged_badge()) }
                        }
                    }
                }
            }
        }
        div class="actions" {
            @if expired > 0 {
                a class="button danger" id="purge" href=(page.to(&format!("{path}/purge-expired"))) {
                    "Delete expired (" (expired) ")"
                }
            }
            a class="button secondary" href=(page.to(&format!("/activity?system={name}"))) {
                "Activity of " (name)
            }
            @if empty {
                form method="post" action=(page.to(&format!("{path}/remove"))) class="inline" {
                    (csrf_field(&page.session))
                    button type="submit" class="secondary" id="remove-system" { "Remove system" }
                }
            } @else {
                // Its certificates go with it: first a page that lists them.
                a class="button secondary" id="remove-system" href=(page.to(&format!("{path}/remove"))) {
                    "Remove system…"
                }
            }
        }
    };
    let flash = page.take_flash();
    Ok(page
        .render(name.as_str(), flash.as_ref(), body)
        .into_response())
}

/// `POST /systems/{system}/import`: the outcome, per certificate, or the refusal, is shown on
/// the system's page.
pub(in crate::admin) async fn import(
    page: Page,
    Path(system): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let name = system_name(&system)?;
    let console = &page.console;
    let limit = console.config().decode.max_input_bytes;
    let upload = match upload::read(console, request, limit, Some(&page.session)).await {
        Ok(upload) => upload,
        // Not a form of this session's: nothing goes to its next page.
        Err(error) if error.code == "csrf" => return Err(error.into()),
        Err(error) => {
            page.flash(Flash::error("Nothing was imported", vec![error.message]));
            return Ok(page.see_other(&system_path(&name)));
        }
    };
    page.check_csrf(upload.fields.get("csrf").map(String::as_str))?;
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
        .blocking(&page.actor, move |registry| {
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
    page.flash(flash);
    Ok(page.see_other(&system_path(&name)))
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
    page: Page,
    Path(system): Path<String>,
) -> Result<Response, PageError> {
    let system = system_name(&system)?;
    let now = page.console.now();
    let lookup = system.clone();
    let expired = page
        .console
        .blocking(&page.actor, move |registry| {
            registry.store(&lookup)?.expired(now)
        })
        .await?;
    let path = system_path(&system);
    let body = html! {
        h1 { "Delete the expired certificates of " (system) "?" }
        div class="panel" {
            @if expired.is_empty() {
                p class="empty" { "None of its certificates has expired." }
            } @else {
                ul {
                    @for certificate in &expired {
                        li {
                            code { (certificate.name()) } " " (certificate.summary().subject)
                            " (expired " (Time(certificate.summary().validity.not_after)) ")"
                        }
                    }
                }
                form method="post" action=(page.to(&format!("{path}/purge-expired"))) class="actions" {
                    (csrf_field(&page.session))
                    button type="submit" class="danger" id="confirm-purge" {
                        "Delete " (expired.len()) " expired"
                    }
                }
            }
            p { a href=(page.to(&path)) { "Cancel" } }
        }
    };
    Ok(page.render("Delete expired", None, body).into_response())
}

/// `POST /systems/{system}/purge-expired`.
pub(in crate::admin) async fn purge_expired(
    page: Page,
    Path(system): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    page.check_csrf(csrf_of(form).as_deref())?;
    let system = system_name(&system)?;
    let now = page.console.now();
    let target = system.clone();
    let purged = page
        .console
        .blocking(&page.actor, move |registry| {
            registry.store(&target)?.purge_expired(now)
        })
        .await?;
    page.flash(Flash::ok(
        format!(
            "Deleted {} expired certificate{}",
            purged.len(),
            if purged.len() == 1 { "" } else { "s" }
        ),
        purged.iter().map(ToString::to_string).collect(),
    ));
    Ok(page.see_other(&system_path(&system)))
}

/// `GET /systems/{system}/remove`: the confirmation, listing the certificates (and damaged
/// entries) that would go with the system.
pub(in crate::admin) async fn confirm_remove(
    page: Page,
    Path(system): Path<String>,
) -> Result<Response, PageError> {
    let system = system_name(&system)?;
    let lookup = system.clone();
    let listing = page
        .console
        .blocking(&page.actor, move |registry| registry.store(&lookup)?.list())
        .await?;
    let path = system_path(&system);
    let held = listing.certificates.len() + listing.damaged.len();
    let body = html! {
        h1 { "Remove the system " (system) "?" }
        div class="panel" {
            @if held == 0 {
                p class="empty" id="no-certificates" { "It holds no certificates." }
            } @else {
                p id="remove-warning" {
                    "Its " (certificates(held)) " go with it: the clients that present them are \
                     refused from the next request on."
                }
                ul id="removed-certificates" {
                    @for certificate in &listing.certificates {
                        @let summary = certificate.summary();
                        li {
                            span class="dn" { (summary.subject) } " "
                            code { (certificate.name()) }
                            " (expires " (Time(summary.validity.not_after)) ")"
                        }
                    }
                    @for entry in &listing.damaged {
                        li class="damaged" {
                            (damaged_badge()) " "
                            code { (Text(entry.location.display().to_string())) } ": "
                            (Text(entry.problem.to_string()))
                        }
                    }
                }
            }
            // The count confirmed goes with the form: if the system holds another number
            // when the form comes back, nothing is removed and the page is shown again.
            form method="post" action=(page.to(&format!("{path}/remove"))) class="actions" {
                (csrf_field(&page.session))
                input type="hidden" name="with_certificates" value=(if held > 0 { "true" } else { "false" });
                input type="hidden" name="holding" value=(held);
                button type="submit" class="danger" id="confirm-remove" {
                    @if held == 0 {
                        "Remove the system"
                    } @else {
                        "Remove the system and its " (certificates(held))
                    }
                }
            }
            p { a href=(page.to(&path)) id="cancel" { "Cancel" } }
        }
    };
    Ok(page.render("Remove system", None, body).into_response())
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
    page: Page,
    Path(system): Path<String>,
    form: Result<Form<RemoveForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form.ok().map(|Form(form)| form);
    page.check_csrf(form.as_ref().and_then(|form| form.csrf.as_deref()))?;
    let system = system_name(&system)?;
    let with_certificates = form
        .as_ref()
        .is_some_and(|form| form.with_certificates.as_deref() == Some("true"));
    let confirmed = form.and_then(|form| form.holding);
    let target = system.clone();
    let removed = page
        .console
        .blocking(&page.actor, move |registry| {
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
                format!(
                    "Removed the system {system} with its {}",
                    certificates(removed)
                )
            };
            page.flash(Flash::ok(title, vec![]));
            Ok(page.see_other("/"))
        }
        Ok(Err(held)) => {
            page.flash(Flash::error(
                "The system was not removed",
                vec![format!(
                    "it holds {} now, not the {} listed when you confirmed; look at the list again",
                    certificates(held),
                    confirmed.unwrap_or_default()
                )],
            ));
            Ok(page.see_other(&system_path(&system)))
        }
        Err(error) => {
            page.flash(Flash::error(
                "The system was not removed",
                vec![error.message],
            ));
            Ok(page.see_other(&system_path(&system)))
        }
    }
}
