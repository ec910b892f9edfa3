//! Writes: one transaction each, on the writer connection, and the outcome of a write whose
//! connection broke during `COMMIT`.

use std::sync::MutexGuard;
use std::time::Duration;

use postgres::Client;

use super::{database, Shared, CHANGES_KEPT};
use crate::store::StoreError;
use crate::sync::MutexExt;

/// The pauses before each attempt to learn the outcome of a write whose connection broke
/// during `COMMIT`.
const RESOLVE_PAUSES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(200),
    Duration::from_secs(1),
];
/// How long that lookup waits for the broken write's transaction to end (it ends at once when
/// the server has seen the connection close; a silent network partition takes until the
/// server's TCP keepalive gives up).
pub(super) const RESOLVE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The writer connection, reconnected on first use after it broke.
pub(super) struct Writer<'a>(MutexGuard<'a, Option<Client>>);

impl Writer<'_> {
    pub(super) fn connected(&mut self, shared: &Shared) -> Result<&mut Client, StoreError> {
        if self.0.as_ref().is_some_and(Client::is_closed) {
            *self.0 = None;
        }
        match &mut *self.0 {
            Some(client) => Ok(client),
            slot => {
                let client = shared
                    .connector
                    .connect(&shared.config)
                    .map_err(|error| database("connect to the database", error))?;
                Ok(slot.insert(client))
            }
        }
    }

    /// Forgets a connection that broke, so the next write reconnects.
    fn forget_if_closed(&mut self) {
        if self.0.as_ref().is_some_and(Client::is_closed) {
            *self.0 = None;
        }
    }
}

impl Shared {
    pub(super) fn writer(&self) -> Result<Writer<'_>, StoreError> {
        Ok(Writer(self.writer.locked()))
    }

    /// Runs `body` on the writer connection (reconnected if it broke), for what is not a
    /// write under the revision lock: reading the audit trail, appending a refusal to it.
    pub(super) fn with_connection<T>(
        &self,
        operation: &'static str,
        body: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut writer = self.writer()?;
        let client = writer.connected(self)?;
        let outcome = body(client);
        writer.forget_if_closed();
        outcome.map_err(|error| database(operation, error))
    }

    /// Runs one write transaction that takes the revision lock, then brings the index up to
    /// date (so the caller reads its own write).
    ///
    /// Every change the transaction logs carries the transaction's write id (a random UUID
    /// drawn by the server). When the connection breaks during `COMMIT`, the outcome is
    /// looked up on a new connection: see [`resolve`](Self::resolve).
    pub(super) fn write<T>(
        &self,
        operation: &'static str,
        body: impl FnOnce(
            &mut postgres::Transaction<'_>,
            &Self,
            &mut ChangeLog<'_>,
        ) -> Result<T, WriteError>,
    ) -> Result<T, StoreError> {
        let mut writer = self.writer()?;
        let client = writer.connected(self)?;
        let outcome = (|| {
            let mut transaction = client.transaction()?;
            let row = transaction.query_one(&self.statements.lock_revision, &[])?;
            let before: i64 = row.try_get(0)?;
            let mut log = ChangeLog {
                revision: before,
                write_id: row.try_get(1)?,
                shared: self,
                audited: false,
            };
            let value = body(&mut transaction, self, &mut log)?;
            let revision = log.revision;
            if revision != before {
                transaction.execute(&self.statements.set_revision, &[&revision])?;
                transaction.execute(
                    &self.statements.prune_changes,
                    &[&(revision - CHANGES_KEPT)],
                )?;
                transaction.execute(
                    "SELECT pg_notify($1, $2)",
                    &[&self.channel, &revision.to_string()],
                )?;
            }
            let failed = transaction.commit().err().map(|error| CommitFailed {
                error,
                write_id: log.write_id,
                before,
                changed: revision != before,
                audited: log.audited,
            });
            Ok((value, failed))
        })();
        match outcome {
            Ok((value, None)) => {
                // Committed: if the index cannot be brought up to date now, the listener will.
                let _ = self.catch_up(client);
                writer.forget_if_closed();
                Ok(value)
            }
            Err(WriteError::Refused(error)) => {
                // The refusal may come from a change this index has not seen yet.
                let _ = self.catch_up(client);
                Err(error)
            }
            Err(WriteError::Database(error)) => {
                writer.forget_if_closed();
                Err(database(operation, error))
            }
            Ok((value, Some(failed))) => {
                if !client.is_closed() {
                    // The server answered: it refused to commit.
                    return Err(database(operation, failed.error));
                }
                writer.forget_if_closed();
                if !failed.changed {
                    if failed.audited {
                        // Only audit records were to be committed, and no change row tells
                        // whether they were: the change is not acknowledged (an import that
                        // found everything present already can be repeated).
                        return Err(database(operation, failed.error));
                    }
                    // Nothing was to be committed: the answer holds either way.
                    return Ok(value);
                }
                if self.resolve(&mut writer, &failed.write_id, failed.before)? {
                    if let Ok(client) = writer.connected(self) {
                        let _ = self.catch_up(client);
                    }
                    Ok(value)
                } else {
                    Err(database(operation, failed.error))
                }
            }
        }
    }

    /// Whether the write `write_id`, whose connection broke during `COMMIT`, was committed.
    ///
    /// On a new connection, takes the revision lock: the broken write held it, so once it is
    /// granted, that transaction has ended one way or the other. Its change rows (revisions
    /// `before + 1`…) carry its write id: found means committed; not found means not
    /// committed, provided the change log still reaches back to `before + 1`.
    fn resolve(
        &self,
        writer: &mut Writer<'_>,
        write_id: &str,
        before: i64,
    ) -> Result<bool, StoreError> {
        const OPERATION: &str = "learn whether the write whose connection broke was committed";
        let mut last = None;
        for pause in RESOLVE_PAUSES {
            std::thread::sleep(pause);
            let client = match writer.connected(self) {
                Ok(client) => client,
                Err(error) => {
                    last = Some(error);
                    continue;
                }
            };
            let lookup = (|| {
                let mut transaction = client.transaction()?;
                transaction.batch_execute(&self.statements.resolve_lock_timeout)?;
                let current: i64 = transaction
                    .query_one(&self.statements.wait_for_revision, &[])?
                    .try_get(0)?;
                let row = transaction.query_one(&self.statements.find_write, &[&write_id])?;
                transaction.rollback()?;
                let found: bool = row.try_get(0)?;
                let oldest: Option<i64> = row.try_get(1)?;
                Ok::<_, postgres::Error>((found, current, oldest))
            })();
            match lookup {
                Ok((true, _, _)) => return Ok(true),
                // The write would have made the revision at least `before + 1` and logged it.
                Ok((false, current, oldest))
                    if current <= before || oldest.is_some_and(|oldest| oldest <= before + 1) =>
                {
                    return Ok(false)
                }
                Ok((false, current, _)) => {
                    return Err(database(
                        OPERATION,
                        format!(
                            "expected the change log to reach back to revision {}, found it pruned (the store is at revision {current}): the write may have been applied",
                            before + 1
                        ),
                    ))
                }
                Err(error) => {
                    writer.forget_if_closed();
                    last = Some(database(OPERATION, error));
                }
            }
        }
        Err(last.unwrap_or_else(|| database(OPERATION, "no attempt was made")))
    }
}

