//! The registry of systems through its public API: the registry conformance suite on memory
//! and on a directory, and what only a directory has (other processes' changes, the layout
//! on disk, stores made before registries).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Scratch;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::fs;

use inbound_certs::conformance::{self, NOW};
use inbound_certs::{
    backend::FileStore, decode, CertificateStore, ImportPolicy, Registry, StoreError, SystemKind,
    SystemName,
};

fn name(text: &str) -> SystemName {
    text.parse().unwrap()
}

fn policy() -> ImportPolicy {
    ImportPolicy::new(NOW)
}

#[test]
fn a_registry_in_memory_conforms() {
    conformance::run_registry(Registry::in_memory);
}

#[test]
fn a_registry_in_a_directory_conforms() {
    let scratch = Scratch::new("conform");
    let count = AtomicUsize::new(0);
    conformance::run_registry(|| {
        Registry::create(
            scratch
                .path()
                .join(count.fetch_add(1, Ordering::SeqCst).to_string()),
        )
        .unwrap()
    });
}

/// The layout on disk: one directory per system with its manifest and its certificates.
#[test]
fn each_system_is_a_directory_with_a_manifest() {
    let scratch = Scratch::new("layout");
    let registry = Registry::create(scratch.path()).unwrap();
    registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let imported = registry
        .store(&name("crm"))
        .unwrap()
        .import_upload(&common::read("sample_source.pem"), &policy())
        .unwrap();
    let dir = scratch.path().join("systems/crm");
    assert_eq!(
        fs::read_to_string(dir.join("system")).unwrap(),
        "kind: source\ncreated: 2026-06-01T00:00:00Z\n"
    );
    assert!(dir.join(format!("{}.der", imported[0].name())).is_file());
    // Each system directory is a file store of its own.
    let store = FileStore::open(&dir, SystemKind::Source).unwrap();
    assert_eq!(store.list().unwrap().certificates.len(), 1);
}

