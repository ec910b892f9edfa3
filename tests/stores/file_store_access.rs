//! Who may change what a file store trusts: modes whatever the umask, directories and links
//! that other users could change refused, links and special files inside never followed, and
//! edits in place seen by `get`. Ownership cases need root (CI runs as root): they make
//! entries owned by another user with chown.

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
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use inbound_certs::{
    backend::{FileStore, FileStoreOptions},
    decode,
    store::{EntryDamage, PermissionProblem},
    Certificate, CertificateStore, ImportPolicy, StoreError, SystemKind,
};
use time::macros::datetime;

/// A user id no file here belongs to (Debian's `nobody`).
const OTHER_USER: u32 = 65534;

/// A scratch directory, made with mode 0700.
fn scratch(tag: &str) -> Scratch {
    let scratch = Scratch::new(&format!("access-{tag}"));
    fs::create_dir_all(scratch.path()).unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o700)).unwrap();
    scratch
}

fn sample() -> Certificate {
    decode(&common::read("sample_source.pem"))
        .unwrap()
        .remove(0)
}

fn policy() -> ImportPolicy {
    ImportPolicy::new(datetime!(2026-06-01 0:00 UTC))
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn require_root() {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "this test makes files owned by another user with chown: run it as root (CI does)"
    );
}

fn refusal(dir: &Path, options: &FileStoreOptions) -> (PathBuf, PermissionProblem, String) {
    match FileStore::open_with(dir, SystemKind::Source, options) {
        Err(error @ StoreError::InsecurePermissions { .. }) => {
            let message = error.to_string();
            let StoreError::InsecurePermissions { path, problem } = error else {
                unreachable!()
            };
            (path, problem, message)
        }
        Err(other) => panic!("expected InsecurePermissions, got {other:?}"),
        Ok(_) => panic!("{} was opened", dir.display()),
    }
}

/// `certstore import` under `umask 000` (which used to give 0777 and 0666) makes a store
/// only its owner can read or change.
#[test]
fn a_store_made_under_umask_000_is_private() {
    let scratch = scratch("umask");
    let store = scratch.path().join("new/store");
    let status = Command::new("sh")
        .arg("-c")
        .arg(
            "umask 000 && \"$0\" --store \"$1\" system add crm --kind source >/dev/null && \
             exec \"$0\" --store \"$1\" --system crm import tests/data/sample_source.pem",
        )
        .arg(common::example("certstore"))
        .arg(&store)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(&scratch.path().join("new")), 0o700);
    assert_eq!(mode(&store.join("systems")), 0o700);
    let system = store.join("systems/crm");
    assert_eq!(mode(&system), 0o700);
    assert_eq!(mode(&system.join("system")), 0o600);
    let certificate = system.join(format!("{}.der", sample().name()));
    assert_eq!(mode(&certificate), 0o600);
    assert_eq!(mode(&system.join(".lock")), 0o600);
    assert_eq!(mode(&store.join(".lock")), 0o600);
}

#[test]
fn a_shared_group_store_is_made_for_its_group() {
    let scratch = scratch("shared");
    let dir = scratch.path().join("store");
    let options = FileStoreOptions::new().create(true).shared_group(true);
    let store = FileStore::open_with(&dir, SystemKind::Source, &options).unwrap();
    store.import(&sample(), &policy()).unwrap();
    assert_eq!(mode(&dir), 0o770);
    assert_eq!(mode(&store.path_of(&sample().name())), 0o640);
    // Without the option the same directory is refused: its group may write to it.
    let (path, problem, message) = refusal(&dir, &FileStoreOptions::new());
    assert_eq!(path, dir);
    assert_eq!(problem, PermissionProblem::WritableByGroup { mode: 0o770 });
    assert_eq!(
        message,
        format!(
            "refusing to use {} for a certificate store: its group may write to it (mode 770); \
             make it writable by its owner only (chmod g-w), or open the store with a shared \
             group (FileStoreOptions::shared_group) if every member of the group may change \
             which clients are trusted",
            dir.display()
        )
    );
}

/// Directories every user (or the group) may write to are refused: the store's own, and a
/// parent unless it is sticky (as /tmp is).
#[test]
fn directories_others_may_write_to_are_refused() {
    let scratch = scratch("writable");
    let parent = scratch.path().join("parent");
    let dir = parent.join("store");
    FileStore::create(&dir, SystemKind::Source).unwrap();

    chmod(&dir, 0o777);
    let (path, problem, message) = refusal(&dir, &FileStoreOptions::new().shared_group(true));
    assert_eq!(path, dir);
    assert_eq!(problem, PermissionProblem::WritableByOthers { mode: 0o777 });
    assert_eq!(
        message,
        format!(
            "refusing to use {} for a certificate store: every user may write to it (mode 777); \
             make it writable by its owner only (chmod go-w)",
            dir.display()
        )
    );
    // Sticky only protects the entries of a parent, not the store's own files.
    chmod(&dir, 0o1777);
    assert_eq!(
        refusal(&dir, &FileStoreOptions::new()).1,
        PermissionProblem::WritableByOthers { mode: 0o1777 }
    );
    chmod(&dir, 0o700);

    chmod(&parent, 0o777);
    let (path, problem, _) = refusal(&dir, &FileStoreOptions::new());
    assert_eq!(path, parent);
    assert_eq!(problem, PermissionProblem::WritableByOthers { mode: 0o777 });
    chmod(&parent, 0o1777);
    FileStore::open(&dir, SystemKind::Source).unwrap();
    chmod(&parent, 0o770);
    assert_eq!(
        refusal(&dir, &FileStoreOptions::new()).1,
        PermissionProblem::WritableByGroup { mode: 0o770 }
    );
    FileStore::open_with(
        &dir,
        SystemKind::Source,
        &FileStoreOptions::new().shared_group(true),
    )
    .unwrap();
    chmod(&parent, 0o755);
    FileStore::open(&dir, SystemKind::Source).unwrap();
}

