//! [`Monitor`]: validity checks that run themselves over every system of a registry, with
//! events when a certificate enters the warning window, expires or is purged, and gauges for
//! a monitoring stack.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use time::{Duration, OffsetDateTime};

use crate::fingerprint::CertificateName;
use crate::registry::Registry;
use crate::store::{CertificateStore, StoreBackend, StoreError, StoreEvent};
use crate::summary::ValidityStatus;
use crate::sync::MutexExt;
use crate::system::SystemName;

/// Where a monitor takes the time from. The library never reads the clock by itself: a
/// monitor started with [`Monitor::start`] uses [`SystemClock`]; tests pass a fixed or
/// stepped clock (any `Fn() -> OffsetDateTime`).
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

impl<F: Fn() -> OffsetDateTime + Send + Sync + 'static> Clock for F {
    fn now(&self) -> OffsetDateTime {
        self()
    }
}

/// Something a monitor noticed about a certificate. Each is reported once per certificate
/// and system by a monitor (a new monitor, after a restart, reports again what is already
/// true at its first check).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidityEvent {
    /// The certificate is valid, and its validity ends within the warning window.
    Expiring(CertificateEvent),
    /// The certificate's validity has ended.
    Expired(CertificateEvent),
    /// The certificate was deleted, expired for longer than the grace period
    /// ([`MonitorOptions::purge_expired_after`]).
    Purged(CertificateEvent),
}

/// Which certificate of which system an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateEvent {
    /// The system that trusts (or trusted) the certificate.
    pub system: SystemName,
    /// The certificate.
    pub certificate: CertificateName,
    /// Its subject (RFC 4514).
    pub subject: String,
    /// The end of its validity.
    pub not_after: OffsetDateTime,
}

impl ValidityEvent {
    /// The certificate and system the event is about.
    pub fn certificate(&self) -> &CertificateEvent {
        match self {
            ValidityEvent::Expiring(event)
            | ValidityEvent::Expired(event)
            | ValidityEvent::Purged(event) => event,
        }
    }
}

impl fmt::Display for ValidityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = self.certificate();
        let what = match self {
            ValidityEvent::Expiring(_) => "expires on",
            ValidityEvent::Expired(_) => "expired on",
            ValidityEvent::Purged(_) => "was deleted, having expired on",
        };
        write!(
            f,
            "certificate {} ({:?}) of system {} {what} {}",
            event.certificate,
            event.subject,
            event.system,
            crate::store::rfc3339(event.not_after)
        )
    }
}

/// How a [`Monitor`] checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorOptions {
    interval: std::time::Duration,
    warn_within: Duration,
    purge_expired_after: Option<Duration>,
    certificate_metrics: bool,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            interval: std::time::Duration::from_secs(60 * 60),
            warn_within: Duration::days(30),
            purge_expired_after: None,
            certificate_metrics: true,
        }
    }
}

impl MonitorOptions {
    /// The defaults: a check every hour, a warning window of 30 days, no automatic purge,
    /// and a gauge per certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time between two checks of a started monitor (default: one hour).
    pub fn interval(mut self, interval: std::time::Duration) -> Self {
        self.interval = interval;
        self
    }

    /// A certificate whose validity ends within this is *expiring* (default: 30 days).
    pub fn warn_within(mut self, window: Duration) -> Self {
        self.warn_within = window;
        self
    }

    /// Delete certificates that expired at least `grace` ago (default: never). Each deletion
    /// is reported as [`ValidityEvent::Purged`].
    pub fn purge_expired_after(mut self, grace: Option<Duration>) -> Self {
        self.purge_expired_after = grace;
        self
    }

    /// Whether to set the gauge `inbound_certs_certificate_not_after_timestamp_seconds` for
    /// every certificate (default: yes); switch it off for very large registries, where a
    /// time series per certificate costs the monitoring stack too much.
    pub fn certificate_metrics(mut self, enabled: bool) -> Self {
        self.certificate_metrics = enabled;
        self
    }
}

/// What a monitor last reported of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reported {
    Nothing,
    Expiring,
    Expired,
}

/// Checks the validity of every certificate of every system of a registry: reports each
/// certificate that enters the warning window or expires (once), purges expired ones after
/// a grace period if asked, and sets gauges through the [`metrics`] facade (the service
/// installs the exporter):
///
/// - `inbound_certs_certificates{system, status}`: how many certificates of the system are
///   `valid`, `expiring`, `expired` or `damaged`;
/// - `inbound_certs_certificate_not_after_timestamp_seconds{system, name}`: each
///   certificate's end of validity as a Unix time (see
///   [`MonitorOptions::certificate_metrics`]).
///
/// Call [`check_once`](Self::check_once) from a scheduler of your own, or
/// [`start`](Self::start) a thread that checks every [`MonitorOptions::interval`] and stops
/// when its [`MonitorHandle`] is dropped:
///
/// ```
/// use inbound_certs::{Monitor, MonitorOptions, Registry};
///
/// let registry = Registry::in_memory();
/// let monitor = Monitor::start(registry, MonitorOptions::new(), |event| match event {
///     Ok(event) => eprintln!("{event}"),
///     Err(error) => eprintln!("validity check failed: {}", inbound_certs::ErrorReport::new(&error)),
/// });
/// drop(monitor); // stops the thread
/// ```
#[derive(Debug)]
pub struct Monitor {
    registry: Registry,
    options: MonitorOptions,
    reported: Mutex<HashMap<(SystemName, CertificateName), Reported>>,
}

