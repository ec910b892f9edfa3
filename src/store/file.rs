//! [`FileStore`]: one directory, one file per certificate, `cert_client_<fingerprint>.der`
//! holding exactly the DER bytes.
//!
//! Content addressing makes every write idempotent: two processes importing the same
//! certificate write the same bytes under the same name, so no lock is needed. A write is a
//! temporary file in the directory, written, fsynced, renamed into place, then the directory is
//! fsynced; a delete is an unlink and a directory fsync. Readers never see a partial file.

use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use super::{require_inbound, CertificateStore, Damage, Damaged, Imported, Listing, StoreError};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::system::SystemKind;

/// Files bigger than this are not certificates; they are reported, not read whole.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Temporary files older than this were left by a process that died mid-write.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);
const TEMPORARY_PREFIX: &str = ".tmp-";
const EXTENSION: &str = ".der";

/// A certificate store in a directory, safe to share between threads and processes.
///
/// `get` reads at most one file (and none when the file is unchanged since this process last
/// read it); `list` reads the directory once and re-reads only files it has not seen, with no
/// system call per known file on Unix (a file is known by its inode, which every replacement
/// changes; a file edited in place is caught by `get` and by the next process's listing).
/// A damaged, truncated or foreign `cert_client_*.der` file is reported in
/// [`Listing::damaged`] with its path and never hides the healthy certificates; files with
/// other names are left alone.
///
/// ```
/// use inbound_certs::{CertificateStore, FileStore, ImportPolicy, SystemKind};
/// use time::macros::datetime;
///
/// let dir = std::env::temp_dir().join(format!("inbound-certs-doc-{}", std::process::id()));
/// let store = FileStore::create(&dir, SystemKind::Source)?;
/// let policy = ImportPolicy::new(datetime!(2026-06-01 0:00 UTC));
/// let imported = store.import_upload(&std::fs::read("tests/data/ec_p256.pem")?, &policy)?;
/// let name = imported[0].name();
/// assert!(dir.join(format!("{name}.der")).exists());
/// assert_eq!(store.list()?.certificates.len(), 1);
/// store.delete(&name)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    kind: SystemKind,
    cache: RwLock<HashMap<CertificateName, Cached, BuildHasherDefault<NameHasher>>>,
    /// The last listing that found every file healthy and known, with the directory's
    /// certificate files as it read them.
    last_listing: Mutex<Option<Arc<LastListing>>>,
    ops: Arc<dyn FileOps>,
}

/// A listing and the directory it was read from: when a new read of the directory finds the
/// same certificate files (names and inodes, in the same order), the listing is the same.
#[derive(Debug)]
struct LastListing {
    files: Vec<ListedFile>,
    certificates: Vec<Certificate>,
}

/// A file with a certificate file's name length, as the directory read returned it.
#[derive(Debug, PartialEq, Eq)]
struct ListedFile {
    inode: u64,
    name: [u8; FILE_NAME_LENGTH],
}

/// `cert_client_`, 64 hex digits, `.der`.
const FILE_NAME_LENGTH: usize = CertificateName::PREFIX.len() + 64 + EXTENSION.len();

/// Names are SHA-256 digests of verified content, already spread evenly and not choosable by
/// whoever writes files: hashing them once more (SipHash) is wasted work on every lookup.
#[derive(Debug, Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        for (slot, byte) in word.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        self.0 = self.0.rotate_left(17) ^ u64::from_ne_bytes(word);
    }
}

#[derive(Debug, Clone)]
struct Cached {
    identity: Identity,
    certificate: Certificate,
}

/// What tells this process a file is the one it read before: inode (a rename into place
/// always brings a new one), length and modification time (an in-place change, such as a
/// truncation, changes one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    inode: u64,
    length: u64,
    modified: Option<SystemTime>,
}

