//! The web pages: server-rendered HTML, forms that work without JavaScript, every change
//! followed by a redirect to a page that shows its outcome.

use axum::extract::rejection::FormRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

mod certificate;
mod identify;
mod permissions;
mod system;

pub(super) use certificate::{
    certificate, confirm_delete, confirm_resume, confirm_suspend, delete, download, resume, suspend,
};
pub(super) use identify::{identify, identify_form};
pub(super) use permissions::set_permissions;
pub(super) use system::{
    confirm_purge, confirm_remove, import, purge_expired, remove_system, system,
};

use super::console::{worst_status, Base, Console};
use super::error::AdminError;
use super::page::{csrf_of, error_response, see_other, system_path, CsrfForm, Page, PageError};
use super::request::{parse_new_system, HistoryParameters, Parameters};
use super::session::Flash;
use super::templates::{
    badge, csrf_field, damaged_badge, page, short_name, Text, Time, STYLE_SHEET,
};

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
        error_response(&base, &error)
    }
}

fn login_page(base: &Base, problem: Option<&str>) -> Html<String> {
    let body = html! {
        section class="login panel" {
            h1 { "Log in" }
            @if let Some(problem) = problem {
                p class="flash error" id="login-error" { (Text(problem)) }
            }
            form method="post" action=(base.to("/login")) {
                label for="token" { "Console token" }
                input type="password" id="token" name="token" autocomplete="current-password" required autofocus;
                button type="submit" id="login" { "Log in" }
            }
            p class="hint" {
                "The token is the one the console was started with (the admin_console example prints it)."
            }
        }
    };
    page(base, None, "Log in", None, body)
}

