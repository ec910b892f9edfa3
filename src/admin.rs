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
//! axum::serve(listener, app).await?;
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
//! | `GET /api/history` | the audit trail, newest first (`?system=`, `?since=`, `?until=` (RFC 3339), `?limit=`) |
//! | `GET /metrics` | the metrics in Prometheus text, when [`AdminConfig::metrics`] was given a handle |
//!
//! Status codes: 400 for a refused upload or request, 401 without valid credentials, 403 for
//! a state change without a valid CSRF token or from a foreign `Origin`, 404, 409 for an
//! import into a target system, an existing system name or a system that is not empty, 413
//! for an upload over [`DecodeOptions::max_input_bytes`](crate::DecodeOptions::max_input_bytes)
//! (refused while the body is read), 503 when the database cannot be reached.
//!
//! The pages: `GET /login` and `POST /login`, `POST /logout`, `GET /` (the systems),
//! `GET /systems/{system}` (its *Inbound Certificates* and the import form),
//! `GET /systems/{system}/certificates/{name}` (the details), `POST /systems/{system}/import`,
//! `GET` (a confirmation) and `POST /systems/{system}/certificates/{name}/delete`, `GET` (a
//! confirmation) and `POST /systems/{system}/purge-expired`, `POST /systems` (create a
//! system), `POST /systems/{system}/remove` (an empty one), `GET /activity` (the audit trail).
//! They need no JavaScript and load nothing from elsewhere.
//!
//! # Security
//!
//! Every route but the login page and its style sheet needs authentication. The API takes
//! `Authorization: Bearer <token>`; the browser logs in once with the same token and gets a
//! session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` with [`AdminConfig::over_https`],
//! expiring after [`AdminConfig::session_lifetime`]). Tokens are compared in constant time.
//! Every form that changes something carries a CSRF token bound to the session, and a state
//! change whose `Origin` header names another host than the request's `Host` is refused; no
//! `GET` changes anything. Every response carries `Content-Security-Policy: default-src
//! 'self'`, `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
//! `Cache-Control: no-store`. The name of the administrator whose token was used is the
//! [audit trail](crate::Registry::history)'s actor.
//!
//! Store calls block (files, the PostgreSQL client), so the router runs each on
//! [`tokio::task::spawn_blocking`]: it must be served from a multi-threaded or current-thread
//! tokio runtime, as `axum::serve` does.

mod api;
mod auth;
mod html;
mod pages;
mod upload;

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
    session_lifetime: Duration,
    warn_within: Duration,
    decode: DecodeOptions,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

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
            .field("session_lifetime", &self.session_lifetime)
            .field("warn_within", &self.warn_within)
            .field("decode", &self.decode)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// The shortest token accepted, in characters: a token is all that guards the certificates a
/// service trusts. [`generate_token`] makes one of 64.
pub const MIN_TOKEN_CHARS: usize = 16;

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
    /// The administrator's name is empty, longer than 64 characters or holds control
    /// characters (it is written into the audit trail).
    #[error("{0:?} cannot name an administrator: use 1 to 64 printable characters")]
    InvalidName(String),
    /// Two administrators were given the same name or the same token.
    #[error("administrator {0} is given twice, or two administrators share a token")]
    Duplicate(String),
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
            session_lifetime: Duration::hours(8),
            warn_within: Duration::days(30),
            decode: DecodeOptions::default(),
            metrics: None,
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

    /// The console is served over HTTPS (directly or behind a proxy that terminates TLS): the
    /// session cookie gets the `Secure` attribute.
    pub fn over_https(mut self, over_https: bool) -> Self {
        self.over_https = over_https;
        self
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
    let upload_limit = config.decode.max_input_bytes;
    let console = Console(Arc::new(Shared {
        registry,
        config,
        sessions: Mutex::new(HashMap::new()),
    }));
    let api = Router::new()
        .route("/api/systems", get(api::systems).post(api::create_system))
        .route(
            "/api/systems/{system}",
            axum::routing::delete(api::remove_system),
        )
        .route(
            "/api/systems/{system}/certificates",
            get(api::certificates).post(api::import),
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
        .route("/systems/{system}/import", post(pages::import))
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
        // Multipart framing around the largest upload accepted; the upload itself is
        // counted against the decoder's limit as it is read.
        .layer(DefaultBodyLimit::max(
            upload_limit.saturating_add(64 * 1024),
        ))
        .layer(axum::middleware::from_fn(auth::guard))
        .with_state(console)
}

/// The console's state, shared by every request.
#[derive(Clone)]
struct Console(Arc<Shared>);

struct Shared {
    registry: Registry,
    config: AdminConfig,
    sessions: Mutex<HashMap<[u8; 32], auth::Session>>,
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
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            message: message.into(),
        }
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
            | StoreError::SystemNotEmpty { .. }
            | StoreError::DirectoryNotEmpty(_) => StatusCode::CONFLICT,
            StoreError::Database { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AdminError::new(status, error.code(), error.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        (self.status, axum::Json(body)).into_response()
    }
}
