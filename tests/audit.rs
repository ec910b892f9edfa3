//! The audit trail of a registry, in memory and in a directory: one record per change, with
//! time, actor, system, certificate, subject, outcome and detail; read back newest first and
//! filtered; a torn line reported, never dropped; writers of several processes never
//! interleaving.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use inbound_certs::{
    decode, AuditAction, AuditOutcome, CertificateStore, HistoryQuery, ImportPolicy, Registry,
    SystemKind, SystemName,
};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "inbound-certs-audit-{tag}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn name(text: &str) -> SystemName {
    text.parse().unwrap()
}

/// Every kind of change through a registry, by two actors, and what the trail says of it.
fn every_change_leaves_one_record(registry: Registry) {
    let registry = registry.with_clock(|| NOW);
    let alice = registry.acting_as("alice");
    let bob = registry.acting_as("bob");
    alice
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let store = alice.store(&name("crm")).unwrap();
    let policy = ImportPolicy::new(NOW);
    let source = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    store.import(&source, &policy).unwrap();
    store.import(&source, &policy).unwrap();
    assert!(store
        .import_upload(&common::read("key_pkcs8.pem"), &policy)
        .is_err());
    assert!(store
        .import_upload(&common::read("expired.pem"), &policy)
        .is_err());
    let expired = decode(&common::read("expired.pem")).unwrap().remove(0);
    store
        .import(&expired, &policy.clone().allow_expired(true))
        .unwrap();
    let bobs = bob.store(&name("crm")).unwrap();
    assert_eq!(bobs.purge_expired(NOW).unwrap(), vec![expired.name()]);
    bobs.delete(&source.name()).unwrap();
    bob.remove_system(&name("crm"), false).unwrap();

    let history = registry.history(&HistoryQuery::new()).unwrap();
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
    let summary: Vec<(String, &str, &str, Option<String>)> = history
        .records
        .iter()
        .map(|record| {
            (
                record.actor.clone(),
                record.action.as_str(),
                record.outcome.as_str(),
                record.certificate.map(|name| name.to_string()),
            )
        })
        .collect();
    let source_name = Some(source.name().to_string());
    let expired_name = Some(expired.name().to_string());
    assert_eq!(
        summary,
        vec![
            ("bob".into(), "remove_system", "removed", None),
            ("bob".into(), "delete", "removed", source_name.clone()),
            ("bob".into(), "purge", "removed", expired_name.clone()),
            ("alice".into(), "import", "added", expired_name.clone()),
            ("alice".into(), "import", "refused", expired_name),
            ("alice".into(), "import", "refused", None),
            (
                "alice".into(),
                "import",
                "already_present",
                source_name.clone()
            ),
            ("alice".into(), "import", "added", source_name),
            ("alice".into(), "create_system", "created", None),
        ]
    );
    for record in &history.records {
        assert_eq!(record.time, NOW);
        assert_eq!(record.system, Some(name("crm")));
    }
    let added = &history.records[7];
    assert_eq!(
        added.subject.as_deref(),
        Some("CN=orders-service.source.example,O=Orders Inc,C=DE")
    );
    assert!(
        history.records[5]
            .detail
            .starts_with("private_key: a private key (PKCS#8)"),
        "{}",
        history.records[5].detail
    );
    assert!(history.records[4]
        .detail
        .starts_with("expired (1 certificate(s) in the upload): certificate"));
    assert_eq!(history.records[0].detail, "with 0 certificate(s)");
    assert_eq!(
        history.records[8].to_string(),
        "2026-06-01T12:00:00Z alice create_system system crm: created: a source system"
    );

    // Filters: by system, by time, a limit.
    let limited = registry
        .history(&HistoryQuery::new().system(name("crm")).limit(2))
        .unwrap();
    assert_eq!(limited.records.len(), 2);
    assert_eq!(limited.records[0].action, AuditAction::RemoveSystem);
    let none = registry
        .history(&HistoryQuery::new().system(name("other")))
        .unwrap();
    assert!(none.records.is_empty());
    let later = registry
        .history(&HistoryQuery::new().since(NOW + time::Duration::seconds(1)))
        .unwrap();
    assert!(later.records.is_empty());
    assert_eq!(
        registry
            .history(&HistoryQuery::new().until(NOW + time::Duration::seconds(1)))
            .unwrap()
            .records
            .len(),
        9
    );
    assert_eq!(history.records[3].outcome, AuditOutcome::Added);
}

#[test]
fn in_memory_every_change_leaves_one_record() {
    every_change_leaves_one_record(Registry::in_memory());
}

#[test]
fn in_a_directory_every_change_leaves_one_record() {
    let scratch = Scratch::new("changes");
    every_change_leaves_one_record(Registry::create(&scratch.0).unwrap());
    // The trail is JSON Lines, one record a line, in the registry's directory.
    let text = fs::read_to_string(scratch.0.join("audit/audit.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 9);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["action"], "create_system");
    assert_eq!(first["actor"], "alice");
    assert_eq!(first["time"], "2026-06-01T12:00:00Z");
}

/// A record torn by a crash while it was written is reported where it is, and the next
/// record starts on a line of its own: nothing is dropped or rewritten.
#[test]
fn a_torn_record_is_reported_and_never_hides_the_others() {
    let scratch = Scratch::new("torn");
    let registry = Registry::create(&scratch.0).unwrap().with_clock(|| NOW);
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let path = scratch.0.join("audit/audit.jsonl");
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
        history.damaged[0].ends_with("audit.jsonl:2: not a complete record: \"{\\\"time\\\":\\\"2026-06-01T12:00:00Z\\\",\\\"actor\\\":\\\"mallo\""),
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
    let first = Registry::create(&scratch.0).unwrap();
    let second = Registry::open(&scratch.0).unwrap();
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
