//! The console's state ([`Console`]: the registry, the configuration, the sessions, the
//! throttle of token guesses), who a request acts for ([`Actor`]) and where the console is
//! mounted ([`Base`], its links being [`Href`]s).

use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::config::AdminConfig;
use super::error::AdminError;
use super::session::Sessions;
use super::throttle::Throttle;
use crate::registry::Registry;
use crate::store::StoreError;

/// The console's state, shared by every request.
#[derive(Clone)]
pub(super) struct Console(Arc<Shared>);

struct Shared {
    registry: Registry,
    config: AdminConfig,
    sessions: Sessions,
    throttle: Mutex<Throttle>,
}

impl Console {
    /// The console of `registry`, run as `config` says, with no sessions yet.
    pub(super) fn new(registry: Registry, config: AdminConfig) -> Self {
        Console(Arc::new(Shared {
            registry,
            config,
            sessions: Sessions::new(),
            throttle: Mutex::new(Throttle::new()),
        }))
    }

    pub(super) fn config(&self) -> &AdminConfig {
        &self.0.config
    }

    /// The registry, acting as nobody in particular (for the audit of refused logins).
    pub(super) fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The logged-in browsers' sessions.
    pub(super) fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// The token guesses counted per client.
    pub(super) fn throttle(&self) -> &Mutex<Throttle> {
        &self.0.throttle
    }

    pub(super) fn now(&self) -> OffsetDateTime {
        self.0.registry.now()
    }

    /// Runs `work` on the blocking pool with the registry acting as `actor`.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        actor: &Actor,
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

/// A link of the console: a path under the prefix it is mounted at (the prefix comes from
/// the request, so pages show it through its `Render` impl in `templates`, like any text).
#[derive(Debug, Clone)]
pub(super) struct Href(String);

impl Href {
    /// The link as it goes into a header (`Location`).
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A system's worst state: `damaged`, `expired`, `expiring`, `valid`, or `empty` when it
/// holds no certificates.
pub(super) fn worst_status(overview: &crate::registry::SystemOverview) -> &'static str {
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