impl Identity {
    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Identity {
            inode,
            length: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

impl Identity {
    /// Whether a directory entry is still the file this identity was taken from. On Unix
    /// this compares the inode the directory read already returned, so a warm listing makes
    /// no system call per file: a file replaced under its name (every rename into place,
    /// every delete and re-create) has a new inode. A file edited in place keeps its inode;
    /// `get`, which compares length and modification time too, and the next process's
    /// listing find such edits.
    #[cfg(unix)]
    fn listed_as(&self, entry: &fs::DirEntry) -> bool {
        std::os::unix::fs::DirEntryExt::ino(entry) == self.inode
    }

    #[cfg(not(unix))]
    fn listed_as(&self, entry: &fs::DirEntry) -> bool {
        entry
            .metadata()
            .is_ok_and(|metadata| Identity::of(&metadata) == *self)
    }
}

/// The inode of a directory entry, as the directory read returned it (0 where there is none).
fn inode(entry: &fs::DirEntry) -> u64 {
    #[cfg(unix)]
    return std::os::unix::fs::DirEntryExt::ino(entry);
    #[cfg(not(unix))]
    return 0;
}

/// The first eight bytes of a name's fingerprint as a big-endian integer: ordered as the names.
fn leading_u64(name: &CertificateName) -> u64 {
    let bytes = name.fingerprint();
    let mut leading = [0u8; 8];
    leading.copy_from_slice(bytes.as_bytes().get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(leading)
}

impl FileStore {
    /// Opens the store in an existing directory, removing temporary files left by writers
    /// that died more than 15 minutes ago.
    pub fn open(dir: impl AsRef<Path>, kind: SystemKind) -> Result<Self, StoreError> {
        Self::open_with(dir.as_ref(), kind, Arc::new(RealFiles))
    }

    /// Creates the directory (and its parents) if needed, then opens the store.
    pub fn create(dir: impl AsRef<Path>, kind: SystemKind) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        require_inbound(kind)?;
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            operation: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        Self::open(dir, kind)
    }

    fn open_with(dir: &Path, kind: SystemKind, ops: Arc<dyn FileOps>) -> Result<Self, StoreError> {
        require_inbound(kind)?;
        match fs::metadata(dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => return Err(StoreError::NoDirectory(dir.to_path_buf())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NoDirectory(dir.to_path_buf()))
            }
            Err(source) => {
                return Err(StoreError::Io {
                    operation: "open directory",
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
        let store = FileStore {
            dir: dir.to_path_buf(),
            kind,
            cache: RwLock::new(HashMap::default()),
            last_listing: Mutex::new(None),
            ops,
        };
        store.remove_stale_temporary_files()?;
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the file for a name.
    pub fn path_of(&self, name: &CertificateName) -> PathBuf {
        self.dir.join(format!("{name}{EXTENSION}"))
    }

    fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            operation,
            path,
            source,
        }
    }

    fn read_dir(&self) -> Result<fs::ReadDir, StoreError> {
        fs::read_dir(&self.dir).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                StoreError::NoDirectory(self.dir.clone())
            } else {
                StoreError::Io {
                    operation: "read directory",
                    path: self.dir.clone(),
                    source,
                }
            }
        })
    }

    fn remove_stale_temporary_files(&self) -> Result<(), StoreError> {
        let now = SystemTime::now();
        for entry in self.read_dir()? {
            let entry = entry.map_err(Self::io_error("read directory", &self.dir))?;
            let file_name = entry.file_name();
            if !file_name.to_string_lossy().starts_with(TEMPORARY_PREFIX) {
                continue;
            }
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > STALE_AFTER);
            if stale {
                // Another process may have removed it first; that is fine.
                let _ = self.ops.remove(&entry.path());
            }
        }
        Ok(())
    }

