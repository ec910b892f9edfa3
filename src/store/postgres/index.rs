//! The in-memory index of the table, and how it is kept current: notifications and the change
//! log for every change, and a periodic comparison of cheap summaries that heals anything else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel};
use sha2::{Digest, Sha256};

use super::{Shared, MAX_BACKOFF, POLL};
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::{Damage, Damaged};

/// What a replica compares with the database to learn, without reading the table, whether its
/// index shows the table as it is: the revision, the number of rows and the XOR of every row's
/// [`row_token`]. A trigger keeps the database's in the `revision` row, whoever writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Summary {
    revision: i64,
    rows: i64,
    digest: i64,
}

/// 64 bits of SHA-256 over a row's key and DER, the same as the SQL function `row_token`.
pub(super) fn row_token(key: &str, der: &[u8]) -> i64 {
    let hash = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(der)
        .finalize();
    let mut first = [0; 8];
    for (slot, byte) in first.iter_mut().zip(hash.iter()) {
        *slot = *byte;
    }
    i64::from_be_bytes(first)
}

/// The SQL of the same function (in the store's schema).
pub(super) const ROW_TOKEN_SQL: &str = "('x' || left(encode(sha256(convert_to(fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint";

#[derive(Default)]
pub(super) struct Index {
    pub(super) certificates: BTreeMap<CertificateName, Certificate>,
    /// Damaged rows by their key as stored, with their row token.
    pub(super) damaged: BTreeMap<String, (Damaged, i64)>,
    /// The revision of the database the index reflects.
    revision: i64,
    /// The XOR of the row tokens of every row in the index.
    digest: i64,
    /// Whether the table has been loaded once.
    loaded: bool,
}

impl Index {
    fn summary(&self) -> Summary {
        let rows = self.certificates.len() + self.damaged.len();
        Summary {
            revision: self.revision,
            rows: i64::try_from(rows).unwrap_or(i64::MAX),
            digest: self.digest,
        }
    }

    /// Puts a row in (replacing the row with the same key).
    fn insert(&mut self, key: &str, row: Result<Certificate, Damaged>, token: i64) {
        self.remove(key);
        match row {
            Ok(certificate) => {
                self.certificates.insert(certificate.name(), certificate);
            }
            Err(damaged) => {
                self.damaged.insert(key.to_string(), (damaged, token));
            }
        }
        self.digest ^= token;
    }

    /// Takes the row with this key out, if there is one.
    fn remove(&mut self, key: &str) {
        if let Some((_, token)) = self.damaged.remove(key) {
            self.digest ^= token;
        }
        // Only the row stored under exactly this key: a damaged row's key may be another
        // spelling of a healthy certificate's fingerprint.
        let Some(name) = name_of(key) else { return };
        let healthy = self
            .certificates
            .get(&name)
            .is_some_and(|certificate| certificate.fingerprint().to_string() == key);
        if healthy {
            if let Some(certificate) = self.certificates.remove(&name) {
                self.digest ^= row_token(key, certificate.der());
            }
        }
    }

    /// Every row's key.
    fn keys(&self) -> HashSet<String> {
        let healthy = self
            .certificates
            .values()
            .map(|certificate| certificate.fingerprint().to_string());
        healthy.chain(self.damaged.keys().cloned()).collect()
    }

    /// The token of the row with this key, if the index has it.
    fn token_of(&self, key: &str) -> Option<i64> {
        if let Some((_, token)) = self.damaged.get(key) {
            return Some(*token);
        }
        let certificate = self.certificates.get(&name_of(key)?)?;
        (certificate.fingerprint().to_string() == key).then(|| row_token(key, certificate.der()))
    }

    /// Every row's key and token.
    fn tokens(&self) -> HashMap<String, i64> {
        let mut tokens = HashMap::with_capacity(self.certificates.len() + self.damaged.len());
        for certificate in self.certificates.values() {
            let key = certificate.fingerprint().to_string();
            let token = row_token(&key, certificate.der());
            tokens.insert(key, token);
        }
        for (key, (_, token)) in &self.damaged {
            tokens.insert(key.clone(), *token);
        }
        tokens
    }
}

