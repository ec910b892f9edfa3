//! The administration console through `tower::ServiceExt::oneshot`: every API route and
//! error on a registry in memory and in a directory (PostgreSQL: tests/postgres.rs), and the
//! pages' flows: login, sessions, CSRF, `Origin`, escaping, mounting under a prefix.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/admin.rs"]
mod admin_common;
mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use admin_common::{
    client_certificate, console, data, location, name_of, send, Browser, NOW, TOKEN,
};
use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::Router;
use inbound_certs::admin::{self, AdminConfig, AdminConfigError};
use inbound_certs::{CertificateStore, Registry, SystemKind};
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_a_registry_in_memory() {
    admin_common::api_suite(Registry::in_memory().with_clock(|| NOW)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_a_registry_in_a_directory() {
    let scratch = common::Scratch::new("admin-api");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    admin_common::api_suite(registry).await;
}

/// A change whose audit record cannot be written is not made: 503 `not_audited`, retry later
/// (not a 500: nothing is broken in the request or the console), and the API imports again
/// once the trail can be written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_trail_cannot_record_is_503_not_audited() {
    let scratch = common::Scratch::new("admin-not-audited");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let app = console(registry);
    let trail = scratch.path().join("audit/audit.jsonl");
    let kept = scratch.path().join("kept.jsonl");
    std::fs::rename(&trail, &kept).unwrap();
    std::fs::create_dir(&trail).unwrap();
    let certificate = client_certificate("not-audited.example", 90);
    let import = || {
        admin_common::api(
            Method::POST,
            "/api/systems/crm/certificates",
            certificate.clone(),
        )
    };
    let reply = send(&app, import()).await;
    assert_eq!(reply.error(StatusCode::SERVICE_UNAVAILABLE), "not_audited");
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with(
            "the change was not made, because its audit record could not be written: cannot "
        ),
        "{message}"
    );
    let listed = send(
        &app,
        admin_common::api(Method::GET, "/api/systems/crm/certificates", Body::empty()),
    )
    .await;
    assert_eq!(listed.json()["certificates"].as_array().unwrap().len(), 0);
    std::fs::remove_dir(&trail).unwrap();
    std::fs::rename(&kept, &trail).unwrap();
    assert_eq!(send(&app, import()).await.status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_prometheus_text() {
    let app = console(Registry::in_memory().with_clock(|| NOW));
    let request = admin_common::api(Method::GET, "/metrics", Body::empty());
    let reply = send(&app, request).await;
    assert_eq!(
        reply.error(StatusCode::NOT_FOUND),
        "not_found",
        "no handle, no /metrics"
    );

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    let registry = Registry::in_memory().with_clock(|| NOW);
    let app = admin::router(
        registry,
        AdminConfig::new("alice", TOKEN).unwrap().metrics(handle),
    );
    let create = admin_common::api_json(
        Method::POST,
        "/api/systems",
        serde_json::json!({"name": "crm", "kind": "source"}),
    );
    assert_eq!(send(&app, create).await.status, StatusCode::CREATED);
    let import = admin_common::api(
        Method::POST,
        "/api/systems/crm/certificates",
        data("key_ec_sec1.pem"),
    );
    assert_eq!(send(&app, import).await.status, StatusCode::BAD_REQUEST);
    let reply = send(
        &app,
        admin_common::api(Method::GET, "/metrics", Body::empty()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header(header::CONTENT_TYPE)
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        reply
            .text()
            .contains("inbound_certs_refusals_total{reason=\"private_key\"} 1"),
        "{}",
        reply.text()
    );
}

#[test]
fn tokens_are_checked_when_the_console_is_configured() {
    assert!(matches!(
        AdminConfig::new("alice", "short"),
        Err(AdminConfigError::TokenTooShort { chars: 5, .. })
    ));
    assert!(matches!(
        AdminConfig::new("", TOKEN),
        Err(AdminConfigError::InvalidName(_))
    ));
    assert!(matches!(
        AdminConfig::new("alice", TOKEN)
            .unwrap()
            .admin("bob", TOKEN),
        Err(AdminConfigError::Duplicate(_))
    ));
    let token = admin::generate_token().unwrap();
    assert_eq!(token.len(), 64);
    assert_ne!(token, admin::generate_token().unwrap());
    // The tokens never show in debug output.
    let config = AdminConfig::new("alice", TOKEN).unwrap();
    assert!(!format!("{config:?}").contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_forms_a_csrf_token() {
    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = Arc::clone(&offset);
    let registry = Registry::in_memory()
        .with_clock(move || NOW + Duration::seconds(clock_offset.load(Ordering::SeqCst)));
    let mut browser = Browser::new(console(registry.clone()));

    // Without a session: sent to the login page; the login page and its style need none.
    for path in ["/", "/systems/crm", "/activity"] {
        assert_eq!(location(&browser.get(path).await), "/login", "{path}");
    }
    let reply = browser
        .post_form("/systems", &[("name", "crm"), ("kind", "source")])
        .await;
    assert_eq!(location(&reply), "/login");
    assert!(registry.systems().unwrap().systems.is_empty());
    let login = browser.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("name=\"token\""));
    let css = browser.get("/assets/console.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css
        .header(header::CONTENT_TYPE)
        .unwrap()
        .starts_with("text/css"));

    // A wrong token; then the right one, and its cookie.
    let reply = browser
        .post_form("/login", &[("token", "not-the-token-at-all-0000")])
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.header(header::SET_COOKIE).is_none());
    let reply = browser.login("").await;
    assert_eq!(location(&reply), "/");
    let cookie = reply.header(header::SET_COOKIE).unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not over HTTPS: {cookie}");

    // State changes need the session's CSRF token, and no foreign Origin.
    let csrf = browser.csrf("/").await;
    let reply = browser
        .post_form("/systems", &[("name", "crm"), ("kind", "source")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = browser
        .post_form(
            "/systems",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("name", "crm"),
                ("kind", "source"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let foreign = browser
        .request(Method::POST, "/systems")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .header(header::HOST, "console.example")
        .body(Body::from(format!("csrf={csrf}&name=crm&kind=source")))
        .unwrap();
    assert_eq!(
        send(&browser.app, foreign).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        registry.systems().unwrap().systems.is_empty(),
        "a refused form changed something"
    );
    let same_site = browser
        .request(Method::POST, "/systems")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://console.example")
        .header(header::HOST, "console.example")
        .body(Body::from(format!("csrf={csrf}&name=crm&kind=source")))
        .unwrap();
    let reply = send(&browser.app, same_site).await;
    assert_eq!(location(&reply), "/systems/crm");
    let page = browser.get("/systems/crm").await;
    assert!(
        page.text().contains("Added the source system crm"),
        "{}",
        page.text()
    );
    assert_eq!(
        registry.system(&"crm".parse().unwrap()).unwrap().kind(),
        SystemKind::Source
    );
    // The flash is shown once.
    assert!(!browser
        .get("/systems/crm")
        .await
        .text()
        .contains("Added the source system"));

    // Import through the form; the refusal of a key in the decoder's words.
    let certificate = client_certificate("<script>alert(1)</script>", 200);
    let reply = browser
        .post_multipart(
            "/systems/crm/import",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("client.pem"), certificate.as_bytes()),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/systems/crm");
    let page = browser.get("/systems/crm").await.text();
    assert!(page.contains("Imported 1 certificate"), "{page}");
    // The outcome names the certificate and its subject.
    assert!(
        page.contains(&format!(
            "imported: {} (O=Console Tests,CN=",
            name_of(&certificate)
        )),
        "{page}"
    );
    let fingerprint = &name_of(&certificate)["cert_client_".len()..];
    assert!(page.contains(&format!("data-fingerprint=\"{fingerprint}\"")));
    // The same upload again adds nothing, and the heading does not say it imported.
    let reply = browser
        .post_multipart(
            "/systems/crm/import",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("client.pem"), certificate.as_bytes()),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/systems/crm");
    let again = browser.get("/systems/crm").await.text();
    assert!(
        again.contains("Nothing new: 1 certificate already present"),
        "{again}"
    );
    assert!(!again.contains("Imported 1 certificate"), "{again}");
    // The add-system form asks for what the server accepts, and says the rule.
    let systems = browser.get("/").await.text();
    assert!(
        systems.contains("pattern=\"[a-z0-9][a-z0-9._\\-]*\"")
            && systems.contains("title=\"1 to 64 lower-case letters"),
        "{systems}"
    );
    // RFC 4514 escapes < and > with a backslash; HTML escaping comes on top.
    assert!(
        page.contains("CN=\\&lt;script\\&gt;alert(1)\\&lt;/script\\&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "a subject was not escaped");
    let reply = browser
        .post_multipart(
            "/systems/crm/import",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("key.pem"), &data("key_pkcs8.pem")),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/systems/crm");
    let page = browser.get("/systems/crm").await.text();
    assert!(page.contains("Nothing was imported"), "{page}");
    assert!(page.contains("private key"), "{page}");
    let crm = registry.store(&"crm".parse().unwrap()).unwrap();
    assert_eq!(crm.list().unwrap().certificates.len(), 1);
    // An import form without the CSRF token changes nothing.
    let reply = browser
        .post_multipart(
            "/systems/crm/import",
            &[(
                "file",
                Some("other.pem"),
                client_certificate("other", 50).as_bytes(),
            )],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(crm.list().unwrap().certificates.len(), 1);

    // The details, escaped; a GET of the delete path only asks.
    let name = name_of(&certificate);
    let details = browser
        .get(&format!("/systems/crm/certificates/{name}"))
        .await
        .text();
    assert!(details.contains("alert(1)\\&lt;/script\\&gt;") && !details.contains("<script>"));
    assert!(details.contains("by alice"), "imported by: {details}");
    let confirm = browser
        .get(&format!("/systems/crm/certificates/{name}/delete"))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text().contains("Delete this certificate?"));
    assert_eq!(crm.list().unwrap().certificates.len(), 1, "a GET deleted");
    let reply = browser
        .post_form(&format!("/systems/crm/certificates/{name}/delete"), &[])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = browser
        .post_form(
            &format!("/systems/crm/certificates/{name}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&reply), "/systems/crm");
    assert!(crm.list().unwrap().certificates.is_empty());

    // The activity page shows who did it.
    let activity = browser.get("/activity").await.text();
    assert!(
        activity.contains("alice") && activity.contains("delete"),
        "{activity}"
    );

    // Logging out needs the token too, and ends the session.
    assert_eq!(
        browser.post_form("/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let reply = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(location(&reply), "/login");
    assert!(reply
        .header(header::SET_COOKIE)
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(location(&browser.get("/").await), "/login");

    // Sessions expire.
    browser.login("").await;
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    offset.store(8 * 3600 + 1, Ordering::SeqCst);
    assert_eq!(location(&browser.get("/").await), "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_mounted_under_a_prefix_links_and_redirects_under_it() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let app = Router::new().nest(
        "/admin",
        admin::router(
            registry,
            AdminConfig::new("alice", TOKEN).unwrap().over_https(true),
        ),
    );
    let mut browser = Browser::new(app);
    assert_eq!(location(&browser.get("/admin").await), "/admin/login");
    let reply = browser.login("/admin").await;
    assert_eq!(location(&reply), "/admin");
    let cookie = reply.header(header::SET_COOKIE).unwrap();
    // Over HTTPS the cookie is `__Host-` prefixed, which demands `Path=/`.
    assert!(
        cookie.contains("; Path=/;") && cookie.contains("; Secure"),
        "{cookie}"
    );
    let page = browser.get("/admin").await.text();
    assert!(
        page.contains("href=\"/admin/assets/console.css\""),
        "{page}"
    );
    assert!(page.contains("action=\"/admin/systems\""));
    let reply = browser.get("/admin/api/systems").await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "the API takes the token, not the cookie"
    );
    let request = admin_common::api(Method::GET, "/admin/api/systems", Body::empty());
    assert_eq!(send(&browser.app, request).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_expired_and_system_removal_through_the_pages() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let system = registry
        .create_system(&"gateway".parse().unwrap(), SystemKind::Proxy, NOW)
        .unwrap();
    let store = registry.store(system.name()).unwrap();
    let policy = inbound_certs::ImportPolicy::new(NOW).allow_expired(true);
    store.import_upload(&data("expired.pem"), &policy).unwrap();
    store
        .import_upload(client_certificate("ok.example", 90).as_bytes(), &policy)
        .unwrap();
    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;
    let overview = browser.get("/").await.text();
    assert!(overview.contains("badge expired"), "{overview}");
    let page = browser.get("/systems/gateway").await.text();
    assert!(page.contains("Delete expired (1)"), "{page}");
    let confirm = browser.get("/systems/gateway/purge-expired").await.text();
    assert!(confirm.contains("expired.client.example"), "{confirm}");
    assert_eq!(store.list().unwrap().certificates.len(), 2, "a GET purged");
    let csrf = browser.csrf("/systems/gateway").await;
    let reply = browser
        .post_form("/systems/gateway/purge-expired", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&reply), "/systems/gateway");
    assert!(browser
        .get("/systems/gateway")
        .await
        .text()
        .contains("Deleted 1 expired certificate"));
    assert_eq!(store.list().unwrap().certificates.len(), 1);
    // The activity page, of one system or of all.
    let other = registry.acting_as("bob");
    other
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let all = browser.get("/activity").await.text();
    assert!(
        all.contains("<td>crm</td>") && all.contains("<td>gateway</td>"),
        "{all}"
    );
    assert!(
        all.contains("<td>bob</td>") && all.contains("<td>alice</td>"),
        "{all}"
    );
    let one = browser.get("/activity?system=gateway").await.text();
    assert!(
        one.contains("<td>gateway</td>") && !one.contains("<td>crm</td>"),
        "{one}"
    );
    assert!(one.contains("<option value=\"gateway\" selected>"), "{one}");
    let none = browser.get("/activity?system=nowhere").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.text().contains("Nothing has happened yet."));
    other.remove_system(&"crm".parse().unwrap(), false).unwrap();

    // Not removed while it holds a certificate; removed once empty.
    let reply = browser
        .post_form("/systems/gateway/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&reply), "/systems/gateway");
    assert!(browser
        .get("/systems/gateway")
        .await
        .text()
        .contains("still holds 1 certificate"));
    let name = store.list().unwrap().certificates[0].name();
    store.delete(&name).unwrap();
    let reply = browser
        .post_form("/systems/gateway/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&reply), "/");
    assert!(registry.systems().unwrap().systems.is_empty());
    // Unknown pages and systems.
    assert_eq!(
        browser.get("/systems/gateway").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser.get("/nothing/here").await.status,
        StatusCode::NOT_FOUND
    );
}
