//! The audit trail of a [`Registry`](crate::Registry) on PostgreSQL: the `audit` table. The
//! records of a change are inserted by the change's own write transaction (see
//! [`ChangeLog::audit`](super::writer::ChangeLog::audit)), so a change that rolls back leaves
//! none and a committed change always has its records; refusals, which change nothing, are
//! appended in a transaction of their own. Ids are drawn while the revision lock is held, so
//! their order is the order of the changes.

use std::sync::Arc;

use postgres::GenericClient;
use time::OffsetDateTime;

use super::Shared;
use crate::audit::{AuditAction, AuditHistory, AuditOutcome, AuditRecord, HistoryQuery};
use crate::store::StoreError;

/// An instant as microseconds since the epoch, rounded down (as stored) or up (a bound of a
/// query: a record at or after `since`, before `until`, is one whose stored instant is at or
/// after, before, the bound rounded up).
fn microseconds(instant: OffsetDateTime, round_up: bool) -> i64 {
    let nanoseconds = instant.unix_timestamp_nanos();
    let microseconds = if round_up {
        nanoseconds.div_euclid(1000) + i128::from(nanoseconds.rem_euclid(1000) != 0)
    } else {
        nanoseconds.div_euclid(1000)
    };
    i64::try_from(microseconds).unwrap_or(if microseconds < 0 { i64::MIN } else { i64::MAX })
}

/// Inserts records, in order (ids increase with it), with one statement.
pub(super) fn insert(
    client: &mut impl GenericClient,
    shared: &Shared,
    records: &[AuditRecord],
) -> Result<(), postgres::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let times: Vec<i64> = records
        .iter()
        .map(|record| microseconds(record.time, false))
        .collect();
    let actors: Vec<&str> = records.iter().map(|record| record.actor.as_str()).collect();
    let systems: Vec<Option<&str>> = records
        .iter()
        .map(|record| record.system.as_ref().map(|system| system.as_str()))
        .collect();
    let actions: Vec<&str> = records
        .iter()
        .map(|record| record.action.as_str())
        .collect();
    let certificates: Vec<Option<String>> = records
        .iter()
        .map(|record| record.certificate.map(|name| name.to_string()))
        .collect();
    let subjects: Vec<Option<&str>> = records
        .iter()
        .map(|record| record.subject.as_deref())
        .collect();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|record| record.outcome.as_str())
        .collect();
    let details: Vec<&str> = records
        .iter()
        .map(|record| record.detail.as_str())
        .collect();
    client.execute(
        &shared.statements.insert_audit,
        &[
            &times,
            &actors,
            &systems,
            &actions,
            &certificates,
            &subjects,
            &outcomes,
            &details,
        ],
    )?;
    Ok(())
}

/// The `audit` table of a registry's schema, read by [`Registry::history`](crate::Registry::history).
pub(crate) struct AuditTable {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuditTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTable")
            .field("schema", &self.shared.schema)
            .finish_non_exhaustive()
    }
}

impl super::Database {
    /// The audit table of this database's schema.
    pub(crate) fn audit_table(&self) -> AuditTable {
        AuditTable {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl AuditTable {
    /// Appends the records of something that changed nothing (a refusal), in a transaction of
    /// its own: committed when this returns.
    pub(crate) fn append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.shared
            .with_connection("write the audit trail", |client| {
                let mut transaction = client.transaction()?;
                insert(&mut transaction, &self.shared, records)?;
                transaction.commit()
            })
    }

    /// The records the query asks for, newest first (by id: the order of the changes). A row
    /// that is not a record this crate can read (made by hand) is reported, never hidden.
    pub(crate) fn history(&self, query: &HistoryQuery) -> Result<AuditHistory, StoreError> {
        let system = query.system.as_ref().map(|system| system.as_str());
        let since = query.since.map(|since| microseconds(since, true));
        let until = query.until.map(|until| microseconds(until, true));
        let limit = query
            .limit
            .map(|limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self
            .shared
            .with_connection("read the audit trail", |client| {
                client.query(
                    &self.shared.statements.history,
                    &[&system, &since, &until, &limit],
                )
            })?;
        let mut history = AuditHistory::default();
        for row in rows {
            let id: i64 = row
                .try_get(0)
                .map_err(|error| super::database("read the audit trail", error))?;
            match self.record(&row) {
                Some(record) => history.records.push(record),
                None => history.damaged.push(format!(
                    "{}.audit/{id}: not a complete record",
                    self.shared.schema
                )),
            }
        }
        Ok(history)
    }

    /// A row as a record, if every column is one this crate can read.
    fn record(&self, row: &postgres::Row) -> Option<AuditRecord> {
        let micros: i64 = row.try_get(1).ok()?;
        let text = |column: usize| row.try_get::<_, Option<String>>(column).ok();
        Some(AuditRecord {
            time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()?,
            actor: text(2)??,
            system: match text(3)? {
                Some(name) => Some(name.parse().ok()?),
                None => None,
            },
            action: AuditAction::parse(&text(4)??)?,
            certificate: match text(5)? {
                Some(name) => Some(name.parse().ok()?),
                None => None,
            },
            subject: text(6)?,
            outcome: AuditOutcome::parse(&text(7)??)?,
            detail: text(8)?.unwrap_or_default(),
        })
    }
}
