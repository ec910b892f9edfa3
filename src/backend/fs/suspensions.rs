//! The suspensions of a system's certificates on disk: one small file per suspended
//! certificate beside its certificate file, `DIR/systems/<name>/cert_client_<hex>.suspended`,
//! holding one JSON object (`reason`, `since` in RFC 3339, `by`).
//!
//! A suspension file is written as a certificate file is (a temporary file made with
//! `O_EXCL`, written, fsynced, renamed into place, the directory fsynced) and read with the
//! same care (never through a link, regular files only, not writable by others, at most
//! [`MAX_BYTES`] read). A file that is there but cannot be read for any of these reasons
//! still suspends its certificate, with a reason that says why: an unreadable suspension
//! never makes a certificate trusted again. The store's listing never mistakes these files
//! for damaged certificates (it looks only at names of exactly `cert_client_<hex>.der`).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::store::{access, ops};
use crate::backend::Suspensions;
use crate::fingerprint::CertificateName;
use crate::store::{StoreError, Suspension};

/// The extension of a suspension file.
const EXTENSION: &str = ".suspended";
/// The prefix of a suspension being written (the store's own prefix for temporary files, so
/// that leftovers of a writer that died are removed as the store removes its own).
const TEMPORARY_PREFIX: &str = ".tmp-suspension-";
/// The most a suspension file is read of: a reason of 500 characters and an actor of 4096
/// bytes, each escaped, fit many times over.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    reason: String,
    since: String,
    by: String,
}

fn path_of(dir: &Path, name: &CertificateName) -> PathBuf {
    dir.join(format!("{name}{EXTENSION}"))
}

/// Every suspension in the system's directory `dir`.
pub(super) fn read_all(dir: &Path, shared_group: bool) -> Result<Suspensions, StoreError> {
    let mut suspensions = Suspensions::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(StoreError::NoDirectory(dir.to_path_buf()))
        }
        Err(error) => return Err(StoreError::io("read directory", dir)(error)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io("read directory", dir))?;
        let file_name = entry.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|text| text.strip_suffix(EXTENSION))
            .and_then(|stem| CertificateName::from_ascii(stem.as_bytes()))
        else {
            continue;
        };
        if let Some(suspension) = read_file(&entry.path(), shared_group) {
            suspensions.insert(name, suspension);
        }
    }
    Ok(suspensions)
}

/// The suspension of one certificate, if it is suspended.
pub(super) fn read_one(
    dir: &Path,
    name: &CertificateName,
    shared_group: bool,
) -> Option<Suspension> {
    read_file(&path_of(dir, name), shared_group)
}

/// A suspension file's suspension; `None` when there is no file. A file that cannot be read
/// suspends all the same (see the [module](self)).
fn read_file(path: &Path, shared_group: bool) -> Option<Suspension> {
    let unreadable = |problem: String| {
        Some(Suspension::stored(
            format!(
                "the suspension file {} cannot be read ({problem}); resume the certificate to trust it again",
                path.display()
            ),
            OffsetDateTime::UNIX_EPOCH,
            "unknown".to_string(),
        ))
    };
    let file = match ops::open_for_reading(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return None,
        Err(error) if ops::is_symbolic_link_error(&error) => {
            return unreadable("it is a symbolic link".into())
        }
        Err(error) => return unreadable(error.to_string()),
    };
    let metadata = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return unreadable(error.to_string()),
    };
    if !metadata.is_file() {
        return unreadable("not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Some(problem) =
            access::writable_by_others(metadata.permissions().mode() & 0o7777, shared_group, false)
        {
            return unreadable(problem.to_string());
        }
    }
    #[cfg(not(unix))]
    let _ = shared_group;
    if metadata.len() > MAX_BYTES {
        return unreadable(format!("it is {} bytes, too large", metadata.len()));
    }
    let mut bytes = Vec::new();
    if let Err(error) = file.take(MAX_BYTES).read_to_end(&mut bytes) {
        return unreadable(error.to_string());
    }
    let stored: Stored = match serde_json::from_slice(&bytes) {
        Ok(stored) => stored,
        Err(error) => return unreadable(format!("not a suspension: {error}")),
    };
    let since = match OffsetDateTime::parse(&stored.since, &Rfc3339) {
        Ok(since) => since,
        Err(error) => return unreadable(format!("its time: {error}")),
    };
    Some(Suspension::stored(stored.reason, since, stored.by))
}

/// Writes a certificate's suspension durably, replacing the one it had.
pub(super) fn write(
    dir: &Path,
    name: &CertificateName,
    suspension: &Suspension,
    shared_group: bool,
) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let stored = Stored {
        reason: suspension.reason().to_string(),
        since: suspension.since().format(&Rfc3339).map_err(|error| {
            StoreError::io("write", path_of(dir, name))(io::Error::other(error))
        })?,
        by: suspension.by().to_string(),
    };
    let text = serde_json::to_string(&stored)
        .map_err(|error| StoreError::io("write", path_of(dir, name))(io::Error::other(error)))?;
    let temporary = dir.join(format!(
        "{TEMPORARY_PREFIX}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let target = path_of(dir, name);
    let written = (|| {
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, access::file_mode(shared_group));
        let mut file = options
            .open(&temporary)
            .map_err(StoreError::io("write", &temporary))?;
        ops::set_mode(&file, access::file_mode(shared_group))
            .map_err(StoreError::io("write", &temporary))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(StoreError::io("write", &temporary))?;
        fs::rename(&temporary, &target).map_err(StoreError::io("write", &target))
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    ops::sync_directory(dir).map_err(StoreError::io("sync directory", dir))
}

/// Removes a certificate's suspension durably; whether there was one.
pub(super) fn remove(dir: &Path, name: &CertificateName) -> Result<bool, StoreError> {
    let path = path_of(dir, name);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        // A directory made under the name (never by the store): `rmdir` removes it if empty.
        Err(_) if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) => {
            fs::remove_dir(&path).map_err(StoreError::io("remove", &path))?;
        }
        Err(error) => return Err(StoreError::io("remove", &path)(error)),
    }
    ops::sync_directory(dir).map_err(StoreError::io("sync directory", dir))?;
    Ok(true)
}
