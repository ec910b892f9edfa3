//! [`FileStore`]: one directory, one file per certificate, `cert_client_<fingerprint>.der`
//! holding exactly the DER bytes.
//!
//! Files: `mod.rs` reads (get, list, the per-process cache), `write.rs` changes the directory
//! (the lock, the intent of a bundle, temporary files, renames, undo), `ops.rs` is the seam
//! under every change and the one way a file is opened, `access.rs` decides who may change
//! the store.

pub(crate) mod access;
pub(crate) mod ops;
mod write;

pub use access::PermissionProblem;

use std::collections::HashMap;
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use super::{
    require_inbound, Admitted, Damage, Damaged, Imported, Listing, StoreBackend, StoreError,
};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::system::SystemKind;
use ops::{FileOps, RealFiles};

/// Files bigger than this are not certificates; they are reported, not read whole.
const MAX_FILE_BYTES: u64 = 1 << 20;
const EXTENSION: &str = ".der";

/// How [`FileStore::open_with`] opens a directory.
///
/// ```
/// use inbound_certs::{FileStore, FileStoreOptions, SystemKind};
///
/// let dir = std::env::temp_dir().join(format!("inbound-certs-options-{}", std::process::id()));
/// let options = FileStoreOptions::new().create(true);
/// let store = FileStore::open_with(&dir, SystemKind::Proxy, &options)?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStoreOptions {
    create: bool,
    shared_group: bool,
}

impl FileStoreOptions {
    /// The defaults: the directory must exist, and only its owner (or root) may write to it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Create the directory, and its missing parents, if it does not exist (default: no).
    /// Directories are created with mode 0700 (0770 with a shared group) whatever the umask.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Let the members of the directory's group change the store (default: no). The
    /// directory may then be writable by its group (and is created 0770), it may belong to
    /// another member of the group, and certificate files are written 0640 so that the group
    /// can read them. Use this only when every member of the group may decide which clients
    /// are trusted; a store writable by every user is refused whatever this says.
    pub fn shared_group(mut self, shared: bool) -> Self {
        self.shared_group = shared;
        self
    }

    pub(crate) fn is_create(&self) -> bool {
        self.create
    }

    pub(crate) fn is_shared_group(&self) -> bool {
        self.shared_group
    }
}

/// A certificate store in a directory, safe to share between threads and processes.
///
/// **Who may change it.** The directory is created 0700 and files 0600 whatever the umask
/// (0770 and 0640 with [`FileStoreOptions::shared_group`]). A directory that someone other
/// than the process's user or root could change is refused with
/// [`StoreError::InsecurePermissions`] naming the path and the fix: one writable by every user
/// or by its group, one owned by another user, one under a parent that another user may write
/// to (a sticky parent such as `/tmp` is fine), and a path that is a symbolic link owned by
/// another user.
///
/// **Writes.** Writers of one directory, in any process, take turns on an advisory lock
/// (`.lock`); readers never take it. Each certificate is written to a temporary file, fsynced
/// and renamed into place, then the directory is fsynced. A bundle first records its intent
/// (the names it adds or repairs) durably in the lock file: a writer that fails, or dies, part
/// way leaves the intent behind, and the next writer (or the next [`FileStore::open`]) undoes
/// it, so that across errors, `SIGKILL` and power loss a bundle is stored whole or not at all.
/// An undo removes only what its writer created, never a certificate another writer stored.
///
/// **Reads.** `get` reads at most one file (none when the file's inode, size, modification and
/// change times are those it had when this process last read it; the kernel sets the change
/// time on every write, so an edit in place is seen at once). `list` reads the directory once
/// and re-reads only files it has not seen, with no system call per known file on Unix: a file
/// is known by its inode, which every replacement changes; a file edited in place keeps it, so
/// such an edit is seen by `get` and by another process's listing, not by a warm listing.
/// Files are opened without following symbolic links and without blocking, their type is
/// checked on the open descriptor and reads stop at 1 MiB. A damaged, truncated, foreign or
/// insecure `cert_client_*.der` entry (a symbolic link, a FIFO, a directory, a file others may
/// write) is reported in [`Listing::damaged`] with its path and never hides the healthy
/// certificates; files with other names are left alone.
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
    /// The directory when the store was opened: a writer that finds another one there (the
    /// directory was removed, or removed and made again) writes nothing.
    dir_identity: DirectoryIdentity,
    kind: SystemKind,
    shared_group: bool,
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
/// always brings a new one), length, modification time and change time. Whoever edits a file
/// in place can put its length and modification time back, but not its change time, which the
/// kernel sets to the current time on every write and every change of its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    inode: u64,
    length: u64,
    modified: Option<SystemTime>,
    changed: (i64, i64),
}

