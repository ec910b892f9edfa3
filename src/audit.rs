//! The audit trail: one record for every change of a registry (each import, refusal, delete,
//! purge and system change), durable before the change is acknowledged, read back newest
//! first.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::fingerprint::CertificateName;
use crate::store::file::{access, ops};
use crate::store::StoreError;
use crate::sync::MutexExt;
use crate::system::SystemName;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditAction {
    /// An import of a certificate (one record per certificate of an upload), or of an upload
    /// refused before any certificate was read from it.
    Import,
    /// A delete of a certificate.
    Delete,
    /// A delete of an expired certificate by `purge_expired` or the monitor.
    Purge,
    /// A system was registered.
    CreateSystem,
    /// A system was removed (with its certificates, if it had any).
    RemoveSystem,
    /// A login to the administration console was refused (the actor is the client's
    /// address; nothing changed).
    Login,
}

impl AuditAction {
    /// `import`, `delete`, `purge`, `create_system` or `remove_system`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Import => "import",
            AuditAction::Delete => "delete",
            AuditAction::Purge => "purge",
            AuditAction::CreateSystem => "create_system",
            AuditAction::RemoveSystem => "remove_system",
            AuditAction::Login => "login",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "import" => AuditAction::Import,
            "delete" => AuditAction::Delete,
            "purge" => AuditAction::Purge,
            "create_system" => AuditAction::CreateSystem,
            "remove_system" => AuditAction::RemoveSystem,
            "login" => AuditAction::Login,
            _ => return None,
        })
    }
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditOutcome {
    /// The certificate was stored.
    Added,
    /// The certificate was stored already; nothing changed.
    AlreadyPresent,
    /// The upload or certificate was refused (the record's detail says why); nothing changed.
    Refused,
    /// The certificate or system is gone.
    Removed,
    /// The system was registered.
    Created,
}

impl AuditOutcome {
    /// `added`, `already_present`, `refused`, `removed` or `created`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Added => "added",
            AuditOutcome::AlreadyPresent => "already_present",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Removed => "removed",
            AuditOutcome::Created => "created",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "added" => AuditOutcome::Added,
            "already_present" => AuditOutcome::AlreadyPresent,
            "refused" => AuditOutcome::Refused,
            "removed" => AuditOutcome::Removed,
            "created" => AuditOutcome::Created,
            _ => return None,
        })
    }
}

/// One change: when, by whom, to which system and certificate, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditRecord {
    /// When the change was made (by the registry's clock).
    pub time: OffsetDateTime,
    /// Who made it, as the caller named them ([`Registry::acting_as`](crate::Registry::acting_as)).
    pub actor: String,
    /// The system changed.
    pub system: Option<SystemName>,
    /// What was done.
    pub action: AuditAction,
    /// The certificate, when the change is about one.
    pub certificate: Option<CertificateName>,
    /// The certificate's subject (RFC 4514), when known.
    pub subject: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why it was refused, or what else is worth knowing; empty otherwise.
    pub detail: String,
}

impl AuditRecord {
    fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The record as the audit trail's JSON Lines and the console's API write it.
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::json!({
            "time": self.time.format(&Rfc3339).unwrap_or_default(),
            "actor": self.actor,
            "system": self.system.as_ref().map(SystemName::as_str),
            "action": self.action.as_str(),
            "certificate": self.certificate.map(|name| name.to_string()),
            "subject": self.subject,
            "outcome": self.outcome.as_str(),
            "detail": self.detail,
        })
    }

    fn from_json(line: &str) -> Option<AuditRecord> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
        Some(AuditRecord {
            time: OffsetDateTime::parse(text("time")?, &Rfc3339).ok()?,
            actor: text("actor")?.to_owned(),
            system: match text("system") {
                Some(name) => Some(name.parse().ok()?),
                None => None,
            },
            action: AuditAction::parse(text("action")?)?,
            certificate: match text("certificate") {
                Some(name) => Some(name.parse().ok()?),
                None => None,
            },
            subject: text("subject").map(str::to_owned),
            outcome: AuditOutcome::parse(text("outcome")?)?,
            detail: text("detail").unwrap_or_default().to_owned(),
        })
    }
}

