//! The console's bounds on its clients, through `tower::ServiceExt::oneshot`: history pages,
//! login throttling, sessions per administrator, flash messages, the `Origin` check, session
//! cookies, form bodies (serving itself: tests/admin_serve.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/admin.rs"]
mod admin_common;

use admin_common::{console, send, Browser, NOW};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use inbound_certs::{Registry, SystemKind};

/// A registry whose trail holds `count` records (one system created each).
fn registry_with_records(count: usize) -> Registry {
    let registry = Registry::in_memory().with_clock(|| NOW);
    for index in 0..count {
        registry
            .create_system(
                &format!("system-{index}").parse().unwrap(),
                SystemKind::Source,
                NOW,
            )
            .unwrap();
    }
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_has_a_default_and_a_maximum_limit() {
    let app = console(registry_with_records(1005));
    let history = |query: &str| {
        admin_common::api(Method::GET, &format!("/api/history{query}"), Body::empty())
    };

    let reply = send(&app, history("")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json()["records"].as_array().unwrap().len(),
        50,
        "the default limit"
    );
    let reply = send(&app, history("?limit=1000")).await;
    assert_eq!(
        reply.json()["records"].as_array().unwrap().len(),
        1000,
        "the maximum"
    );
    let reply = send(&app, history("?limit=1001")).await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "malformed_request");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000"),
        "{}",
        reply.text()
    );

    let mut browser = Browser::new(app);
    browser.login("").await;
    let page = browser.get("/activity").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let rows = page.text().matches("<tr><td>").count();
    assert_eq!(rows, 50, "the activity page's default");
    let page = browser.get("/activity?limit=5000").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_have_a_small_body_limit() {
    let browser = Browser::new(console(Registry::in_memory().with_clock(|| NOW)));
    let padding = "x".repeat(1 << 20);
    let reply = browser
        .post_form(
            "/login",
            &[("token", admin_common::TOKEN), ("padding", &padding)],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    // The API's JSON bodies too.
    let big = serde_json::json!({"name": "crm", "kind": "source", "padding": padding});
    let reply = send(
        &browser.app,
        admin_common::api_json(Method::POST, "/api/systems", big),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
}
