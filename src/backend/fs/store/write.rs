//! How a [`FileStore`] changes its directory.
//!
//! Writers of one directory take turns on an advisory lock on `DIR/.lock` (in any process;
//! readers never take it), so that what a writer finds absent stays absent until it is done,
//! and an undo removes only what that writer created. Under the lock:
//! 1. each certificate is written to a temporary file (`.tmp-…`), which is fsynced;
//! 2. for a bundle (or a repair), the *intent* — every name it adds or repairs, with its
//!    temporary file — is written into the lock file and fsynced;
//! 3. a damaged entry being repaired is renamed aside (`.displaced-<name>.der`), each
//!    temporary file is renamed into place, and the directory is fsynced;
//! 4. the intent is emptied and fsynced: this is the moment the bundle is stored; then the
//!    displaced entries are removed.
//!
//! A failure at any step undoes the steps before it. A writer that dies between 2 and 4
//! leaves its intent in the lock file; the next writer to take the lock (or the next
//! [`FileStore::open`]) undoes it first: it removes the names the bundle added, puts displaced
//! entries back and removes its temporary files. An intent that was not completely written
//! was never acted on (step 3 waits for its fsync) and is simply emptied.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::cache::{Cached, Identity};
use super::{access, ops, FileStore, EXTENSION};
use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::store::{ImportOutcome, StoreBackend, StoreError};

const LOCK_FILE: &str = ".lock";
const TEMPORARY_PREFIX: &str = ".tmp-";
const DISPLACED_PREFIX: &str = ".displaced-";
/// Temporary files older than this were left by a process that died mid-write; younger ones
/// are left alone when another writer holds the lock at open.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);
const INTENT_HEADER: &str = "inbound-certs intent 1\n";

/// The store's write lock, held until dropped (closing the file releases it).
pub(super) struct WriteLock {
    file: File,
}

/// One name a write adds or repairs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    name: CertificateName,
    /// The temporary file's name in the store's directory.
    temporary: String,
    /// A damaged entry is under the name: it is renamed aside, and back on undo. Otherwise the
    /// name was free (or held a directory, which the rename into place refuses).
    repairs: bool,
}

impl FileStore {
    /// Stores the certificates all or none; the primitive under every import.
    pub(super) fn write_all(
        &self,
        certificates: &[Certificate],
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let Some(first) = certificates.first() else {
            return Ok(Vec::new());
        };
        let mut lock = self.lock("write", &self.path_of(&first.name()))?;
        let mut outcomes = Vec::with_capacity(certificates.len());
        let mut plan: Vec<(Planned, &Certificate)> = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(certificates.len());
        for certificate in certificates {
            let name = certificate.name();
            if !seen.insert(name) {
                outcomes.push(ImportOutcome::AlreadyPresent(name));
                continue;
            }
            let repairs = match StoreBackend::load(self, &name) {
                Ok(Some(_)) => {
                    outcomes.push(ImportOutcome::AlreadyPresent(name));
                    continue;
                }
                Ok(None) => false,
                // A damaged entry is repaired by putting the right bytes in its place; a
                // directory cannot be moved aside as a file is, and the rename reports it.
                Err(StoreError::Damaged(_)) => !fs::symlink_metadata(self.path_of(&name))
                    .is_ok_and(|metadata| metadata.is_dir()),
                Err(error) => return Err(error),
            };
            outcomes.push(ImportOutcome::Added(name));
            plan.push((
                Planned {
                    name,
                    temporary: temporary_name(&name),
                    repairs,
                },
                certificate,
            ));
        }
        if plan.is_empty() {
            return Ok(outcomes);
        }
        let planned: Vec<Planned> = plan.iter().map(|(planned, _)| planned.clone()).collect();
        // A single new file needs no intent: its rename alone is atomic.
        let with_intent = planned.len() > 1 || planned.iter().any(|p| p.repairs);

        for (index, (planned_entry, certificate)) in plan.iter().enumerate() {
            if let Err(source) = self.write_temporary(&planned_entry.temporary, certificate.der()) {
                self.remove_temporaries(planned.get(..=index).unwrap_or(&[]));
                return Err(StoreError::io("write", self.path_of(&planned_entry.name))(
                    source,
                ));
            }
        }
        if with_intent {
            if let Err(source) = self.ops.write_intent(&mut lock.file, &encode(&planned)) {
                self.remove_temporaries(&planned);
                let _ = self.ops.clear_intent(&mut lock.file);
                return Err(StoreError::io(
                    "record the intent of a write in",
                    self.dir.join(LOCK_FILE),
                )(source));
            }
        }
        if let Err(error) = self.move_into_place(&planned) {
            // Whatever the undo cannot do, the intent (still in the lock file) tells the next
            // writer to do.
            if self.undo(&mut lock, &planned).is_ok() {
                self.remove_temporaries(&planned);
            }
            return Err(error);
        }
        if with_intent {
            if let Err(source) = self.ops.clear_intent(&mut lock.file) {
                let _ = self.undo(&mut lock, &planned);
                return Err(StoreError::io(
                    "complete the write in",
                    self.dir.join(LOCK_FILE),
                )(source));
            }
        }
        for planned_entry in planned.iter().filter(|p| p.repairs) {
            let _ = self.ops.remove(&self.displaced_path(&planned_entry.name));
        }
        for (planned_entry, certificate) in &plan {
            if let Ok(metadata) = fs::symlink_metadata(self.path_of(&planned_entry.name)) {
                self.remember(
                    planned_entry.name,
                    Cached {
                        identity: Identity::of(&metadata),
                        certificate: (*certificate).clone(),
                    },
                );
            }
        }
        Ok(outcomes)
    }

