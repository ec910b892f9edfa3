//! The database away: a server restart (reads go on from memory, writes fail and then
//! recover), and a connection that breaks at `COMMIT`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use inbound_certs::{
    backend::{PostgresOptions, PostgresStore},
    Certificate, CertificateStore, ImportOutcome, StoreError, SystemKind,
};

use crate::proxy::{Break, Proxy};
use crate::server::Server;
use crate::support::{
    certificates, connect, connect_with, fresh_schema, names, policy, report, within,
};

pub(crate) fn a_server_restart_keeps_reads_going_and_recovers(server: &Server) -> String {
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

pub(crate) fn a_commit_whose_connection_broke_reports_the_truth(server: &Server) -> String {
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
        matches!(outcome, Ok(ImportOutcome::Added(_))),
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
