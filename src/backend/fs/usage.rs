//! The last uses of a registry directory's certificates: one small file per system,
//!
//! ```text
//! DIR/usage/.lock        flushers of any process take turns on it
//! DIR/usage/<system>     one line per certificate:
//!                        `<fingerprint hex> <RFC 3339 time> <address or -> <RFC 3339 first use>`
//!                        (files written before first uses were kept lack the last field)
//! DIR/usage/.tmp-…       a file being written; renamed over the system's file
//! ```
//!
//! A flush reads the system's file, keeps the newest use of each certificate, and replaces
//! the file atomically (temporary file, fsync, rename, fsync of the directory). Reads take
//! the store's care: never through a symbolic link, regular files only, bounded; a line
//! that cannot be read is reported and the others are served.

use std::fs;
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::store::access;
use super::store::ops::{self, FileOps, RealFiles};
use crate::backend::usage::{LastUse, SystemUsage, UsageBatch};
use crate::clock::rfc3339;
use crate::fingerprint::Fingerprint;
use crate::store::{DamagedEntry, EntryDamage, StoreError};
use crate::system::SystemName;

/// The folder of the usage files, in the registry's directory.
const USAGE: &str = "usage";
/// A usage file larger than this is damaged (a line is about 160 bytes: 100,000
/// certificates fit in 16 MiB).
const MAX_USAGE_BYTES: u64 = 32 << 20;
/// Lines of the write protocol, never a system's name (which cannot start with a dot).
const LOCK_FILE: &str = ".lock";
const TEMPORARY_PREFIX: &str = ".tmp-";

/// The usage files of a registry directory.
#[derive(Debug)]
pub(super) struct UsageFiles {
    dir: PathBuf,
    shared_group: bool,
}

/// Distinguishes the temporary files of one process's flushes.
static TEMPORARIES: AtomicU64 = AtomicU64::new(0);

impl UsageFiles {
    pub(super) fn new(registry_dir: &Path, shared_group: bool) -> Self {
        UsageFiles {
            dir: registry_dir.join(USAGE),
            shared_group,
        }
    }

    fn path_of(&self, system: &SystemName) -> PathBuf {
        self.dir.join(system.as_str())
    }

