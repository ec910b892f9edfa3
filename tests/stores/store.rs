//! The stores through the public API: the conformance suite for both backends, then what only
//! the file store has (files on disk, damaged files, directory errors).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use common::Scratch;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::fs;
use std::path::{Path, PathBuf};

use inbound_certs::conformance::{self, NOW};
use inbound_certs::{
    backend::{FileStore, MemoryStore},
    decode,
    store::{EntryDamage, ImportRefusal, RefusalReason, SkipReason, StoreBackend},
    CertificateName, CertificateStore, ErrorReport, ImportOutcome, ImportPolicy, StoreError,
    SystemKind,
};
use std::sync::Arc;

/// Through the trait objects a service holds: the suite's functions on
/// `&dyn CertificateStore`, and the whole suite on `Arc<dyn StoreBackend>`.
#[test]
fn stores_conform_through_trait_objects() {
    let make =
        || -> Arc<dyn StoreBackend> { Arc::new(MemoryStore::new(SystemKind::Source).unwrap()) };
    conformance::run_all(make);
    let scratch = Scratch::new("conform-dyn");
    let count = AtomicUsize::new(0);
    conformance::run_all(|| -> Arc<dyn StoreBackend> {
        let dir = scratch
            .path()
            .join(count.fetch_add(1, Ordering::SeqCst).to_string());
        Arc::new(FileStore::create(dir, SystemKind::Source).unwrap())
    });
    let store: Arc<dyn CertificateStore> = Arc::new(MemoryStore::new(SystemKind::Proxy).unwrap());
    conformance::import_get_list_delete(&*store);
    conformance::validity_chores(
        &*Arc::new(MemoryStore::new(SystemKind::Proxy).unwrap()) as &dyn CertificateStore
    );
}

#[test]
fn memory_store_conforms() {
    conformance::run_all(|| MemoryStore::new(SystemKind::Source).unwrap());
}

#[test]
fn file_store_conforms() {
    let scratches = std::cell::RefCell::new(Vec::new());
    conformance::run_all(|| {
        let scratch = Scratch::new("conformance");
        let store = FileStore::create(scratch.path(), SystemKind::Proxy).unwrap();
        scratches.borrow_mut().push(scratch);
        store
    });
}

#[test]
fn stores_for_target_systems_cannot_be_created() {
    let expected = "inbound certificates are supported for source and proxy systems only, not for a target system";
    let error = MemoryStore::new(SystemKind::Target).unwrap_err();
    assert!(matches!(error, StoreError::NotInbound(SystemKind::Target)));
    assert_eq!(error.to_string(), expected);
    let scratch = Scratch::new("target");
    let error = FileStore::create(scratch.path(), SystemKind::Target).unwrap_err();
    assert_eq!(error.to_string(), expected);
    assert!(
        !scratch.path().exists(),
        "nothing is created for a target system"
    );
}

/// bundle.pem, which these tests import, holds an intermediate CA: the CA policy itself is
/// tested by the conformance suite.
fn policy() -> ImportPolicy {
    ImportPolicy::new(NOW).allow_ca(true)
}

fn sample() -> inbound_certs::Certificate {
    decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0)
}

#[test]
fn file_store_keeps_exactly_the_der_under_the_name() {
    let scratch = Scratch::new("layout");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let certificate = sample();
    store.import(&certificate, &policy()).unwrap();
    // Beside the certificates, only the writers' lock file.
    let files: Vec<String> = fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != ".lock")
        .collect();
    assert_eq!(files, vec![format!("{}.der", certificate.name())]);
    assert_eq!(
        fs::read(store.path_of(&certificate.name())).unwrap(),
        certificate.der()
    );

    // A second process (a second store on the same directory) sees it.
    let other = FileStore::open(scratch.path(), SystemKind::Source).unwrap();
    assert_eq!(
        other.get(&certificate.name()).unwrap(),
        Some(certificate.clone())
    );
    // A delete through one is seen by the other's next get, cache or not.
    store.delete(&certificate.name()).unwrap();
    assert_eq!(other.get(&certificate.name()).unwrap(), None);
}

