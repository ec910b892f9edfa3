//! The administration console (feature `admin`): a JSON API and server-rendered web pages
//! for managing the inbound certificates of a [`Registry`]'s systems, as an
//! [`axum::Router`] a service mounts into its own application.
//!
//! ```no_run
//! use inbound_certs::admin::{self, AdminConfig};
//! use inbound_certs::Registry;
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::open("/var/lib/my-service/inbound-certs")?;
//! let token = std::env::var("INBOUND_CERTS_ADMIN_TOKEN")?;
//! let config = AdminConfig::new("admin", token)?;
//! let app = axum::Router::new()
//!     // ... the service's own routes ...
//!     .nest("/admin", admin::router(registry, config));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! admin::serve(listener, app, admin::ServeOptions::new(), std::future::pending()).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! The API (JSON; errors are `{"error": {"code": "...", "message": "..."}}`, the code being
//! [`StoreError::code`](crate::StoreError::code) or [`DecodeError::code`](crate::DecodeError::code)):
//!
//! | Route | |
//! |---|---|
//! | `GET /api/systems` | each system with its kind and counts (`valid`, `expiring`, `expired`, `damaged`) |
//! | `POST /api/systems` | `{"name", "kind"}`: create a system → 201 |
//! | `DELETE /api/systems/{system}` | remove an empty system → 204 (`?with_certificates=true` removes its certificates too) |
//! | `GET /api/systems/{system}/certificates` | summaries with their status now (`?expiring_within_days=N` keeps those ending within N days) |
//! | `POST /api/systems/{system}/certificates` | import the body (any format the decoder accepts, or `multipart/form-data` with a `file` field) → 201 `[{"name", "outcome": "added" \| "already_present"}]`; `?allow_expired=true`, `?allow_ca=true`; `?dry_run=true` → 200, each certificate's outcome or refusal, nothing stored |
//! | `GET /api/systems/{system}/certificates/{name}` | a summary (`name` may be a fingerprint in any spelling); `?format=pem` or `?format=der` downloads the certificate |
//! | `DELETE /api/systems/{system}/certificates/{name}` | delete → 204 |
//! | `POST /api/systems/{system}/purge-expired` | delete the expired certificates → the names deleted |
//! | `GET /api/history` | the audit trail, newest first (`?system=`, `?since=`, `?until=` (RFC 3339), `?limit=`: 50 records unless asked, at most 1000; a larger `limit` is refused with 400 `malformed_request` rather than clamped, so a short page is never taken for the whole trail) |
//! | `GET /metrics` | the metrics in Prometheus text, when [`AdminConfig::metrics`] was given a handle |
//!
//! Status codes: 400 for a refused upload or request, 401 without valid credentials, 403 for
//! a state change without a valid CSRF token or from a foreign `Origin`, 404, 409 for an
//! import into a target system, an existing system name or a system that is not empty, 413
//! for an upload over [`DecodeOptions::max_input_bytes`](crate::DecodeOptions::max_input_bytes)
//! (refused while the body is read) or another body over 16 KiB, 429 `too_many_attempts`
//! (with `Retry-After`) when too many wrong tokens were tried, 503 when the database cannot
//! be reached; [`serve`] adds 408 `request_timeout`.
//!
//! Token guesses (the login form and the API's bearer tokens alike) are throttled per client
//! (an IPv4 address or an IPv6 /64 network: 5, then one per 10 seconds) and for all clients
//! together (30, then one a second), by the registry's clock; a right token gives its attempt
//! back. Each refused token is recorded in the audit trail (action `login`, outcome
//! `refused`, the client's address as actor) and passed to [`AdminConfig::login_log`].
//! The client's address is the [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) of the
//! request ([`serve`] gives it); without one, every client shares one allowance.
//!
//! The pages: `GET /login` and `POST /login`, `POST /logout`, `GET /` (the systems),
//! `GET /systems/{system}` (its *Inbound Certificates* and the import form),
//! `GET /systems/{system}/certificates/{name}` (the details), `POST /systems/{system}/import`,
//! `GET` (a confirmation) and `POST /systems/{system}/certificates/{name}/delete`, `GET` (a
//! confirmation) and `POST /systems/{system}/purge-expired`, `POST /systems` (create a
//! system), `POST /systems/{system}/remove` (an empty one), `GET /activity` (the audit trail,
//! with the API's `limit` rules).
//! They need no JavaScript and load nothing from elsewhere.
//!
//! # Security
//!
//! Every route but the login page and its style sheet needs authentication. The API takes
//! `Authorization: Bearer <token>`; the browser logs in once with the same token and gets a
//! session cookie (`HttpOnly`, `SameSite=Strict`, expiring after
//! [`AdminConfig::session_lifetime`]; with [`AdminConfig::over_https`], named
//! `__Host-inbound_certs_session`, `Secure`, `Path=/`, and every response carries
//! `Strict-Transport-Security: max-age=31536000`). When a request carries several session
//! cookies, it has a session only if exactly one of them is a live session. Tokens are
//! compared in constant time. Every form that changes something carries a CSRF token bound to
//! the session, and a state change whose `Origin` is not the console's scheme, host and port
//! (the configured [`AdminConfig::public_origin`], else the scheme it is served over and the
//! `Host` it was sent to) is refused; no `GET` changes anything. Every response carries
//! `Content-Security-Policy: default-src 'self'; form-action 'self'; frame-ancestors 'none'`,
//! `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.
//! The name of the administrator whose token was used is the
//! [audit trail](crate::Registry::history)'s actor.
//!
//! Bodies: a form, the login or a JSON body is at most 16 KiB (413); an upload, the decoder's
//! [`max_input_bytes`](crate::DecodeOptions::max_input_bytes). The rest of a refused body is
//! read (4 MiB and 5 seconds at most) before the 413 is sent, so that a client that writes
//! its whole body before reading sees the answer rather than a reset connection.
//!
//! Serving: [`serve`] puts a connection cap, a TLS handshake and header-read timeout and a
//! request timeout on the console's clients, and backs off when accepting fails
//! ([`ServeOptions`] has the defaults); `axum::serve` has none of these.
//!
//! Store calls block (files, the PostgreSQL client), so the router runs each on
//! [`tokio::task::spawn_blocking`]: it must be served from a multi-threaded or current-thread
//! tokio runtime, as [`serve`] does.

