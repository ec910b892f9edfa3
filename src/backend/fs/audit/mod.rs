//! The audit trail of a registry directory:
//!
//! ```text
//! DIR/audit/audit.jsonl                      the current file: one JSON record a line
//! DIR/audit/audit-<n>.jsonl                  files rotated out of it (the highest n the newest)
//! DIR/audit/imported/<system>/cert_client_…  the record of the import that added a
//!                                            certificate, beside the trail (an index)
//! ```
//!
//! Every change of the registry takes the current file's advisory lock first and holds it
//! until its record is written and synced (see the [backend](super)), so the trail's
//! order is the order of the changes. Files are opened as certificate files are: never
//! through a symbolic link, without blocking, regular files only, read no further than their
//! length when opened, backwards from the newest record.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::store::ops::FileOps;
use super::store::{access, ops};
use crate::audit::{AuditHistory, AuditRecord, HistoryQuery, DAMAGED_REPORTED};
use crate::fingerprint::CertificateName;
use lines::{Line, LINE_LIMIT};

mod lines;
use crate::store::StoreError;
use crate::system::SystemName;

/// The audit trail of a registry directory (see the module's docs).
#[derive(Debug)]
pub(crate) struct AuditFiles {
    dir: PathBuf,
    shared_group: bool,
    rotate_at: u64,
}

const CURRENT: &str = "audit.jsonl";
const IMPORTED: &str = "imported";
/// The current file is rotated once it holds more than this.
pub(crate) const ROTATE_AT: u64 = 16 << 20;

/// A rotated file and its number.
type Numbered = (u64, PathBuf);

/// An append in progress: the current file, opened and locked, and where it ended. Dropping
/// it releases the lock.
#[derive(Debug)]
pub(crate) struct Append {
    file: File,
    path: PathBuf,
    start: u64,
    /// The file ends with a line torn by a crash: the next record starts a fresh line.
    torn: bool,
    /// What this append wrote, for [`take_back`](Self::take_back).
    written: u64,
}

impl Append {
    /// Writes the records as whole lines and syncs them; on failure, cuts the file back to
    /// where it ended, so that no part of a record stays.
    pub(crate) fn write(&mut self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let mut text = String::new();
        if self.torn {
            text.push('\n');
        }
        for record in records {
            text.push_str(&record.to_json());
            text.push('\n');
        }
        let written = self
            .file
            .seek(SeekFrom::Start(self.start))
            .and_then(|_| self.file.write_all(text.as_bytes()))
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.written = text.len() as u64;
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(self.start);
                let _ = self.file.sync_data();
                Err(StoreError::io("write the audit trail", &self.path)(source))
            }
        }
    }

    /// Takes back what [`write`](Self::write) wrote: the change it recorded was not made.
    pub(crate) fn take_back(&mut self) -> Result<(), StoreError> {
        self.file
            .set_len(self.start)
            .and_then(|()| self.file.sync_data())
            .map_err(StoreError::io("write the audit trail", &self.path))?;
        self.written = 0;
        Ok(())
    }
}