    /// Deletes one certificate (or damaged entry) under the lock.
    pub(super) fn write_removal(&self, name: &CertificateName) -> Result<(), StoreError> {
        let path = self.path_of(name);
        let _lock = self.lock("delete", &path)?;
        self.forget(name);
        match self.ops.remove(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(*name))
            }
            // A directory under the name (a damaged entry): removed if empty. `rmdir` never
            // follows a link (a link swapped in since is refused with ENOTDIR) and never
            // removes anything inside: what a directory holds is not the store's to judge.
            Err(error) if error.kind() == io::ErrorKind::IsADirectory => {
                match self.ops.remove_directory(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        return Err(StoreError::NotFound(*name))
                    }
                    Err(error) if error.kind() == io::ErrorKind::DirectoryNotEmpty => {
                        return Err(StoreError::DirectoryNotEmpty(path))
                    }
                    Err(source) => return Err(StoreError::io("delete", path)(source)),
                }
            }
            Err(source) => return Err(StoreError::io("delete", path)(source)),
        }
        self.ops
            .sync_dir(&self.dir)
            .map_err(StoreError::io("sync directory", &self.dir))
    }

    /// Runs `work` while holding the store's write lock: no other writer, in any process,
    /// changes the store meanwhile.
    pub(crate) fn while_locked<T>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _lock = self.lock("lock", &self.dir)?;
        work(self)
    }

    /// At open: undoes what a writer that died left behind and removes leftover temporary
    /// files, when no other writer holds the lock; otherwise removes only temporary files old
    /// enough to be a dead writer's. A store this process may not write to is left as it is.
    pub(super) fn tidy(&self) -> Result<(), StoreError> {
        let lock =
            match ops::open_lock_file(&self.lock_path(), access::file_mode(self.shared_group)) {
                Ok(file) => match ops::lock(&file, false) {
                    Ok(()) => Some(WriteLock { file }),
                    Err(_) => None,
                },
                Err(_) => None,
            };
        let locked = match lock {
            Some(mut lock) => {
                self.recover(&mut lock)?;
                Some(lock)
            }
            None => None,
        };
        let now = SystemTime::now();
        for entry in self.read_dir()? {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let leftover = if locked.is_some() {
                file_name.starts_with(TEMPORARY_PREFIX) || file_name.starts_with(DISPLACED_PREFIX)
            } else {
                file_name.starts_with(TEMPORARY_PREFIX)
                    && entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|modified| now.duration_since(modified).ok())
                        .is_some_and(|age| age > STALE_AFTER)
            };
            if leftover {
                // Best effort: another process may have removed it first.
                let _ = self.ops.remove(&entry.path());
            }
        }
        Ok(())
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Waits for the write lock, then undoes what a writer that died holding it left. A lock
    /// that cannot be taken (a read-only file system, a directory this process may not write
    /// to) fails the `operation` on `path` the caller was about to make, with the reason.
    fn lock(&self, operation: &'static str, path: &Path) -> Result<WriteLock, StoreError> {
        let file =
            match ops::open_lock_file(&self.lock_path(), access::file_mode(self.shared_group)) {
                Ok(file) => file,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err(StoreError::NoDirectory(self.dir.clone()))
                }
                Err(error) => return Err(StoreError::io(operation, path)(error)),
            };
        ops::lock(&file, true).map_err(StoreError::io(operation, path))?;
        // Removed (or removed and made again) while this writer waited: write nothing there.
        if super::DirectoryIdentity::of(&self.dir).ok() != Some(self.dir_identity) {
            return Err(StoreError::NoDirectory(self.dir.clone()));
        }
        let mut lock = WriteLock { file };
        self.recover(&mut lock)?;
        Ok(lock)
    }

    /// Undoes the intent left in the lock file, if there is one.
    fn recover(&self, lock: &mut WriteLock) -> Result<(), StoreError> {
        let mut recorded = Vec::new();
        (&lock.file)
            .read_to_end(&mut recorded)
            .map_err(StoreError::io("read", &self.lock_path()))?;
        if recorded.is_empty() {
            return Ok(());
        }
        match decode(&recorded) {
            Some(planned) => {
                self.undo(lock, &planned)?;
                self.remove_temporaries(&planned);
                Ok(())
            }
            // Never completely written, so never acted on.
            None => self
                .ops
                .clear_intent(&mut lock.file)
                .map_err(StoreError::io("clear", &self.lock_path())),
        }
    }

    /// Puts the directory back as it was before `planned` was written: removes every name it
    /// added, puts every displaced entry back, fsyncs the directory, empties the intent.
    fn undo(&self, lock: &mut WriteLock, planned: &[Planned]) -> Result<(), StoreError> {
        for entry in planned.iter().rev() {
            let target = self.path_of(&entry.name);
            self.forget(&entry.name);
            if entry.repairs {
                let displaced = self.displaced_path(&entry.name);
                match self.ops.rename(&displaced, &target) {
                    Ok(()) => {}
                    // Never moved aside: what is under the name is still the original.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(StoreError::io("undo an interrupted write to", target)(
                            source,
                        ))
                    }
                }
            } else {
                match self.ops.remove(&target) {
                    Ok(()) => {}
                    // Never renamed in; or a directory was found under the name, which no
                    // rename of ours replaced, and which is not ours to remove.
                    Err(error)
                        if matches!(
                            error.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::IsADirectory
                        ) => {}
                    Err(source) => {
                        return Err(StoreError::io("undo an interrupted write to", target)(
                            source,
                        ))
                    }
                }
            }
        }
        self.ops
            .sync_dir(&self.dir)
            .map_err(StoreError::io("sync directory", &self.dir))?;
        self.ops
            .clear_intent(&mut lock.file)
            .map_err(StoreError::io("clear", &self.lock_path()))
    }

    /// Step 3: displaced entries aside, temporary files into place, the directory fsynced.
    fn move_into_place(&self, planned: &[Planned]) -> Result<(), StoreError> {
        for entry in planned {
            let target = self.path_of(&entry.name);
            if entry.repairs {
                match self.ops.rename(&target, &self.displaced_path(&entry.name)) {
                    Ok(()) => {}
                    // Deleted since it was found damaged: nothing to move aside.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => return Err(StoreError::io("write", target)(source)),
                }
            }
            self.ops
                .rename(&self.dir.join(&entry.temporary), &target)
                .map_err(StoreError::io("write", &target))?;
        }
        self.ops
            .sync_dir(&self.dir)
            .map_err(StoreError::io("sync directory", &self.dir))
    }

    /// Writes and fsyncs a temporary file holding `der`.
    fn write_temporary(&self, temporary: &str, der: &[u8]) -> io::Result<()> {
        let path = self.dir.join(temporary);
        let mut file = self
            .ops
            .create_new(&path, access::file_mode(self.shared_group))?;
        self.ops.write_all(&mut file, der)?;
        self.ops.sync(&file)
    }

    /// Removes temporary files, best effort: they are never listed, and the next open removes
    /// whatever is left.
    fn remove_temporaries(&self, planned: &[Planned]) {
        for entry in planned {
            let _ = self.ops.remove(&self.dir.join(&entry.temporary));
        }
    }

    fn displaced_path(&self, name: &CertificateName) -> PathBuf {
        self.dir
            .join(format!("{DISPLACED_PREFIX}{name}{EXTENSION}"))
    }
}

