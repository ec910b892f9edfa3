//! The console's bounds on what it reads and keeps, through `tower::ServiceExt::oneshot`:
//! history pages, form bodies, flash messages and when they are set (logins, sessions and
//! origins: tests/admin/login.rs; serving itself: tests/admin/serve.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;

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

/// The flash message of a page (`<section ... id="flash">...</section>`).
fn flash_of(page: &str) -> &str {
    let start = page.find("id=\"flash\"").expect("a flash message");
    let end = page[start..].find("</section>").unwrap();
    &page[start..start + end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_messages_are_bounded() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let mut browser = Browser::new(console(registry));
    browser.login("").await;
    // A subject of 50,000 characters.
    let long = admin_common::client_certificate(&"x".repeat(50_000), 30);
    let csrf = browser.csrf("/systems/crm").await;
    let fields = [
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("long.pem"), long.as_bytes()),
    ];
    let reply = browser.post_multipart("/systems/crm/import", &fields).await;
    assert_eq!(admin_common::location(&reply), "/systems/crm");
    let page = browser.get("/systems/crm").await.text();
    let flash = flash_of(&page);
    assert!(flash.contains("Imported 1 certificate"), "{flash}");
    assert!(flash.len() < 1000, "{} bytes", flash.len());
    assert!(flash.contains("xxx…"), "{flash}");

    // Thirty certificates: twenty lines and the count of the rest.
    let bundle: String = (0..30)
        .map(|index| admin_common::client_certificate(&format!("client {index}"), 30))
        .collect();
    let csrf = browser.csrf("/systems/crm").await;
    let fields = [
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("bundle.pem"), bundle.as_bytes()),
    ];
    browser.post_multipart("/systems/crm/import", &fields).await;
    let page = browser.get("/systems/crm").await.text();
    let flash = flash_of(&page);
    assert_eq!(flash.matches("<li>").count(), 21, "{flash}");
    assert!(flash.contains("… and 10 more"), "{flash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_upload_without_the_csrf_token_leaves_no_flash() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let mut browser = Browser::new(console(registry));
    browser.login("").await;
    let big = vec![b'A'; (1 << 20) + 1];
    let csrf = browser.csrf("/systems/crm").await;
    for fields in [
        // Too large, no token.
        vec![("file", Some("big.pem"), &big[..])],
        // The file before the token.
        vec![
            ("file", Some("a.pem"), &b"junk"[..]),
            ("csrf", None, csrf.as_bytes()),
        ],
        // A wrong token.
        vec![
            ("csrf", None, &b"forged"[..]),
            ("file", Some("a.pem"), &b"junk"[..]),
        ],
    ] {
        let reply = browser.post_multipart("/systems/crm/import", &fields).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
        let page = browser.get("/systems/crm").await.text();
        assert!(!page.contains("id=\"flash\""), "{page}");
    }
    // Not multipart at all.
    let request = browser
        .request(Method::POST, "/systems/crm/import")
        .header("content-type", "multipart/form-data; boundary=nothing")
        .body(Body::from("garbage"))
        .unwrap();
    assert_eq!(
        send(&browser.app, request).await.status,
        StatusCode::FORBIDDEN
    );
    let page = browser.get("/systems/crm").await.text();
    assert!(!page.contains("id=\"flash\""), "{page}");

    // With the token first, a refusal is the session's next message.
    let fields = [
        ("csrf", None, csrf.as_bytes()),
        ("file", Some("big.pem"), &big[..]),
    ];
    let reply = browser.post_multipart("/systems/crm/import", &fields).await;
    assert_eq!(admin_common::location(&reply), "/systems/crm");
    let page = browser.get("/systems/crm").await.text();
    assert!(flash_of(&page).contains("Nothing was imported"), "{page}");
}