impl Identity {
    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (inode, changed) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.ino(), (metadata.ctime(), metadata.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let (inode, changed) = (0, (0, 0));
        Identity {
            inode,
            length: metadata.len(),
            modified: metadata.modified().ok(),
            changed,
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

/// What tells a directory from another made at the same path later: its inode (which a new
/// directory may reuse once the old one is deleted) and its birth time, where the file
/// system records one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirectoryIdentity {
    inode: u64,
    born: Option<SystemTime>,
}

impl DirectoryIdentity {
    pub(crate) fn of(dir: &Path) -> Result<Self, StoreError> {
        match fs::metadata(dir) {
            Ok(metadata) => {
                #[cfg(unix)]
                let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
                #[cfg(not(unix))]
                let inode = 0;
                Ok(DirectoryIdentity {
                    inode,
                    born: metadata.created().ok(),
                })
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::NoDirectory(dir.to_path_buf()))
            }
            Err(source) => Err(StoreError::io("open directory", dir.to_path_buf())(source)),
        }
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
    /// Opens the store in an existing directory, after checking who may change it (see the
    /// type's docs) and completing or undoing what a writer that died left behind.
    pub fn open(dir: impl AsRef<Path>, kind: SystemKind) -> Result<Self, StoreError> {
        Self::open_with(dir, kind, &FileStoreOptions::new())
    }

    /// Creates the directory (and its parents) if needed, mode 0700 whatever the umask, then
    /// opens the store.
    pub fn create(dir: impl AsRef<Path>, kind: SystemKind) -> Result<Self, StoreError> {
        Self::open_with(dir, kind, &FileStoreOptions::new().create(true))
    }

    /// Opens (or with [`FileStoreOptions::create`], creates) the store in a directory.
    pub fn open_with(
        dir: impl AsRef<Path>,
        kind: SystemKind,
        options: &FileStoreOptions,
    ) -> Result<Self, StoreError> {
        Self::open_with_ops(dir.as_ref(), kind, options, Arc::new(RealFiles))
    }

    fn open_with_ops(
        dir: &Path,
        kind: SystemKind,
        options: &FileStoreOptions,
        ops: Arc<dyn FileOps>,
    ) -> Result<Self, StoreError> {
        require_inbound(kind)?;
        if options.create {
            access::create_directory(dir, access::directory_mode(options.shared_group))?;
        }
        access::check_directory(dir, options.shared_group)?;
        let store = FileStore {
            dir: dir.to_path_buf(),
            dir_identity: DirectoryIdentity::of(dir)?,
            kind,
            shared_group: options.shared_group,
            cache: RwLock::new(HashMap::default()),
            last_listing: Mutex::new(None),
            ops,
        };
        store.tidy()?;
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

    fn read_dir(&self) -> Result<fs::ReadDir, StoreError> {
        fs::read_dir(&self.dir).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                StoreError::NoDirectory(self.dir.clone())
            } else {
                StoreError::io("read directory", self.dir.clone())(source)
            }
        })
    }

    /// Reads, verifies and parses one file. `Ok(None)` when it does not exist.
    fn read_file(&self, name: &CertificateName, path: &Path) -> Result<Option<Cached>, Damaged> {
        let damaged = |problem| Damaged {
            location: path.to_path_buf(),
            problem,
        };
        let unreadable = |error: io::Error| damaged(Damage::Unreadable(error.to_string()));
        let file = match ops::open_for_reading(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) if ops::is_symbolic_link_error(&error) => {
                return Err(damaged(Damage::SymbolicLink))
            }
            Err(error) => return Err(unreadable(error)),
        };
        // The type is checked on what was opened, not on a path that may have changed since.
        let metadata = file.metadata().map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(damaged(Damage::Unreadable("not a regular file".into())));
        }
        if let Some(problem) = self.insecure_file(&metadata) {
            return Err(damaged(Damage::Insecure(problem)));
        }
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

    /// Why a certificate file could be changed by someone the store does not trust, if it
    /// could: another user could write to it, here or through another link to it.
    #[cfg(unix)]
    fn insecure_file(&self, metadata: &fs::Metadata) -> Option<PermissionProblem> {
        use std::os::unix::fs::MetadataExt;
        let mode = metadata.mode() & 0o7777;
        let user = rustix::process::geteuid().as_raw();
        if mode & 0o002 != 0 {
            Some(PermissionProblem::WritableByOthers { mode })
        } else if mode & 0o020 != 0 && !self.shared_group {
            Some(PermissionProblem::WritableByGroup { mode })
        } else if metadata.uid() != user && metadata.uid() != 0 && !self.shared_group {
            Some(PermissionProblem::OwnedByOtherUser {
                owner: metadata.uid(),
                user,
            })
        } else {
            None
        }
    }

    #[cfg(not(unix))]
    fn insecure_file(&self, _metadata: &fs::Metadata) -> Option<PermissionProblem> {
        None
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
}

impl StoreBackend for FileStore {
    fn system_kind(&self) -> SystemKind {
        self.kind
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<Imported>, StoreError> {
        self.write_all(admitted.certificates())
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        let path = self.path_of(name);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                self.forget(name);
                return Err(StoreError::Damaged(Damaged {
                    location: path,
                    problem: Damage::SymbolicLink,
                }));
            }
            Ok(metadata) => {
                if let Some(certificate) = self.cached(name, Identity::of(&metadata)) {
                    return Ok(Some(certificate));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                self.forget(name);
                return Ok(None);
            }
            Err(source) => return Err(StoreError::io("read", path)(source)),
        }
        match self.read_file(name, &path) {
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

    fn load_all(&self) -> Result<Listing, StoreError> {
        // The certificate files, in the order the directory returns them.
        let mut files = Vec::new();
        for entry in self.read_dir()? {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
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
            match self.read_file(&name, &path) {
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

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        self.write_removal(name)
    }
}

#[cfg(test)]
mod tests {
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
                })
                .unwrap();
            let before = files_in(&dir);
            let store = open_with_ops(&dir, FailAt::new(fail_at, false));
            let error = store
                .store_all(Admitted {
                    certificates: &bundle,
                })
                .unwrap_err();
            assert!(error.to_string().contains("injected failure"), "{error}");
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
                    certificates: &bundle
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
                })
                .unwrap();
            let before = files_in(&dir);
            let store = open_with_ops(&dir, FailAt::new(crash_at, true));
            assert!(store
                .store_all(Admitted {
                    certificates: &bundle
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
                        certificates: &bundle
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
}