impl AuditFiles {
    pub(crate) fn open(
        registry_dir: &Path,
        shared_group: bool,
        rotate_at: u64,
    ) -> Result<Self, StoreError> {
        let dir = registry_dir.join("audit");
        match fs::symlink_metadata(&dir) {
            Ok(metadata) if metadata.is_dir() => check_owner_only(&dir, &metadata, shared_group)?,
            Ok(_) => {
                return Err(StoreError::io("open the audit trail", &dir)(
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a directory (a symbolic link is never followed)",
                    ),
                ))
            }
            Err(_) => access::create_directory(&dir, access::directory_mode(shared_group))?,
        }
        Ok(AuditFiles {
            dir,
            shared_group,
            rotate_at,
        })
    }

    fn current(&self) -> PathBuf {
        self.dir.join(CURRENT)
    }

    /// Opens and locks the current file for an append. Fails, before any change is made,
    /// when the trail cannot be written: the file is a directory, a FIFO, a link or anything
    /// but a regular file, or cannot be opened or locked.
    pub(crate) fn begin(&self) -> Result<Append, StoreError> {
        let path = self.current();
        // A rotation renames the file under its lock: a writer that waited on the old file
        // opens the new one.
        for _ in 0..8 {
            let mut file = open_for_append(&path, access::file_mode(self.shared_group))
                .map_err(StoreError::io("write the audit trail", &path))?;
            let metadata = file
                .metadata()
                .map_err(StoreError::io("write the audit trail", &path))?;
            if !metadata.is_file() {
                return Err(StoreError::io("write the audit trail", &path)(
                    io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
                ));
            }
            ops::lock(&file, true).map_err(StoreError::io("lock the audit trail", &path))?;
            if !same_file(&file, &path) {
                continue;
            }
            let start = file
                .seek(SeekFrom::End(0))
                .map_err(StoreError::io("write the audit trail", &path))?;
            let torn = start > 0 && !ends_with_newline(&mut file, start);
            return Ok(Append {
                file,
                path,
                start,
                torn,
                written: 0,
            });
        }
        Err(StoreError::io("write the audit trail", &path)(
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "the file kept being replaced while waiting for its lock",
            ),
        ))
    }

    /// After an append is written and its change made: indexes the imports it recorded and
    /// rotates the current file if it grew past its size. Neither can fail the change, which
    /// is recorded: a missing index entry makes its lookup read the trail, and the next
    /// append rotates.
    pub(crate) fn finish(&self, append: Append, records: &[AuditRecord]) {
        for record in records {
            if let (Some(system), Some(certificate)) = (&record.system, &record.certificate) {
                if record.action == crate::audit::AuditAction::Import
                    && record.outcome == crate::audit::AuditOutcome::Added
                {
                    self.index_import(system, certificate, record);
                } else if matches!(
                    record.action,
                    crate::audit::AuditAction::Delete | crate::audit::AuditAction::Purge
                ) {
                    let _ = fs::remove_file(self.imported_path(system, certificate));
                }
            }
        }
        if append.start + append.written > self.rotate_at {
            let _ = self.rotate(&append.path);
        }
    }

    /// Renames the current file to the next `audit-<n>.jsonl` (under its lock, held by the
    /// caller), so that the next append starts a new one.
    fn rotate(&self, current: &Path) -> Result<(), StoreError> {
        let (files, _) = self.rotated()?;
        let next = files.last().map_or(1, |(number, _)| number + 1);
        let target = self.dir.join(format!("audit-{next}.jsonl"));
        fs::rename(current, &target).map_err(StoreError::io("rotate the audit trail", current))?;
        ops::sync_directory(&self.dir).map_err(StoreError::io("sync directory", &self.dir))
    }

    /// The rotated files, oldest first, and the entries named like them that are not regular
    /// files (reported, never read).
    fn rotated(&self) -> Result<(Vec<Numbered>, Vec<String>), StoreError> {
        let mut files = Vec::new();
        let mut odd = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok((files, odd)),
            Err(source) => return Err(StoreError::io("read directory", &self.dir)(source)),
        };
        for entry in entries {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|name| name.strip_prefix("audit-"))
                .and_then(|name| name.strip_suffix(".jsonl"))
                .and_then(|number| number.parse::<u64>().ok());
            let Some(number) = number else { continue };
            match entry.file_type() {
                Ok(kind) if kind.is_file() => files.push((number, entry.path())),
                _ => odd.push(format!(
                    "{}: not a regular file of the audit trail; not read",
                    entry.path().display()
                )),
            }
        }
        files.sort();
        Ok((files, odd))
    }

    /// The records the query asks for, newest first, reading each file backwards and
    /// stopping at the limit. A file that cannot be read, or a line that is not a record,
    /// is reported among the damaged lines; nothing fails the whole history.
    pub(crate) fn history(&self, query: &HistoryQuery, limit: usize) -> AuditHistory {
        let mut history = AuditHistory::default();
        if limit > 0 {
            self.read_newest_first(
                &mut history,
                &mut |record| query.matches(&record).then_some(record),
                limit,
            );
        }
        history
    }

    /// Reads the whole trail newest first (the current file, then the rotated ones from the
    /// newest, each backwards), keeping the records `keep` returns, until the history holds
    /// `limit` records. A directory that cannot be listed, and an entry named like a rotated
    /// file that is not a regular file, are noted among the damaged lines.
    fn read_newest_first(
        &self,
        history: &mut AuditHistory,
        keep: &mut dyn FnMut(AuditRecord) -> Option<AuditRecord>,
        limit: usize,
    ) {
        let (mut files, odd) = match self.rotated() {
            Ok(found) => found,
            Err(error) => (
                Vec::new(),
                vec![crate::ErrorReport::new(&error).to_string()],
            ),
        };
        for line in odd {
            note_damaged(history, line);
        }
        files.push((u64::MAX, self.current()));
        for (_, path) in files.iter().rev() {
            if self
                .read_file_backwards(path, history, keep, limit)
                .is_break()
            {
                break;
            }
        }
    }

    /// Reads one file of the trail backwards, keeping the records `keep` returns, until the
    /// history holds `limit` records.
    fn read_file_backwards(
        &self,
        path: &Path,
        history: &mut AuditHistory,
        keep: &mut dyn FnMut(AuditRecord) -> Option<AuditRecord>,
        limit: usize,
    ) -> ControlFlow<()> {
        let (mut file, length) = match open_to_read(path) {
            Ok(Some(opened)) => opened,
            Ok(None) => return ControlFlow::Continue(()),
            Err(problem) => {
                note_damaged(history, format!("{}: {problem}", path.display()));
                return ControlFlow::Continue(());
            }
        };
        let mut flow = ControlFlow::Continue(());
        let read = lines::for_each_backwards(&mut file, length, |line| {
            match line {
                Line::Text { offset, bytes } => {
                    match std::str::from_utf8(bytes)
                        .ok()
                        .and_then(AuditRecord::from_json)
                    {
                        Some(record) => {
                            if let Some(record) = keep(record) {
                                history.records.push(record);
                            }
                        }
                        None => note_damaged(
                            history,
                            format!(
                                "{} at byte {offset}: not a complete record: {:?}",
                                path.display(),
                                preview(bytes)
                            ),
                        ),
                    }
                }
                Line::TooLong { offset } => note_damaged(
                    history,
                    format!(
                        "{} at byte {offset}: not a record: a line longer than {LINE_LIMIT} bytes",
                        path.display()
                    ),
                ),
            }
            if history.records.len() >= limit {
                flow = ControlFlow::Break(());
            }
            flow
        });
        if let Err(error) = read {
            note_damaged(
                history,
                format!("{}: cannot be read: {error}", path.display()),
            );
        }
        flow
    }

    fn imported_path(&self, system: &SystemName, certificate: &CertificateName) -> PathBuf {
        // Both names are validated (lower-case letters, digits and a few marks): never a path.
        self.dir
            .join(IMPORTED)
            .join(system.as_str())
            .join(certificate.to_string())
    }

    /// Keeps the record of the import that added a certificate beside the trail, replaced
    /// whole (a reader sees the old record or the new one). Best effort: the trail itself
    /// holds the record; without this entry, the lookup reads the trail.
    fn index_import(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
        record: &AuditRecord,
    ) {
        let path = self.imported_path(system, certificate);
        let Some(dir) = path.parent() else { return };
        // One level at a time: each directory made here gets exactly its mode, whatever the
        // umask (a parent made on the way would not).
        let mode = access::directory_mode(self.shared_group);
        if access::create_directory(&self.dir.join(IMPORTED), mode)
            .and_then(|()| access::create_directory(dir, mode))
            .is_err()
        {
            return;
        }
        let temporary = dir.join(format!(".tmp-{}-{certificate}", std::process::id()));
        let _ = fs::remove_file(&temporary);
        let written = ops::RealFiles
            .create_new(&temporary, access::file_mode(self.shared_group))
            .and_then(|mut file| file.write_all(record.to_json().as_bytes()))
            .and_then(|()| fs::rename(&temporary, &path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
    }

    /// The record of the import that added this certificate to this system: from the index
    /// beside the trail, or, without a usable entry there, the newest such record of the
    /// trail (read backwards, stopping at the first).
    pub(crate) fn import_record(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Option<AuditRecord> {
        let indexed = open_to_read(&self.imported_path(system, certificate))
            .ok()
            .flatten()
            .and_then(|(file, length)| {
                if length > LINE_LIMIT as u64 {
                    return None;
                }
                let mut text = String::new();
                file.take(LINE_LIMIT as u64)
                    .read_to_string(&mut text)
                    .ok()?;
                AuditRecord::from_json(text.trim_end())
            })
            .filter(|record| record.is_import_of(system, certificate));
        if indexed.is_some() {
            return indexed;
        }
        // Damaged lines are the history's business, not this lookup's: they are skipped.
        let mut history = AuditHistory::default();
        self.read_newest_first(
            &mut history,
            &mut |record| record.is_import_of(system, certificate).then_some(record),
            1,
        );
        history.records.into_iter().next()
    }

    /// Removes a removed system's import index (best effort).
    pub(crate) fn forget_system(&self, system: &SystemName) {
        let dir = self.dir.join(IMPORTED).join(system.as_str());
        // Only a real directory is removed: a link put there is removed, never followed.
        match fs::symlink_metadata(&dir) {
            Ok(metadata) if metadata.is_dir() => {
                let _ = fs::remove_dir_all(&dir);
            }
            Ok(_) => {
                let _ = fs::remove_file(&dir);
            }
            Err(_) => {}
        }
    }
}

/// Refuses a trail's directory that someone the registry does not trust could change (and
/// so rewrite the history): writable by every user or an untrusted group, or another user's.
#[cfg(unix)]
fn check_owner_only(
    dir: &Path,
    metadata: &fs::Metadata,
    shared_group: bool,
) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let user = rustix::process::geteuid().as_raw();
    let problem = if metadata.uid() != user && metadata.uid() != 0 {
        Some(crate::store::PermissionProblem::OwnedByOtherUser {
            owner: metadata.uid(),
            user,
        })
    } else {
        access::writable_by_others(metadata.mode() & 0o7777, shared_group, false)
    };
    match problem {
        Some(problem) => Err(StoreError::InsecurePermissions {
            path: dir.to_path_buf(),
            problem,
        }),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn check_owner_only(
    _dir: &Path,
    _metadata: &fs::Metadata,
    _shared_group: bool,
) -> Result<(), StoreError> {
    Ok(())
}

/// Notes a damaged line, or past [`DAMAGED_REPORTED`] of them, counts it.
fn note_damaged(history: &mut AuditHistory, line: String) {
    if history.damaged.len() < DAMAGED_REPORTED {
        history.damaged.push(line);
    } else {
        history.more_damaged += 1;
    }
}

/// The start of a line that is not a record, as text (invalid UTF-8 replaced), for a report.
fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(..240).unwrap_or(bytes))
        .chars()
        .take(80)
        .collect()
}

/// Opens a file of the trail to read: `None` if it does not exist; an error saying what is
/// wrong if it is a link, not a regular file, or cannot be opened. Returns its length when
/// opened, past which nothing is read (a file that grows meanwhile, or that is swapped for
/// a device, costs no more).
fn open_to_read(path: &Path) -> Result<Option<(File, u64)>, String> {
    let file = match ops::open_for_reading(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) if ops::is_symbolic_link_error(&error) => {
            return Err("a symbolic link, which the audit trail never follows; not read".into())
        }
        Err(error) => return Err(format!("cannot be opened: {error}")),
    };
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot be read: {error}"))?;
    if !metadata.is_file() {
        return Err("not a regular file; not read".into());
    }
    Ok(Some((file, metadata.len())))
}