impl fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.time.format(&Rfc3339).unwrap_or_default(),
            self.actor,
            self.action.as_str()
        )?;
        if let Some(system) = &self.system {
            write!(f, " system {system}")?;
        }
        if let Some(certificate) = &self.certificate {
            write!(f, " {certificate}")?;
        }
        if let Some(subject) = &self.subject {
            write!(f, " ({subject:?})")?;
        }
        write!(f, ": {}", self.outcome.as_str())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Which records [`Registry::history`](crate::Registry::history) returns: newest first, of one
/// system or all, from an instant on, at most a number of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub(crate) system: Option<SystemName>,
    pub(crate) since: Option<OffsetDateTime>,
    pub(crate) until: Option<OffsetDateTime>,
    pub(crate) limit: Option<usize>,
}

impl HistoryQuery {
    /// Every record, newest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the records of this system.
    pub fn system(mut self, system: SystemName) -> Self {
        self.system = Some(system);
        self
    }

    /// Only records made at or after this instant.
    pub fn since(mut self, since: OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }

    /// Only records made before this instant.
    pub fn until(mut self, until: OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }

    /// At most this many records (the newest).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    fn matches(&self, record: &AuditRecord) -> bool {
        self.system
            .as_ref()
            .is_none_or(|system| record.system.as_ref() == Some(system))
            && self.since.is_none_or(|since| record.time >= since)
            && self.until.is_none_or(|until| record.time < until)
    }
}

/// Records read back, newest first, and the lines of the trail that could not be read (a
/// record torn by a crash while it was written), never hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct History {
    /// The records, newest first.
    pub records: Vec<AuditRecord>,
    /// Lines that are not records, with where they are (`file:line`) and what they hold
    /// (shortened).
    pub damaged: Vec<String>,
}

/// Where a registry keeps its audit trail.
#[derive(Debug)]
pub(crate) enum AuditLog {
    /// The newest records, at most [`MEMORY_RECORDS`].
    Memory(Mutex<VecDeque<AuditRecord>>),
    /// JSON Lines files in a directory.
    Files(AuditFiles),
    /// The `audit` table of a registry on PostgreSQL. The records of a change are inserted
    /// by the change's own transaction; [`append`](Self::append) is for refusals, which
    /// change nothing.
    #[cfg(feature = "postgres")]
    Postgres(crate::store::postgres::AuditTable),
}

/// Records an in-memory registry keeps; the oldest go first.
pub(crate) const MEMORY_RECORDS: usize = 10_000;

impl AuditLog {
    pub(crate) fn memory() -> Self {
        AuditLog::Memory(Mutex::new(VecDeque::new()))
    }

    /// Appends records, durably: a change is acknowledged only after this returns.
    pub(crate) fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        match self {
            AuditLog::Memory(log) => {
                let mut log = log.locked();
                for record in records {
                    if log.len() == MEMORY_RECORDS {
                        log.pop_front();
                    }
                    log.push_back(record.clone());
                }
                Ok(())
            }
            AuditLog::Files(files) => files.append(records),
            #[cfg(feature = "postgres")]
            AuditLog::Postgres(table) => table.append(records),
        }
    }

    pub(crate) fn history(&self, query: &HistoryQuery) -> Result<History, StoreError> {
        let limit = query.limit.unwrap_or(usize::MAX);
        match self {
            AuditLog::Memory(log) => {
                let log = log.locked();
                Ok(History {
                    records: log
                        .iter()
                        .rev()
                        .filter(|record| query.matches(record))
                        .take(limit)
                        .cloned()
                        .collect(),
                    damaged: Vec::new(),
                })
            }
            AuditLog::Files(files) => files.history(query, limit),
            #[cfg(feature = "postgres")]
            AuditLog::Postgres(table) => table.history(query),
        }
    }
}

/// The audit trail of a registry directory: `DIR/audit/audit.jsonl`, one JSON object a line,
/// and the files rotated out of it when it grew past its size (`audit-<n>.jsonl`, the highest
/// `n` the most recent). Appends take an advisory lock on the current file, write whole
/// lines and fsync before returning.
#[derive(Debug)]
pub(crate) struct AuditFiles {
    dir: PathBuf,
    shared_group: bool,
    rotate_at: u64,
}

const CURRENT: &str = "audit.jsonl";
/// The current file is rotated once it holds more than this.
pub(crate) const ROTATE_AT: u64 = 16 << 20;