#[test]
fn damaged_and_foreign_files_are_reported_and_never_hide_the_healthy_ones() {
    let scratch = Scratch::new("damaged");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import_all(&bundle, &policy()).unwrap();
    let truncated = bundle[0].name();
    let truncated_path = store.path_of(&truncated);
    let der = fs::read(&truncated_path).unwrap();
    // Replaced as editors and copy tools do: a new file renamed over the old one.
    let replacement = scratch.path().join("replacement");
    fs::write(&replacement, &der[..der.len() / 2]).unwrap();
    fs::rename(&replacement, &truncated_path).unwrap();
    // A foreign file: a valid certificate under someone else's name.
    let foreign_name: CertificateName = format!("cert_client_{}", "ab".repeat(32)).parse().unwrap();
    let foreign_path = store.path_of(&foreign_name);
    fs::write(&foreign_path, common::read("ec_p256.der")).unwrap();
    // Garbage whose hash matches its name: right name, not a certificate.
    let garbage = b"not a certificate".to_vec();
    let garbage_name = CertificateName::from(inbound_certs::Fingerprint::of_der(&garbage));
    fs::write(store.path_of(&garbage_name), &garbage).unwrap();
    // Files that are not the store's are left alone and not reported.
    fs::write(scratch.path().join("README.txt"), b"hello").unwrap();
    fs::write(scratch.path().join("cert_client_short.der"), b"x").unwrap();

    let fresh = FileStore::open(scratch.path(), SystemKind::Source).unwrap();
    for store in [&store, &fresh] {
        let listing = store.list().unwrap();
        let healthy: Vec<_> = bundle[1..].iter().map(|c| c.name()).collect();
        let mut healthy_sorted = healthy.clone();
        healthy_sorted.sort();
        assert_eq!(
            listing
                .certificates
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>(),
            healthy_sorted
        );
        assert_eq!(listing.damaged.len(), 3, "{:?}", listing.damaged);
        let problem_of = |path: &Path| {
            listing
                .damaged
                .iter()
                .find(|d| d.location == path)
                .map(|d| d.problem.clone())
                .unwrap_or_else(|| panic!("{} not reported", path.display()))
        };
        assert!(matches!(
            problem_of(&truncated_path),
            EntryDamage::FingerprintMismatch { .. }
        ));
        assert!(matches!(
            problem_of(&foreign_path),
            EntryDamage::FingerprintMismatch { .. }
        ));
        assert!(matches!(
            problem_of(&store.path_of(&garbage_name)),
            EntryDamage::NotACertificate(_)
        ));
        let message = listing.damaged[0].to_string();
        assert!(
            message.starts_with(&scratch.path().display().to_string()),
            "{message}"
        );
    }
    // An edit in place (same inode) is seen by get at once, and by the next listing of a
    // fresh process; see FileStore's docs.
    let edited = bundle[1].name();
    fs::write(store.path_of(&edited), b"edited in place").unwrap();
    assert!(matches!(store.get(&edited), Err(StoreError::Damaged(_))));
    let listing = FileStore::open(scratch.path(), SystemKind::Source)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(listing.damaged.len(), 4);
    assert!(!listing.certificates.iter().any(|c| c.name() == edited));
    fs::write(store.path_of(&edited), bundle[1].der()).unwrap();

    // get reports the damage with the path; nothing was deleted.
    let error = fresh.get(&truncated).unwrap_err();
    assert!(matches!(error, StoreError::Damaged(_)));
    assert!(
        error
            .to_string()
            .contains(&truncated_path.display().to_string()),
        "{error}"
    );
    assert!(truncated_path.exists() && foreign_path.exists());
    assert!(scratch.path().join("README.txt").exists());

    // Importing the certificate again repairs its file.
    assert_eq!(
        fresh.import(&bundle[0], &policy()).unwrap(),
        ImportOutcome::Added(truncated)
    );
    assert_eq!(fresh.get(&truncated).unwrap().as_ref(), Some(&bundle[0]));
}

