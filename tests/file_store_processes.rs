//! The file store under several processes: concurrent writers lose no update, and a process
//! killed (SIGKILL) at any moment of an import or delete leaves a store whose every listed
//! certificate is complete and verifies.
//!
//! This test binary runs its tests with libtest-mimic, not libtest: it re-runs itself as the
//! worker processes (`--worker ...`), which libtest's argument parsing would not allow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use inbound_certs::{
    backend::FileStore, decode, Certificate, CertificateStore, ImportPolicy, Registry, StoreError,
    SystemKind, SystemName,
};
use time::macros::datetime;

const POOL: &[&str] = &[
    "rsa1024",
    "rsa2048",
    "ec_p256",
    "ec_p384",
    "ed25519",
    "ed448",
    "many_sans",
    "no_eku",
    "any_eku",
    "via_intermediate",
    "sample_source",
    "sample_proxy",
    "ec_p521",
    "rsa3072",
];

fn pool() -> Vec<Certificate> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    POOL.iter()
        .map(|stem| {
            let der = std::fs::read(dir.join(format!("{stem}.der"))).expect("fixture");
            Certificate::from_der(&der).expect("fixture decodes")
        })
        .collect()
}

/// The pool holds keys TLS refuses (RSA-1024, Ed448, P-521): what is stored is the point
/// here, not the policy.
fn policy() -> ImportPolicy {
    ImportPolicy::new(datetime!(2026-06-01 0:00 UTC)).allow_weak(true)
}

struct Random(u64);