    /// Reads, verifies and parses one file. `Ok(None)` when it does not exist.
    fn load(&self, name: &CertificateName, path: &Path) -> Result<Option<Cached>, Damaged> {
        let damaged = |problem| Damaged {
            location: path.to_path_buf(),
            problem,
        };
        let unreadable = |error: io::Error| damaged(Damage::Unreadable(error.to_string()));
        // Opening a FIFO or a device would block or read without end: only regular files
        // (or links to them) are opened.
        match fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => {
                return Err(damaged(Damage::Unreadable("not a regular file".into())))
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(unreadable(error)),
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(unreadable(error)),
        };
        let metadata = file.metadata().map_err(unreadable)?;
        if metadata.len() > MAX_FILE_BYTES {
            return Err(damaged(Damage::Unreadable(format!(
                "the file is {} bytes, too large for a certificate",
                metadata.len()
            ))));
        }
        let mut der = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut der)
            .map_err(unreadable)?;
        let actual = Fingerprint::of_der(&der);
        if actual != name.fingerprint() {
            return Err(damaged(Damage::FingerprintMismatch { actual }));
        }
        let certificate =
            Certificate::from_der(&der).map_err(|error| damaged(Damage::NotACertificate(error)))?;
        Ok(Some(Cached {
            identity: Identity::of(&metadata),
            certificate,
        }))
    }

    /// The cached certificate for a name, if its file is still the one that was read.
    fn cached(&self, name: &CertificateName, identity: Identity) -> Option<Certificate> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(name)
            .filter(|cached| cached.identity == identity)
            .map(|cached| cached.certificate.clone())
    }

    fn remember(&self, name: CertificateName, cached: Cached) {
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.insert(name, cached);
    }

    fn forget(&self, name: &CertificateName) {
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.remove(name);
        // A file found changed in place keeps its name and inode: the last listing, which
        // showed it healthy, must not be repeated.
        *self
            .last_listing
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn temporary_path(&self, name: &CertificateName) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        self.dir.join(format!(
            "{TEMPORARY_PREFIX}{}-{count}-{nanos}-{name}",
            std::process::id()
        ))
    }

    /// Writes and fsyncs a temporary file holding `der`.
    fn write_temporary(&self, temporary: &Path, der: &[u8]) -> io::Result<()> {
        let mut file = self.ops.create_new(temporary)?;
        self.ops.write_all(&mut file, der)?;
        self.ops.sync(&file)
    }

    /// Removes what a failed import left behind, best effort; the error already says why.
    fn roll_back(&self, temporaries: &[PathBuf], renamed: &[PathBuf]) {
        for path in temporaries.iter().chain(renamed) {
            let _ = self.ops.remove(path);
        }
        if !renamed.is_empty() {
            let _ = self.ops.sync_dir(&self.dir);
        }
    }
}

impl CertificateStore for FileStore {
    fn system_kind(&self) -> SystemKind {
        self.kind
    }

    fn insert_all(&self, certificates: &[Certificate]) -> Result<Vec<Imported>, StoreError> {
        let mut outcomes = Vec::with_capacity(certificates.len());
        let mut to_write: Vec<&Certificate> = Vec::new();
        for certificate in certificates {
            let name = certificate.name();
            let queued = to_write.iter().any(|c| c.name() == name);
            // A damaged file under this name is repaired by writing the right bytes over it.
            let present = queued || matches!(self.get(&name), Ok(Some(_)));
            if present {
                outcomes.push(Imported::AlreadyPresent(name));
            } else {
                outcomes.push(Imported::Added(name));
                to_write.push(certificate);
            }
        }
        if to_write.is_empty() {
            return Ok(outcomes);
        }

        let mut temporaries = Vec::with_capacity(to_write.len());
        for certificate in &to_write {
            let temporary = self.temporary_path(&certificate.name());
            let result = self.write_temporary(&temporary, certificate.der());
            temporaries.push(temporary);
            if let Err(source) = result {
                self.roll_back(&temporaries, &[]);
                return Err(StoreError::Io {
                    operation: "write",
                    path: self.path_of(&certificate.name()),
                    source,
                });
            }
        }
        let mut renamed = Vec::with_capacity(to_write.len());
        for (index, certificate) in to_write.iter().enumerate() {
            let target = self.path_of(&certificate.name());
            let Some(temporary) = temporaries.get(index) else {
                break;
            };
            if let Err(source) = self.ops.rename(temporary, &target) {
                self.roll_back(temporaries.get(index..).unwrap_or(&[]), &renamed);
                return Err(StoreError::Io {
                    operation: "write",
                    path: target,
                    source,
                });
            }
            renamed.push(target);
        }
        if let Err(source) = self.ops.sync_dir(&self.dir) {
            self.roll_back(&[], &renamed);
            return Err(StoreError::Io {
                operation: "sync directory",
                path: self.dir.clone(),
                source,
            });
        }
        for certificate in to_write {
            let path = self.path_of(&certificate.name());
            if let Ok(metadata) = fs::metadata(&path) {
                self.remember(
                    certificate.name(),
                    Cached {
                        identity: Identity::of(&metadata),
                        certificate: certificate.clone(),
                    },
                );
            }
        }
        Ok(outcomes)
    }

