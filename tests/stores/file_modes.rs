//! Every file and directory a directory registry writes has exactly the store's mode
//! (0600 and 0700; 0640 and 0770 with a shared group), whatever the process's umask: the
//! change marker, lock files, manifests, certificates, the audit trail. The umask belongs to
//! the whole process, so the registry is used by a child process (this test binary run
//! again under `sh -c 'umask …'`), and the parent checks what it left.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::Scratch;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use inbound_certs::conformance::NOW;
use inbound_certs::{
    backend::FileStoreOptions, decode, CertificateStore, ImportPolicy, Registry, SystemKind,
};

const CHILD: &str = "INBOUND_CERTS_MODES_CHILD_DIR";
const SHARED: &str = "INBOUND_CERTS_MODES_SHARED";

/// In the child: every kind of change a registry makes (systems made and removed, a bundle
/// with its intent, single imports, a repair, deletes), so that every kind of file it
/// writes is made at least once.
fn make_changes(dir: &Path, shared: bool) {
    let options = FileStoreOptions::new().create(true).shared_group(shared);
    let registry = Registry::open_with(dir, &options).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    let policy = ImportPolicy::new(NOW).allow_ca(true);
    for system in ["crm", "gone"] {
        let name = system.parse().unwrap();
        registry
            .create_system(&name, SystemKind::Source, NOW)
            .unwrap();
        let store = registry.store(&name).unwrap();
        store.import_all(&bundle[..3], &policy).unwrap();
        store.import(&bundle[3], &policy).unwrap();
        store.delete(&bundle[3].name()).unwrap();
    }
    // A repair: a damaged entry replaced by the right bytes.
    let crm = registry.store(&"crm".parse().unwrap()).unwrap();
    fs::write(
        dir.join("systems/crm")
            .join(format!("{}.der", bundle[4].name())),
        b"damaged",
    )
    .unwrap();
    crm.import(&bundle[4], &policy).unwrap();
    registry
        .remove_system(&"gone".parse().unwrap(), true)
        .unwrap();
    assert_eq!(
        registry.identify(&bundle[0].fingerprint()).unwrap().len(),
        1
    );
}

/// Every entry under `dir`, the directory itself included.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    found.push(dir.to_path_buf());
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            walk(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn every_file_a_registry_writes_has_its_mode_whatever_the_umask() {
    if let Some(dir) = std::env::var_os(CHILD) {
        make_changes(Path::new(&dir), std::env::var_os(SHARED).is_some());
        return;
    }
    for (umask, shared) in [("000", false), ("000", true), ("077", true), ("027", false)] {
        let scratch = Scratch::new("modes");
        let dir = scratch.path().join("registry");
        let mut child = Command::new("sh");
        child
            .arg("-c")
            .arg("umask \"$1\" && exec \"$0\" --exact --nocapture \"$2\"")
            .arg(std::env::current_exe().unwrap())
            .arg(umask)
            .arg("file_modes::every_file_a_registry_writes_has_its_mode_whatever_the_umask")
            .env(CHILD, &dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if shared {
            child.env(SHARED, "1");
        }
        let output = child.output().unwrap();
        assert!(
            output.status.success(),
            "the child failed under umask {umask}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (file_mode, directory_mode) = if shared {
            (0o640, 0o770)
        } else {
            (0o600, 0o700)
        };
        let mut found = Vec::new();
        walk(&dir, &mut found);
        let names: Vec<String> = found
            .iter()
            .map(|path| path.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        for expected in [
            ".changes",
            ".lock",
            "systems/crm/system",
            "systems/crm/.lock",
            "audit/audit.jsonl",
        ] {
            assert!(
                names.iter().any(|name| name == expected),
                "no {expected} in {names:?}"
            );
        }
        let mut wrong = Vec::new();
        for (path, name) in found.iter().zip(&names) {
            let metadata = fs::symlink_metadata(path).unwrap();
            let expected = if metadata.is_dir() {
                directory_mode
            } else {
                file_mode
            };
            if metadata.mode() & 0o7777 != expected {
                wrong.push(format!("{name}: {:o}", metadata.mode() & 0o7777));
            }
        }
        assert!(
            wrong.is_empty(),
            "under umask {umask} (shared group: {shared}), expected {file_mode:o} and \
             {directory_mode:o}: {wrong:?}"
        );
    }
}
