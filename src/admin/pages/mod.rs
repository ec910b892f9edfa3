//! The web pages: server-rendered HTML, forms that work without JavaScript, every change
//! followed by a redirect to a page that shows its outcome.

use axum::extract::rejection::FormRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

mod certificate;
mod identify;
mod system;

pub(super) use certificate::{certificate, confirm_delete, delete, download};
pub(super) use identify::{identify, identify_form};
pub(super) use system::{
    confirm_purge, confirm_remove, import, purge_expired, remove_system, system,
};

use super::api::{self, HistoryParameters};
use super::auth::{check_csrf, Actor, Base, SessionContext};
use super::html::{badge, esc, instant, page, w, Flash, DAMAGED_BADGE, STYLE_SHEET};
use super::{AdminError, Console};
use crate::system::SystemName;

/// A page for an error, with its status.
pub(super) fn error_page(base: &Base, error: AdminError) -> Response {
    let retry_after = error.retry_after_header();
    let body = format!(
        "<h1>{}</h1><p id=\"error\">{}</p><p><a href=\"{}\">Back to the systems</a></p>",
        esc(error.status.canonical_reason().unwrap_or("Error")),
        esc(&error.message),
        esc(&base.to("/"))
    );
    let mut response = (error.status, Html(page(base, None, "Error", None, &body))).into_response();
    if let Some((name, value)) = retry_after {
        response.headers_mut().insert(name, value);
    }
    response
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

/// 413 for a form's body over the console's limit for forms.
pub(super) fn form_too_large() -> AdminError {
    AdminError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "a form or JSON body sent to the console is at most {} bytes; this one is longer",
            super::FORM_BODY_LIMIT
        ),
    )
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
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let client = connection.map(|Extension(ConnectInfo(address))| address);
    let token = match form {
        Ok(Form(form)) => form.token.unwrap_or_default(),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_page(&base, form_too_large());
        }
        Err(_) => String::new(),
    };
    if let Err(error) = console.count_attempt(client) {
        return error_page(&base, error);
    }
    let Some(admin) = console.admin_with_token(token.trim()) else {
        console
            .refused_token(
                client,
                "the token entered on the login page is no administrator's",
            )
            .await;
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(
                &base,
                Some("That token is not the console's. Try again."),
            )),
        )
            .into_response();
    };
    console.forgive(client);
    match console.start_session(admin) {
        Ok(id) => {
            let mut response = see_other(&base, "/");
            if let Ok(cookie) = HeaderValue::from_str(&console.session_cookie(&base, &id)) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
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
        response.headers_mut().insert(header::SET_COOKIE, cookie);
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
                    "<table id=\"systems\"><thead><tr><th>System</th><th>Kind</th><th class=\"num\">Valid</th>\
                     <th class=\"num\">Expiring</th><th class=\"num\">Expired</th>\
                     <th class=\"num\">Damaged</th><th>Status</th></tr></thead><tbody>",
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
                due_list(&mut body, &base, &overviews, now, warn);
            }
            for entry in &damaged {
                w!(body, "<p class=\"flash error\">{} {}</p>", DAMAGED_BADGE, esc(&entry.to_string()));
            }
            w!(
                body,
                "<h2>Add a system</h2><form method=\"post\" action=\"{}\" class=\"panel actions\">{}\
                 <label>Name <input type=\"text\" name=\"name\" id=\"system-name\" required \
                 pattern=\"[a-z0-9][a-z0-9._\\-]*\" maxlength=\"64\" placeholder=\"crm\" \
                 title=\"1 to 64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit\"></label>\
                 <label>Kind <select name=\"kind\" id=\"system-kind\"><option value=\"source\">source</option>\
                 <option value=\"proxy\">proxy</option></select></label>\
                 <button type=\"submit\" id=\"add-system\">Add system</button></form>",
                esc(&base.to("/systems")),
                crate::admin::html::csrf_field(&session),
            );
            let flash = console.take_flash(&session);
            Html(page(&base, Some(&session), "Systems", flash.as_ref(), &body)).into_response()
        });
    respond(&base, result)
}

/// The most certificates the overview lists as due.
const DUE_SHOWN: usize = 50;

