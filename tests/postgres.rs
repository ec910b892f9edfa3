//! `PostgresStore` against a real PostgreSQL server that this test starts for itself (own data
//! directory, a free loopback port, `fsync=off`) and stops at the end: the conformance suite,
//! two replicas on one database, transactions, damaged rows, and a restart of the server.
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`): on PATH, in
//! `/usr/lib/postgresql/<version>/bin`, or in the directory `INBOUND_CERTS_PG_BIN` names.
//! As root, the server runs as the `postgres` user (`runuser`). Own harness, so that one server
//! serves every test and is always stopped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::store::conformance;
use inbound_certs::{
    Certificate, CertificateName, CertificateStore, Damage, ImportPolicy, Imported,
    PostgresOptions, PostgresStore, StoreError, SystemKind,
};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use time::OffsetDateTime;

/// A PostgreSQL server in a temporary directory.
struct Server {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    run_as_postgres: bool,
}

impl Server {
    fn start() -> Self {
        let bin = server_programs().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server programs (initdb, pg_ctl) were not found. Install them \
                 (Debian: apt-get install postgresql) or set INBOUND_CERTS_PG_BIN to their directory."
            )
        });
        let root = std::env::temp_dir().join(format!("inbound-certs-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let run_as_postgres = running_as_root();
        if run_as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres", root.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(status.success(), "chown of {} failed", root.display());
        }
        let port = free_port();
        let server = Server {
            root,
            bin,
            port,
            run_as_postgres,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        server.resume();
        server
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    /// A server program, run as the `postgres` user when this test runs as root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        }
    }

    fn run(&self, program: &str, arguments: &[&str]) {
        let output = self.command(program).args(arguments).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {arguments:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts (or starts again) the server on its port.
    fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.root.display()
        );
        let log = self.root.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server, disconnecting every client.
    fn halt(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    fn sql(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn server_programs() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("INBOUND_CERTS_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("pg_ctl").is_file() && dir.join("initdb").is_file(),
            "INBOUND_CERTS_PG_BIN={} holds no pg_ctl and initdb",
            dir.display()
        );
        return Some(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("pg_ctl").is_file() && dir.join("initdb").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn fresh_schema(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{tag}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn connect(server: &Server, schema: &str) -> PostgresStore {
    connect_with(server, PostgresOptions::default().schema(schema))
}

fn connect_with(server: &Server, options: PostgresOptions) -> PostgresStore {
    PostgresStore::connect_with(&server.url(), SystemKind::Source, &options).unwrap()
}

fn policy() -> ImportPolicy {
    ImportPolicy::new(OffsetDateTime::now_utc())
}

/// `count` distinct client certificates.
fn certificates(count: usize) -> Vec<Certificate> {
    (0..count)
        .map(|i| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, format!("replica test client {i}"));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            Certificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
        })
        .collect()
}

fn names(store: &dyn CertificateStore) -> BTreeSet<CertificateName> {
    store
        .list()
        .unwrap()
        .certificates
        .iter()
        .map(Certificate::name)
        .collect()
}

/// Waits until `condition` holds, up to `limit`; returns how long it took.
fn within(limit: Duration, what: &str, condition: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

fn conformance_suite(server: &Server) -> String {
    conformance::run_all(|| connect(server, &fresh_schema("conformance")));
    "every conformance function passed".to_string()
}

fn a_change_on_one_replica_is_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("replicas");
    let (a, b) = (connect(server, &schema), connect(server, &schema));
    // Each delay runs from the start of the write on one replica until the other sees it.
    let mut delays = Vec::new();
    for certificate in certificates(20) {
        let name = certificate.name();
        let started = Instant::now();
        a.import(&certificate, &policy()).unwrap();
        // The replica that wrote reads its own write at once.
        assert!(a.get(&name).unwrap().is_some());
        within(Duration::from_secs(10), "import seen on b", || {
            b.get(&name).unwrap().is_some()
        });
        delays.push(started.elapsed());
        let started = Instant::now();
        b.delete(&name).unwrap();
        assert!(b.get(&name).unwrap().is_none());
        within(Duration::from_secs(10), "delete seen on a", || {
            a.get(&name).unwrap().is_none()
        });
        delays.push(started.elapsed());
    }
    delays.sort();
    format!(
        "{} changes seen by the other replica (from the start of the write): median {:?}, max {:?}",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    )
}

fn a_missed_notification_heals_with_the_periodic_resync(server: &Server) -> String {
    let schema = fresh_schema("resync");
    let a = connect(server, &schema);
    let b = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_secs(1)),
    );
    // Once b has seen a notified change, its listener is past its first load.
    let [notified, certificate] = &certificates(2)[..] else {
        unreachable!()
    };
    a.import(notified, &policy()).unwrap();
    within(Duration::from_secs(10), "notified import seen by b", || {
        b.get(&notified.name()).unwrap().is_some()
    });
    // Another writer that sends no notification: only the resync can find its row.
    let mut sql = server.sql();
    sql.execute(
        &format!("INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"),
        &[&certificate.fingerprint().to_string(), &certificate.der()],
    )
    .unwrap();
    let delay = within(Duration::from_secs(10), "row seen by resync", || {
        b.get(&certificate.name()).unwrap().is_some()
    });
    // `a` resyncs only every 60 s and got no notification: it has not seen it.
    assert!(a.get(&certificate.name()).unwrap().is_none());
    format!("a row written without notification seen after {delay:?} (resync every 1 s)")
}

fn a_bundle_is_one_transaction(server: &Server) -> String {
    let schema = fresh_schema("bundle");
    let (a, b) = (connect(server, &schema), connect(server, &schema));
    let bundle = certificates(3);
    // The database refuses the third certificate of the bundle.
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON \"{schema}\".client_certificates
         FOR EACH ROW WHEN (NEW.fingerprint = '{}') EXECUTE FUNCTION \"{schema}\".refuse();",
        bundle[2].fingerprint()
    ))
    .unwrap();
    let error = a.import_all(&bundle, &policy()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Database {
                operation: "import into the database",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("cannot import into the database: "),
        "{error}"
    );
    let rows: i64 = sql
        .query_one(
            &format!("SELECT count(*) FROM \"{schema}\".client_certificates"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing of the refused bundle is stored");
    assert!(names(&a).is_empty() && names(&b).is_empty());

    // Without the trigger the same bundle goes in whole, and again is "already present".
    sql.batch_execute(&format!(
        "DROP TRIGGER refuse ON \"{schema}\".client_certificates"
    ))
    .unwrap();
    let added = a.import_all(&bundle, &policy()).unwrap();
    assert!(added
        .iter()
        .all(|outcome| matches!(outcome, Imported::Added(_))));
    let again = b.import_all(&bundle, &policy()).unwrap();
    assert!(again
        .iter()
        .all(|outcome| matches!(outcome, Imported::AlreadyPresent(_))));
    "a bundle refused at its third certificate left nothing; imported again whole".to_string()
}

fn concurrent_writers_on_two_replicas_lose_no_update(server: &Server) -> String {
    let schema = fresh_schema("concurrent");
    let replicas = [
        Arc::new(connect(server, &schema)),
        Arc::new(connect(server, &schema)),
    ];
    let pool = certificates(24);
    let (shared, own) = pool.split_at(8);
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let store = replicas[thread % 2].clone();
            let shared = shared.to_vec();
            let kept = own[thread * 4..thread * 4 + 2].to_vec();
            let churned = own[thread * 4 + 2..thread * 4 + 4].to_vec();
            std::thread::spawn(move || {
                for round in 0..20 {
                    store.import_all(&shared, &policy()).unwrap();
                    store.import(&kept[round % 2], &policy()).unwrap();
                    store.import_all(&churned, &policy()).unwrap();
                    for certificate in &churned {
                        store.delete(&certificate.name()).unwrap();
                    }
                    // Another replica may have deleted it already: that is "not found".
                    match store.delete(&shared[round % shared.len()].name()) {
                        Ok(()) | Err(StoreError::NotFound(_)) => {}
                        Err(error) => panic!("{error}"),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed();
    let truth = names(&connect(server, &schema));
    for certificate in own.chunks(4).flat_map(|chunk| &chunk[..2]) {
        assert!(
            truth.contains(&certificate.name()),
            "a kept import was lost"
        );
    }
    for certificate in own.chunks(4).flat_map(|chunk| &chunk[2..]) {
        assert!(!truth.contains(&certificate.name()), "a delete was lost");
    }
    for replica in &replicas {
        within(Duration::from_secs(10), "replicas converge", || {
            names(replica.as_ref()) == truth
        });
    }
    format!(
        "4 threads on 2 replicas x 20 rounds ({} writes) in {elapsed:?}; both replicas equal the database",
        4 * 20 * 5
    )
}

fn damaged_rows_are_reported_and_never_hide_the_others(server: &Server) -> String {
    let schema = fresh_schema("damaged");
    let store = connect(server, &schema);
    let healthy = certificates(2);
    store.import_all(&healthy, &policy()).unwrap();
    let mut sql = server.sql();
    let other = &certificates(1)[0];
    let wrong_key = other.fingerprint().to_string();
    let not_a_certificate = b"not a certificate".to_vec();
    let garbage_key = inbound_certs::Fingerprint::of_der(&not_a_certificate).to_string();
    let insert =
        format!("INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)");
    // Someone edits the table by hand: a row whose DER is another certificate's, and a row
    // that is not a certificate at all (under its true SHA-256).
    sql.execute(&insert, &[&wrong_key, &healthy[0].der()])
        .unwrap();
    sql.execute(&insert, &[&garbage_key, &not_a_certificate])
        .unwrap();

    let fresh = connect(server, &schema);
    let listing = fresh.list().unwrap();
    assert_eq!(
        listing
            .certificates
            .iter()
            .map(Certificate::name)
            .collect::<BTreeSet<_>>(),
        healthy.iter().map(Certificate::name).collect()
    );
    assert_eq!(listing.damaged.len(), 2, "{:?}", listing.damaged);
    let mismatch = listing
        .damaged
        .iter()
        .find(|damaged| damaged.location.ends_with(&wrong_key))
        .unwrap();
    assert_eq!(
        mismatch.problem,
        Damage::FingerprintMismatch {
            actual: healthy[0].fingerprint()
        }
    );
    assert_eq!(
        mismatch.location,
        PathBuf::from(format!("{schema}.client_certificates/{wrong_key}"))
    );
    assert!(listing
        .damaged
        .iter()
        .any(|damaged| matches!(damaged.problem, Damage::NotACertificate(_))));
    match fresh.get(&other.name()) {
        Err(StoreError::Damaged(damaged)) => assert_eq!(&damaged, mismatch),
        other => panic!("{other:?}"),
    }
    // A damaged row can be deleted like any other.
    fresh.delete(&other.name()).unwrap();
    assert_eq!(fresh.list().unwrap().damaged.len(), 1);
    "2 damaged rows reported beside 2 healthy ones; the damaged one is deletable".to_string()
}

fn a_server_restart_keeps_reads_going_and_recovers(server: &Server) -> String {
    let schema = fresh_schema("restart");
    let options = PostgresOptions::default()
        .schema(&schema)
        .connect_timeout(Duration::from_secs(2));
    let (a, b) = (
        connect_with(server, options.clone()),
        connect_with(server, options),
    );
    let pool = certificates(3);
    a.import(&pool[0], &policy()).unwrap();
    within(Duration::from_secs(10), "b sees the first import", || {
        b.get(&pool[0].name()).unwrap().is_some()
    });

    server.halt();
    // Reads are served from memory while the database is away.
    assert!(a.get(&pool[0].name()).unwrap().is_some());
    assert_eq!(names(&b).len(), 1);
    // Writes fail with a typed error and change nothing.
    let failed_at = Instant::now();
    let error = a.import(&pool[1], &policy()).unwrap_err();
    let failed_after = failed_at.elapsed();
    assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    assert!(matches!(
        b.delete(&pool[0].name()),
        Err(StoreError::Database { .. })
    ));
    assert!(a.get(&pool[1].name()).unwrap().is_none());
    assert!(b.get(&pool[0].name()).unwrap().is_some());

    server.resume();
    let resumed = Instant::now();
    // The next write reconnects; its change reaches the other replica once that replica's
    // listener is back (it reloads everything when it reconnects).
    a.import(&pool[1], &policy()).unwrap();
    b.import(&pool[2], &policy()).unwrap();
    within(Duration::from_secs(20), "a sees b's import", || {
        a.get(&pool[2].name()).unwrap().is_some()
    });
    within(Duration::from_secs(20), "b sees a's import", || {
        b.get(&pool[1].name()).unwrap().is_some()
    });
    let recovered = resumed.elapsed();
    let all: BTreeSet<_> = pool.iter().map(Certificate::name).collect();
    assert_eq!(names(&a), all);
    assert_eq!(names(&b), all);
    format!(
        "writes failed after {failed_after:?} while the server was down; both replicas current {recovered:?} after it came back"
    )
}

fn unusable_databases_and_settings_are_clear_errors(server: &Server) -> String {
    let closed_port = free_port();
    let url = format!("host=127.0.0.1 port={closed_port} user=postgres dbname=postgres");
    let error = PostgresStore::connect(&url, SystemKind::Source).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot connect to the database: "),
        "{error}"
    );
    let error = PostgresStore::connect("postgres://[bad", SystemKind::Source).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot parse the connection URL: "),
        "{error}"
    );
    let error = PostgresStore::connect_with(
        &server.url(),
        SystemKind::Source,
        &PostgresOptions::default().schema("Robert'); DROP TABLE"),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot use the schema: invalid schema name \"Robert'); DROP TABLE\": use 1 to 40 of a-z, 0-9 and _, not starting with a digit"
    );
    assert!(matches!(
        PostgresStore::connect(&server.url(), SystemKind::Target),
        Err(StoreError::NotInbound(SystemKind::Target))
    ));
    "unreachable server, bad URL, bad schema name, target system".to_string()
}

fn schemas_are_independent(server: &Server) -> String {
    let (one, two) = (fresh_schema("one"), fresh_schema("two"));
    let (a, b) = (connect(server, &one), connect(server, &two));
    let certificate = &certificates(1)[0];
    a.import(certificate, &policy()).unwrap();
    assert_eq!(a.schema(), one);
    std::thread::sleep(Duration::from_millis(200));
    assert!(b.get(&certificate.name()).unwrap().is_none());
    assert!(names(&connect(server, &one)).contains(&certificate.name()));
    "an import in one schema is not seen in another".to_string()
}

/// The `certstore` example with `--postgres` (the default schema, used by no other test).
fn certstore_manages_a_postgres_store(server: &Server) -> String {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let certstore = |arguments: &[&str]| {
        let output = Command::new(common::example("certstore"))
            .args(["--postgres", &url])
            .args(arguments)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // bundle.pem holds an intermediate CA, refused without --allow-ca.
    let (ok, out, err) = certstore(&["import", "--allow-ca", "tests/data/bundle.pem"]);
    assert!(ok, "{err}");
    let imported: Vec<&str> = out
        .lines()
        .filter_map(|line| line.strip_prefix("imported "))
        .collect();
    assert_eq!(imported.len(), 5, "{out}");
    let (ok, out, err) = certstore(&["list", "--json"]);
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(5));
    let (ok, out, _) = certstore(&["delete", imported[0]]);
    assert!(ok);
    assert_eq!(out.trim(), format!("deleted {}", imported[0]));
    let (ok, _, err) = certstore(&["show", imported[0]]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!("error: certificate {} not found", imported[0])
    );
    let truth = names(&PostgresStore::connect(&server.url(), SystemKind::Source).unwrap());
    assert_eq!(truth.len(), 4);

    let unreachable = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let output = Command::new(common::example("certstore"))
        .args(["--postgres", &unreachable, "list"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: cannot connect to the database: error connecting to server: Connection refused (os error 111)"
    );
    "import, list --json, delete, show and an unreachable database through --postgres".to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

type Test = fn(&Server) -> String;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let tests: [(&str, Test); 10] = [
        ("conformance_suite", conformance_suite),
        (
            "a_change_on_one_replica_is_seen_by_the_other",
            a_change_on_one_replica_is_seen_by_the_other,
        ),
        (
            "a_missed_notification_heals_with_the_periodic_resync",
            a_missed_notification_heals_with_the_periodic_resync,
        ),
        ("a_bundle_is_one_transaction", a_bundle_is_one_transaction),
        (
            "concurrent_writers_on_two_replicas_lose_no_update",
            concurrent_writers_on_two_replicas_lose_no_update,
        ),
        (
            "damaged_rows_are_reported_and_never_hide_the_others",
            damaged_rows_are_reported_and_never_hide_the_others,
        ),
        (
            "a_server_restart_keeps_reads_going_and_recovers",
            a_server_restart_keeps_reads_going_and_recovers,
        ),
        (
            "unusable_databases_and_settings_are_clear_errors",
            unusable_databases_and_settings_are_clear_errors,
        ),
        ("schemas_are_independent", schemas_are_independent),
        (
            "certstore_manages_a_postgres_store",
            certstore_manages_a_postgres_store,
        ),
    ];
    let filter: Vec<&String> = arguments.iter().filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<_> = tests
        .into_iter()
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    if selected.is_empty() {
        return ExitCode::SUCCESS;
    }
    let server = Server::start();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in selected {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&server))) {
            Ok(detail) => {
                passed += 1;
                println!("test {name} ... ok ({detail})");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    drop(server);
    println!("\n{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
