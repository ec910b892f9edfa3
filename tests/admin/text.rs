//! The console shows certificate text safely and finds certificates by any spelling of their
//! name (issue 20, items 9 and 12): the details page shows control, bidirectional and
//! invisible characters as `\u{XXXX}`, the API's JSON holds the text as the certificate
//! does, and `cert_client_<UPPER-CASE hex>` reaches the certificate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;
use crate::hostile_text;

use admin_common::{api, console, send, Reply, NOW, TOKEN};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use inbound_certs::{CertificateStore, ImportPolicy, Registry, SystemKind};

/// A console over a registry whose system `crm` holds the hostile certificate; its name.
fn console_with_hostile_certificate() -> (Router, String) {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let system = registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let imported = registry
        .store(system.name())
        .unwrap()
        .import_upload(
            hostile_text::certificate().as_bytes(),
            &ImportPolicy::new(NOW),
        )
        .unwrap();
    let name = imported[0].name().to_string();
    (console(registry), name)
}

/// A session cookie of the suites' administrator.
async fn login(app: &Router) -> String {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={TOKEN}")))
        .unwrap();
    let reply = send(app, request).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let cookie = reply.header(header::SET_COOKIE).unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn page(app: &Router, cookie: &str, path: &str) -> Reply {
    let request = Request::builder()
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

/// What the page shows of `text`, HTML-escaped as the console escapes it.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_details_page_shows_control_and_bidirectional_characters_visibly() {
    let (app, name) = console_with_hostile_certificate();
    let cookie = login(&app).await;
    let reply = page(&app, &cookie, &format!("/systems/crm/certificates/{name}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = String::from_utf8(reply.body.clone()).unwrap();
    let raw = hostile_text::raw_characters(&body);
    assert!(
        raw.is_empty(),
        "the page holds {raw:?} as they are:\n{body}"
    );
    let shown: Vec<&str> = hostile_text::NAMES
        .iter()
        .map(|(_, _, shown)| *shown)
        .collect();
    assert!(
        body.contains(&format!("<dd id=\"sans\">{}</dd>", html(&shown.join(", ")))),
        "{body}"
    );
    let subject = format!("CN={}", hostile_text::COMMON_NAME_SHOWN);
    assert!(
        body.contains(&format!("<dd id=\"subject\">{}</dd>", html(&subject))),
        "{body}"
    );
    // The heading shows the common name alone, escaped by the same rule as the names.
    assert!(
        body.contains("<h1>evil\\u{202E}gpj.exe\\u{1B}[2J</h1>"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_json_holds_certificate_text_as_it_is() {
    let (app, name) = console_with_hostile_certificate();
    let reply = send(
        &app,
        api(
            Method::GET,
            &format!("/api/systems/crm/certificates/{name}"),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let json = reply.json();
    let names: Vec<&str> = json["subject_alt_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    let expected: Vec<String> = hostile_text::NAMES
        .iter()
        .map(|(_, raw, shown)| format!("{}{raw}", &shown[..shown.find(':').unwrap() + 1]))
        .collect();
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upper_case_names_reach_the_certificate_and_wrong_names_say_what_is_wrong() {
    let (app, name) = console_with_hostile_certificate();
    let upper = format!(
        "cert_client_{}",
        name["cert_client_".len()..].to_uppercase()
    );
    let reply = send(
        &app,
        api(
            Method::GET,
            &format!("/api/systems/crm/certificates/{upper}"),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["name"], name.as_str());

    let cookie = login(&app).await;
    let reply = page(&app, &cookie, &format!("/systems/crm/certificates/{upper}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains(&format!("<code id=\"name\">{name}</code>")),
        "{}",
        reply.text()
    );

    // A name with a wrong character: the position and what was expected, not a complaint
    // about the 'r' of 'cert'.
    let wrong = format!("{}x", &name[..name.len() - 1]);
    let reply = send(
        &app,
        api(
            Method::GET,
            &format!("/api/systems/crm/certificates/{wrong}"),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    assert_eq!(
        reply.json()["error"]["message"],
        format!(
            "invalid certificate name \"{wrong}\": expected a hex digit at position 75, found 'x'"
        )
    );
    let short = &name[..name.len() - 1];
    let reply = page(&app, &cookie, &format!("/systems/crm/certificates/{short}")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("expected 64 hex digits after &#39;cert_client_&#39;, found 63"),
        "{}",
        reply.text()
    );
}