/// The expired and expiring certificates of every system, the soonest end first, each
/// linked to its details (at most [`DUE_SHOWN`], then how many more).
fn due_list(
    body: &mut String,
    base: &Base,
    overviews: &[crate::registry::SystemOverview],
    now: time::OffsetDateTime,
    warn: time::Duration,
) {
    let mut due: Vec<(&crate::SystemName, &crate::Certificate)> = overviews
        .iter()
        .flat_map(|overview| {
            overview
                .due
                .iter()
                .map(move |c| (overview.system.name(), c))
        })
        .collect();
    if due.is_empty() {
        return;
    }
    due.sort_by_key(|(_, certificate)| certificate.summary().validity.not_after);
    body.push_str(
        "<h2>Expired and expiring soon</h2><table id=\"due\"><thead><tr><th>Name</th>\
         <th>System</th><th>Subject</th><th>Expires</th><th>Status</th></tr></thead><tbody>",
    );
    for (system, certificate) in due.iter().take(DUE_SHOWN) {
        let summary = certificate.summary();
        let full = certificate.name().to_string();
        let short: String = full.chars().take(20).collect();
        w!(
            body,
            "<tr><td><a href=\"{}\" title=\"{}\"><code>{}…</code></a></td><td>{}</td>\
             <td class=\"dn\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&base.to(&format!("{}/certificates/{full}", system_path(system)))),
            esc(&full),
            esc(&short),
            esc(system.as_str()),
            esc(&summary.subject.to_string()),
            instant(summary.validity.not_after),
            badge(&summary.validity.status_at(now, warn)),
        );
    }
    body.push_str("</tbody></table>");
    if due.len() > DUE_SHOWN {
        w!(
            body,
            "<p class=\"hint\" id=\"due-more\">and {} more: see each system's page</p>",
            due.len() - DUE_SHOWN
        );
    }
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

/// `GET /activity`: the audit trail, newest first (`?system=` for one system's).
pub(super) async fn activity(
    State(console): State<Console>,
    Extension(base): Extension<Base>,
    Extension(actor): Extension<Actor>,
    Extension(session): Extension<SessionContext>,
    parameters: Result<api::Parameters<HistoryParameters>, AdminError>,
) -> Response {
    let result = async {
        let api::Parameters(parameters) = parameters?;
        let query = parameters.query()?;
        let (history, systems) = console
            .blocking(&actor, move |registry| {
                Ok((registry.history(&query)?, registry.systems()?.systems))
            })
            .await?;
        let chosen = parameters.system().unwrap_or_default();
        let mut body = format!(
            "<h1>Activity</h1><p class=\"hint\">Every change, newest first, with who made it.</p>\
             <form method=\"get\" action=\"{}\" class=\"actions\"><label>System \
             <select name=\"system\" id=\"activity-system\"><option value=\"\">all systems</option>",
            esc(&base.to("/activity"))
        );
        for system in &systems {
            let name = system.name().as_str();
            w!(
                body,
                "<option value=\"{0}\"{1}>{0}</option>",
                esc(name),
                if name == chosen { " selected" } else { "" }
            );
        }
        body.push_str("</select></label><button type=\"submit\" class=\"secondary\" id=\"activity-filter\">Show</button></form>");
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
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"dn\">{}</td><td>{}</td><td class=\"detail\">{}</td></tr>",
                    instant(record.time),
                    esc(&record.actor),
                    record.action.as_str(),
                    esc(record.system.as_ref().map_or("", SystemName::as_str)),
                    clamped(&match (&record.certificate, &record.subject) {
                        (Some(name), Some(subject)) => format!("{name} ({subject})"),
                        (Some(name), None) => name.to_string(),
                        _ => String::new(),
                    }),
                    record.outcome.as_str(),
                    clamped(&record.detail),
                );
            }
            body.push_str("</tbody></table>");
        }
        for line in &history.damaged {
            w!(body, "<p class=\"flash error\">{} {}</p>", DAMAGED_BADGE, esc(line));
        }
        if history.more_damaged > 0 {
            w!(
                body,
                "<p class=\"flash error\">{} and {} more lines of the trail that are not records</p>",
                DAMAGED_BADGE,
                history.more_damaged
            );
        }
        Ok(Html(page(&base, Some(&session), "Activity", None, &body)).into_response())
    }
    .await;
    respond(&base, result)
}

/// Text longer than this many characters is shown clamped (console.css), in a `<details>`
/// that opens to the whole text: a long refusal keeps its row as short as the others.
const LONG_TEXT: usize = 80;

/// A cell's text on the activity page, escaped, clamped when long.
fn clamped(text: &str) -> String {
    if text.chars().count() > LONG_TEXT {
        format!(
            "<details class=\"long\"><summary title=\"Show the whole text\">{}</summary></details>",
            esc(text)
        )
    } else {
        esc(text).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::clamped;

    #[test]
    fn long_text_is_clamped_in_a_details_element_and_escaped() {
        assert_eq!(clamped("a <b>"), "a &lt;b&gt;");
        let long = format!("{}<end>", "x".repeat(80));
        assert_eq!(
            clamped(&long),
            format!(
                "<details class=\"long\"><summary title=\"Show the whole text\">{}&lt;end&gt;</summary></details>",
                "x".repeat(80)
            )
        );
        // Counted in characters, not bytes.
        assert_eq!(clamped(&"é".repeat(80)), "é".repeat(80));
    }
}
