//! A `PostgresStore` on its own: a bundle is one transaction, damaged rows are reported, bad
//! settings are clear errors, schemas are independent.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use inbound_certs::{
    backend::{PostgresOptions, PostgresStore},
    store::EntryDamage,
    Certificate, CertificateStore, ImportOutcome, StoreError, SystemKind,
};

use crate::server::{free_port, Server};
use crate::support::{certificates, connect, fresh_schema, names, policy, report};

pub(crate) fn a_bundle_is_one_transaction(server: &Server) -> String {
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
        .all(|outcome| matches!(outcome, ImportOutcome::Added(_))));
    let again = b.import_all(&bundle, &policy()).unwrap();
    assert!(again
        .iter()
        .all(|outcome| matches!(outcome, ImportOutcome::AlreadyPresent(_))));
    "a bundle refused at its third certificate left nothing; imported again whole".to_string()
}

pub(crate) fn damaged_rows_are_reported_and_never_hide_the_others(server: &Server) -> String {
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
        EntryDamage::FingerprintMismatch {
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
        .any(|damaged| matches!(damaged.problem, EntryDamage::NotACertificate(_))));
    match fresh.get(&other.name()) {
        Err(StoreError::Damaged(damaged)) => assert_eq!(&damaged, mismatch),
        other => panic!("{other:?}"),
    }
    // A damaged row can be deleted like any other.
    fresh.delete(&other.name()).unwrap();
    assert_eq!(fresh.list().unwrap().damaged.len(), 1);
    "2 damaged rows reported beside 2 healthy ones; the damaged one is deletable".to_string()
}

pub(crate) fn unusable_databases_and_settings_are_clear_errors(server: &Server) -> String {
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

pub(crate) fn schemas_are_independent(server: &Server) -> String {
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