/// A directory of another user, and a link of another user leading to one of ours, are
/// refused: that user could change what the store trusts, or where the store is.
#[test]
fn directories_and_links_of_other_users_are_refused() {
    require_root();
    let scratch = scratch("owners");
    let dir = scratch.path().join("store");
    let store = FileStore::create(&dir, SystemKind::Source).unwrap();
    store.import(&sample(), &policy()).unwrap();

    std::os::unix::fs::chown(&dir, Some(OTHER_USER), None).unwrap();
    let (path, problem, message) = refusal(&dir, &FileStoreOptions::new());
    assert_eq!(path, dir);
    assert_eq!(
        problem,
        PermissionProblem::OwnedByOtherUser {
            owner: OTHER_USER,
            user: 0
        }
    );
    assert_eq!(
        message,
        format!(
            "refusing to use {} for a certificate store: it belongs to user 65534, not to this \
             process's user (0) or root; give it to the service's user (chown) or choose \
             another directory",
            dir.display()
        )
    );
    // A shared group trusts a member's directory when its group is one of ours.
    chmod(&dir, 0o770);
    let our_group = rustix::process::getegid().as_raw();
    std::os::unix::fs::chown(&dir, Some(OTHER_USER), Some(our_group)).unwrap();
    FileStore::open_with(
        &dir,
        SystemKind::Source,
        &FileStoreOptions::new().shared_group(true),
    )
    .unwrap();
    std::os::unix::fs::chown(&dir, Some(0), Some(0)).unwrap();
    chmod(&dir, 0o700);

    // Another user's link to our own store: that user chose where it points.
    let link = scratch.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    FileStore::open(&link, SystemKind::Source).unwrap();
    std::os::unix::fs::lchown(&link, Some(OTHER_USER), None).unwrap();
    let (path, problem, message) = refusal(&link, &FileStoreOptions::new());
    assert_eq!(path, link);
    assert_eq!(
        problem,
        PermissionProblem::LinkOwnedByOtherUser {
            owner: OTHER_USER,
            user: 0
        }
    );
    assert!(message.contains("it is a symbolic link that belongs to user 65534"));

    // A parent of another user.
    let theirs = scratch.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    FileStore::create(theirs.join("store"), SystemKind::Source).unwrap();
    std::os::unix::fs::chown(&theirs, Some(OTHER_USER), None).unwrap();
    let (path, problem, _) = refusal(&theirs.join("store"), &FileStoreOptions::new());
    assert_eq!(path, theirs);
    assert!(matches!(
        problem,
        PermissionProblem::OwnedByOtherUser {
            owner: OTHER_USER,
            ..
        }
    ));
}

/// Runs `work` on another thread and fails if it has not finished within a minute (a read
/// that blocks forever would otherwise hang the test run).
fn without_hanging<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the store blocked on an entry")
}

