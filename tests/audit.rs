//! The audit trail of a registry, in memory and in a directory: one record per change, with
//! time, actor, system, certificate, subject, outcome and detail; read back newest first and
//! filtered (the scenario is `conformance::registry_audit`, which tests/postgres.rs
//! runs on PostgreSQL too); a torn line reported, never dropped; writers of several processes
//! never interleaving.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs;

use common::Scratch;
use inbound_certs::conformance;
use inbound_certs::{audit::HistoryQuery, Registry, SystemKind, SystemName};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn name(text: &str) -> SystemName {
    text.parse().unwrap()
}

#[test]
fn in_memory_every_change_leaves_one_record() {
    conformance::registry_audit(Registry::in_memory());
}

#[test]
fn in_a_directory_every_change_leaves_one_record() {
    let scratch = Scratch::new("changes");
    conformance::registry_audit(Registry::create(scratch.path()).unwrap());
    // The trail is JSON Lines, one record a line, in the registry's directory.
    let text = fs::read_to_string(scratch.path().join("audit/audit.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 12);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["action"], "create_system");
    assert_eq!(first["actor"], "alice");
    assert_eq!(first["time"], "2026-06-01T00:00:00Z");
}

/// A record torn by a crash while it was written is reported where it is, and the next
/// record starts on a line of its own: nothing is dropped or rewritten.
#[test]
fn a_torn_record_is_reported_and_never_hides_the_others() {
    let scratch = Scratch::new("torn");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let path = scratch.path().join("audit/audit.jsonl");
    let mut text = fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"time\":\"2026-06-01T12:00:00Z\",\"actor\":\"mallo");
    fs::write(&path, &text).unwrap();
    registry
        .create_system(&name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    let history = registry.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records.len(), 2);
    assert_eq!(history.records[0].system, Some(name("edge")));
    assert_eq!(history.damaged.len(), 1);
    assert!(
        history.damaged[0].ends_with("audit.jsonl at byte 171: not a complete record: \"{\\\"time\\\":\\\"2026-06-01T12:00:00Z\\\",\\\"actor\\\":\\\"mallo\""),
        "{:?}",
        history.damaged
    );
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3);
}

/// Four writers on two registries of one directory (as two processes would be) append 400
/// records at once: every one is there, whole.
#[test]
fn concurrent_writers_never_interleave_or_lose_records() {
    let scratch = Scratch::new("concurrent");
    let first = Registry::create(scratch.path()).unwrap();
    let second = Registry::open(scratch.path()).unwrap();
    std::thread::scope(|scope| {
        for (index, registry) in [&first, &second, &first, &second].into_iter().enumerate() {
            scope.spawn(move || {
                let registry = registry.acting_as(format!("writer-{index}"));
                for round in 0..50 {
                    let system = name(&format!("w{index}-{round}"));
                    registry
                        .create_system(&system, SystemKind::Target, NOW)
                        .unwrap();
                    registry.remove_system(&system, false).unwrap();
                }
            });
        }
    });
    let history = first.history(&HistoryQuery::new()).unwrap();
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
    assert_eq!(history.records.len(), 400);
    for index in 0..4 {
        let actor = format!("writer-{index}");
        assert_eq!(
            history.records.iter().filter(|r| r.actor == actor).count(),
            100
        );
    }
}

// --- Audit before acknowledge: a change and its record agree, whatever the trail is. ---

use inbound_certs::{store::StoreBackend, CertificateStore, ImportPolicy, StoreError};
use std::path::Path;

/// A registry with one source system `crm` holding `sample_source.pem`, and the name of that
/// certificate.
fn registry_with_one(dir: &Path) -> (Registry, inbound_certs::CertificateName) {
    let registry = Registry::create(dir)
        .unwrap()
        .with_clock(|| NOW)
        .acting_as("alice");
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let imported = registry
        .store(&name("crm"))
        .unwrap()
        .import_upload(&common::read("sample_source.pem"), &ImportPolicy::new(NOW))
        .unwrap();
    (registry, imported[0].name())
}

