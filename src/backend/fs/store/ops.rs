//! The file operations that change a store's directory, behind a seam so that tests can make
//! each one fail in turn, and the one way a store opens a file to read it.

use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::path::Path;

/// Every operation a write makes that can fail on its own: tests replace [`RealFiles`] with an
/// implementation whose step k fails, or whose steps from k on all fail (a crash).
pub(crate) trait FileOps: Send + Sync + std::fmt::Debug {
    /// Creates a new file (never an existing one) with exactly `mode`.
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File>;
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
    fn sync(&self, file: &File) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Removes an empty directory (`rmdir`: never a link, never what a directory holds).
    fn remove_directory(&self, path: &Path) -> io::Result<()>;
    /// Replaces the content of the lock file with a bundle's intent and makes it durable.
    fn write_intent(&self, lock: &mut File, intent: &[u8]) -> io::Result<()>;
    /// Empties the lock file (the bundle is complete, or undone) and makes that durable.
    fn clear_intent(&self, lock: &mut File) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug)]
pub(crate) struct RealFiles;

impl FileOps for RealFiles {
    fn create_new(&self, path: &Path, mode: u32) -> io::Result<File> {
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let file = options.open(path)?;
        // The umask may have taken bits away: the mode is exactly what the store chose.
        set_mode(&file, mode)?;
        Ok(file)
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

    fn remove_directory(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    fn write_intent(&self, lock: &mut File, intent: &[u8]) -> io::Result<()> {
        lock.set_len(0)?;
        lock.rewind()?;
        lock.write_all(intent)?;
        lock.sync_data()
    }

    fn clear_intent(&self, lock: &mut File) -> io::Result<()> {
        lock.set_len(0)?;
        lock.sync_data()
    }
}

/// Opens a file of the store for reading without following a symbolic link and without
/// blocking (a FIFO or a device swapped in after a check opens at once; the caller checks the
/// type on the descriptor before reading).
#[cfg(unix)]
pub(crate) fn open_for_reading(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let descriptor = rustix::fs::open(path, flags, Mode::empty())?;
    Ok(File::from(descriptor))
}

#[cfg(not(unix))]
pub(crate) fn open_for_reading(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Whether an open error says the path is a symbolic link that `O_NOFOLLOW` refused.
pub(crate) fn is_symbolic_link_error(error: &io::Error) -> bool {
    #[cfg(unix)]
    return error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error());
    #[cfg(not(unix))]
    return {
        let _ = error;
        false
    };
}

/// The store's lock file, opened without following a link; writers of one directory, in any
/// process, take it exclusively, readers never. A lock file this call creates gets exactly
/// `mode`, whatever the umask (which could take a shared group's read bit away).
pub(crate) fn open_lock_file(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = File::options();
    options.read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    // Created with O_EXCL first, so that only the creator sets the mode (an existing file's
    // mode is its owner's choice, and another process may hold it open); removed between the
    // two opens, it is made again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match options.clone().create_new(true).open(path) {
            Ok(file) => {
                set_mode(&file, mode)?;
                return Ok(file);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
        match options.open(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound && attempts < 3 => continue,
            opened => return opened,
        }
    }
}

/// Gives a file this process just created exactly `mode` (the umask may have taken bits away).
pub(crate) fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    #[cfg(not(unix))]
    let _ = (file, mode);
    Ok(())
}

/// Takes the advisory lock on an open lock file, waiting for it (`wait`) or not.
#[cfg(unix)]
pub(crate) fn lock(file: &File, wait: bool) -> io::Result<()> {
    use rustix::fs::FlockOperation;
    let operation = if wait {
        FlockOperation::LockExclusive
    } else {
        FlockOperation::NonBlockingLockExclusive
    };
    Ok(rustix::fs::flock(file, operation)?)
}

#[cfg(not(unix))]
pub(crate) fn lock(_file: &File, _wait: bool) -> io::Result<()> {
    Ok(())
}

/// Fsyncs a directory, so that the renames and removals in it are durable.
pub(crate) fn sync_directory(dir: &Path) -> io::Result<()> {
    RealFiles.sync_dir(dir)
}