impl Monitor {
    /// A monitor of every system of `registry`; nothing runs until it is checked or started.
    pub fn new(registry: Registry, options: MonitorOptions) -> Self {
        Monitor {
            registry,
            options,
            reported: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a monitor on a thread of its own, checking at once and then every
    /// [`MonitorOptions::interval`] by the system clock; every event (or failed check) goes to
    /// `on_event`. The thread stops when the returned handle is dropped.
    pub fn start(
        registry: Registry,
        options: MonitorOptions,
        on_event: impl FnMut(Result<ValidityEvent, StoreError>) + Send + 'static,
    ) -> MonitorHandle {
        Monitor::new(registry, options).spawn(SystemClock, on_event)
    }

    /// Runs this monitor on a thread of its own with `clock`, as [`start`](Self::start) does.
    pub fn spawn(
        self,
        clock: impl Clock,
        mut on_event: impl FnMut(Result<ValidityEvent, StoreError>) + Send + 'static,
    ) -> MonitorHandle {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("inbound-certs-monitor".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                loop {
                    match self.check_once(clock.now()) {
                        Ok(events) => events.into_iter().for_each(|event| on_event(Ok(event))),
                        Err(error) => on_event(Err(error)),
                    }
                    let guard = stopped.locked();
                    let (guard, _) = wake
                        .wait_timeout_while(guard, self.options.interval, |stopped| !*stopped)
                        .unwrap_or_else(PoisonError::into_inner);
                    if *guard {
                        return;
                    }
                }
            })
            .ok();
        MonitorHandle { stop, thread }
    }

    /// Checks every system once at `now`: returns what changed since the last check (each
    /// certificate that entered the warning window, expired or was purged), and sets the
    /// gauges. A certificate deleted meanwhile is forgotten; imported again, it is reported
    /// again.
    pub fn check_once(&self, now: OffsetDateTime) -> Result<Vec<ValidityEvent>, StoreError> {
        let mut events = Vec::new();
        let mut seen = HashMap::new();
        let mut reported = self.reported.locked();
        for system in self.registry.systems()?.systems {
            let store = self.registry.store(system.name())?;
            let listing = store.list()?;
            let name = system.name().to_string();
            let mut counts = [0usize; 3];
            for certificate in listing.certificates {
                let summary = certificate.summary();
                let key = (system.name().clone(), certificate.name());
                let event = CertificateEvent {
                    system: system.name().clone(),
                    certificate: certificate.name(),
                    subject: summary.subject.to_string(),
                    not_after: summary.validity.not_after,
                };
                if self.options.certificate_metrics {
                    metrics::gauge!(
                        "inbound_certs_certificate_not_after_timestamp_seconds",
                        "system" => name.clone(),
                        "name" => certificate.name().to_string()
                    )
                    .set(summary.validity.not_after.unix_timestamp() as f64);
                }
                let before = reported.get(&key).copied().unwrap_or(Reported::Nothing);
                let now_reported = match summary.validity.status_at(now, self.options.warn_within) {
                    ValidityStatus::Expired { .. } => {
                        let grace = self.options.purge_expired_after;
                        if grace.is_some_and(|grace| now >= summary.validity.not_after + grace) {
                            match store.remove_expired(&certificate) {
                                Ok(()) => {
                                    metrics::counter!("inbound_certs_purges_total").increment(1);
                                    store.record(StoreEvent::Purged {
                                        certificate: &certificate,
                                    })?;
                                    if before != Reported::Expired {
                                        events.push(ValidityEvent::Expired(event.clone()));
                                    }
                                    events.push(ValidityEvent::Purged(event));
                                    continue;
                                }
                                Err(StoreError::NotFound(_)) => continue,
                                Err(error) => return Err(error),
                            }
                        }
                        counts[2] += 1;
                        if before != Reported::Expired {
                            events.push(ValidityEvent::Expired(event));
                        }
                        Reported::Expired
                    }
                    ValidityStatus::ExpiringSoon { .. } => {
                        counts[1] += 1;
                        if before == Reported::Nothing {
                            events.push(ValidityEvent::Expiring(event));
                        }
                        before.max_with(Reported::Expiring)
                    }
                    _ => {
                        counts[0] += 1;
                        Reported::Nothing
                    }
                };
                seen.insert(key, now_reported);
            }
            for (status, count) in [
                ("valid", counts[0]),
                ("expiring", counts[1]),
                ("expired", counts[2]),
                ("damaged", listing.damaged.len()),
            ] {
                metrics::gauge!("inbound_certs_certificates", "system" => name.clone(), "status" => status)
                    .set(count as f64);
            }
        }
        *reported = seen;
        Ok(events)
    }
}

impl Reported {
    /// The later of two states: a certificate reported expired is not reported expiring.
    fn max_with(self, other: Reported) -> Reported {
        match (self, other) {
            (Reported::Expired, _) | (_, Reported::Expired) => Reported::Expired,
            (Reported::Expiring, _) | (_, Reported::Expiring) => Reported::Expiring,
            _ => Reported::Nothing,
        }
    }
}

/// A running monitor's thread; dropping the handle stops it (and waits for a check in
/// progress to finish).
#[derive(Debug)]
pub struct MonitorHandle {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl MonitorHandle {
    /// Whether the monitor's thread is running (it could not be started if the system
    /// refused a new thread).
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }
}

impl Drop for MonitorHandle {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.locked() = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
