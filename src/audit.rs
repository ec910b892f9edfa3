//! The audit trail: one record for every change of a registry (each import, refusal, delete,
//! purge and system change), durable before the change is acknowledged, read back newest
//! first.

use std::fmt;

use time::OffsetDateTime;

use crate::fingerprint::CertificateName;
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
    /// A certificate was suspended in a system (or its suspension's reason replaced); the
    /// detail holds the reason.
    Suspend,
    /// A suspended certificate was resumed in a system; the detail holds the reason it had
    /// been suspended for.
    Resume,
    /// A permission was granted to a system; the detail names it and the system's
    /// permissions before and after (`permission proxy-api; before: none; after: proxy-api`).
    Grant,
    /// A permission was revoked from a system; the detail as for [`Grant`](Self::Grant).
    Revoke,
    /// A system's permissions were replaced by another set; the detail holds them before and
    /// after (`before: proxy-api; after: proxy-api, realtime-api`).
    SetPermissions,
}

impl AuditAction {
    /// `import`, `delete`, `purge`, `create_system`, `remove_system`, `login`, `suspend`,
    /// `resume`, `grant`, `revoke` or `set_permissions`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Import => "import",
            AuditAction::Delete => "delete",
            AuditAction::Purge => "purge",
            AuditAction::CreateSystem => "create_system",
            AuditAction::RemoveSystem => "remove_system",
            AuditAction::Login => "login",
            AuditAction::Suspend => "suspend",
            AuditAction::Resume => "resume",
            AuditAction::Grant => "grant",
            AuditAction::Revoke => "revoke",
            AuditAction::SetPermissions => "set_permissions",
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
            "suspend" => AuditAction::Suspend,
            "resume" => AuditAction::Resume,
            "grant" => AuditAction::Grant,
            "revoke" => AuditAction::Revoke,
            "set_permissions" => AuditAction::SetPermissions,
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
    /// The certificate was left out of the import that stored the others (the record's
    /// detail says why).
    Skipped,
    /// The upload or certificate was refused (the record's detail says why); nothing changed.
    Refused,
    /// The certificate or system is gone.
    Removed,
    /// The system was registered.
    Created,
    /// The certificate was suspended in the system (stays stored, not trusted).
    Suspended,
    /// The certificate's suspension was lifted: the system trusts it again.
    Resumed,
    /// The permission was granted: the system holds it.
    Granted,
    /// The permission was revoked: the system no longer holds it.
    Revoked,
    /// The system's permissions were replaced.
    Changed,
}

impl AuditOutcome {
    /// `added`, `already_present`, `skipped`, `refused`, `removed`, `created`, `suspended`,
    /// `resumed`, `granted`, `revoked` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Added => "added",
            AuditOutcome::AlreadyPresent => "already_present",
            AuditOutcome::Skipped => "skipped",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Removed => "removed",
            AuditOutcome::Created => "created",
            AuditOutcome::Suspended => "suspended",
            AuditOutcome::Resumed => "resumed",
            AuditOutcome::Granted => "granted",
            AuditOutcome::Revoked => "revoked",
            AuditOutcome::Changed => "changed",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "added" => AuditOutcome::Added,
            "already_present" => AuditOutcome::AlreadyPresent,
            "skipped" => AuditOutcome::Skipped,
            "refused" => AuditOutcome::Refused,
            "removed" => AuditOutcome::Removed,
            "created" => AuditOutcome::Created,
            "suspended" => AuditOutcome::Suspended,
            "resumed" => AuditOutcome::Resumed,
            "granted" => AuditOutcome::Granted,
            "revoked" => AuditOutcome::Revoked,
            "changed" => AuditOutcome::Changed,
            _ => return None,
        })
    }
}

/// One change: when, by whom, to which system and certificate, and how it ended.
///
/// It serializes (serde) as one line of a directory registry's trail: a JSON object with the
/// keys below, `time` in RFC 3339, `system` and `certificate` as their names (or `null`),
/// `action` and `outcome` as [`AuditAction::as_str`] and [`AuditOutcome::as_str`] give them.
/// Reading one, `system`, `certificate`, `subject` and `detail` may be missing and unknown
/// keys are ignored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    // The fields are declared in the order of the keys of the trail's lines (alphabetical, as
    // the trail was first written through a sorted JSON map), so lines stay byte-identical.
    /// What was done.
    #[serde(with = "line::action")]
    pub action: AuditAction,
    /// Who made it, as the caller named them ([`Registry::acting_as`](crate::Registry::acting_as)).
    pub actor: String,
    /// The certificate, when the change is about one.
    #[serde(default, with = "line::name")]
    pub certificate: Option<CertificateName>,
    /// Why it was refused, or what else is worth knowing; empty otherwise.
    #[serde(default)]
    pub detail: String,
    /// How it ended.
    #[serde(with = "line::outcome")]
    pub outcome: AuditOutcome,
    /// The certificate's subject (RFC 4514), when known.
    #[serde(default)]
    pub subject: Option<String>,
    /// The system changed.
    #[serde(default, with = "line::name")]
    pub system: Option<SystemName>,
    /// When the change was made (by the registry's clock).
    #[serde(with = "line::time")]
    pub time: OffsetDateTime,
}

