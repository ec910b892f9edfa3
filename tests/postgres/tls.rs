//! TLS to the database: verify-full authenticates the server (CA and host name), another CA is
//! refused, SCRAM binds to the channel, and the modes without verification do what they say.

use std::time::Duration;

use inbound_certs::{
    backend::{PostgresOptions, PostgresStore, PostgresTlsError},
    CertificateStore, StoreError, SystemKind,
};

use crate::server::Server;
use crate::support::{
    certificates, connect, fresh_schema, names, policy, provider, report, within,
};

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

pub(crate) fn tls_verify_full_authenticates_the_server(server: &Server) -> String {
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

pub(crate) fn tls_with_another_ca_is_refused(server: &Server) -> String {
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

pub(crate) fn tls_verify_full_checks_the_host_name(server: &Server) -> String {
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

pub(crate) fn tls_scram_uses_channel_binding(server: &Server) -> String {
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

pub(crate) fn tls_modes_without_verification(server: &Server) -> String {
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