/// Every kind of change, tried while the trail cannot be written: each must fail with
/// `NotAudited` and change nothing.
fn every_change_is_refused_unaudited(registry: &Registry, held: &inbound_certs::CertificateName) {
    let crm = registry.store(&name("crm")).unwrap();
    let not_audited = |result: Result<(), StoreError>, what: &str| match result {
        Err(StoreError::NotAudited(_)) => {}
        other => panic!("{what}: expected NotAudited, got {other:?}"),
    };
    not_audited(
        crm.import_upload(&common::read("ec_p256.pem"), &ImportPolicy::new(NOW))
            .map(drop),
        "import",
    );
    not_audited(crm.delete(held), "delete");
    not_audited(
        registry
            .create_system(&name("edge"), SystemKind::Proxy, NOW)
            .map(drop),
        "create a system",
    );
    not_audited(
        registry.remove_system(&name("crm"), true).map(drop),
        "remove a system",
    );
    // Nothing changed.
    let listing = crm.list().unwrap();
    assert_eq!(
        listing
            .certificates
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>(),
        vec![*held]
    );
    let systems = registry.systems().unwrap().systems;
    assert_eq!(systems.len(), 1, "{systems:?}");
    assert_eq!(registry.identify(&held.fingerprint()).unwrap().len(), 1);
}

/// The records of the setup: create crm, import one certificate.
fn assert_only_setup_records(registry: &Registry) {
    let history = registry.history(&HistoryQuery::new()).unwrap();
    let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["import", "create_system"], "{history:?}");
}

/// Issue 20, item 1: with the current file of the trail replaced by a directory, a FIFO or a
/// symbolic link, no change is made, none is acknowledged, and once the trail is back the
/// registry works and the trail holds exactly what was done.
#[test]
fn no_change_is_made_while_the_trail_cannot_be_written() {
    for shape in ["directory", "fifo", "symlink"] {
        let scratch = Scratch::new(&format!("unwritable-{shape}"));
        let (registry, held) = registry_with_one(scratch.path());
        let current = scratch.path().join("audit/audit.jsonl");
        let kept = scratch.path().join("kept.jsonl");
        fs::rename(&current, &kept).unwrap();
        match shape {
            "directory" => fs::create_dir(&current).unwrap(),
            "fifo" => {
                let status = std::process::Command::new("mkfifo")
                    .arg(&current)
                    .status()
                    .unwrap();
                assert!(status.success());
            }
            _ => std::os::unix::fs::symlink(&kept, &current).unwrap(),
        }
        every_change_is_refused_unaudited(&registry, &held);
        match shape {
            "directory" => fs::remove_dir(&current).unwrap(),
            _ => fs::remove_file(&current).unwrap(),
        }
        fs::rename(&kept, &current).unwrap();
        assert_only_setup_records(&registry);
        registry
            .create_system(&name("edge"), SystemKind::Proxy, NOW)
            .unwrap();
        assert_eq!(
            registry
                .history(&HistoryQuery::new())
                .unwrap()
                .records
                .len(),
            3,
            "{shape}"
        );
    }
}

/// Issue 20, item 1: with the trail's file system full, an import is undone after its
/// record fails, and a delete, a system's creation and removal are not made; freed, the
/// trail takes records again. The trail lives on a small tmpfs mounted over `DIR/audit`.
#[test]
fn a_full_disk_under_the_trail_leaves_store_and_trail_agreeing() {
    let scratch = Scratch::new("full-disk");
    let (registry, held) = registry_with_one(scratch.path());
    let audit = scratch.path().join("audit");
    let saved = fs::read(audit.join("audit.jsonl")).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
        .arg(&audit)
        .status()
        .expect("mount");
    assert!(
        status.success(),
        "cannot mount a tmpfs (need root, as CI runs)"
    );
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&audit);
    // The trail so far, filled to a whole page with empty lines (which readers skip), then a
    // file that takes every free page: the next record needs a page there is not.
    let mut trail = saved.clone();
    trail.resize(saved.len().div_ceil(4096) * 4096, b'\n');
    fs::write(audit.join("audit.jsonl"), &trail).unwrap();
    let mut filler = fs::File::create(audit.join("filler")).unwrap();
    loop {
        use std::io::Write;
        if filler.write_all(&[0u8; 4096]).is_err() {
            break;
        }
    }
    drop(filler);
    every_change_is_refused_unaudited(&registry, &held);
    assert_only_setup_records(&registry);
    // Space again: everything works and is recorded.
    fs::remove_file(audit.join("filler")).unwrap();
    let crm = registry.store(&name("crm")).unwrap();
    crm.delete(&held).unwrap();
    let history = registry.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records[0].action.as_str(), "delete");
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
}

