//! When each certificate was last used: [`Registry::record_use`] on every accepted
//! handshake (a few atomics, no allocation, no shared lock taken for writing), and
//! [`Registry::flush_usage`] writing what changed to the backend, one batch per flush,
//! from a background [`UsageFlusher`] or by hand.
//!
//! The record in memory is keyed by fingerprint alone: a use counts for every system that
//! trusts the certificate when it is flushed (the accept loop that knows the peer's address
//! does not know which system the verifier chose, and need not).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::RwLock;
use std::thread::JoinHandle;
use std::time::Duration;

use time::OffsetDateTime;

use super::Registry;
use crate::backend::usage::{from_micros, to_micros, LastUse, SystemUsage, UsageBatch};
use crate::clock::{Clock, SystemClock};
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::store::StoreError;
use crate::sync::RwLockExt;
use crate::system::SystemName;

/// How many independently locked parts the record is split into: handshakes of different
/// certificates rarely touch the same lock's counter.
const SHARDS: usize = 16;

/// The record of uses kept in memory.
#[derive(Debug)]
pub(crate) struct Recorder {
    shards: [RwLock<HashMap<Fingerprint, Slot, BuildHasherDefault<FingerprintHasher>>>; SHARDS],
    /// The registry's clock is not the [`SystemClock`] any more: the hot path asks it
    /// (behind its lock) instead of reading the system's coarse clock directly.
    custom_clock: AtomicBool,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            shards: std::array::from_fn(|_| RwLock::default()),
            custom_clock: AtomicBool::new(false),
        }
    }
}

/// A fingerprint is already a SHA-256 digest: its first eight bytes are as good a hash as
/// any, and far cheaper than SipHash over 32 bytes. Only certificates a registry trusts
/// are kept, so nobody can choose the keys to collide.
#[derive(Debug, Default)]
pub(crate) struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        for (into, from) in word.iter_mut().zip(bytes) {
            *into = *from;
        }
        self.0 ^= u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One certificate's last use, as atomics under a sequence number (a seqlock): a writer
/// makes the number odd, stores, makes it even again; a reader retries until it read the
/// same even number before and after. Two writers at the same instant do not wait for each
/// other: the second leaves the first's use, which is as recent.
#[derive(Debug, Default)]
struct Slot {
    sequence: AtomicU64,
    /// Microseconds since the Unix epoch.
    at: AtomicI64,
    /// The earliest use recorded, in microseconds since the Unix epoch.
    first: AtomicI64,
    /// 0: no address, 4: IPv4, 6: IPv6.
    family: AtomicU8,
    address_high: AtomicU64,
    address_low: AtomicU64,
    /// Changed since the last flush took it.
    dirty: AtomicBool,
}

impl Slot {
    fn store(&self, at: i64, peer: Option<IpAddr>) {
        let sequence = self.sequence.load(Ordering::Relaxed);
        if sequence & 1 == 1
            || self
                .sequence
                .compare_exchange(sequence, sequence + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        fence(Ordering::Release);
        if sequence == 0 || at < self.first.load(Ordering::Relaxed) {
            self.first.store(at, Ordering::Relaxed);
        }
        // Newest wins, even when the clock steps back.
        if at >= self.at.load(Ordering::Relaxed) {
            let (family, high, low) = split(peer);
            self.at.store(at, Ordering::Relaxed);
            self.family.store(family, Ordering::Relaxed);
            self.address_high.store(high, Ordering::Relaxed);
            self.address_low.store(low, Ordering::Relaxed);
            self.dirty.store(true, Ordering::Relaxed);
        }
        self.sequence.store(sequence + 2, Ordering::Release);
    }

    fn load(&self) -> Option<LastUse> {
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before & 1 == 1 {
                std::thread::yield_now();
                continue;
            }
            let at = self.at.load(Ordering::Relaxed);
            let first = self.first.load(Ordering::Relaxed);
            let family = self.family.load(Ordering::Relaxed);
            let high = self.address_high.load(Ordering::Relaxed);
            let low = self.address_low.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.sequence.load(Ordering::Relaxed) == before {
                if before == 0 {
                    return None;
                }
                return Some(LastUse {
                    at: from_micros(at)?,
                    peer: join(family, high, low),
                    first: from_micros(first)?,
                });
            }
        }
    }
}

