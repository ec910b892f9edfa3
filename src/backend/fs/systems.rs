//! The systems of a registry directory (see the [module](super) for the layout).
//!
//! A system appears whole: its directory is made under a temporary name with its manifest
//! (fsynced) and renamed into place. It disappears whole: it is renamed to a temporary name,
//! under its store's write lock (so no import into it is acknowledged after its last check),
//! then deleted. Leftovers of a process that died are removed at the next open.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::store::{access, ops, DirectoryIdentity, FileStore, FileStoreOptions};
use crate::backend::SystemListing;
use crate::fingerprint::CertificateName;
use crate::store::{CertificateStore, DamagedEntry, EntryDamage, StoreError};
use crate::sync::MutexExt;
use crate::system::{Permission, System, SystemKind, SystemName};

const LOCK_FILE: &str = ".lock";
const CHANGES: &str = ".changes";
const SYSTEMS: &str = "systems";
const MANIFEST: &str = "system";
const NEW_PREFIX: &str = ".new-";
/// The prefix of a manifest being rewritten: the store's own prefix for temporary files, so
/// that the leftover of a writer that died is removed as the store removes its own.
const MANIFEST_TEMPORARY_PREFIX: &str = ".tmp-manifest-";
const REMOVED_PREFIX: &str = ".removed-";

/// What the change marker was when last looked at: a rewrite always brings a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    inode: u64,
    changed: (i64, i64),
}

impl Stamp {
    /// The marker's inode and change time, for a [`Marker`](crate::backend::Marker).
    pub(super) fn parts(self) -> (u64, i64, i64) {
        (self.inode, self.changed.0, self.changed.1)
    }

    fn of(metadata: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt;
            (metadata.ctime(), metadata.ctime_nsec())
        };
        #[cfg(not(unix))]
        let changed = (0, 0);
        Stamp {
            inode: inode_of(metadata),
            changed,
        }
    }
}

/// What a rewrite of the change marker replaced and wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Touched {
    /// The marker replaced (`Some(None)`: there was none); `None` when unknown.
    pub(super) replaced: Option<Option<Stamp>>,
    /// The marker written.
    pub(super) written: Stamp,
}

