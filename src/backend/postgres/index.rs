//! The in-memory index of the tables (kept current by [`sync`](super::sync)).
//!
//! Rows are keyed by their system (the empty text for the rows of a [`PostgresStore`], which
//! belong to no registered system) and their fingerprint as stored. The index also keeps the
//! registered systems and, for [`identify`](crate::Registry::identify), which systems hold each
//! healthy certificate.
//!
//! [`PostgresStore`]: super::PostgresStore

use std::collections::{BTreeMap, HashMap, HashSet};

use sha2::{Digest, Sha256};

#[cfg(doc)]
use super::statements::Statements;
use crate::backend::Suspensions;
use crate::certificate::Certificate;
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::DamagedEntry;
use crate::system::{System, SystemName};

/// What a replica compares with the database to learn, without reading the table, whether its
/// index shows the table as it is: the revision, the number of rows and the XOR of every row's
/// [`row_token`]. A trigger keeps the database's in the `revision` row, whoever writes. Beside
/// it, a hash of the systems table computed by the server (see [`Statements::summary`]), which
/// the index keeps as it was when it last read that table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Summary {
    pub(super) revision: i64,
    pub(super) rows: i64,
    pub(super) digest: i64,
    pub(super) systems: i64,
    /// A hash of the suspensions table computed by the server, as [`Self::systems`] is.
    pub(super) suspensions: i64,
}

impl Summary {
    /// Whether the certificate rows are the same (the systems aside).
    pub(super) fn same_rows(&self, other: &Summary) -> bool {
        (self.revision, self.rows, self.digest) == (other.revision, other.rows, other.digest)
    }
}

/// 64 bits of SHA-256 over a row's system, key and DER, the same as the SQL of
/// [`ROW_TOKEN_SQL`].
pub(super) fn row_token(system: &str, key: &str, der: &[u8]) -> i64 {
    let hash = Sha256::new()
        .chain_update(system.as_bytes())
        .chain_update(b"/")
        .chain_update(key.as_bytes())
        .chain_update(der)
        .finalize();
    let mut first = [0; 8];
    for (slot, byte) in first.iter_mut().zip(hash.iter()) {
        *slot = *byte;
    }
    i64::from_be_bytes(first)
}

/// The SQL of [`row_token`].
pub(super) const ROW_TOKEN_SQL: &str = "('x' || left(encode(sha256(convert_to(system || '/' || fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint";

/// A row's address: its system (empty for a [`PostgresStore`](super::PostgresStore)'s rows)
/// and its fingerprint as stored.
pub(super) type Key = (String, String);

/// The rows of one system.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) certificates: BTreeMap<CertificateName, Certificate>,
    /// Damaged rows by their key as stored, with their row token.
    pub(super) damaged: BTreeMap<String, (DamagedEntry, i64)>,
}

impl Rows {
    fn len(&self) -> usize {
        self.certificates.len() + self.damaged.len()
    }
}

/// A registered system and the id its row was given (a system removed and created again
/// under the same name has a new id).
#[derive(Debug, Clone)]
pub(super) struct Registered {
    pub(super) system: System,
    pub(super) id: i64,
}

#[derive(Default)]
pub(super) struct Index {
    /// The rows, by system.
    pub(super) stores: HashMap<String, Rows>,
    /// The registered systems.
    pub(super) systems: BTreeMap<SystemName, Registered>,
    /// Rows of the systems table that are not a system this crate can read.
    pub(super) damaged_systems: Vec<DamagedEntry>,
    /// Which systems hold a healthy row of each certificate, sorted by name.
    pub(super) trusted: HashMap<Fingerprint, Vec<SystemName>>,
    /// The revision of the database the index reflects.
    pub(super) revision: i64,
    /// The server's hash of the systems table when the index last read it.
    pub(super) systems_token: i64,
    /// The XOR of the row tokens of every row in the index.
    pub(super) digest: i64,
    /// Whether the tables have been loaded once.
    pub(super) loaded: bool,
    /// The suspensions, by system as stored (only those of certificates a system holds count).
    pub(super) suspensions: HashMap<String, Suspensions>,
    /// The server's hash of the suspensions table when the index last read it.
    pub(super) suspensions_token: i64,
}