/// A row as a certificate, or what is wrong with it.
type Row = Result<Certificate, Damaged>;

/// One change of the change log, with the row's DER when it was an import.
struct Change {
    revision: i64,
    fingerprint: String,
    imported: bool,
    der: Option<Vec<u8>>,
}

fn name_of(key: &str) -> Option<CertificateName> {
    key.parse::<Fingerprint>().ok().map(CertificateName::from)
}

impl Shared {
    pub(super) fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads the table the first time; afterwards compares summaries and fetches only what
    /// differs.
    pub(super) fn resync(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let _in_order = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.read_index().loaded {
            return self.load(client);
        }
        let local = self.read_index().summary();
        let (transaction, summary) = self.snapshot(client)?;
        if summary == local {
            return transaction.commit();
        }
        if summary.revision != local.revision {
            // Missed notifications: the change log is the cheap way, if it reaches back.
            transaction.commit()?;
            self.catch_up_locked(client)?;
            let local = self.read_index().summary();
            let (transaction, summary) = self.snapshot(client)?;
            if summary == local {
                return transaction.commit();
            }
            return self.reconcile(transaction, summary);
        }
        self.reconcile(transaction, summary)
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
        let row = transaction.query_one(
            &format!(
                "SELECT value, row_count, digest FROM {}",
                self.table("revision")
            ),
            &[],
        )?;
        let summary = Summary {
            revision: row.try_get(0)?,
            rows: row.try_get(1)?,
            digest: row.try_get(2)?,
        };
        Ok((transaction, summary))
    }

    /// Reads the whole table, from one snapshot.
    fn load(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let (mut transaction, summary) = self.snapshot(client)?;
        let rows = transaction.query(
            &format!(
                "SELECT fingerprint, der FROM {}",
                self.table("client_certificates")
            ),
            &[],
        )?;
        transaction.commit()?;
        let mut fresh = Index {
            revision: summary.revision,
            loaded: true,
            ..Index::default()
        };
        for row in rows {
            let key: String = row.try_get(0)?;
            let der: Vec<u8> = row.try_get(1)?;
            fresh.insert(&key, self.check_row(&key, &der), row_token(&key, &der));
        }
        *self.write_index() = fresh;
        Ok(())
    }

    /// Makes the index equal to the table in `transaction`'s snapshot, reading the DER of only
    /// the rows that differ. First the keys alone: rows added or removed behind the index's
    /// back (a missed notification, a hand-made `INSERT` or `DELETE`). If the summary then
    /// still differs, a row was changed in place: every row's token (64 bits of hash, computed
    /// by the server) finds which.
    fn reconcile(
        &self,
        mut transaction: postgres::Transaction<'_>,
        summary: Summary,
    ) -> Result<(), postgres::Error> {
        let table = self.table("client_certificates");
        let mut server = HashSet::new();
        for row in transaction.query(&format!("SELECT fingerprint FROM {table}"), &[])? {
            server.insert(row.try_get::<_, String>(0)?);
        }
        let (gone, missing, mut predicted) = {
            let index = self.read_index();
            let local = index.keys();
            let gone: Vec<String> = local.difference(&server).cloned().collect();
            let missing: Vec<String> = server.difference(&local).cloned().collect();
            let mut predicted = index.summary();
            for key in &gone {
                predicted.rows -= 1;
                predicted.digest ^= index.token_of(key).unwrap_or_default();
            }
            (gone, missing, predicted)
        };
        let mut fetched = self.fetch(&mut transaction, &missing)?;
        for (key, der) in &fetched {
            predicted.rows += 1;
            predicted.digest ^= row_token(key, der);
        }
        predicted.revision = summary.revision;
        if predicted != summary {
            let tokens = self.read_index().tokens();
            let mut changed = Vec::new();
            for row in transaction.query(
                &format!("SELECT fingerprint, {ROW_TOKEN_SQL} FROM {table}"),
                &[],
            )? {
                let key: String = row.try_get(0)?;
                let token: i64 = row.try_get(1)?;
                if tokens.get(&key).is_some_and(|local| *local != token) {
                    changed.push(key);
                }
            }
            fetched.extend(self.fetch(&mut transaction, &changed)?);
        }
        transaction.commit()?;
        let checked: Vec<(String, Row, i64)> = fetched
            .into_iter()
            .map(|(key, der)| {
                let token = row_token(&key, &der);
                (key.clone(), self.check_row(&key, &der), token)
            })
            .collect();
        let mut index = self.write_index();
        for key in &gone {
            index.remove(key);
        }
        for (key, row, token) in checked {
            index.insert(&key, row, token);
        }
        index.revision = summary.revision;
        Ok(())
    }