/// Opens the current file to append to, creating it with `mode`, never through a link and
/// never blocking (a FIFO put in its place opens at once, and is then refused by its type).
fn open_for_append(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = File::options();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    #[cfg(not(unix))]
    let _ = mode;
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        // Created under any umask, or left by an older version: the mode is the trail's.
        use std::os::unix::fs::PermissionsExt;
        let metadata = file.metadata()?;
        if metadata.is_file() && metadata.permissions().mode() & 0o7777 != mode {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(file)
}

/// Whether the open file is still the one at `path` (not renamed away by a rotation).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::symlink_metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

fn ends_with_newline(file: &mut File, length: u64) -> bool {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(length - 1)).is_ok()
        && file.read_exact(&mut last).is_ok()
        && last == *b"\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditAction, AuditOutcome};
    use time::macros::datetime;

    fn record(index: usize) -> AuditRecord {
        AuditRecord {
            time: datetime!(2026-06-01 0:00 UTC) + time::Duration::seconds(index as i64),
            actor: format!("actor-{index}"),
            system: Some("crm".parse().unwrap()),
            action: AuditAction::Import,
            certificate: None,
            subject: Some("CN=\"quoted\"\n<script>".into()),
            outcome: AuditOutcome::Refused,
            detail: "why".into(),
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("inbound-certs-audit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn append(files: &AuditFiles, records: &[AuditRecord]) {
        let mut append = files.begin().unwrap();
        append.write(records).unwrap();
        files.finish(append, records);
    }

    /// Past its size the current file is rotated; reading goes through every file, newest
    /// first, and the limit stops it.
    #[test]
    fn rotated_files_are_read_newest_first() {
        let dir = scratch("rotate");
        let files = AuditFiles::open(&dir, false, 1000).unwrap();
        for index in 0..30 {
            append(&files, &[record(index)]);
        }
        assert!(files.rotated().unwrap().0.len() >= 5);
        let history = files.history(&HistoryQuery::new(), usize::MAX);
        assert!(history.damaged.is_empty());
        let actors: Vec<String> = history.records.iter().map(|r| r.actor.clone()).collect();
        let expected: Vec<String> = (0..30).rev().map(|i| format!("actor-{i}")).collect();
        assert_eq!(actors, expected);
        assert_eq!(history.records[0], record(29));
        let limited = files.history(&HistoryQuery::new(), 3);
        assert_eq!(limited.records.len(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A record taken back leaves the file as it was; the next append starts where it ended.
    #[test]
    fn a_record_taken_back_leaves_no_trace() {
        let dir = scratch("take-back");
        let files = AuditFiles::open(&dir, false, ROTATE_AT).unwrap();
        append(&files, &[record(1)]);
        let before = fs::read(files.current()).unwrap();
        let mut pending = files.begin().unwrap();
        pending.write(&[record(2), record(3)]).unwrap();
        pending.take_back().unwrap();
        drop(pending);
        assert_eq!(fs::read(files.current()).unwrap(), before);
        append(&files, &[record(4)]);
        let history = files.history(&HistoryQuery::new(), usize::MAX);
        assert_eq!(history.records, vec![record(4), record(1)]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Damaged lines past the first hundred are counted, not listed.
    #[test]
    fn damaged_lines_are_capped() {
        let dir = scratch("damaged-cap");
        let files = AuditFiles::open(&dir, false, ROTATE_AT).unwrap();
        append(&files, &[record(1)]);
        let mut junk = fs::OpenOptions::new()
            .append(true)
            .open(files.current())
            .unwrap();
        for index in 0..1000 {
            writeln!(junk, "junk {index}").unwrap();
        }
        let history = files.history(&HistoryQuery::new(), 10);
        assert_eq!(history.records, vec![record(1)]);
        assert_eq!(history.damaged.len(), DAMAGED_REPORTED);
        assert_eq!(history.more_damaged, 1000 - DAMAGED_REPORTED);
        assert!(
            history.damaged[0].contains("not a complete record: \"junk 999\""),
            "{}",
            history.damaged[0]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A text field longer than the limit is cut, at a character boundary, with a mark.
    #[test]
    fn long_fields_are_cut() {
        let mut long = record(1);
        long.subject = Some("é".repeat(10_000));
        let line = long.to_json();
        let back = AuditRecord::from_json(&line).unwrap();
        let subject = back.subject.unwrap();
        assert!(subject.len() <= crate::audit::FIELD_LIMIT);
        assert!(subject.ends_with('…'));
        assert!(line.len() < 3 * crate::audit::FIELD_LIMIT);
    }
}
