//! What every page handler starts from ([`Page`]: the console, where it is mounted, who
//! asks, their session) and how it fails ([`PageError`]: the error's page, with its status).

use axum::extract::rejection::FormRejection;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::console::{Actor, Base, Console, Href};
use super::error::AdminError;
use super::session::{check_csrf, Flash, SessionContext};
use super::templates;
use crate::system::SystemName;

/// The request of a logged-in page: the console, the prefix it is mounted at, the
/// administrator the request acts for and their session (what `auth::require_session`
/// found).
///
/// It is extracted from the request's extensions, which `auth::require_session` filled in,
/// so a page handler takes this one argument instead of the state and three extensions.
pub(super) struct Page {
    pub(super) console: Console,
    pub(super) base: Base,
    pub(super) actor: Actor,
    pub(super) session: SessionContext,
}

impl FromRequestParts<Console> for Page {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, PageError> {
        let base = parts.extensions.get::<Base>().cloned();
        let actor = parts.extensions.get::<Actor>().cloned();
        let session = parts.extensions.get::<SessionContext>().cloned();
        match (base, actor, session) {
            (Some(base), Some(actor), Some(session)) => Ok(Page {
                console: console.clone(),
                base,
                actor,
                session,
            }),
            // Only a route outside `require_session` could get here: a mistake in the router.
            _ => Err(PageError(AdminError::internal(
                "this page was routed without the console's session check",
            ))),
        }
    }
}

impl Page {
    /// `path` (starting with `/`) under the console's prefix.
    pub(super) fn to(&self, path: &str) -> Href {
        self.base.to(path)
    }

    /// A page of this session: the frame around `body`, with the navigation.
    pub(super) fn render(
        &self,
        title: &str,
        flash: Option<&Flash>,
        body: maud::Markup,
    ) -> axum::response::Html<String> {
        templates::page(&self.base, Some(&self.session), title, flash, body)
    }

    /// `303 See Other` to `path` under the console's prefix.
    pub(super) fn see_other(&self, path: &str) -> Response {
        see_other(&self.base, path)
    }

    /// Leaves `flash` for the session's next page.
    pub(super) fn flash(&self, flash: Flash) {
        self.console.sessions().flash(&self.session, flash);
    }

    /// The message left for this page, if any.
    pub(super) fn take_flash(&self) -> Option<Flash> {
        self.console.sessions().take_flash(&self.session)
    }

    /// Refuses, with 403, a form whose CSRF token is not the session's.
    pub(super) fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AdminError> {
        check_csrf(&self.session, submitted)
    }
}

/// `303 See Other` to `path` under the console's prefix.
pub(super) fn see_other(base: &Base, path: &str) -> Response {
    Redirect::to(base.to(path).as_str()).into_response()
}

/// `/systems/<name>` (system names are letters, digits, `-`, `_` and `.`: nothing to escape
/// in a URL path).
pub(super) fn system_path(system: &SystemName) -> String {
    format!("/systems/{system}")
}

/// The fields of a form that only confirms an action.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: Option<String>,
}

pub(super) fn csrf_of(form: Result<Form<CsrfForm>, FormRejection>) -> Option<String> {
    form.ok().and_then(|Form(form)| form.csrf)
}

/// A page handler's failure: answered with the error's page and status (and `Retry-After`
/// when it has one). A response carries no request, so the page (whose links follow the
/// prefix the console is mounted at) is rendered by [`PageError::complete`], which
/// `auth::guard` applies to every response.
#[derive(Debug)]
pub(super) struct PageError(pub(super) AdminError);

impl From<AdminError> for PageError {
    fn from(error: AdminError) -> Self {
        PageError(error)
    }
}

/// The error a [`PageError`] response is waiting to have its page rendered for.
#[derive(Debug, Clone)]
struct PendingErrorPage(std::sync::Arc<AdminError>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = self.0.status.into_response();
        if let Some((name, value)) = self.0.retry_after_header() {
            response.headers_mut().insert(name, value);
        }
        response
            .extensions_mut()
            .insert(PendingErrorPage(std::sync::Arc::new(self.0)));
        response
    }
}

impl PageError {
    /// The error page of a response made from a [`PageError`], under the console's prefix
    /// `base`; any other response as it is.
    pub(super) fn complete(mut response: Response, base: &Base) -> Response {
        let Some(PendingErrorPage(error)) = response.extensions_mut().remove() else {
            return response;
        };
        error_response(base, &error)
    }
}

/// The error's page, with its status (and `Retry-After` when it has one).
pub(super) fn error_response(base: &Base, error: &AdminError) -> Response {
    let mut response = (error.status, templates::error_page(base, error)).into_response();
    if let Some((name, value)) = error.retry_after_header() {
        response.headers_mut().insert(name, value);
    }
    response
}
