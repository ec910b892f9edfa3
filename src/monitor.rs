//! [`Monitor`]: validity checks that run themselves over every system of a registry, with
//! events when a certificate enters the warning window, expires or is purged, and gauges for
//! a monitoring stack.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use time::{Duration, OffsetDateTime};

pub use crate::clock::{Clock, SystemClock};
use crate::fingerprint::CertificateName;
use crate::registry::{Generation, Registry};
use crate::store::{CertificateStore, StoreBackend, StoreError, StoreEvent};
use crate::summary::ValidityStatus;
use crate::sync::MutexExt;
use crate::system::SystemName;

mod renewal;
mod unused;

/// Something a monitor noticed about a certificate, or about its gauges. Each is reported
/// once per certificate and system by a monitor (a new monitor, after a restart, reports
/// again what is already true at its first check).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidityEvent {
    /// The certificate is valid, and its validity ends within the warning window; unless
    /// the same system holds a certificate that [renews](crate::Certificate::renews) it, is
    /// not suspended, and was used since it was imported into the system (or, if the trail
    /// no longer has that import, was used at all): the clients moved to the renewal
    /// already, so the end of the old one needs nobody's action. Such an old certificate is
    /// reported when that stops being true before it expires (the renewal is deleted or
    /// suspended). Its expiry is reported as [`Expired`](Self::Expired) whatever its
    /// renewals, as it is on the gauges: the certificate is still trusted until it is
    /// deleted or purged, and a purge acts on the expiry.
    Expiring(CertificateEvent),
    /// The certificate's validity has ended.
    Expired(CertificateEvent),
    /// The certificate was deleted, expired for longer than the grace period
    /// ([`MonitorOptions::purge_expired_after`]).
    Purged(CertificateEvent),
    /// The certificate was not used for as long as [`MonitorOptions::report_unused_after`]
    /// says (counted from its last use, or from its import if it was never used).
    Unused {
        /// The certificate.
        event: CertificateEvent,
        /// Its last use, if any.
        last_used: Option<crate::registry::LastUse>,
    },
    /// The gauge `inbound_certs_certificate_not_after_timestamp_seconds` was switched off,
    /// the registry holding more certificates than
    /// [`MonitorOptions::certificate_metrics_limit`], or on again, holding no more. Reported
    /// by the check that switches it (a new monitor reports it switched off at its first
    /// check, if it is), so that a service that logs its events logs the change once.
    CertificateMetrics {
        /// Whether the gauge is set from this check on.
        enabled: bool,
        /// How many certificates the check counted (one per system that holds it).
        certificates: usize,
        /// The limit.
        limit: usize,
    },
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
    /// The certificate and system the event is about; none for
    /// [`CertificateMetrics`](Self::CertificateMetrics).
    pub fn certificate(&self) -> Option<&CertificateEvent> {
        match self {
            ValidityEvent::Expiring(event)
            | ValidityEvent::Expired(event)
            | ValidityEvent::Purged(event)
            | ValidityEvent::Unused { event, .. } => Some(event),
            ValidityEvent::CertificateMetrics { .. } => None,
        }
    }
}

impl fmt::Display for ValidityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (event, what) = match self {
            ValidityEvent::Expiring(event) => (event, "expires on"),
            ValidityEvent::Expired(event) => (event, "expired on"),
            ValidityEvent::Purged(event) => (event, "was deleted, having expired on"),
            ValidityEvent::Unused { event, last_used } => {
                return unused::describe(f, event, last_used.as_ref())
            }
            ValidityEvent::CertificateMetrics {
                enabled,
                certificates,
                limit,
            } => {
                let (switched, than) = if *enabled {
                    ("on again", "no more than")
                } else {
                    ("off, its series set to NaN", "more than")
                };
                return write!(
                    f,
                    "the gauge inbound_certs_certificate_not_after_timestamp_seconds is switched {switched}: the registry holds {certificates} certificates, {than} the limit of {limit}"
                );
            }
        };
        write!(
            f,
            "certificate {} ({:?}) of system {} {what} {}",
            event.certificate,
            event.subject,
            event.system,
            crate::clock::rfc3339(event.not_after)
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
    certificate_metrics_limit: usize,
    follow_changes: Option<std::time::Duration>,
    report_unused_after: Option<Duration>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            interval: std::time::Duration::from_secs(60 * 60),
            warn_within: Duration::days(30),
            purge_expired_after: None,
            certificate_metrics: true,
            certificate_metrics_limit: MAX_CERTIFICATE_SERIES,
            follow_changes: Some(DEFAULT_FOLLOW_CHANGES),
            report_unused_after: None,
        }
    }
}