/// The change log of one write transaction.
pub(super) struct ChangeLog<'a> {
    /// The revision of the last change logged (the revision read under the lock until then).
    revision: i64,
    write_id: String,
    shared: &'a Shared,
    /// Whether audit records were inserted.
    audited: bool,
}

impl ChangeLog<'_> {
    /// Logs an import (`imported`) or a delete of the row `key` of `system` as the next
    /// revision. An empty `key` logs the creation (`imported`) or removal of the system.
    pub(super) fn record(
        &mut self,
        transaction: &mut postgres::Transaction<'_>,
        system: &str,
        key: &str,
        imported: bool,
    ) -> Result<(), postgres::Error> {
        self.revision += 1;
        transaction.execute(
            &self.shared.statements.log_change,
            &[&self.revision, &system, &key, &imported, &self.write_id],
        )?;
        Ok(())
    }
}

impl ChangeLog<'_> {
    /// Inserts the audit records of this write, in its transaction: committed with the
    /// change, or not at all.
    pub(super) fn audit(
        &mut self,
        transaction: &mut postgres::Transaction<'_>,
        records: &[crate::audit::AuditRecord],
    ) -> Result<(), postgres::Error> {
        super::audit::insert(transaction, self.shared, records)?;
        self.audited |= !records.is_empty();
        Ok(())
    }
}

/// Why a write transaction did not commit.
pub(super) enum WriteError {
    /// The store's answer (such as "not found"); the transaction was rolled back.
    Refused(StoreError),
    Database(postgres::Error),
}

/// `COMMIT` failed; if the connection broke, the transaction may have committed.
struct CommitFailed {
    error: postgres::Error,
    write_id: String,
    /// The revision before the write.
    before: i64,
    /// Whether the write changed anything (and so logged changes under its write id).
    changed: bool,
    /// Whether the write inserted audit records.
    audited: bool,
}

impl From<postgres::Error> for WriteError {
    fn from(error: postgres::Error) -> Self {
        WriteError::Database(error)
    }
}
