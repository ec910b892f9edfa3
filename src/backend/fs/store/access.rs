//! Who may change what a store trusts: the checks ssh's StrictModes makes of `~/.ssh`, made of
//! a store's directory before it is opened, and the modes its directory and files are given.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::{PermissionProblem, StoreError};

/// Mode of a store's directory: its owner only, or its owner and a trusted group.
pub(crate) fn directory_mode(shared_group: bool) -> u32 {
    if shared_group {
        0o770
    } else {
        0o700
    }
}

/// Mode of a certificate file: never writable in place (files are replaced, not edited).
pub(crate) fn file_mode(shared_group: bool) -> u32 {
    if shared_group {
        0o640
    } else {
        0o600
    }
}

/// The process's identity, as ownership checks need it.
#[cfg(unix)]
struct Identity {
    user: u32,
    groups: Vec<u32>,
}

#[cfg(unix)]
impl Identity {
    fn current() -> Self {
        let mut groups: Vec<u32> = rustix::process::getgroups()
            .map(|groups| groups.into_iter().map(|gid| gid.as_raw()).collect())
            .unwrap_or_default();
        groups.push(rustix::process::getegid().as_raw());
        Identity {
            user: rustix::process::geteuid().as_raw(),
            groups,
        }
    }

    fn trusts_owner(&self, owner: u32) -> bool {
        owner == self.user || owner == 0
    }
}

/// Refuses a store directory that someone other than the process's user, root or (with
/// `shared_group`) the directory's group could change: the directory itself, every parent up
/// to `/` (a world-writable parent is fine when sticky, as `/tmp` is), and the link the path
/// may be. Returns the directory's canonical path.
#[cfg(unix)]
pub(crate) fn check_directory(dir: &Path, shared_group: bool) -> Result<PathBuf, StoreError> {
    use std::os::unix::fs::MetadataExt;

    let identity = Identity::current();
    let refuse = |path: &Path, problem| StoreError::InsecurePermissions {
        path: path.to_path_buf(),
        problem,
    };
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            StoreError::NoDirectory(dir.to_path_buf())
        } else {
            StoreError::io("open directory", dir.to_path_buf())(source)
        }
    };
    let link = fs::symlink_metadata(dir).map_err(io_error)?;
    if link.file_type().is_symlink() && !identity.trusts_owner(link.uid()) {
        return Err(refuse(
            dir,
            PermissionProblem::LinkOwnedByOtherUser {
                owner: link.uid(),
                user: identity.user,
            },
        ));
    }
    let canonical = fs::canonicalize(dir).map_err(io_error)?;
    let metadata = fs::metadata(&canonical).map_err(io_error)?;
    if !metadata.is_dir() {
        return Err(StoreError::NoDirectory(dir.to_path_buf()));
    }
    let mode = metadata.mode() & 0o7777;
    let group_trusted = shared_group && identity.groups.contains(&metadata.gid());
    if !identity.trusts_owner(metadata.uid()) && !group_trusted {
        return Err(refuse(
            dir,
            PermissionProblem::OwnedByOtherUser {
                owner: metadata.uid(),
                user: identity.user,
            },
        ));
    }
    if let Some(problem) = writable_by_others(mode, shared_group, false) {
        return Err(refuse(dir, problem));
    }
    // Whoever may write to a parent may move the store away and put another in its place.
    for parent in canonical.ancestors().skip(1) {
        let metadata = fs::metadata(parent).map_err(StoreError::io(
            "check the permissions of",
            parent.to_path_buf(),
        ))?;
        let mode = metadata.mode() & 0o7777;
        if !identity.trusts_owner(metadata.uid()) {
            return Err(refuse(
                parent,
                PermissionProblem::OwnedByOtherUser {
                    owner: metadata.uid(),
                    user: identity.user,
                },
            ));
        }
        // Sticky (as /tmp is): others may add entries, not move or replace this one.
        if let Some(problem) = writable_by_others(mode, shared_group, true) {
            return Err(refuse(parent, problem));
        }
    }
    Ok(canonical)
}

/// Why a directory inside a registry (a system's directory, found by `lstat`, never through a
/// link) could be changed by someone the registry does not trust, if it could: the checks
/// [`check_directory`] makes of the directory itself.
#[cfg(unix)]
pub(crate) fn directory_problem(
    metadata: &fs::Metadata,
    shared_group: bool,
) -> Option<PermissionProblem> {
    use std::os::unix::fs::MetadataExt;
    let identity = Identity::current();
    let group_trusted = shared_group && identity.groups.contains(&metadata.gid());
    if !identity.trusts_owner(metadata.uid()) && !group_trusted {
        return Some(PermissionProblem::OwnedByOtherUser {
            owner: metadata.uid(),
            user: identity.user,
        });
    }
    writable_by_others(metadata.mode() & 0o7777, shared_group, false)
}

#[cfg(not(unix))]
pub(crate) fn directory_problem(
    _metadata: &fs::Metadata,
    _shared_group: bool,
) -> Option<PermissionProblem> {
    None
}

/// Who besides the owner may write to a file or directory of these permission bits, if
/// anyone the store does not trust: every user, or the group unless it is trusted. With
/// `sticky_exempt`, a sticky directory is no problem (its entries are its owners' alone).
#[cfg(unix)]
pub(crate) fn writable_by_others(
    mode: u32,
    group_trusted: bool,
    sticky_exempt: bool,
) -> Option<PermissionProblem> {
    if sticky_exempt && mode & 0o1000 != 0 {
        None
    } else if mode & 0o002 != 0 {
        Some(PermissionProblem::WritableByOthers { mode })
    } else if mode & 0o020 != 0 && !group_trusted {
        Some(PermissionProblem::WritableByGroup { mode })
    } else {
        None
    }
}

#[cfg(not(unix))]
pub(crate) fn check_directory(dir: &Path, _shared_group: bool) -> Result<PathBuf, StoreError> {
    match fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(dir.to_path_buf()),
        Ok(_) => Err(StoreError::NoDirectory(dir.to_path_buf())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            Err(StoreError::NoDirectory(dir.to_path_buf()))
        }
        Err(source) => Err(StoreError::io("open directory", dir.to_path_buf())(source)),
    }
}

/// Creates `dir` and its missing parents, new ones with `mode` whatever the umask, and gives
/// `dir` itself exactly `mode` if this call created it.
pub(crate) fn create_directory(dir: &Path, mode: u32) -> Result<(), StoreError> {
    let existed = fs::symlink_metadata(dir).is_ok();
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
    builder
        .create(dir)
        .map_err(StoreError::io("create directory", dir))?;
    #[cfg(unix)]
    if !existed {
        // The umask may have taken bits away from the owner; put exactly `mode` back.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(StoreError::io("create directory", dir))?;
    }
    #[cfg(not(unix))]
    let _ = (existed, mode);
    Ok(())
}
