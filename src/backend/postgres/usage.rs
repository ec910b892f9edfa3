//! The last uses of a registry's certificates in PostgreSQL: the table
//! `last_used (system, fingerprint, at, peer, first_at)`, created for new databases and
//! added in place to existing ones when a replica connects (as is its column `first_at`,
//! null in rows written before first uses were kept: the first use known is then `at`); one upsert statement per flush, for
//! every system at once (the newest use of a row wins, whichever replica wrote it). Read
//! when asked (not kept in memory), so a replica sees what the others flushed.

use std::net::IpAddr;
use std::path::PathBuf;

use super::{database, Database};
use crate::backend::usage::{from_micros, to_micros, LastUse, SystemUsage, UsageBatch};
use crate::fingerprint::Fingerprint;
use crate::store::{DamagedEntry, EntryDamage, StoreError};
use crate::system::SystemName;

/// Creates the table if it is missing (`table`: its schema-qualified name).
pub(super) fn create_table(
    transaction: &mut postgres::Transaction<'_>,
    table: &str,
) -> Result<(), postgres::Error> {
    transaction.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (
             system text NOT NULL,
             fingerprint text NOT NULL,
             at timestamptz NOT NULL,
             peer text,
             first_at timestamptz,
             PRIMARY KEY (system, fingerprint)
         );
         ALTER TABLE {table} ADD COLUMN IF NOT EXISTS first_at timestamptz"
    ))
}

impl Database {
    /// One flush: one statement on the writer connection.
    pub(super) fn write_usage(&self, batch: &UsageBatch) -> Result<(), StoreError> {
        let mut systems: Vec<&str> = Vec::new();
        let mut fingerprints: Vec<String> = Vec::new();
        let mut times: Vec<i64> = Vec::new();
        let mut peers: Vec<Option<String>> = Vec::new();
        let mut firsts: Vec<i64> = Vec::new();
        for (system, uses) in batch {
            for (fingerprint, last) in uses {
                systems.push(system.as_str());
                fingerprints.push(fingerprint.to_string());
                times.push(to_micros(last.at));
                peers.push(last.peer.map(|peer| peer.to_string()));
                firsts.push(to_micros(last.first));
            }
        }
        self.shared
            .with_connection("write the last uses of certificates", |client| {
                client.execute(
                    &self.shared.statements.upsert_usage,
                    &[&systems, &fingerprints, &times, &peers, &firsts],
                )
            })?;
        Ok(())
    }

    /// Deletes the last uses of a removed system.
    pub(super) fn forget_usage(&self, system: &SystemName) -> Result<(), StoreError> {
        self.shared
            .with_connection("forget the last uses of a removed system", |client| {
                client.execute(&self.shared.statements.forget_usage, &[&system.as_str()])
            })?;
        Ok(())
    }

    /// The last uses of a system's certificates; a row that is not one (written by hand)
    /// is reported as damaged.
    pub(super) fn read_usage(&self, system: &SystemName) -> Result<SystemUsage, StoreError> {
        let operation = "read the last uses of certificates";
        let rows = self.shared.with_connection(operation, |client| {
            client.query(&self.shared.statements.usage_of_system, &[&system.as_str()])
        })?;
        let mut usage = SystemUsage::default();
        for row in rows {
            let fingerprint: String = row.try_get(0).map_err(|error| database(operation, error))?;
            let micros: Option<i64> = row.try_get(1).map_err(|error| database(operation, error))?;
            let peer: Option<String> =
                row.try_get(2).map_err(|error| database(operation, error))?;
            let first: Option<i64> = row.try_get(3).map_err(|error| database(operation, error))?;
            let parsed = (|| {
                let parsed: Fingerprint = fingerprint.parse().ok()?;
                let at = from_micros(micros?)?;
                let peer = match peer {
                    None => None,
                    Some(peer) => Some(peer.parse::<IpAddr>().ok()?),
                };
                let first = from_micros(first?)?.min(at);
                Some((parsed, LastUse { at, peer, first }))
            })();
            match parsed {
                Some((parsed, last)) => usage.merge(parsed, last),
                None => usage.damaged.push(DamagedEntry {
                    location: PathBuf::from(format!(
                        "{}.last_used/{system}/{fingerprint}",
                        self.shared.schema
                    )),
                    problem: EntryDamage::Unreadable(
                        "expected a fingerprint, a time and an address (or null)".into(),
                    ),
                }),
            }
        }
        Ok(usage)
    }
}