impl Random {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Random(nanos ^ u64::from(std::process::id()).rotate_left(32) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Worker modes:
/// - `churn DIR`: imports (single and bundles) and deletes random pool certificates forever.
/// - `failing-bundle DIR ATTEMPTS`: imports the bundle `pool[..3]` ATTEMPTS times; each must
///   fail (a directory stands under `pool[1]`'s name) and be rolled back.
/// - `acknowledge DIR`: imports `pool[0]` and prints `acknowledged` once the store said so.
/// - `bundle DIR`: prints `ready`, imports `pool[..8]` as one bundle, prints `done`, waits to
///   be killed.
/// - `systems DIR`: in a registry, creates systems, imports into them and removes them, forever.
/// - `registry DIR INDEX ROUNDS`: in a registry, creates its own systems `p<INDEX>-<round>`,
///   imports `pool[INDEX]` and the shared `pool[8]` into each, removes every other one.
/// - `share DIR INDEX ROUNDS`: imports the shared set `pool[..4]`, its own `pool[4 + INDEX]`
///   (kept), and `pool[10 + INDEX]` (imported and deleted each round, so gone at the end).
fn worker(arguments: &[String]) -> ExitCode {
    let pool = pool();
    match arguments[0].as_str() {
        "systems" => {
            let registry = Registry::open(&arguments[1]).expect("open registry");
            let mut random = Random::new();
            loop {
                let name: SystemName = format!("s{}", random.below(6)).parse().expect("name");
                match registry.create_system(&name, SystemKind::Source, NOW) {
                    Ok(_) | Err(StoreError::SystemExists(_)) => {}
                    Err(error) => panic!("create: {error}"),
                }
                if let Ok(store) = registry.store(&name) {
                    let _ = store.import_all(&pool[..3], &policy());
                }
                match registry.remove_system(&name, true) {
                    Ok(_) | Err(StoreError::SystemNotFound(_)) => {}
                    Err(error) => panic!("remove: {error}"),
                }
            }
        }
        "audited" => {
            use std::io::Write;
            let registry = Registry::open(&arguments[1])
                .expect("open registry")
                .acting_as("worker");
            let store = registry
                .store(&"crm".parse().expect("name"))
                .expect("store");
            let mut random = Random::new();
            let mut stdout = std::io::stdout();
            loop {
                let certificate = &pool[random.below(4)];
                if store.import(certificate, &policy()).is_ok() {
                    writeln!(stdout, "import {}", certificate.name()).expect("stdout");
                }
                if store.delete(&certificate.name()).is_ok() {
                    writeln!(stdout, "delete {}", certificate.name()).expect("stdout");
                }
                stdout.flush().expect("flush");
            }
        }
        "registry" => {
            let registry = Registry::open(&arguments[1]).expect("open registry");
            let index: usize = arguments[2].parse().expect("index");
            let rounds: usize = arguments[3].parse().expect("rounds");
            for round in 0..rounds {
                let name: SystemName = format!("p{index}-{round}").parse().expect("name");
                registry
                    .create_system(&name, SystemKind::Proxy, NOW)
                    .expect("create");
                let store = registry.store(&name).expect("store");
                store.import(&pool[index], &policy()).expect("import own");
                store.import(&pool[8], &policy()).expect("import shared");
                if round % 2 == 1 {
                    registry.remove_system(&name, true).expect("remove");
                }
            }
            ExitCode::SUCCESS
        }
        _ => worker_on_store(arguments, &pool),
    }
}

const NOW: time::OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

fn worker_on_store(arguments: &[String], pool: &[Certificate]) -> ExitCode {
    let store = FileStore::open(&arguments[1], SystemKind::Source).expect("open store");
    match arguments[0].as_str() {
        "churn" => {
            let mut random = Random::new();
            loop {
                let certificate = &pool[random.below(pool.len())];
                match random.below(3) {
                    0 => {
                        store.import(certificate, &policy()).expect("import");
                    }
                    1 => {
                        let start = random.below(pool.len() - 3);
                        store
                            .import_all(&pool[start..start + 3], &policy())
                            .expect("import bundle");
                    }
                    _ => match store.delete(&certificate.name()) {
                        Ok(()) | Err(StoreError::NotFound(_)) => {}
                        Err(error) => panic!("delete: {error}"),
                    },
                }
            }
        }
        "failing-bundle" => {
            let attempts: usize = arguments[2].parse().expect("attempts");
            for _ in 0..attempts {
                assert!(store.import_all(&pool[..3], &policy()).is_err());
            }
            ExitCode::SUCCESS
        }
        "acknowledge" => {
            store.import(&pool[0], &policy()).expect("import");
            println!("acknowledged");
            ExitCode::SUCCESS
        }
        "bundle" => {
            use std::io::Write;
            println!("ready");
            std::io::stdout().flush().expect("flush");
            store
                .import_all(&pool[..8], &policy())
                .expect("import bundle");
            println!("done");
            std::io::stdout().flush().expect("flush");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        "share" => {
            let index: usize = arguments[2].parse().expect("index");
            let rounds: usize = arguments[3].parse().expect("rounds");
            let shared = &pool[..4];
            let own = &pool[4 + index];
            let churn = &pool[10 + index];
            for _ in 0..rounds {
                store.import_all(shared, &policy()).expect("import shared");
                store.import(own, &policy()).expect("import own");
                store.import(churn, &policy()).expect("import churn");
                store.delete(&churn.name()).expect("delete churn");
                let listing = store.list().expect("list");
                assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
            }
            ExitCode::SUCCESS
        }
        other => panic!("unknown worker mode {other}"),
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "inbound-certs-processes-{tag}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn spawn(arguments: &[&str]) -> std::process::Child {
    Command::new(std::env::current_exe().expect("own path"))
        .arg("--worker")
        .args(arguments)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn worker")
}

/// Kills a worker (SIGKILL) and reaps it; its exit status.
fn kill(child: &mut std::process::Child) -> Result<std::process::ExitStatus, String> {
    let killed = child.kill();
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    killed.map_err(|e| format!("kill: {e}"))?;
    Ok(status)
}

fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect()
}

/// Kills a churning writer with SIGKILL 40 times at random moments; after each kill a fresh
/// store (as a restarted service would open) lists only complete, verified certificates.
fn killed_writers_never_leave_a_damaged_store() -> Result<String, String> {
    let dir = scratch("kill");
    let pool = pool();
    let mut random = Random::new();
    let kills = 40;
    for round in 0..kills {
        let mut child = spawn(&["churn", dir.to_str().expect("utf-8 path")]);
        std::thread::sleep(Duration::from_millis(5 + random.below(60) as u64));
        let status = kill(&mut child)?;
        if status.success() {
            return Err(format!(
                "round {round}: the worker exited by itself: {status}"
            ));
        }
        let store = FileStore::open(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
        let listing = store.list().map_err(|e| e.to_string())?;
        if !listing.damaged.is_empty() {
            return Err(format!(
                "round {round}: damaged after SIGKILL: {:?}",
                listing.damaged
            ));
        }
        for certificate in &listing.certificates {
            let expected = pool.iter().find(|c| c.name() == certificate.name());
            if expected != Some(certificate) {
                return Err(format!(
                    "round {round}: unexpected certificate {}",
                    certificate.name()
                ));
            }
            let on_disk =
                std::fs::read(store.path_of(&certificate.name())).map_err(|e| e.to_string())?;
            if on_disk != certificate.der() {
                return Err(format!(
                    "round {round}: {} is not its DER",
                    certificate.name()
                ));
            }
        }
    }
    // Leftover temporary files are ignored by list (checked above) and removed once stale.
    let leftovers = temporary_files(&dir).len();
    for path in temporary_files(&dir) {
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .map_err(|e| e.to_string())?;
        file.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .map_err(|e| e.to_string())?;
    }
    FileStore::open(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
    let left = temporary_files(&dir);
    std::fs::remove_dir_all(&dir).ok();
    if !left.is_empty() {
        return Err(format!("stale temporary files not removed: {left:?}"));
    }
    Ok(format!(
        "{kills} kills, {leftovers} temporary files left behind, all cleaned up"
    ))
}

/// Four processes import a shared set, their own certificates, and import/delete a churn
/// certificate each, 40 rounds; the end state has every update of every process.
fn concurrent_processes_lose_no_update() -> Result<String, String> {
    let dir = scratch("share");
    let processes = 4;
    let rounds = "40";
    let started = Instant::now();
    let mut children: Vec<_> = (0..processes)
        .map(|i| {
            spawn(&[
                "share",
                dir.to_str().expect("utf-8 path"),
                &i.to_string(),
                rounds,
            ])
        })
        .collect();
    for (i, child) in children.iter_mut().enumerate() {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("worker {i} failed: {status}"));
        }
    }
    let pool = pool();
    let mut expected: Vec<_> = pool[..4].iter().map(Certificate::name).collect();
    expected.extend((0..processes).map(|i| pool[4 + i].name()));
    expected.sort();
    let store = FileStore::open(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
    let listing = store.list().map_err(|e| e.to_string())?;
    let got: Vec<_> = listing.certificates.iter().map(Certificate::name).collect();
    let temporaries = temporary_files(&dir);
    std::fs::remove_dir_all(&dir).ok();
    if !listing.damaged.is_empty() || got != expected || !temporaries.is_empty() {
        return Err(format!(
            "got {got:?}\nexpected {expected:?}\ndamaged {:?}\ntemporary files {temporaries:?}",
            listing.damaged
        ));
    }
    Ok(format!(
        "{processes} processes x {rounds} rounds in {:?}",
        started.elapsed()
    ))
}

/// One writer imports a bundle whose second certificate cannot be stored (a directory stands
/// under its name) again and again, each attempt rolled back; meanwhile another process
/// imports the bundle's first certificate alone and is told it is stored. Whatever the
/// interleaving, that certificate is there at the end: a rollback removes only what its own
/// writer created.
fn a_rollback_never_removes_an_acknowledged_import() -> Result<String, String> {
    let base = scratch("rollback");
    let pool = pool();
    let rounds = 200;
    let mut acknowledged = 0;
    for round in 0..rounds {
        let dir = base.join(round.to_string());
        let store = FileStore::create(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
        std::fs::create_dir(store.path_of(&pool[1].name())).map_err(|e| e.to_string())?;
        let path = dir.to_str().expect("utf-8 path");
        let mut failing = spawn(&["failing-bundle", path, "30"]);
        let acknowledging = Command::new(std::env::current_exe().expect("own path"))
            .args(["--worker", "acknowledge", path])
            .stdin(Stdio::null())
            .output();
        let failing_status = failing.wait().map_err(|e| e.to_string())?;
        let acknowledging = acknowledging.map_err(|e| e.to_string())?;
        if !failing_status.success() || !acknowledging.status.success() {
            return Err(format!(
                "round {round}: a worker failed: {failing_status}, {}",
                acknowledging.status
            ));
        }
        if String::from_utf8_lossy(&acknowledging.stdout).trim() != "acknowledged" {
            return Err(format!("round {round}: no acknowledgement"));
        }
        acknowledged += 1;
        let reopened = FileStore::open(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
        if reopened.get(&pool[0].name()).map_err(|e| e.to_string())? != Some(pool[0].clone()) {
            return Err(format!(
                "round {round}: {} was acknowledged, then lost",
                pool[0].name()
            ));
        }
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    std::fs::remove_dir_all(&base).ok();
    Ok(format!(
        "{rounds} rounds, {acknowledged} acknowledged imports, 0 lost"
    ))
}

/// A writer importing a bundle of 8 certificates is killed (SIGKILL) at a random moment of
/// the import, 1000 times; each time the store, opened again, holds the whole bundle or none
/// of it, nothing damaged and no leftover file.
fn killed_bundle_imports_leave_the_whole_bundle_or_none() -> Result<String, String> {
    use std::io::BufRead;
    let base = scratch("bundle-kill");
    let pool = pool();
    let mut bundle: Vec<_> = pool[..8].iter().map(Certificate::name).collect();
    bundle.sort();
    let mut random = Random::new();
    let cycles = 1000;
    let (mut whole, mut none, mut finished) = (0, 0, 0);
    let mut max_delay: usize = 8000;
    for cycle in 0..cycles {
        let dir = base.join(cycle.to_string());
        FileStore::create(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args(["--worker", "bundle", dir.to_str().expect("utf-8 path")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        if lines.next().and_then(Result::ok).as_deref() != Some("ready") {
            return Err(format!("cycle {cycle}: the worker did not start"));
        }
        // An import of 8 certificates takes a few milliseconds (9 fsyncs and more), far
        // more on a loaded machine: the range of the delays follows what the kills hit, so
        // that both outcomes occur however fast the disk and the processor are.
        if cycle % 50 == 49 {
            if whole == 0 {
                max_delay = max_delay.saturating_mul(2);
            } else if none == 0 {
                max_delay = (max_delay / 2).max(100);
            }
        }
        std::thread::sleep(Duration::from_micros(random.below(max_delay) as u64));
        kill(&mut child)?;
        if lines.next().and_then(Result::ok).as_deref() == Some("done") {
            finished += 1;
        }
        let store = FileStore::open(&dir, SystemKind::Source).map_err(|e| e.to_string())?;
        let listing = store.list().map_err(|e| e.to_string())?;
        let names: Vec<_> = listing.certificates.iter().map(Certificate::name).collect();
        if !listing.damaged.is_empty() {
            return Err(format!("cycle {cycle}: damaged: {:?}", listing.damaged));
        }
        if names == bundle {
            whole += 1;
        } else if names.is_empty() {
            none += 1;
        } else {
            return Err(format!(
                "cycle {cycle}: part of the bundle was stored: {} of {}",
                names.len(),
                bundle.len()
            ));
        }
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.') && name != ".lock")
            .collect();
        if !leftovers.is_empty() {
            return Err(format!("cycle {cycle}: files left behind: {leftovers:?}"));
        }
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    std::fs::remove_dir_all(&base).ok();
    if whole == 0 || none == 0 {
        return Err(format!(
            "the kills missed the import: {whole} whole, {none} none (adjust the delays)"
        ));
    }
    Ok(format!(
        "{cycles} kills within {max_delay} µs of the start: {whole} whole bundles ({finished} acknowledged before the kill), {none} none, 0 partial"
    ))
}

/// A process creating, filling and removing systems is killed (SIGKILL) at random moments;
/// after each kill a registry opened again lists only whole systems (each with its
/// manifest), no damaged entry and no leftover of a half-made or half-removed system.
fn killed_system_changes_never_leave_a_half_made_system() -> Result<String, String> {
    let dir = scratch("systems-kill");
    Registry::create(&dir).map_err(|e| e.to_string())?;
    let mut random = Random::new();
    let kills = 100;
    let mut seen = 0;
    for round in 0..kills {
        let mut child = spawn(&["systems", dir.to_str().expect("utf-8 path")]);
        std::thread::sleep(Duration::from_millis(5 + random.below(40) as u64));
        kill(&mut child)?;
        let registry = Registry::open(&dir).map_err(|e| e.to_string())?;
        let listing = registry.systems().map_err(|e| e.to_string())?;
        if !listing.damaged.is_empty() {
            return Err(format!("round {round}: damaged: {:?}", listing.damaged));
        }
        seen += listing.systems.len();
        for system in &listing.systems {
            let store = registry.store(system.name()).map_err(|e| e.to_string())?;
            let held = store.list().map_err(|e| e.to_string())?;
            if !held.damaged.is_empty() || !matches!(held.certificates.len(), 0 | 3) {
                return Err(format!(
                    "round {round}: system {} holds {} certificates, {} damaged",
                    system.name(),
                    held.certificates.len(),
                    held.damaged.len()
                ));
            }
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("systems"))
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect();
        if !leftovers.is_empty() {
            return Err(format!("round {round}: left behind: {leftovers:?}"));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(format!(
        "{kills} kills, {seen} systems found whole after them, none half made"
    ))
}

/// Four processes create systems and import into them at once (each its own systems, and a
/// certificate they all share), removing every other one: the registry ends with exactly
/// the kept systems, each with its two certificates, and identify agrees.
fn processes_creating_systems_lose_nothing() -> Result<String, String> {
    let dir = scratch("registry-share");
    Registry::create(&dir).map_err(|e| e.to_string())?;
    let processes = 4;
    let rounds = 10;
    let mut children: Vec<_> = (0..processes)
        .map(|i| {
            spawn(&[
                "registry",
                dir.to_str().expect("utf-8 path"),
                &i.to_string(),
                &rounds.to_string(),
            ])
        })
        .collect();
    for (i, child) in children.iter_mut().enumerate() {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("worker {i} failed: {status}"));
        }
    }
    let pool = pool();
    let registry = Registry::open(&dir).map_err(|e| e.to_string())?;
    let systems = registry.systems().map_err(|e| e.to_string())?;
    let mut expected: Vec<String> = (0..processes)
        .flat_map(|i| {
            (0..rounds)
                .step_by(2)
                .map(move |round| format!("p{i}-{round}"))
        })
        .collect();
    expected.sort();
    let got: Vec<String> = systems
        .systems
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    if got != expected || !systems.damaged.is_empty() {
        return Err(format!("systems {got:?}, expected {expected:?}"));
    }
    for (i, certificate) in pool.iter().enumerate().take(processes) {
        let trusting = registry
            .identify(&certificate.fingerprint())
            .map_err(|e| e.to_string())?;
        if trusting.len() != rounds / 2
            || trusting
                .iter()
                .any(|s| !s.name().as_str().starts_with(&format!("p{i}-")))
        {
            return Err(format!(
                "certificate of process {i} trusted by {trusting:?}"
            ));
        }
    }
    let shared = registry
        .identify(&pool[8].fingerprint())
        .map_err(|e| e.to_string())?;
    // The audit trail the four processes wrote at once: every change, whole.
    let history = registry
        .history(&inbound_certs::audit::HistoryQuery::new())
        .map_err(|e| e.to_string())?;
    std::fs::remove_dir_all(&dir).ok();
    if shared.len() != expected.len() {
        return Err(format!(
            "the shared certificate is trusted by {} systems",
            shared.len()
        ));
    }
    let count = |action: inbound_certs::audit::AuditAction| {
        history
            .records
            .iter()
            .filter(|r| r.action == action)
            .count()
    };
    let audited = (
        count(inbound_certs::audit::AuditAction::CreateSystem),
        count(inbound_certs::audit::AuditAction::Import),
        count(inbound_certs::audit::AuditAction::RemoveSystem),
    );
    let wanted = (
        processes * rounds,
        processes * rounds * 2,
        processes * rounds / 2,
    );
    if audited != wanted || !history.damaged.is_empty() {
        return Err(format!(
            "audit trail: (creations, imports, removals) {audited:?}, expected {wanted:?}; damaged {:?}",
            history.damaged
        ));
    }
    Ok(format!(
        "{processes} processes x {rounds} systems; {} kept, each with its certificates; {} audit records, none lost or torn",
        expected.len(),
        history.records.len()
    ))
}

/// A writer importing and deleting through a registry is killed (SIGKILL) at random moments,
/// 50 times: every change it was told of (acknowledged) has its complete record in the audit
/// trail, and there is at most one record more than acknowledgements per kill (a change made
/// and recorded but not yet acknowledged when the kill came); a torn line is reported, never
/// hidden.
fn killed_writers_leave_one_record_per_acknowledged_change() -> Result<String, String> {
    use std::collections::HashMap;
    use std::io::Read;
    let dir = scratch("audit-kill");
    let registry = Registry::create(&dir).map_err(|e| e.to_string())?;
    registry
        .create_system(&"crm".parse().expect("name"), SystemKind::Source, NOW)
        .map_err(|e| e.to_string())?;
    let mut acknowledged: HashMap<String, usize> = HashMap::new();
    let mut random = Random::new();
    let kills = 50;
    for _ in 0..kills {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args(["--worker", "audited", dir.to_str().expect("utf-8 path")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(10 + random.below(60) as u64));
        kill(&mut child)?;
        let mut output = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout
                .read_to_string(&mut output)
                .map_err(|e| e.to_string())?;
        }
        for line in output.lines() {
            *acknowledged.entry(line.to_string()).or_default() += 1;
        }
    }
    let history = Registry::open(&dir)
        .map_err(|e| e.to_string())?
        .history(&inbound_certs::audit::HistoryQuery::new())
        .map_err(|e| e.to_string())?;
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for record in &history.records {
        if record.actor != "worker" {
            continue;
        }
        let certificate = record
            .certificate
            .map(|name| name.to_string())
            .unwrap_or_default();
        *recorded
            .entry(format!("{} {certificate}", record.action.as_str()))
            .or_default() += 1;
    }
    let total: usize = acknowledged.values().sum();
    for (change, count) in &acknowledged {
        let found = recorded.get(change).copied().unwrap_or(0);
        if found < *count || found > count + kills {
            return Err(format!(
                "{change}: acknowledged {count} times, recorded {found} times"
            ));
        }
    }
    let extra = recorded.values().sum::<usize>().saturating_sub(total);
    std::fs::remove_dir_all(&dir).ok();
    if extra > kills {
        return Err(format!("{extra} records more than acknowledged changes"));
    }
    Ok(format!(
        "{kills} kills, {total} acknowledged changes, each recorded; {extra} recorded but not yet acknowledged; {} torn lines reported",
        history.damaged.len()
    ))
}

type Test = fn() -> Result<String, String>;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("--worker") {
        return worker(&arguments[1..]);
    }
    // Make sure the fixtures decode the same way as in the other tests before forking.
    assert_eq!(decode(pool()[0].der()).map(|c| c.len()), Ok(1));
    let tests: [(&str, Test); 7] = [
        (
            "killed_writers_leave_one_record_per_acknowledged_change",
            killed_writers_leave_one_record_per_acknowledged_change,
        ),
        (
            "killed_system_changes_never_leave_a_half_made_system",
            killed_system_changes_never_leave_a_half_made_system,
        ),
        (
            "processes_creating_systems_lose_nothing",
            processes_creating_systems_lose_nothing,
        ),
        (
            "a_rollback_never_removes_an_acknowledged_import",
            a_rollback_never_removes_an_acknowledged_import,
        ),
        (
            "killed_bundle_imports_leave_the_whole_bundle_or_none",
            killed_bundle_imports_leave_the_whole_bundle_or_none,
        ),
        (
            "killed_writers_never_leave_a_damaged_store",
            killed_writers_never_leave_a_damaged_store,
        ),
        (
            "concurrent_processes_lose_no_update",
            concurrent_processes_lose_no_update,
        ),
    ];
    let mut options = libtest_mimic::Arguments::from_args();
    // One at a time: each starts processes of its own and times its kills.
    options.test_threads = Some(1);
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            libtest_mimic::Trial::test(name, move || {
                let detail = test()?;
                println!("{name}: {detail}");
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&options, trials).exit_code()
}