/// The number of certificates above which a monitor stops setting the per-certificate gauge
/// `inbound_certs_certificate_not_after_timestamp_seconds`, by default (see
/// [`MonitorOptions::certificate_metrics_limit`]): at 10,000 series the gauge adds about
/// 1.6 MB to each scrape.
pub const MAX_CERTIFICATE_SERIES: usize = 10_000;

/// How often a started monitor looks whether the registry changed, by default.
const DEFAULT_FOLLOW_CHANGES: std::time::Duration = std::time::Duration::from_secs(2);

/// The shortest pause between two looks at the registry: a poll of zero would spin.
const SHORTEST_POLL: std::time::Duration = std::time::Duration::from_millis(1);

impl MonitorOptions {
    /// The defaults: a check every hour, a check within 2 seconds of every change to the
    /// registry, a warning window of 30 days, no automatic purge, and a gauge per
    /// certificate while there are at most [`MAX_CERTIFICATE_SERIES`] of them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time between two periodic checks of a started monitor, for the passing of time
    /// (default: one hour); changes to the registry are checked sooner (see
    /// [`follow_changes`](Self::follow_changes)). Counted from the end of the last check,
    /// periodic or not.
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
    ///
    /// The [`metrics`] facade cannot remove a series, so the series of a certificate that is
    /// gone at a check (deleted, purged, its system removed) is set once to the tombstone
    /// value NaN and then left alone: PromQL comparisons such as
    /// `… - time() < 7 * 86400` are false for NaN, so no expiry alert fires for a deleted
    /// certificate, and an exporter that drops idle series (metrics-exporter-prometheus's
    /// `idle_timeout`, longer than the [interval](Self::interval)) then removes it for good,
    /// while the live series, set at every check, stay. (Zero would read as "expired in
    /// 1970".) A certificate imported again gets its value back at the next check. The
    /// counts `inbound_certs_certificates{system, status}` of a removed system are set to
    /// 0, which sums well.
    pub fn certificate_metrics(mut self, enabled: bool) -> Self {
        self.certificate_metrics = enabled;
        self
    }

    /// The most certificates for which the gauge of
    /// [`certificate_metrics`](Self::certificate_metrics) is set (default:
    /// [`MAX_CERTIFICATE_SERIES`]). A certificate counts once per system that holds it (one
    /// series each); damaged files and certificates purged by the check do not count.
    ///
    /// A check that finds more switches the gauge off by itself: the series set so far get
    /// the tombstone NaN, as a deleted certificate's does, and no series is set while the
    /// registry holds more. A check that finds `limit` or fewer switches it on again, and
    /// every certificate's series gets its value back. Each switch is reported once, as
    /// [`ValidityEvent::CertificateMetrics`] (a line for the service's log). The counts
    /// `inbound_certs_certificates{system, status}` are set whatever the number.
    pub fn certificate_metrics_limit(mut self, limit: usize) -> Self {
        self.certificate_metrics_limit = limit;
        self
    }