#[test]
fn missing_directories_are_clear_errors() {
    let scratch = Scratch::new("missing");
    let missing = scratch.path().join("nope");
    let error = FileStore::open(&missing, SystemKind::Source).unwrap_err();
    assert!(matches!(error, StoreError::NoDirectory(_)));
    assert_eq!(
        error.to_string(),
        format!(
            "certificate store directory {} does not exist or is not a directory",
            missing.display()
        )
    );
    // A store whose directory disappears reports it on list.
    let store = FileStore::create(scratch.path().join("gone"), SystemKind::Source).unwrap();
    fs::remove_dir_all(scratch.path().join("gone")).unwrap();
    assert!(matches!(
        store.list().unwrap_err(),
        StoreError::NoDirectory(_)
    ));
}

#[cfg(unix)]
fn running_as_root() -> bool {
    // Root ignores permission bits, so a read-only directory is writable to it.
    let probe =
        std::env::temp_dir().join(format!("inbound-certs-root-probe-{}", std::process::id()));
    fs::create_dir_all(&probe).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o500)).unwrap();
    let writable = fs::write(probe.join("x"), b"x").is_ok();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o700)).unwrap();
    fs::remove_dir_all(&probe).unwrap();
    writable
}

/// A read-only file system is simulated with a read-only directory where permissions are
/// enforced, and with a read-only bind mount where we run as root (CI does).
#[cfg(unix)]
#[test]
fn a_read_only_store_refuses_writes_and_loses_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("readonly");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let kept = sample();
    store.import(&kept, &policy()).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();

    let (readonly_dir, cleanup): (PathBuf, Box<dyn Fn()>) = if running_as_root() {
        let mount = Scratch::new("readonly-mount");
        fs::create_dir_all(mount.path()).unwrap();
        let status = std::process::Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(scratch.path())
            .arg(mount.path())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            // Without mount permission the read-only case cannot be made; say so loudly.
            panic!("cannot make a read-only mount to test with (need root or CAP_SYS_ADMIN)");
        }
        let path = mount.path().to_path_buf();
        std::mem::forget(mount);
        let unmount = path.clone();
        (
            path,
            Box::new(move || {
                let _ = std::process::Command::new("umount").arg(&unmount).status();
                let _ = fs::remove_dir(&unmount);
            }),
        )
    } else {
        fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let path = scratch.path().to_path_buf();
        (
            path.clone(),
            Box::new(move || {
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o700));
            }),
        )
    };
    let readonly = FileStore::open(&readonly_dir, SystemKind::Source).unwrap();
    let error = readonly.import_all(&bundle, &policy()).unwrap_err();
    let delete_error = readonly.delete(&kept.name()).unwrap_err();
    let listing = readonly.list().unwrap();
    cleanup();

    assert!(
        matches!(
            error,
            StoreError::Io {
                operation: "write",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot write {}", readonly_dir.display())),
        "{message}"
    );
    assert!(
        matches!(
            delete_error,
            StoreError::Io {
                operation: "delete",
                ..
            }
        ),
        "{delete_error:?}"
    );
    assert_eq!(listing.certificates, vec![kept.clone()]);
    assert_eq!(store.list().unwrap().certificates, vec![kept]);
}

#[test]
fn names_from_callers_are_validated_before_storage() {
    for bad in [
        "../../etc/passwd",
        "cert_client_../../../etc/passwd",
        &format!("cert_client_{}/../x", "a".repeat(60)),
        &format!("cert_client_{}", "g".repeat(64)),
        &format!("cert_client_{}.der", "a".repeat(64)),
    ] {
        assert!(bad.parse::<CertificateName>().is_err(), "{bad}");
    }
}

#[test]
fn a_warm_listing_does_not_reparse_files() {
    let scratch = Scratch::new("warm");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import_all(&bundle, &policy()).unwrap();
    let reader = FileStore::open(scratch.path(), SystemKind::Source).unwrap();
    let cold = reader.list().unwrap();
    let warm = reader.list().unwrap();
    assert_eq!(cold.certificates, warm.certificates);
    // Certificates from the cache share their bytes with the cold listing (no new parse).
    for (a, b) in cold.certificates.iter().zip(&warm.certificates) {
        assert!(std::ptr::eq(a.der().as_ptr(), b.der().as_ptr()));
    }
    for certificate in &bundle {
        let got = reader.get(&certificate.name()).unwrap().unwrap();
        let listed = warm
            .certificates
            .iter()
            .find(|c| c.name() == certificate.name())
            .unwrap();
        assert!(
            std::ptr::eq(got.der().as_ptr(), listed.der().as_ptr()),
            "get reuses the cache"
        );
    }
}

/// A listing of an unchanged directory repeats the last one; every kind of change since must
/// still show: files deleted, added or replaced by another process, a foreign file, and a file
/// edited in place once `get` has noticed it.
#[test]
fn repeated_listings_see_every_change() {
    let scratch = Scratch::new("repeat");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let other = FileStore::open(scratch.path(), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import_all(&bundle, &policy()).unwrap();
    let names = |listing: &inbound_certs::store::CertificateListing| -> Vec<_> {
        listing.certificates.iter().map(|c| c.name()).collect()
    };
    let first = store.list().unwrap();
    let repeated = store.list().unwrap();
    assert_eq!(names(&first), names(&repeated));
    assert_eq!(first.certificates.len(), bundle.len());

    other.delete(&bundle[0].name()).unwrap();
    assert_eq!(store.list().unwrap().certificates.len(), bundle.len() - 1);
    store.list().unwrap();
    other.import(&bundle[0], &policy()).unwrap();
    assert_eq!(names(&store.list().unwrap()), names(&first));
    store.list().unwrap();

    // Replaced under its name by another file (a new inode) with other content.
    let path = store.path_of(&bundle[1].name());
    let replacement = scratch.path().join("replacement");
    fs::write(&replacement, bundle[2].der()).unwrap();
    fs::rename(&replacement, &path).unwrap();
    let listing = store.list().unwrap();
    assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
    assert_eq!(listing.damaged[0].location, path);
    fs::remove_file(&path).unwrap();
    store.import(&bundle[1], &policy()).unwrap();
    store.list().unwrap();

    // A foreign file with a certificate file's name length changes nothing listed.
    fs::write(
        scratch.path().join(format!("{}x.der", "a".repeat(75))),
        b"x",
    )
    .unwrap();
    assert_eq!(names(&store.list().unwrap()), names(&first));
    assert_eq!(names(&store.list().unwrap()), names(&first));

    // Edited in place (same inode): `get` notices, and so does the next listing.
    let path = store.path_of(&bundle[3].name());
    let mut content = fs::read(&path).unwrap();
    let last = content.len() - 1;
    content[last] ^= 0xff;
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &content).unwrap();
    drop(file);
    assert!(matches!(
        store.get(&bundle[3].name()),
        Err(StoreError::Damaged(_))
    ));
    let listing = store.list().unwrap();
    assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
    assert_eq!(listing.certificates.len(), bundle.len() - 1);
}

/// A full disk: a small tmpfs (mounting needs root, which CI has; elsewhere the test says it
/// was skipped) filled up, then an import: a clear error with the path, nothing lost, no
/// temporary file left.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    use std::io::Write;
    if !running_as_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let scratch = Scratch::new("full");
    fs::create_dir_all(scratch.path()).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(scratch.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(mounted, "cannot mount a tmpfs to test a full disk with");
    let result = std::panic::catch_unwind(|| {
        let dir = scratch.path().join("store");
        let store = FileStore::create(&dir, SystemKind::Source).unwrap();
        let kept = sample();
        store.import(&kept, &policy()).unwrap();
        let mut filler = fs::File::create(scratch.path().join("filler")).unwrap();
        while filler.write_all(&[0u8; 4096]).is_ok() {}
        let _ = filler.sync_all();
        let bundle = decode(&common::read("bundle.pem")).unwrap();
        let error = store.import_all(&bundle, &policy()).unwrap_err();
        let StoreError::Io {
            operation,
            path,
            source,
        } = &error
        else {
            panic!("expected an I/O error, got {error:?}");
        };
        assert_eq!(*operation, "write");
        assert!(path.starts_with(&dir));
        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{source}");
        let report = ErrorReport::new(&error).to_string();
        assert!(report.contains("No space left on device"), "{report}");
        let listing = FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .list()
            .unwrap();
        assert_eq!(listing.certificates, vec![kept]);
        assert!(listing.damaged.is_empty());
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|name| name != ".lock")
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    });
    let _ = std::process::Command::new("umount")
        .arg(scratch.path())
        .status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A FIFO or a directory under a certificate's name is reported, and neither blocks nor
/// fails the listing.
#[cfg(unix)]
#[test]
fn special_files_under_certificate_names_are_reported_without_blocking() {
    let scratch = Scratch::new("special");
    let store = FileStore::create(scratch.path(), SystemKind::Source).unwrap();
    let kept = sample();
    store.import(&kept, &policy()).unwrap();
    let fifo: CertificateName = format!("cert_client_{}", "cd".repeat(32)).parse().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(store.path_of(&fifo))
        .status()
        .unwrap();
    assert!(made.success());
    let directory: CertificateName = format!("cert_client_{}", "ef".repeat(32)).parse().unwrap();
    fs::create_dir(store.path_of(&directory)).unwrap();

    let listing = FileStore::open(scratch.path(), SystemKind::Source)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(listing.certificates, vec![kept]);
    assert_eq!(listing.damaged.len(), 2);
    for damaged in &listing.damaged {
        assert_eq!(
            damaged.problem,
            EntryDamage::Unreadable("not a regular file".into())
        );
    }
    assert!(matches!(store.get(&fifo), Err(StoreError::Damaged(_))));
}

/// Damaged entries can be deleted whatever they are: a FIFO, a link to a directory (the link
/// goes, what it leads to stays) and an empty directory are removed; a directory holding
/// entries is refused with an error that says what to do, and nothing inside it is touched.
#[cfg(unix)]
#[test]
fn damaged_entries_of_every_kind_can_be_deleted() {
    let scratch = Scratch::new("delete-damaged");
    let dir = scratch.path().join("store");
    let store = FileStore::create(&dir, SystemKind::Source).unwrap();
    let kept = sample();
    store.import(&kept, &policy()).unwrap();
    let entry = |byte: &str| -> CertificateName {
        format!("cert_client_{}", byte.repeat(32)).parse().unwrap()
    };
    let (fifo, link, empty, full) = (entry("a1"), entry("b2"), entry("c3"), entry("d4"));
    assert!(std::process::Command::new("mkfifo")
        .arg(store.path_of(&fifo))
        .status()
        .unwrap()
        .success());
    let elsewhere = scratch.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("precious"), b"keep me").unwrap();
    std::os::unix::fs::symlink(&elsewhere, store.path_of(&link)).unwrap();
    fs::create_dir(store.path_of(&empty)).unwrap();
    fs::create_dir(store.path_of(&full)).unwrap();
    fs::write(store.path_of(&full).join("inside"), b"keep me too").unwrap();
    assert_eq!(store.list().unwrap().damaged.len(), 4);

    for name in [&fifo, &link, &empty] {
        store.delete(name).unwrap();
        assert!(fs::symlink_metadata(store.path_of(name)).is_err(), "{name}");
    }
    assert_eq!(fs::read(elsewhere.join("precious")).unwrap(), b"keep me");
    let error = store.delete(&full).unwrap_err();
    assert!(
        matches!(&error, StoreError::DirectoryNotEmpty(path) if *path == store.path_of(&full)),
        "{error:?}"
    );
    assert_eq!(error.code(), "directory_not_empty");
    assert_eq!(
        error.to_string(),
        format!(
            "cannot delete {}: it is a directory holding other entries, not a certificate file; \
             a store never deletes inside a directory: look at what it holds, empty it, then \
             delete it again",
            store.path_of(&full).display()
        )
    );
    assert_eq!(
        fs::read(store.path_of(&full).join("inside")).unwrap(),
        b"keep me too"
    );
    let listing = store.list().unwrap();
    assert_eq!(listing.certificates, vec![kept]);
    assert_eq!(listing.damaged.len(), 1);
    // Emptied by hand, it goes.
    fs::remove_file(store.path_of(&full).join("inside")).unwrap();
    store.delete(&full).unwrap();
    assert!(store.list().unwrap().damaged.is_empty());
}