/// `GET /login`.
pub(super) async fn login_form(Extension(base): Extension<Base>) -> Response {
    login_page(&base, None).into_response()
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
) -> Result<Response, PageError> {
    let client = connection.map(|Extension(ConnectInfo(address))| address);
    let token = match form {
        Ok(Form(form)) => form.token.unwrap_or_default(),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(AdminError::form_too_large().into());
        }
        Err(_) => String::new(),
    };
    console.count_attempt(client)?;
    let Some(admin) = console.admin_with_token(token.trim()) else {
        console
            .refused_token(
                client,
                "the token entered on the login page is no administrator's",
            )
            .await;
        let problem = "That token is not the console's. Try again.";
        return Ok((StatusCode::UNAUTHORIZED, login_page(&base, Some(problem))).into_response());
    };
    console.forgive(client);
    let id = console.start_session(admin)?;
    let mut response = see_other(&base, "/");
    if let Ok(cookie) = HeaderValue::from_str(&console.session_cookie(&base, &id)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /logout`.
pub(super) async fn logout(
    page: Page,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    page.check_csrf(csrf_of(form).as_deref())?;
    page.console.end_session(&page.session);
    let mut response = page.see_other("/login");
    if let Ok(cookie) = HeaderValue::from_str(&page.console.expired_cookie(&page.base)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /`: the systems, with their counts and worst status, and the form to add one.
pub(super) async fn systems(page: Page) -> Result<Response, PageError> {
    let console = &page.console;
    let (now, warn) = (console.now(), console.config().warn_within);
    let (overviews, damaged) = console
        .blocking(&page.actor, move |registry| {
            Ok((registry.overview(now, warn)?, registry.systems()?.damaged))
        })
        .await?;
    let body = html! {
        h1 { "Systems" }
        p class="hint" {
            "Each source or proxy system has its own inbound certificates: \
             the client certificates it may present when it calls this service."
        }
        @if overviews.is_empty() {
            p class="empty" id="no-systems" { "No systems yet: add one below." }
        } @else {
            table id="systems" {
                thead {
                    tr {
                        th { "System" } th { "Kind" } th class="num" { "Valid" }
                        th class="num" { "Expiring" } th class="num" { "Expired" }
                        th class="num" { "Damaged" } th { "Status" }
                    }
                }
                tbody {
                    @for overview in &overviews {
                        @let name = overview.system.name();
                        tr data-system=(name) {
                            td { a href=(page.to(&system_path(name))) { (name) } }
                            td { (overview.system.kind().as_str()) }
                            td class="num" { (overview.valid) }
                            td class="num" { (overview.expiring) }
                            td class="num" { (overview.expired) }
                            td class="num" { (overview.damaged) }
                            td { (status_badge(worst_status(overview))) }
                        }
                    }
                }
            }
            (due_list(&page, &overviews, now, warn))
        }
        @for entry in &damaged {
            p class="flash error" { (damaged_badge()) " " (Text(entry.to_string())) }
        }
        h2 { "Add a system" }
        form method="post" action=(page.to("/systems")) class="panel actions" {
            (csrf_field(&page.session))
            label {
                "Name "
                input type="text" name="name" id="system-name" required
                    pattern="[a-z0-9][a-z0-9._\\-]*" maxlength="64" placeholder="crm"
                    title="1 to 64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit";
            }
            label {
                "Kind "
                select name="kind" id="system-kind" {
                    option value="source" { "source" }
                    option value="proxy" { "proxy" }
                }
            }
            button type="submit" id="add-system" { "Add system" }
        }
    };
    let flash = page.take_flash();
    Ok(page.render("Systems", flash.as_ref(), body).into_response())
}

/// The most certificates the overview lists as due.
const DUE_SHOWN: usize = 50;

/// The expired and expiring certificates of every system, the soonest end first, each
/// linked to its details (at most [`DUE_SHOWN`], then how many more).
fn due_list(
    page: &Page,
    overviews: &[crate::registry::SystemOverview],
    now: time::OffsetDateTime,
    warn: time::Duration,
) -> Markup {
    let mut due: Vec<(&crate::SystemName, &crate::Certificate)> = overviews
        .iter()
        .flat_map(|overview| {
            overview
                .due
                .iter()
                .map(move |c| (overview.system.name(), c))
        })
        .collect();
    due.sort_by_key(|(_, certificate)| certificate.summary().validity.not_after);
    html! {
        @if !due.is_empty() {
            h2 { "Expired and expiring soon" }
            table id="due" {
                thead {
                    tr {
                        th { "Name" } th { "System" } th { "Subject" } th { "Expires" }
                        th { "Status" }
                    }
                }
                tbody {
                    @for (system, certificate) in due.iter().take(DUE_SHOWN) {
                        @let summary = certificate.summary();
                        @let name = certificate.name();
                        tr {
                            td {
                                (short_name(
                                    &page.to(&format!("{}/certificates/{name}", system_path(system))),
                                    &name,
                                ))
                            }
                            td { (system) }
                            td class="dn" { (summary.subject) }
                            td { (Time(summary.validity.not_after)) }
                            td { (badge(&summary.validity.status_at(now, warn))) }
                        }
                    }
                }
            }
            @if due.len() > DUE_SHOWN {
                p class="hint" id="due-more" {
                    "and " (due.len() - DUE_SHOWN) " more: see each system's page"
                }
            }
        }
    }
}

/// The badge of a system's worst state ([`worst_status`]).
fn status_badge(status: &str) -> Markup {
    let (class, text) = match status {
        "damaged" => return damaged_badge(),
        "expired" => ("expired", "expired"),
        "expiring" => ("expiring", "expiring"),
        "valid" => ("valid", "valid"),
        _ => ("none", "no certificates"),
    };
    html! { span class={ "badge " (class) } { (text) } }
}

#[derive(Debug, Deserialize)]
pub(super) struct NewSystemForm {
    csrf: Option<String>,
    name: Option<String>,
    kind: Option<String>,
}

/// `POST /systems`: add a system.
pub(super) async fn create_system(
    page: Page,
    form: Result<Form<NewSystemForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form.ok().map(|Form(form)| form);
    page.check_csrf(form.as_ref().and_then(|form| form.csrf.as_deref()))?;
    let (name, kind) = form
        .map(|form| (form.name.unwrap_or_default(), form.kind.unwrap_or_default()))
        .unwrap_or_default();
    let created = match parse_new_system(name.trim(), &kind) {
        Ok((name, kind)) => {
            let now = page.console.now();
            page.console
                .blocking(&page.actor, move |registry| {
                    registry.create_system(&name, kind, now)
                })
                .await
        }
        Err(error) => Err(error),
    };
    Ok(match created {
        Ok(system) => {
            page.flash(Flash::ok(
                format!("Added the {} system {}", system.kind(), system.name()),
                vec![],
            ));
            page.see_other(&system_path(system.name()))
        }
        Err(error) => {
            page.flash(Flash::error(
                "The system was not added",
                vec![error.message],
            ));
            page.see_other("/")
        }
    })
}

/// `GET /activity`: the audit trail, newest first (`?system=` for one system's).
pub(super) async fn activity(
    page: Page,
    parameters: Result<Parameters<HistoryParameters>, AdminError>,
) -> Result<Response, PageError> {
    let Parameters(parameters) = parameters?;
    let query = parameters.query()?;
    let (history, systems) = page
        .console
        .blocking(&page.actor, move |registry| {
            Ok((registry.history(&query)?, registry.systems()?.systems))
        })
        .await?;
    let chosen = parameters.system().unwrap_or_default();
    let body = html! {
        h1 { "Activity" }
        p class="hint" { "Every change, newest first, with who made it." }
        form method="get" action=(page.to("/activity")) class="actions" {
            label {
                "System "
                select name="system" id="activity-system" {
                    option value="" { "all systems" }
                    @for system in &systems {
                        @let name = system.name();
                        option value=(name) selected[name.as_str() == chosen] { (name) }
                    }
                }
            }
            button type="submit" class="secondary" id="activity-filter" { "Show" }
        }
        @if history.records.is_empty() {
            p class="empty" { "Nothing has happened yet." }
        } @else {
            table id="activity" {
                thead {
                    tr {
                        th { "Time" } th { "Who" } th { "Action" } th { "System" }
                        th { "Certificate" } th { "Outcome" } th { "Detail" }
                    }
                }
                tbody {
                    @for record in &history.records {
                        @let certificate = match (&record.certificate, &record.subject) {
                            (Some(name), Some(subject)) => format!("{name} ({subject})"),
                            (Some(name), None) => name.to_string(),
                            _ => String::new(),
                        };
                        tr {
                            td { (Time(record.time)) }
                            td { (Text(&record.actor)) }
                            td { (record.action.as_str()) }
                            td { @if let Some(system) = &record.system { (system) } }
                            td class="dn" { (clamped(&certificate)) }
                            td { (record.outcome.as_str()) }
                            td class="detail" { (clamped(&record.detail)) }
                        }
                    }
                }
            }
        }
        @for line in &history.damaged {
            p class="flash error" { (damaged_badge()) " " (Text(line)) }
        }
        @if history.more_damaged > 0 {
            p class="flash error" {
                (damaged_badge()) " and " (history.more_damaged)
                " more lines of the trail that are not records"
            }
        }
    };
    Ok(page.render("Activity", None, body).into_response())
}

/// Text longer than this many characters is shown clamped (console.css), in a `<details>`
/// that opens to the whole text: a long refusal keeps its row as short as the others.
const LONG_TEXT: usize = 80;

/// A cell's text on the activity page, clamped when long.
fn clamped(text: &str) -> Markup {
    html! {
        @if text.chars().count() > LONG_TEXT {
            details class="long" { summary title="Show the whole text" { (Text(text)) } }
        } @else {
            (Text(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clamped;

    #[test]
    fn long_text_is_clamped_in_a_details_element_and_escaped() {
        assert_eq!(clamped("a <b>").into_string(), "a &lt;b&gt;");
        let long = format!("{}<end>", "x".repeat(80));
        assert_eq!(
            clamped(&long).into_string(),
            format!(
                "<details class=\"long\"><summary title=\"Show the whole text\">{}&lt;end&gt;</summary></details>",
                "x".repeat(80)
            )
        );
        // Counted in characters, not bytes.
        assert_eq!(clamped(&"é".repeat(80)).into_string(), "é".repeat(80));
    }
}
