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
//! | `GET /api/systems` | each system with its kind, its `permissions` (sorted names) and counts (`valid`, `expiring`, `expired`, `damaged`) |
//! | `POST /api/systems` | `{"name", "kind"}` (and `"permissions": ["proxy-api", …]` if it holds any): create a system → 201 |
//! | `PUT /api/systems/{system}/permissions` | `["proxy-api", "realtime-api"]`: replace the system's permissions (audited; the same set changes nothing) → the system with its `permissions` (400 `invalid_permission` for a name that is not a permission, nothing changed; 409 `target_permissions` for a target system) |
//! | `DELETE /api/systems/{system}` | remove an empty system → 204 (`?with_certificates=true` removes its certificates too) |
//! | `GET /api/systems/{system}/certificates` | summaries with their status now (`?expiring_within_days=N` keeps those ending within N days) |
//! | `POST /api/systems/{system}/certificates` | import the body (any format the decoder accepts, or `multipart/form-data` with a `file` field) → 201 `[{"name", "outcome": "added" \| "renewed" \| "already_present" \| "skipped"}]` (a renewal also has `"renews"` and `"renews_not_after"`; a skipped certificate, a CA certificate of the client's chain, `"reason": "chain_ca"` and a `"message"`); `?allow_expired=true`, `?allow_ca=true`, `?allow_without_client_auth=true`, `?allow_weak=true` (the CLI's `--allow-expired`, `--allow-ca`, `--allow-without-client-auth`, `--allow-weak`); `?dry_run=true` → 200, each certificate's outcome or refusal, nothing stored |
//! | `GET /api/systems/{system}/certificates/{name}` | its [`CertificateReport`](crate::CertificateReport), `"suspension"` (null or `{"reason", "since", "by"}`), `"last_used"` (RFC 3339 or null: never used) and `"last_used_from"` (an address or null); the list's entries carry them too (`name` may be a fingerprint in any spelling); `?format=pem` or `?format=der` downloads the certificate |
//! | `DELETE /api/systems/{system}/certificates/{name}` | delete → 204 |
//! | `POST /api/systems/{system}/certificates/{name}/suspend` | `{"reason": "…"}`: refuse it at every handshake until resumed, keeping it stored → the suspension (400 `invalid_reason` for an empty, over-long or control-character reason) |
//! | `POST /api/systems/{system}/certificates/{name}/resume` | trust it again → the suspension lifted (409 `not_suspended` if there was none) |
//! | `POST /api/systems/{system}/purge-expired` | delete the expired certificates → the names deleted |
//! | `POST /api/identify` | which systems trust a certificate: the body is the certificate (any format the decoder accepts, or `multipart/form-data` with a `file` field; exactly one certificate, a bundle is refused with 400 `malformed_request`), or, with `Content-Type: application/json`, `{"fingerprint": "..."}` (the SHA-256 fingerprint in any spelling, or `cert_client_<hex>`) → `{"fingerprint", "name", "systems": [{"name", "kind"}]}` (`systems` empty when none trusts it) |
//! | `GET /api/history` | the audit trail, newest first (`?system=`, `?since=`, `?until=` (RFC 3339), `?limit=`: 50 records unless asked, at most 1000; a larger `limit` is refused with 400 `malformed_request` rather than clamped, so a short page is never taken for the whole trail) |
//! | `GET /metrics` | the metrics in Prometheus text, when [`AdminConfig::metrics`] was given a handle |
//!
//! A query parameter a route does not take (a misspelt option) is refused with 400
//! `malformed_request` naming it and the parameters the route takes, never ignored.
//!
//! Status codes: 400 for a refused upload or request, 401 without valid credentials, 403 for
//! a state change without a valid CSRF token or from a foreign `Origin`, 404, 409 for an
//! import into a target system or a permission for one, an existing system name, a system that is not empty or a
//! resume of a certificate that is not suspended, 413
//! for an upload over [`DecodeOptions::max_input_bytes`](crate::decode::DecodeOptions::max_input_bytes)
//! (refused while the body is read) or another body over 16 KiB, 429 `too_many_attempts`
//! (with `Retry-After`) when too many wrong tokens were tried, 503 `database` when the
//! database cannot be reached and 503 `not_audited` when the audit trail cannot record a change
//! (the change was not made: retry later), 500 for anything else that failed in the store;
//! [`serve`] adds 408 `request_timeout`.
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
//! confirmation asking for the reason) and `POST …/{name}/suspend`, `GET` (a confirmation) and
//! `POST …/{name}/resume`, `GET` (a
//! confirmation) and `POST /systems/{system}/purge-expired`, `POST /systems` (create a
//! system), `POST /systems/{system}/remove` (an empty one, or, from its `GET` confirmation
//! listing the certificates and damaged entries that go with it, one that holds some),
//! `GET /identify` and `POST /identify` (which systems trust the certificates of an uploaded
//! file, or a fingerprint typed in), `GET /activity` (the audit trail, with the API's `limit`
//! rules). An import refused for what one of the form's checkboxes allows (expired, without
//! clientAuth, a CA certificate) says which box to tick.
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
//! [`max_input_bytes`](crate::decode::DecodeOptions::max_input_bytes). The rest of a refused body is
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