/// A self-signed cA=TRUE certificate made by a client (no keyUsage, no pathLen) is the
/// client's own when uploaded alone, and the CA of the chain when it issued another
/// certificate of the same upload (issue 21).
#[test]
fn a_self_signed_certificate_that_issued_another_of_the_upload_is_skipped() {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "home-made.example");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let own = params.self_signed(&key).unwrap();
    let issuer = rcgen::Issuer::from_params(&params, &key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "issued.example");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let own = inbound_certs::Certificate::from_der(own.der()).unwrap();
    let leaf = inbound_certs::Certificate::from_der(leaf.der()).unwrap();
    assert!(own.summary().is_ca && own.is_self_signed());
    assert_eq!(own.summary().key_usage, None);
    assert!(!leaf.is_self_signed());

    let store = MemoryStore::new(SystemKind::Source).unwrap();
    let policy = ImportPolicy::new(NOW);
    assert_eq!(
        store
            .import_all(&[leaf.clone(), own.clone()], &policy)
            .unwrap(),
        vec![
            ImportOutcome::Added(leaf.name()),
            ImportOutcome::Skipped(own.name(), SkipReason::ChainCa)
        ]
    );
    assert_eq!(
        store.import(&own, &policy).unwrap(),
        ImportOutcome::Added(own.name())
    );
    // With a pathLenConstraint it is a CA's, even alone.
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let constrained =
        inbound_certs::Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap();
    assert_eq!(constrained.summary().path_len_constraint, Some(0));
    match store.import(&constrained, &policy) {
        Err(StoreError::Refused(ImportRefusal {
            position: 1,
            reason: RefusalReason::CaCertificate,
            ..
        })) => {}
        other => panic!("expected CaCertificate, got {other:?}"),
    }
    // With keyCertSign and no clientAuth too.
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let signer =
        inbound_certs::Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap();
    assert!(signer.summary().key_usage.unwrap().key_cert_sign());
    assert!(store.import(&signer, &policy).is_err());
    // ... unless it also says clientAuth.
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client =
        inbound_certs::Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap();
    assert_eq!(
        store.import(&client, &policy).unwrap(),
        ImportOutcome::Added(client.name())
    );
}