mod api;
mod auth;
mod drain;
mod html;
mod pages;
mod serve;
mod throttle;
mod upload;

pub use serve::{serve, ServeOptions};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use time::{Duration, OffsetDateTime};

use crate::decode::DecodeOptions;
use crate::registry::Registry;
use crate::store::StoreError;

/// How the console is run: who may log in with which token, and its defaults.
///
/// ```
/// use inbound_certs::admin::AdminConfig;
///
/// let config = AdminConfig::new("alice", "a long random token, 16+ characters")?
///     .admin("bob", "another long random token")?
///     .over_https(true);
/// # Ok::<(), inbound_certs::admin::AdminConfigError>(())
/// ```
#[derive(Clone)]
pub struct AdminConfig {
    admins: Vec<Admin>,
    over_https: bool,
    public_origin: Option<auth::Origin>,
    session_lifetime: Duration,
    warn_within: Duration,
    decode: DecodeOptions,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    login_log: Option<LoginLog>,
}

/// Where the lines about refused tokens go ([`AdminConfig::login_log`]).
type LoginLog = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
struct Admin {
    name: Arc<str>,
    token: String,
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens.
        f.debug_struct("AdminConfig")
            .field(
                "admins",
                &self.admins.iter().map(|a| &*a.name).collect::<Vec<_>>(),
            )
            .field("over_https", &self.over_https)
            .field("public_origin", &self.public_origin)
            .field("session_lifetime", &self.session_lifetime)
            .field("warn_within", &self.warn_within)
            .field("decode", &self.decode)
            .field("metrics", &self.metrics.is_some())
            .field("login_log", &self.login_log.is_some())
            .finish()
    }
}