/// Links under certificate names are never followed, whatever they point at (the right
/// certificate, a FIFO that would block a reader, a secret file, nothing): each is reported,
/// with no hash of what it points at, and never hides the healthy certificates.
#[test]
fn links_inside_a_store_are_reported_and_never_followed() {
    let scratch = scratch("links");
    let dir = scratch.path().join("store");
    let store = FileStore::create(&dir, SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import(&bundle[0], &policy()).unwrap();

    let outside = scratch.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // The right certificate, outside the store.
    fs::write(outside.join("right.der"), bundle[1].der()).unwrap();
    std::os::unix::fs::symlink(outside.join("right.der"), store.path_of(&bundle[1].name()))
        .unwrap();
    // A FIFO nobody writes to: opening it for reading blocks without O_NONBLOCK.
    assert!(Command::new("mkfifo")
        .arg(outside.join("fifo"))
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink(outside.join("fifo"), store.path_of(&bundle[2].name())).unwrap();
    // A secret file.
    std::os::unix::fs::symlink("/etc/shadow", store.path_of(&bundle[3].name())).unwrap();
    // Nothing.
    std::os::unix::fs::symlink(outside.join("missing"), store.path_of(&bundle[4].name())).unwrap();

    let (listing, gets) = without_hanging({
        let dir = dir.clone();
        let names: Vec<_> = bundle.iter().map(Certificate::name).collect();
        move || {
            let store = FileStore::open(&dir, SystemKind::Source).unwrap();
            let listing = store.list().unwrap();
            let gets: Vec<_> = names.iter().map(|name| store.get(name)).collect();
            (listing, gets)
        }
    });
    assert_eq!(listing.certificates, vec![bundle[0].clone()]);
    assert_eq!(listing.damaged.len(), 4);
    for damaged in &listing.damaged {
        assert_eq!(damaged.problem, EntryDamage::SymbolicLink);
        assert_eq!(
            damaged.to_string(),
            format!(
                "{}: is a symbolic link, which a certificate store never follows; remove it and \
                 put the certificate (or the system's directory) itself there",
                damaged.location.display()
            )
        );
    }
    assert_eq!(gets[0].as_ref().unwrap().as_ref(), Some(&bundle[0]));
    for get in &gets[1..] {
        assert!(
            matches!(get, Err(StoreError::Damaged(damaged)) if damaged.problem == EntryDamage::SymbolicLink),
            "{get:?}"
        );
    }
    // An import repairs the entry: the certificate itself replaces the link.
    store.import(&bundle[1], &policy()).unwrap();
    assert!(!fs::symlink_metadata(store.path_of(&bundle[1].name()))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read(outside.join("right.der")).unwrap(),
        bundle[1].der()
    );
    assert_eq!(store.list().unwrap().certificates.len(), 2);
}

/// A certificate file another user could write to (here or through another link to it) is
/// reported, not trusted.
#[test]
fn certificate_files_others_may_write_are_reported() {
    let scratch = scratch("file-modes");
    let store = FileStore::create(scratch.path().join("store"), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import_all(&bundle[..2], &policy()).unwrap();
    chmod(&store.path_of(&bundle[1].name()), 0o666);
    let listing = FileStore::open(store.dir(), SystemKind::Source)
        .unwrap()
        .list()
        .unwrap();
    assert_eq!(listing.certificates, vec![bundle[0].clone()]);
    assert_eq!(listing.damaged.len(), 1);
    assert_eq!(
        listing.damaged[0].problem,
        EntryDamage::Insecure(PermissionProblem::WritableByOthers { mode: 0o666 })
    );
    // The same warm store notices the change of mode at its next get (the change time moved).
    assert!(matches!(
        store.get(&bundle[1].name()),
        Err(StoreError::Damaged(_))
    ));
}

/// A warm store (whose listing repeats the last one while nothing changed) reports a file
/// made writable by others at its next listing, before any `get` looked at it: the
/// console's overview, a system's page and the API list count it as damaged, not valid.
#[test]
fn a_file_made_writable_by_others_is_reported_by_the_next_warm_listing() {
    let scratch = scratch("warm-mode");
    let store = FileStore::create(scratch.path().join("store"), SystemKind::Source).unwrap();
    let bundle = decode(&common::read("bundle.pem")).unwrap();
    store.import_all(&bundle[..2], &policy()).unwrap();
    assert_eq!(store.list().unwrap().certificates.len(), 2);
    assert_eq!(store.list().unwrap().certificates.len(), 2);
    chmod(&store.path_of(&bundle[1].name()), 0o666);
    let listing = store.list().unwrap();
    assert_eq!(listing.certificates, vec![bundle[0].clone()]);
    assert_eq!(listing.damaged.len(), 1);
    assert_eq!(
        listing.damaged[0].location,
        store.path_of(&bundle[1].name())
    );
    assert_eq!(
        listing.damaged[0].problem,
        EntryDamage::Insecure(PermissionProblem::WritableByOthers { mode: 0o666 })
    );
    // Put right, it is listed again.
    chmod(&store.path_of(&bundle[1].name()), 0o600);
    assert_eq!(store.list().unwrap().certificates.len(), 2);
}

/// A stored file zeroed in place, with its length and modification time put back, is seen
/// by the next `get` of a process that had it cached (the call a TLS handshake makes).
#[test]
fn a_file_edited_in_place_is_seen_by_the_next_get() {
    let scratch = scratch("in-place");
    let store = FileStore::create(scratch.path().join("store"), SystemKind::Source).unwrap();
    let certificate = sample();
    store.import(&certificate, &policy()).unwrap();
    assert_eq!(
        store.get(&certificate.name()).unwrap(),
        Some(certificate.clone())
    );

    let path = store.path_of(&certificate.name());
    let modified = fs::metadata(&path).unwrap().modified().unwrap();
    // Let the clock move on, so that the change time differs whatever its resolution.
    std::thread::sleep(Duration::from_millis(20));
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &vec![0u8; certificate.der().len()], 0)
        .unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        certificate.der().len() as u64
    );
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), modified);

    match store.get(&certificate.name()) {
        Err(StoreError::Damaged(damaged)) => assert!(
            matches!(damaged.problem, EntryDamage::FingerprintMismatch { .. }),
            "{damaged}"
        ),
        other => panic!("the edit was not seen: {other:?}"),
    }
}
