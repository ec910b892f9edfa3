//! Last use of certificates (issue 23, "Last used"): recorded in memory on the hot path,
//! flushed in batches, read back merged, on memory and on a directory; what a restart
//! loses; usage files that are damaged or hostile; many threads recording at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Scratch;
use inbound_certs::conformance::NOW;
use inbound_certs::registry::LastUse;
use inbound_certs::{
    CertificateName, CertificateStore, ImportPolicy, Registry, SystemKind, SystemName,
};
use time::OffsetDateTime;

fn name(text: &str) -> SystemName {
    text.parse().unwrap()
}

fn address(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

/// A registry whose clock a test steps, with `crm` trusting the source sample and `edge`
/// trusting both samples.
fn registry_with(
    registry: Registry,
) -> (Registry, Arc<Mutex<OffsetDateTime>>, [CertificateName; 2]) {
    let clock = Arc::new(Mutex::new(NOW));
    let time = Arc::clone(&clock);
    let registry = registry.with_clock(move || *time.lock().unwrap());
    let policy = ImportPolicy::new(NOW);
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    registry
        .create_system(&name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    let source = fs::read("tests/data/sample_source.pem").unwrap();
    let proxy = fs::read("tests/data/sample_proxy.pem").unwrap();
    let crm = registry.store(&name("crm")).unwrap();
    let edge = registry.store(&name("edge")).unwrap();
    let first = crm.import_upload(&source, &policy).unwrap()[0].name();
    edge.import_upload(&source, &policy).unwrap();
    let second = edge.import_upload(&proxy, &policy).unwrap()[0].name();
    (registry, clock, [first, second])
}

fn records_and_reads_back(registry: Registry) {
    let (registry, clock, [source, proxy]) = registry_with(registry);
    assert_eq!(registry.last_used(&name("crm"), &source).unwrap(), None);
    registry.record_use(&source.fingerprint(), address("192.0.2.10"));
    let first = LastUse {
        at: NOW,
        peer: address("192.0.2.10"),
        first: NOW,
    };
    assert_eq!(
        registry.last_used(&name("crm"), &source).unwrap(),
        Some(first)
    );
    assert_eq!(
        registry.last_used(&name("edge"), &source).unwrap(),
        Some(first)
    );
    assert_eq!(registry.last_used(&name("edge"), &proxy).unwrap(), None);

    // A flush writes each trusting system's use once; nothing changed, nothing written.
    assert_eq!(registry.flush_usage().unwrap(), 2);
    assert_eq!(registry.flush_usage().unwrap(), 0);

    *clock.lock().unwrap() = NOW + Duration::from_secs(90);
    registry.record_use(&proxy.fingerprint(), address("2001:db8::7"));
    registry.record_use(&source.fingerprint(), None);
    assert_eq!(registry.flush_usage().unwrap(), 3);
    let edge = registry.usage(&name("edge")).unwrap();
    assert!(edge.damaged.is_empty(), "{:?}", edge.damaged);
    assert_eq!(
        edge.get(&proxy),
        Some(LastUse {
            at: NOW + Duration::from_secs(90),
            peer: address("2001:db8::7"),
            first: NOW + Duration::from_secs(90),
        })
    );
    // The source's last use moved on; its first use stays, in memory and as flushed.
    let source_use = edge.get(&source).unwrap();
    assert_eq!(
        (source_use.at, source_use.peer, source_use.first),
        (NOW + Duration::from_secs(90), None, NOW)
    );

    // A system removed and made again starts with no flushed uses of its own.
    registry.remove_system(&name("crm"), true).unwrap();
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    assert!(registry.usage(&name("crm")).unwrap().damaged.is_empty());
}

#[test]
fn uses_are_recorded_and_read_back_in_memory() {
    records_and_reads_back(Registry::in_memory());
}

#[test]
fn uses_are_recorded_and_read_back_in_a_directory() {
    let scratch = Scratch::new("usage");
    records_and_reads_back(Registry::create(scratch.path()).unwrap());
    // One small file per system (crm's removed with the system).
    assert!(!scratch.path().join("usage/crm").exists());
    let edge = fs::read_to_string(scratch.path().join("usage/edge")).unwrap();
    assert!(
        edge.lines()
            .any(|line| line.ends_with(" 2026-06-01T00:01:30Z - 2026-06-01T00:00:00Z")),
        "{edge}"
    );
    assert_eq!(
        fs::read_to_string(scratch.path().join("usage/edge"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

/// A restart loses what was recorded after the last flush, and nothing before it; another
/// process sharing the directory sees what was flushed.
#[test]
fn a_restart_loses_at_most_what_was_not_flushed() {
    let scratch = Scratch::new("usage-restart");
    let (registry, clock, [source, proxy]) =
        registry_with(Registry::create(scratch.path()).unwrap());
    registry.record_use(&source.fingerprint(), address("192.0.2.1"));
    registry.flush_usage().unwrap();
    *clock.lock().unwrap() = NOW + Duration::from_secs(30);
    registry.record_use(&source.fingerprint(), address("192.0.2.2"));
    registry.record_use(&proxy.fingerprint(), None);
    drop(registry);

    let reopened = Registry::open(scratch.path()).unwrap();
    assert_eq!(
        reopened.last_used(&name("crm"), &source).unwrap(),
        Some(LastUse {
            at: NOW,
            peer: address("192.0.2.1"),
            first: NOW,
        })
    );
    assert_eq!(reopened.last_used(&name("edge"), &proxy).unwrap(), None);
    // A use recorded after the restart keeps the first use flushed before it.
    let reopened = reopened.with_clock(move || NOW + Duration::from_secs(60));
    reopened.record_use(&source.fingerprint(), None);
    reopened.flush_usage().unwrap();
    let last = Registry::open(scratch.path())
        .unwrap()
        .last_used(&name("crm"), &source)
        .unwrap()
        .unwrap();
    assert_eq!((last.at, last.first), (NOW + Duration::from_secs(60), NOW));
}

/// The background flush writes every interval and once more when stopped.
#[test]
fn the_background_flush_writes_and_flushes_on_stop() {
    let scratch = Scratch::new("usage-flusher");
    let (registry, _clock, [source, _]) = registry_with(Registry::create(scratch.path()).unwrap());
    let flusher = registry.start_usage_flush(Duration::from_millis(20));
    registry.record_use(&source.fingerprint(), None);
    let waited = std::time::Instant::now();
    while !scratch.path().join("usage/crm").exists() {
        assert!(waited.elapsed() < Duration::from_secs(10), "never flushed");
        std::thread::sleep(Duration::from_millis(10));
    }
    registry.record_use(&proxy_of(&registry), None);
    assert_eq!(flusher.stop().unwrap(), 0);
    let reopened = Registry::open(scratch.path()).unwrap();
    assert!(reopened.last_used(&name("crm"), &source).unwrap().is_some());
}

fn proxy_of(registry: &Registry) -> inbound_certs::Fingerprint {
    let listing = registry.store(&name("edge")).unwrap().list().unwrap();
    listing.certificates[0].fingerprint()
}

/// A usage file that is garbage, torn, a symbolic link or a FIFO never panics, never hides
/// the good lines or the other systems, and is replaced by the next flush.
#[test]
#[cfg(unix)]
fn damaged_and_hostile_usage_files_are_reported_not_followed() {
    let scratch = Scratch::new("usage-hostile");
    let (registry, _clock, [source, proxy]) =
        registry_with(Registry::create(scratch.path()).unwrap());
    registry.record_use(&source.fingerprint(), None);
    registry.flush_usage().unwrap();
    let usage = scratch.path().join("usage");

    // Garbage and a torn last line beside a good line.
    let good = fs::read_to_string(usage.join("edge")).unwrap();
    fs::write(
        usage.join("edge"),
        format!("{good}not a line\n\u{0}\u{1}\n{}", &good[..40]),
    )
    .unwrap();
    let reopened = Registry::open(scratch.path()).unwrap();
    let edge = reopened.usage(&name("edge")).unwrap();
    assert!(edge.get(&source).is_some());
    assert_eq!(edge.damaged.len(), 3, "{:?}", edge.damaged);
    assert!(
        edge.damaged[0].location.ends_with("edge:2"),
        "{:?}",
        edge.damaged
    );

    // A symbolic link to a file elsewhere is not followed.
    let elsewhere = scratch.path().join("elsewhere");
    fs::write(&elsewhere, &good).unwrap();
    fs::remove_file(usage.join("crm")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, usage.join("crm")).unwrap();
    let crm = reopened.usage(&name("crm")).unwrap();
    assert!(crm.uses.is_empty());
    assert_eq!(crm.damaged.len(), 1);
    assert!(
        crm.damaged[0].to_string().contains("symbolic link"),
        "{}",
        crm.damaged[0]
    );
    assert_eq!(reopened.last_used(&name("crm"), &source).unwrap(), None);
    // The other system is still served.
    assert!(reopened
        .last_used(&name("edge"), &source)
        .unwrap()
        .is_some());

    // A FIFO is refused without blocking.
    fs::remove_file(usage.join("crm")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(usage.join("crm"))
        .status()
        .unwrap();
    assert!(status.success());
    let crm = reopened.usage(&name("crm")).unwrap();
    assert_eq!(crm.damaged.len(), 1, "{:?}", crm.damaged);

    // The next flush replaces them (the link itself, never its target).
    reopened.record_use(&source.fingerprint(), None);
    reopened.record_use(&proxy.fingerprint(), None);
    reopened.flush_usage().unwrap();
    assert!(reopened.usage(&name("crm")).unwrap().damaged.is_empty());
    assert!(reopened.usage(&name("edge")).unwrap().damaged.is_empty());
    assert!(fs::symlink_metadata(usage.join("crm")).unwrap().is_file());
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), good);
}

/// Many threads recording the same and different certificates: every use lands, the
/// newest wins, nothing panics or deadlocks with a flush running meanwhile.
#[test]
fn many_threads_record_at_once() {
    let scratch = Scratch::new("usage-threads");
    let (registry, _clock, [source, proxy]) =
        registry_with(Registry::create(scratch.path()).unwrap());
    std::thread::scope(|scope| {
        for thread in 0..8u8 {
            let registry = registry.clone();
            let (source, proxy) = (source, proxy);
            scope.spawn(move || {
                for round in 0..2_000u32 {
                    let at = NOW + Duration::from_micros(u64::from(round));
                    let peer = Some(IpAddr::from([10, 0, thread, 1]));
                    registry.record_use_at(&source.fingerprint(), peer, at);
                    registry.record_use_at(&proxy.fingerprint(), peer, at);
                }
            });
        }
        let registry = registry.clone();
        scope.spawn(move || {
            for _ in 0..20 {
                registry.flush_usage().unwrap();
            }
        });
    });
    registry.flush_usage().unwrap();
    let reopened = Registry::open(scratch.path()).unwrap();
    for (system, certificate) in [("crm", source), ("edge", source), ("edge", proxy)] {
        let last = reopened
            .last_used(&name(system), &certificate)
            .unwrap()
            .unwrap();
        assert_eq!(last.at, NOW + Duration::from_micros(1_999));
        assert!(matches!(last.peer, Some(IpAddr::V4(address)) if address.octets()[0] == 10));
    }
}

/// A certificate no system trusts any more is forgotten at the next flush.
#[test]
fn uses_of_certificates_nobody_trusts_are_forgotten() {
    let (registry, _clock, [source, _]) = registry_with(Registry::in_memory());
    let stranger = inbound_certs::Fingerprint::from_bytes([9; 32]);
    registry.record_use(&stranger, None);
    registry.record_use(&source.fingerprint(), None);
    assert_eq!(registry.flush_usage().unwrap(), 2);
    assert!(!registry
        .usage(&name("crm"))
        .unwrap()
        .uses
        .contains_key(&stranger));
}

/// The monitor reports a certificate once when it was not used for the time asked (from
/// its import if never used), and again after it was used and then left unused again.
#[test]
fn the_monitor_reports_unused_certificates_once() {
    use inbound_certs::monitor::{MonitorOptions, ValidityEvent};
    use inbound_certs::Monitor;
    use time::Duration as Days;

    let (registry, _clock, [source, proxy]) = registry_with(Registry::in_memory());
    let monitor = Monitor::new(
        registry.clone(),
        MonitorOptions::new().report_unused_after(Some(Days::days(30))),
    );
    let unused = |now: OffsetDateTime| -> Vec<(String, String, Option<LastUse>)> {
        let mut found: Vec<_> = monitor
            .check_once(now)
            .unwrap()
            .into_iter()
            .filter_map(|event| match event {
                ValidityEvent::Unused { event, last_used } => Some((
                    event.system.to_string(),
                    event.certificate.to_string(),
                    last_used,
                )),
                _ => None,
            })
            .collect();
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        found
    };
    // Imported at NOW: not unused for 30 days yet.
    assert!(unused(NOW + Days::days(29)).is_empty());
    registry.record_use_at(
        &source.fingerprint(),
        address("192.0.2.5"),
        NOW + Days::days(20),
    );
    // Day 31: only the never-used proxy certificate, once.
    let events = Monitor::new(
        registry.clone(),
        MonitorOptions::new().report_unused_after(Some(Days::days(30))),
    )
    .check_once(NOW + Days::days(31))
    .unwrap();
    let text = events
        .iter()
        .find(|event| matches!(event, ValidityEvent::Unused { .. }))
        .unwrap()
        .to_string();
    assert!(text.ends_with("of system edge was never used"), "{text}");
    let found = unused(NOW + Days::days(31));
    assert_eq!(found, vec![("edge".into(), proxy.to_string(), None)]);
    assert!(unused(NOW + Days::days(32)).is_empty());
    // Day 51: the source certificate's last use is 31 days old, in both systems.
    let found = unused(NOW + Days::days(51));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found
        .iter()
        .all(|(_, certificate, last)| *certificate == source.to_string()
            && last.unwrap().peer == address("192.0.2.5")));
    // Used again, then unused again: reported again.
    registry.record_use_at(&source.fingerprint(), None, NOW + Days::days(52));
    assert!(unused(NOW + Days::days(53)).is_empty());
    assert_eq!(unused(NOW + Days::days(83)).len(), 2);
}

/// A usage folder that others could write is refused (as a store's would be), for reading
/// and for flushing; the flush keeps its uses for the next one.
#[test]
#[cfg(unix)]
fn a_usage_folder_others_could_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("usage-mode");
    let (registry, _clock, [source, _]) = registry_with(Registry::create(scratch.path()).unwrap());
    registry.record_use(&source.fingerprint(), None);
    registry.flush_usage().unwrap();
    let usage = scratch.path().join("usage");
    fs::set_permissions(&usage, fs::Permissions::from_mode(0o777)).unwrap();
    registry.record_use(&source.fingerprint(), address("192.0.2.9"));
    assert!(registry.flush_usage().is_err());
    assert!(registry.usage(&name("crm")).is_err());
    fs::set_permissions(&usage, fs::Permissions::from_mode(0o700)).unwrap();
    // Nothing was lost: the failed flush's use is written by the next one.
    assert_eq!(registry.flush_usage().unwrap(), 2);
    let reopened = Registry::open(scratch.path()).unwrap();
    assert_eq!(
        reopened
            .last_used(&name("crm"), &source)
            .unwrap()
            .unwrap()
            .peer,
        address("192.0.2.9")
    );
}

/// Issue 23's load: 4 threads record 1,000,000 handshakes between them (250,000 each, on
/// the two trusted certificates and on 1,000 others nobody trusts) while a flush runs
/// every few milliseconds: the newest use of each trusted certificate is the one kept,
/// the untrusted ones are forgotten, and nothing panics or deadlocks.
#[test]
fn four_threads_record_a_million_handshakes() {
    let scratch = Scratch::new("usage-million");
    let (registry, _clock, [source, proxy]) =
        registry_with(Registry::create(scratch.path()).unwrap());
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let mut recorders = Vec::new();
        for thread in 0..4u8 {
            let registry = registry.clone();
            recorders.push(scope.spawn(move || {
                for round in 0..250_000u32 {
                    let at = NOW + Duration::from_micros(u64::from(round));
                    let peer = Some(IpAddr::from([10, 0, thread, 1]));
                    let fingerprint = match round % 4 {
                        0 => source.fingerprint(),
                        1 => proxy.fingerprint(),
                        _ => {
                            let mut bytes = [0u8; 32];
                            bytes[..4].copy_from_slice(&(round % 1_000).to_be_bytes());
                            bytes[31] = 0xee;
                            inbound_certs::Fingerprint::from_bytes(bytes)
                        }
                    };
                    registry.record_use_at(&fingerprint, peer, at);
                }
            }));
        }
        let flusher = registry.clone();
        let done = &done;
        scope.spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                flusher.flush_usage().unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        for recorder in recorders {
            recorder.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
    });
    registry.flush_usage().unwrap();
    let reopened = Registry::open(scratch.path()).unwrap();
    // The last round of each certificate: 249,996 for the source, 249,997 for the proxy.
    for (system, certificate, last_round) in [
        ("crm", source, 249_996u64),
        ("edge", source, 249_996),
        ("edge", proxy, 249_997),
    ] {
        let last = reopened
            .last_used(&name(system), &certificate)
            .unwrap()
            .unwrap();
        assert_eq!(last.at, NOW + Duration::from_micros(last_round), "{system}");
    }
    let edge = reopened.usage(&name("edge")).unwrap();
    assert_eq!(edge.uses.len(), 2, "only trusted certificates are kept");
    assert!(edge.damaged.is_empty());
}
