//! Failure and crash injection at every step of a write, through the file operations seam.

use super::*;
use crate::store::CertificateStore;
use std::fs::File;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Real file operations, except that operation number `fail_at` (0-based) fails, and with
/// `crash`, every operation after it too: the process as good as died there.
#[derive(Debug)]
struct FailAt {
    fail_at: usize,
    crash: bool,
    count: AtomicUsize,
}

impl FailAt {
    fn new(fail_at: usize, crash: bool) -> Arc<Self> {
        Arc::new(FailAt {
            fail_at,
            crash,
            count: AtomicUsize::new(0),
        })
    }

    fn step(&self) -> io::Result<()> {
        let count = self.count.fetch_add(1, Ordering::SeqCst);
        if count == self.fail_at || (self.crash && count > self.fail_at) {
            Err(io::Error::other("injected failure"))
        } else {
            Ok(())
        }
    }
}

impl FileOps for FailAt {
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        self.step()?;
        RealFiles.create_new(path, mode)
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        self.step()?;
        RealFiles.write_all(file, bytes)
    }
    fn sync(&self, file: &File) -> io::Result<()> {
        self.step()?;
        RealFiles.sync(file)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step()?;
        RealFiles.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.step()?;
        RealFiles.sync_dir(dir)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        RealFiles.remove(path)
    }
    fn remove_directory(&self, path: &Path) -> io::Result<()> {
        self.step()?;
        RealFiles.remove_directory(path)
    }
    fn write_intent(&self, lock: &mut File, intent: &[u8]) -> io::Result<()> {
        self.step()?;
        RealFiles.write_intent(lock, intent)
    }
    fn clear_intent(&self, lock: &mut File) -> io::Result<()> {
        self.step()?;
        RealFiles.clear_intent(lock)
    }
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-unit-{tag}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The directory's entries, without the lock file (which stays once a writer made it).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".lock")
        .collect();
    names.sort();
    names
}

fn open_with_ops(dir: &Path, ops: Arc<dyn FileOps>) -> FileStore {
    FileStore::open_with_ops(dir, SystemKind::Source, &FileStoreOptions::new(), ops).unwrap()
}

/// A bundle of n new certificates: create, write, sync each (3n), the intent (1), rename
/// each (n), sync the directory (1), clear the intent (1).
fn bundle_steps(n: usize) -> usize {
    3 * n + 1 + n + 1 + 1
}

