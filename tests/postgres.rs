//! `PostgresStore` against a real PostgreSQL server that this test starts for itself (own data
//! directory, a free loopback port, `fsync=off`) and stops at the end: the conformance suite,
//! two replicas on one database, transactions, damaged rows, a restart of the server, the
//! registry's audit trail in the database, and TLS
//! (the server runs with `ssl=on` and a certificate from a test CA made here with rcgen).
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`): on PATH, in
//! `/usr/lib/postgresql/<version>/bin`, or in the directory `INBOUND_CERTS_PG_BIN` names.
//! As root, the server runs as the `postgres` user (`runuser`). The tests run on libtest-mimic
//! rather than libtest, so that one server serves every test and is always stopped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "admin")]
#[path = "common/admin.rs"]
mod admin_common;
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use inbound_certs::conformance;
use inbound_certs::PostgresTlsError;
use inbound_certs::{
    AuditAction, AuditOutcome, Certificate, CertificateName, CertificateStore, Damage, ErrorReport,
    HistoryQuery, ImportPolicy, Imported, PostgresOptions, PostgresStore, Registry, StoreError,
    SystemKind, SystemName,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
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
        server.make_tls_files();
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

    fn file(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    /// A test CA (`ca.pem`) and the server's certificate from it for `localhost` and
    /// `127.0.0.1` (`server.crt`, `server.key`), and another CA (`other-ca.pem`) that signed
    /// nothing the server has.
    fn make_tls_files(&self) {
        let authority = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let ca = authority("inbound-certs test CA");
        let other = authority("inbound-certs other test CA");
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test database");
        let certificate = params.signed_by(&key, &ca).unwrap();
        std::fs::write(self.file("ca.pem"), ca.pem()).unwrap();
        std::fs::write(self.file("other-ca.pem"), other.pem()).unwrap();
        std::fs::write(self.file("server.crt"), certificate.pem()).unwrap();
        std::fs::write(self.file("server.key"), key.serialize_pem()).unwrap();
        let mode = |name: &str, mode: &str| {
            let status = Command::new("chmod")
                .args([mode, &self.file(name)])
                .status()
                .unwrap();
            assert!(status.success());
        };
        mode("server.key", "0600");
        mode("server.crt", "0644");
        if self.run_as_postgres {
            for name in ["server.key", "server.crt"] {
                let status = Command::new("chown")
                    .args(["postgres:postgres", &self.file(name)])
                    .status()
                    .unwrap();
                assert!(status.success(), "chown of {name} failed");
            }
        }
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
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
             -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            self.port,
            self.root.display(),
            self.file("server.crt"),
            self.file("server.key"),
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

fn any_change_without_notification_heals(server: &Server) -> String {
    let schema = fresh_schema("heal");
    let a = connect(server, &schema);
    let b = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    );
    let pool = certificates(4);
    a.import_all(&pool, &policy()).unwrap();
    within(Duration::from_secs(10), "b sees the imports", || {
        names(&b).len() == 4
    });
    let mut sql = server.sql();
    let table = format!("\"{schema}\".client_certificates");
    // A delete by hand.
    sql.execute(
        &format!("DELETE FROM {table} WHERE fingerprint = $1"),
        &[&pool[0].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "the delete healed", || {
        b.get(&pool[0].name()).unwrap().is_none()
    });
    // A row's DER replaced in place: same key, count unchanged.
    sql.execute(
        &format!("UPDATE {table} SET der = $2 WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string(), &pool[2].der()],
    )
    .unwrap();
    within(
        Duration::from_secs(10),
        "the replaced DER is reported",
        || matches!(b.get(&pool[1].name()), Err(StoreError::Damaged(_))),
    );
    // Everything truncated.
    sql.batch_execute(&format!("TRUNCATE {table}")).unwrap();
    within(Duration::from_secs(10), "the truncate healed", || {
        let listing = b.list().unwrap();
        listing.certificates.is_empty() && listing.damaged.is_empty()
    });
    // `a` resyncs every 60 s and was told nothing.
    assert_eq!(names(&a).len(), 4);
    // A new replica sees what the table holds, and finds the triggers in place (it does not
    // make them again).
    let triggers = |sql: &mut postgres::Client| -> Vec<u32> {
        sql.query(
            "SELECT oid FROM pg_trigger WHERE tgrelid = $1::text::regclass ORDER BY oid",
            &[&table],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
    };
    let installed = triggers(&mut sql);
    assert_eq!(installed.len(), 4);
    assert!(names(&connect(server, &schema)).is_empty());
    assert_eq!(triggers(&mut sql), installed);
    a.import(&pool[3], &policy()).unwrap();
    within(Duration::from_secs(10), "b sees a later import", || {
        names(&b).len() == 1
    });
    "a delete, a DER replaced in place and a truncate, all without notification, healed".to_string()
}

/// Tables as the version before write ids and summaries made them, with rows in them.
fn an_older_schema_is_upgraded(server: &Server) -> String {
    let schema = fresh_schema("upgrade");
    let pool = certificates(3);
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "CREATE SCHEMA \"{schema}\";
         CREATE TABLE \"{schema}\".client_certificates (
             fingerprint text PRIMARY KEY, der bytea NOT NULL,
             imported_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE \"{schema}\".revision (
             only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), value bigint NOT NULL);
         INSERT INTO \"{schema}\".revision (value) VALUES (2);
         CREATE TABLE \"{schema}\".changes (
             revision bigint PRIMARY KEY, fingerprint text NOT NULL, imported boolean NOT NULL);"
    ))
    .unwrap();
    for (revision, certificate) in (1i64..).zip(&pool[..2]) {
        let key = certificate.fingerprint().to_string();
        sql.execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
            ),
            &[&key, &certificate.der()],
        )
        .unwrap();
        sql.execute(
            &format!("INSERT INTO \"{schema}\".changes VALUES ($1, $2, true)"),
            &[&revision, &key],
        )
        .unwrap();
    }
    let store = connect_with(
        server,
        PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    );
    assert_eq!(names(&store).len(), 2);
    let summary = sql
        .query_one(&format!("SELECT row_count FROM \"{schema}\".revision"), &[])
        .unwrap();
    assert_eq!(
        summary.get::<_, i64>(0),
        2,
        "the summary counts the rows there were"
    );
    store.import(&pool[2], &policy()).unwrap();
    store.delete(&pool[0].name()).unwrap();
    sql.execute(
        &format!("DELETE FROM \"{schema}\".client_certificates WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "a delete by hand healed", || {
        names(&store) == BTreeSet::from([pool[2].name()])
    });
    "tables of the earlier version gain write ids and a summary of the rows they hold".to_string()
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
        report(&error).starts_with("cannot import into the database: "),
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

/// An error with its causes, as a user reads it.
fn report(error: &StoreError) -> String {
    ErrorReport::new(error).to_string()
}

fn unusable_databases_and_settings_are_clear_errors(server: &Server) -> String {
    let closed_port = free_port();
    let url = format!("host=127.0.0.1 port={closed_port} user=postgres dbname=postgres");
    let error = PostgresStore::connect(&url, SystemKind::Source).unwrap_err();
    assert!(
        report(&error).starts_with("cannot connect to the database: "),
        "{error}"
    );
    let error = PostgresStore::connect("postgres://[bad", SystemKind::Source).unwrap_err();
    assert!(
        report(&error).starts_with("cannot parse the connection URL: "),
        "{error}"
    );
    let error = PostgresStore::connect_with(
        &server.url(),
        SystemKind::Source,
        &PostgresOptions::default().schema("Robert'); DROP TABLE"),
    )
    .unwrap_err();
    assert_eq!(
        report(&error),
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
/// `mtls_server --postgres URL` serves a registry in PostgreSQL: a client whose certificate a
/// system trusts is accepted and logged with its system; one no system trusts is refused.
fn mtls_server_serves_a_postgres_registry(server: &Server) -> String {
    use std::io::{BufRead, BufReader, Write};
    let registry = Registry::connect(&server.url(), &PostgresOptions::default())
        .unwrap()
        .acting_as("test");
    let system: SystemName = "mtls-clients".parse().unwrap();
    let now = OffsetDateTime::now_utc();
    registry
        .create_system(&system, SystemKind::Source, now)
        .unwrap();
    let client = common::read("tls/client.pem");
    registry
        .store(&system)
        .unwrap()
        .import_upload(&client, &ImportPolicy::new(now))
        .unwrap();
    let data = common::data("tls");
    let file = |name: &str| data.join(name).display().to_string();
    let mut mtls = Command::new(common::example("mtls_server"))
        .args(["--postgres", &server.url(), "--listen", "127.0.0.1:0"])
        .args(["--cert", &file("server.pem"), "--key", &file("server.key")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(mtls.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let talk = |identity: &str| {
        let mut client = Command::new(common::example("mtls_client"))
            .args(["--connect", &address, "--ca", &file("ca.pem")])
            .args(["--cert", &file(&format!("{identity}.pem"))])
            .args(["--key", &file(&format!("{identity}.key"))])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        client.stdin.take().unwrap().write_all(b"hello\n").unwrap();
        client.wait_with_output().unwrap()
    };
    // The server's log, read as it is written: the server logs a refusal after sending its
    // alert, so the client may be gone before the line is written.
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let log = Arc::clone(&log);
        let stderr = mtls.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let trusted = talk("client");
    let stranger = talk("stranger");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.lock().unwrap().contains("is not trusted by any system") && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = mtls.kill();
    let _ = mtls.wait();
    let _ = reader.join();
    let log = log.lock().unwrap().clone();
    assert_eq!(String::from_utf8_lossy(&trusted.stdout), "hello\n", "{log}");
    assert!(!stranger.status.success());
    let name = inbound_certs::decode(&client).unwrap()[0].name();
    assert!(
        log.contains(&format!(
            ": accepted {name} (O=inbound-certs examples,CN=demo client) for system mtls-clients"
        )),
        "{log}"
    );
    assert!(
        log.contains("is not trusted by any system this server accepts"),
        "{log}"
    );
    "a trusted client echoed and logged with its system, a stranger refused".to_string()
}

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
    let (ok, out, err) = certstore(&[
        "--actor", "alice", "system", "add", "crm", "--kind", "source",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added system crm (source)");
    let (ok, out, err) = certstore(&[
        "--actor",
        "bob",
        "--system",
        "crm",
        "import",
        "--allow-ca",
        "tests/data/bundle.pem",
    ]);
    assert!(ok, "{err}");
    let imported: Vec<&str> = out
        .lines()
        .filter_map(|line| line.strip_prefix("imported "))
        .collect();
    assert_eq!(imported.len(), 5, "{out}");
    let (ok, out, err) = certstore(&["--system", "crm", "list", "--json"]);
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(5));
    let (ok, out, err) = certstore(&["identify", imported[1]]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "crm (source)");
    let (ok, out, _) = certstore(&["--actor", "carol", "--system", "crm", "delete", imported[0]]);
    assert!(ok);
    assert_eq!(out.trim(), format!("deleted {} from crm", imported[0]));
    // The trail of those runs (each its own process), from the database, newest first (of
    // crm: other tests use other systems of the same schema).
    let (ok, out, err) = certstore(&["history", "--system", "crm", "--json"]);
    assert!(ok, "{err}");
    let records: serde_json::Value = serde_json::from_str(&out).unwrap();
    let records = records.as_array().unwrap();
    let trail: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|record| {
            (
                record["actor"].as_str().unwrap(),
                record["action"].as_str().unwrap(),
                record["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![("carol", "delete", "removed")];
    expected.extend([("bob", "import", "added"); 5]);
    expected.push(("alice", "create_system", "created"));
    assert_eq!(trail, expected, "{out}");
    assert_eq!(records[0]["certificate"], imported[0]);
    assert_eq!(records[5]["certificate"], imported[0]);
    let (ok, out, err) = certstore(&["--system", "crm", "show", imported[1]]);
    assert!(ok, "{err}");
    assert!(out.contains(" by bob"), "{out}");
    // Processes writing at once: each change is one whole record.
    let writers: Vec<_> = (0..6)
        .map(|index| {
            Command::new(common::example("certstore"))
                .args(["--postgres", &url, "--actor", &format!("process-{index}")])
                .args(["system", "add", &format!("p{index}"), "--kind", "target"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for writer in writers {
        let output = writer.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (ok, out, err) = certstore(&["history", "--json", "--limit", "6"]);
    assert!(ok, "{err}");
    let records: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut seen: Vec<(String, String)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            assert_eq!(record["action"], "create_system");
            (
                record["actor"].as_str().unwrap().to_string(),
                record["system"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected: Vec<(String, String)> = (0..6)
        .map(|index| (format!("process-{index}"), format!("p{index}")))
        .collect();
    assert_eq!(seen, expected);
    let (ok, _, err) = certstore(&["--system", "crm", "show", imported[0]]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!("error: certificate {} not found in system crm", imported[0])
    );
    let (ok, out, err) = certstore(&["check", "--within-days", "1"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "0 expired, 0 expiring within 1 days");
    let registry =
        inbound_certs::Registry::connect(&server.url(), &PostgresOptions::default()).unwrap();
    let crm: inbound_certs::SystemName = "crm".parse().unwrap();
    assert_eq!(
        registry
            .store(&crm)
            .unwrap()
            .list()
            .unwrap()
            .certificates
            .len(),
        4
    );

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
    "system add, import, list --json, identify, delete, history (of earlier runs, and of 6 processes at once), show, check and an unreachable database through --postgres".to_string()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A connection string for the test server reached at 127.0.0.1 under the name `host`, with
/// TLS parameters `tls` and an application name to find its connections by.
fn tls_url(server: &Server, host: &str, tls: &str, application: &str) -> String {
    format!(
        "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres application_name={application} {tls}",
        server.port
    )
}

fn connect_tls(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::connect_with(
        url,
        SystemKind::Source,
        &PostgresOptions::default().schema(schema).tls(provider()),
    )
}

/// Waits until the store's two connections (writer and listener) are open, and says whether
/// each is encrypted, as the server sees it.
fn encrypted(server: &Server, application: &str) -> Vec<bool> {
    let sql = std::cell::RefCell::new(server.sql());
    let query = "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.application_name = $1 ORDER BY a.backend_start";
    within(
        Duration::from_secs(10),
        "writer and listener connected",
        || {
            sql.borrow_mut()
                .query(query, &[&application])
                .unwrap()
                .len()
                == 2
        },
    );
    let rows = sql.borrow_mut().query(query, &[&application]).unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

fn tls_verify_full_authenticates_the_server(server: &Server) -> String {
    let schema = fresh_schema("tls_full");
    let ca = server.file("ca.pem");
    let url = tls_url(
        server,
        "localhost",
        &format!("sslmode=verify-full sslrootcert={ca}"),
        "tls_full",
    );
    let store = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_full"), [true, true]);
    // The listener, over TLS too, hears a change made by a replica without TLS.
    let plain = connect(server, &schema);
    let pool = certificates(2);
    plain.import(&pool[0], &policy()).unwrap();
    within(Duration::from_secs(10), "change heard over TLS", || {
        store.get(&pool[0].name()).unwrap().is_some()
    });
    // And writes go over TLS.
    store.import(&pool[1], &policy()).unwrap();
    within(Duration::from_secs(10), "write over TLS seen", || {
        plain.get(&pool[1].name()).unwrap().is_some()
    });
    // The certificate names 127.0.0.1 too; a URL form works the same.
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={ca}&application_name=tls_full_ip",
        server.port
    );
    let by_address = connect_tls(&url, &schema).unwrap();
    assert_eq!(names(&by_address).len(), 2);
    assert_eq!(encrypted(server, "tls_full_ip"), [true, true]);
    "verify-full with the right CA: writer and listener encrypted, by name and by address"
        .to_string()
}

fn tls_with_another_ca_is_refused(server: &Server) -> String {
    let schema = fresh_schema("tls_other_ca");
    let other = server.file("other-ca.pem");
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = tls_url(
            server,
            "localhost",
            &format!("sslmode={mode} sslrootcert={other}"),
            "tls_other_ca",
        );
        let error = connect_tls(&url, &schema).unwrap_err();
        assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
        assert_eq!(
            report(&error),
            "cannot connect to the database: error performing TLS handshake: invalid peer certificate: UnknownIssuer",
            "{mode}"
        );
    }
    "a server certificate from another CA is refused with verify-full, verify-ca and require+sslrootcert"
        .to_string()
}

fn tls_verify_full_checks_the_host_name(server: &Server) -> String {
    let schema = fresh_schema("tls_host");
    let ca = server.file("ca.pem");
    // The server's certificate names localhost and 127.0.0.1, not this name.
    let url = tls_url(
        server,
        "db.wrong.example",
        &format!("sslmode=verify-full sslrootcert={ca}"),
        "tls_host",
    );
    let error = connect_tls(&url, &schema).unwrap_err();
    assert!(
        report(&error).starts_with(
            "cannot connect to the database: error performing TLS handshake: invalid peer certificate: certificate not valid for name \"db.wrong.example\""
        ),
        "{error}"
    );
    // verify-ca checks the chain only.
    let url = tls_url(
        server,
        "db.wrong.example",
        &format!("sslmode=verify-ca sslrootcert={ca}"),
        "tls_host_ca",
    );
    let _store = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_host_ca"), [true, true]);
    "verify-full refuses a certificate for another host name; verify-ca accepts it".to_string()
}

/// A role that logs in with a SCRAM-SHA-256 password from 127.0.0.1, over TLS or in clear
/// (the lines go before initdb's `trust` ones; the server reloads them).
fn scram_role(server: &Server) -> (&'static str, &'static str) {
    let (role, password) = ("scram_binding", "binding-test-password");
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "SET password_encryption = 'scram-sha-256';
         DROP ROLE IF EXISTS {role};
         CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}';"
    ))
    .unwrap();
    let hba = std::path::Path::new(&server.data()).join("pg_hba.conf");
    let lines = std::fs::read_to_string(&hba).unwrap();
    if !lines.contains(role) {
        std::fs::write(
            &hba,
            format!(
                "hostssl all {role} 127.0.0.1/32 scram-sha-256\n\
                 hostnossl all {role} 127.0.0.1/32 scram-sha-256\n{lines}"
            ),
        )
        .unwrap();
        sql.batch_execute("SELECT pg_reload_conf()").unwrap();
        // The reload is asynchronous: wait until a login without the password is refused.
        let bare = format!(
            "host=127.0.0.1 port={} user={role} dbname=postgres",
            server.port
        );
        within(Duration::from_secs(10), "pg_hba.conf reloaded", || {
            postgres::Client::connect(&bare, postgres::NoTls).is_err()
        });
    }
    (role, password)
}

fn tls_scram_uses_channel_binding(server: &Server) -> String {
    let schema = fresh_schema("tls_scram");
    let (role, password) = scram_role(server);
    let ca = server.file("ca.pem");
    // channel_binding=require: the client refuses SCRAM without binding (SCRAM-SHA-256-PLUS
    // with the hash of the server's certificate), and the server checks that hash.
    for (tls, application) in [
        (
            format!("sslmode=verify-full sslrootcert={ca}"),
            "tls_scram_full",
        ),
        ("sslmode=require".to_string(), "tls_scram_require"),
    ] {
        let url = format!(
            "host=localhost hostaddr=127.0.0.1 port={} user={role} password={password} \
             dbname=postgres application_name={application} channel_binding=require {tls}",
            server.port
        );
        let store = connect_tls(&url, &schema).unwrap_or_else(|error| panic!("{tls}: {error:?}"));
        assert_eq!(encrypted(server, application), [true, true]);
        drop(store);
    }
    // Without TLS there is nothing to bind to: the same requirement refuses the login, so
    // the logins above did use channel binding.
    let url = format!(
        "host=localhost hostaddr=127.0.0.1 port={} user={role} password={password} \
         dbname=postgres channel_binding=require sslmode=disable",
        server.port
    );
    let error = connect_tls(&url, &schema).unwrap_err();
    assert!(
        report(&error).starts_with("cannot connect to the database: authentication error"),
        "{error:?}"
    );
    // Without the requirement (the default, prefer), the same TLS login binds as well.
    let url = format!(
        "host=localhost hostaddr=127.0.0.1 port={} user={role} password={password} \
         dbname=postgres application_name=tls_scram_prefer sslmode=verify-full sslrootcert={ca}",
        server.port
    );
    let _prefer = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_scram_prefer"), [true, true]);
    "SCRAM over TLS binds to the server's certificate (channel_binding=require logs in with \
     verify-full and require, and is refused without TLS)"
        .to_string()
}

fn tls_modes_without_verification(server: &Server) -> String {
    let schema = fresh_schema("tls_modes");
    // require: encrypted, the server not authenticated (documented).
    let url = tls_url(server, "localhost", "sslmode=require", "tls_require");
    let _require = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_require"), [true, true]);
    // prefer (the default) with a provider: encrypted when the server offers TLS.
    let url = tls_url(server, "localhost", "", "tls_prefer");
    let _prefer = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_prefer"), [true, true]);
    let url = tls_url(server, "localhost", "sslmode=disable", "tls_disable");
    let _disable = connect_tls(&url, &schema).unwrap();
    assert_eq!(encrypted(server, "tls_disable"), [false, false]);
    // Without a provider, no default store silently sends in clear what was asked encrypted.
    for tls in [
        "sslmode=require",
        "sslmode=verify-full sslrootcert=/nonexistent",
    ] {
        let url = tls_url(server, "localhost", tls, "tls_none");
        let error = PostgresStore::connect_with(
            &url,
            SystemKind::Source,
            &PostgresOptions::default().schema(&schema),
        )
        .unwrap_err();
        let StoreError::Database { operation, source } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*operation, "configure TLS to the database");
        assert!(matches!(
            source.downcast_ref::<PostgresTlsError>(),
            Some(PostgresTlsError::NoCryptoProvider { .. })
        ));
    }
    let url = tls_url(server, "localhost", "sslmode=verify-ca", "tls_none");
    let error = connect_tls(&url, &schema).unwrap_err();
    assert_eq!(
        report(&error),
        "cannot configure TLS to the database: sslmode=verify-ca needs sslrootcert=FILE naming the CA certificates to trust, found none"
    );
    let url = tls_url(
        server,
        "localhost",
        "sslmode=verify-ca sslrootcert=/nonexistent/ca.pem",
        "tls_none",
    );
    let error = connect_tls(&url, &schema).unwrap_err();
    assert!(
        report(&error)
            .starts_with("cannot configure TLS to the database: cannot use sslrootcert \"/nonexistent/ca.pem\": "),
        "{error}"
    );
    "require and prefer encrypt, disable does not; TLS asked without a provider or a CA is refused"
        .to_string()
}

/// Where a [`Proxy`] breaks the next write's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    /// Closes both sides instead of passing `COMMIT` on: the write did not commit.
    BeforeCommit,
    /// Passes `COMMIT` on and closes both sides instead of passing the server's answer back:
    /// the write committed, but its client cannot know.
    AfterCommit,
}

/// A TCP proxy in front of the test server that counts what the server sends, counts the
/// snapshots (`REPEATABLE READ` transactions) clients start, and breaks a write's connection
/// at `COMMIT` when armed.
struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    to_clients: std::sync::atomic::AtomicU64,
    snapshots: std::sync::atomic::AtomicU64,
    armed: std::sync::Mutex<Option<Break>>,
}

impl Proxy {
    fn start(server: &Server) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let upstream = server.port;
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                Proxy::relay(client, server, shared.clone());
            }
        });
        Proxy { port, state }
    }

    fn relay(client: std::net::TcpStream, server: std::net::TcpStream, state: Arc<ProxyState>) {
        use std::io::{Read, Write};
        let dropping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let close = {
            let (client, server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            Arc::new(move || {
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            })
        };
        let (mut from_client, mut to_server) =
            (client.try_clone().unwrap(), server.try_clone().unwrap());
        let (upstream_state, upstream_dropping, upstream_close) =
            (state.clone(), dropping.clone(), close.clone());
        std::thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            let mut wrote = false;
            while let Ok(n) = from_client.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let bytes = &buffer[..n];
                let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
                if has(b"REPEATABLE READ") {
                    upstream_state.snapshots.fetch_add(1, Ordering::Relaxed);
                }
                let armed = *upstream_state.armed.lock().unwrap();
                if armed.is_some() && (has(b"INSERT INTO") || has(b"DELETE FROM")) {
                    wrote = true;
                }
                if wrote && has(b"COMMIT") {
                    if let Some(armed) = upstream_state.armed.lock().unwrap().take() {
                        if armed == Break::BeforeCommit {
                            break;
                        }
                        upstream_dropping.store(true, Ordering::SeqCst);
                    }
                }
                if to_server.write_all(bytes).is_err() {
                    break;
                }
            }
            upstream_close();
        });
        let (mut from_server, mut to_client) = (server, client);
        std::thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            while let Ok(n) = from_server.read(&mut buffer) {
                if n == 0 || dropping.load(Ordering::SeqCst) {
                    break;
                }
                state.to_clients.fetch_add(n as u64, Ordering::Relaxed);
                if to_client.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            close();
        });
    }

    fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    fn arm(&self, at: Break) {
        *self.state.armed.lock().unwrap() = Some(at);
    }
}

fn a_commit_whose_connection_broke_reports_the_truth(server: &Server) -> String {
    let schema = fresh_schema("broken_commit");
    let proxy = Proxy::start(server);
    let store = PostgresStore::connect_with(
        &proxy.url(),
        SystemKind::Source,
        &PostgresOptions::default().schema(&schema),
    )
    .unwrap();
    let other = connect(server, &schema);
    let pool = certificates(3);
    let mut sql = server.sql();
    let stored = |sql: &mut postgres::Client, certificate: &Certificate| -> bool {
        sql.query_one(
            &format!(
                "SELECT count(*) FROM \"{schema}\".client_certificates WHERE fingerprint = $1"
            ),
            &[&certificate.fingerprint().to_string()],
        )
        .unwrap()
        .get::<_, i64>(0)
            == 1
    };

    // The server commits; the answer is lost with the connection.
    proxy.arm(Break::AfterCommit);
    let outcome = store.import(&pool[0], &policy());
    assert!(
        proxy.state.armed.lock().unwrap().is_none(),
        "the proxy broke nothing"
    );
    assert!(stored(&mut sql, &pool[0]), "the import committed");
    assert!(
        matches!(outcome, Ok(Imported::Added(_))),
        "a committed import reported as {outcome:?}"
    );
    assert!(store.get(&pool[0].name()).unwrap().is_some());

    // The connection breaks before the server sees COMMIT: not committed, and said so.
    proxy.arm(Break::BeforeCommit);
    let error = store.import(&pool[1], &policy()).unwrap_err();
    assert!(
        proxy.state.armed.lock().unwrap().is_none(),
        "the proxy broke nothing"
    );
    assert!(
        report(&error).starts_with("cannot import into the database: "),
        "{error}"
    );
    assert!(!stored(&mut sql, &pool[1]), "the import did not commit");
    assert!(store.get(&pool[1].name()).unwrap().is_none());

    // The same for a delete.
    proxy.arm(Break::AfterCommit);
    store.delete(&pool[0].name()).unwrap();
    assert!(!stored(&mut sql, &pool[0]), "the delete committed");
    assert!(store.get(&pool[0].name()).unwrap().is_none());
    proxy.arm(Break::BeforeCommit);
    store.import(&pool[2], &policy()).unwrap_err();

    // Afterwards the store writes as usual, and the other replica agrees.
    store.import(&pool[1], &policy()).unwrap();
    within(Duration::from_secs(10), "the other replica agrees", || {
        names(&other) == names(&store)
    });
    "a commit whose answer was lost is reported committed; one that never reached the server, not"
        .to_string()
}

/// Fills `schema` (created by connecting once) with `count` certificates, made in the server
/// from one template by writing a counter into its 8-byte serial number (the store does not
/// check signatures, so each is a distinct, valid certificate to it).
fn fill(server: &Server, schema: &str, count: i64) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "bulk test client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]));
    let template = params.self_signed(&key).unwrap().der().to_vec();
    let serial = [2u8, 8, 1, 0, 0, 0, 0, 0, 0, 0];
    let at = template
        .windows(serial.len())
        .position(|window| window == serial)
        .unwrap() as i32
        + 3;
    drop(connect(server, schema));
    server
        .sql()
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der)
                 SELECT encode(sha256(der), 'hex'), der FROM (
                     SELECT overlay($1::bytea PLACING int8send(72057594037927936 + n) FROM $2 FOR 8) AS der
                     FROM generate_series(1, $3::bigint) AS n) AS made"
            ),
            &[&template, &at, &count],
        )
        .unwrap();
}

/// CPU time (nanoseconds) of the threads of this process named `name` (as the kernel keeps
/// it: 15 bytes), from `/proc/self/task/*/schedstat`.
fn threads_cpu(name: &str) -> u64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| {
            let path = task.ok()?.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            if comm.trim_end() != &name[..name.len().min(15)] {
                return None;
            }
            std::fs::read_to_string(path.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// CPU time (nanoseconds) of the server processes serving connections named `application`.
fn backends_cpu(server: &Server, application: &str) -> u64 {
    let pids: Vec<i32> = server
        .sql()
        .query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A periodic resync of an unchanged store of 100,000 certificates (`INBOUND_CERTS_PG_ROWS`
/// to change the number), measured through the proxy: bytes the server sent, CPU of the
/// store's listener thread and of the server. Prints the numbers; asserts only on bytes.
fn an_unchanged_store_resyncs_cheaply(server: &Server) -> String {
    let rows: i64 = std::env::var("INBOUND_CERTS_PG_ROWS")
        .map(|rows| rows.parse().unwrap())
        .unwrap_or(100_000);
    let schema = fresh_schema("resync_measure");
    fill(server, &schema, rows);
    let table_bytes: i64 = server
        .sql()
        .query_one(
            &format!(
                "SELECT sum(octet_length(der) + octet_length(fingerprint))::bigint FROM \"{schema}\".client_certificates"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    let proxy = Proxy::start(server);
    let application = "resync_measure";
    let interval = Duration::from_secs(1);
    let loading = Instant::now();
    let store = PostgresStore::connect_with(
        &format!("{} application_name={application}", proxy.url()),
        SystemKind::Source,
        &PostgresOptions::default()
            .schema(&schema)
            .resync_interval(interval),
    )
    .unwrap();
    let loaded = loading.elapsed();
    assert_eq!(names(&store).len() as i64, rows);
    let snapshots = || proxy.state.snapshots.load(Ordering::Relaxed);
    // The store's own load and the listener's first one.
    within(
        Duration::from_secs(600),
        "the listener's first load",
        || snapshots() >= 2,
    );
    let measure = || {
        (
            snapshots(),
            proxy.state.to_clients.load(Ordering::Relaxed),
            threads_cpu("inbound-certs-postgres"),
            backends_cpu(server, application),
            Instant::now(),
        )
    };
    // From the start of one periodic resync to the start of the one three later.
    let first = snapshots();
    within(Duration::from_secs(600), "a periodic resync", || {
        snapshots() > first
    });
    let before = measure();
    let resyncs = 3;
    within(Duration::from_secs(600), "three more resyncs", || {
        snapshots() >= before.0 + resyncs
    });
    let after = measure();
    let count = (after.0 - before.0) as f64;
    let bytes = (after.1 - before.1) as f64 / count;
    let client_cpu = Duration::from_nanos(((after.2 - before.2) as f64 / count) as u64);
    let server_cpu = Duration::from_nanos(((after.3 - before.3) as f64 / count) as u64);
    let period = (after.4 - before.4).div_f64(count);
    // One row written by hand, without a notification: what healing it costs.
    let extra = &certificates(1)[0];
    let healing = measure();
    server
        .sql()
        .execute(
            &format!(
                "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
            ),
            &[&extra.fingerprint().to_string(), &extra.der()],
        )
        .unwrap();
    let healed_after = within(Duration::from_secs(600), "the row is healed", || {
        store.get(&extra.name()).unwrap().is_some()
    });
    let healed = measure();
    let report = format!(
        "{rows} rows ({table_bytes} bytes of fingerprints and DER), loaded in {loaded:?}; per unchanged resync: {bytes:.0} bytes from the server, listener CPU {client_cpu:?}, server CPU {server_cpu:?}, period {period:?} (interval {interval:?}); one row added without notification healed after {healed_after:?} with {} bytes from the server, listener CPU {:?}, server CPU {:?}",
        healed.1 - healing.1,
        Duration::from_nanos(healed.2 - healing.2),
        Duration::from_nanos(healed.3 - healing.3),
    );
    println!("{report}");
    assert!(
        bytes < 10_000.0,
        "an unchanged resync fetched {bytes} bytes: {report}"
    );
    // After changes through the store's own writes and another replica's, and a damaged row,
    // the index's summary still equals the table's: the checks stay cheap.
    let other = connect(server, &schema);
    let fresh = certificates(3);
    other.import_all(&fresh, &policy()).unwrap();
    store.delete(&fresh[0].name()).unwrap();
    store.import(&certificates(1)[0], &policy()).unwrap();
    server
        .sql()
        .execute(
            &format!("UPDATE \"{schema}\".client_certificates SET der = $2 WHERE fingerprint = $1"),
            &[&fresh[1].fingerprint().to_string(), &b"damaged".to_vec()],
        )
        .unwrap();
    within(Duration::from_secs(600), "the damaged row is seen", || {
        store.list().unwrap().damaged.len() == 1
    });
    let first = snapshots();
    within(Duration::from_secs(600), "a periodic resync", || {
        snapshots() > first
    });
    let before = measure();
    within(Duration::from_secs(600), "three more resyncs", || {
        snapshots() >= before.0 + resyncs
    });
    let after = measure();
    let bytes = (after.1 - before.1) as f64 / (after.0 - before.0) as f64;
    assert!(
        bytes < 10_000.0,
        "after changes, an unchanged resync fetched {bytes} bytes"
    );
    report
}

/// The console's API suite (tests/common/admin.rs) on a registry in PostgreSQL, and 503 with
/// the database's error while the database is down.
#[cfg(feature = "admin")]
fn the_admin_console_on_a_postgres_registry(server: &Server) -> String {
    use axum::body::Body;
    use axum::http::{Method, StatusCode};

    let registry =
        connect_registry(server, &fresh_schema("admin")).with_clock(|| admin_common::NOW);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(admin_common::api_suite(registry.clone()));

    let app = admin_common::console(registry);
    let create = admin_common::api_json(
        Method::POST,
        "/api/systems",
        serde_json::json!({"name": "billing", "kind": "source"}),
    );
    assert_eq!(
        runtime.block_on(admin_common::send(&app, create)).status,
        StatusCode::CREATED
    );
    server.halt();
    let certificate = admin_common::client_certificate("while.down.example", 100);
    let import = admin_common::api(
        Method::POST,
        "/api/systems/billing/certificates",
        certificate,
    );
    let import = runtime.block_on(admin_common::send(&app, import));
    let history = admin_common::api(Method::GET, "/api/history", Body::empty());
    let history = runtime.block_on(admin_common::send(&app, history));
    server.resume();
    assert_eq!(import.error(StatusCode::SERVICE_UNAVAILABLE), "database");
    assert_eq!(history.error(StatusCode::SERVICE_UNAVAILABLE), "database");
    let message = import.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    format!("every API route passed; with the database down: 503 {message:?}")
}

fn connect_registry(server: &Server, schema: &str) -> Registry {
    Registry::connect(&server.url(), &PostgresOptions::default().schema(schema)).unwrap()
}

fn system_name(text: &str) -> SystemName {
    text.parse().unwrap()
}

fn registry_conformance_suite(server: &Server) -> String {
    conformance::run_registry(|| connect_registry(server, &fresh_schema("registry")));
    "every registry conformance function passed".to_string()
}

fn median_and_max(mut delays: Vec<Duration>) -> String {
    delays.sort();
    format!(
        "median {:?}, max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    )
}

/// A system created on one replica, and a certificate imported into it, are seen by the
/// other's `systems()` and `identify`; a system removed on one disappears from the other's.
fn systems_on_one_replica_are_seen_by_the_other(server: &Server) -> String {
    let schema = fresh_schema("registry_replicas");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let pool = certificates(20);
    // Each delay runs from the start of the write on `a` until `b` sees it.
    let (mut created, mut imported, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for (i, certificate) in pool.iter().enumerate() {
        let name = system_name(&format!("system-{i}"));
        let kind = if i % 2 == 0 {
            SystemKind::Source
        } else {
            SystemKind::Proxy
        };
        let started = Instant::now();
        let system = a
            .create_system(&name, kind, OffsetDateTime::now_utc())
            .unwrap();
        // The replica that wrote reads its own write at once.
        assert_eq!(a.system(&name).unwrap(), system);
        within(Duration::from_secs(10), "system seen on b", || {
            b.systems().unwrap().systems.contains(&system)
        });
        created.push(started.elapsed());
        assert_eq!(b.system(&name).unwrap(), system);

        let fingerprint = certificate.fingerprint();
        let started = Instant::now();
        a.store(&name)
            .unwrap()
            .import(certificate, &policy())
            .unwrap();
        assert_eq!(a.identify(&fingerprint).unwrap(), vec![system.clone()]);
        within(Duration::from_secs(10), "import identified on b", || {
            b.identify(&fingerprint).unwrap() == vec![system.clone()]
        });
        imported.push(started.elapsed());
        assert!(b
            .store(&name)
            .unwrap()
            .get(&certificate.name())
            .unwrap()
            .is_some());
    }
    // The first certificate is also trusted by the second system; deleting it there is
    // seen too.
    let (first, second) = (system_name("system-0"), system_name("system-1"));
    let shared = pool[0].fingerprint();
    a.store(&second)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    within(
        Duration::from_secs(10),
        "two systems identified on b",
        || b.identify(&shared).unwrap().len() == 2,
    );
    b.store(&second).unwrap().delete(&pool[0].name()).unwrap();
    within(Duration::from_secs(10), "a delete on b seen on a", || {
        a.identify(&shared).unwrap() == vec![a.system(&first).unwrap()]
    });
    for (i, certificate) in pool.iter().enumerate() {
        let name = system_name(&format!("system-{i}"));
        let fingerprint = certificate.fingerprint();
        let started = Instant::now();
        assert!(matches!(
            a.remove_system(&name, false),
            Err(StoreError::SystemNotEmpty {
                certificates: 1,
                ..
            })
        ));
        assert_eq!(a.remove_system(&name, true).unwrap(), 1);
        assert!(a.identify(&fingerprint).unwrap().is_empty());
        within(Duration::from_secs(10), "removal seen on b", || {
            b.identify(&fingerprint).unwrap().is_empty()
        });
        removed.push(started.elapsed());
        assert!(matches!(
            b.system(&name),
            Err(StoreError::SystemNotFound(_))
        ));
    }
    assert!(b.systems().unwrap().systems.is_empty());
    let mut changes = created.clone();
    changes.extend(&imported);
    let report = format!(
        "{} changes (a system created, a certificate imported into it) seen by the other replica's systems() and identify, from the start of the write: {}; creations {}, imports {}; {} removals of a system seen by the other's identify: {}",
        changes.len(),
        median_and_max(changes),
        median_and_max(created),
        median_and_max(imported),
        removed.len(),
        median_and_max(removed),
    );
    println!("{report}");
    report
}

/// The tables of the version before registries, made with that version's SQL and holding
/// rows it wrote, are upgraded in place by the first registry that connects: no row is lost,
/// they are the registry's legacy certificates until adopted into a system, the summary is
/// recomputed, and a `PostgresStore` keeps working on them.
fn tables_of_the_version_before_registries_are_upgraded(server: &Server) -> String {
    let schema = fresh_schema("before_registries");
    let pool = certificates(4);
    let mut sql = server.sql();
    let old = include_str!("data/postgres_before_registries.sql").replace("SCHEMA_NAME", &schema);
    sql.batch_execute(&old).unwrap();
    // Writes as that version made them: the row, its change, the revision.
    for (revision, certificate) in (1i64..).zip(&pool[..3]) {
        let key = certificate.fingerprint().to_string();
        let mut transaction = sql.transaction().unwrap();
        transaction
            .execute(
                &format!(
                    "INSERT INTO \"{schema}\".client_certificates (fingerprint, der) VALUES ($1, $2)"
                ),
                &[&key, &certificate.der()],
            )
            .unwrap();
        transaction
            .execute(
                &format!("INSERT INTO \"{schema}\".changes VALUES ($1, $2, true, 'old')"),
                &[&revision, &key],
            )
            .unwrap();
        transaction
            .execute(
                &format!("UPDATE \"{schema}\".revision SET value = $1"),
                &[&revision],
            )
            .unwrap();
        transaction.commit().unwrap();
    }
    let before: Vec<(String, Vec<u8>)> = sql
        .query(
            &format!("SELECT fingerprint, der FROM \"{schema}\".client_certificates ORDER BY 1"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(before.len(), 3);

    // Three replicas start at once: one upgrades, under the advisory lock; the others find
    // the tables upgraded.
    let options = PostgresOptions::default()
        .schema(&schema)
        .resync_interval(Duration::from_millis(300));
    let mut started: Vec<Registry> = std::thread::scope(|scope| {
        let connecting: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| Registry::connect(&server.url(), &options).unwrap()))
            .collect();
        connecting
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect()
    });
    let registry = started.remove(0);
    for other in &started {
        assert_eq!(other.legacy_certificates().unwrap(), 3);
    }
    drop(started);
    let after: Vec<(String, String, Vec<u8>)> = sql
        .query(
            &format!(
                "SELECT system, fingerprint, der FROM \"{schema}\".client_certificates ORDER BY 2"
            ),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        after,
        before
            .iter()
            .map(|(key, der)| (String::new(), key.clone(), der.clone()))
            .collect::<Vec<_>>(),
        "every row kept, as a row of no system"
    );
    let key: Vec<String> = sql
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::text::regclass AND i.indisprimary ORDER BY a.attname",
            &[&format!("\"{schema}\".client_certificates")],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(key, ["fingerprint", "system"]);
    // The summary covers the system now, and equals the registry's index (a change by hand
    // is healed by comparing them).
    let (rows, digest, recomputed): (i64, i64, i64) = {
        let row = sql
            .query_one(
                &format!(
                    "SELECT row_count, digest, (SELECT coalesce(bit_xor(('x' || left(encode(sha256(convert_to(system || '/' || fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint), 0) FROM \"{schema}\".client_certificates) FROM \"{schema}\".revision"
                ),
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((rows, digest), (3, recomputed));
    assert_eq!(registry.legacy_certificates().unwrap(), 3);
    assert!(registry.systems().unwrap().systems.is_empty());

    // A `PostgresStore` on the upgraded tables works on the rows of no system.
    let store = connect(server, &schema);
    assert_eq!(names(&store).len(), 3);
    store.import(&pool[3], &policy()).unwrap();
    within(
        Duration::from_secs(10),
        "the registry sees the store's import",
        || registry.legacy_certificates().unwrap() == 4,
    );
    // Adopted into a system that already holds one of them: nothing duplicated or lost.
    let crm = system_name("crm");
    registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    registry
        .store(&crm)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    assert_eq!(
        registry
            .adopt_legacy_store(&crm, SystemKind::Source, OffsetDateTime::now_utc())
            .unwrap(),
        3
    );
    assert_eq!(registry.legacy_certificates().unwrap(), 0);
    let adopted: BTreeSet<CertificateName> = registry
        .store(&crm)
        .unwrap()
        .list()
        .unwrap()
        .certificates
        .iter()
        .map(Certificate::name)
        .collect();
    assert_eq!(adopted, pool.iter().map(Certificate::name).collect());
    for certificate in &pool {
        assert_eq!(
            registry.identify(&certificate.fingerprint()).unwrap(),
            vec![registry.system(&crm).unwrap()]
        );
    }
    within(
        Duration::from_secs(10),
        "the store sees the adoption",
        || names(&store).is_empty(),
    );
    // A second registry connecting finds the tables upgraded and changes nothing.
    let again = connect_registry(server, &schema);
    assert_eq!(
        again
            .store(&crm)
            .unwrap()
            .list()
            .unwrap()
            .certificates
            .len(),
        4
    );
    // A change by hand heals on the registry, so the summary matches its index.
    sql.execute(
        &format!("DELETE FROM \"{schema}\".client_certificates WHERE fingerprint = $1"),
        &[&pool[1].fingerprint().to_string()],
    )
    .unwrap();
    within(Duration::from_secs(10), "a delete by hand healed", || {
        registry
            .identify(&pool[1].fingerprint())
            .unwrap()
            .is_empty()
    });
    "3 rows of the earlier version kept as legacy rows, the key made (system, fingerprint), the summary recomputed; a PostgresStore keeps working; adopted into a system in one transaction".to_string()
}

/// Rows written by hand into a registry's tables, without notification: healed by the
/// periodic check, and a row that is not what it claims (or belongs to no registered system)
/// is reported, never hiding the others.
fn registry_rows_by_hand_are_healed_and_reported(server: &Server) -> String {
    let schema = fresh_schema("registry_by_hand");
    let registry = Registry::connect(
        &server.url(),
        &PostgresOptions::default()
            .schema(&schema)
            .resync_interval(Duration::from_millis(300)),
    )
    .unwrap();
    let crm = system_name("crm");
    let system = registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let pool = certificates(4);
    registry
        .store(&crm)
        .unwrap()
        .import(&pool[0], &policy())
        .unwrap();
    let mut sql = server.sql();
    let insert = format!(
        "INSERT INTO \"{schema}\".client_certificates (system, fingerprint, der) VALUES ($1, $2, $3)"
    );
    // A healthy row, a row whose DER is another certificate's, a row of no registered system.
    sql.execute(
        &insert,
        &[&"crm", &pool[1].fingerprint().to_string(), &pool[1].der()],
    )
    .unwrap();
    let wrong_key = pool[2].fingerprint().to_string();
    sql.execute(&insert, &[&"crm", &wrong_key, &pool[0].der()])
        .unwrap();
    sql.execute(
        &insert,
        &[&"ghost", &pool[3].fingerprint().to_string(), &pool[3].der()],
    )
    .unwrap();
    // A system made by hand, and a row of the systems table that is not a system name.
    sql.batch_execute(&format!(
        "INSERT INTO \"{schema}\".systems (name, kind, created) VALUES ('edge', 'proxy', now()), ('Not A Name', 'source', now())"
    ))
    .unwrap();
    within(
        Duration::from_secs(10),
        "the healthy row identified",
        || registry.identify(&pool[1].fingerprint()).unwrap() == vec![system.clone()],
    );
    within(Duration::from_secs(10), "the system made by hand", || {
        registry.system(&system_name("edge")).is_ok()
    });
    let listing = registry.store(&crm).unwrap().list().unwrap();
    assert_eq!(listing.certificates.len(), 2);
    assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
    assert_eq!(
        listing.damaged[0].location,
        PathBuf::from(format!("{schema}.client_certificates/crm/{wrong_key}"))
    );
    assert!(registry
        .identify(&pool[2].fingerprint())
        .unwrap()
        .is_empty());
    // Rows of a system that is not registered trust nothing.
    assert!(registry
        .identify(&pool[3].fingerprint())
        .unwrap()
        .is_empty());
    let systems = registry.systems().unwrap();
    assert_eq!(
        systems
            .systems
            .iter()
            .map(|system| system.name().as_str())
            .collect::<Vec<_>>(),
        ["crm", "edge"]
    );
    let locations: Vec<String> = systems
        .damaged
        .iter()
        .map(|damaged| damaged.location.display().to_string())
        .collect();
    assert_eq!(
        locations,
        [
            format!("{schema}.client_certificates/ghost"),
            format!("{schema}.systems/Not A Name"),
        ]
    );
    assert_eq!(
        systems.damaged[0].to_string(),
        format!("{schema}.client_certificates/ghost: cannot be read: 1 row(s) of a system that is not registered (create the system to see them, or delete them)")
    );
    // The damaged row counts: the system is not removed unless asked.
    assert!(matches!(
        registry.remove_system(&crm, false),
        Err(StoreError::SystemNotEmpty {
            certificates: 3,
            ..
        })
    ));
    assert_eq!(registry.remove_system(&crm, true).unwrap(), 3);
    assert!(registry
        .identify(&pool[0].fingerprint())
        .unwrap()
        .is_empty());
    "a healthy row, a damaged row and a system written by hand healed; rows of no registered system and a bad system row reported".to_string()
}

/// A rustls verifier over a registry on PostgreSQL trusts what one of its systems trusts, from
/// memory, and follows another replica's changes.
fn a_verifier_over_a_postgres_registry_follows_other_replicas(server: &Server) -> String {
    #[cfg(feature = "rustls")]
    {
        use inbound_certs::StoreClientVerifier;
        use rustls::pki_types::{CertificateDer, UnixTime};
        use rustls::server::danger::ClientCertVerifier;

        let schema = fresh_schema("registry_verifier");
        let (a, b) = (
            connect_registry(server, &schema),
            connect_registry(server, &schema),
        );
        let crm = system_name("crm");
        let edge = system_name("edge");
        b.create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
            .unwrap();
        b.create_system(&edge, SystemKind::Proxy, OffsetDateTime::now_utc())
            .unwrap();
        let client = &certificates(1)[0];
        let der = CertificateDer::from(client.der().to_vec());
        let every_system = StoreClientVerifier::for_registry(a.clone(), provider());
        let edge_only =
            StoreClientVerifier::for_registry(a.clone(), provider()).only_systems([edge.clone()]);
        let accepted = |verifier: &StoreClientVerifier| {
            verifier
                .verify_client_cert(&der, &[], UnixTime::now())
                .is_ok()
        };
        assert!(!accepted(&every_system));
        b.store(&crm).unwrap().import(client, &policy()).unwrap();
        within(Duration::from_secs(10), "a trusts b's import", || {
            accepted(&every_system)
        });
        assert!(!accepted(&edge_only));
        b.remove_system(&crm, true).unwrap();
        within(
            Duration::from_secs(10),
            "a forgets the removed system",
            || !accepted(&every_system),
        );
        "a client trusted by a system created on another replica is accepted, and refused once the system is removed there".to_string()
    }
    #[cfg(not(feature = "rustls"))]
    {
        let _ = server;
        "skipped: needs the feature rustls".to_string()
    }
}

/// The audit trail's scenario of every backend (`conformance::registry_audit`) on PostgreSQL;
/// the records are rows of the `audit` table, read again by a later connection (a restarted
/// process); a row that is not a record is reported, never hidden.
fn a_postgres_registry_keeps_its_audit_trail_in_the_database(server: &Server) -> String {
    let schema = fresh_schema("audit");
    conformance::registry_audit(connect_registry(server, &schema));
    let again = connect_registry(server, &schema);
    // The scenario's 9 records, then 3 of a chain's import into another system.
    let history = again.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records.len(), 12);
    assert!(history.damaged.is_empty(), "{:?}", history.damaged);
    assert_eq!(history.records[0].outcome, AuditOutcome::Skipped);
    assert_eq!(history.records[2].action, AuditAction::CreateSystem);
    assert_eq!(history.records[3].action, AuditAction::RemoveSystem);
    assert_eq!(history.records[5].action, AuditAction::Purge);
    assert_eq!(history.records[11].action, AuditAction::CreateSystem);
    assert_eq!(history.records[11].time, conformance::NOW);
    let mut sql = server.sql();
    let row = sql
        .query_one(
            &format!(
                "SELECT count(*), min(\"time\") = timestamptz '2026-06-01 00:00:00+00',
                     count(*) FILTER (WHERE action = 'purge')
                 FROM \"{schema}\".audit"
            ),
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 12);
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 1);
    sql.batch_execute(&format!(
        "INSERT INTO \"{schema}\".audit (\"time\", actor, action, outcome)
         VALUES (now(), 'by hand', 'rename', 'added')"
    ))
    .unwrap();
    let history = again.history(&HistoryQuery::new()).unwrap();
    assert_eq!(history.records.len(), 12);
    assert_eq!(
        history.damaged,
        vec![format!("{schema}.audit/13: not a complete record")]
    );
    "12 records written in their changes' transactions, read back by another connection; a hand-made row reported".to_string()
}

/// A bundle the database refuses (a trigger, at its third certificate) rolls back with its
/// records: the trail has no import of it. A delete that finds nothing leaves none either.
/// Imported whole later, each certificate has its record, and removing the system with them
/// says how many went.
fn a_change_refused_inside_the_database_leaves_no_record(server: &Server) -> String {
    let schema = fresh_schema("audit_refused");
    let registry = connect_registry(server, &schema).acting_as("alice");
    let crm = system_name("crm");
    registry
        .create_system(&crm, SystemKind::Source, OffsetDateTime::now_utc())
        .unwrap();
    let bundle = certificates(3);
    let mut sql = server.sql();
    sql.batch_execute(&format!(
        "CREATE FUNCTION \"{schema}\".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON \"{schema}\".client_certificates
         FOR EACH ROW WHEN (NEW.fingerprint = '{}') EXECUTE FUNCTION \"{schema}\".refuse();",
        bundle[2].fingerprint()
    ))
    .unwrap();
    let store = registry.store(&crm).unwrap();
    let error = store.import_all(&bundle, &policy()).unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    assert!(matches!(
        store.delete(&bundle[0].name()),
        Err(StoreError::NotFound(_))
    ));
    let history = registry.history(&HistoryQuery::new()).unwrap();
    let actions: Vec<AuditAction> = history.records.iter().map(|r| r.action).collect();
    assert_eq!(actions, vec![AuditAction::CreateSystem]);
    let rows: i64 = sql
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".audit"), &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "no record of the refused bundle");

    sql.batch_execute(&format!(
        "DROP TRIGGER refuse ON \"{schema}\".client_certificates"
    ))
    .unwrap();
    store.import_all(&bundle, &policy()).unwrap();
    registry.remove_system(&crm, true).unwrap();
    let history = registry
        .history(&HistoryQuery::new().system(crm.clone()))
        .unwrap();
    let trail: Vec<(AuditAction, AuditOutcome, Option<CertificateName>)> = history
        .records
        .iter()
        .map(|record| (record.action, record.outcome, record.certificate))
        .collect();
    assert_eq!(
        trail,
        vec![
            (AuditAction::RemoveSystem, AuditOutcome::Removed, None),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[2].name())
            ),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[1].name())
            ),
            (
                AuditAction::Import,
                AuditOutcome::Added,
                Some(bundle[0].name())
            ),
            (AuditAction::CreateSystem, AuditOutcome::Created, None),
        ]
    );
    assert_eq!(history.records[0].detail, "with 3 certificate(s)");
    assert!(history.records.iter().all(|record| record.actor == "alice"));
    "a bundle refused by a trigger and a delete of nothing left no record; the bundle imported later left one per certificate".to_string()
}

/// Four writers on two replicas (as two processes would be) make 200 changes at once: each
/// replica's `history` has every record, whole, and each writer's in the order it made them.
fn audit_records_of_concurrent_replicas_are_all_there(server: &Server) -> String {
    let schema = fresh_schema("audit_concurrent");
    let (a, b) = (
        connect_registry(server, &schema),
        connect_registry(server, &schema),
    );
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (index, registry) in [&a, &b, &a, &b].into_iter().enumerate() {
            scope.spawn(move || {
                let registry = registry.acting_as(format!("writer-{index}"));
                for round in 0..25 {
                    let system = system_name(&format!("w{index}-{round}"));
                    registry
                        .create_system(&system, SystemKind::Target, OffsetDateTime::now_utc())
                        .unwrap();
                    registry.remove_system(&system, false).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    for replica in [&a, &b] {
        let history = replica.history(&HistoryQuery::new()).unwrap();
        assert!(history.damaged.is_empty(), "{:?}", history.damaged);
        assert_eq!(history.records.len(), 200);
        for index in 0..4 {
            let actor = format!("writer-{index}");
            let own: Vec<(AuditAction, String)> = history
                .records
                .iter()
                .filter(|record| record.actor == actor)
                .map(|record| (record.action, record.system.as_ref().unwrap().to_string()))
                .collect();
            let expected: Vec<(AuditAction, String)> = (0..25)
                .rev()
                .flat_map(|round| {
                    let system = format!("w{index}-{round}");
                    [
                        (AuditAction::RemoveSystem, system.clone()),
                        (AuditAction::CreateSystem, system),
                    ]
                })
                .collect();
            assert_eq!(own, expected);
        }
        // Newest first is the order the changes were made in.
        let times: Vec<OffsetDateTime> = history.records.iter().map(|r| r.time).collect();
        assert!(times.windows(2).all(|pair| pair[0] >= pair[1]));
    }
    format!("4 writers on 2 replicas, 200 system changes in {elapsed:?}; both replicas read all 200 records, each writer's in order")
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
    let mut tests: Vec<(&str, Test)> = vec![
        (
            "mtls_server_serves_a_postgres_registry",
            mtls_server_serves_a_postgres_registry,
        ),
        ("conformance_suite", conformance_suite),
        (
            "a_change_on_one_replica_is_seen_by_the_other",
            a_change_on_one_replica_is_seen_by_the_other,
        ),
        (
            "a_missed_notification_heals_with_the_periodic_resync",
            a_missed_notification_heals_with_the_periodic_resync,
        ),
        (
            "any_change_without_notification_heals",
            any_change_without_notification_heals,
        ),
        ("an_older_schema_is_upgraded", an_older_schema_is_upgraded),
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
        (
            "tls_verify_full_authenticates_the_server",
            tls_verify_full_authenticates_the_server,
        ),
        (
            "tls_with_another_ca_is_refused",
            tls_with_another_ca_is_refused,
        ),
        (
            "tls_verify_full_checks_the_host_name",
            tls_verify_full_checks_the_host_name,
        ),
        (
            "tls_modes_without_verification",
            tls_modes_without_verification,
        ),
        (
            "tls_scram_uses_channel_binding",
            tls_scram_uses_channel_binding,
        ),
        (
            "a_commit_whose_connection_broke_reports_the_truth",
            a_commit_whose_connection_broke_reports_the_truth,
        ),
        (
            "an_unchanged_store_resyncs_cheaply",
            an_unchanged_store_resyncs_cheaply,
        ),
        ("registry_conformance_suite", registry_conformance_suite),
        (
            "systems_on_one_replica_are_seen_by_the_other",
            systems_on_one_replica_are_seen_by_the_other,
        ),
        (
            "tables_of_the_version_before_registries_are_upgraded",
            tables_of_the_version_before_registries_are_upgraded,
        ),
        (
            "registry_rows_by_hand_are_healed_and_reported",
            registry_rows_by_hand_are_healed_and_reported,
        ),
        (
            "a_verifier_over_a_postgres_registry_follows_other_replicas",
            a_verifier_over_a_postgres_registry_follows_other_replicas,
        ),
        (
            "a_postgres_registry_keeps_its_audit_trail_in_the_database",
            a_postgres_registry_keeps_its_audit_trail_in_the_database,
        ),
        (
            "a_change_refused_inside_the_database_leaves_no_record",
            a_change_refused_inside_the_database_leaves_no_record,
        ),
        (
            "audit_records_of_concurrent_replicas_are_all_there",
            audit_records_of_concurrent_replicas_are_all_there,
        ),
    ];
    #[cfg(feature = "admin")]
    tests.push((
        "the_admin_console_on_a_postgres_registry",
        the_admin_console_on_a_postgres_registry,
    ));
    // One server for every test, started by the first that runs (none for `--list`), and
    // stopped when the last trial is done with it.
    let server: Arc<std::sync::OnceLock<Server>> = Arc::new(std::sync::OnceLock::new());
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            let server = Arc::clone(&server);
            libtest_mimic::Trial::test(name, move || {
                let detail = test(server.get_or_init(Server::start));
                println!("{name}: {detail}");
                Ok(())
            })
        })
        .collect();
    let mut options = libtest_mimic::Arguments::from_args();
    // One at a time: the tests share the server, and some restart it.
    options.test_threads = Some(1);
    let conclusion = libtest_mimic::run(&options, trials);
    drop(
        Arc::try_unwrap(server)
            .ok()
            .and_then(std::sync::OnceLock::into_inner),
    );
    conclusion.exit_code()
}