fn split(peer: Option<IpAddr>) -> (u8, u64, u64) {
    match peer {
        None => (0, 0, 0),
        Some(IpAddr::V4(address)) => (4, 0, u64::from(u32::from(address))),
        Some(IpAddr::V6(address)) => {
            let bits = u128::from(address);
            (6, (bits >> 64) as u64, bits as u64)
        }
    }
}

fn join(family: u8, high: u64, low: u64) -> Option<IpAddr> {
    match family {
        4 => u32::try_from(low).ok().map(|bits| IpAddr::V4(bits.into())),
        6 => Some(IpAddr::V6(
            ((u128::from(high) << 64) | u128::from(low)).into(),
        )),
        _ => None,
    }
}

impl Recorder {
    /// The registry was given a clock of its own ([`Registry::with_clock`]).
    pub(crate) fn clock_replaced(&self) {
        self.custom_clock.store(true, Ordering::Relaxed);
    }

    fn shard(
        &self,
        fingerprint: &Fingerprint,
    ) -> Option<&RwLock<HashMap<Fingerprint, Slot, BuildHasherDefault<FingerprintHasher>>>> {
        let last = fingerprint.as_bytes().last().copied().unwrap_or(0);
        self.shards.get(usize::from(last) % SHARDS)
    }

    /// Records a use: under the shard's read lock (shared with every other handshake), a
    /// few atomic stores; the first use of a certificate inserts its slot once.
    pub(crate) fn record(&self, fingerprint: &Fingerprint, at: i64, peer: Option<IpAddr>) {
        let Some(shard) = self.shard(fingerprint) else {
            return;
        };
        if let Some(slot) = shard.reading().get(fingerprint) {
            slot.store(at, peer);
            return;
        }
        shard
            .writing()
            .entry(*fingerprint)
            .or_default()
            .store(at, peer);
    }

    /// The use recorded in memory for this certificate.
    pub(crate) fn get(&self, fingerprint: &Fingerprint) -> Option<LastUse> {
        self.shard(fingerprint)?
            .reading()
            .get(fingerprint)
            .and_then(Slot::load)
    }

    /// Every use recorded in memory.
    pub(crate) fn all(&self) -> Vec<(Fingerprint, LastUse)> {
        let mut uses = Vec::new();
        for shard in &self.shards {
            for (fingerprint, slot) in shard.reading().iter() {
                if let Some(last) = slot.load() {
                    uses.push((*fingerprint, last));
                }
            }
        }
        uses
    }

    /// Takes the uses changed since the last take (marking them clean).
    pub(crate) fn take_changed(&self) -> Vec<(Fingerprint, LastUse)> {
        let mut changed = Vec::new();
        for shard in &self.shards {
            for (fingerprint, slot) in shard.reading().iter() {
                if slot.dirty.swap(false, Ordering::AcqRel) {
                    if let Some(last) = slot.load() {
                        changed.push((*fingerprint, last));
                    }
                }
            }
        }
        changed
    }