impl AuditFiles {
    pub(crate) fn open(
        registry_dir: &Path,
        shared_group: bool,
        rotate_at: u64,
    ) -> Result<Self, StoreError> {
        let dir = registry_dir.join("audit");
        if !dir.is_dir() {
            access::create_directory(&dir, access::directory_mode(shared_group))?;
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

    fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        let path = self.current();
        let mut file = ops::open_lock_file(&path, access::file_mode(self.shared_group))
            .map_err(StoreError::io("write the audit trail", &path))?;
        ops::lock(&file, true).map_err(StoreError::io("lock the audit trail", &path))?;
        let length = file
            .seek(SeekFrom::End(0))
            .map_err(StoreError::io("write the audit trail", &path))?;
        let mut text = String::new();
        // A line torn by a crash stays as it is, on a line of its own, and is reported when
        // read; the next record starts on a fresh line.
        if length > 0 && !ends_with_newline(&mut file, length) {
            text.push('\n');
        }
        for record in records {
            text.push_str(&record.to_json());
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(StoreError::io("write the audit trail", &path))?;
        if length + text.len() as u64 > self.rotate_at {
            self.rotate(&path)?;
        }
        Ok(())
    }

    /// Renames the current file to the next `audit-<n>.jsonl` (under its lock, held by the
    /// caller), so that the next append starts a new one.
    fn rotate(&self, current: &Path) -> Result<(), StoreError> {
        let next = self.rotated()?.last().map_or(1, |(number, _)| number + 1);
        let target = self.dir.join(format!("audit-{next}.jsonl"));
        fs::rename(current, &target).map_err(StoreError::io("rotate the audit trail", current))?;
        ops::sync_directory(&self.dir).map_err(StoreError::io("sync directory", &self.dir))
    }

    /// The rotated files, oldest first.
    fn rotated(&self) -> Result<Vec<(u64, PathBuf)>, StoreError> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(StoreError::io("read directory", &self.dir))? {
            let entry = entry.map_err(StoreError::io("read directory", &self.dir))?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|name| name.strip_prefix("audit-"))
                .and_then(|name| name.strip_suffix(".jsonl"))
                .and_then(|number| number.parse::<u64>().ok());
            if let Some(number) = number {
                files.push((number, entry.path()));
            }
        }
        files.sort();
        Ok(files)
    }

    fn history(&self, query: &HistoryQuery, limit: usize) -> Result<History, StoreError> {
        let mut history = History::default();
        let mut files = self.rotated()?;
        files.push((u64::MAX, self.current()));
        for (_, path) in files.iter().rev() {
            let mut text = String::new();
            match File::open(path) {
                Ok(mut file) => file
                    .read_to_string(&mut text)
                    .map_err(StoreError::io("read the audit trail", path))?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(StoreError::io("read the audit trail", path)(source)),
            };
            for (index, line) in text
                .lines()
                .enumerate()
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                if line.is_empty() {
                    continue;
                }
                match AuditRecord::from_json(line) {
                    Some(record) => {
                        if query.matches(&record) && history.records.len() < limit {
                            history.records.push(record);
                        }
                    }
                    None => history.damaged.push(format!(
                        "{}:{}: not a complete record: {:?}",
                        path.display(),
                        index + 1,
                        line.chars().take(80).collect::<String>()
                    )),
                }
            }
        }
        Ok(history)
    }
}

fn ends_with_newline(file: &mut File, length: u64) -> bool {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(length - 1)).is_ok()
        && file.read_exact(&mut last).is_ok()
        && last == *b"\n"
        && file.seek(SeekFrom::End(0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// Past its size the current file is rotated; reading goes through every file, newest
    /// first, and the limit stops it.
    #[test]
    fn rotated_files_are_read_newest_first() {
        let dir =
            std::env::temp_dir().join(format!("inbound-certs-audit-rotate-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let files = AuditFiles::open(&dir, false, 1000).unwrap();
        for index in 0..30 {
            files.append(&[record(index)]).unwrap();
        }
        assert!(files.rotated().unwrap().len() >= 5);
        let history = files.history(&HistoryQuery::new(), usize::MAX).unwrap();
        assert!(history.damaged.is_empty());
        let actors: Vec<String> = history.records.iter().map(|r| r.actor.clone()).collect();
        let expected: Vec<String> = (0..30).rev().map(|i| format!("actor-{i}")).collect();
        assert_eq!(actors, expected);
        assert_eq!(history.records[0], record(29));
        let limited = files.history(&HistoryQuery::new(), 3).unwrap();
        assert_eq!(limited.records.len(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }
}
