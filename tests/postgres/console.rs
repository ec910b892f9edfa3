//! The administration console on a registry in PostgreSQL.

use crate::admin_common;
use crate::server::Server;
use crate::support::{connect_registry, fresh_schema};

/// The console's API suite (tests/common/admin.rs) on a registry in PostgreSQL, and 503 with
/// the database's error while the database is down.
pub(crate) fn the_admin_console_on_a_postgres_registry(server: &Server) -> String {
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
