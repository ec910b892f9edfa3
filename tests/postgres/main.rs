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
//!
//! One test binary: this file holds the runner; the server is in `server.rs`, the helpers the
//! scenarios share in `support.rs`, and the scenarios in one module per concept. A scenario is
//! a `fn(&Server) -> String` (what it measured or showed, printed after its name), registered
//! in [`main`] by its path: its name is its function's name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "admin")]
#[path = "../common/admin.rs"]
mod admin_common;
#[path = "../common/mod.rs"]
mod common;

mod audit;
mod conformance;
#[cfg(feature = "admin")]
mod console;
mod examples;
mod outages;
mod permissions;
mod proxy;
mod replicas;
mod resync;
mod server;
mod store;
mod support;
mod tls;
mod upgrades;
mod usage;

use std::process::ExitCode;
use std::sync::Arc;

use server::Server;

/// A scenario: runs against the shared server, returns what it measured or showed.
type Test = fn(&Server) -> String;

/// The scenarios `module::function`, in the order given, each named by its function (so a name
/// cannot drift from what it runs); attributes such as `#[cfg(...)]` apply to the one after.
macro_rules! scenarios {
    ($($(#[$attribute:meta])* $module:ident::$function:ident),* $(,)?) => {
        vec![$($(#[$attribute])* (stringify!($function), $module::$function as Test)),*]
    };
}

fn main() -> ExitCode {
    let tests = scenarios![
        examples::mtls_server_serves_a_postgres_registry,
        conformance::conformance_suite,
        replicas::a_change_on_one_replica_is_seen_by_the_other,
        resync::a_missed_notification_heals_with_the_periodic_resync,
        resync::any_change_without_notification_heals,
        upgrades::an_older_schema_is_upgraded,
        store::a_bundle_is_one_transaction,
        replicas::concurrent_writers_on_two_replicas_lose_no_update,
        store::damaged_rows_are_reported_and_never_hide_the_others,
        outages::a_server_restart_keeps_reads_going_and_recovers,
        store::unusable_databases_and_settings_are_clear_errors,
        store::schemas_are_independent,
        examples::certstore_manages_a_postgres_store,
        tls::tls_verify_full_authenticates_the_server,
        tls::tls_with_another_ca_is_refused,
        tls::tls_verify_full_checks_the_host_name,
        tls::tls_modes_without_verification,
        tls::tls_scram_uses_channel_binding,
        outages::a_commit_whose_connection_broke_reports_the_truth,
        resync::an_unchanged_store_resyncs_cheaply,
        conformance::registry_conformance_suite,
        replicas::systems_on_one_replica_are_seen_by_the_other,
        upgrades::tables_of_the_version_before_registries_are_upgraded,
        resync::registry_rows_by_hand_are_healed_and_reported,
        replicas::a_verifier_over_a_postgres_registry_follows_other_replicas,
        replicas::a_monitor_follows_changes_made_on_another_replica,
        replicas::a_suspension_on_one_replica_is_seen_by_the_other,
        upgrades::a_registry_without_suspensions_is_upgraded,
        permissions::permissions_on_one_replica_are_seen_by_the_other,
        permissions::a_registry_without_permissions_is_upgraded,
        audit::a_postgres_registry_keeps_its_audit_trail_in_the_database,
        audit::a_change_refused_inside_the_database_leaves_no_record,
        audit::audit_records_of_concurrent_replicas_are_all_there,
        usage::last_uses_are_flushed_in_one_statement_and_seen_by_other_replicas,
        usage::a_flush_of_100000_last_uses_is_timed,
        #[cfg(feature = "admin")]
        console::the_admin_console_on_a_postgres_registry,
    ];
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