impl Index {
    pub(super) fn summary(&self) -> Summary {
        let rows: usize = self.stores.values().map(Rows::len).sum();
        Summary {
            revision: self.revision,
            rows: i64::try_from(rows).unwrap_or(i64::MAX),
            digest: self.digest,
            systems: self.systems_token,
            suspensions: self.suspensions_token,
        }
    }

    /// Whether this certificate is suspended in this system.
    pub(super) fn is_suspended(&self, system: &str, name: &CertificateName) -> bool {
        self.suspensions
            .get(system)
            .is_some_and(|suspensions| suspensions.contains_key(name))
    }

    /// Puts a row in (replacing the row with the same key).
    pub(super) fn insert(
        &mut self,
        system: &str,
        key: &str,
        row: Result<Certificate, DamagedEntry>,
        token: i64,
    ) {
        self.remove(system, key);
        let rows = self.stores.entry(system.to_string()).or_default();
        match row {
            Ok(certificate) => {
                let fingerprint = certificate.fingerprint();
                rows.certificates.insert(certificate.name(), certificate);
                if let Ok(name) = system.parse::<SystemName>() {
                    let systems = self.trusted.entry(fingerprint).or_default();
                    if let Err(position) = systems.binary_search(&name) {
                        systems.insert(position, name);
                    }
                }
            }
            Err(damaged) => {
                rows.damaged.insert(key.to_string(), (damaged, token));
            }
        }
        self.digest ^= token;
    }

    /// Takes the row with this key out, if there is one.
    pub(super) fn remove(&mut self, system: &str, key: &str) {
        let Some(rows) = self.stores.get_mut(system) else {
            return;
        };
        if let Some((_, token)) = rows.damaged.remove(key) {
            self.digest ^= token;
        }
        // Only the row stored under exactly this key: a damaged row's key may be another
        // spelling of a healthy certificate's fingerprint.
        if let Some(name) = name_of(key) {
            let healthy = rows
                .certificates
                .get(&name)
                .is_some_and(|certificate| certificate.fingerprint().to_string() == key);
            if healthy {
                if let Some(certificate) = rows.certificates.remove(&name) {
                    self.digest ^= row_token(system, key, certificate.der());
                    let fingerprint = certificate.fingerprint();
                    if let Some(systems) = self.trusted.get_mut(&fingerprint) {
                        systems.retain(|trusting| trusting.as_str() != system);
                        if systems.is_empty() {
                            self.trusted.remove(&fingerprint);
                        }
                    }
                }
            }
        }
        if rows.len() == 0 {
            self.stores.remove(system);
        }
    }

    /// Every row's key.
    pub(super) fn keys(&self) -> HashSet<Key> {
        let mut keys = HashSet::new();
        for (system, rows) in &self.stores {
            for certificate in rows.certificates.values() {
                keys.insert((system.clone(), certificate.fingerprint().to_string()));
            }
            for key in rows.damaged.keys() {
                keys.insert((system.clone(), key.clone()));
            }
        }
        keys
    }

    /// The token of the row with this key, if the index has it.
    pub(super) fn token_of(&self, (system, key): &Key) -> Option<i64> {
        let rows = self.stores.get(system)?;
        if let Some((_, token)) = rows.damaged.get(key) {
            return Some(*token);
        }
        let certificate = rows.certificates.get(&name_of(key)?)?;
        (certificate.fingerprint().to_string() == *key)
            .then(|| row_token(system, key, certificate.der()))
    }

    /// Every row's key and token.
    pub(super) fn tokens(&self) -> HashMap<Key, i64> {
        let mut tokens = HashMap::new();
        for (system, rows) in &self.stores {
            for certificate in rows.certificates.values() {
                let key = certificate.fingerprint().to_string();
                let token = row_token(system, &key, certificate.der());
                tokens.insert((system.clone(), key), token);
            }
            for (key, (_, token)) in &rows.damaged {
                tokens.insert((system.clone(), key.clone()), *token);
            }
        }
        tokens
    }
}

/// A row as a certificate, or what is wrong with it.
pub(super) type Row = Result<Certificate, DamagedEntry>;

pub(super) fn name_of(key: &str) -> Option<CertificateName> {
    key.parse::<Fingerprint>().ok().map(CertificateName::from)
}

/// The systems table as read: the systems, and the rows that are not readable systems.
pub(super) type Systems = (BTreeMap<SystemName, Registered>, Vec<DamagedEntry>);