#[derive(Debug)]
pub(super) struct Directory {
    dir: PathBuf,
    systems_dir: PathBuf,
    shared_group: bool,
    /// Each system's store, opened once, with the directory it was opened on.
    stores: Mutex<HashMap<SystemName, (DirectoryIdentity, Arc<FileStore>)>>,
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(unix)]
fn inode_of(metadata: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

#[cfg(not(unix))]
fn inode_of(_metadata: &fs::Metadata) -> u64 {
    0
}

impl Directory {
    pub(super) fn open(dir: &Path, options: &FileStoreOptions) -> Result<Self, StoreError> {
        let shared_group = options.is_shared_group();
        if options.is_create() {
            access::create_directory(dir, access::directory_mode(shared_group))?;
        }
        access::check_directory(dir, shared_group)?;
        let systems_dir = dir.join(SYSTEMS);
        if !systems_dir.is_dir() {
            access::create_directory(&systems_dir, access::directory_mode(shared_group))?;
        }
        let directory = Directory {
            dir: dir.to_path_buf(),
            systems_dir,
            shared_group,
            stores: Mutex::new(HashMap::new()),
        };
        directory.tidy()?;
        Ok(directory)
    }

    /// Removes what a creator or remover that died left, when no other one is at work.
    fn tidy(&self) -> Result<(), StoreError> {
        let Ok(lock) = self.open_lock() else {
            return Ok(());
        };
        if ops::lock(&lock, false).is_err() {
            return Ok(());
        }
        for entry in fs::read_dir(&self.systems_dir)
            .map_err(StoreError::io("read directory", &self.systems_dir))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(NEW_PREFIX) || name.starts_with(REMOVED_PREFIX) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }

    fn open_lock(&self) -> io::Result<File> {
        ops::open_lock_file(
            &self.dir.join(LOCK_FILE),
            access::file_mode(self.shared_group),
        )
    }

    /// Waits for the registry's lock (creating and removing systems).
    fn lock(&self) -> Result<File, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        let file = self.open_lock().map_err(StoreError::io("lock", &path))?;
        ops::lock(&file, true).map_err(StoreError::io("lock", &path))?;
        Ok(file)
    }

    pub(super) fn stamp(&self) -> Option<Stamp> {
        fs::symlink_metadata(self.dir.join(CHANGES))
            .ok()
            .map(|metadata| Stamp::of(&metadata))
    }

    /// Rewrites the change marker under a new inode, so that every other process's next
    /// `identify` rebuilds its index. Best effort: the change itself is already durable, and
    /// a marker that could not be rewritten only delays what other processes see until
    /// their next open.
    ///
    /// Returns the marker this rewrite replaced and the one it wrote (`None` if it wrote
    /// none): when the replaced one is the marker an index was built from, the index plus
    /// this process's own change is current as of the new marker. Rewrites take turns on a
    /// lock on the registry's directory, so that no other process's marker can land between
    /// the look at the old one and the rename.
    pub(super) fn touch(&self) -> Option<Touched> {
        let temporary = self.dir.join(format!("{CHANGES}-{}", unique_suffix()));
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, access::file_mode(self.shared_group));
        let written = options.open(&temporary).and_then(|mut file| {
            ops::set_mode(&file, access::file_mode(self.shared_group))?;
            file.write_all(b"changed\n")?;
            Ok(file)
        });
        let Ok(file) = written else {
            let _ = fs::remove_file(&temporary);
            return None;
        };
        // Without the lock the replaced marker is unknown: the caller's index is not
        // vouched for, and its next `identify` rebuilds.
        let turn = File::open(&self.dir)
            .ok()
            .filter(|dir| ops::lock(dir, true).is_ok());
        let replaced = turn.as_ref().map(|_| self.stamp());
        if fs::rename(&temporary, self.dir.join(CHANGES)).is_err() {
            let _ = fs::remove_file(&temporary);
            return None;
        }
        // The descriptor's own inode, as the rename left it (a rename changes its change
        // time): a marker another process writes after this one has another inode.
        let written = file.metadata().ok().map(|metadata| Stamp::of(&metadata));
        drop(turn);
        Some(Touched {
            replaced,
            written: written?,
        })
    }

    fn system_dir(&self, name: &SystemName) -> PathBuf {
        self.systems_dir.join(name.as_str())
    }

    /// Every system, and every entry of `DIR/systems/` that is not one this registry serves,
    /// each on its own: one odd entry never hides the others.
    pub(super) fn systems(&self) -> Result<SystemListing, StoreError> {
        let mut listing = SystemListing::default();
        let entries = fs::read_dir(&self.systems_dir)
            .map_err(StoreError::io("read directory", &self.systems_dir))?;
        for entry in entries {
            let entry = entry.map_err(StoreError::io("read directory", &self.systems_dir))?;
            let file_name = entry.file_name();
            let text = file_name.to_string_lossy();
            if text.starts_with('.') {
                continue;
            }
            let Ok(name) = text.parse::<SystemName>() else {
                listing.damaged.push(DamagedEntry {
                    location: entry.path(),
                    problem: EntryDamage::Unreadable("not a valid system name".into()),
                });
                continue;
            };
            let checked = match self.check_system_dir(&entry.path()) {
                // Removed since the directory was read.
                Ok(false) => continue,
                Ok(true) => self.read_manifest(&name),
                Err(problem) => Err(problem),
            };
            match checked {
                Ok(system) => listing.systems.push(system),
                Err(problem) => listing.damaged.push(DamagedEntry {
                    location: entry.path(),
                    problem,
                }),
            }
        }
        listing.systems.sort_by(|a, b| a.name().cmp(b.name()));
        listing.damaged.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(listing)
    }

    /// Whether a system's directory is there (`Ok(false)`: it is not) and one this registry
    /// may serve: a directory itself, not a link to one (which could lead to another
    /// system's certificates, or anywhere), that nobody the registry does not trust could
    /// change (the checks a store makes of its own directory).
    fn check_system_dir(&self, dir: &Path) -> Result<bool, EntryDamage> {
        let metadata = match fs::symlink_metadata(dir) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(EntryDamage::Unreadable(error.to_string())),
        };
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            return Err(EntryDamage::SymbolicLink);
        }
        if !file_type.is_dir() {
            return Err(EntryDamage::Unreadable(format!(
                "a system is a directory, and this is {}",
                describe(&file_type)
            )));
        }
        match access::directory_problem(&metadata, self.shared_group) {
            Some(problem) => Err(EntryDamage::Insecure(problem)),
            None => Ok(true),
        }
    }

    pub(super) fn system(&self, name: &SystemName) -> Result<System, StoreError> {
        let dir = self.system_dir(name);
        let damaged = |problem| {
            StoreError::Damaged(DamagedEntry {
                location: dir.clone(),
                problem,
            })
        };
        match self.check_system_dir(&dir) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::SystemNotFound(name.clone())),
            Err(problem) => return Err(damaged(problem)),
        }
        self.read_manifest(name).map_err(damaged)
    }

    fn read_manifest(&self, name: &SystemName) -> Result<System, EntryDamage> {
        let path = self.system_dir(name).join(MANIFEST);
        let file = ops::open_for_reading(&path).map_err(|error| {
            EntryDamage::Unreadable(format!("its manifest {}: {error}", path.display()))
        })?;
        let mut text = String::new();
        io::Read::read_to_string(&mut io::Read::take(file, 4096), &mut text).map_err(|error| {
            EntryDamage::Unreadable(format!("its manifest {}: {error}", path.display()))
        })?;
        parse_manifest(name, &text).ok_or_else(|| {
            EntryDamage::Unreadable(format!(
                "its manifest {} is not 'kind: …', 'created: …' and 'permissions: …' lines",
                path.display()
            ))
        })
    }

    /// The system's store (`None` for a target system), opened once per directory.
    pub(super) fn store(&self, system: &System) -> Result<Option<Arc<FileStore>>, StoreError> {
        if !system.kind().accepts_inbound() {
            return Ok(None);
        }
        let dir = self.system_dir(system.name());
        // Checked at every call, not only when the index was built: a directory replaced by
        // a link since (to the same directory moved elsewhere, even) is never read through.
        match self.check_system_dir(&dir) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::SystemNotFound(system.name().clone())),
            Err(problem) => {
                return Err(StoreError::Damaged(DamagedEntry {
                    location: dir,
                    problem,
                }))
            }
        }
        let identity = DirectoryIdentity::of(&dir)
            .map_err(|_| StoreError::SystemNotFound(system.name().clone()))?;
        let mut stores = self.stores.locked();
        if let Some((known, store)) = stores.get(system.name()) {
            if *known == identity && store.system_kind() == system.kind() {
                return Ok(Some(Arc::clone(store)));
            }
        }
        let options = FileStoreOptions::new().shared_group(self.shared_group);
        let store = Arc::new(FileStore::open_with(&dir, system.kind(), &options)?);
        stores.insert(system.name().clone(), (identity, Arc::clone(&store)));
        Ok(Some(store))
    }

    /// Makes a system; returns the change marker it wrote (see [`touch`](Self::touch)).
    pub(super) fn create_system(&self, system: &System) -> Result<Option<Touched>, StoreError> {
        let _lock = self.lock()?;
        let target = self.system_dir(system.name());
        if fs::symlink_metadata(&target).is_ok() {
            return Err(StoreError::SystemExists(system.name().clone()));
        }
        let staging =
            self.systems_dir
                .join(format!("{NEW_PREFIX}{}-{}", system.name(), unique_suffix()));
        let result = self.make_system_at(&staging, system).and_then(|()| {
            fs::rename(&staging, &target).map_err(StoreError::io("create", &target))?;
            sync_dir(&self.systems_dir)
        });
        match result {
            Ok(()) => Ok(self.touch()),
            Err(error) => {
                let _ = fs::remove_dir_all(&staging);
                Err(error)
            }
        }
    }

    fn make_system_at(&self, staging: &Path, system: &System) -> Result<(), StoreError> {
        access::create_directory(staging, access::directory_mode(self.shared_group))?;
        let path = staging.join(MANIFEST);
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, access::file_mode(self.shared_group));
        let mut file = options
            .open(&path)
            .map_err(StoreError::io("write", &path))?;
        ops::set_mode(&file, access::file_mode(self.shared_group))
            .map_err(StoreError::io("write", &path))?;
        file.write_all(format_manifest(system).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(StoreError::io("write", &path))?;
        sync_dir(staging)
    }

    /// Replaces the manifest of a system (to hold its new permissions) durably: a temporary
    /// file in the system's directory, written, fsynced, renamed over the manifest, the
    /// directory fsynced; on any failure the old manifest stays. Under the registry's lock,
    /// so that no removal of the system runs meanwhile. Returns the change marker it wrote.
    pub(super) fn write_manifest(&self, system: &System) -> Result<Option<Touched>, StoreError> {
        let _lock = self.lock()?;
        let dir = self.system_dir(system.name());
        match self.check_system_dir(&dir) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::SystemNotFound(system.name().clone())),
            Err(problem) => {
                return Err(StoreError::Damaged(DamagedEntry {
                    location: dir,
                    problem,
                }))
            }
        }
        let temporary = dir.join(format!("{MANIFEST_TEMPORARY_PREFIX}{}", unique_suffix()));
        let target = dir.join(MANIFEST);
        let written = (|| {
            let mut options = File::options();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(
                &mut options,
                access::file_mode(self.shared_group),
            );
            let mut file = options
                .open(&temporary)
                .map_err(StoreError::io("write", &temporary))?;
            ops::set_mode(&file, access::file_mode(self.shared_group))
                .map_err(StoreError::io("write", &temporary))?;
            file.write_all(format_manifest(system).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(StoreError::io("write", &temporary))?;
            fs::rename(&temporary, &target).map_err(StoreError::io("write", &target))
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        sync_dir(&dir)?;
        Ok(self.touch())
    }

    /// Removes a system; returns how many certificates went with it and the change marker
    /// it wrote.
    pub(super) fn remove_system(
        &self,
        name: &SystemName,
        with_certificates: bool,
    ) -> Result<(usize, Option<Touched>), StoreError> {
        let _lock = self.lock()?;
        let system = self.system(name)?;
        let dir = self.system_dir(name);
        let removed = self
            .systems_dir
            .join(format!("{REMOVED_PREFIX}{name}-{}", unique_suffix()));
        let held = match self.store(&system)? {
            Some(store) => store.while_locked(|store| {
                let listing = store.list()?;
                let held = listing.certificates.len() + listing.damaged.len();
                if held > 0 && !with_certificates {
                    return Err(StoreError::SystemNotEmpty {
                        name: name.clone(),
                        certificates: held,
                    });
                }
                fs::rename(&dir, &removed).map_err(StoreError::io("remove", &dir))?;
                Ok(listing.certificates.len())
            })?,
            None => {
                fs::rename(&dir, &removed).map_err(StoreError::io("remove", &dir))?;
                0
            }
        };
        self.stores.locked().remove(name);
        let synced = sync_dir(&self.systems_dir);
        let touched = self.touch();
        // Gone from view already; what is left of it is removed now or at the next open.
        let _ = fs::remove_dir_all(&removed);
        synced.map(|()| (held, touched))
    }

    /// Certificate files directly in the registry's directory: a store made by
    /// [`FileStore`] before registries existed.
    pub(super) fn legacy_files(&self) -> Result<Vec<(CertificateName, PathBuf)>, StoreError> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io("read directory", &self.dir))? {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
            let file_name = entry.file_name();
            let Some(stem) = file_name
                .to_str()
                .and_then(|name| name.strip_suffix(".der"))
            else {
                continue;
            };
            if let Some(name) = CertificateName::from_ascii(stem.as_bytes()) {
                files.push((name, entry.path()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Moves the legacy certificate files into the system's directory, one atomic rename
    /// each: at every moment each file is in one place or the other.
    pub(super) fn adopt_legacy(&self, system: &System) -> Result<usize, StoreError> {
        let Some(store) = self.store(system)? else {
            return Err(StoreError::NotInbound(system.kind()));
        };
        let files = self.legacy_files()?;
        let moved = store.while_locked(|store| {
            for (name, path) in &files {
                fs::rename(path, store.path_of(name)).map_err(StoreError::io("move", path))?;
            }
            sync_dir(store.dir())?;
            sync_dir(&self.dir)?;
            Ok(files.len())
        })?;
        self.touch();
        Ok(moved)
    }
}

/// What a directory entry is, for a message.
fn describe(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
    }
    if file_type.is_file() {
        "a file"
    } else {
        "neither a file nor a directory"
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    ops::sync_directory(dir).map_err(StoreError::io("sync directory", dir))
}

/// The manifest: `kind: …` and `created: …` lines, and a `permissions: a, b` line when the
/// system holds any (so that the manifest of a system without permissions is the one
/// earlier versions wrote, and read).
fn format_manifest(system: &System) -> String {
    let mut text = format!(
        "kind: {}\ncreated: {}\n",
        system.kind(),
        crate::clock::rfc3339(system.created())
    );
    if !system.permissions().is_empty() {
        text.push_str("permissions: ");
        text.push_str(&crate::system::permissions_text(system.permissions()));
        text.push('\n');
    }
    text
}

/// A manifest's system; `None` if it is not a manifest (an unknown key, a kind, time or
/// permission that does not parse, permissions on a target system).
fn parse_manifest(name: &SystemName, text: &str) -> Option<System> {
    let mut kind = None;
    let mut created = None;
    let mut permissions = std::collections::BTreeSet::new();
    for line in text.lines() {
        let (key, value) = line.split_once(": ")?;
        match key {
            "kind" => kind = Some(value.parse::<SystemKind>().ok()?),
            "created" => created = Some(OffsetDateTime::parse(value, &Rfc3339).ok()?),
            "permissions" => {
                for permission in value.split(", ") {
                    permissions.insert(permission.parse::<Permission>().ok()?);
                }
            }
            _ => return None,
        }
    }
    let kind: SystemKind = kind?;
    if !kind.accepts_inbound() && !permissions.is_empty() {
        return None;
    }
    Some(System::new(name.clone(), kind, created?).with_permissions(permissions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manifests_read_back() {
        let name: SystemName = "crm".parse().unwrap();
        let system = System::new(
            name.clone(),
            SystemKind::Proxy,
            datetime!(2026-01-02 3:04:05 UTC),
        );
        let text = format_manifest(&system);
        assert_eq!(text, "kind: proxy\ncreated: 2026-01-02T03:04:05Z\n");
        assert_eq!(parse_manifest(&name, &text), Some(system));
        assert_eq!(parse_manifest(&name, "kind: proxy\n"), None);
        assert_eq!(
            parse_manifest(&name, "kind: nope\ncreated: 2026-01-02T03:04:05Z\n"),
            None
        );
    }

    #[test]
    fn manifests_hold_permissions_and_old_ones_still_read() {
        let name: SystemName = "gateway".parse().unwrap();
        let created = datetime!(2026-01-02 3:04:05 UTC);
        let permissions = ["realtime-api", "proxy-api"]
            .iter()
            .map(|text| text.parse::<Permission>().unwrap())
            .collect();
        let system =
            System::new(name.clone(), SystemKind::Proxy, created).with_permissions(permissions);
        let text = format_manifest(&system);
        assert_eq!(
            text,
            "kind: proxy\ncreated: 2026-01-02T03:04:05Z\npermissions: proxy-api, realtime-api\n"
        );
        assert_eq!(parse_manifest(&name, &text), Some(system));
        // Written by a version without permissions.
        let old = parse_manifest(&name, "kind: proxy\ncreated: 2026-01-02T03:04:05Z\n").unwrap();
        assert!(old.permissions().is_empty());
        for hostile in [
            "kind: proxy\ncreated: 2026-01-02T03:04:05Z\npermissions: ../x\n",
            "kind: proxy\ncreated: 2026-01-02T03:04:05Z\npermissions: Proxy-API\n",
            "kind: proxy\ncreated: 2026-01-02T03:04:05Z\npermissions: a,b\n",
            "kind: target\ncreated: 2026-01-02T03:04:05Z\npermissions: proxy-api\n",
        ] {
            assert_eq!(parse_manifest(&name, hostile), None, "{hostile:?}");
        }
    }
}
