//! Who is asking: bearer tokens for the API, session cookies for the pages, CSRF tokens and
//! `Origin` checks for state changes, and the security headers of every response.

use std::sync::Arc;

use axum::extract::{OriginalUri, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{AdminError, Console};
use crate::sync::MutexExt;

/// The session cookie's name.
const COOKIE: &str = "inbound_certs_session";

/// Most sessions kept at once; beyond, the oldest end.
const MAX_SESSIONS: usize = 10_000;

/// The administrator a request acts for: the audit trail's actor.
#[derive(Debug, Clone)]
pub(super) struct Actor(pub(super) Arc<str>);

/// Where the console is mounted (`""` at the root, `"/admin"` when nested there): links and
/// redirects are made under it.
#[derive(Debug, Clone)]
pub(super) struct Base(pub(super) Arc<str>);

impl Base {
    /// `path` (starting with `/`) under the console's prefix; the root under `/admin` is
    /// `/admin` (what `Router::nest` routes to the console's `/`).
    pub(super) fn to(&self, path: &str) -> String {
        if path == "/" && !self.0.is_empty() {
            self.0.to_string()
        } else {
            format!("{}{path}", self.0)
        }
    }
}

/// A logged-in browser's session.
#[derive(Debug)]
pub(super) struct Session {
    admin: Arc<str>,
    csrf: String,
    expires: OffsetDateTime,
    /// A message for the next page shown (the outcome of the last change).
    flash: Option<super::html::Flash>,
}

/// The session of a page request.
#[derive(Debug, Clone)]
pub(super) struct SessionContext {
    key: [u8; 32],
    /// The token every form of the session carries.
    pub(super) csrf: Arc<str>,
}

/// 32 random bytes, as 64 hexadecimal digits.
pub(super) fn random_text() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two texts are equal, in a time that depends on neither (their digests are compared
/// in full).
fn same_secret(a: &str, b: &str) -> bool {
    digest(a)
        .iter()
        .zip(digest(b).iter())
        .fold(0u8, |difference, (x, y)| difference | (x ^ y))
        == 0
}

impl Console {
    /// The administrator whose token this is; every administrator's token is compared.
    pub(super) fn admin_with_token(&self, token: &str) -> Option<Arc<str>> {
        let mut found = None;
        for admin in &self.config().admins {
            if same_secret(&admin.token, token) {
                found = Some(Arc::clone(&admin.name));
            }
        }
        found
    }

    /// Starts a session for `admin`: the cookie's value.
    pub(super) fn start_session(&self, admin: Arc<str>) -> Result<String, AdminError> {
        let random = |_| AdminError::internal("the random generator failed");
        let id = random_text().map_err(random)?;
        let csrf = random_text().map_err(random)?;
        let now = self.now();
        let mut sessions = self.0.sessions.locked();
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, session)| session.expires)
                .map(|(key, _)| *key)
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            digest(&id),
            Session {
                admin,
                csrf,
                expires: now + self.config().session_lifetime,
                flash: None,
            },
        );
        Ok(id)
    }

    pub(super) fn end_session(&self, session: &SessionContext) {
        self.0.sessions.locked().remove(&session.key);
    }

    /// Leaves a message for the session's next page.
    pub(super) fn flash(&self, session: &SessionContext, flash: super::html::Flash) {
        if let Some(entry) = self.0.sessions.locked().get_mut(&session.key) {
            entry.flash = Some(flash);
        }
    }

    /// The message left for this page, if any.
    pub(super) fn take_flash(&self, session: &SessionContext) -> Option<super::html::Flash> {
        self.0
            .sessions
            .locked()
            .get_mut(&session.key)
            .and_then(|entry| entry.flash.take())
    }

    /// The `Set-Cookie` value of a new session.
    pub(super) fn session_cookie(&self, base: &Base, id: &str) -> String {
        format!(
            "{COOKIE}={id}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}{}",
            cookie_path(base),
            self.config().session_lifetime.whole_seconds().max(0),
            if self.config().over_https {
                "; Secure"
            } else {
                ""
            }
        )
    }

    /// The `Set-Cookie` value that ends the session in the browser.
    pub(super) fn expired_cookie(&self, base: &Base) -> String {
        format!(
            "{COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0{}",
            cookie_path(base),
            if self.config().over_https {
                "; Secure"
            } else {
                ""
            }
        )
    }
}

fn cookie_path(base: &Base) -> &str {
    if base.0.is_empty() {
        "/"
    } else {
        &base.0
    }
}

/// Refuses, with 403, a form whose CSRF token is not its session's.
pub(super) fn check_csrf(
    session: &SessionContext,
    submitted: Option<&str>,
) -> Result<(), AdminError> {
    match submitted {
        Some(token) if same_secret(token, &session.csrf) => Ok(()),
        _ => Err(AdminError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form is out of date or was not sent by the console (its CSRF token is missing or wrong); reload the page and try again",
        )),
    }
}

/// Around every request: where the console is mounted, the `Origin` check of state changes,
/// and the security headers of every response.
pub(super) async fn guard(mut request: Request, next: Next) -> Response {
    let base = base_of(&request);
    let api = is_api(request.uri().path());
    request.extensions_mut().insert(base.clone());
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut response = if changes_state && is_foreign(request.headers(), request.uri()) {
        let error = AdminError::new(
            StatusCode::FORBIDDEN,
            "foreign_origin",
            "this request comes from another site (its Origin header names another host) and was refused",
        );
        if api {
            error.into_response()
        } else {
            super::pages::error_page(&base, error)
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on the console's own
        // forms, which the check above must refuse.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The prefix the console is mounted at: the original path less the path the console sees.
fn base_of(request: &Request) -> Base {
    let inner = request.uri().path();
    let original = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(inner, |original| original.0.path());
    let prefix = if inner == "/" {
        original.trim_end_matches('/')
    } else {
        original.strip_suffix(inner).unwrap_or("")
    };
    Base(prefix.into())
}

/// Whether the request's `Origin` names another host than the one it was sent to.
fn is_foreign(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()));
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// The API's authentication: `Authorization: Bearer <token>`.
pub(super) async fn require_token(
    State(console): State<Console>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match token.and_then(|token| console.admin_with_token(token)) {
        Some(admin) => {
            request.extensions_mut().insert(Actor(admin));
            next.run(request).await
        }
        None => {
            let mut response = AdminError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this API needs the console's token: send the header Authorization: Bearer <token>",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"inbound-certs\""),
            );
            response
        }
    }
}

/// The pages' authentication: a session cookie from `POST /login`; without one, the browser
/// is sent to the login page.
pub(super) async fn require_session(
    State(console): State<Console>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = console.now();
    let found = session_id(request.headers()).and_then(|id| {
        let key = digest(id);
        let sessions = console.0.sessions.locked();
        let session = sessions.get(&key)?;
        (session.expires > now).then(|| {
            (
                Actor(Arc::clone(&session.admin)),
                SessionContext {
                    key,
                    csrf: session.csrf.as_str().into(),
                },
            )
        })
    });
    match found {
        Some((actor, session)) => {
            request.extensions_mut().insert(actor);
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None => {
            let base = request
                .extensions()
                .get::<Base>()
                .cloned()
                .unwrap_or(Base("".into()));
            Redirect::to(&base.to("/login")).into_response()
        }
    }
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}