/// Each step of a bundle import fails in turn: the import reports the error, and the
/// store is left exactly as before, with no partial or temporary file.
#[test]
fn a_failure_at_any_step_of_an_import_leaves_the_store_as_it_was() {
    let kept = crate::decode(&fixture("sample_source.pem")).unwrap();
    let bundle = crate::decode(&fixture("bundle.pem")).unwrap();
    let steps = bundle_steps(bundle.len());
    for fail_at in 0..steps {
        let dir = scratch("fail-import");
        FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .store_all(Admitted {
                certificates: &kept,
                skipped: &[],
                upload_name: None,
            })
            .unwrap();
        let before = files_in(&dir);
        let store = open_with_ops(&dir, FailAt::new(fail_at, false));
        let error = store
            .store_all(Admitted {
                certificates: &bundle,
                skipped: &[],
                upload_name: None,
            })
            .unwrap_err();
        let report = crate::ErrorReport::new(&error).to_string();
        assert!(report.contains("injected failure"), "{report}");
        assert_eq!(files_in(&dir), before, "step {fail_at}");
        let listing = FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .list()
            .unwrap();
        assert_eq!(listing.certificates, kept, "step {fail_at}");
        assert!(listing.damaged.is_empty());
        assert_eq!(fs::read(dir.join(".lock")).unwrap(), b"", "step {fail_at}");
        fs::remove_dir_all(&dir).unwrap();
    }
    // With no failure the same import succeeds: the steps above were all of them.
    let dir = scratch("fail-import-none");
    let store = open_with_ops(&dir, FailAt::new(steps, false));
    assert_eq!(
        store
            .store_all(Admitted {
                certificates: &bundle,
                skipped: &[],
                upload_name: None,
            })
            .unwrap()
            .len(),
        bundle.len()
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// The process "dies" at each step of a bundle import (that step and every later file
/// operation fail, so not even the undo runs): the next open finds the store as it was
/// before, or with the whole bundle, never part of it, and no leftover file.
#[test]
fn a_crash_at_any_step_of_an_import_leaves_the_whole_bundle_or_none() {
    let kept = crate::decode(&fixture("sample_source.pem")).unwrap();
    let bundle = crate::decode(&fixture("bundle.pem")).unwrap();
    let mut with_bundle = kept.clone();
    with_bundle.extend(bundle.iter().cloned());
    with_bundle.sort_by_key(|certificate| certificate.name());
    let mut outcomes = (0, 0);
    for crash_at in 0..bundle_steps(bundle.len()) {
        let dir = scratch("crash-import");
        FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .store_all(Admitted {
                certificates: &kept,
                skipped: &[],
                upload_name: None,
            })
            .unwrap();
        let before = files_in(&dir);
        let store = open_with_ops(&dir, FailAt::new(crash_at, true));
        assert!(store
            .store_all(Admitted {
                certificates: &bundle,
                skipped: &[],
                upload_name: None,
            })
            .is_err());
        drop(store);
        let reopened = FileStore::open(&dir, SystemKind::Source).unwrap();
        let listing = reopened.list().unwrap();
        assert!(listing.damaged.is_empty(), "step {crash_at}");
        if listing.certificates == kept {
            assert_eq!(files_in(&dir), before, "step {crash_at}");
            outcomes.0 += 1;
        } else {
            assert_eq!(listing.certificates, with_bundle, "step {crash_at}");
            outcomes.1 += 1;
        }
        assert!(
            files_in(&dir).iter().all(|name| !name.starts_with('.')),
            "step {crash_at}: {:?}",
            files_in(&dir)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
    // Undone everywhere but where only clearing the intent was left; an intent that was
    // never completely written is never acted on.
    assert!(outcomes.0 > 0, "{outcomes:?}");
}

/// A damaged entry under a certificate's name is repaired by an import; if the import
/// fails at any step, the damaged entry is back as it was (not lost, not replaced).
#[test]
fn a_failed_repair_puts_the_damaged_entry_back() {
    let bundle = crate::decode(&fixture("bundle.pem")).unwrap();
    let damaged_name = bundle[1].name();
    // create, write, sync x5; intent; move aside; rename x5; sync dir; clear intent.
    let steps = bundle_steps(bundle.len()) + 1;
    for fail_at in 0..steps {
        let dir = scratch("fail-repair");
        let path = dir.join(format!("{damaged_name}.der"));
        fs::write(&path, b"damaged").unwrap();
        let store = open_with_ops(&dir, FailAt::new(fail_at, false));
        assert!(
            store
                .store_all(Admitted {
                    certificates: &bundle,
                    skipped: &[],
                    upload_name: None,
                })
                .is_err(),
            "step {fail_at}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"damaged", "step {fail_at}");
        assert_eq!(
            files_in(&dir),
            vec![format!("{damaged_name}.der")],
            "step {fail_at}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
    let dir = scratch("repair");
    let path = dir.join(format!("{damaged_name}.der"));
    fs::write(&path, b"damaged").unwrap();
    let store = FileStore::open(&dir, SystemKind::Source).unwrap();
    store
        .store_all(Admitted {
            certificates: &bundle,
            skipped: &[],
            upload_name: None,
        })
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), bundle[1].der());
    assert_eq!(files_in(&dir).len(), bundle.len());
    fs::remove_dir_all(&dir).unwrap();
}

/// A delete whose unlink or directory fsync fails reports the error; the certificate is
/// then either still there and intact, or gone, never damaged.
#[test]
fn a_failure_during_a_delete_never_damages_the_certificate() {
    let certificates = crate::decode(&fixture("ec_p256.pem")).unwrap();
    let name = certificates[0].name();
    for fail_at in 0..2 {
        let dir = scratch("fail-delete");
        FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .store_all(Admitted {
                certificates: &certificates,
                skipped: &[],
                upload_name: None,
            })
            .unwrap();
        let store = open_with_ops(&dir, FailAt::new(fail_at, false));
        let error = store.delete(&name).unwrap_err();
        assert!(matches!(error, StoreError::Io { .. }), "{error}");
        let listing = FileStore::open(&dir, SystemKind::Source)
            .unwrap()
            .list()
            .unwrap();
        assert!(listing.damaged.is_empty());
        assert!(listing.certificates.len() <= 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// At open, leftovers are removed when no writer holds the lock; while one does, only
/// temporary files old enough to be a dead writer's are.
#[test]
fn leftover_temporary_files_are_removed_on_open() {
    let dir = scratch("stale");
    let stale = dir.join(".tmp-1-2-3-stale");
    let fresh = dir.join(".tmp-1-2-3-fresh");
    fs::write(&stale, b"partial").unwrap();
    fs::write(&fresh, b"partial").unwrap();
    File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let holder = ops::open_lock_file(&dir.join(".lock"), 0o600).unwrap();
    ops::lock(&holder, false).unwrap();
    let store = FileStore::open(&dir, SystemKind::Proxy).unwrap();
    assert!(!stale.exists());
    assert!(fresh.exists());
    assert!(store.list().unwrap().certificates.is_empty());
    drop(holder);
    FileStore::open(&dir, SystemKind::Proxy).unwrap();
    assert!(!fresh.exists());
    assert!(files_in(&dir).is_empty(), "{:?}", files_in(&dir));
    assert!(write::is_protocol_file(&dir.join(".lock")));
    fs::remove_dir_all(&dir).unwrap();
}

/// A look-up of an absent name (what every import checks first) keeps the last listing, so
/// the next `list` of an unchanged directory repeats it instead of rebuilding it; a file
/// the cache held that is gone still drops it.
#[test]
fn a_miss_keeps_the_last_listing() {
    let dir = scratch("miss");
    let store = FileStore::open(&dir, SystemKind::Source).unwrap();
    let bundle = crate::decode(&fixture("bundle.pem")).unwrap();
    store
        .store_all(Admitted {
            certificates: &bundle[..2],
            skipped: &[],
            upload_name: None,
        })
        .unwrap();
    store.list().unwrap();
    store.list().unwrap();
    assert!(store.last_listing.lock().unwrap().is_some());
    assert_eq!(store.get(&bundle[2].name()).unwrap(), None);
    assert!(
        store.last_listing.lock().unwrap().is_some(),
        "a miss dropped the last listing"
    );
    fs::remove_file(store.path_of(&bundle[0].name())).unwrap();
    assert_eq!(store.get(&bundle[0].name()).unwrap(), None);
    assert!(store.last_listing.lock().unwrap().is_none());
    assert_eq!(store.list().unwrap().certificates, vec![bundle[1].clone()]);
    fs::remove_dir_all(&dir).unwrap();
}
