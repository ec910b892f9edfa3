//! A directory registry's odd system directories: each is its own damaged entry, the
//! healthy systems are listed and served, and `identify` never follows a link and never
//! fails for every certificate because one system is odd. Ownership needs root (CI runs
//! as root): an entry is given to another user with chown.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Scratch;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use inbound_certs::conformance::NOW;
use inbound_certs::{
    decode,
    store::{EntryDamage, PermissionProblem},
    Certificate, CertificateStore, ImportPolicy, Registry, StoreError, SystemKind, SystemName,
};

fn name(text: &str) -> SystemName {
    text.parse().unwrap()
}

fn bundle() -> Vec<Certificate> {
    decode(&common::read("bundle.pem")).unwrap()
}

fn policy() -> ImportPolicy {
    ImportPolicy::new(NOW).allow_ca(true)
}

/// A user id no file here belongs to (Debian's `nobody`).
const OTHER_USER: u32 = 65534;

/// A system made by a registry, with one certificate, in `dir`.
fn make_system(dir: &Path, system: &str, certificate: &Certificate) {
    let registry = Registry::create(dir).unwrap();
    registry
        .create_system(&name(system), SystemKind::Source, NOW)
        .unwrap();
    registry
        .store(&name(system))
        .unwrap()
        .import(certificate, &policy())
        .unwrap();
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Every shape of odd system directory at once, in a registry opened afterwards (whose
/// first index is built from them) and in one that was open before (whose `identify`
/// rebuilds its index once another change moves the marker).
#[test]
fn each_odd_system_directory_is_its_own_damaged_entry() {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "this test gives a system's directory to another user with chown: run it as root \
         (CI does)"
    );
    let scratch = Scratch::new("odd-systems");
    let dir = scratch.path().join("registry");
    let bundle = bundle();
    make_system(&dir, "crm", &bundle[0]);
    let before = Registry::open(&dir).unwrap();
    assert_eq!(before.identify(&bundle[0].fingerprint()).unwrap().len(), 1);
    let systems = dir.join("systems");

    // Links: to another system, and to a system outside the registry.
    std::os::unix::fs::symlink("crm", systems.join("alias")).unwrap();
    let elsewhere = scratch.path().join("elsewhere");
    make_system(&elsewhere, "outside", &bundle[1]);
    std::os::unix::fs::symlink(elsewhere.join("systems/outside"), systems.join("outside")).unwrap();
    // A system others may write to, and one of another user: each with a certificate of
    // its own.
    make_system(&dir, "open", &bundle[2]);
    fs::set_permissions(systems.join("open"), fs::Permissions::from_mode(0o777)).unwrap();
    make_system(&dir, "theirs", &bundle[3]);
    std::os::unix::fs::chown(systems.join("theirs"), Some(OTHER_USER), None).unwrap();
    // Manifests: missing, a directory, a FIFO (which must not block the listing).
    fs::create_dir(systems.join("no-manifest")).unwrap();
    fs::create_dir_all(systems.join("manifest-dir/system")).unwrap();
    fs::create_dir(systems.join("manifest-fifo")).unwrap();
    mkfifo(&systems.join("manifest-fifo/system"));
    // A FIFO and a file where a directory should be.
    mkfifo(&systems.join("pipe"));
    fs::write(systems.join("file"), b"kind: source\n").unwrap();

    let after = Registry::open(&dir).unwrap();
    // Another change, so that the registry open before rebuilds its index.
    make_system(&dir, "later", &bundle[4]);
    for registry in [&after, &before] {
        let listing = registry.systems().unwrap();
        let names: Vec<&str> = listing
            .systems
            .iter()
            .map(|system| system.name().as_str())
            .collect();
        assert_eq!(names, ["crm", "later"]);
        let damaged: Vec<(String, EntryDamage)> = listing
            .damaged
            .iter()
            .map(|entry| {
                (
                    entry
                        .location
                        .strip_prefix(&systems)
                        .unwrap()
                        .display()
                        .to_string(),
                    entry.problem.clone(),
                )
            })
            .collect();
        let names: Vec<&str> = damaged.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "alias",
                "file",
                "manifest-dir",
                "manifest-fifo",
                "no-manifest",
                "open",
                "outside",
                "pipe",
                "theirs"
            ]
        );
        let problem = |entry: &str| {
            damaged
                .iter()
                .find(|(name, _)| name == entry)
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(problem("alias"), EntryDamage::SymbolicLink);
        assert_eq!(problem("outside"), EntryDamage::SymbolicLink);
        assert_eq!(
            problem("open"),
            EntryDamage::Insecure(PermissionProblem::WritableByOthers { mode: 0o777 })
        );
        assert_eq!(
            problem("theirs"),
            EntryDamage::Insecure(PermissionProblem::OwnedByOtherUser {
                owner: OTHER_USER,
                user: 0
            })
        );
        assert_eq!(
            problem("pipe").to_string(),
            "cannot be read: a system is a directory, and this is a FIFO"
        );
        assert_eq!(
            problem("file").to_string(),
            "cannot be read: a system is a directory, and this is a file"
        );
        for entry in ["no-manifest", "manifest-dir", "manifest-fifo"] {
            assert!(
                matches!(problem(entry), EntryDamage::Unreadable(ref text) if text.contains("manifest")),
                "{entry}: {:?}",
                problem(entry)
            );
        }

        // The healthy systems are served and identified; the odd ones are neither.
        assert_eq!(
            registry.identify(&bundle[0].fingerprint()).unwrap(),
            vec![registry.system(&name("crm")).unwrap()]
        );
        assert_eq!(
            registry.identify(&bundle[4].fingerprint()).unwrap().len(),
            1
        );
        for certificate in &bundle[1..4] {
            assert!(
                registry
                    .identify(&certificate.fingerprint())
                    .unwrap()
                    .is_empty(),
                "an odd system trusts {}",
                certificate.name()
            );
        }
        let overview = registry.overview(NOW, time::Duration::days(30)).unwrap();
        assert_eq!(overview.len(), 2);
        for odd in [
            "alias",
            "outside",
            "open",
            "theirs",
            "pipe",
            "file",
            "no-manifest",
        ] {
            let error = registry.store(&name(odd)).unwrap_err();
            assert!(matches!(error, StoreError::Damaged(_)), "{odd}: {error:?}");
            assert!(matches!(
                registry.system(&name(odd)),
                Err(StoreError::Damaged(_))
            ));
        }
    }
    // Links were never followed: what they lead to is untouched.
    assert_eq!(
        Registry::open(&elsewhere)
            .unwrap()
            .store(&name("outside"))
            .unwrap()
            .list()
            .unwrap()
            .certificates,
        vec![bundle[1].clone()]
    );
}