/// A temporary file's name, unique among every process's writes to any store.
fn temporary_name(name: &CertificateName) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{TEMPORARY_PREFIX}{}-{count}-{nanos}-{name}",
        std::process::id()
    )
}

/// The intent as text: a header, one line per name (`add` or `repair`, name, temporary
/// file), and a last line with the count, without which the intent is incomplete.
fn encode(planned: &[Planned]) -> Vec<u8> {
    let mut text = String::from(INTENT_HEADER);
    for entry in planned {
        let action = if entry.repairs { "repair" } else { "add" };
        text.push_str(&format!("{action} {} {}\n", entry.name, entry.temporary));
    }
    text.push_str(&format!("end {}\n", planned.len()));
    text.into_bytes()
}

/// The intent recorded in the lock file, or `None` if it is incomplete or not one this
/// version writes.
fn decode(recorded: &[u8]) -> Option<Vec<Planned>> {
    let text = std::str::from_utf8(recorded).ok()?;
    let body = text.strip_prefix(INTENT_HEADER)?.strip_suffix('\n')?;
    let mut planned = Vec::new();
    for line in body.split('\n') {
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("end"), Some(count), None, None) => {
                return (count.parse::<usize>().ok()? == planned.len()).then_some(planned);
            }
            (Some(action @ ("add" | "repair")), Some(name), Some(temporary), None)
                if temporary.starts_with(TEMPORARY_PREFIX) && !temporary.contains(['/', '\\']) =>
            {
                planned.push(Planned {
                    name: name.parse().ok()?,
                    temporary: temporary.to_owned(),
                    repairs: action == "repair",
                });
            }
            _ => return None,
        }
    }
    None
}