/// Issue 20, item 14: a system store's own methods (not only `CertificateStore`'s) record
/// what they change: `StoreBackend::remove` leaves its record.
#[test]
fn a_system_store_records_a_change_however_it_is_called() {
    for registry in [
        Registry::in_memory().with_clock(|| NOW).acting_as("alice"),
        {
            let scratch = Box::leak(Box::new(Scratch::new("backend-remove")));
            Registry::create(scratch.path())
                .unwrap()
                .with_clock(|| NOW)
                .acting_as("alice")
        },
    ] {
        registry
            .create_system(&name("crm"), SystemKind::Source, NOW)
            .unwrap();
        let crm = registry.store(&name("crm")).unwrap();
        let imported = crm
            .import_upload(&common::read("sample_source.pem"), &ImportPolicy::new(NOW))
            .unwrap();
        StoreBackend::remove(&crm, &imported[0].name()).unwrap();
        let history = registry.history(&HistoryQuery::new()).unwrap();
        let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["delete", "import", "create_system"]);
        assert_eq!(history.records[0].certificate, Some(imported[0].name()));
        assert!(history.records[0].subject.is_some());
    }
}

/// Runs `read` on another thread and fails the test (instead of hanging it) if it has not
/// returned within a minute: a FIFO or a device in the trail must never block a reader.
fn within_a_minute<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(read());
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the audit trail's reader hung")
}