    /// Marks these uses changed again (their flush failed).
    pub(crate) fn mark_changed(&self, uses: &[(Fingerprint, LastUse)]) {
        for (fingerprint, _) in uses {
            if let Some(shard) = self.shard(fingerprint) {
                if let Some(slot) = shard.reading().get(fingerprint) {
                    slot.dirty.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Forgets a certificate no system trusts any more.
    pub(crate) fn forget(&self, fingerprint: &Fingerprint) {
        if let Some(shard) = self.shard(fingerprint) {
            shard.writing().remove(fingerprint);
        }
    }
}

impl Registry {
    /// Records that a client presenting the certificate with this fingerprint was accepted
    /// now, from `peer` if known. Meant for the hot path of every handshake: a few atomic
    /// stores under a read lock shared with every other handshake, no allocation (but at a
    /// certificate's first use), no I/O, never an error. The time is the registry's clock
    /// (see [`with_clock`](Self::with_clock)); with the default system clock, its coarse
    /// variant (to the millisecond or so, a few nanoseconds to read).
    ///
    /// The verifier (`StoreClientVerifier`, feature `rustls`) records every client whose
    /// handshake signature verified, without an address (rustls does not tell a verifier
    /// who connected); a server that knows the address calls this again once the handshake
    /// is done, and the address is kept with the use (see `examples/mtls_server.rs`).
    ///
    /// The use counts for every system that trusts the certificate when it is
    /// [flushed](Self::flush_usage); a certificate no system trusts any more is forgotten
    /// then.
    ///
    /// ```
    /// use inbound_certs::{CertificateStore, ImportPolicy, Registry, SystemKind};
    /// use time::macros::datetime;
    ///
    /// let now = datetime!(2026-06-01 0:00 UTC);
    /// let registry = Registry::in_memory().with_clock(move || now);
    /// let crm = registry.create_system(&"crm".parse()?, SystemKind::Source, now)?;
    /// let upload = std::fs::read("tests/data/sample_source.pem")?;
    /// let name = registry.store(crm.name())?.import_upload(&upload, &ImportPolicy::new(now))?[0].name();
    ///
    /// registry.record_use(&name.fingerprint(), Some("192.0.2.7".parse()?));
    /// let last = registry.last_used(crm.name(), &name)?.expect("recorded");
    /// assert_eq!((last.at, last.peer), (now, Some("192.0.2.7".parse()?)));
    /// // Written by a background `start_usage_flush`, or by hand:
    /// assert_eq!(registry.flush_usage()?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn record_use(&self, fingerprint: &Fingerprint, peer: Option<IpAddr>) {
        let at = if self.shared.usage.custom_clock.load(Ordering::Relaxed) {
            self.shared.clock.reading().now_unix_micros()
        } else {
            SystemClock.now_unix_micros()
        };
        self.shared.usage.record(fingerprint, at, peer);
    }

    /// [`record_use`](Self::record_use) at a given instant rather than the registry's clock.
    pub fn record_use_at(
        &self,
        fingerprint: &Fingerprint,
        peer: Option<IpAddr>,
        at: OffsetDateTime,
    ) {
        self.shared.usage.record(fingerprint, to_micros(at), peer);
    }

    /// Writes the uses recorded since the last flush to the backend, one batch for all
    /// systems: on a directory, one file per system (`DIR/usage/<system>`) replaced
    /// atomically; on PostgreSQL, one statement; in memory, nothing to write (the record in
    /// memory is all there is). Returns how many (system, certificate) uses were written. A
    /// flush that fails loses nothing: the uses are written by the next one. Handshakes
    /// recording meanwhile never wait for it.
    pub fn flush_usage(&self) -> Result<usize, StoreError> {
        let changed = self.shared.usage.take_changed();
        if changed.is_empty() {
            return Ok(0);
        }
        let result = self.write_usage(&changed);
        if result.is_err() {
            self.shared.usage.mark_changed(&changed);
        }
        result
    }

    fn write_usage(&self, changed: &[(Fingerprint, LastUse)]) -> Result<usize, StoreError> {
        let mut batch = UsageBatch::new();
        let mut written = 0;
        for (fingerprint, last) in changed {
            let systems = self.identify(fingerprint)?;
            if systems.is_empty() {
                self.shared.usage.forget(fingerprint);
            }
            for system in systems {
                batch
                    .entry(system.name().clone())
                    .or_default()
                    .push((*fingerprint, *last));
                written += 1;
            }
        }
        if !batch.is_empty() {
            self.shared.backend.write_usage(&batch)?;
        }
        Ok(written)
    }

    /// The last uses of a system's certificates: what was flushed (by any process or
    /// replica sharing the backend) merged with what this process recorded since, the
    /// newest of each certificate's. What this process recorded counts for every
    /// certificate with that fingerprint (look up the system's own certificates in it). On a
    /// directory, the system's usage file is read with the store's care (never through a
    /// link, regular files only, bounded); lines that cannot be read are reported in
    /// [`SystemUsage::damaged`].
    pub fn usage(&self, system: &SystemName) -> Result<SystemUsage, StoreError> {
        let mut usage = self.shared.backend.read_usage(system)?;
        for (fingerprint, last) in self.shared.usage.all() {
            usage.merge(fingerprint, last);
        }
        Ok(usage)
    }

    /// The last use of one certificate of a system (see [`usage`](Self::usage)); `None` if
    /// it was never used (or not since usage was recorded).
    pub fn last_used(
        &self,
        system: &SystemName,
        certificate: &CertificateName,
    ) -> Result<Option<LastUse>, StoreError> {
        let fingerprint = certificate.fingerprint();
        let flushed = self
            .shared
            .backend
            .read_usage(system)?
            .uses
            .get(&fingerprint)
            .copied();
        let recorded = self.shared.usage.get(&fingerprint);
        Ok(match (flushed, recorded) {
            (Some(flushed), Some(recorded)) => Some(flushed.newest(recorded)),
            (flushed, recorded) => flushed.or(recorded),
        })
    }

    /// Starts a thread that [flushes](Self::flush_usage) every `interval` (60 seconds is a
    /// good default: [`DEFAULT_FLUSH_INTERVAL`]), so that a restart loses at most one
    /// interval's uses. Stopping or dropping the returned handle flushes once more and
    /// waits for the thread. A failed flush is retried at the next interval.
    pub fn start_usage_flush(&self, interval: Duration) -> UsageFlusher {
        let (stop, stopped) = mpsc::channel::<()>();
        let registry = self.clone();
        let thread = std::thread::Builder::new()
            .name("usage-flush".into())
            .spawn(move || loop {
                let last = !matches!(
                    stopped.recv_timeout(interval),
                    Err(RecvTimeoutError::Timeout)
                );
                let _ = registry.flush_usage();
                if last {
                    break;
                }
            });
        UsageFlusher {
            stop: Some(stop),
            thread: thread.ok(),
            registry: self.clone(),
        }
    }
}

/// The interval of a background flush the issue asks for: a restart loses at most a
/// minute of uses.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(60);

/// A background flush of a registry's usage ([`Registry::start_usage_flush`]). Dropping it
/// (or [`stop`](Self::stop)) flushes once more and waits for the thread.
#[derive(Debug)]
pub struct UsageFlusher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    registry: Registry,
}

impl UsageFlusher {
    /// Stops the thread after a last flush, and returns that flush's outcome.
    pub fn stop(mut self) -> Result<usize, StoreError> {
        self.halt();
        self.registry.flush_usage()
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for UsageFlusher {
    fn drop(&mut self) {
        self.halt();
        // Without a thread (it could not be spawned), the last flush is this one.
        let _ = self.registry.flush_usage();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_atomics() {
        for peer in [
            None,
            Some("192.0.2.7".parse().unwrap()),
            Some("2001:db8::1:2".parse().unwrap()),
        ] {
            let (family, high, low) = split(peer);
            assert_eq!(join(family, high, low), peer);
        }
    }

    #[test]
    fn the_newest_use_wins_and_a_flush_takes_each_once() {
        let recorder = Recorder::default();
        let fingerprint = Fingerprint::from_bytes([7; 32]);
        recorder.record(&fingerprint, 2_000_000, None);
        recorder.record(&fingerprint, 1_000_000, Some("192.0.2.1".parse().unwrap()));
        let last = recorder.get(&fingerprint).unwrap();
        assert_eq!(last.at.unix_timestamp(), 2);
        assert_eq!(last.peer, None);
        assert_eq!(recorder.take_changed().len(), 1);
        assert!(recorder.take_changed().is_empty());
        recorder.mark_changed(&[(fingerprint, last)]);
        assert_eq!(recorder.take_changed().len(), 1);
    }
}