/// Two registries on one directory (two processes of a service): each sees the other's
/// systems, imports, deletes and removals, and `identify` follows.
#[test]
fn registries_sharing_a_directory_see_each_others_changes() {
    let scratch = Scratch::new("shared");
    let first = Registry::create(scratch.path()).unwrap();
    let second = Registry::open(scratch.path()).unwrap();
    let certificate = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    let fingerprint = certificate.fingerprint();

    let crm = first
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    assert_eq!(second.system(&name("crm")).unwrap(), crm);
    assert!(second.identify(&fingerprint).unwrap().is_empty());
    first
        .store(crm.name())
        .unwrap()
        .import(&certificate, &policy())
        .unwrap();
    assert_eq!(second.identify(&fingerprint).unwrap(), vec![crm.clone()]);
    let edge = second
        .create_system(&name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    second
        .store(edge.name())
        .unwrap()
        .import(&certificate, &policy())
        .unwrap();
    assert_eq!(
        first.identify(&fingerprint).unwrap(),
        vec![crm.clone(), edge.clone()]
    );
    second
        .store(crm.name())
        .unwrap()
        .delete(&certificate.name())
        .unwrap();
    assert_eq!(first.identify(&fingerprint).unwrap(), vec![edge.clone()]);
    first.remove_system(edge.name(), true).unwrap();
    assert!(second.identify(&fingerprint).unwrap().is_empty());
    assert_eq!(second.systems().unwrap().systems, vec![crm]);
}

/// A store made by `FileStore` before registries existed: its certificates are adopted into
/// a system, none lost, and adopting again (after a crash) finishes the job.
#[test]
fn a_store_made_before_registries_is_adopted_whole() {
    let scratch = Scratch::new("legacy");
    let legacy = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    // bundle.pem holds an intermediate CA.
    legacy
        .import_all(&bundle, &policy().allow_ca(true))
        .unwrap();

    let registry = Registry::open(scratch.path()).unwrap();
    assert_eq!(registry.legacy_certificates().unwrap(), 5);
    // A crash part way: two files already moved by hand into the system's directory.
    registry
        .create_system(&name("legacy"), SystemKind::Source, NOW)
        .unwrap();
    for certificate in &bundle[..2] {
        let file = format!("{}.der", certificate.name());
        fs::rename(
            scratch.path().join(&file),
            scratch.path().join("systems/legacy").join(&file),
        )
        .unwrap();
    }
    let moved = registry
        .adopt_legacy_store(&name("legacy"), SystemKind::Source, NOW)
        .unwrap();
    assert_eq!(moved, 3);
    assert_eq!(registry.legacy_certificates().unwrap(), 0);
    let mut expected = bundle.clone();
    expected.sort_by_key(|certificate| certificate.name());
    assert_eq!(
        registry
            .store(&name("legacy"))
            .unwrap()
            .list()
            .unwrap()
            .certificates,
        expected
    );
    assert_eq!(
        registry.identify(&bundle[0].fingerprint()).unwrap()[0]
            .name()
            .as_str(),
        "legacy"
    );
}

#[test]
fn a_directory_registry_reports_unreadable_systems_and_lists_the_others() {
    let scratch = Scratch::new("damaged");
    let registry = Registry::create(scratch.path()).unwrap();
    registry
        .create_system(&name("good"), SystemKind::Source, NOW)
        .unwrap();
    fs::create_dir(scratch.path().join("systems/no-manifest")).unwrap();
    fs::create_dir(scratch.path().join("systems/Bad Name")).unwrap();
    let listing = registry.systems().unwrap();
    assert_eq!(listing.systems.len(), 1);
    assert_eq!(listing.damaged.len(), 2);
    let error = registry.store(&name("no-manifest")).unwrap_err();
    assert!(matches!(error, StoreError::Damaged(_)), "{error:?}");
    assert!(matches!(
        registry.store(&name("absent")),
        Err(StoreError::SystemNotFound(_))
    ));
}

/// Puts a certificate's file into a system's directory by hand: a change that rewrites no
/// change marker, so only a rebuild of a registry's index from the directory sees it. The
/// tests below use it to tell a rebuild from an update in place.
fn plant(dir: &std::path::Path, system: &str, certificate: &inbound_certs::Certificate) {
    fs::write(
        dir.join("systems")
            .join(system)
            .join(format!("{}.der", certificate.name())),
        certificate.der(),
    )
    .unwrap();
}

/// An import or a delete made through a registry updates its index in place: the next
/// `identify` (a TLS handshake) does not rebuild the index from the directory, and neither
/// does an import of a certificate already present.
#[test]
fn a_change_through_this_process_does_not_rebuild_its_index() {
    let scratch = Scratch::new("in-place");
    let registry = Registry::create(scratch.path()).unwrap();
    let crm = registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    let policy = policy().allow_ca(true);
    let store = registry.store(crm.name()).unwrap();
    store.import(&bundle[0], &policy).unwrap();
    assert_eq!(
        registry.identify(&bundle[0].fingerprint()).unwrap(),
        vec![crm.clone()]
    );
    plant(scratch.path(), "crm", &bundle[1]);
    let planted = bundle[1].fingerprint();
    assert!(registry.identify(&planted).unwrap().is_empty());

    store.import(&bundle[2], &policy).unwrap();
    assert_eq!(
        registry.identify(&bundle[2].fingerprint()).unwrap(),
        vec![crm.clone()]
    );
    assert!(
        registry.identify(&planted).unwrap().is_empty(),
        "the import rebuilt the index"
    );
    store.import(&bundle[0], &policy).unwrap();
    assert!(
        registry.identify(&planted).unwrap().is_empty(),
        "an import of a certificate already present rebuilt the index"
    );
    store.delete(&bundle[2].name()).unwrap();
    assert!(registry
        .identify(&bundle[2].fingerprint())
        .unwrap()
        .is_empty());
    assert!(
        registry.identify(&planted).unwrap().is_empty(),
        "the delete rebuilt the index"
    );
    let edge = registry
        .create_system(&name("edge"), SystemKind::Proxy, NOW)
        .unwrap();
    assert_eq!(registry.system(edge.name()).unwrap(), edge);
    assert!(
        registry.identify(&planted).unwrap().is_empty(),
        "the new system rebuilt the index"
    );
    registry.remove_system(edge.name(), false).unwrap();
    assert!(
        registry.identify(&planted).unwrap().is_empty(),
        "the removal of a system rebuilt the index"
    );

    // Another process's change is still seen, and with it, by the rebuild, the planted file.
    let other = Registry::open(scratch.path()).unwrap();
    other
        .store(crm.name())
        .unwrap()
        .import(&bundle[3], &policy)
        .unwrap();
    assert_eq!(
        registry.identify(&bundle[3].fingerprint()).unwrap(),
        vec![crm.clone()]
    );
    assert_eq!(registry.identify(&planted).unwrap(), vec![crm]);
}

/// Another process's change made just before one of ours is not hidden by ours: the marker
/// ours replaced is not the one our index was built from, so the index is rebuilt.
#[test]
fn a_foreign_change_just_before_ours_is_still_seen() {
    let scratch = Scratch::new("foreign-first");
    let registry = Registry::create(scratch.path()).unwrap();
    let crm = registry
        .create_system(&name("crm"), SystemKind::Source, NOW)
        .unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    let policy = policy().allow_ca(true);
    assert!(registry
        .identify(&bundle[0].fingerprint())
        .unwrap()
        .is_empty());
    let other = Registry::open(scratch.path()).unwrap();
    other
        .store(crm.name())
        .unwrap()
        .import(&bundle[0], &policy)
        .unwrap();
    registry
        .store(crm.name())
        .unwrap()
        .import(&bundle[1], &policy)
        .unwrap();
    for certificate in &bundle[..2] {
        assert_eq!(
            registry.identify(&certificate.fingerprint()).unwrap(),
            vec![crm.clone()]
        );
    }
}

/// On a directory, a suspension (issue 23) is one small file beside the certificate, never
/// reported as a damaged entry; another registry on the same directory (another process)
/// sees it through the change marker; a suspension file that cannot be read (a link, a
/// FIFO, garbage, writable by others) still suspends, with a reason that says why, and a
/// resume removes it; a delete removes it with the certificate.
#[cfg(unix)]
#[test]
fn suspensions_on_a_directory_are_files_other_processes_see() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("suspend");
    let registry = Registry::create(scratch.path()).unwrap();
    let other = Registry::open(scratch.path()).unwrap();
    let crm = name("crm");
    let system = registry
        .create_system(&crm, SystemKind::Source, NOW)
        .unwrap();
    let certificate = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    let fingerprint = certificate.fingerprint();
    let store = registry.store(&crm).unwrap();
    store.import(&certificate, &policy()).unwrap();
    assert_eq!(other.identify(&fingerprint).unwrap(), vec![system.clone()]);

    store
        .suspend(&certificate.name(), "leaked in a ticket")
        .unwrap();
    let file = scratch
        .path()
        .join("systems/crm")
        .join(format!("{}.suspended", certificate.name()));
    let metadata = fs::symlink_metadata(&file).unwrap();
    assert!(metadata.is_file());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let listing = store.list().unwrap();
    assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
    assert_eq!(listing.certificates, vec![certificate.clone()]);
    assert!(fs::read_dir(scratch.path().join("systems/crm"))
        .unwrap()
        .all(|entry| !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")));
    // The other registry rebuilds its index from the marker, and reads the suspension.
    assert!(other.identify(&fingerprint).unwrap().is_empty());
    assert_eq!(
        other.suspended_in(&fingerprint).unwrap(),
        vec![system.clone()]
    );
    assert_eq!(
        other
            .store(&crm)
            .unwrap()
            .suspension(&certificate.name())
            .unwrap()
            .unwrap()
            .reason(),
        "leaked in a ticket"
    );

    // Hostile files in its place still suspend (read by a fresh registry, as a restarted
    // process would).
    let target = scratch.path().join("elsewhere.json");
    fs::write(
        &target,
        r#"{"reason":"x","since":"2026-06-01T00:00:00Z","by":"mallory"}"#,
    )
    .unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let writable_by_others = |path: &std::path::Path| {
        fs::write(
            path,
            r#"{"reason":"x","since":"2026-06-01T00:00:00Z","by":"m"}"#,
        )
        .unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o666)).unwrap();
    };
    type Make<'a> = &'a dyn Fn(&std::path::Path);
    let hostile: [(&str, Make); 4] = [
        ("a symbolic link", &|path| {
            std::os::unix::fs::symlink(&target, path).unwrap()
        }),
        ("not a suspension", &|path| {
            fs::write(path, b"\xff\xfe garbage").unwrap()
        }),
        ("not a regular file", &|path| {
            rustix::fs::mknodat(
                rustix::fs::CWD,
                path,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            )
            .unwrap()
        }),
        ("every user may write to it", &writable_by_others),
    ];
    for (what, make) in hostile {
        fs::remove_file(&file).unwrap();
        make(&file);
        let fresh = Registry::open(scratch.path()).unwrap();
        assert!(
            fresh.identify(&fingerprint).unwrap().is_empty(),
            "{what}: trusted"
        );
        let suspension = fresh
            .store(&crm)
            .unwrap()
            .suspension(&certificate.name())
            .unwrap()
            .unwrap();
        assert!(
            suspension.reason().contains("cannot be read") && suspension.reason().contains(what),
            "{what}: {}",
            suspension.reason()
        );
        assert!(fresh
            .store(&crm)
            .unwrap()
            .list()
            .unwrap()
            .damaged
            .is_empty());
    }
    // Resumed: the file is gone, trusted again everywhere.
    registry
        .store(&crm)
        .unwrap()
        .resume(&certificate.name())
        .unwrap();
    assert!(fs::symlink_metadata(&file).is_err());
    assert!(
        fs::symlink_metadata(&target).is_ok(),
        "a link is removed, never followed"
    );
    assert_eq!(other.identify(&fingerprint).unwrap(), vec![system.clone()]);

    // Deleted while suspended: the file goes with the certificate.
    store.suspend(&certificate.name(), "gone").unwrap();
    store.delete(&certificate.name()).unwrap();
    assert!(fs::symlink_metadata(&file).is_err());
    assert!(other.suspended_in(&fingerprint).unwrap().is_empty());
}