// The modules, each using only those below it (no module uses one that uses it back):
//
//   admin (this file: the router)  → api, auth, config, console, drain, error, pages, serve
//   pages/*    the pages' handlers  → page, templates, request, upload, session, console,
//                                     error (the pages' own modules use pages/mod.rs for
//                                     nothing: what they share is in page)
//   api        the JSON API         → request, upload, console, config, error
//   auth       tokens, cookies, Origin, security headers → page, session, console, origin,
//                                     throttle, error
//   page       Page, PageError      → templates, session, console, error
//   templates  maud: the frame, Text, badges → session, console, error
//   request    parameters, names in paths, stored entries → console, error
//   upload     uploads and forms    → session, console, error
//   console    Console, Actor, Base, Href → config, session, throttle, error
//   config     AdminConfig          → session, origin
//   session    sessions, Flash, CSRF → error
//   serve      the server           → error
//   error, origin, throttle, drain: none
mod api;
mod auth;
mod config;
mod console;
mod drain;
mod error;
mod origin;
mod page;
mod pages;
mod request;
mod serve;
mod session;
mod templates;
mod throttle;
mod upload;

pub use config::{
    generate_token, AdminConfig, AdminConfigError, MIN_DISTINCT_TOKEN_CHARS, MIN_TOKEN_CHARS,
};
pub use serve::{serve, ServeOptions};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::registry::Registry;
use console::Console;
use error::FORM_BODY_LIMIT;

/// The console's routes (see the [module docs](self)) over `registry`, to serve or to mount
/// with [`Router::nest`] (links and redirects follow the prefix it is mounted at).
pub fn router(registry: Registry, config: AdminConfig) -> Router {
    // Multipart framing around the largest upload accepted; the upload itself is counted
    // against the decoder's limit as it is read.
    let upload_body_limit = config.decode.max_input_bytes.saturating_add(64 * 1024);
    let console = Console::new(registry, config);
    let api = Router::new()
        .route("/api/systems", get(api::systems).post(api::create_system))
        .route(
            "/api/systems/{system}",
            axum::routing::delete(api::remove_system),
        )
        .route(
            "/api/systems/{system}/permissions",
            axum::routing::put(api::set_permissions),
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
            "/api/systems/{system}/certificates/{name}/suspend",
            post(api::suspend),
        )
        .route(
            "/api/systems/{system}/certificates/{name}/resume",
            post(api::resume),
        )
        .route(
            "/api/systems/{system}/purge-expired",
            post(api::purge_expired),
        )
        .route(
            "/api/identify",
            post(api::identify).layer(DefaultBodyLimit::max(upload_body_limit)),
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
        .route(
            "/systems/{system}/remove",
            get(pages::confirm_remove).post(pages::remove_system),
        )
        .route(
            "/systems/{system}/permissions",
            post(pages::set_permissions),
        )
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
        .route(
            "/systems/{system}/certificates/{name}/suspend",
            get(pages::confirm_suspend).post(pages::suspend),
        )
        .route(
            "/systems/{system}/certificates/{name}/resume",
            get(pages::confirm_resume).post(pages::resume),
        )
        .route(
            "/identify",
            get(pages::identify_form)
                .post(pages::identify)
                .layer(DefaultBodyLimit::max(upload_body_limit)),
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
