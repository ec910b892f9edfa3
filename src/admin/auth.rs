//! Who is asking: bearer tokens for the API, session cookies for the pages (the sessions
//! themselves, and their CSRF tokens, are `session`'s), the throttle of token guesses, the
//! `Origin` check of state changes, and the security headers of every response.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::console::{Actor, Base, Console};
use super::error::AdminError;
use super::origin::Origin;
use super::page::{error_response, PageError};
use super::session::{same_secret, SessionContext};
use super::throttle::{self, Client};
use crate::sync::MutexExt;

/// The session cookie's name over plain HTTP.
const COOKIE: &str = "inbound_certs_session";

/// The session cookie's name over HTTPS: browsers accept a `__Host-` cookie only with
/// `Secure`, `Path=/` and no `Domain`, so neither a sibling subdomain nor a page served in
/// clear text can set one that shadows it.
const HOST_COOKIE: &str = "__Host-inbound_certs_session";

/// The `Content-Security-Policy` of every response: nothing loaded, framed or submitted
/// anywhere but the console's own origin.
pub(super) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; form-action 'self'; frame-ancestors 'none'";

/// `Strict-Transport-Security` over HTTPS: a year, this host only (subdomains are the
/// service's to decide).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

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
        self.sessions()
            .start(admin, self.now(), self.config().session_lifetime)
    }

    /// Ends the session (logging out).
    pub(super) fn end_session(&self, session: &SessionContext) {
        self.sessions().end(session);
    }

    /// The `Set-Cookie` value of a new session.
    pub(super) fn session_cookie(&self, base: &Base, id: &str) -> String {
        self.cookie(
            base,
            id,
            self.config().session_lifetime.whole_seconds().max(0),
        )
    }

    /// The `Set-Cookie` value that ends the session in the browser.
    pub(super) fn expired_cookie(&self, base: &Base) -> String {
        self.cookie(base, "", 0)
    }

    fn cookie(&self, base: &Base, value: &str, max_age: i64) -> String {
        if self.config().over_https {
            // `__Host-` demands `Path=/`: the cookie is sent to the whole origin, which the
            // console shares with the service that mounts it (it is `HttpOnly`).
            format!("{HOST_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}; Secure")
        } else {
            let path = if base.0.is_empty() { "/" } else { &base.0 };
            format!("{COOKIE}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}")
        }
    }

    fn cookie_name(&self) -> &'static str {
        if self.config().over_https {
            HOST_COOKIE
        } else {
            COOKIE
        }
    }
}

/// Around every request: where the console is mounted, the `Origin` check of state changes,
/// and the security headers of every response.
pub(super) async fn guard(
    State(console): State<Console>,
    mut request: Request,
    next: Next,
) -> Response {
    let base = base_of(&request);
    let api = is_api(request.uri().path());
    request.extensions_mut().insert(base.clone());
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut response = if changes_state && console.is_foreign(request.headers()) {
        let error = AdminError::new(
            StatusCode::FORBIDDEN,
            "foreign_origin",
            "this request comes from another site (its Origin header is not the console's scheme, host and port) and was refused",
        );
        if api {
            error.into_response()
        } else {
            error_response(&base, &error)
        }
    } else {
        PageError::complete(next.run(request).await, &base)
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on the console's own
        // forms, which the check above must refuse.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if console.config().over_https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
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
        })
        .map(str::to_owned);
    let client = client_address(&request);
    let admin = match token {
        Some(token) => {
            if let Err(error) = console.count_attempt(client) {
                return error.into_response();
            }
            let admin = console.admin_with_token(&token);
            match &admin {
                Some(_) => console.forgive(client),
                None => {
                    console
                        .refused_token(client, "the API's bearer token is no administrator's")
                        .await
                }
            }
            admin
        }
        None => None,
    };
    match admin {
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

/// The client's address, when the server gave it ([`super::serve`] does, as does
/// `axum::serve` with `into_make_service_with_connect_info::<SocketAddr>`).
pub(super) fn client_address(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address)
}

impl Console {
    /// Counts a token guess by `client`; over the limits, 429 with `Retry-After`.
    pub(super) fn count_attempt(&self, client: Option<SocketAddr>) -> Result<(), AdminError> {
        let now = self.now();
        let counted = self.throttle().locked().attempt(Client::of(client), now);
        counted.map_err(|wait| {
            metrics::counter!("inbound_certs_admin_logins_throttled_total").increment(1);
            let seconds = throttle::retry_after_seconds(wait);
            AdminError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong tokens were tried; try again in {seconds} seconds"),
            )
            .retry_after(seconds)
        })
    }

    /// Gives back the guess of a client whose token was right.
    pub(super) fn forgive(&self, client: Option<SocketAddr>) {
        let now = self.now();
        self.throttle().locked().forgive(Client::of(client), now);
    }

    /// A token that is no administrator's: logged (when a log was given), audited, counted.
    pub(super) async fn refused_token(&self, client: Option<SocketAddr>, why: &'static str) {
        metrics::counter!("inbound_certs_admin_logins_refused_total").increment(1);
        let who = client.map_or_else(|| "anonymous".to_owned(), |address| address.to_string());
        let registry = self.registry().clone();
        let actor = who.clone();
        let audited = tokio::task::spawn_blocking(move || {
            registry.record_refused_login(&actor, why.to_owned())
        })
        .await;
        if let Some(log) = &self.config().login_log {
            let audit = match audited {
                Ok(Ok(())) => String::new(),
                Ok(Err(error)) => format!(" (not audited: {})", crate::ErrorReport::new(&error)),
                Err(error) => format!(" (not audited: {error})"),
            };
            log(&format!("refused console login from {who:?}: {why}{audit}"));
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
    let found = console.session_of(request.headers());
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
            Redirect::to(base.to("/login").as_str()).into_response()
        }
    }
}

impl Console {
    /// The live session of the request's session cookies. A browser sends every cookie of
    /// that name it holds (one with a narrower `Path`, or set over plain HTTP by a neighbour,
    /// comes first): each is looked up, and the request has a session only if exactly one of
    /// them is a live session; two live sessions are ambiguous and refused.
    fn session_of(&self, headers: &HeaderMap) -> Option<(Actor, SessionContext)> {
        let name = self.cookie_name();
        let values = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(cookie, _)| *cookie == name)
            // A browser holds a few cookies of a name; a request that carries thousands
            // is not a browser's.
            .take(16)
            .map(|(_, id)| id);
        let (admin, session) = self.sessions().find(values, self.now())?;
        Some((Actor(admin), session))
    }
}

impl Console {
    /// Whether the request's `Origin` is not the console's: its scheme, host and port are
    /// compared with [`AdminConfig::public_origin`](super::AdminConfig::public_origin) when
    /// configured, else with the scheme the console is served over and the `Host` it was
    /// sent to. A request without `Origin` (not from a browser) is not foreign.
    pub(super) fn is_foreign(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return false;
        };
        let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
            return true;
        };
        let expected = match &self.config().public_origin {
            Some(configured) => Some(configured.clone()),
            None => {
                let scheme = if self.config().over_https {
                    "https"
                } else {
                    "http"
                };
                headers
                    .get(header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .and_then(|host| Origin::parse(&format!("{scheme}://{host}")))
            }
        };
        expected.is_none_or(|expected| expected != origin)
    }
}
