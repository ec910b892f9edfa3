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
use inbound_certs::{HistoryQuery, Registry, SystemKind, SystemName};
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
    assert_eq!(text.lines().count(), 9);
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
