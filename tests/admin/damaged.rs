//! Damaged certificates in the console of a directory registry: a certificate made writable
//! by others is counted damaged by the listings at once (not valid until its details are
//! opened), and a damaged entry's details and delete pages show the damage and delete it,
//! a directory under a certificate's name included.

#![cfg(all(unix, feature = "admin"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;
use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use admin_common::{api, client_certificate, console, name_of, send, Reply, NOW, TOKEN};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use inbound_certs::{decode, CertificateStore, ImportPolicy, Registry, SystemKind};
use serde_json::json;

/// A logged-in browser session.
struct Session {
    app: Router,
    cookie: String,
}

impl Session {
    async fn login(app: Router) -> Self {
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={TOKEN}")))
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
        let cookie = reply.header(header::SET_COOKIE).unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        Session { app, cookie }
    }

    async fn get(&self, path: &str) -> Reply {
        let request = Request::get(path)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        send(&self.app, request).await
    }

    /// Confirms the delete form of the page at `path`.
    async fn confirm(&self, page: &Reply) -> Reply {
        let text = page.text();
        // The form of the confirm button (the page's header has a form of its own).
        let form = &text[..text.find("id=\"confirm-delete\"").unwrap()];
        let form = &form[form.rfind("<form").unwrap()..];
        let field = "name=\"csrf\" value=\"";
        let start = form.find(field).unwrap() + field.len();
        let csrf = form[start..].split('"').next().unwrap();
        let action = "action=\"";
        let start = form.find(action).unwrap() + action.len();
        let target = form[start..].split('"').next().unwrap();
        let request = Request::post(target)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}")))
            .unwrap();
        send(&self.app, request).await
    }
}

async fn counts(app: &Router) -> serde_json::Value {
    let reply = send(app, api(Method::GET, "/api/systems", Body::empty())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let system = &reply.json()[0];
    json!({
        "valid": system["valid"],
        "damaged": system["damaged"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_entries_are_counted_shown_and_deleted() {
    let scratch = common::Scratch::new("admin-damaged");
    let registry = Registry::create(scratch.path()).unwrap().with_clock(|| NOW);
    registry
        .create_system(&"crm".parse().unwrap(), SystemKind::Source, NOW)
        .unwrap();
    let pems: Vec<String> = ["kept", "opened", "folder"]
        .iter()
        .map(|name| client_certificate(name, 90))
        .collect();
    let store = registry.store(&"crm".parse().unwrap()).unwrap();
    for pem in &pems {
        store
            .import(&decode(pem.as_bytes()).unwrap()[0], &ImportPolicy::new(NOW))
            .unwrap();
    }
    let app = console(registry);
    assert_eq!(counts(&app).await, json!({"valid": 3, "damaged": 0}));

    let dir = scratch.path().join("systems/crm");
    let opened = name_of(&pems[1]);
    let folder = name_of(&pems[2]);
    fs::set_permissions(
        dir.join(format!("{opened}.der")),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    fs::remove_file(dir.join(format!("{folder}.der"))).unwrap();
    fs::create_dir(dir.join(format!("{folder}.der"))).unwrap();
    // Counted damaged by the listings at once, before any details page was opened.
    assert_eq!(counts(&app).await, json!({"valid": 1, "damaged": 2}));

    let session = Session::login(app.clone()).await;
    let overview = session.get("/").await;
    assert_eq!(overview.status, StatusCode::OK);
    // The system's page links each damaged entry to its details.
    let system = session.get("/systems/crm").await.text();
    for name in [&opened, &folder] {
        assert!(
            system.contains(&format!("href=\"/systems/crm/certificates/{name}\"")),
            "{system}"
        );
    }
    for (name, problem) in [
        (
            &opened,
            "other users could change it: every user may write to it (mode 666)",
        ),
        (&folder, "cannot be read: not a regular file"),
    ] {
        let path = format!("/systems/crm/certificates/{name}");
        let details = session.get(&path).await;
        assert_eq!(details.status, StatusCode::OK, "{}", details.text());
        let text = details.text();
        assert!(text.contains("Damaged entry"), "{text}");
        assert!(
            text.contains(&format!("<code id=\"name\">{name}</code>")),
            "{text}"
        );
        assert!(text.contains(problem), "{text}");
        assert!(text.contains(&format!("{name}.der")), "{text}");
        assert!(text.contains(&format!("href=\"{path}/delete\"")), "{text}");

        let confirmation = session.get(&format!("{path}/delete")).await;
        assert_eq!(
            confirmation.status,
            StatusCode::OK,
            "{}",
            confirmation.text()
        );
        assert!(confirmation.text().contains(problem));
        let deleted = session.confirm(&confirmation).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
        assert!(fs::symlink_metadata(dir.join(format!("{name}.der"))).is_err());
    }
    assert_eq!(counts(&app).await, json!({"valid": 1, "damaged": 0}));
}
