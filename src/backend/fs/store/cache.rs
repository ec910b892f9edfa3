//! The per-process cache of a [`FileStore`]: what tells a file is the one read before, and
//! the listing that makes a warm `list` cost one directory read.

use std::fs;
use std::hash::Hasher;
use std::sync::Arc;
use std::time::SystemTime;

use super::{FileStore, EXTENSION};
use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::store::{CertificateListing, DamagedEntry, StoreError};
use crate::sync::{MutexExt, RwLockExt};

/// A listing and the directory it was read from: when a new read of the directory finds the
/// same certificate files (names and identities, in the same order), the listing is the same.
#[derive(Debug)]
pub(super) struct LastListing {
    files: Vec<ListedFile>,
    certificates: Vec<Certificate>,
}

/// A file with a certificate file's name length, as the directory read returned it, with
/// what its `lstat` said (`None`: it could not be looked at, removed since the read).
#[derive(Debug, PartialEq, Eq)]
struct ListedFile {
    identity: Option<Identity>,
    name: [u8; FILE_NAME_LENGTH],
}

/// `cert_client_`, 64 hex digits, `.der`.
const FILE_NAME_LENGTH: usize = CertificateName::PREFIX.len() + 64 + EXTENSION.len();

/// Names are SHA-256 digests of verified content, already spread evenly and not choosable by
/// whoever writes files: hashing them once more (SipHash) is wasted work on every lookup.
#[derive(Debug, Default)]
pub(super) struct NameHasher(u64);

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
pub(super) struct Cached {
    pub(super) identity: Identity,
    pub(super) certificate: Certificate,
}

/// What tells this process a file is the one it read before: inode (a rename into place
/// always brings a new one), length, modification time and change time. Whoever edits a file
/// in place can put its length and modification time back, but not its change time, which the
/// kernel sets to the current time on every write and every change of its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    inode: u64,
    length: u64,
    modified: Option<SystemTime>,
    changed: (i64, i64),
}

impl Identity {
    pub(super) fn of(metadata: &fs::Metadata) -> Self {
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

/// The first eight bytes of a name's fingerprint as a big-endian integer: ordered as the names.
fn leading_u64(name: &CertificateName) -> u64 {
    let bytes = name.fingerprint();
    let mut leading = [0u8; 8];
    leading.copy_from_slice(bytes.as_bytes().get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(leading)
}

impl FileStore {
    /// The cached certificate for a name, if its file is still the one that was read.
    pub(super) fn cached(&self, name: &CertificateName, identity: Identity) -> Option<Certificate> {
        let cache = self.cache.reading();
        cache
            .get(name)
            .filter(|cached| cached.identity == identity)
            .map(|cached| cached.certificate.clone())
    }

    pub(super) fn remember(&self, name: CertificateName, cached: Cached) {
        let mut cache = self.cache.writing();
        cache.insert(name, cached);
    }

    pub(super) fn forget(&self, name: &CertificateName) {
        let mut cache = self.cache.writing();
        // A file found changed in place keeps its name and inode: the last listing, which
        // showed it healthy, must not be repeated. A name the cache never held is in no
        // listing that can be repeated (those are made of cached files only), so a look-up
        // of an absent name (every import's presence check) keeps it.
        if cache.remove(name).is_some() {
            *self.last_listing.locked() = None;
        }
    }

    /// Every certificate file of the directory: known ones from the cache, the others read.
    pub(super) fn list_directory(&self) -> Result<CertificateListing, StoreError> {
        // The certificate files, in the order the directory returns them.
        let mut files = Vec::new();
        for entry in self.read_dir()? {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
            let file_name = entry.file_name();
            if let Ok(name) = <[u8; FILE_NAME_LENGTH]>::try_from(file_name.as_encoded_bytes()) {
                // One `lstat` per file (relative to the open directory, never following a
                // link): the inode alone, which the directory read returns for free, misses a
                // file made writable by others (`chmod 666`) or edited in place, and such a
                // file must not be listed as a certificate until `get` happens to look.
                files.push((
                    ListedFile {
                        identity: entry
                            .metadata()
                            .ok()
                            .map(|metadata| Identity::of(&metadata)),
                        name,
                    },
                    entry,
                ));
            }
        }
        let last = self.last_listing.locked().clone();
        if let Some(last) = last {
            if files.len() == last.files.len()
                && files
                    .iter()
                    .zip(&last.files)
                    .all(|((file, _), known)| file == known)
            {
                // Nothing was added, removed or replaced since: the same listing.
                return Ok(CertificateListing {
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
            let cache = self.cache.reading();
            for (file, entry) in files {
                let name = file
                    .name
                    .strip_suffix(EXTENSION.as_bytes())
                    .and_then(CertificateName::from_ascii);
                let Some(name) = name else {
                    listed_files.push(file);
                    continue;
                };
                match cache
                    .get(&name)
                    .filter(|cached| file.identity == Some(cached.identity))
                {
                    Some(cached) => named.push((name, cached.certificate.clone())),
                    None => misses.push((name, entry.path())),
                }
                listed_files.push(file);
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
            let mut cache = self.cache.writing();
            // Forget files deleted since the last listing (by this process or another).
            if cache.len() > named.len() {
                cache.retain(|name, _| {
                    named
                        .binary_search_by_key(name, |(listed, _)| *listed)
                        .is_ok()
                });
            }
        }
        damaged.sort_by(|a: &DamagedEntry, b: &DamagedEntry| a.location.cmp(&b.location));
        let certificates: Vec<Certificate> = named
            .into_iter()
            .map(|(_, certificate)| certificate)
            .collect();
        // Only a listing made entirely from known, healthy files (and only where directory
        // entries carry inodes) is one a later listing can repeat.
        if complete && damaged.is_empty() && cfg!(unix) {
            *self.last_listing.locked() = Some(Arc::new(LastListing {
                files: listed_files,
                certificates: certificates.clone(),
            }));
        }
        Ok(CertificateListing {
            certificates,
            damaged,
        })
    }
}
