//! The identify page: which systems trust a certificate, given as a file or a fingerprint.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;

use super::{error_page, system_path};
use crate::admin::api::typed_fingerprint;
use crate::admin::auth::{check_csrf, Actor, Base, SessionContext};
use crate::admin::html::{esc, page, w};
use crate::admin::{upload, AdminError, Console};
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
pub(in crate::admin) async fn identify_form(
    Extension(base): Extension<Base>,
    Extension(session): Extension<SessionContext>,
) -> Response {
    Html(identify_page(&base, &session, "", None)).into_response()
}

/// `POST /identify`: the systems that trust the certificate of the uploaded file (each
/// certificate of a bundle), or of the fingerprint typed in.
pub(in crate::admin) async fn identify(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    request: Request,
) -> Response {
    let limit = console.config().decode.max_input_bytes;
    let form = match upload::read_form(&console, request, limit, Some(&session), false).await {
        Ok(form) => form,
        Err(error) if error.code == "csrf" => return error_page(&base, error),
        Err(error) => return refused(&base, &session, "", error),
    };
    if let Err(error) = check_csrf(&session, form.fields.get("csrf").map(String::as_str)) {
        return error_page(&base, error);
    }
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
        Err(error) => return refused(&base, &session, &typed, error),
    };
    let identified = console
        .blocking(&actor, move |registry| {
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
    match identified {
        Ok(identified) => {
            Html(identify_page(&base, &session, &typed, Some(&identified))).into_response()
        }
        Err(error) => refused(&base, &session, &typed, error),
    }
}

/// The form again, with why the request was refused, and the error's status.
fn refused(base: &Base, session: &SessionContext, typed: &str, error: AdminError) -> Response {
    let mut body = String::new();
    w!(
        body,
        "<p class=\"flash error\" id=\"identify-error\">{}</p>",
        esc(&error.message)
    );
    let status = if error.status.is_client_error() || error.status.is_server_error() {
        error.status
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Html(identify_page_with(base, session, typed, &body)),
    )
        .into_response()
}

fn identify_page(
    base: &Base,
    session: &SessionContext,
    typed: &str,
    identified: Option<&[Identified]>,
) -> String {
    let mut result = String::new();
    if let Some(identified) = identified {
        result.push_str("<section id=\"identify-result\">");
        for certificate in identified {
            let name = CertificateName::from(certificate.fingerprint);
            w!(
                result,
                "<div class=\"panel identified\" data-fingerprint=\"{}\"><h2 class=\"dn\">{}</h2><p><code>{}</code></p>",
                certificate.fingerprint,
                esc(certificate.subject.as_deref().unwrap_or("A certificate")),
                esc(&name.to_string()),
            );
            if certificate.systems.is_empty() {
                result.push_str(
                    "<p class=\"empty untrusted\">No system trusts this certificate.</p>",
                );
            } else {
                w!(
                    result,
                    "<p>Trusted by {} system{}:</p><ul class=\"systems\">",
                    certificate.systems.len(),
                    if certificate.systems.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
                for system in &certificate.systems {
                    w!(
                        result,
                        "<li data-system=\"{0}\"><a href=\"{1}\">{0}</a> ({2})</li>",
                        esc(system.name().as_str()),
                        esc(&base.to(&format!(
                            "{}/certificates/{name}",
                            system_path(system.name())
                        ))),
                        system.kind(),
                    );
                }
                result.push_str("</ul>");
            }
            result.push_str("</div>");
        }
        result.push_str("</section>");
    }
    identify_page_with(base, session, typed, &result)
}

/// The page: the form (the fingerprint typed kept in its field), then `after`.
fn identify_page_with(base: &Base, session: &SessionContext, typed: &str, after: &str) -> String {
    let mut body = String::from(
        "<h1>Identify a certificate</h1><p class=\"hint\">Which systems trust a client \
         certificate: upload its file, or paste its SHA-256 fingerprint in any spelling.</p>",
    );
    w!(
        body,
        "<form method=\"post\" action=\"{}\" enctype=\"multipart/form-data\" class=\"panel actions\" id=\"identify-form\">{}\
         <label>Certificate file <input type=\"file\" name=\"file\" id=\"file\" \
         accept=\".crt,.pem,.der,.cer,.p7b\"></label>\
         <label>or fingerprint <input type=\"text\" name=\"fingerprint\" id=\"fingerprint\" value=\"{}\" \
         maxlength=\"200\" placeholder=\"AB:CD:… or cert_client_…\" autocomplete=\"off\"></label>\
         <button type=\"submit\" id=\"identify\">Identify</button></form>",
        esc(&base.to("/identify")),
        crate::admin::html::csrf_field(session),
        esc(typed),
    );
    body.push_str(after);
    page(base, Some(session), "Identify", None, &body)
}