    /// How often a started monitor looks whether the registry changed, and checks again
    /// when it did (default: every 2 seconds); `None` checks only every
    /// [interval](Self::interval). Changes are imports, deletes, purges and systems created
    /// or removed, made through any handle on the registry in this process, and on a
    /// directory through any process (one `stat` of its change marker per look); on
    /// PostgreSQL, the other replicas' changes wait for the next periodic check. The
    /// periodic check stays, for the passing of time. The look itself costs an atomic load
    /// (plus the `stat`); a check is only made when something changed. A poll shorter than a
    /// millisecond is taken as one millisecond.
    pub fn follow_changes(mut self, poll: Option<std::time::Duration>) -> Self {
        self.follow_changes = poll.map(|poll| poll.max(SHORTEST_POLL));
        self
    }

    /// Reports [`ValidityEvent::Unused`] once per certificate and system when it has not
    /// been used for `after` (from its last use as [`Registry::usage`] knows it, or from its
    /// import if it was never used); used again, it is reported again the next time it is
    /// unused that long. Default: `None`, no such report.
    pub fn report_unused_after(mut self, after: Option<Duration>) -> Self {
        self.report_unused_after = after;
        self
    }
}

/// The values of the label `status` of `inbound_certs_certificates`.
const STATUSES: [&str; 5] = ["valid", "expiring", "expired", "damaged", "suspended"];

/// Why a started monitor's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Its handle was dropped.
    Stopped,
    /// A check is due.
    Due,
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
///   `valid`, `expiring`, `expired`, `damaged` or `suspended` (0 once the system is removed;
///   a [suspended](crate::SystemStore::suspend) certificate counts as `suspended` only,
///   whatever its validity, and its expiry is still reported and purged);
/// - `inbound_certs_certificate_not_after_timestamp_seconds{system, name}`: each
///   certificate's end of validity as a Unix time, and the tombstone NaN once it is gone
///   (see [`MonitorOptions::certificate_metrics`]); switched off while the registry holds
///   more than [`MonitorOptions::certificate_metrics_limit`] certificates.
///
/// Call [`check_once`](Self::check_once) from a scheduler of your own, or
/// [`start`](Self::start) a thread that checks every [`MonitorOptions::interval`] and within
/// [`MonitorOptions::follow_changes`] of every change to the registry, and stops when its
/// [`MonitorHandle`] is dropped:
///
/// ```
/// use inbound_certs::{Monitor, Registry, monitor::MonitorOptions};
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
    state: Mutex<State>,
}

/// What a monitor reported at its last check.
#[derive(Debug, Default)]
struct State {
    /// The event last reported of each certificate of each system.
    reported: HashMap<(SystemName, CertificateName), Reported>,
    /// The certificates whose `not_after` series was set.
    gauged: HashSet<(SystemName, CertificateName)>,
    /// The systems whose counts were set.
    systems: HashSet<SystemName>,
    /// The certificates reported unused, until they are used again.
    unused: HashSet<(SystemName, CertificateName)>,
    /// Whether the per-certificate gauge was switched off for too many certificates.
    too_many: bool,
}

impl Monitor {
    /// A monitor of every system of `registry`; nothing runs until it is checked or started.
    pub fn new(registry: Registry, options: MonitorOptions) -> Self {
        Monitor {
            registry,
            options,
            state: Mutex::new(State::default()),
        }
    }