/// Issue 23, renewals: an import of the same client's certificate (the same key, or the
/// same subject and issuer) with a later end is reported as a renewal of the stored one;
/// an older one, or the same client in another system, is not.
#[test]
fn an_import_that_renews_a_stored_certificate_says_which() {
    let old = decode(&common::read("expired.pem")).unwrap().remove(0);
    let new = decode(&common::read("not_yet_valid.pem"))
        .unwrap()
        .remove(0);
    let policy = ImportPolicy::new(NOW).allow_expired(true);
    // The same key, other subjects.
    let store = MemoryStore::new(SystemKind::Source).unwrap();
    assert_eq!(
        store.import(&old, &policy).unwrap(),
        ImportOutcome::Added(old.name())
    );
    assert_eq!(
        store.import(&new, &policy).unwrap(),
        ImportOutcome::Renewed {
            name: new.name(),
            renews: old.name(),
            renews_not_after: old.summary().validity.not_after,
        }
    );
    // In the other order, the older one renews nothing.
    let store = MemoryStore::new(SystemKind::Source).unwrap();
    store.import(&new, &policy).unwrap();
    assert_eq!(
        store.import(&old, &policy).unwrap(),
        ImportOutcome::Added(old.name())
    );
    // The same subject and issuer, another key: rcgen, a year and then two.
    let issue = |years: i32| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "partner.example");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026 + years, 1, 1);
        inbound_certs::Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
    };
    let (first, second) = (issue(1), issue(2));
    let store = MemoryStore::new(SystemKind::Source).unwrap();
    store.import(&first, &policy).unwrap();
    assert!(matches!(
        store.import(&second, &policy).unwrap(),
        ImportOutcome::Renewed { renews, .. } if renews == first.name()
    ));
    // Another system holds the old one: no renewal there.
    let other = MemoryStore::new(SystemKind::Source).unwrap();
    assert_eq!(
        other.import(&second, &policy).unwrap(),
        ImportOutcome::Added(second.name())
    );
}
