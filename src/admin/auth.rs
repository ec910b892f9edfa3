//! Who is asking: bearer tokens for the API, session cookies for the pages, CSRF tokens and
//! `Origin` checks for state changes, and the security headers of every response.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::page::{error_response, PageError};
use super::templates::{Flash, Href};
use super::throttle::{self, Client};
use super::{AdminError, Console};
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

/// Most sessions one administrator keeps at once; beyond, their oldest ends (never another
/// administrator's), so the sessions held are bounded by the administrators configured.
const MAX_SESSIONS_PER_ADMIN: usize = 32;

/// The longest title of a flash message kept, in characters.
const MAX_FLASH_TITLE: usize = 200;

/// The most lines of a flash message kept (the outcome of an upload of hundreds of
/// certificates is on the system's page and in the activity).
const MAX_FLASH_LINES: usize = 20;

/// The longest line of a flash message kept, in characters (a subject can be a megabyte).
const MAX_FLASH_LINE: usize = 300;

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
    pub(super) fn to(&self, path: &str) -> Href {
        if path == "/" && !self.0.is_empty() {
            Href(self.0.to_string())
        } else {
            Href(format!("{}{path}", self.0))
        }
    }
}

/// A logged-in browser's session.
#[derive(Debug)]
pub(super) struct Session {
    admin: Arc<str>,
    /// The order sessions were started in (their expiry ties when the clock stands still).
    number: u64,
    csrf: String,
    expires: OffsetDateTime,
    /// A message for the next page shown (the outcome of the last change).
    flash: Option<Flash>,
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
        let own = || {
            sessions
                .values()
                .filter(|session| session.admin == admin)
                .count()
        };
        if own() >= MAX_SESSIONS_PER_ADMIN {
            if let Some(oldest) = sessions
                .iter()
                .filter(|(_, session)| session.admin == admin)
                .min_by_key(|(_, session)| (session.expires, session.number))
                .map(|(key, _)| *key)
            {
                sessions.remove(&oldest);
            }
        }
        let number = sessions
            .values()
            .map(|session| session.number.saturating_add(1))
            .max()
            .unwrap_or(0);
        sessions.insert(
            digest(&id),
            Session {
                admin,
                number,
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

    /// Leaves a message for the session's next page, cut to a bounded size.
    pub(super) fn flash(&self, session: &SessionContext, mut flash: Flash) {
        flash.title = shortened(&flash.title, MAX_FLASH_TITLE);
        let more = flash.lines.len().saturating_sub(MAX_FLASH_LINES);
        flash.lines.truncate(MAX_FLASH_LINES);
        for line in &mut flash.lines {
            *line = shortened(line, MAX_FLASH_LINE);
        }
        if more > 0 {
            flash.lines.push(format!("… and {more} more"));
        }
        if let Some(entry) = self.0.sessions.locked().get_mut(&session.key) {
            entry.flash = Some(flash);
        }
    }

    /// The message left for this page, if any.
    pub(super) fn take_flash(&self, session: &SessionContext) -> Option<Flash> {
        self.0
            .sessions
            .locked()
            .get_mut(&session.key)
            .and_then(|entry| entry.flash.take())
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

/// `text` cut to `limit` characters, with an ellipsis when cut.
fn shortened(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
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
        let counted = self.0.throttle.locked().attempt(Client::of(client), now);
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
        self.0.throttle.locked().forgive(Client::of(client), now);
    }

    /// A token that is no administrator's: logged (when a log was given), audited, counted.
    pub(super) async fn refused_token(&self, client: Option<SocketAddr>, why: &'static str) {
        metrics::counter!("inbound_certs_admin_logins_refused_total").increment(1);
        let who = client.map_or_else(|| "anonymous".to_owned(), |address| address.to_string());
        let registry = self.0.registry.clone();
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
        let now = self.now();
        let sessions = self.0.sessions.locked();
        let mut found: Option<(Actor, SessionContext)> = None;
        let values = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(cookie, _)| *cookie == name)
            // A browser holds a few cookies of a name; a request that carries thousands
            // is not a browser's.
            .take(16);
        for (_, id) in values {
            let key = digest(id);
            let Some(session) = sessions.get(&key).filter(|session| session.expires > now) else {
                continue;
            };
            match &found {
                Some((_, context)) if context.key == key => {}
                Some(_) => return None,
                None => {
                    found = Some((
                        Actor(Arc::clone(&session.admin)),
                        SessionContext {
                            key,
                            csrf: session.csrf.as_str().into(),
                        },
                    ));
                }
            }
        }
        found
    }
}