/// The shortest token accepted, in characters: a token is all that guards the certificates a
/// service trusts. [`generate_token`] makes one of 64.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The fewest different characters a token may be made of: `aaaaaaaaaaaaaaaa` or
/// `abababababababab` is long enough and guessed at once.
pub const MIN_DISTINCT_TOKEN_CHARS: usize = 5;

/// Why `token` is too easily guessed, or cannot be typed into the login form, if it is.
fn weakness(token: &str) -> Option<String> {
    if token.trim().is_empty() {
        return Some("is blank".to_owned());
    }
    if token.trim() != token {
        return Some("begins or ends with white space, which the login form trims away".to_owned());
    }
    if token.chars().any(char::is_control) {
        return Some("holds control characters".to_owned());
    }
    let mut distinct: Vec<char> = token.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_TOKEN_CHARS {
        return Some(format!(
            "is made of {} different characters; use at least {MIN_DISTINCT_TOKEN_CHARS}",
            distinct.len()
        ));
    }
    None
}

/// Why an [`AdminConfig`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminConfigError {
    /// The token is shorter than [`MIN_TOKEN_CHARS`].
    #[error("the console's token for {admin} is {chars} characters long; use at least {MIN_TOKEN_CHARS} (a generated one has 64)")]
    TokenTooShort {
        /// Whose token it is.
        admin: String,
        /// Its length in characters.
        chars: usize,
    },
    /// The token is blank, begins or ends with white space, holds control characters, or is
    /// made of fewer than [`MIN_DISTINCT_TOKEN_CHARS`] different characters.
    #[error(
        "the console's token for {admin} {reason}; use a random one (generate_token makes one)"
    )]
    TokenTooWeak {
        /// Whose token it is.
        admin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The administrator's name is empty, longer than 64 characters or holds control
    /// characters (it is written into the audit trail).
    #[error("{0:?} cannot name an administrator: use 1 to 64 printable characters")]
    InvalidName(String),
    /// Two administrators were given the same name or the same token.
    #[error("administrator {0} is given twice, or two administrators share a token")]
    Duplicate(String),
    /// [`AdminConfig::public_origin`] was given something other than `http://host[:port]`
    /// or `https://host[:port]`.
    #[error("{0:?} is not an origin: expected http:// or https://, a host and an optional port, such as https://console.example:8443")]
    InvalidOrigin(String),
    /// The operating system's random generator failed.
    #[error("cannot generate a random token: {0}")]
    Random(String),
}

impl AdminConfig {
    /// A console one administrator, `name`, logs in to with `token`. The name is the audit
    /// trail's actor for what they change. Defaults: cookies without `Secure` (see
    /// [`over_https`](Self::over_https)), sessions of 8 hours, certificates ending within 30
    /// days shown as expiring, the decoder's default limits, no `/metrics`.
    pub fn new(
        name: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<Self, AdminConfigError> {
        AdminConfig {
            admins: Vec::new(),
            over_https: false,
            public_origin: None,
            session_lifetime: Duration::hours(8),
            warn_within: Duration::days(30),
            decode: DecodeOptions::default(),
            metrics: None,
            login_log: None,
        }
        .admin(name, token)
    }

    /// Another administrator, with their own token.
    pub fn admin(
        mut self,
        name: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<Self, AdminConfigError> {
        let (name, token) = (name.into(), token.into());
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(AdminConfigError::InvalidName(name));
        }
        let chars = token.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(AdminConfigError::TokenTooShort { admin: name, chars });
        }
        if let Some(reason) = weakness(&token) {
            return Err(AdminConfigError::TokenTooWeak {
                admin: name,
                reason,
            });
        }
        if self
            .admins
            .iter()
            .any(|admin| *admin.name == *name || admin.token == token)
        {
            return Err(AdminConfigError::Duplicate(name));
        }
        self.admins.push(Admin {
            name: name.into(),
            token,
        });
        Ok(self)
    }

