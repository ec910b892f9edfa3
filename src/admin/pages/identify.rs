//! The identify page: which systems trust a certificate, given as a file or a fingerprint.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};

use crate::admin::error::AdminError;
use crate::admin::page::{system_path, Page, PageError};
use crate::admin::request::typed_fingerprint;
use crate::admin::templates::{csrf_field, Text};
use crate::admin::upload;
use crate::decode::decode_with;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::StoreError;
use crate::system::System;

/// One certificate asked about: its subject when a file was given, and who trusts it.
struct Identified {
    subject: Option<String>,
    fingerprint: Fingerprint,
    systems: Vec<System>,
}

/// `GET /identify`: the form.
pub(in crate::admin) async fn identify_form(page: Page) -> Response {
    identify_page(&page, "", None).into_response()
}

/// `POST /identify`: the systems that trust the certificate of the uploaded file (each
/// certificate of a bundle), or of the fingerprint typed in.
pub(in crate::admin) async fn identify(
    page: Page,
    request: Request,
) -> Result<Response, PageError> {
    let console = &page.console;
    let limit = console.config().decode.max_input_bytes;
    let form = match upload::read_form(console, request, limit, Some(&page.session), false).await {
        Ok(form) => form,
        Err(error) if error.code == "csrf" => return Err(error.into()),
        Err(error) => return Ok(refused(&page, "", &error)),
    };
    page.check_csrf(form.fields.get("csrf").map(String::as_str))?;
    let typed = form
        .fields
        .get("fingerprint")
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    let asked: Result<Vec<(Option<String>, Fingerprint)>, AdminError> =
        match (form.file.is_empty(), typed.is_empty()) {
            (false, false) => Err(AdminError::bad_request(
                "malformed_request",
                "give a certificate file or a fingerprint, not both",
            )),
            (true, true) => Err(AdminError::bad_request(
                "malformed_request",
                "choose a certificate file or paste a fingerprint",
            )),
            (false, true) => decode_with(&form.file, &console.config().decode)
                .map_err(|error| AdminError::from(StoreError::Decode(error)))
                .map(|certificates| {
                    certificates
                        .iter()
                        .map(|certificate| {
                            (
                                Some(certificate.summary().subject.to_string()),
                                certificate.fingerprint(),
                            )
                        })
                        .collect()
                }),
            (true, false) => typed_fingerprint(&typed).map(|fingerprint| vec![(None, fingerprint)]),
        };
    let asked = match asked {
        Ok(asked) => asked,
        Err(error) => return Ok(refused(&page, &typed, &error)),
    };
    let identified = console
        .blocking(&page.actor, move |registry| {
            asked
                .into_iter()
                .map(|(subject, fingerprint)| {
                    Ok(Identified {
                        subject,
                        fingerprint,
                        systems: registry.identify(&fingerprint)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .await;
    Ok(match identified {
        Ok(identified) => identify_page(&page, &typed, Some(&identified)).into_response(),
        Err(error) => refused(&page, &typed, &error),
    })
}

/// The form again, with why the request was refused, and the error's status.
fn refused(page: &Page, typed: &str, error: &AdminError) -> Response {
    let status = if error.status.is_client_error() || error.status.is_server_error() {
        error.status
    } else {
        StatusCode::BAD_REQUEST
    };
    let after = html! { p class="flash error" id="identify-error" { (Text(&error.message)) } };
    (status, identify_page_with(page, typed, after)).into_response()
}

fn identify_page(page: &Page, typed: &str, identified: Option<&[Identified]>) -> Html<String> {
    let after = html! {
        @if let Some(identified) = identified {
            section id="identify-result" {
                @for certificate in identified {
                    @let name = CertificateName::from(certificate.fingerprint);
                    div class="panel identified" data-fingerprint=(certificate.fingerprint) {
                        h2 class="dn" {
                            (Text(certificate.subject.as_deref().unwrap_or("A certificate")))
                        }
                        p { code { (name) } }
                        @if certificate.systems.is_empty() {
                            p class="empty untrusted" { "No system trusts this certificate." }
                        } @else {
                            p {
                                "Trusted by " (certificate.systems.len()) " system"
                                (if certificate.systems.len() == 1 { "" } else { "s" }) ":"
                            }
                            ul class="systems" {
                                @for system in &certificate.systems {
                                    li data-system=(system.name()) {
                                        a href=(page.to(&format!(
                                            "{}/certificates/{name}",
                                            system_path(system.name())
                                        ))) { (system.name()) }
                                        " (" (system.kind().as_str()) ")"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    identify_page_with(page, typed, after)
}

/// The page: the form (the fingerprint typed kept in its field), then `after`.
fn identify_page_with(page: &Page, typed: &str, after: Markup) -> Html<String> {
    let body = html! {
        h1 { "Identify a certificate" }
        p class="hint" {
            "Which systems trust a client certificate: upload its file, or paste its SHA-256 \
             fingerprint in any spelling."
        }
        form method="post" action=(page.to("/identify")) enctype="multipart/form-data"
            class="panel actions" id="identify-form" {
            (csrf_field(&page.session))
            label {
                "Certificate file "
                input type="file" name="file" id="file" accept=".crt,.pem,.der,.cer,.p7b";
            }
            label {
                "or fingerprint "
                input type="text" name="fingerprint" id="fingerprint" value=(Text(typed))
                    maxlength="200" placeholder="AB:CD:… or cert_client_…" autocomplete="off";
            }
            button type="submit" id="identify" { "Identify" }
        }
        (after)
    };
    page.render("Identify", None, body)
}