/// The text forms of the record's fields in a line of the trail.
mod line {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    /// RFC 3339; an instant it cannot express (a year past 9999) is written as `""`, which
    /// reads back as a damaged line, never as another instant.
    pub(super) mod time {
        use super::{Deserialize, Deserializer, Error as _, Serializer};
        use time::format_description::well_known::Rfc3339;
        use time::OffsetDateTime;

        pub(crate) fn serialize<S: Serializer>(
            instant: &OffsetDateTime,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&instant.format(&Rfc3339).unwrap_or_default())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<OffsetDateTime, D::Error> {
            let text = String::deserialize(deserializer)?;
            OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
        }
    }

    /// [`AuditAction::as_str`](super::AuditAction::as_str) and its parse.
    pub(super) mod action {
        use super::{Deserialize, Deserializer, Error as _, Serializer};
        use crate::audit::AuditAction;

        pub(crate) fn serialize<S: Serializer>(
            action: &AuditAction,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(action.as_str())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<AuditAction, D::Error> {
            let text = String::deserialize(deserializer)?;
            AuditAction::parse(&text)
                .ok_or_else(|| D::Error::custom(format!("unknown action {text:?}")))
        }
    }

    /// [`AuditOutcome::as_str`](super::AuditOutcome::as_str) and its parse.
    pub(super) mod outcome {
        use super::{Deserialize, Deserializer, Error as _, Serializer};
        use crate::audit::AuditOutcome;

        pub(crate) fn serialize<S: Serializer>(
            outcome: &AuditOutcome,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(outcome.as_str())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<AuditOutcome, D::Error> {
            let text = String::deserialize(deserializer)?;
            AuditOutcome::parse(&text)
                .ok_or_else(|| D::Error::custom(format!("unknown outcome {text:?}")))
        }
    }

    /// A name (system, certificate) as its text, or `null`; read with its strict `FromStr`.
    pub(super) mod name {
        use std::fmt::Display;
        use std::str::FromStr;

        use super::{Deserialize, Deserializer, Error as _, Serializer};

        pub(crate) fn serialize<T: Display, S: Serializer>(
            name: &Option<T>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match name {
                Some(name) => serializer.collect_str(name),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            match Option::<String>::deserialize(deserializer)? {
                Some(text) => text.parse().map(Some).map_err(D::Error::custom),
                None => Ok(None),
            }
        }
    }
}

impl AuditRecord {
    /// The record as one line of the trail, each text field cut to [`FIELD_LIMIT`].
    pub(crate) fn to_json(&self) -> String {
        // Serializing strings, names and times into a string cannot fail.
        serde_json::to_string(&self.bounded()).unwrap_or_default()
    }

    /// The record with each text field cut to [`FIELD_LIMIT`] bytes (at a character
    /// boundary, marked with `…`).
    pub(crate) fn bounded(&self) -> AuditRecord {
        let mut record = self.clone();
        cut(&mut record.actor);
        if let Some(subject) = &mut record.subject {
            cut(subject);
        }
        cut(&mut record.detail);
        record
    }

    /// Whether this is the record of an import that added this certificate to this system.
    pub(crate) fn is_import_of(&self, system: &SystemName, certificate: &CertificateName) -> bool {
        self.action == AuditAction::Import
            && self.outcome == AuditOutcome::Added
            && self.system.as_ref() == Some(system)
            && self.certificate.as_ref() == Some(certificate)
    }

    /// The record as the audit trail's JSON Lines and the console's API write it.
    #[cfg(any(test, feature = "admin"))]
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A line of the trail as a record; `None` if it is not one.
    pub(crate) fn from_json(line: &str) -> Option<AuditRecord> {
        serde_json::from_str(line).ok()
    }
}

impl fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            crate::clock::rfc3339(self.time),
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