    /// The console is served over HTTPS (directly or behind a proxy that terminates TLS):
    /// the session cookie is `__Host-inbound_certs_session` with `Secure` and `Path=/`, every
    /// response carries `Strict-Transport-Security: max-age=31536000`, and without a
    /// [`public_origin`](Self::public_origin) a state change's `Origin` must be `https://`
    /// and the `Host` it was sent to.
    pub fn over_https(mut self, over_https: bool) -> Self {
        self.over_https = over_https;
        self
    }

    /// The origin browsers reach the console at, such as `https://console.example:8443`
    /// (scheme, host and port; the scheme's default port when none is written). A state
    /// change (a `POST` or `DELETE`) whose `Origin` header is another origin is refused, and
    /// the `Host` header no longer counts.
    ///
    /// Without it, the `Origin` is compared with the scheme the console is served over and
    /// the request's `Host`, which a DNS-rebinding page controls: a page at
    /// `http://evil.example` whose name is made to resolve to the console's address sends
    /// `Host: evil.example` and `Origin: http://evil.example`, which agree, and can so post
    /// token guesses to `/login` from inside the network (the login throttling still
    /// applies; such a page cannot read the session cookie of the real origin). With the
    /// public origin configured, its posts are refused.
    pub fn public_origin(mut self, origin: &str) -> Result<Self, AdminConfigError> {
        let parsed = auth::Origin::parse(origin)
            .ok_or_else(|| AdminConfigError::InvalidOrigin(origin.chars().take(200).collect()))?;
        self.public_origin = Some(parsed);
        Ok(self)
    }

    /// How long a browser session lasts after logging in (default 8 hours).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }

    /// Certificates whose validity ends within this window are shown as expiring (default 30
    /// days).
    pub fn warn_within(mut self, window: Duration) -> Self {
        self.warn_within = window;
        self
    }

    /// The decoder's limits for uploads (default [`DecodeOptions::default`]); bodies over
    /// [`max_input_bytes`](DecodeOptions::max_input_bytes) are refused with 413 while they
    /// are read.
    pub fn decode_options(mut self, options: DecodeOptions) -> Self {
        self.decode = options;
        self
    }

    /// Calls `log` with a line for each refused token (a login or an API request whose
    /// token is no administrator's): who tried, quoted, and why; never the token. The
    /// refusal is also in the audit trail (action `login`, the client's address as the
    /// actor). Without it, refusals are only audited and counted.
    pub fn login_log(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.login_log = Some(Arc::new(log));
        self
    }

    /// Serve `GET /metrics` from this Prometheus recorder's handle (the service installs the
    /// recorder, as the `admin_console` example shows). Without one, `/metrics` is 404.
    pub fn metrics(mut self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }
}

/// A token of 32 random bytes from the operating system's generator, as 64 hexadecimal
/// digits.
pub fn generate_token() -> Result<String, AdminConfigError> {
    auth::random_text().map_err(|error| AdminConfigError::Random(error.to_string()))
}

