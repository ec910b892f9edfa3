//! The administration console through `tower::ServiceExt::oneshot`: every API route and
//! error on a registry in memory and in a directory (PostgreSQL: tests/postgres.rs), and the
//! pages' flows: login, sessions, CSRF, `Origin`, escaping, mounting under a prefix.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;
use crate::common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use admin_common::{
    client_certificate, console, data, location, name_of, send, Browser, NOW, TOKEN,
};
use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::Router;
use inbound_certs::admin::{self, AdminConfig, AdminConfigError};
use inbound_certs::{decode, CertificateStore, Registry, SystemKind};
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
    // The recorder is global: other tests of this binary, running at the same time, may
    // count refusals of their own.
    let text = reply.text();
    let count: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("inbound_certs_refusals_total{reason=\"private_key\"} "))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no private_key refusals counted:\n{text}"));
    assert!(count >= 1, "{text}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_par_with_the_cli_in_memory() {
    admin_common::parity_suite(Registry::in_memory().with_clock(|| NOW)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_on_par_with_the_cli_in_a_directory() {
    let scratch = common::Scratch::new("admin-parity");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    admin_common::parity_suite(registry).await;
}

/// The flash message of the system page after an import through the form.
async fn import_through_the_form(
    browser: &Browser,
    system: &str,
    file: &[u8],
    checkboxes: &[&str],
) -> String {
    let csrf = browser.csrf(&format!("/systems/{system}")).await;
    let mut fields: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf", None, csrf.as_bytes())];
    for checkbox in checkboxes {
        fields.push((checkbox, None, b"true"));
    }
    fields.push(("file", Some("upload.pem"), file));
    let reply = browser
        .post_multipart(&format!("/systems/{system}/import"), &fields)
        .await;
    assert_eq!(location(&reply), format!("/systems/{system}"));
    let page = browser.get(&format!("/systems/{system}")).await.text();
    let start = page
        .find("id=\"flash\"")
        .unwrap_or_else(|| panic!("no flash: {page}"));
    let end = start + page[start..].find("</section>").unwrap();
    page[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_import_refusal_in_the_console_names_the_checkbox_that_allows_it() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let store = registry.store(&"crm".parse().unwrap()).unwrap();
    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;
    let form = browser.get("/systems/crm").await.text();
    for (id, name, label) in [
        (
            "allow-expired",
            "allow_expired",
            "allow expired certificates",
        ),
        (
            "allow-without-client-auth",
            "allow_without_client_auth",
            "allow certificates without clientAuth",
        ),
        ("allow-ca", "allow_ca", "allow CA certificates"),
    ] {
        assert!(
            form.contains(&format!(
                "<input type=\"checkbox\" name=\"{name}\" id=\"{id}\" value=\"true\"> {label}</label>"
            )),
            "{form}"
        );
    }
    for (file, library, hint, checkbox) in [
        (
            "expired.pem",
            "expired on 2021-01-01T00:00:00Z; it was not imported",
            "tick “allow expired certificates” to import it anyway",
            "allow_expired",
        ),
        (
            "server_only.pem",
            "is not valid for TLS client authentication (its extended key usage lacks clientAuth); it was not imported",
            "tick “allow certificates without clientAuth” to import it anyway",
            "allow_without_client_auth",
        ),
        (
            "ca.pem",
            "is a CA certificate (basicConstraints cA=TRUE); nothing was imported",
            "tick “allow CA certificates” to import it anyway",
            "allow_ca",
        ),
    ] {
        let flash = import_through_the_form(&browser, "crm", &data(file), &[]).await;
        assert!(flash.contains("Nothing was imported"), "{file}: {flash}");
        assert!(flash.contains(library), "{file}: the library's words: {flash}");
        assert!(flash.contains(&format!("<li>{hint}</li>")), "{file}: {flash}");
        // Another box does not allow it, its own does.
        let other = if checkbox == "allow_ca" { "allow_expired" } else { "allow_ca" };
        let flash = import_through_the_form(&browser, "crm", &data(file), &[other]).await;
        assert!(flash.contains(hint), "{file} with {other}: {flash}");
        let flash = import_through_the_form(&browser, "crm", &data(file), &[checkbox]).await;
        assert!(flash.contains("Imported 1 certificate"), "{file}: {flash}");
    }
    assert_eq!(store.list().unwrap().certificates.len(), 3);
    // A refusal no checkbox allows has no hint.
    let flash = import_through_the_form(&browser, "crm", &data("key_pkcs8.pem"), &[]).await;
    assert!(
        flash.contains("private key") && !flash.contains("tick"),
        "{flash}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_with_certificates_is_removed_through_a_confirmation_page() {
    use std::os::unix::fs::PermissionsExt;

    let scratch = common::Scratch::new("admin-remove");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    let gateway = "gateway".parse().unwrap();
    registry
        .create_system(&gateway, SystemKind::Proxy, NOW)
        .unwrap();
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let store = registry.store(&gateway).unwrap();
    let policy = inbound_certs::ImportPolicy::new(NOW).allow_expired(true);
    let kept = client_certificate("kept.gateway.example", 90);
    let broken = client_certificate("broken.gateway.example", 90);
    for upload in [
        data("expired.pem"),
        kept.clone().into_bytes(),
        broken.clone().into_bytes(),
    ] {
        store.import_upload(&upload, &policy).unwrap();
    }
    // One entry damaged: writable by others.
    let broken_file = scratch
        .path()
        .join(format!("systems/gateway/{}.der", name_of(&broken)));
    std::fs::set_permissions(&broken_file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;

    // The system page links to the confirmation, which lists what goes; the GET removes
    // nothing.
    let page = browser.get("/systems/gateway").await.text();
    assert!(
        page.contains("id=\"remove-system\" href=\"/systems/gateway/remove\""),
        "{page}"
    );
    let confirm = browser.get("/systems/gateway/remove").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
    let confirm = confirm.text();
    assert!(confirm.contains("Remove the system gateway?"), "{confirm}");
    for (pem, subject, expires) in [
        (
            String::from_utf8(data("expired.pem")).unwrap(),
            "CN=expired.client.example,O=Inbound Certs Tests,C=DE",
            "2021-01-01 00:00 UTC",
        ),
        (
            kept.clone(),
            "O=Console Tests,CN=kept.gateway.example",
            "2026-08-30 12:00 UTC",
        ),
    ] {
        let line = format!(
            "<li><span class=\"dn\">{subject}</span> <code>{}</code> (expires {expires})</li>",
            name_of(&pem)
        );
        assert!(confirm.contains(&line), "{line} not in {confirm}");
    }
    assert!(
        confirm.contains(&name_of(&broken)) && confirm.contains("badge damaged"),
        "{confirm}"
    );
    assert!(
        confirm.contains("Remove the system and its 3 certificates"),
        "{confirm}"
    );
    assert_eq!(
        registry.systems().unwrap().systems.len(),
        2,
        "a GET removed"
    );

    // Without the CSRF token: refused, nothing removed.
    let reply = browser
        .post_form(
            "/systems/gateway/remove",
            &[("with_certificates", "true"), ("holding", "3")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    // A form posted from another site: refused.
    let csrf = browser.csrf("/systems/gateway/remove").await;
    let foreign = browser
        .request(Method::POST, "/systems/gateway/remove")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::HOST, "console.example")
        .body(Body::from(format!(
            "csrf={csrf}&with_certificates=true&holding=3"
        )))
        .unwrap();
    assert_eq!(
        send(&browser.app, foreign).await.status,
        StatusCode::FORBIDDEN
    );
    // Without `with_certificates` (the empty system's form): refused as not empty.
    let reply = browser
        .post_form("/systems/gateway/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&reply), "/systems/gateway");
    assert!(browser
        .get("/systems/gateway")
        .await
        .text()
        .contains("still holds 3 certificate(s)"));
    // A certificate imported after the page was shown: nothing removed, the page says why.
    let late = client_certificate("late.gateway.example", 90);
    store.import_upload(late.as_bytes(), &policy).unwrap();
    let reply = browser
        .post_form(
            "/systems/gateway/remove",
            &[
                ("csrf", &csrf),
                ("with_certificates", "true"),
                ("holding", "3"),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/systems/gateway");
    let page = browser.get("/systems/gateway").await.text();
    assert!(
        page.contains("it holds 4 certificates now, not the 3 listed when you confirmed"),
        "{page}"
    );
    assert_eq!(registry.systems().unwrap().systems.len(), 2);

    // Confirmed: removed with its certificates, damaged entry included; the other system
    // stays, and no system trusts the certificates any more.
    let reply = browser
        .post_form(
            "/systems/gateway/remove",
            &[
                ("csrf", &csrf),
                ("with_certificates", "true"),
                ("holding", "4"),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/");
    let overview = browser.get("/").await.text();
    assert!(
        overview.contains("Removed the system gateway with its 3 certificates"),
        "{overview}"
    );
    let names: Vec<String> = registry
        .systems()
        .unwrap()
        .systems
        .iter()
        .map(|system| system.name().to_string())
        .collect();
    assert_eq!(names, ["crm"]);
    let fingerprint = decode(kept.as_bytes()).unwrap()[0].fingerprint();
    assert!(registry.identify(&fingerprint).unwrap().is_empty());
    assert!(!scratch.path().join("systems/gateway").exists());

    // An empty system: its page keeps the one-click form; its confirmation page works too.
    let page = browser.get("/systems/crm").await.text();
    assert!(
        page.contains("<button type=\"submit\" class=\"secondary\" id=\"remove-system\">"),
        "{page}"
    );
    let confirm = browser.get("/systems/crm/remove").await.text();
    assert!(confirm.contains("It holds no certificates."), "{confirm}");
    let reply = browser
        .post_form(
            "/systems/crm/remove",
            &[
                ("csrf", &csrf),
                ("with_certificates", "false"),
                ("holding", "0"),
            ],
        )
        .await;
    assert_eq!(location(&reply), "/");
    assert!(registry.systems().unwrap().systems.is_empty());
    assert_eq!(
        browser.get("/systems/crm/remove").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identify_page_says_which_systems_trust_a_file_or_a_fingerprint() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let policy = inbound_certs::ImportPolicy::new(NOW);
    let shared = client_certificate("shared.identify.example", 90);
    let stranger = client_certificate("stranger.identify.example", 90);
    for (name, kind) in [("crm", SystemKind::Source), ("gateway", SystemKind::Proxy)] {
        let name = name.parse().unwrap();
        registry.create_system(&name, kind, NOW).unwrap();
        registry
            .store(&name)
            .unwrap()
            .import_upload(shared.as_bytes(), &policy)
            .unwrap();
    }
    let mut browser = Browser::new(console(registry));
    browser.login("").await;
    let overview = browser.get("/").await.text();
    assert!(
        overview.contains("<a href=\"/identify\" id=\"nav-identify\">Identify</a>"),
        "{overview}"
    );
    let form = browser.get("/identify").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text().contains("id=\"identify-form\""),
        "{}",
        form.text()
    );
    let csrf = browser.csrf("/identify").await;
    let shared_name = name_of(&shared);
    let fingerprint = decode(shared.as_bytes()).unwrap()[0].fingerprint();

    // A file: each system that trusts it, with its kind, linked to the certificate there.
    let reply = browser
        .post_multipart(
            "/identify",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("shared.pem"), shared.as_bytes()),
                ("fingerprint", None, b""),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let text = reply.text();
    assert!(text.contains("CN=shared.identify.example"), "{text}");
    assert!(text.contains("Trusted by 2 systems:"), "{text}");
    for (system, kind) in [("crm", "source"), ("gateway", "proxy")] {
        let item = format!(
            "<li data-system=\"{system}\"><a href=\"/systems/{system}/certificates/{shared_name}\">{system}</a> ({kind})</li>"
        );
        assert!(text.contains(&item), "{item} not in {text}");
    }
    // A fingerprint in another spelling, as a browser sends the form with no file chosen.
    let typed = format!("SHA256 Fingerprint={}", fingerprint.to_colon_hex());
    let reply = browser
        .post_multipart(
            "/identify",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some(""), b""),
                ("fingerprint", None, typed.as_bytes()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply.text().contains("Trusted by 2 systems:"),
        "{}",
        reply.text()
    );
    assert!(reply.text().contains(&shared_name));
    // A certificate no system trusts.
    let reply = browser
        .post_multipart(
            "/identify",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("stranger.pem"), stranger.as_bytes()),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(
        reply.text().contains("No system trusts this certificate."),
        "{}",
        reply.text()
    );
    // Refusals, on the form's page: nothing given, both given, not a fingerprint, not a
    // certificate.
    for (fields, status, message) in [
        (
            vec![("csrf", None, csrf.as_bytes())],
            StatusCode::BAD_REQUEST,
            "choose a certificate file or paste a fingerprint",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("shared.pem"), shared.as_bytes()),
                ("fingerprint", None, shared_name.as_bytes()),
            ],
            StatusCode::BAD_REQUEST,
            "give a certificate file or a fingerprint, not both",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("fingerprint", None, b"<b>nope</b>".as_slice()),
            ],
            StatusCode::BAD_REQUEST,
            "is not a SHA-256 fingerprint",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("file", Some("key.pem"), &data("key_pkcs8.pem")),
            ],
            StatusCode::BAD_REQUEST,
            "private key",
        ),
    ] {
        let reply = browser.post_multipart("/identify", &fields).await;
        assert_eq!(reply.status, status, "{}", reply.text());
        let text = reply.text();
        assert!(text.contains("id=\"identify-error\""), "{text}");
        assert!(text.contains(message), "{message} not in {text}");
        assert!(!text.contains("<b>nope"), "{text}");
    }
    // Without the CSRF token: refused as a forgery.
    let reply = browser
        .post_multipart(
            "/identify",
            &[("fingerprint", None, shared_name.as_bytes())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
}

/// A fullchain.pem through the API: the client's certificate added, its CA skipped with a
/// reason code, in a dry run as in an import; the audit trail names the uploaded file; the
/// summary says whether a certificate is self-signed and what its key may do (issue 21).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_imports_the_client_of_a_chain_and_skips_its_ca() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let app = console(registry);
    let chain = decode(&data("fullchain.pem")).unwrap();
    let fullchain = data("fullchain.pem");
    let path = "/api/systems/crm/certificates";
    let expected = |leaf: &str| {
        serde_json::json!([
            {"name": chain[0].name().to_string(), "outcome": leaf},
            {
                "name": chain[1].name().to_string(),
                "outcome": "skipped",
                "reason": "chain_ca",
                "message": "a CA certificate of the chain; a pinned client certificate needs no chain",
            },
        ])
    };
    let reply = send(
        &app,
        admin_common::api(
            Method::POST,
            &format!("{path}?dry_run=true"),
            fullchain.clone(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let mut trial = reply.json();
    for outcome in trial.as_array_mut().unwrap() {
        assert!(outcome["subject"].is_string(), "{outcome}");
        outcome.as_object_mut().unwrap().remove("subject");
    }
    assert_eq!(trial, expected("added"));
    let reply = send(
        &app,
        admin_common::api_multipart(path, &[("file", Some("fullchain.pem"), &fullchain)]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json(), expected("added"));
    let reply = send(&app, admin_common::api(Method::POST, path, fullchain)).await;
    assert_eq!(reply.json(), expected("already_present"));

    // The records: the first import's name the file; the second (a raw body) none.
    let reply = send(
        &app,
        admin_common::api(Method::GET, "/api/history", Body::empty()),
    )
    .await;
    let records = reply.json()["records"].clone();
    let details: Vec<(&str, &str)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        details[..4],
        [
            ("skipped", "a CA certificate of the chain; a pinned client certificate needs no chain"),
            ("already_present", ""),
            ("skipped", "a CA certificate of the chain; a pinned client certificate needs no chain (upload fullchain.pem)"),
            ("added", "upload fullchain.pem"),
        ]
    );

    let reply = send(
        &app,
        admin_common::api(
            Method::GET,
            &format!("{path}/{}", chain[0].name()),
            Body::empty(),
        ),
    )
    .await;
    let summary = reply.json();
    assert_eq!(summary["self_signed"], false);
    assert_eq!(summary["is_ca"], false);
    assert_eq!(summary["key_usage"], serde_json::Value::Null);
}

/// Issue 23, weak keys through the API: refused with `weak_key`, imported with
/// `?allow_weak=true`, and listed with its weaknesses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_keys_that_could_never_authenticate_unless_allowed() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let app = console(registry);
    let legacy = data("rsa1024_sha1.pem");
    let path = "/api/systems/crm/certificates";
    let reply = send(&app, admin_common::api(Method::POST, path, legacy.clone())).await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "weak_key");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has a 1024-bit RSA key"),
        "{}",
        reply.text()
    );
    let reply = send(
        &app,
        admin_common::api(Method::POST, &format!("{path}?allow_weak=true"), legacy),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let reply = send(&app, admin_common::api(Method::GET, path, Body::empty())).await;
    let weaknesses = reply.json()["certificates"][0]["weaknesses"].clone();
    assert_eq!(weaknesses[0]["code"], "short_rsa_key");
    assert_eq!(weaknesses[0]["prevents_authentication"], true);
    assert_eq!(weaknesses[1]["code"], "weak_signature");
    assert_eq!(weaknesses[1]["prevents_authentication"], false);
}

/// The console judges keys by the service's TLS provider when told (issue 23): with a
/// provider that cannot verify P-256 signatures, a P-256 client certificate is refused.
#[cfg(feature = "rustls")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_judges_keys_by_the_configured_provider() {
    let mut provider = rustls::crypto::ring::default_provider();
    let without_p256: Vec<_> = provider
        .signature_verification_algorithms
        .all
        .iter()
        .copied()
        .filter(|algorithm| algorithm.public_key_alg_id() != rustls::pki_types::alg_id::ECDSA_P256)
        .collect();
    provider.signature_verification_algorithms.all = Box::leak(without_p256.into_boxed_slice());
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let config = AdminConfig::new("alice", TOKEN)
        .unwrap()
        .tls_key_types(inbound_certs::summary::TlsKeyTypes::of_provider(&provider));
    let app = admin::router(registry, config);
    let path = "/api/systems/crm/certificates";
    let reply = send(
        &app,
        admin_common::api(Method::POST, path, data("sample_source.pem")),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "weak_key");
    // Ed25519 is still fine.
    let reply = send(
        &app,
        admin_common::api(Method::POST, path, data("ed25519.pem")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

/// The overview lists the expired and expiring certificates of every system, the soonest
/// end first, each linked to its details; valid ones are not listed (issue 23).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_lists_what_expires_across_systems() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let policy = inbound_certs::ImportPolicy::new(NOW).allow_expired(true);
    for (system, kind) in [("gateway", SystemKind::Proxy), ("crm", SystemKind::Source)] {
        registry
            .create_system(&system.parse().unwrap(), kind, NOW)
            .unwrap();
    }
    let gateway = registry.store(&"gateway".parse().unwrap()).unwrap();
    let crm = registry.store(&"crm".parse().unwrap()).unwrap();
    gateway
        .import_upload(&data("expired.pem"), &policy)
        .unwrap();
    let soon = client_certificate("soon.example", 5);
    crm.import_upload(soon.as_bytes(), &policy).unwrap();
    crm.import_upload(client_certificate("later.example", 300).as_bytes(), &policy)
        .unwrap();
    let mut browser = Browser::new(console(registry));
    browser.login("").await;
    let overview = browser.get("/").await.text();
    let due = &overview[overview.find("<table id=\"due\">").expect("the due list")..];
    let due = &due[..due.find("</table>").unwrap()];
    let expired = due.find("expired.client.example").expect("the expired one");
    let soon_at = due.find("soon.example").expect("the one expiring soon");
    assert!(expired < soon_at, "the soonest end first: {due}");
    assert!(!due.contains("later.example"), "{due}");
    assert!(due.contains(&format!(
        "href=\"/systems/crm/certificates/{}\"",
        name_of(&soon)
    )));
    assert!(
        due.contains("<td>gateway</td>") && due.contains("<td>crm</td>"),
        "{due}"
    );
}

/// Issue 23, renewals in the console: the API names the renewed certificate, the old one's
/// details page says which certificate renews it and offers to retire it, the new one's
/// which it renews.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reports_and_links_renewals() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let app = console(registry.clone());
    let path = "/api/systems/crm/certificates";
    let old = name_of(std::str::from_utf8(&data("expired.pem")).unwrap());
    let new = name_of(std::str::from_utf8(&data("not_yet_valid.pem")).unwrap());
    let import = |file: &str| {
        admin_common::api(
            Method::POST,
            &format!("{path}?allow_expired=true"),
            data(file),
        )
    };
    assert_eq!(
        send(&app, import("expired.pem")).await.json()[0]["outcome"],
        "added"
    );
    let reply = send(&app, import("not_yet_valid.pem")).await;
    assert_eq!(
        reply.json(),
        serde_json::json!([{
            "name": new,
            "outcome": "renewed",
            "renews": old,
            "renews_not_after": "2021-01-01T00:00:00Z",
        }])
    );
    let mut browser = Browser::new(app);
    browser.login("").await;
    let page = browser
        .get(&format!("/systems/crm/certificates/{old}"))
        .await
        .text();
    // Not used yet: keep the old one.
    assert!(
        page.contains(&format!(
            "Renewed by <a href=\"/systems/crm/certificates/{new}\"><code>{new}</code></a>"
        )) && page.contains("not used yet: keep this certificate"),
        "{page}"
    );
    // In use: retire the old one.
    let renewal = decode(&data("not_yet_valid.pem")).unwrap()[0].fingerprint();
    registry.record_use_at(&renewal, None, NOW - Duration::days(2));
    registry.record_use_at(&renewal, None, NOW - Duration::hours(5));
    let page = browser
        .get(&format!("/systems/crm/certificates/{old}"))
        .await
        .text();
    let since = (NOW - Duration::days(2))
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap();
    assert!(
        page.contains(&format!(
            "in use since {since} (first used 2 days ago, last used 5 hours ago)"
        )) && page.contains("retire it with <em>Delete</em>"),
        "{page}"
    );
    let page = browser
        .get(&format!("/systems/crm/certificates/{new}"))
        .await
        .text();
    assert!(
        page.contains(&format!(
            "Renews <a href=\"/systems/crm/certificates/{old}\">"
        )),
        "{page}"
    );
}

/// Suspend and resume through the API and through the pages: the certificate stays listed
/// with its suspension (one JSON shape with the CLI's), `identify` skips it while it is
/// suspended, a bad reason is 400 and a resume of what is not suspended 409, the pages ask
/// for a reason and the CSRF token, and show the badge and the button that undoes it.
#[tokio::test]
async fn certificates_are_suspended_and_resumed_through_the_api_and_the_pages() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let crm = "crm".parse().unwrap();
    registry
        .create_system(&crm, SystemKind::Source, NOW)
        .unwrap();
    let pem = client_certificate("suspended.crm.example", 200);
    let name = name_of(&pem);
    let certificate = decode(pem.as_bytes()).unwrap().remove(0);
    let app = console(registry.clone());
    let path = format!("/api/systems/crm/certificates/{name}");
    let reply = send(
        &app,
        admin_common::api(Method::POST, "/api/systems/crm/certificates", pem.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    // Bad reasons and bad bodies say why, and change nothing.
    for (body, code) in [
        (serde_json::json!({"reason": "   "}), "invalid_reason"),
        (
            serde_json::json!({"reason": "a\u{1b}[2Jb"}),
            "invalid_reason",
        ),
        (serde_json::json!({"why": "leaked"}), "invalid_body"),
    ] {
        let reply = send(
            &app,
            admin_common::api_json(Method::POST, &format!("{path}/suspend"), body),
        )
        .await;
        assert_eq!(
            reply.error(StatusCode::BAD_REQUEST),
            code,
            "{}",
            reply.text()
        );
    }
    let reply = send(
        &app,
        admin_common::api(Method::POST, &format!("{path}/resume"), ""),
    )
    .await;
    assert_eq!(reply.error(StatusCode::CONFLICT), "not_suspended");

    let reply = send(
        &app,
        admin_common::api_json(
            Method::POST,
            &format!("{path}/suspend"),
            serde_json::json!({"reason": "key may have leaked: ticket 4711"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let suspension = serde_json::json!({
        "reason": "key may have leaked: ticket 4711",
        "since": "2026-06-01T12:00:00Z",
        "by": "alice",
    });
    assert_eq!(reply.json(), suspension);
    assert_eq!(
        send(&app, admin_common::api(Method::GET, &path, Body::empty()))
            .await
            .json()["suspension"],
        suspension
    );
    let list = send(
        &app,
        admin_common::api(Method::GET, "/api/systems/crm/certificates", Body::empty()),
    )
    .await
    .json();
    assert_eq!(list["certificates"][0]["suspension"], suspension);
    assert!(registry
        .identify_certificate(&certificate)
        .unwrap()
        .is_empty());

    let reply = send(
        &app,
        admin_common::api(Method::POST, &format!("{path}/resume"), ""),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json(), suspension);
    assert_eq!(
        send(&app, admin_common::api(Method::GET, &path, Body::empty()))
            .await
            .json()["suspension"],
        serde_json::Value::Null
    );
    assert_eq!(
        registry.identify_certificate(&certificate).unwrap().len(),
        1
    );

    // The pages: a form that asks why, refused without the CSRF token.
    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;
    let page = format!("/systems/crm/certificates/{name}");
    let details = browser.get(&page).await.text();
    assert!(details.contains("id=\"suspend\""), "{details}");
    assert!(!details.contains("badge suspended"), "{details}");
    let form = browser.get(&format!("{page}/suspend")).await.text();
    assert!(form.contains("name=\"reason\""), "{form}");
    let reply = browser
        .post_form(&format!("{page}/suspend"), &[("reason", "leaked")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert!(registry
        .store(&crm)
        .unwrap()
        .suspension(&certificate.name())
        .unwrap()
        .is_none());
    let csrf = browser.csrf(&format!("{page}/suspend")).await;
    let reply = browser
        .post_form(
            &format!("{page}/suspend"),
            &[("csrf", &csrf), ("reason", "  ")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let reply = browser
        .post_form(
            &format!("{page}/suspend"),
            &[("csrf", &csrf), ("reason", "<b>leaked</b> \u{202e}")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let details = browser.get(&page).await.text();
    assert!(details.contains("badge suspended"), "{details}");
    assert!(details.contains("id=\"resume\""), "{details}");
    // The reason as typed, shown as text.
    assert!(
        details.contains("&lt;b&gt;leaked&lt;/b&gt; \\u{202E}"),
        "{details}"
    );
    let system = browser.get("/systems/crm").await.text();
    assert!(system.contains("badge suspended"), "{system}");
    let csrf = browser.csrf(&format!("{page}/resume")).await;
    let reply = browser
        .post_form(&format!("{page}/resume"), &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert!(registry
        .store(&crm)
        .unwrap()
        .suspension(&certificate.name())
        .unwrap()
        .is_none());
    let history = registry
        .history(&inbound_certs::audit::HistoryQuery::new())
        .unwrap();
    let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        &actions[..4],
        ["resume", "suspend", "resume", "suspend"],
        "{actions:?}"
    );
}

/// The last use of a certificate (issue 23) in the API (the keys `certstore --json` gives)
/// and on its details page: when, how long ago and from where, or "never used".
#[tokio::test]
async fn the_last_use_is_in_the_api_and_on_the_details_page() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let used = client_certificate("used.crm.example", 200);
    let unused = client_certificate("unused.crm.example", 200);
    let app = console(registry.clone());
    for pem in [&used, &unused] {
        let reply = send(
            &app,
            admin_common::api(Method::POST, "/api/systems/crm/certificates", pem.clone()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let fingerprint = decode(used.as_bytes()).unwrap()[0].fingerprint();
    registry.record_use_at(
        &fingerprint,
        Some("10.0.0.7".parse().unwrap()),
        NOW - Duration::days(3) - Duration::hours(2),
    );
    let list = send(
        &app,
        admin_common::api(Method::GET, "/api/systems/crm/certificates", Body::empty()),
    )
    .await
    .json();
    let entry = |name: &str| {
        list["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["name"] == name)
            .unwrap()
            .clone()
    };
    let (used_name, unused_name) = (name_of(&used), name_of(&unused));
    assert_eq!(entry(&used_name)["last_used"], "2026-05-29T10:00:00Z");
    assert_eq!(entry(&used_name)["last_used_from"], "10.0.0.7");
    assert_eq!(entry(&used_name)["first_used"], "2026-05-29T10:00:00Z");
    assert!(entry(&unused_name)["last_used"].is_null());
    assert!(entry(&unused_name)["first_used"].is_null());
    let one = send(
        &app,
        admin_common::api(
            Method::GET,
            &format!("/api/systems/crm/certificates/{used_name}"),
            Body::empty(),
        ),
    )
    .await
    .json();
    assert_eq!(one["last_used_from"], "10.0.0.7");

    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;
    let page = browser
        .get(&format!("/systems/crm/certificates/{used_name}"))
        .await
        .text();
    assert!(
        page.contains("id=\"last-used\">3 days ago (2026-05-29 10:00 UTC) from 10.0.0.7<"),
        "{page}"
    );
    let page = browser
        .get(&format!("/systems/crm/certificates/{unused_name}"))
        .await
        .text();
    assert!(page.contains("id=\"last-used\">never used<"), "{page}");
}

/// Permissions (issue 24) through the API and the pages: `GET /api/systems` lists them,
/// `POST /api/systems` may set them, `PUT /api/systems/{system}/permissions` replaces them
/// (400 `invalid_permission` for a hostile name and 400 `malformed_request` for a body that
/// is not a list, nothing changed; 404 for an unknown system; 409 `target_permissions` for a
/// target system); the system's page shows them and edits them with a form that needs its
/// CSRF token; every change is audited.
#[tokio::test]
async fn permissions_are_set_through_the_api_and_the_pages() {
    let registry = Registry::in_memory().with_clock(|| NOW);
    let gateway: inbound_certs::SystemName = "gateway".parse().unwrap();
    registry
        .create_system(&"warehouse".parse().unwrap(), SystemKind::Target, NOW)
        .unwrap();
    let app = console(registry.clone());
    let reply = send(
        &app,
        admin_common::api_json(
            Method::POST,
            "/api/systems",
            serde_json::json!({"name": "gateway", "kind": "proxy", "permissions": ["proxy-api"]}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.json()["permissions"],
        serde_json::json!(["proxy-api"])
    );
    let reply = send(
        &app,
        admin_common::api_json(
            Method::POST,
            "/api/systems",
            serde_json::json!({"name": "crm", "kind": "source", "permissions": ["Realtime"]}),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "invalid_permission");
    assert!(registry.system(&"crm".parse().unwrap()).is_err());

    let put = |path: &str, body: serde_json::Value| admin_common::api_json(Method::PUT, path, body);
    let path = "/api/systems/gateway/permissions";
    for (body, code) in [
        (
            serde_json::json!(["proxy-api", "../admin"]),
            "invalid_permission",
        ),
        (serde_json::json!(["a\u{1b}[2Jb"]), "invalid_permission"),
        (serde_json::json!([""]), "invalid_permission"),
        (serde_json::json!(["x".repeat(65)]), "invalid_permission"),
        (serde_json::json!(["Proxy-API"]), "invalid_permission"),
        (
            serde_json::json!({"permissions": ["proxy-api"]}),
            "malformed_request",
        ),
        (serde_json::json!([1]), "malformed_request"),
    ] {
        let reply = send(&app, put(path, body.clone())).await;
        assert_eq!(
            reply.error(StatusCode::BAD_REQUEST),
            code,
            "{body}: {}",
            reply.text()
        );
    }
    let reply = send(&app, put(path, serde_json::json!(["Proxy-API"]))).await;
    assert_eq!(
        reply.json()["error"]["message"],
        "invalid permission \"Proxy-API\": permissions are lower case (\"proxy-api\")"
    );
    assert_eq!(
        registry.system(&gateway).unwrap().permissions().len(),
        1,
        "a refused request changes nothing"
    );
    let reply = send(
        &app,
        put("/api/systems/nobody/permissions", serde_json::json!([])),
    )
    .await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND), "system_not_found");
    let reply = send(
        &app,
        put(
            "/api/systems/warehouse/permissions",
            serde_json::json!(["proxy-api"]),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::CONFLICT), "target_permissions");

    let reply = send(
        &app,
        put(
            path,
            serde_json::json!(["realtime-api", "proxy-api", "proxy-api"]),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json()["permissions"],
        serde_json::json!(["proxy-api", "realtime-api"])
    );
    let systems = send(
        &app,
        admin_common::api(Method::GET, "/api/systems", Body::empty()),
    )
    .await
    .json();
    let listed: Vec<(String, serde_json::Value)> = systems
        .as_array()
        .unwrap()
        .iter()
        .map(|system| {
            (
                system["name"].as_str().unwrap().to_owned(),
                system["permissions"].clone(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "gateway".to_owned(),
                serde_json::json!(["proxy-api", "realtime-api"])
            ),
            ("warehouse".to_owned(), serde_json::json!([])),
        ]
    );

    // The pages: the permissions shown, a form that needs the CSRF token.
    let mut browser = Browser::new(console(registry.clone()));
    browser.login("").await;
    let page = browser.get("/systems/gateway").await.text();
    assert!(page.contains("<code>proxy-api</code>"), "{page}");
    assert!(page.contains("id=\"permissions-form\""), "{page}");
    let target = browser.get("/systems/warehouse").await.text();
    assert!(!target.contains("id=\"permissions-form\""), "{target}");
    assert!(
        target.contains("A target system holds no permissions"),
        "{target}"
    );
    let form_path = "/systems/gateway/permissions";
    let reply = browser
        .post_form(form_path, &[("permissions", "reports.read")])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    let csrf = browser.csrf("/systems/gateway").await;
    let reply = browser
        .post_form(
            form_path,
            &[("csrf", &csrf), ("permissions", "reports.read\n<script>")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let page = browser.get("/systems/gateway").await.text();
    assert!(page.contains("The permissions were not changed"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert_eq!(registry.system(&gateway).unwrap().permissions().len(), 2);
    let reply = browser
        .post_form(
            form_path,
            &[
                ("csrf", &csrf),
                ("permissions", "reports.read\r\nproxy-api\n"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let page = browser.get("/systems/gateway").await.text();
    assert!(
        page.contains("The system gateway holds proxy-api, reports.read"),
        "{page}"
    );
    let held: Vec<String> = registry
        .system(&gateway)
        .unwrap()
        .permissions()
        .iter()
        .map(|permission| permission.to_string())
        .collect();
    assert_eq!(held, ["proxy-api", "reports.read"]);

    let history = registry
        .history(&inbound_certs::audit::HistoryQuery::new().system(gateway.clone()))
        .unwrap();
    let actions: Vec<&str> = history.records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["set_permissions", "set_permissions", "create_system"],
        "{actions:?}"
    );
    assert_eq!(
        history.records[0].detail,
        "before: proxy-api, realtime-api; after: proxy-api, reports.read"
    );
}
