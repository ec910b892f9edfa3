//! Last used (issue 23), a kill between flushes: a child process records uses and flushes
//! every few milliseconds on a registry directory, and is killed (SIGKILL) at random
//! moments. After each kill the usage file reads back whole (no damaged line: a torn
//! temporary file may be left, never read as the usage file), and every use the child
//! reported flushed is there: a kill loses at most what was recorded since the last flush.
//!
//! A SIGKILL proves atomicity, not durability: the page cache outlives the process.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use common::Scratch;
use inbound_certs::{
    Certificate, CertificateStore, ImportPolicy, Registry, SystemKind, SystemName,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Set in the child to the registry's directory.
const CHILD: &str = "INBOUND_CERTS_USAGE_KILL_DIR";
/// Set in the child to the first round number it records.
const START: &str = "INBOUND_CERTS_USAGE_KILL_START";
/// How many certificates `crm` trusts (each use of each is one line of its usage file).
const CERTIFICATES: usize = 100;
/// The time of the uses of round `i`: one millisecond per round.
const ORIGIN: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);
/// How many times the parent kills a child.
const KILLS: usize = 6;

fn at(round: u64) -> OffsetDateTime {
    ORIGIN + Duration::milliseconds(round as i64)
}

fn crm() -> SystemName {
    "crm".parse().unwrap()
}

fn client(index: usize) -> Certificate {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("client-{index}.example"));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
}

/// The child: rounds from `start` on, each recording a use of every certificate of `crm` at
/// the round's time and flushing, printing `flushed <round>` once the flush returned; it
/// never ends by itself but after 20 seconds (an orphan if the parent failed).
fn record_and_flush(dir: &Path, start: u64) {
    let registry = Registry::open(dir).unwrap();
    let fingerprints: Vec<_> = registry
        .store(&crm())
        .unwrap()
        .list()
        .unwrap()
        .certificates
        .iter()
        .map(Certificate::fingerprint)
        .collect();
    let began = Instant::now();
    let mut stdout = std::io::stdout();
    for round in start.. {
        for fingerprint in &fingerprints {
            registry.record_use_at(fingerprint, None, at(round));
        }
        registry.flush_usage().unwrap();
        writeln!(stdout, "flushed {round}").unwrap();
        stdout.flush().unwrap();
        std::thread::sleep(StdDuration::from_millis(2));
        if began.elapsed() > StdDuration::from_secs(20) {
            return;
        }
    }
}

/// A pseudo-random pause from 3 to 60 ms (seeded by the clock: each run kills elsewhere).
fn pause(state: &mut u64) -> StdDuration {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    StdDuration::from_millis(3 + (*state >> 33) % 58)
}

#[test]
fn a_kill_between_flushes_loses_at_most_the_last_interval() {
    if let Some(dir) = std::env::var_os(CHILD) {
        let start = std::env::var(START).unwrap().parse().unwrap();
        record_and_flush(Path::new(&dir), start);
        return;
    }
    let scratch = Scratch::new("usage-kill");
    let dir = scratch.path().join("registry");
    let registry = Registry::create(&dir).unwrap();
    registry
        .create_system(&crm(), SystemKind::Source, ORIGIN)
        .unwrap();
    let certificates: Vec<Certificate> = (0..CERTIFICATES).map(client).collect();
    registry
        .store(&crm())
        .unwrap()
        .import_all(&certificates, &ImportPolicy::new(ORIGIN))
        .unwrap();
    drop(registry);

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut start = 0;
    let mut temporaries_left = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "--nocapture",
                "a_kill_between_flushes_loses_at_most_the_last_interval",
            ])
            .env(CHILD, &dir)
            .env(START, start.to_string())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(round) = line.strip_prefix("flushed ") {
                    let _ = sender.send(round.parse::<u64>().unwrap());
                }
            }
        });
        // Killed some milliseconds after its first flush, in the middle of whatever it does.
        let first = receiver
            .recv_timeout(StdDuration::from_secs(30))
            .expect("the child flushed nothing");
        let wait = pause(&mut seed);
        std::thread::sleep(wait);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child ended by itself: {status}");
        reader.join().unwrap();
        let flushed = receiver.try_iter().last().unwrap_or(first);

        // Reopened: the file reads whole, and holds at least the last reported flush.
        let reopened = Registry::open(&dir).unwrap();
        let usage = reopened.usage(&crm()).unwrap();
        assert!(usage.damaged.is_empty(), "kill {kill}: {:?}", usage.damaged);
        assert_eq!(usage.uses.len(), CERTIFICATES, "kill {kill}");
        for certificate in &certificates {
            let last = usage.get(&certificate.name()).unwrap();
            assert!(
                last.at >= at(flushed),
                "kill {kill} after {wait:?}: {} was last used at {} in the file, but round \
                 {flushed} ({}) was reported flushed",
                certificate.name(),
                last.at,
                at(flushed)
            );
        }
        // Every line of the file itself: a fingerprint, a time, no address, the first use
        // (the child's first round, never after the last use).
        let text = std::fs::read_to_string(dir.join("usage/crm")).unwrap();
        assert_eq!(text.lines().count(), CERTIFICATES, "kill {kill}");
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 4, "kill {kill}: {line:?}");
            assert_eq!(fields[0].len(), 64, "kill {kill}: {line:?}");
            assert_eq!(fields[2], "-", "kill {kill}: {line:?}");
            let rfc3339 = time::format_description::well_known::Rfc3339;
            let (last, first) = (
                OffsetDateTime::parse(fields[1], &rfc3339).unwrap(),
                OffsetDateTime::parse(fields[3], &rfc3339).unwrap(),
            );
            assert!(first == at(0) && first <= last, "kill {kill}: {line:?}");
        }
        temporaries_left = std::fs::read_dir(dir.join("usage"))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .count();
        eprintln!(
            "kill {kill}: {wait:?} after the first flush (round {first}), last reported \
             flush round {flushed}; {temporaries_left} temporary file(s) left"
        );
        // The next child's uses are later than all of these.
        start = flushed + 1_000;
    }
    eprintln!("{temporaries_left} temporary file(s) in usage/ after {KILLS} kills");
}
