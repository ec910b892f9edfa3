//! [`AdminConfig`]: the administrators and their tokens, and how the console is run.

use std::fmt;
use std::sync::Arc;

use time::Duration;

use super::{origin, session};
use crate::decode::DecodeOptions;

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
    pub(super) admins: Vec<Admin>,
    pub(super) over_https: bool,
    pub(super) public_origin: Option<origin::Origin>,
    pub(super) session_lifetime: Duration,
    pub(super) warn_within: Duration,
    pub(super) decode: DecodeOptions,
    pub(super) tls_keys: crate::summary::TlsKeyTypes,
    pub(super) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub(super) login_log: Option<LoginLog>,
}

/// Where the lines about refused tokens go ([`AdminConfig::login_log`]).
pub(super) type LoginLog = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub(super) struct Admin {
    pub(super) name: Arc<str>,
    pub(super) token: String,
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
            .field("tls_key_types", &self.tls_keys)
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
            tls_keys: crate::summary::TlsKeyTypes::common(),
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
        let parsed = origin::Origin::parse(origin)
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

    /// The key types the service's TLS provider verifies (default
    /// [`TlsKeyTypes::common`](crate::summary::TlsKeyTypes::common)): imports refuse, and the pages
    /// badge, a certificate whose key is of another type. With the `rustls` feature,
    /// [`TlsKeyTypes::of_provider`](crate::summary::TlsKeyTypes::of_provider) gives those of the
    /// provider the service's verifier uses.
    pub fn tls_key_types(mut self, keys: crate::summary::TlsKeyTypes) -> Self {
        self.tls_keys = keys;
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
    session::random_text().map_err(|error| AdminConfigError::Random(error.to_string()))
}