/// Issue 20, items 2 and 4: a record torn inside a multi-byte character, a FIFO, a link to
/// `/dev/zero` and a directory among the trail's files: the history answers at once with
/// every record, and reports each odd file or line as damaged.
#[test]
fn hostile_files_in_the_trail_are_reported_never_read() {
    let scratch = Scratch::new("hostile-trail");
    let (registry, held) = registry_with_one(scratch.path());
    let audit = scratch.path().join("audit");
    // A record cut in the middle of "é" (what a crash during an append can leave).
    let mut torn = fs::read(audit.join("audit.jsonl")).unwrap();
    torn.extend_from_slice("{\"actor\":\"caf\u{e9}".as_bytes());
    torn.pop();
    fs::write(audit.join("audit.jsonl"), &torn).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(audit.join("audit-7.jsonl"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/zero", audit.join("audit-6.jsonl")).unwrap();
    fs::create_dir(audit.join("audit-5.jsonl")).unwrap();
    // The index of imports, made hostile too: the lookup falls back to the trail.
    let index = audit.join("imported/crm").join(held.to_string());
    fs::remove_file(&index).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &index).unwrap();
    let reader = registry.clone();
    let (history, imported) = within_a_minute(move || {
        (
            reader.history(&HistoryQuery::new()).unwrap(),
            reader.import_record(&name("crm"), &held).unwrap(),
        )
    });
    let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["import", "create_system"]);
    assert_eq!(history.damaged.len(), 4, "{:#?}", history.damaged);
    assert!(history
        .damaged
        .iter()
        .any(|line| line.contains("audit.jsonl at byte") && line.contains("caf")));
    for odd in ["audit-7.jsonl", "audit-6.jsonl", "audit-5.jsonl"] {
        assert!(
            history
                .damaged
                .iter()
                .any(|line| line.contains(odd) && line.contains("not read")),
            "{odd}: {:#?}",
            history.damaged
        );
    }
    let imported = imported.expect("the import's record, from the trail");
    assert_eq!(imported.actor, "alice");
    // The next change starts a fresh line after the torn one, and is read back.
    registry
        .create_system(&name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    let history = within_a_minute({
        let registry = registry.clone();
        move || registry.history(&HistoryQuery::new().limit(1)).unwrap()
    });
    assert_eq!(history.records[0].system, Some(name("edge")));
}

/// Issue 20, item 5: a history with a limit reads the trail backwards and stops there: junk
/// in the oldest file is never reached (so never reported), while a history without a limit
/// reaches and reports it.
#[test]
fn a_limited_history_stops_reading_at_its_limit() {
    let scratch = Scratch::new("limit");
    let (registry, _) = registry_with_one(scratch.path());
    let audit = scratch.path().join("audit");
    fs::write(
        audit.join("audit-1.jsonl"),
        "junk at the very start of the trail\n",
    )
    .unwrap();
    for index in 0..20 {
        registry
            .create_system(&name(&format!("s{index}")), SystemKind::Target, NOW)
            .unwrap();
    }
    let limited = registry.history(&HistoryQuery::new().limit(5)).unwrap();
    assert_eq!(limited.records.len(), 5);
    assert_eq!(limited.records[0].system, Some(name("s19")));
    assert!(limited.damaged.is_empty(), "{:?}", limited.damaged);
    let whole = registry.history(&HistoryQuery::new()).unwrap();
    assert_eq!(whole.records.len(), 22);
    assert_eq!(whole.damaged.len(), 1, "{:?}", whole.damaged);
}

/// Issue 20, item 5: who imported a certificate is kept beside the trail: found with the
/// trail's files gone, and gone with the certificate.
#[test]
fn the_import_record_is_found_without_reading_the_trail() {
    let scratch = Scratch::new("import-record");
    let (registry, held) = registry_with_one(scratch.path());
    let audit = scratch.path().join("audit");
    fs::rename(audit.join("audit.jsonl"), scratch.path().join("elsewhere")).unwrap();
    let record = registry
        .import_record(&name("crm"), &held)
        .unwrap()
        .unwrap();
    assert_eq!(record.actor, "alice");
    assert_eq!(record.certificate, Some(held));
    fs::rename(scratch.path().join("elsewhere"), audit.join("audit.jsonl")).unwrap();
    registry.store(&name("crm")).unwrap().delete(&held).unwrap();
    assert!(!audit.join("imported/crm").join(held.to_string()).exists());
    // Not in the index any more; the trail holds the (older) import record still.
    assert!(registry
        .import_record(&name("crm"), &held)
        .unwrap()
        .is_some());
    registry.remove_system(&name("crm"), true).unwrap();
    assert!(!audit.join("imported/crm").exists());
}

/// A trail's directory others may write to (and so rewrite the history in) is refused when
/// the registry opens.
#[test]
fn a_trail_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("trail-mode");
    Registry::create(scratch.path()).unwrap();
    let audit = scratch.path().join("audit");
    fs::set_permissions(&audit, fs::Permissions::from_mode(0o777)).unwrap();
    match Registry::open(scratch.path()) {
        Err(StoreError::InsecurePermissions { path, .. }) => assert_eq!(path, audit),
        other => panic!("expected InsecurePermissions, got {other:?}"),
    }
    fs::set_permissions(&audit, fs::Permissions::from_mode(0o700)).unwrap();
    Registry::open(scratch.path()).unwrap();
}

/// A change that fails after its record was written takes the record back: the system's
/// directory moved away behind the registry's back makes an import and a delete fail, and
/// the trail holds neither.
#[test]
fn a_change_that_fails_after_its_record_leaves_none() {
    let scratch = Scratch::new("taken-back");
    let (registry, held) = registry_with_one(scratch.path());
    let crm = registry.store(&name("crm")).unwrap();
    let systems = scratch.path().join("systems");
    fs::rename(systems.join("crm"), scratch.path().join("moved")).unwrap();
    let before = fs::read(scratch.path().join("audit/audit.jsonl")).unwrap();
    assert!(crm
        .import_upload(&common::read("ec_p256.pem"), &ImportPolicy::new(NOW))
        .is_err());
    assert!(crm.delete(&held).is_err());
    assert_eq!(
        fs::read(scratch.path().join("audit/audit.jsonl")).unwrap(),
        before
    );
    assert_only_setup_records(&registry);
}
