//! How the index is kept current: notifications and the change log for every change, and a
//! periodic comparison of cheap summaries that heals anything else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel};
use time::OffsetDateTime;

use super::index::{name_of, row_token, Index, Key, Registered, Row, Summary, Systems};
use super::{Shared, MAX_BACKOFF, POLL};
use crate::backend::Suspensions;
use crate::certificate::Certificate;
use crate::fingerprint::Fingerprint;
use crate::store::{DamagedEntry, EntryDamage, Suspension};
use crate::sync::{MutexExt, RwLockExt};
use crate::system::SystemName;

/// One change of the change log, with the row's DER when it was an import. A change with an
/// empty fingerprint is a system's creation or removal.
struct Change {
    revision: i64,
    system: String,
    fingerprint: String,
    imported: bool,
    der: Option<Vec<u8>>,
}

impl Shared {
    pub(super) fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.reading()
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.writing()
    }

    /// Loads the tables the first time; afterwards compares summaries and fetches only what
    /// differs.
    pub(super) fn resync(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let _in_order = self.sync.locked();
        if !self.read_index().loaded {
            return self.load(client);
        }
        let local = self.read_index().summary();
        let (transaction, summary) = self.snapshot(client)?;
        if summary.same_rows(&local) {
            return self.systems_if_changed(transaction, summary, local);
        }
        if summary.revision != local.revision {
            // Missed notifications: the change log is the cheap way, if it reaches back.
            transaction.commit()?;
            self.catch_up_locked(client)?;
            let local = self.read_index().summary();
            let (transaction, summary) = self.snapshot(client)?;
            if summary.same_rows(&local) {
                return self.systems_if_changed(transaction, summary, local);
            }
            return self.reconcile(transaction, summary);
        }
        self.reconcile(transaction, summary)
    }

    /// Reads the systems table if the server's hash of it is not the one the index saw.
    fn systems_if_changed(
        &self,
        mut transaction: postgres::Transaction<'_>,
        summary: Summary,
        local: Summary,
    ) -> Result<(), postgres::Error> {
        if summary.systems == local.systems && summary.suspensions == local.suspensions {
            return transaction.commit();
        }
        let systems = if summary.systems == local.systems {
            None
        } else {
            Some(self.read_systems(&mut transaction)?)
        };
        let suspensions = if summary.suspensions == local.suspensions {
            None
        } else {
            Some(self.read_suspensions(&mut transaction)?)
        };
        transaction.commit()?;
        if let Some(systems) = systems {
            self.set_systems(systems, summary.systems);
        }
        if let Some(suspensions) = suspensions {
            self.set_suspensions(suspensions, summary.suspensions);
        }
        Ok(())
    }

    /// Reads the suspensions table. A row that cannot be read (made by hand) still
    /// suspends its certificate, with a reason that says so: never trusted by mistake.
    fn read_suspensions(
        &self,
        transaction: &mut postgres::Transaction<'_>,
    ) -> Result<HashMap<String, Suspensions>, postgres::Error> {
        let mut suspensions: HashMap<String, Suspensions> = HashMap::new();
        for row in transaction.query(&self.statements.suspensions, &[])? {
            let system: String = row.try_get(0)?;
            let key: String = row.try_get(1)?;
            let Some(name) = name_of(&key) else {
                continue;
            };
            let reason: String = row.try_get(2)?;
            let since: i64 = row.try_get(3)?;
            let actor: String = row.try_get(4)?;
            let suspension = match OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(since) * 1000,
            ) {
                Ok(since) => Suspension::stored(reason, since, actor),
                Err(error) => Suspension::stored(
                    format!("the suspension's time cannot be read ({error}); resume the certificate to trust it again"),
                    OffsetDateTime::UNIX_EPOCH,
                    actor,
                ),
            };
            suspensions
                .entry(system)
                .or_default()
                .insert(name, suspension);
        }
        Ok(suspensions)
    }

    fn set_suspensions(&self, suspensions: HashMap<String, Suspensions>, token: i64) {
        let mut index = self.write_index();
        index.suspensions = suspensions;
        index.suspensions_token = token;
    }

    /// A read-only transaction on one snapshot of the database, and its summary.
    fn snapshot<'a>(
        &self,
        client: &'a mut Client,
    ) -> Result<(postgres::Transaction<'a>, Summary), postgres::Error> {
        let mut transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let row = transaction.query_one(&self.statements.summary, &[])?;
        let summary = Summary {
            revision: row.try_get(0)?,
            rows: row.try_get(1)?,
            digest: row.try_get(2)?,
            systems: row.try_get(3)?,
            suspensions: row.try_get(4)?,
        };
        Ok((transaction, summary))
    }

    /// Reads the systems table; a row that is not a readable system is reported, never
    /// hidden.
    fn read_systems(
        &self,
        transaction: &mut postgres::Transaction<'_>,
    ) -> Result<Systems, postgres::Error> {
        let mut systems = BTreeMap::new();
        let mut damaged = Vec::new();
        for row in transaction.query(&self.statements.systems, &[])? {
            let name: String = row.try_get(0)?;
            let kind: String = row.try_get(1)?;
            let created: i64 = row.try_get(2)?;
            let id: i64 = row.try_get(3)?;
            let permissions: Vec<String> = row.try_get(4)?;
            let location = PathBuf::from(format!("{}.systems/{name}", self.schema));
            let problem = |text: String| DamagedEntry {
                location: location.clone(),
                problem: EntryDamage::Unreadable(text),
            };
            let parsed = name
                .parse::<SystemName>()
                .map_err(|error| problem(error.to_string()))
                .and_then(|name| {
                    super::systems::system_of_row(name, &kind, created, &permissions)
                        .map_err(problem)
                });
            match parsed {
                Ok(system) => {
                    systems.insert(system.name().clone(), Registered { system, id });
                }
                Err(problem) => damaged.push(problem),
            }
        }
        damaged.sort_by(|a, b| a.location.cmp(&b.location));
        Ok((systems, damaged))
    }

    fn set_systems(&self, (systems, damaged): Systems, token: i64) {
        let mut index = self.write_index();
        index.systems = systems;
        index.damaged_systems = damaged;
        index.systems_token = token;
    }

    /// Reads the whole tables, from one snapshot.
    fn load(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let (mut transaction, summary) = self.snapshot(client)?;
        let (systems, damaged_systems) = self.read_systems(&mut transaction)?;
        let suspensions = self.read_suspensions(&mut transaction)?;
        let rows = transaction.query(&self.statements.certificates, &[])?;
        transaction.commit()?;
        let mut fresh = Index {
            systems,
            damaged_systems,
            suspensions,
            suspensions_token: summary.suspensions,
            systems_token: summary.systems,
            revision: summary.revision,
            loaded: true,
            ..Index::default()
        };
        for row in rows {
            let system: String = row.try_get(0)?;
            let key: String = row.try_get(1)?;
            let der: Vec<u8> = row.try_get(2)?;
            let token = row_token(&system, &key, &der);
            let checked = self.check_row(&system, &key, &der);
            fresh.insert(&system, &key, checked, token);
        }
        *self.write_index() = fresh;
        Ok(())
    }

    /// Makes the index equal to the tables in `transaction`'s snapshot, reading the DER of
    /// only the rows that differ. First the keys alone: rows added or removed behind the
    /// index's back (a missed notification, a hand-made `INSERT` or `DELETE`). If the summary
    /// then still differs, a row was changed in place: every row's token (64 bits of hash,
    /// computed by the server) finds which.
    fn reconcile(
        &self,
        mut transaction: postgres::Transaction<'_>,
        summary: Summary,
    ) -> Result<(), postgres::Error> {
        let systems = self.read_systems(&mut transaction)?;
        let suspensions = self.read_suspensions(&mut transaction)?;
        let mut server = HashSet::new();
        for row in transaction.query(&self.statements.keys, &[])? {
            server.insert((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?));
        }
        let (gone, missing, mut predicted) = {
            let index = self.read_index();
            let local = index.keys();
            let gone: Vec<Key> = local.difference(&server).cloned().collect();
            let missing: Vec<Key> = server.difference(&local).cloned().collect();
            let mut predicted = index.summary();
            for key in &gone {
                predicted.rows -= 1;
                predicted.digest ^= index.token_of(key).unwrap_or_default();
            }
            (gone, missing, predicted)
        };
        let mut fetched = self.fetch(&mut transaction, &missing)?;
        for ((system, key), der) in &fetched {
            predicted.rows += 1;
            predicted.digest ^= row_token(system, key, der);
        }
        predicted.revision = summary.revision;
        if !predicted.same_rows(&summary) {
            let tokens = self.read_index().tokens();
            let mut changed = Vec::new();
            for row in transaction.query(&self.statements.row_tokens, &[])? {
                let key: Key = (row.try_get(0)?, row.try_get(1)?);
                let token: i64 = row.try_get(2)?;
                if tokens.get(&key).is_some_and(|local| *local != token) {
                    changed.push(key);
                }
            }
            fetched.extend(self.fetch(&mut transaction, &changed)?);
        }
        transaction.commit()?;
        let checked: Vec<(Key, Row, i64)> = fetched
            .into_iter()
            .map(|((system, key), der)| {
                let token = row_token(&system, &key, &der);
                let row = self.check_row(&system, &key, &der);
                ((system, key), row, token)
            })
            .collect();
        let mut index = self.write_index();
        for (system, key) in &gone {
            index.remove(system, key);
        }
        for ((system, key), row, token) in checked {
            index.insert(&system, &key, row, token);
        }
        index.revision = summary.revision;
        (index.systems, index.damaged_systems) = systems;
        index.systems_token = summary.systems;
        index.suspensions = suspensions;
        index.suspensions_token = summary.suspensions;
        Ok(())
    }

    /// The DER of the rows with these keys.
    fn fetch(
        &self,
        transaction: &mut postgres::Transaction<'_>,
        keys: &[Key],
    ) -> Result<Vec<(Key, Vec<u8>)>, postgres::Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let systems: Vec<&str> = keys.iter().map(|(system, _)| system.as_str()).collect();
        let fingerprints: Vec<&str> = keys.iter().map(|(_, key)| key.as_str()).collect();
        let rows = transaction.query(&self.statements.fetch, &[&systems, &fingerprints])?;
        rows.iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect()
    }

    /// Brings the index up to date with the change log, or reconciles it with the tables when
    /// the log no longer reaches back to the index's revision.
    pub(super) fn catch_up(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let _in_order = self.sync.locked();
        self.catch_up_locked(client)
    }

    fn catch_up_locked(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let known = self.read_index().revision;
        let (mut transaction, summary) = self.snapshot(client)?;
        let current = summary.revision;
        if current == known {
            return transaction.commit();
        }
        let rows = transaction.query(&self.statements.changes_since, &[&known])?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            changes.push(Change {
                revision: row.try_get(0)?,
                system: row.try_get(1)?,
                fingerprint: row.try_get(2)?,
                imported: row.try_get(3)?,
                der: row.try_get(4)?,
            });
        }
        let complete = current > known
            && changes
                .iter()
                .zip(known + 1..)
                .all(|(change, expected)| change.revision == expected)
            && changes.last().map(|change| change.revision) == Some(current);
        if !complete {
            return self.reconcile(transaction, summary);
        }
        // A system created or removed, or the systems table changed otherwise.
        let systems = if changes.iter().any(|change| change.fingerprint.is_empty())
            || summary.systems != self.read_index().systems_token
        {
            Some(self.read_systems(&mut transaction)?)
        } else {
            None
        };
        // A suspension or resume (logged as a change of its system), a delete that lifted
        // one, or the table changed otherwise.
        let suspensions = if summary.suspensions != self.read_index().suspensions_token {
            Some(self.read_suspensions(&mut transaction)?)
        } else {
            None
        };
        transaction.commit()?;
        self.apply(
            &changes,
            current,
            systems.map(|systems| (systems, summary.systems)),
            suspensions.map(|suspensions| (suspensions, summary.suspensions)),
        );
        Ok(())
    }

    /// Applies changes read from the change log (in revision order, as of one snapshot: an
    /// import whose row is gone by then is followed by its delete), and the systems table as
    /// of that snapshot when a system was created or removed.
    fn apply(
        &self,
        changes: &[Change],
        revision: i64,
        systems: Option<(Systems, i64)>,
        suspensions: Option<(HashMap<String, Suspensions>, i64)>,
    ) {
        let checked: Vec<(&Change, Option<(Row, i64)>)> = changes
            .iter()
            .filter(|change| !change.fingerprint.is_empty())
            .map(|change| {
                let row = match (&change.der, change.imported) {
                    (Some(der), true) => Some((
                        self.check_row(&change.system, &change.fingerprint, der),
                        row_token(&change.system, &change.fingerprint, der),
                    )),
                    _ => None,
                };
                (change, row)
            })
            .collect();
        let mut index = self.write_index();
        for (change, row) in checked {
            match row {
                Some((row, token)) => index.insert(&change.system, &change.fingerprint, row, token),
                None => index.remove(&change.system, &change.fingerprint),
            }
        }
        index.revision = revision;
        if let Some(((systems, damaged), token)) = systems {
            index.systems = systems;
            index.damaged_systems = damaged;
            index.systems_token = token;
        }
        if let Some((suspensions, token)) = suspensions {
            index.suspensions = suspensions;
            index.suspensions_token = token;
        }
    }

    /// A row as a certificate, or what is wrong with it.
    fn check_row(&self, system: &str, key: &str, der: &[u8]) -> Result<Certificate, DamagedEntry> {
        let damaged = |problem| DamagedEntry {
            location: if system.is_empty() {
                PathBuf::from(format!("{}.client_certificates/{key}", self.schema))
            } else {
                PathBuf::from(format!(
                    "{}.client_certificates/{system}/{key}",
                    self.schema
                ))
            },
            problem,
        };
        let actual = Fingerprint::of_der(der);
        if actual.to_string() != key {
            return Err(damaged(EntryDamage::FingerprintMismatch { actual }));
        }
        Certificate::from_der(der).map_err(|error| damaged(EntryDamage::NotACertificate(error)))
    }

    /// The background thread: keeps the index current until the store is dropped.
    pub(super) fn listen(&self) {
        let mut backoff = Duration::from_millis(50);
        while !self.stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            // Errors are not reported anywhere but here: reads go on from the index, writes
            // report their own errors, and the next attempt compares summaries again.
            let _ = self.listen_once();
            if started.elapsed() > MAX_BACKOFF {
                backoff = Duration::from_millis(50);
            }
            self.sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn listen_once(&self) -> Result<(), postgres::Error> {
        let mut client = self.connector.connect(&self.config)?;
        client.batch_execute(&self.statements.listen)?;
        // Listening before comparing: nothing committed in between can be missed.
        self.resync(&mut client)?;
        let mut last_resync = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let woken = client.notifications().timeout_iter(POLL).next()?.is_some();
            if client.is_closed() {
                return Ok(());
            }
            if woken {
                // Later notifications are covered by this catch-up.
                while client.notifications().iter().next()?.is_some() {}
                self.catch_up(&mut client)?;
            }
            if last_resync.elapsed() >= self.resync_interval {
                self.resync(&mut client)?;
                last_resync = Instant::now();
            }
        }
        Ok(())
    }

    fn sleep(&self, duration: Duration) {
        let until = Instant::now() + duration;
        while !self.stop.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(POLL));
        }
    }
}