    fn get(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        let path = self.path_of(name);
        match fs::metadata(&path) {
            Ok(metadata) => {
                if let Some(certificate) = self.cached(name, Identity::of(&metadata)) {
                    return Ok(Some(certificate));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                self.forget(name);
                return Ok(None);
            }
            Err(source) => {
                return Err(StoreError::Io {
                    operation: "read",
                    path,
                    source,
                })
            }
        }
        match self.load(name, &path) {
            Ok(Some(cached)) => {
                let certificate = cached.certificate.clone();
                self.remember(*name, cached);
                Ok(Some(certificate))
            }
            Ok(None) => {
                self.forget(name);
                Ok(None)
            }
            Err(damaged) => {
                self.forget(name);
                Err(StoreError::Damaged(damaged))
            }
        }
    }

    fn list(&self) -> Result<Listing, StoreError> {
        // The certificate files, in the order the directory returns them.
        let mut files = Vec::new();
        for entry in self.read_dir()? {
            let entry = entry.map_err(Self::io_error("read directory", &self.dir))?;
            let file_name = entry.file_name();
            if let Ok(name) = <[u8; FILE_NAME_LENGTH]>::try_from(file_name.as_encoded_bytes()) {
                files.push((
                    ListedFile {
                        inode: inode(&entry),
                        name,
                    },
                    entry,
                ));
            }
        }
        let last = self
            .last_listing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(last) = last {
            if files.len() == last.files.len()
                && files
                    .iter()
                    .zip(&last.files)
                    .all(|((file, _), known)| file == known)
            {
                // Nothing was added, removed or replaced since: the same listing.
                return Ok(Listing {
                    certificates: last.certificates.clone(),
                    damaged: Vec::new(),
                });
            }
        }

        // Certificates with their names beside them: sorting compares the names in this
        // vector instead of following each certificate's pointer (which, for thousands of
        // certificates, costs a cache miss per comparison).
        let mut named: Vec<(CertificateName, Certificate)> = Vec::with_capacity(files.len());
        let mut damaged = Vec::new();
        let mut misses = Vec::new();
        let mut listed_files = Vec::with_capacity(files.len());
        {
            // One read lock for the whole directory: known files cost a lookup each.
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            for (file, entry) in files {
                let name = file
                    .name
                    .strip_suffix(EXTENSION.as_bytes())
                    .and_then(CertificateName::from_ascii);
                listed_files.push(file);
                let Some(name) = name else {
                    continue;
                };
                match cache.get(&name).filter(|c| c.identity.listed_as(&entry)) {
                    Some(cached) => named.push((name, cached.certificate.clone())),
                    None => misses.push((name, entry.path())),
                }
            }
        }
        let complete = misses.is_empty();
        for (name, path) in misses {
            match self.load(&name, &path) {
                Ok(Some(cached)) => {
                    named.push((name, cached.certificate.clone()));
                    self.remember(name, cached);
                }
                // Deleted between the directory read and now.
                Ok(None) => self.forget(&name),
                Err(problem) => {
                    self.forget(&name);
                    damaged.push(problem);
                }
            }
        }
        // Names are SHA-256 values: their first eight bytes almost always decide the order,
        // and comparing them as one integer is far cheaper than comparing 32 bytes.
        named.sort_unstable_by(|(a, _), (b, _)| {
            leading_u64(a).cmp(&leading_u64(b)).then_with(|| a.cmp(b))
        });
        {
            let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
            // Forget files deleted since the last listing (by this process or another).
            if cache.len() > named.len() {
                cache.retain(|name, _| {
                    named
                        .binary_search_by_key(name, |(listed, _)| *listed)
                        .is_ok()
                });
            }
        }
        damaged.sort_by(|a: &Damaged, b: &Damaged| a.location.cmp(&b.location));
        let certificates: Vec<Certificate> = named
            .into_iter()
            .map(|(_, certificate)| certificate)
            .collect();
        // Only a listing made entirely from known, healthy files (and only where directory
        // entries carry inodes) is one a later listing can repeat.
        if complete && damaged.is_empty() && cfg!(unix) {
            *self
                .last_listing
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(LastListing {
                files: listed_files,
                certificates: certificates.clone(),
            }));
        }
        Ok(Listing {
            certificates,
            damaged,
        })
    }

