//! [`FileStore`]: one directory, one file per certificate, `cert_client_<fingerprint>.der`
//! holding exactly the DER bytes.
//!
//! Files: `mod.rs` reads (get, list, the per-process cache), `write.rs` changes the directory
//! (the lock, the intent of a bundle, temporary files, renames, undo), `ops.rs` is the seam
//! under every change and the one way a file is opened, `access.rs` decides who may change
//! the store.

pub(crate) mod access;
mod cache;
pub(crate) mod ops;
mod write;

use std::collections::HashMap;
use std::fs;
use std::hash::BuildHasherDefault;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{
    require_inbound, Admitted, CertificateListing, DamagedEntry, EntryDamage, ImportOutcome,
    PermissionProblem, StoreBackend, StoreError,
};
use crate::system::SystemKind;
use cache::{Cached, Identity, LastListing, NameHasher};
use ops::{FileOps, RealFiles};

/// Files bigger than this are not certificates; they are reported, not read whole.
const MAX_FILE_BYTES: u64 = 1 << 20;
const EXTENSION: &str = ".der";

/// How [`FileStore::open_with`] opens a directory.
///
/// ```
/// use inbound_certs::{SystemKind, backend::{FileStore, FileStoreOptions}};
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
/// time on every write and every change of mode, so an edit in place is seen at once). `list`
/// reads the directory once and re-reads only files it has not seen or that changed: each is
/// looked at with one `lstat` (relative to the open directory, never following a link) and
/// known by the same inode, size and times, so a file edited in place, or made writable by
/// others (`chmod 666`), is reported by the next listing too, not only by the next `get`.
/// Files are opened without following symbolic links and without blocking, their type is
/// checked on the open descriptor and reads stop at 1 MiB. A damaged, truncated, foreign or
/// insecure `cert_client_*.der` entry (a symbolic link, a FIFO, a directory, a file others may
/// write) is reported in [`CertificateListing::damaged`] with its path and never hides the healthy
/// certificates; files with other names are left alone.
///
/// ```
/// use inbound_certs::{CertificateStore, ImportPolicy, SystemKind, backend::FileStore};
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

    /// Whether a trusted group shares the store (its files' modes).
    pub(crate) fn shares_group(&self) -> bool {
        self.shared_group
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
    fn read_file(
        &self,
        name: &CertificateName,
        path: &Path,
    ) -> Result<Option<Cached>, DamagedEntry> {
        let damaged = |problem| DamagedEntry {
            location: path.to_path_buf(),
            problem,
        };
        let unreadable = |error: io::Error| damaged(EntryDamage::Unreadable(error.to_string()));
        let file = match ops::open_for_reading(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) if ops::is_symbolic_link_error(&error) => {
                return Err(damaged(EntryDamage::SymbolicLink))
            }
            Err(error) => return Err(unreadable(error)),
        };
        // The type is checked on what was opened, not on a path that may have changed since.
        let metadata = file.metadata().map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(damaged(EntryDamage::Unreadable(
                "not a regular file".into(),
            )));
        }
        if let Some(problem) = self.insecure_file(&metadata) {
            return Err(damaged(EntryDamage::Insecure(problem)));
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(damaged(EntryDamage::Unreadable(format!(
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
            return Err(damaged(EntryDamage::FingerprintMismatch { actual }));
        }
        let certificate = Certificate::from_der(&der)
            .map_err(|error| damaged(EntryDamage::NotACertificate(error)))?;
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
        if let Some(problem) = access::writable_by_others(mode, self.shared_group, false) {
            Some(problem)
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
}

impl StoreBackend for FileStore {
    fn system_kind(&self) -> SystemKind {
        self.kind
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        self.write_all(admitted.certificates())
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        let path = self.path_of(name);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                self.forget(name);
                return Err(StoreError::Damaged(DamagedEntry {
                    location: path,
                    problem: EntryDamage::SymbolicLink,
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

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        self.list_directory()
    }

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        self.write_removal(name)
    }
}

#[cfg(test)]
mod tests;