/// Whether a path in the store's directory is one of the write protocol's own files.
#[cfg(test)]
pub(super) fn is_protocol_file(path: &Path) -> bool {
    path.file_name()
        .map(|name| name.to_string_lossy())
        .is_some_and(|name| {
            name == LOCK_FILE
                || name.starts_with(TEMPORARY_PREFIX)
                || name.starts_with(DISPLACED_PREFIX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_read_back_and_incomplete_ones_are_refused() {
        let name = |byte: &str| -> CertificateName {
            format!("cert_client_{}", byte.repeat(32)).parse().unwrap()
        };
        let planned = vec![
            Planned {
                name: name("ab"),
                temporary: temporary_name(&name("ab")),
                repairs: false,
            },
            Planned {
                name: name("cd"),
                temporary: temporary_name(&name("cd")),
                repairs: true,
            },
        ];
        let encoded = encode(&planned);
        assert_eq!(decode(&encoded), Some(planned));
        for cut in 0..encoded.len() {
            assert_eq!(decode(&encoded[..cut]), None, "cut at {cut}");
        }
        let mut escaping = encoded.clone();
        let text = String::from_utf8(escaping.clone()).unwrap();
        escaping = text.replacen(".tmp-", "../x/.tmp-", 1).into_bytes();
        assert_eq!(decode(&escaping), None);
    }
}
