//! Logins and sessions through `tower::ServiceExt::oneshot`: token guesses throttled, logged
//! and audited, weak tokens refused, sessions per administrator, several session cookies,
//! `__Host-` cookies and HSTS over HTTPS, and the `Origin` check by scheme, host and port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;

use admin_common::{console, send, Browser, NOW};
use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use inbound_certs::admin::{self, AdminConfig, AdminConfigError};
use inbound_certs::Registry;

/// Posts the login form with these headers; the status.
async fn login_with(app: &axum::Router, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = axum::http::Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = format!("token={}", admin_common::TOKEN);
    send(app, request.body(Body::from(body)).unwrap())
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_is_compared_by_scheme_host_and_port() {
    let app = console(Registry::in_memory().with_clock(|| NOW));
    let host = ("host", "console.example:8080");
    for (origin, expected) in [
        ("http://console.example:8080", StatusCode::SEE_OTHER),
        ("HTTP://Console.Example:8080/", StatusCode::SEE_OTHER),
        ("x://console.example:8080", StatusCode::FORBIDDEN),
        ("https://console.example:8080", StatusCode::FORBIDDEN),
        ("http://console.example", StatusCode::FORBIDDEN),
        ("http://console.example:8081", StatusCode::FORBIDDEN),
        ("http://evil.example:8080", StatusCode::FORBIDDEN),
        ("null", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            login_with(&app, &[host, ("origin", origin)]).await,
            expected,
            "{origin}"
        );
    }
    // Over HTTPS, the port defaults to 443.
    let https = admin::router(
        Registry::in_memory().with_clock(|| NOW),
        AdminConfig::new("alice", admin_common::TOKEN)
            .unwrap()
            .over_https(true),
    );
    let host = ("host", "console.example");
    assert_eq!(
        login_with(&https, &[host, ("origin", "https://console.example:443")]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        login_with(&https, &[host, ("origin", "http://console.example")]).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_public_origin_stops_dns_rebinding() {
    let config = AdminConfig::new("alice", admin_common::TOKEN)
        .unwrap()
        .public_origin("https://console.example:8443")
        .unwrap();
    let app = admin::router(Registry::in_memory().with_clock(|| NOW), config);
    // A rebinding page: its Host and Origin agree, and neither is the console's.
    let rebound = [("host", "evil.example"), ("origin", "http://evil.example")];
    assert_eq!(login_with(&app, &rebound).await, StatusCode::FORBIDDEN);
    // Behind a proxy the Host may be anything: the Origin is what counts.
    let proxied = [
        ("host", "127.0.0.1:8080"),
        ("origin", "https://console.example:8443"),
    ];
    assert_eq!(login_with(&app, &proxied).await, StatusCode::SEE_OTHER);

    for bad in [
        "console.example",
        "ftp://console.example",
        "https://",
        "https://host/path",
        "https://host:99999",
    ] {
        assert!(
            matches!(
                AdminConfig::new("alice", admin_common::TOKEN)
                    .unwrap()
                    .public_origin(bad),
                Err(AdminConfigError::InvalidOrigin(_))
            ),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_session_cookies_only_a_single_live_session_counts() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let config = AdminConfig::new("alice", admin_common::TOKEN)
        .unwrap()
        .admin("bob", BOB_TOKEN)
        .unwrap();
    let mut alice = Browser::new(admin::router(registry, config));
    alice.login("").await;
    let real = alice.cookie.clone().unwrap();
    // A cookie with a narrower path comes first: it does not shadow the real one.
    alice.cookie = Some(format!("inbound_certs_session=planted; {real}"));
    assert_eq!(alice.get("/").await.status, StatusCode::OK);
    // Two live sessions (the attacker's own, planted, and the victim's): neither is used.
    let mut bob = Browser::new(alice.app.clone());
    let reply = bob.post_form("/login", &[("token", BOB_TOKEN)]).await;
    let planted = reply
        .header(header::SET_COOKIE)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    alice.cookie = Some(format!("{planted}; {real}"));
    let reply = alice.get("/").await;
    assert_eq!(admin_common::location(&reply), "/login");
    bob.cookie = Some(planted);
    assert_eq!(bob.get("/").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_cookie_is_host_prefixed_and_hsts_is_sent() {
    let config = AdminConfig::new("alice", admin_common::TOKEN)
        .unwrap()
        .over_https(true);
    let console = admin::router(Registry::in_memory().with_clock(|| NOW), config);
    let app = axum::Router::new().nest("/admin", console);
    let mut browser = Browser::new(app);
    let reply = browser.login("/admin").await;
    let cookie = reply.header(header::SET_COOKIE).unwrap();
    assert!(
        cookie.starts_with("__Host-inbound_certs_session="),
        "{cookie}"
    );
    for part in ["; Path=/;", "; Secure", "; HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(
        reply.header(header::STRICT_TRANSPORT_SECURITY),
        Some("max-age=31536000")
    );
    let page = browser.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    // The unprefixed name is not read over HTTPS (a page in clear text could have set it).
    let value = browser.cookie.clone().unwrap();
    browser.cookie = Some(value.replacen("__Host-", "", 1));
    assert_eq!(
        admin_common::location(&browser.get("/admin").await),
        "/admin/login"
    );

    // Over plain HTTP, no HSTS.
    let plain = Browser::new(console_plain());
    assert_eq!(
        plain
            .get("/login")
            .await
            .header(header::STRICT_TRANSPORT_SECURITY),
        None
    );
}

fn console_plain() -> axum::Router {
    console(Registry::in_memory().with_clock(|| NOW))
}

/// The token of a second administrator, `bob`.
const BOB_TOKEN: &str = "bob-token-fedcba9876543210";

/// A login (form or API) from `client`, at the registry's current time.
fn from(client: [u8; 4], mut request: axum::http::Request<Body>) -> axum::http::Request<Body> {
    let address = std::net::SocketAddr::from((client, 40000));
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(address));
    request
}

fn login_form(token: &str) -> axum::http::Request<Body> {
    axum::http::Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "token={}",
            admin_common::urlencode(token)
        )))
        .unwrap()
}

fn api_with(token: &str) -> axum::http::Request<Body> {
    axum::http::Request::get("/api/systems")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guesses_are_throttled_per_client_and_overall_logged_and_audited() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Arc, Mutex};

    let seconds = Arc::new(AtomicI64::new(0));
    let clock = Arc::clone(&seconds);
    let registry = Registry::in_memory()
        .with_clock(move || NOW + time::Duration::seconds(clock.load(Ordering::SeqCst)));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&lines);
    let config = AdminConfig::new("alice", admin_common::TOKEN)
        .unwrap()
        .login_log(move |line| log.lock().unwrap().push(line.to_owned()));
    let app = admin::router(registry, config);
    let wrong = "not-the-token-0123456789";
    let attacker = [192, 0, 2, 1];

    // Five guesses, then 429 whatever the token, with the time to wait.
    for _ in 0..5 {
        let reply = send(&app, from(attacker, login_form(wrong))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    for token in [wrong, admin_common::TOKEN] {
        let reply = send(&app, from(attacker, login_form(token))).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            reply.text()
        );
        assert_eq!(reply.header(header::RETRY_AFTER), Some("10"));
    }
    // The API's bearer tokens are the same guesses.
    let reply = send(&app, from(attacker, api_with(wrong))).await;
    assert_eq!(
        reply.error(StatusCode::TOO_MANY_REQUESTS),
        "too_many_attempts"
    );
    assert_eq!(reply.header(header::RETRY_AFTER), Some("10"));
    // Another client is not held back, and a right token costs nothing.
    let colleague = [198, 51, 100, 7];
    for _ in 0..10 {
        let reply = send(&app, from(colleague, login_form(admin_common::TOKEN))).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
    }
    // After the interval, one more guess.
    seconds.store(10, Ordering::SeqCst);
    assert_eq!(
        send(&app, from(attacker, login_form(admin_common::TOKEN)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    // Each refused token: one line, the client quoted, never the token; one audit record.
    let logged = lines.lock().unwrap().clone();
    assert_eq!(logged.len(), 5, "{logged:?}");
    for line in &logged {
        assert!(
            line.starts_with("refused console login from \"192.0.2.1:40000\": "),
            "{line}"
        );
        assert!(!line.contains(wrong), "{line}");
    }
    let history = send(
        &app,
        admin_common::api(Method::GET, "/api/history?limit=1000", Body::empty()),
    )
    .await
    .json();
    let refused: Vec<_> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["action"] == "login")
        .collect();
    assert_eq!(refused.len(), 5, "{history}");
    for record in refused {
        assert_eq!(record["outcome"], "refused");
        assert_eq!(record["actor"], "192.0.2.1:40000");
        assert!(!record["detail"].as_str().unwrap().is_empty());
    }

    // Many clients together: 30 guesses, then 429 for everyone, new clients included.
    seconds.store(1000, Ordering::SeqCst);
    let mut refused = 0;
    for last in 0..40u8 {
        let reply = send(&app, from([203, 0, 113, last], login_form(wrong))).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(refused, 10);
}

#[test]
fn tokens_with_too_little_entropy_are_refused() {
    for (token, why) in [
        ("                ", "is blank"),
        ("aaaaaaaaaaaaaaaa", "is made of 1 different characters"),
        ("abababababababababab", "is made of 2 different characters"),
        (
            " a-long-random-token-0123",
            "begins or ends with white space",
        ),
        (
            "a-long-random-token-0123\t",
            "begins or ends with white space",
        ),
        ("a-long-random\u{7}token-0123", "holds control characters"),
    ] {
        let error = AdminConfig::new("alice", token).unwrap_err();
        assert!(
            matches!(&error, AdminConfigError::TokenTooWeak { admin, .. } if admin == "alice"),
            "{token:?}: {error:?}"
        );
        assert!(error.to_string().contains(why), "{token:?}: {error}");
    }
    assert!(AdminConfig::new("alice", admin::generate_token().unwrap()).is_ok());
    assert!(AdminConfig::new("alice", "abcde-abcde-abcde").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_logins_end_only_their_own_oldest_sessions() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    // A second passes between logins: bob's session is the oldest of all.
    let seconds = Arc::new(AtomicI64::new(0));
    let clock = Arc::clone(&seconds);
    let registry = Registry::in_memory()
        .with_clock(move || NOW + time::Duration::seconds(clock.load(Ordering::SeqCst)));
    let config = AdminConfig::new("alice", admin_common::TOKEN)
        .unwrap()
        .admin("bob", BOB_TOKEN)
        .unwrap();
    let app = admin::router(registry, config);
    let mut bob = Browser::new(app.clone());
    let reply = bob.post_form("/login", &[("token", BOB_TOKEN)]).await;
    bob.cookie = Some(
        reply
            .header(header::SET_COOKIE)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    );
    seconds.fetch_add(1, Ordering::SeqCst);
    let mut first = Browser::new(app.clone());
    first.login("").await;
    let mut latest = Browser::new(app.clone());
    // As many logins as the attacker made.
    for _ in 0..10_010 {
        seconds.fetch_add(1, Ordering::SeqCst);
        latest.login("").await;
    }
    assert_eq!(
        bob.get("/").await.status,
        StatusCode::OK,
        "bob's session survives"
    );
    assert_eq!(latest.get("/").await.status, StatusCode::OK);
    assert_eq!(
        admin_common::location(&first.get("/").await),
        "/login",
        "alice's oldest session went"
    );
}