    /// The DER of the rows with these keys.
    fn fetch(
        &self,
        transaction: &mut postgres::Transaction<'_>,
        keys: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>, postgres::Error> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = transaction.query(
            &format!(
                "SELECT fingerprint, der FROM {} WHERE fingerprint = ANY($1)",
                self.table("client_certificates")
            ),
            &[&keys],
        )?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Brings the index up to date with the change log, or reconciles it with the table when
    /// the log no longer reaches back to the index's revision.
    pub(super) fn catch_up(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let _in_order = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        self.catch_up_locked(client)
    }

    fn catch_up_locked(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let known = self.read_index().revision;
        let (mut transaction, summary) = self.snapshot(client)?;
        let current = summary.revision;
        if current == known {
            return transaction.commit();
        }
        let rows = transaction.query(
            &format!(
                "SELECT c.revision, c.fingerprint, c.imported, k.der
                 FROM {changes} c LEFT JOIN {certificates} k USING (fingerprint)
                 WHERE c.revision > $1 ORDER BY c.revision",
                changes = self.table("changes"),
                certificates = self.table("client_certificates"),
            ),
            &[&known],
        )?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            changes.push(Change {
                revision: row.try_get(0)?,
                fingerprint: row.try_get(1)?,
                imported: row.try_get(2)?,
                der: row.try_get(3)?,
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
        transaction.commit()?;
        self.apply(&changes, current);
        Ok(())
    }

    /// Applies changes read from the change log (in revision order, as of one snapshot: an
    /// import whose row is gone by then is followed by its delete).
    fn apply(&self, changes: &[Change], revision: i64) {
        let checked: Vec<(&Change, Option<(Row, i64)>)> = changes
            .iter()
            .map(|change| {
                let row = match (&change.der, change.imported) {
                    (Some(der), true) => Some((
                        self.check_row(&change.fingerprint, der),
                        row_token(&change.fingerprint, der),
                    )),
                    _ => None,
                };
                (change, row)
            })
            .collect();
        let mut index = self.write_index();
        for (change, row) in checked {
            match row {
                Some((row, token)) => index.insert(&change.fingerprint, row, token),
                None => index.remove(&change.fingerprint),
            }
        }
        index.revision = revision;
    }

    /// A row as a certificate, or what is wrong with it.
    fn check_row(&self, key: &str, der: &[u8]) -> Result<Certificate, Damaged> {
        let damaged = |problem| Damaged {
            location: PathBuf::from(format!("{}.client_certificates/{key}", self.schema)),
            problem,
        };
        let actual = Fingerprint::of_der(der);
        if actual.to_string() != key {
            return Err(damaged(Damage::FingerprintMismatch { actual }));
        }
        Certificate::from_der(der).map_err(|error| damaged(Damage::NotACertificate(error)))
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
        client.batch_execute(&format!("LISTEN \"{}\"", self.channel))?;
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