    /// Whether the folder is there and a folder of its own (not a link); created if
    /// missing and `create`.
    fn folder(&self, create: bool) -> Result<bool, StoreError> {
        match fs::symlink_metadata(&self.dir) {
            Ok(metadata) if metadata.is_dir() => {
                // Uses decide nothing, but a folder others could write is no record of them.
                access::check_directory(&self.dir, self.shared_group)?;
                Ok(true)
            }
            Ok(_) => Err(StoreError::Damaged(DamagedEntry {
                location: self.dir.clone(),
                problem: EntryDamage::Unreadable(
                    "expected the folder of the usage files, found something else (a link?)".into(),
                ),
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if create {
                    access::create_directory(&self.dir, access::directory_mode(self.shared_group))?;
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            Err(error) => Err(StoreError::io("read", &self.dir)(error)),
        }
    }

    /// Writes one flush: each system's file merged with its new uses and replaced.
    pub(super) fn write(&self, batch: &UsageBatch) -> Result<(), StoreError> {
        self.folder(true)?;
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = ops::open_lock_file(&lock_path, access::file_mode(self.shared_group))
            .map_err(StoreError::io("open", &lock_path))?;
        ops::lock(&lock, true).map_err(StoreError::io("lock", &lock_path))?;
        for (system, uses) in batch {
            let mut usage = self.read(system)?;
            for (fingerprint, last) in uses {
                usage.merge(*fingerprint, *last);
            }
            self.replace(system, &encode(&usage))?;
        }
        Ok(())
    }

    fn replace(&self, system: &SystemName, content: &[u8]) -> Result<(), StoreError> {
        let files = RealFiles;
        let temporary = self.dir.join(format!(
            "{TEMPORARY_PREFIX}{system}-{}-{}",
            std::process::id(),
            TEMPORARIES.fetch_add(1, Ordering::Relaxed)
        ));
        let target = self.path_of(system);
        let written = (|| {
            let mut file = files.create_new(&temporary, access::file_mode(self.shared_group))?;
            files.write_all(&mut file, content)?;
            files.sync(&file)?;
            files.rename(&temporary, &target)?;
            files.sync_dir(&self.dir)
        })();
        if written.is_err() {
            let _ = files.remove(&temporary);
        }
        written.map_err(StoreError::io("write", &target))
    }

    /// Removes a system's usage file (under the flushers' lock, so that no flush puts it
    /// back with what it read before).
    pub(super) fn forget(&self, system: &SystemName) -> Result<(), StoreError> {
        if !self.folder(false)? {
            return Ok(());
        }
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = ops::open_lock_file(&lock_path, access::file_mode(self.shared_group))
            .map_err(StoreError::io("open", &lock_path))?;
        ops::lock(&lock, true).map_err(StoreError::io("lock", &lock_path))?;
        let path = self.path_of(system);
        match RealFiles.remove(&path) {
            Ok(()) => RealFiles
                .sync_dir(&self.dir)
                .map_err(StoreError::io("write", &self.dir)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StoreError::io("remove", &path)(error)),
        }
    }

    /// A system's usage file: its uses and its damaged lines (a file that cannot be read
    /// at all is one damaged entry; a missing one holds nothing).
    pub(super) fn read(&self, system: &SystemName) -> Result<SystemUsage, StoreError> {
        let mut usage = SystemUsage::default();
        let path = self.path_of(system);
        if !self.folder(false)? {
            return Ok(usage);
        }
        match read_bounded(&path) {
            Ok(Some(bytes)) => decode(&path, &bytes, &mut usage),
            Ok(None) => {}
            Err(problem) => usage.damaged.push(DamagedEntry {
                location: path,
                problem,
            }),
        }
        Ok(usage)
    }
}

/// The content of a file, opened without following a link or blocking, checked to be a
/// regular file on the descriptor, and at most [`MAX_USAGE_BYTES`]; `None` if missing.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, EntryDamage> {
    let file = match ops::open_for_reading(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) if ops::is_symbolic_link_error(&error) => return Err(EntryDamage::SymbolicLink),
        Err(error) => return Err(EntryDamage::Unreadable(error.to_string())),
    };
    let metadata = file
        .metadata()
        .map_err(|error| EntryDamage::Unreadable(error.to_string()))?;
    if !metadata.is_file() {
        return Err(EntryDamage::Unreadable(
            "expected a regular file, found something else".into(),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_USAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| EntryDamage::Unreadable(error.to_string()))?;
    if bytes.len() as u64 > MAX_USAGE_BYTES {
        return Err(EntryDamage::Unreadable(format!(
            "more than {MAX_USAGE_BYTES} bytes, expected a small usage file"
        )));
    }
    Ok(Some(bytes))
}

fn encode(usage: &SystemUsage) -> Vec<u8> {
    let mut out = String::with_capacity(usage.uses.len() * 160);
    for (fingerprint, last) in &usage.uses {
        let peer = last
            .peer
            .map_or_else(|| "-".to_string(), |peer| peer.to_string());
        out.push_str(&format!(
            "{fingerprint} {} {peer} {}\n",
            rfc3339(last.at),
            rfc3339(last.first)
        ));
    }
    out.into_bytes()
}

fn decode(path: &Path, bytes: &[u8], usage: &mut SystemUsage) {
    for (number, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match decode_line(line) {
            Ok((fingerprint, last)) => usage.merge(fingerprint, last),
            Err(problem) => usage.damaged.push(DamagedEntry {
                location: PathBuf::from(format!("{}:{}", path.display(), number + 1)),
                problem: EntryDamage::Unreadable(problem),
            }),
        }
    }
}

fn decode_line(line: &[u8]) -> Result<(Fingerprint, LastUse), String> {
    let text = std::str::from_utf8(line).map_err(|_| "a line that is not UTF-8".to_string())?;
    let expected = "expected `<fingerprint> <RFC 3339 time> <address or -> <RFC 3339 time>`";
    let mut fields = text.split(' ');
    let (Some(fingerprint), Some(at), Some(peer), first, None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(format!(
            "{expected}, found {} field(s)",
            text.split(' ').count()
        ));
    };
    let fingerprint: Fingerprint = fingerprint
        .parse()
        .map_err(|error| format!("{expected}: the fingerprint: {error}"))?;
    let at = OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|error| format!("{expected}: the time: {error}"))?;
    let peer = match peer {
        "-" => None,
        peer => Some(
            peer.parse::<IpAddr>()
                .map_err(|error| format!("{expected}: the address: {error}"))?,
        ),
    };
    let first = match first {
        // Written before first uses were kept: the first use known is this last one.
        None => at,
        Some(first) => OffsetDateTime::parse(first, &Rfc3339)
            .map_err(|error| format!("{expected}: the first use: {error}"))?
            .min(at),
    };
    Ok((fingerprint, LastUse { at, peer, first }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_damaged_ones_are_reported() {
        let mut usage = SystemUsage::default();
        usage.merge(
            Fingerprint::from_bytes([1; 32]),
            LastUse {
                at: time::macros::datetime!(2026-06-01 0:00:00.123456 UTC),
                peer: Some("2001:db8::1".parse().unwrap()),
                first: time::macros::datetime!(2026-05-01 0:00 UTC),
            },
        );
        usage.merge(
            Fingerprint::from_bytes([2; 32]),
            LastUse {
                at: time::macros::datetime!(2026-06-02 0:00 UTC),
                peer: None,
                first: time::macros::datetime!(2026-06-02 0:00 UTC),
            },
        );
        let mut bytes = encode(&usage);
        bytes.extend_from_slice(b"garbage\n\xff\xfe\n0101 2026\n");
        // A line of a file written before first uses were kept: first use = last use.
        let old = Fingerprint::from_bytes([3; 32]);
        bytes.extend_from_slice(format!("{old} 2026-06-03T00:00:00Z 192.0.2.1\n").as_bytes());
        // A first use after the last one (edited by hand) is taken as the last one.
        let odd = Fingerprint::from_bytes([4; 32]);
        bytes.extend_from_slice(
            format!("{odd} 2026-06-03T00:00:00Z - 2026-07-01T00:00:00Z\n").as_bytes(),
        );
        let mut read = SystemUsage::default();
        decode(Path::new("u"), &bytes, &mut read);
        assert_eq!(read.damaged.len(), 3);
        for (fingerprint, last) in &usage.uses {
            assert_eq!(read.uses.get(fingerprint), Some(last));
        }
        let june_3 = time::macros::datetime!(2026-06-03 0:00 UTC);
        let old = read.uses.get(&old).unwrap();
        assert_eq!((old.at, old.first), (june_3, june_3));
        assert_eq!(read.uses.get(&odd).unwrap().first, june_3);
    }
}