/// A suspension file left behind by a delete that crashed between removing the certificate
/// and its suspension suspends nothing, and an import of the certificate removes it: the
/// certificate starts trusted, as after a delete on every backend.
#[cfg(unix)]
#[test]
fn a_suspension_left_behind_by_a_crashed_delete_is_cleared_by_an_import() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("orphan");
    let registry = Registry::create(scratch.path()).unwrap();
    let crm = name("crm");
    let system = registry
        .create_system(&crm, SystemKind::Source, NOW)
        .unwrap();
    let certificate = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    let file = scratch
        .path()
        .join("systems/crm")
        .join(format!("{}.suspended", certificate.name()));
    fs::write(
        &file,
        r#"{"reason":"before the crash","since":"2026-06-01T00:00:00Z","by":"alice"}"#,
    )
    .unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let store = registry.store(&crm).unwrap();
    assert!(store.suspensions().unwrap().is_empty());
    store.import(&certificate, &policy()).unwrap();
    assert!(fs::symlink_metadata(&file).is_err());
    assert_eq!(store.suspension(&certificate.name()).unwrap(), None);
    assert_eq!(
        registry.identify(&certificate.fingerprint()).unwrap(),
        vec![system.clone()]
    );
    let fresh = Registry::open(scratch.path()).unwrap();
    assert_eq!(
        fresh.identify(&certificate.fingerprint()).unwrap(),
        vec![system]
    );
}

