//! The file store under several processes: concurrent writers lose no update, and a process
//! killed (SIGKILL) at any moment of an import or delete leaves a store whose every listed
//! certificate is complete and verifies.
//!
//! This test binary has no libtest harness: it re-runs itself as the worker processes
//! (`--worker ...`), which libtest's argument parsing would not allow.

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
    decode, Certificate, CertificateStore, FileStore, ImportPolicy, StoreError, SystemKind,
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

fn policy() -> ImportPolicy {
    ImportPolicy::new(datetime!(2026-06-01 0:00 UTC))
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
/// - `share DIR INDEX ROUNDS`: imports the shared set `pool[..4]`, its own `pool[4 + INDEX]`
///   (kept), and `pool[10 + INDEX]` (imported and deleted each round, so gone at the end).
fn worker(arguments: &[String]) -> ExitCode {
    let store = FileStore::open(&arguments[1], SystemKind::Source).expect("open store");
    let pool = pool();
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
        let killed = child.kill();
        let status = child.wait().map_err(|e| format!("wait: {e}"))?;
        killed.map_err(|e| format!("kill: {e}"))?;
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

type Test = fn() -> Result<String, String>;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("--worker") {
        return worker(&arguments[1..]);
    }
    // Make sure the fixtures decode the same way as in the other tests before forking.
    assert_eq!(decode(pool()[0].der()).map(|c| c.len()), Ok(1));
    let tests: [(&str, Test); 2] = [
        (
            "killed_writers_never_leave_a_damaged_store",
            killed_writers_never_leave_a_damaged_store,
        ),
        (
            "concurrent_processes_lose_no_update",
            concurrent_processes_lose_no_update,
        ),
    ];
    let filter: Vec<&String> = arguments.iter().filter(|a| !a.starts_with('-')).collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match test() {
            Ok(detail) => {
                passed += 1;
                println!("test {name} ... ok ({detail})");
            }
            Err(problem) => {
                failed += 1;
                println!("test {name} ... FAILED\n{problem}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