    /// Starts a monitor on a thread of its own, checking at once, then every
    /// [`MonitorOptions::interval`], and shortly after every change to the registry
    /// ([`MonitorOptions::follow_changes`]), by the system clock; every event (or failed
    /// check) goes to `on_event`. The thread stops when the returned handle is dropped.
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
                loop {
                    // Taken before the check: a change made during it moves the generation,
                    // and is checked again.
                    let generation = self.registry.generation();
                    match self.check_once(clock.now()) {
                        Ok(events) => events.into_iter().for_each(|event| on_event(Ok(event))),
                        Err(error) => on_event(Err(error)),
                    }
                    if self.wait(&signal, generation) == Wait::Stopped {
                        return;
                    }
                }
            })
            .ok();
        MonitorHandle { stop, thread }
    }

    /// Waits, from a check that began at `generation`, until the next check is due: when the
    /// interval has passed or, following changes, when the registry's generation moved.
    /// The interval is counted in pauses waited (no clock is read).
    fn wait(&self, (stopped, wake): &(Mutex<bool>, Condvar), generation: Generation) -> Wait {
        let mut left = self.options.interval;
        loop {
            let pause = self
                .options
                .follow_changes
                .map_or(left, |poll| poll.min(left));
            let guard = stopped.locked();
            let (guard, _) = wake
                .wait_timeout_while(guard, pause, |stopped| !*stopped)
                .unwrap_or_else(PoisonError::into_inner);
            if *guard {
                return Wait::Stopped;
            }
            drop(guard);
            left = left.saturating_sub(pause);
            if left.is_zero() {
                return Wait::Due;
            }
            if self.options.follow_changes.is_some() && self.registry.generation() != generation {
                return Wait::Due;
            }
        }
    }

    /// Checks every system once at `now`: returns what changed since the last check (each
    /// certificate that entered the warning window, but for one whose renewal is in use (see
    /// [`ValidityEvent::Expiring`]), expired or was purged, and whether the per-certificate
    /// gauge was switched off or on ([`ValidityEvent::CertificateMetrics`])), and sets the
    /// gauges. A certificate deleted meanwhile is forgotten (its series gets the tombstone
    /// of [`MonitorOptions::certificate_metrics`]); imported again, it is reported again. A
    /// system removed during the check is left out of it.
    pub fn check_once(&self, now: OffsetDateTime) -> Result<Vec<ValidityEvent>, StoreError> {
        let mut events = Vec::new();
        let mut seen = HashMap::new();
        let mut gauged = HashSet::new();
        // Set once every system is counted, unless there are too many: at most the limit
        // are held.
        let mut series = Series::new(&self.options);
        let mut systems = HashSet::new();
        let mut state = self.state.locked();
        let reported = &state.reported;
        for system in self.registry.systems()?.systems {
            let store = match self.registry.store(system.name()) {
                Ok(store) => store,
                Err(StoreError::SystemNotFound(_)) => continue,
                Err(error) => return Err(error),
            };
            let listing = store.list()?;
            let suspended = store.suspensions()?;
            let mut renewals = renewal::Renewals::new(
                &self.registry,
                system.name(),
                &listing.certificates,
                &suspended,
            );
            let name = system.name().to_string();
            let mut counts = [0usize; 3];
            let mut suspended_count = 0;
            for certificate in &listing.certificates {
                // Counted as suspended whatever its validity (it is trusted by nobody here);
                // its expiry is still reported and purged like any other's.
                let is_suspended = suspended.contains_key(&certificate.name());
                let counts_of =
                    |counts: &mut [usize; 3], suspended_count: &mut usize, index: usize| {
                        if is_suspended {
                            *suspended_count += 1;
                        } else if let Some(count) = counts.get_mut(index) {
                            *count += 1;
                        }
                    };
                let summary = certificate.summary();
                let key = (system.name().clone(), certificate.name());
                let event = CertificateEvent {
                    system: system.name().clone(),
                    certificate: certificate.name(),
                    subject: summary.subject.to_string(),
                    not_after: summary.validity.not_after,
                };
                let before = reported.get(&key).copied().unwrap_or(Reported::Nothing);
                let now_reported = match summary.validity.status_at(now, self.options.warn_within) {
                    ValidityStatus::Expired { .. } => {
                        let grace = self.options.purge_expired_after;
                        if grace.is_some_and(|grace| now >= summary.validity.not_after + grace) {
                            match store.remove_expired(certificate) {
                                Ok(()) => {
                                    metrics::counter!("inbound_certs_purges_total").increment(1);
                                    store.record(StoreEvent::Purged { certificate })?;
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
                        counts_of(&mut counts, &mut suspended_count, 2);
                        if before != Reported::Expired {
                            events.push(ValidityEvent::Expired(event));
                        }
                        Reported::Expired
                    }
                    ValidityStatus::ExpiringSoon { .. } => {
                        counts_of(&mut counts, &mut suspended_count, 1);
                        if before != Reported::Nothing {
                            before.max_with(Reported::Expiring)
                        } else if renewals.in_use(certificate)? {
                            Reported::Nothing
                        } else {
                            events.push(ValidityEvent::Expiring(event));
                            Reported::Expiring
                        }
                    }
                    _ => {
                        counts_of(&mut counts, &mut suspended_count, 0);
                        Reported::Nothing
                    }
                };
                series.add(&key, summary.validity.not_after);
                seen.insert(key, now_reported);
            }
            let [valid, expiring, expired] = counts;
            let counts = [
                valid,
                expiring,
                expired,
                listing.damaged.len(),
                suspended_count,
            ];
            for (status, count) in STATUSES.into_iter().zip(counts) {
                metrics::gauge!("inbound_certs_certificates", "system" => name.clone(), "status" => status)
                    .set(count as f64);
            }
            systems.insert(system.name().clone());
        }
        let too_many = series.too_many();
        if too_many != state.too_many {
            if let Some(limit) = series.limit {
                events.push(ValidityEvent::CertificateMetrics {
                    enabled: !too_many,
                    certificates: series.counted,
                    limit,
                });
            }
        }
        for ((system, certificate), not_after) in series.into_values() {
            metrics::gauge!(
                "inbound_certs_certificate_not_after_timestamp_seconds",
                "system" => system.to_string(),
                "name" => certificate.to_string()
            )
            .set(not_after.unix_timestamp() as f64);
            gauged.insert((system, certificate));
        }
        for (system, certificate) in state.gauged.difference(&gauged) {
            metrics::gauge!(
                "inbound_certs_certificate_not_after_timestamp_seconds",
                "system" => system.to_string(),
                "name" => certificate.to_string()
            )
            .set(f64::NAN);
        }
        for system in state.systems.difference(&systems) {
            for status in STATUSES {
                metrics::gauge!("inbound_certs_certificates", "system" => system.to_string(), "status" => status)
                    .set(0.0);
            }
        }
        let unused = match self.options.report_unused_after {
            Some(after) => unused::check(&self.registry, now, after, &state.unused, &mut events)?,
            None => HashSet::new(),
        };
        *state = State {
            reported: seen,
            gauged,
            systems,
            unused,
            too_many,
        };
        Ok(events)
    }
}

/// The values of `inbound_certs_certificate_not_after_timestamp_seconds` a check sets, if
/// the gauge is on and the certificates are not too many.
struct Series {
    /// Whether the gauge is on, and the most certificates it is set for.
    limit: Option<usize>,
    /// How many certificates were counted.
    counted: usize,
    /// Each counted certificate's end of validity, while they are at most the limit.
    values: Vec<((SystemName, CertificateName), OffsetDateTime)>,
}

impl Series {
    fn new(options: &MonitorOptions) -> Self {
        Series {
            limit: options
                .certificate_metrics
                .then_some(options.certificate_metrics_limit),
            counted: 0,
            values: Vec::new(),
        }
    }

    /// Counts a certificate of a system, and keeps its value while they are not too many.
    fn add(&mut self, key: &(SystemName, CertificateName), not_after: OffsetDateTime) {
        self.counted = self.counted.saturating_add(1);
        match self.limit {
            Some(limit) if self.counted <= limit => self.values.push((key.clone(), not_after)),
            // Too many: what was kept is let go at once.
            Some(_) if !self.values.is_empty() => self.values = Vec::new(),
            _ => {}
        }
    }

    /// Whether the gauge is on and the certificates counted are more than its limit.
    fn too_many(&self) -> bool {
        self.limit.is_some_and(|limit| self.counted > limit)
    }

    /// The values to set: none if the gauge is off or the certificates were too many.
    fn into_values(self) -> Vec<((SystemName, CertificateName), OffsetDateTime)> {
        self.values
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