    pub(crate) fn matches(&self, record: &AuditRecord) -> bool {
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
pub struct AuditHistory {
    /// The records, newest first.
    pub records: Vec<AuditRecord>,
    /// Lines that are not records (or files of the trail that cannot be read), with where
    /// they are (`file at byte n`) and what they hold (shortened, escaped), at most 100 of
    /// them.
    pub damaged: Vec<String>,
    /// How many more damaged lines were passed over than `damaged` reports.
    pub more_damaged: usize,
}

/// Damaged lines a history reports; past this many, only their number.
pub(crate) const DAMAGED_REPORTED: usize = 100;

/// The longest text of one field (actor, subject, detail) a record keeps, in bytes: a record
/// stays one short line whatever an upload's subject holds.
pub(crate) const FIELD_LIMIT: usize = 4096;

/// Cuts a text to [`FIELD_LIMIT`] bytes at a character boundary, marking the cut with `…`.
fn cut(text: &mut String) {
    if text.len() <= FIELD_LIMIT {
        return;
    }
    let mut end = FIELD_LIMIT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// Lines as the trail's writer wrote them before the record derived serde (keys in
    /// serde_json's sorted order, nulls written out, RFC 3339 times, escapes).
    const LINES: [&str; 4] = [
        r#"{"action":"import","actor":"alice","certificate":"cert_client_0707070707070707070707070707070707070707070707070707070707070707","detail":"","outcome":"added","subject":"CN=crm client,O=Example","system":"crm","time":"2026-06-01T00:00:00Z"}"#,
        r#"{"action":"import","actor":"admin \"root\"","certificate":null,"detail":"private_key: a private key (PKCS#8) was uploaded\n\u0001 é","outcome":"refused","subject":null,"system":"crm","time":"2026-06-01T12:30:45.123456789Z"}"#,
        r#"{"action":"login","actor":"192.0.2.1:4711","certificate":null,"detail":"unknown token","outcome":"refused","subject":null,"system":null,"time":"2026-06-02T08:00:00+02:00"}"#,
        r#"{"action":"remove_system","actor":"bob","certificate":null,"detail":"","outcome":"removed","subject":null,"system":"partner-gateway","time":"1999-12-31T23:59:59Z"}"#,
    ];

    #[test]
    fn lines_written_by_earlier_versions_read_back_and_are_written_byte_for_byte() {
        let records: Vec<AuditRecord> = LINES
            .iter()
            .map(|line| AuditRecord::from_json(line).unwrap())
            .collect();
        assert_eq!(records[0].action, AuditAction::Import);
        assert_eq!(records[0].outcome, AuditOutcome::Added);
        assert_eq!(records[0].system.as_ref().unwrap().as_str(), "crm");
        assert_eq!(
            records[0].certificate,
            Some(CertificateName::from(crate::Fingerprint::from_bytes(
                [7; 32]
            )))
        );
        assert_eq!(
            records[0].subject.as_deref(),
            Some("CN=crm client,O=Example")
        );
        assert_eq!(records[1].actor, "admin \"root\"");
        assert_eq!(
            records[1].detail,
            "private_key: a private key (PKCS#8) was uploaded\n\u{1} é"
        );
        assert_eq!(records[1].time.nanosecond(), 123_456_789);
        assert_eq!(records[2].action, AuditAction::Login);
        assert_eq!(records[2].system, None);
        assert_eq!(records[2].time.offset().whole_hours(), 2);
        assert_eq!(records[3].action, AuditAction::RemoveSystem);
        for (record, line) in records.iter().zip(LINES) {
            assert_eq!(record.to_json(), line);
            assert_eq!(record.to_value().to_string(), line);
        }
    }

    #[test]
    fn optional_fields_may_be_missing_and_bad_lines_are_refused() {
        let record = AuditRecord::from_json(
            r#"{"time":"2026-06-01T00:00:00Z","actor":"a","action":"purge","outcome":"removed","extra":1}"#,
        )
        .unwrap();
        assert_eq!(record.system, None);
        assert_eq!(record.certificate, None);
        assert_eq!(record.subject, None);
        assert_eq!(record.detail, "");
        for bad in [
            "",
            "junk",
            r#"{"time":"yesterday","actor":"a","action":"purge","outcome":"removed"}"#,
            r#"{"time":"2026-06-01T00:00:00Z","actor":"a","action":"explode","outcome":"removed"}"#,
            r#"{"time":"2026-06-01T00:00:00Z","actor":"a","action":"purge","outcome":"maybe"}"#,
            r#"{"time":"2026-06-01T00:00:00Z","action":"purge","outcome":"removed"}"#,
            r#"{"time":"2026-06-01T00:00:00Z","actor":"a","action":"purge","outcome":"removed","system":"CRM"}"#,
            r#"{"time":"2026-06-01T00:00:00Z","actor":"a","action":"purge","outcome":"removed","certificate":"cert_client_00"}"#,
        ] {
            assert_eq!(AuditRecord::from_json(bad), None, "{bad}");
        }
    }
}