    fn delete(&self, name: &CertificateName) -> Result<(), StoreError> {
        let path = self.path_of(name);
        self.forget(name);
        match self.ops.remove(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(*name))
            }
            Err(source) => {
                return Err(StoreError::Io {
                    operation: "delete",
                    path,
                    source,
                })
            }
        }
        self.ops
            .sync_dir(&self.dir)
            .map_err(Self::io_error("sync directory", &self.dir))
    }
}

/// The file operations that change the directory, behind a seam so tests can make each one
/// fail in turn.
trait FileOps: Send + Sync + std::fmt::Debug {
    fn create_new(&self, path: &Path) -> io::Result<File>;
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
    fn sync(&self, file: &File) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
}

#[derive(Debug)]
struct RealFiles;

impl FileOps for RealFiles {
    fn create_new(&self, path: &Path) -> io::Result<File> {
        File::options().write(true).create_new(true).open(path)
    }

    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }

    fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    #[cfg(unix)]
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    #[cfg(not(unix))]
    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        // Directories cannot be opened for syncing here; renames are durable on their own.
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Real file operations, except that operation number `fail_at` (0-based) fails.
    #[derive(Debug)]
    struct FailAt {
        fail_at: usize,
        count: AtomicUsize,
    }

    impl FailAt {
        fn step(&self) -> io::Result<()> {
            if self.count.fetch_add(1, Ordering::SeqCst) == self.fail_at {
                Err(io::Error::other("injected failure"))
            } else {
                Ok(())
            }
        }
    }

    impl FileOps for FailAt {
        fn create_new(&self, path: &Path) -> io::Result<File> {
            self.step()?;
            RealFiles.create_new(path)
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

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Each write, fsync, rename or directory fsync of a bundle import fails in turn: the
    /// import reports the error, and the store is left exactly as before, with no partial
    /// or temporary file.
    #[test]
    fn a_failure_at_any_step_of_an_import_leaves_the_store_as_it_was() {
        let kept = crate::decode(&fixture("sample_source.pem")).unwrap();
        let bundle = crate::decode(&fixture("bundle.pem")).unwrap();
        // 5 certificates: create, write, sync each (15), rename each (5), sync the directory.
        let steps = 3 * bundle.len() + bundle.len() + 1;
        for fail_at in 0..steps {
            let dir = scratch("fail-import");
            FileStore::open(&dir, SystemKind::Source)
                .unwrap()
                .insert_all(&kept)
                .unwrap();
            let before = files_in(&dir);
            let ops = Arc::new(FailAt {
                fail_at,
                count: AtomicUsize::new(0),
            });
            let store = FileStore::open_with(&dir, SystemKind::Source, ops).unwrap();
            let error = store.insert_all(&bundle).unwrap_err();
            assert!(error.to_string().contains("injected failure"), "{error}");
            assert_eq!(files_in(&dir), before, "step {fail_at}");
            let listing = FileStore::open(&dir, SystemKind::Source)
                .unwrap()
                .list()
                .unwrap();
            assert_eq!(listing.certificates, kept, "step {fail_at}");
            assert!(listing.damaged.is_empty());
            fs::remove_dir_all(&dir).unwrap();
        }
        // With no failure the same import succeeds: the steps above were all of them.
        let dir = scratch("fail-import-none");
        let ops = Arc::new(FailAt {
            fail_at: steps,
            count: AtomicUsize::new(0),
        });
        let store = FileStore::open_with(&dir, SystemKind::Source, ops).unwrap();
        assert_eq!(store.insert_all(&bundle).unwrap().len(), bundle.len());
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
                .insert_all(&certificates)
                .unwrap();
            let ops = Arc::new(FailAt {
                fail_at,
                count: AtomicUsize::new(0),
            });
            let store = FileStore::open_with(&dir, SystemKind::Source, ops).unwrap();
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

    #[test]
    fn stale_temporary_files_are_removed_on_open_and_fresh_ones_kept() {
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
        let store = FileStore::open(&dir, SystemKind::Proxy).unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists());
        assert!(store.list().unwrap().certificates.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
