//! The validity monitor with a fixed and a stepped clock: each event once, purges after the
//! grace period, what a restart reports, the gauges it sets, and its thread.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use inbound_certs::{
    decode,
    monitor::{MonitorOptions, ValidityEvent},
    Certificate, CertificateStore, ImportPolicy, Monitor, Registry, SystemKind, SystemName,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const CREATED: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

/// A registry with `crm` trusting sample_source.pem, whose validity ends 2045-01-01.
fn registry() -> (Registry, SystemName, Certificate) {
    let registry = Registry::in_memory();
    let crm: SystemName = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, CREATED)
        .unwrap();
    let certificate = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    assert_eq!(
        certificate.summary().validity.not_after,
        datetime!(2045-01-01 0:00 UTC)
    );
    registry
        .store(&crm)
        .unwrap()
        .import(&certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    (registry, crm, certificate)
}

fn kinds(events: &[ValidityEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|event| match event {
            ValidityEvent::Expiring(_) => "expiring",
            ValidityEvent::Expired(_) => "expired",
            ValidityEvent::Purged(_) => "purged",
            _ => "other",
        })
        .collect()
}

/// A clock stepped across the warning window and the expiry: each event exactly once.
#[test]
fn each_transition_is_reported_once() {
    let (registry, crm, certificate) = registry();
    let monitor = Monitor::new(registry.clone(), MonitorOptions::new());
    let steps: [(OffsetDateTime, &[&str]); 7] = [
        (datetime!(2044-11-01 0:00 UTC), &[]),
        (datetime!(2044-12-01 0:00 UTC), &[]),
        (datetime!(2044-12-02 0:00:01 UTC), &["expiring"]),
        (datetime!(2044-12-20 0:00 UTC), &[]),
        (datetime!(2044-12-31 23:59 UTC), &[]),
        (datetime!(2045-01-01 0:00:01 UTC), &["expired"]),
        (datetime!(2045-03-01 0:00 UTC), &[]),
    ];
    for (now, expected) in steps {
        let events = monitor.check_once(now).unwrap();
        assert_eq!(kinds(&events), expected.to_vec(), "at {now}");
        if let Some(event) = events.first() {
            let details = event.certificate().unwrap();
            assert_eq!(details.system, crm);
            assert_eq!(details.certificate, certificate.name());
            assert_eq!(
                details.subject,
                "CN=orders-service.source.example,O=Orders Inc,C=DE"
            );
        }
    }
    // Deleted and imported again: a new certificate to the monitor, reported again.
    let store = registry.store(&crm).unwrap();
    store.delete(&certificate.name()).unwrap();
    assert!(monitor
        .check_once(datetime!(2045-03-02 0:00 UTC))
        .unwrap()
        .is_empty());
    store
        .import(&certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    let events = monitor.check_once(datetime!(2045-03-03 0:00 UTC)).unwrap();
    assert_eq!(kinds(&events), vec!["expired"]);
    assert_eq!(
        events[0].to_string(),
        format!(
            "certificate {} (\"CN=orders-service.source.example,O=Orders Inc,C=DE\") of system crm expired on 2045-01-01T00:00:00Z",
            certificate.name()
        )
    );
}

/// A new monitor (a restarted service) reports at its first check what is already true:
/// each expiring or expired certificate once more, then nothing.
#[test]
fn a_restarted_monitor_reports_the_current_state_once() {
    let (registry, _, _) = registry();
    let first = Monitor::new(registry.clone(), MonitorOptions::new());
    assert_eq!(
        kinds(&first.check_once(datetime!(2044-12-15 0:00 UTC)).unwrap()),
        vec!["expiring"]
    );
    drop(first);
    let restarted = Monitor::new(registry, MonitorOptions::new());
    let now = datetime!(2044-12-16 0:00 UTC);
    assert_eq!(kinds(&restarted.check_once(now).unwrap()), vec!["expiring"]);
    assert!(restarted.check_once(now).unwrap().is_empty());
}

/// With a grace period, an expired certificate is deleted once the grace has passed, and
/// not before; the other systems' copies follow their own schedule.
#[test]
fn expired_certificates_are_purged_after_the_grace_period() {
    let (registry, crm, certificate) = registry();
    let options = MonitorOptions::new().purge_expired_after(Some(Duration::days(7)));
    let monitor = Monitor::new(registry.clone(), options);
    let events = monitor.check_once(datetime!(2045-01-05 0:00 UTC)).unwrap();
    assert_eq!(kinds(&events), vec!["expired"]);
    assert!(registry
        .store(&crm)
        .unwrap()
        .get(&certificate.name())
        .unwrap()
        .is_some());
    let events = monitor
        .check_once(datetime!(2045-01-08 0:00:01 UTC))
        .unwrap();
    assert_eq!(kinds(&events), vec!["purged"]);
    assert!(registry
        .store(&crm)
        .unwrap()
        .get(&certificate.name())
        .unwrap()
        .is_none());
    assert!(registry
        .identify(&certificate.fingerprint())
        .unwrap()
        .is_empty());
    // Without a grace period (the default), nothing is ever deleted.
    let (registry, crm, certificate) = self::registry();
    let monitor = Monitor::new(registry.clone(), MonitorOptions::new());
    monitor.check_once(datetime!(2099-01-01 0:00 UTC)).unwrap();
    assert!(registry
        .store(&crm)
        .unwrap()
        .get(&certificate.name())
        .unwrap()
        .is_some());
}

type Snapshot = Vec<(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// The value of the first metric called `name` with all of `labels`.
fn gauge(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snapshot
        .iter()
        .find(|(key, _, _, _)| {
            let key = key.key();
            key.name() == name
                && labels.iter().all(|(label, value)| {
                    key.labels()
                        .any(|found| found.key() == *label && found.value() == *value)
                })
        })
        .and_then(|(_, _, _, value)| match value {
            DebugValue::Gauge(value) => Some(value.into_inner()),
            _ => None,
        })
}

/// The gauges a check sets: certificates per system and status, and each certificate's end
/// of validity (unless switched off), observed with metrics-util's debugging recorder.
#[test]
fn a_check_sets_the_gauges() {
    let (registry, crm, certificate) = registry();
    let edge: SystemName = "edge".parse().unwrap();
    registry
        .create_system(&edge, SystemKind::Proxy, CREATED)
        .unwrap();
    registry
        .store(&edge)
        .unwrap()
        .import_upload(
            &common::read("bundle.pem"),
            &ImportPolicy::new(CREATED).allow_ca(true),
        )
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let monitor = Monitor::new(registry, MonitorOptions::new());
    metrics::with_local_recorder(&recorder, || {
        monitor.check_once(datetime!(2044-12-15 0:00 UTC)).unwrap();
    });
    let snapshot = recorder.snapshotter().snapshot().into_vec();
    let count = |system: &str, status: &str| {
        gauge(
            &snapshot,
            "inbound_certs_certificates",
            &[("system", system), ("status", status)],
        )
    };
    assert_eq!(count("crm", "expiring"), Some(1.0));
    assert_eq!(count("crm", "valid"), Some(0.0));
    assert_eq!(count("edge", "expiring"), Some(5.0));
    assert_eq!(count("edge", "damaged"), Some(0.0));
    let not_after = gauge(
        &snapshot,
        "inbound_certs_certificate_not_after_timestamp_seconds",
        &[
            ("system", crm.as_str()),
            ("name", &certificate.name().to_string()),
        ],
    );
    assert_eq!(not_after, Some(2_366_841_600.0));

    let recorder = DebuggingRecorder::new();
    let (registry, _, _) = self::registry();
    let quiet = Monitor::new(registry, MonitorOptions::new().certificate_metrics(false));
    metrics::with_local_recorder(&recorder, || {
        quiet.check_once(datetime!(2044-12-15 0:00 UTC)).unwrap();
    });
    let snapshot = recorder.snapshotter().snapshot().into_vec();
    assert_eq!(
        gauge(
            &snapshot,
            "inbound_certs_certificate_not_after_timestamp_seconds",
            &[]
        ),
        None
    );
    assert_eq!(
        gauge(
            &snapshot,
            "inbound_certs_certificates",
            &[("status", "expiring")]
        ),
        Some(1.0)
    );
}

/// A suspended certificate (issue 23) is counted `suspended` whatever its validity, not
/// `valid` or `expiring`, and back once it is resumed; the overview counts it apart too.
#[test]
fn a_suspended_certificate_is_counted_as_suspended() {
    let (registry, crm, certificate) = registry();
    let store = registry.store(&crm).unwrap();
    store.suspend(&certificate.name(), "under review").unwrap();
    let monitor = Monitor::new(registry.clone(), MonitorOptions::new());
    let counts = |now: OffsetDateTime| {
        let recorder = DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || {
            monitor.check_once(now).unwrap();
        });
        let snapshot = recorder.snapshotter().snapshot().into_vec();
        ["valid", "expiring", "expired", "damaged", "suspended"].map(|status| {
            gauge(
                &snapshot,
                "inbound_certs_certificates",
                &[("system", "crm"), ("status", status)],
            )
            .unwrap()
        })
    };
    assert_eq!(counts(CREATED), [0.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(
        counts(datetime!(2044-12-15 0:00 UTC)),
        [0.0, 0.0, 0.0, 0.0, 1.0]
    );
    let overview = registry.overview(CREATED, Duration::days(30)).unwrap();
    assert_eq!(
        (
            overview[0].valid,
            overview[0].suspended,
            overview[0].due.len()
        ),
        (0, 1, 0)
    );
    store.resume(&certificate.name()).unwrap();
    assert_eq!(counts(CREATED), [1.0, 0.0, 0.0, 0.0, 0.0]);
    let overview = registry.overview(CREATED, Duration::days(30)).unwrap();
    assert_eq!((overview[0].valid, overview[0].suspended), (1, 0));
}

/// A spawned monitor checks at once and on its interval with the clock it is given, sends
/// its events, and stops when its handle is dropped.
#[test]
fn a_spawned_monitor_runs_on_its_clock_and_stops_when_dropped() {
    let (registry, _, _) = registry();
    let now = Arc::new(Mutex::new(datetime!(2044-11-01 0:00 UTC)));
    let clock = {
        let now = Arc::clone(&now);
        move || *now.lock().unwrap()
    };
    let (sender, receiver) = mpsc::channel();
    let handle = Monitor::new(
        registry,
        MonitorOptions::new().interval(StdDuration::from_millis(20)),
    )
    .spawn(clock, move |event| {
        let _ = sender.send(event.map(|event| kinds(&[event])[0]));
    });
    assert!(handle.is_running());
    *now.lock().unwrap() = datetime!(2044-12-20 0:00 UTC);
    let first = receiver.recv_timeout(StdDuration::from_secs(30)).unwrap();
    assert_eq!(first.unwrap(), "expiring");
    *now.lock().unwrap() = datetime!(2045-02-01 0:00 UTC);
    let second = receiver.recv_timeout(StdDuration::from_secs(30)).unwrap();
    assert_eq!(second.unwrap(), "expired");
    drop(handle);
    // The thread is gone: its sender was dropped with it.
    assert!(matches!(
        receiver.recv_timeout(StdDuration::from_secs(30)),
        Err(mpsc::RecvTimeoutError::Disconnected)
    ));
}

/// A clock that a test steps by hand.
fn stepped(start: OffsetDateTime) -> (Arc<Mutex<OffsetDateTime>>, impl Fn() -> OffsetDateTime) {
    let now = Arc::new(Mutex::new(start));
    let clock = {
        let now = Arc::clone(&now);
        move || *now.lock().unwrap()
    };
    (now, clock)
}

/// The next event of a spawned monitor as (kind, system), waiting at most 30 seconds: far
/// less than the hour between its periodic checks, so only a check made because the
/// registry changed can deliver it.
fn next_event(receiver: &mpsc::Receiver<(&'static str, String)>) -> (&'static str, String) {
    receiver
        .recv_timeout(StdDuration::from_secs(30))
        .expect("an event within seconds of the change")
}

/// A monitor spawned on `registry` with a periodic check every hour, following changes
/// every 20 ms, sending (kind, system) of each event.
fn spawn_following(
    registry: Registry,
    clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
) -> (
    inbound_certs::monitor::MonitorHandle,
    mpsc::Receiver<(&'static str, String)>,
) {
    let (sender, receiver) = mpsc::channel();
    let handle = Monitor::new(
        registry,
        MonitorOptions::new()
            .interval(StdDuration::from_secs(60 * 60))
            .follow_changes(Some(StdDuration::from_millis(20))),
    )
    .spawn(clock, move |event| {
        let event = event.unwrap();
        let _ = sender.send((
            kinds(std::slice::from_ref(&event))[0],
            event.certificate().unwrap().system.to_string(),
        ));
    });
    assert!(handle.is_running());
    (handle, receiver)
}

/// The changes made through `other` (another handle on the monitored registry) reach the
/// spawned monitor within seconds, at the time of its stepped clock: an import into another
/// system is `Expiring` there; after the clock steps past the expiry, a delete makes the
/// monitor check again, and the system left reports `Expired`.
fn follows_changes_made_through(monitored: Registry, other: Registry, certificate: &Certificate) {
    // Made before the monitor starts: each change below is then one move of the registry's
    // generation, followed by one check, so that no check from before a step of the clock
    // is still pending after it.
    let billing: SystemName = "billing".parse().unwrap();
    other
        .create_system(&billing, SystemKind::Source, CREATED)
        .unwrap();
    let (now, clock) = stepped(datetime!(2044-12-15 0:00 UTC));
    let (handle, receiver) = spawn_following(monitored, clock);
    // The first check, at once: crm's certificate is in the warning window.
    assert_eq!(next_event(&receiver), ("expiring", "crm".to_string()));

    other
        .store(&billing)
        .unwrap()
        .import(certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    assert_eq!(next_event(&receiver), ("expiring", "billing".to_string()));

    *now.lock().unwrap() = datetime!(2045-02-01 0:00 UTC);
    other
        .store(&"crm".parse().unwrap())
        .unwrap()
        .delete(&certificate.name())
        .unwrap();
    assert_eq!(next_event(&receiver), ("expired", "billing".to_string()));
    drop(handle);
    assert!(receiver.try_recv().is_err());
}

/// Two handles opened on one registry directory, as two processes do: an import through
/// one is reported by the monitor of the other within seconds.
#[test]
fn a_spawned_monitor_follows_changes_made_through_another_handle_on_the_directory() {
    let scratch = common::Scratch::new("monitor-follows");
    let (memory, crm, certificate) = registry();
    drop(memory);
    let monitored = Registry::create(scratch.path()).unwrap();
    monitored
        .create_system(&crm, SystemKind::Source, CREATED)
        .unwrap();
    monitored
        .store(&crm)
        .unwrap()
        .import(&certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    let other = Registry::open(scratch.path()).unwrap();
    follows_changes_made_through(monitored, other, &certificate);
}

/// A registry in memory: a change through a clone is followed as well.
#[test]
fn a_spawned_monitor_follows_changes_made_through_a_clone_in_memory() {
    let (registry, _, certificate) = registry();
    let clone = registry.clone().acting_as("someone else");
    follows_changes_made_through(registry, clone, &certificate);
}

/// A certificate gone at a check (deleted, its system removed) has its series set once to
/// the tombstone NaN, the other systems' series of the same certificate keep their value,
/// a removed system's counts become 0, and a certificate imported again gets its value
/// back.
#[test]
fn a_deleted_certificate_series_is_tombstoned() {
    let (registry, crm, certificate) = registry();
    let edge: SystemName = "edge".parse().unwrap();
    registry
        .create_system(&edge, SystemKind::Source, CREATED)
        .unwrap();
    registry
        .store(&edge)
        .unwrap()
        .import(&certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let monitor = Monitor::new(registry.clone(), MonitorOptions::new());
    let name = certificate.name().to_string();
    let not_after = |snapshot: &Snapshot, system: &str| {
        gauge(
            snapshot,
            "inbound_certs_certificate_not_after_timestamp_seconds",
            &[("system", system), ("name", &name)],
        )
        .unwrap()
    };
    let count = |snapshot: &Snapshot, system: &str, status: &str| {
        gauge(
            snapshot,
            "inbound_certs_certificates",
            &[("system", system), ("status", status)],
        )
        .unwrap()
    };
    let check = |day: OffsetDateTime| {
        metrics::with_local_recorder(&recorder, || {
            monitor.check_once(day).unwrap();
        });
        snapshotter.snapshot().into_vec()
    };

    let snapshot = check(datetime!(2044-12-15 0:00 UTC));
    assert_eq!(not_after(&snapshot, "crm"), 2_366_841_600.0);
    assert_eq!(not_after(&snapshot, "edge"), 2_366_841_600.0);

    registry
        .store(&crm)
        .unwrap()
        .delete(&certificate.name())
        .unwrap();
    let snapshot = check(datetime!(2044-12-16 0:00 UTC));
    assert!(not_after(&snapshot, "crm").is_nan());
    assert_eq!(not_after(&snapshot, "edge"), 2_366_841_600.0);
    assert_eq!(count(&snapshot, "crm", "expiring"), 0.0);

    registry.remove_system(&edge, true).unwrap();
    let snapshot = check(datetime!(2044-12-17 0:00 UTC));
    assert!(not_after(&snapshot, "edge").is_nan());
    for status in ["valid", "expiring", "expired", "damaged", "suspended"] {
        assert_eq!(count(&snapshot, "edge", status), 0.0, "{status}");
    }

    registry
        .store(&crm)
        .unwrap()
        .import(&certificate, &ImportPolicy::new(CREATED))
        .unwrap();
    let snapshot = check(datetime!(2044-12-18 0:00 UTC));
    assert_eq!(not_after(&snapshot, "crm"), 2_366_841_600.0);
    assert_eq!(count(&snapshot, "crm", "expiring"), 1.0);
}

/// A certificate purged by the monitor's grace period has its series tombstoned by the very
/// check that purged it.
#[test]
fn a_purged_certificate_series_is_tombstoned_at_once() {
    let (registry, crm, certificate) = registry();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let monitor = Monitor::new(
        registry,
        MonitorOptions::new().purge_expired_after(Some(Duration::days(7))),
    );
    let name = certificate.name().to_string();
    let check = |day: OffsetDateTime| {
        let events = metrics::with_local_recorder(&recorder, || monitor.check_once(day).unwrap());
        let snapshot = snapshotter.snapshot().into_vec();
        let value = gauge(
            &snapshot,
            "inbound_certs_certificate_not_after_timestamp_seconds",
            &[("system", crm.as_str()), ("name", &name)],
        )
        .unwrap();
        (kinds(&events), value)
    };
    assert_eq!(
        check(datetime!(2045-01-05 0:00 UTC)),
        (vec!["expired"], 2_366_841_600.0)
    );
    let (events, value) = check(datetime!(2045-01-09 0:00 UTC));
    assert_eq!(events, vec!["purged"]);
    assert!(value.is_nan());
}

/// The same with the system clock (`Monitor::start`, as a service runs it): a certificate
/// that ends in ten days from now, imported through another handle on the directory, is
/// reported `Expiring` within seconds, not at the next hourly check.
#[test]
fn a_monitor_on_the_system_clock_reports_an_import_through_another_handle_within_seconds() {
    let scratch = common::Scratch::new("monitor-system-clock");
    let monitored = Registry::create(scratch.path()).unwrap();
    let crm: SystemName = "crm".parse().unwrap();
    let now = OffsetDateTime::now_utc();
    monitored
        .create_system(&crm, SystemKind::Source, now)
        .unwrap();
    let (sender, receiver) = mpsc::channel();
    let handle = Monitor::start(
        monitored,
        MonitorOptions::new()
            .interval(StdDuration::from_secs(60 * 60))
            .follow_changes(Some(StdDuration::from_millis(20))),
        move |event| {
            let _ = sender.send(event.unwrap());
        },
    );
    // Nothing to report at the first check.
    assert!(receiver
        .recv_timeout(StdDuration::from_millis(300))
        .is_err());

    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "soon.crm.example");
    params.not_before = now - Duration::days(30);
    params.not_after = now + Duration::days(10);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    let other = Registry::open(scratch.path()).unwrap();
    let imported = other
        .store(&crm)
        .unwrap()
        .import_upload(pem.as_bytes(), &ImportPolicy::new(now))
        .unwrap();
    let event = receiver
        .recv_timeout(StdDuration::from_secs(30))
        .expect("an event within seconds of the import");
    assert!(matches!(event, ValidityEvent::Expiring(_)), "{event:?}");
    assert_eq!(event.certificate().unwrap().certificate, imported[0].name());
    assert_eq!(event.certificate().unwrap().system, crm);
    drop(handle);
}

/// A certificate of `partner.example` made with rcgen, valid from 2026-01-01 to `not_after`
/// (the same subject and issuer each time, another key: each renews the ones ending earlier).
fn partner(not_after: (i32, u8, u8)) -> Certificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "partner.example");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
}

/// Issue 23: a certificate in the warning window whose renewal the system holds is reported
/// expiring while the renewal is unused (or used only before it was imported, or suspended,
/// or deleted again), not once the renewal was used since its import; its expiry is
/// reported whatever its renewals.
#[test]
fn expiring_is_not_reported_once_the_renewal_is_in_use() {
    let now = Arc::new(Mutex::new(datetime!(2026-11-01 0:00 UTC)));
    let clock = Arc::clone(&now);
    let registry = Registry::in_memory().with_clock(move || *clock.lock().unwrap());
    let crm: SystemName = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, CREATED)
        .unwrap();
    let store = registry.store(&crm).unwrap();
    let policy = ImportPolicy::new(CREATED);
    let (old, renewal) = (partner((2027, 1, 1)), partner((2028, 1, 1)));
    assert!(renewal.renews(&old));
    store.import(&old, &policy).unwrap();
    let first = Monitor::new(registry.clone(), MonitorOptions::new());
    assert_eq!(
        kinds(&first.check_once(*now.lock().unwrap()).unwrap()),
        Vec::<&str>::new()
    );

    // Imported on 2026-11-15, used once before that (through another system, say).
    *now.lock().unwrap() = datetime!(2026-11-15 0:00 UTC);
    store.import(&renewal, &policy).unwrap();
    registry.record_use_at(&renewal.fingerprint(), None, datetime!(2026-11-10 0:00 UTC));
    let events = first.check_once(datetime!(2026-12-05 0:00 UTC)).unwrap();
    assert_eq!(kinds(&events), ["expiring"]);
    assert_eq!(events[0].certificate().unwrap().certificate, old.name());

    // Used since its import: a new monitor does not warn; the first one reported already.
    registry.record_use_at(&renewal.fingerprint(), None, datetime!(2026-12-06 0:00 UTC));
    let second = Monitor::new(registry.clone(), MonitorOptions::new());
    assert_eq!(
        kinds(&second.check_once(datetime!(2026-12-07 0:00 UTC)).unwrap()),
        Vec::<&str>::new()
    );
    assert_eq!(
        kinds(&first.check_once(datetime!(2026-12-07 0:00 UTC)).unwrap()),
        Vec::<&str>::new()
    );

    // A suspended renewal is no one's: the warning is due.
    store.suspend(&renewal.name(), "lost laptop").unwrap();
    let third = Monitor::new(registry.clone(), MonitorOptions::new());
    assert_eq!(
        kinds(&third.check_once(datetime!(2026-12-08 0:00 UTC)).unwrap()),
        ["expiring"]
    );
    store.resume(&renewal.name()).unwrap();
    assert_eq!(
        kinds(&second.check_once(datetime!(2026-12-08 0:00 UTC)).unwrap()),
        Vec::<&str>::new()
    );

    // The renewal deleted: the monitor that kept quiet warns now.
    store.delete(&renewal.name()).unwrap();
    let events = second.check_once(datetime!(2026-12-09 0:00 UTC)).unwrap();
    assert_eq!(kinds(&events), ["expiring"]);
    assert_eq!(events[0].certificate().unwrap().certificate, old.name());

    // The expiry itself is reported whatever the renewals.
    store.import(&renewal, &policy).unwrap();
    registry.record_use_at(&renewal.fingerprint(), None, datetime!(2026-12-20 0:00 UTC));
    let fourth = Monitor::new(registry.clone(), MonitorOptions::new());
    assert_eq!(
        kinds(&fourth.check_once(datetime!(2026-12-21 0:00 UTC)).unwrap()),
        Vec::<&str>::new()
    );
    let events = fourth.check_once(datetime!(2027-01-02 0:00 UTC)).unwrap();
    assert_eq!(kinds(&events), ["expired"]);
    assert_eq!(events[0].certificate().unwrap().certificate, old.name());
}

/// Metrics at scale (issue 25): above its limit of certificates the monitor switches the
/// per-certificate gauge off, tombstoning the series it had set, while the counts per
/// system stay; back at the limit, every certificate's series gets its value again. Each
/// switch is reported once, as an event a service logs.
#[test]
fn the_certificate_gauge_switches_itself_off_above_its_limit() {
    assert_eq!(inbound_certs::monitor::MAX_CERTIFICATE_SERIES, 10_000);
    let (registry, crm, certificate) = registry();
    let store = registry.store(&crm).unwrap();
    let policy = ImportPolicy::new(CREATED);
    let [first, second, third] = [(2030, 1, 1), (2031, 1, 1), (2032, 1, 1)].map(partner);
    store.import(&first, &policy).unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let monitor = Monitor::new(
        registry.clone(),
        MonitorOptions::new().certificate_metrics_limit(3),
    );
    // The check's snapshot, and what it said of the gauge.
    let check = |day: OffsetDateTime| {
        let events = metrics::with_local_recorder(&recorder, || monitor.check_once(day).unwrap());
        let switched: Vec<String> = events
            .iter()
            .filter(|event| matches!(event, ValidityEvent::CertificateMetrics { .. }))
            .map(ToString::to_string)
            .collect();
        (snapshotter.snapshot().into_vec(), switched)
    };
    let gauge_name = "the gauge inbound_certs_certificate_not_after_timestamp_seconds";
    let not_after = |snapshot: &Snapshot, certificate: &Certificate| {
        gauge(
            snapshot,
            "inbound_certs_certificate_not_after_timestamp_seconds",
            &[
                ("system", crm.as_str()),
                ("name", &certificate.name().to_string()),
            ],
        )
    };
    let valid = |snapshot: &Snapshot| {
        gauge(
            snapshot,
            "inbound_certs_certificates",
            &[("system", crm.as_str()), ("status", "valid")],
        )
    };

    let (snapshot, switched) = check(datetime!(2026-06-02 0:00 UTC));
    assert!(switched.is_empty(), "{switched:?}");
    assert_eq!(not_after(&snapshot, &certificate), Some(2_366_841_600.0));
    assert_eq!(not_after(&snapshot, &first), Some(1_893_456_000.0));

    store.import(&second, &policy).unwrap();
    store.import(&third, &policy).unwrap();
    let (snapshot, switched) = check(datetime!(2026-06-03 0:00 UTC));
    assert_eq!(
        switched,
        [format!("{gauge_name} is switched off, its series set to NaN: the registry holds 4 certificates, more than the limit of 3")]
    );
    assert!(not_after(&snapshot, &certificate).unwrap().is_nan());
    assert!(not_after(&snapshot, &first).unwrap().is_nan());
    assert_eq!(not_after(&snapshot, &second), None);
    assert_eq!(not_after(&snapshot, &third), None);
    assert_eq!(valid(&snapshot), Some(4.0));

    // Still off: nothing is set again (the debugging recorder reads a gauge left alone since
    // the last snapshot as 0), and nothing new.
    let (snapshot, switched) = check(datetime!(2026-06-04 0:00 UTC));
    assert!(switched.is_empty(), "{switched:?}");
    assert_eq!(not_after(&snapshot, &first), Some(0.0));
    assert_eq!(not_after(&snapshot, &second), None);

    store.delete(&third.name()).unwrap();
    let (snapshot, switched) = check(datetime!(2026-06-05 0:00 UTC));
    assert_eq!(
        switched,
        [format!("{gauge_name} is switched on again: the registry holds 3 certificates, no more than the limit of 3")]
    );
    assert_eq!(not_after(&snapshot, &certificate), Some(2_366_841_600.0));
    assert_eq!(not_after(&snapshot, &first), Some(1_893_456_000.0));
    assert_eq!(not_after(&snapshot, &second), Some(1_924_992_000.0));
    assert_eq!(not_after(&snapshot, &third), None);
    assert_eq!(valid(&snapshot), Some(3.0));

    // A new monitor over a registry with too many says so at its first check.
    store.import(&third, &policy).unwrap();
    let fresh = Monitor::new(registry, MonitorOptions::new().certificate_metrics_limit(3));
    let events = fresh.check_once(datetime!(2026-06-06 0:00 UTC)).unwrap();
    assert_eq!(
        events,
        [ValidityEvent::CertificateMetrics {
            enabled: false,
            certificates: 4,
            limit: 3
        }]
    );
    assert_eq!(events[0].certificate(), None);
}