/// The console's routes (see the [module docs](self)) over `registry`, to serve or to mount
/// with [`Router::nest`] (links and redirects follow the prefix it is mounted at).
pub fn router(registry: Registry, config: AdminConfig) -> Router {
    // Multipart framing around the largest upload accepted; the upload itself is counted
    // against the decoder's limit as it is read.
    let upload_body_limit = config.decode.max_input_bytes.saturating_add(64 * 1024);
    let console = Console(Arc::new(Shared {
        registry,
        config,
        sessions: Mutex::new(HashMap::new()),
        throttle: Mutex::new(throttle::Throttle::new()),
    }));
    let api = Router::new()
        .route("/api/systems", get(api::systems).post(api::create_system))
        .route(
            "/api/systems/{system}",
            axum::routing::delete(api::remove_system),
        )
        .route(
            "/api/systems/{system}/certificates",
            get(api::certificates)
                .post(api::import)
                .layer(DefaultBodyLimit::max(upload_body_limit)),
        )
        .route(
            "/api/systems/{system}/certificates/{name}",
            get(api::certificate).delete(api::delete),
        )
        .route(
            "/api/systems/{system}/purge-expired",
            post(api::purge_expired),
        )
        .route("/api/history", get(api::history))
        .route("/metrics", get(api::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            console.clone(),
            auth::require_token,
        ));
    let pages = Router::new()
        .route("/", get(pages::systems))
        .route("/systems", post(pages::create_system))
        .route("/systems/{system}", get(pages::system))
        .route(
            "/systems/{system}/import",
            post(pages::import).layer(DefaultBodyLimit::max(upload_body_limit)),
        )
        .route("/systems/{system}/remove", post(pages::remove_system))
        .route(
            "/systems/{system}/purge-expired",
            get(pages::confirm_purge).post(pages::purge_expired),
        )
        .route(
            "/systems/{system}/certificates/{name}",
            get(pages::certificate),
        )
        .route(
            "/systems/{system}/certificates/{name}/download",
            get(pages::download),
        )
        .route(
            "/systems/{system}/certificates/{name}/delete",
            get(pages::confirm_delete).post(pages::delete),
        )
        .route("/activity", get(pages::activity))
        .route("/logout", post(pages::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            console.clone(),
            auth::require_session,
        ));
    Router::new()
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/assets/console.css", get(pages::style_sheet))
        .merge(api)
        .merge(pages)
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            auth::guard,
        ))
        .layer(axum::middleware::from_fn(drain::drain_refused))
        .with_state(console)
}

/// The largest body of a request that is not an upload (a login, a form, a new system's
/// JSON): none needs more than a few hundred bytes.
const FORM_BODY_LIMIT: usize = 16 * 1024;

/// The console's state, shared by every request.
#[derive(Clone)]
struct Console(Arc<Shared>);

struct Shared {
    registry: Registry,
    config: AdminConfig,
    sessions: Mutex<HashMap<[u8; 32], auth::Session>>,
    throttle: Mutex<throttle::Throttle>,
}

impl Console {
    fn config(&self) -> &AdminConfig {
        &self.0.config
    }

    fn now(&self) -> OffsetDateTime {
        self.0.registry.now()
    }

    /// Runs `work` on the blocking pool with the registry acting as `actor`.
    async fn blocking<T: Send + 'static>(
        &self,
        actor: &auth::Actor,
        work: impl FnOnce(&Registry) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AdminError> {
        let registry = self.0.registry.acting_as(&*actor.0);
        match tokio::task::spawn_blocking(move || work(&registry)).await {
            Ok(result) => result.map_err(AdminError::from),
            Err(error) => Err(AdminError::internal(format!(
                "the request's work stopped: {error}"
            ))),
        }
    }
}

/// An error as the API and the pages report it: a status, a stable code, a message.
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<i64>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The `Retry-After` header this error's response carries, if any.
    fn retry_after_header(&self) -> Option<(axum::http::HeaderName, axum::http::HeaderValue)> {
        let seconds = self.retry_after?;
        Some((
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        ))
    }

    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// A system's worst state: `damaged`, `expired`, `expiring`, `valid`, or `empty` when it
/// holds no certificates.
fn worst_status(overview: &crate::registry::SystemOverview) -> &'static str {
    if overview.damaged > 0 {
        "damaged"
    } else if overview.expired > 0 {
        "expired"
    } else if overview.expiring > 0 {
        "expiring"
    } else if overview.valid > 0 {
        "valid"
    } else {
        "empty"
    }
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        use crate::error::DecodeError;
        let status = match &error {
            StoreError::Decode(DecodeError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            StoreError::Decode(_)
            | StoreError::Expired { .. }
            | StoreError::NotForClientAuth { .. }
            | StoreError::CaCertificate { .. } => StatusCode::BAD_REQUEST,
            StoreError::SystemNotFound(_) | StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::NotInbound(_)
            | StoreError::SystemExists(_)
            | StoreError::SystemNotEmpty { .. } => StatusCode::CONFLICT,
            StoreError::Database { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AdminError::new(status, error.code(), error.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_header();
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some((name, value)) = retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