/// Permissions on a directory (issue 24): kept in the system's manifest, rewritten
/// atomically (no temporary file left, mode 0600), a line only when the system holds any (a
/// manifest an earlier version wrote, without one, still opens: the system holds none); two
/// registries on one directory (two processes) see each other's grants and revocations at
/// their next `identify`, through the change marker; a manifest whose permissions were
/// edited into something hostile makes the system damaged, never trusted with them.
#[cfg(unix)]
#[test]
fn permissions_on_a_directory_are_in_the_manifest_and_other_processes_see_them() {
    use inbound_certs::registry::Permission;
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("permissions");
    let registry = Registry::create(scratch.path()).unwrap().acting_as("alice");
    let other = Registry::open(scratch.path()).unwrap().acting_as("bob");
    let gateway = name("gateway");
    let proxy_api: Permission = "proxy-api".parse().unwrap();
    let realtime_api: Permission = "realtime-api".parse().unwrap();
    registry
        .create_system(&gateway, SystemKind::Proxy, NOW)
        .unwrap();
    let manifest = scratch.path().join("systems/gateway/system");
    // The manifest an earlier version wrote, byte for byte.
    assert_eq!(
        fs::read_to_string(&manifest).unwrap(),
        "kind: proxy\ncreated: 2026-06-01T00:00:00Z\n"
    );
    let certificate = decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0);
    let fingerprint = certificate.fingerprint();
    registry
        .store(&gateway)
        .unwrap()
        .import(&certificate, &policy())
        .unwrap();
    assert!(other.identify(&fingerprint).unwrap()[0]
        .permissions()
        .is_empty());

    assert!(registry.grant_permission(&gateway, &proxy_api).unwrap());
    assert!(registry.grant_permission(&gateway, &realtime_api).unwrap());
    assert_eq!(
        fs::read_to_string(&manifest).unwrap(),
        "kind: proxy\ncreated: 2026-06-01T00:00:00Z\npermissions: proxy-api, realtime-api\n"
    );
    assert_eq!(
        fs::symlink_metadata(&manifest)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(fs::read_dir(scratch.path().join("systems/gateway"))
        .unwrap()
        .all(|entry| !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp-")));
    // The other registry rebuilds its index from the marker.
    let seen = other.identify(&fingerprint).unwrap();
    assert!(seen[0].has_permission(&proxy_api) && seen[0].has_permission(&realtime_api));
    assert!(other.revoke_permission(&gateway, &proxy_api).unwrap());
    assert!(!registry.identify(&fingerprint).unwrap()[0].has_permission(&proxy_api));
    assert!(registry.identify(&fingerprint).unwrap()[0].has_permission(&realtime_api));
    // A registry opened afterwards reads them from the manifest.
    let fresh = Registry::open(scratch.path()).unwrap();
    assert_eq!(
        fresh
            .system(&gateway)
            .unwrap()
            .permissions()
            .iter()
            .collect::<Vec<_>>(),
        vec![&realtime_api]
    );
    let actors: Vec<(String, String)> = fresh
        .history(&inbound_certs::audit::HistoryQuery::new().system(gateway.clone()))
        .unwrap()
        .records
        .into_iter()
        .map(|record| (record.action.as_str().to_string(), record.actor))
        .collect();
    assert_eq!(
        actors[..3],
        [
            ("revoke".to_string(), "bob".to_string()),
            ("grant".to_string(), "alice".to_string()),
            ("grant".to_string(), "alice".to_string()),
        ]
    );

    // Edited by hand into something hostile: the system is damaged, and trusts nothing.
    fs::write(
        &manifest,
        "kind: proxy\ncreated: 2026-06-01T00:00:00Z\npermissions: ../admin\n",
    )
    .unwrap();
    let reopened = Registry::open(scratch.path()).unwrap();
    assert!(matches!(
        reopened.system(&gateway),
        Err(StoreError::Damaged(_))
    ));
    assert_eq!(reopened.systems().unwrap().damaged.len(), 1);
    assert!(reopened.identify(&fingerprint).unwrap().is_empty());
}

/// A grant whose audit record cannot be written is not made (the registry's rule: a durable
/// record before the ack, or no change): `NotAudited`, the manifest and every reader
/// unchanged; once the trail can be written again, the grant is made and recorded.
#[test]
fn a_grant_the_trail_cannot_record_is_not_made() {
    use inbound_certs::registry::Permission;
    let scratch = Scratch::new("permissions-not-audited");
    let registry = Registry::create(scratch.path()).unwrap();
    let gateway = name("gateway");
    let proxy_api: Permission = "proxy-api".parse().unwrap();
    registry
        .create_system(&gateway, SystemKind::Proxy, NOW)
        .unwrap();
    let manifest = scratch.path().join("systems/gateway/system");
    let before = fs::read_to_string(&manifest).unwrap();
    let trail = scratch.path().join("audit/audit.jsonl");
    let kept = scratch.path().join("kept.jsonl");
    fs::rename(&trail, &kept).unwrap();
    fs::create_dir(&trail).unwrap();

    let error = registry.grant_permission(&gateway, &proxy_api).unwrap_err();
    assert!(matches!(error, StoreError::NotAudited(_)), "{error:?}");
    assert_eq!(fs::read_to_string(&manifest).unwrap(), before);
    assert!(registry.system(&gateway).unwrap().permissions().is_empty());
    assert!(Registry::open(scratch.path())
        .unwrap()
        .system(&gateway)
        .unwrap()
        .permissions()
        .is_empty());

    fs::remove_dir(&trail).unwrap();
    fs::rename(&kept, &trail).unwrap();
    assert!(registry.grant_permission(&gateway, &proxy_api).unwrap());
    assert!(registry
        .system(&gateway)
        .unwrap()
        .has_permission(&proxy_api));
    let history = registry
        .history(&inbound_certs::audit::HistoryQuery::new())
        .unwrap();
    let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["grant", "create_system"]);
}
