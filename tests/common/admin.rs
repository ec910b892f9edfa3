//! The administration console's API suite, run through `tower::ServiceExt::oneshot` against
//! a registry of each backend (tests/admin/api.rs: memory and directory; tests/postgres.rs:
//! PostgreSQL), and helpers for the console's tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use inbound_certs::admin::{self, AdminConfig};
use inbound_certs::{decode, Registry};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

/// The instant the suites run at (the registries' clock).
pub(crate) const NOW: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00 UTC);

/// The token of the suites' administrator, `alice`.
pub(crate) const TOKEN: &str = "alice-token-0123456789abcdef";

/// A self-signed client certificate (PEM) with this common name, valid from a year before
/// `NOW` for `days_left` days after it.
pub(crate) fn client_certificate(common_name: &str, days_left: i64) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Console Tests");
    params.not_before = NOW - Duration::days(365);
    params.not_after = NOW + Duration::days(days_left);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// The name (`cert_client_<fingerprint>`) of the certificate in this PEM.
pub(crate) fn name_of(pem: &str) -> String {
    decode(pem.as_bytes()).unwrap()[0].name().to_string()
}

/// A file of tests/data.
pub(crate) fn data(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A response, read whole.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error's code, asserting the status and the error's shape.
    pub(crate) fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let json = self.json();
        let message = json["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty());
        json["error"]["code"].as_str().unwrap().to_owned()
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// Sends one request to `app` and checks the headers every response carries.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(
            headers.get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{name} on a {status} response"
        );
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// A request to the API with the suite's token.
pub(crate) fn api(method: Method, path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(body.into())
        .unwrap()
}

pub(crate) fn api_json(method: Method, path: &str, value: Value) -> Request<Body> {
    let mut request = api(method, path, value.to_string());
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    request
}

/// A `multipart/form-data` body with these fields (name, file name if a file, content).
pub(crate) fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----inbound-certs-test-boundary-7d93";
    let mut body = Vec::new();
    for (name, file_name, content) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file_name) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A request to the API with the suite's token and a `multipart/form-data` body.
pub(crate) fn api_multipart(path: &str, fields: &[(&str, Option<&str>, &[u8])]) -> Request<Body> {
    let (content_type, body) = multipart(fields);
    let mut request = api(Method::POST, path, body);
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    request
}

/// The console over `registry` as the suites configure it.
pub(crate) fn console(registry: Registry) -> Router {
    admin::router(registry, AdminConfig::new("alice", TOKEN).unwrap())
}

/// Every API route and its errors, against `registry` (empty, with its clock at [`NOW`]).
pub(crate) async fn api_suite(registry: Registry) {
    let app = console(registry);

    // Authentication.
    let anonymous = Request::get("/api/systems").body(Body::empty()).unwrap();
    let reply = send(&app, anonymous).await;
    assert_eq!(reply.error(StatusCode::UNAUTHORIZED), "unauthorized");
    assert!(reply
        .header(header::WWW_AUTHENTICATE)
        .unwrap()
        .starts_with("Bearer"));
    let wrong = Request::get("/api/systems")
        .header(header::AUTHORIZATION, "Bearer alice-token-0123456789abcdeX")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, wrong).await.error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    for path in ["/api/history", "/api/systems/crm/certificates", "/metrics"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        assert_eq!(
            send(&app, request).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }

    // Systems.
    let reply = send(&app, api(Method::GET, "/api/systems", Body::empty())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!([]));
    for (name, kind) in [
        ("crm", "source"),
        ("gateway", "proxy"),
        ("ledger", "target"),
    ] {
        let reply = send(
            &app,
            api_json(
                Method::POST,
                "/api/systems",
                json!({"name": name, "kind": kind}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        assert_eq!(reply.json()["name"], name);
        assert_eq!(reply.json()["kind"], kind);
    }
    for (body, status, code) in [
        (
            json!({"name": "crm", "kind": "proxy"}),
            StatusCode::CONFLICT,
            "system_exists",
        ),
        (
            json!({"name": "no spaces", "kind": "source"}),
            StatusCode::BAD_REQUEST,
            "invalid_system_name",
        ),
        (
            json!({"name": "x", "kind": "mainframe"}),
            StatusCode::BAD_REQUEST,
            "invalid_system_kind",
        ),
    ] {
        let reply = send(&app, api_json(Method::POST, "/api/systems", body.clone())).await;
        assert_eq!(reply.error(status), code, "{body}");
    }
    let mut not_json = api(Method::POST, "/api/systems", "{\"name\":");
    not_json
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    assert_eq!(
        send(&app, not_json).await.error(StatusCode::BAD_REQUEST),
        "malformed_request"
    );

    // Imports: a raw body, then the same again, then a multipart form.
    let long = client_certificate("long.crm.example", 400);
    let soon = client_certificate("soon.crm.example", 10);
    let reply = send(
        &app,
        api(Method::POST, "/api/systems/crm/certificates", long.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!([{"name": name_of(&long), "outcome": "added"}])
    );
    let reply = send(
        &app,
        api(Method::POST, "/api/systems/crm/certificates", long.clone()),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!([{"name": name_of(&long), "outcome": "already_present"}])
    );
    let request = api_multipart(
        "/api/systems/crm/certificates",
        &[("file", Some("soon.pem"), soon.as_bytes())],
    );
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!([{"name": name_of(&soon), "outcome": "added"}])
    );
    let request = api_multipart("/api/systems/crm/certificates", &[("other", None, b"x")]);
    assert_eq!(
        send(&app, request).await.error(StatusCode::BAD_REQUEST),
        "no_file"
    );

    // Refusals, each with the decoder's or the policy's code, and nothing stored.
    for (file, code) in [
        ("key_ec_sec1.pem", "private_key"),
        ("key_pkcs8.pem", "private_key"),
        ("csr.pem", "certificate_request"),
        ("crl.pem", "revocation_list"),
        ("expired.pem", "expired"),
        ("ca.pem", "ca_certificate"),
        ("server_only.pem", "not_for_client_auth"),
        ("garbage.bin", "unrecognized_format"),
        ("empty.der", "empty"),
    ] {
        let reply = send(
            &app,
            api(
                Method::POST,
                "/api/systems/gateway/certificates",
                data(file),
            ),
        )
        .await;
        assert_eq!(reply.error(StatusCode::BAD_REQUEST), code, "{file}");
    }
    let listed = send(
        &app,
        api(
            Method::GET,
            "/api/systems/gateway/certificates",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(
        listed.json()["certificates"],
        json!([]),
        "a refused upload stored something"
    );
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/certificates?allow_expired=true",
            data("expired.pem"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/certificates?allow_ca=true",
            data("ca.pem"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/ledger/certificates",
            long.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::CONFLICT), "not_inbound");
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/nowhere/certificates",
            long.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND), "system_not_found");

    // Too large: refused by its declared length, and while a body of unknown length is read;
    // the rest of a refused body is read and thrown away, 4 MiB at most, before the answer
    // (so that a client that writes its whole body before reading sees the 413).
    let limit = inbound_certs::decode::DecodeOptions::default().max_input_bytes;
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates",
            vec![b'A'; limit + 1],
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
    let (pulled, body) = endless_body();
    let reply = send(
        &app,
        api(Method::POST, "/api/systems/crm/certificates", body),
    )
    .await;
    assert_eq!(reply.error(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
    let pulled = pulled.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        pulled * CHUNK <= limit + (4 << 20) + 2 * CHUNK,
        "{pulled} chunks of {CHUNK} bytes were read for a limit of {limit} bytes"
    );
    let big = vec![b'A'; limit + 1];
    let request = api_multipart(
        "/api/systems/crm/certificates",
        &[("file", Some("big.pem"), &big)],
    );
    assert_eq!(
        send(&app, request)
            .await
            .error(StatusCode::PAYLOAD_TOO_LARGE),
        "too_large"
    );

    // A dry run: each certificate's outcome or refusal, nothing stored.
    let fresh = client_certificate("fresh.crm.example", 100);
    let mut bundle = fresh.clone().into_bytes();
    bundle.extend_from_slice(long.as_bytes());
    bundle.extend_from_slice(&data("expired.pem"));
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates?dry_run=true",
            bundle,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let trial = reply.json();
    assert_eq!(trial[0]["name"], name_of(&fresh));
    assert_eq!(trial[0]["outcome"], "added");
    assert_eq!(trial[1]["outcome"], "already_present");
    assert_eq!(trial[2]["outcome"], "refused");
    assert_eq!(trial[2]["error"]["code"], "expired");
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates?dry_run=true",
            data("key_pkcs8.pem"),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "private_key");
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/ledger/certificates?dry_run=true",
            fresh.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::CONFLICT), "not_inbound");

    // Listing, with status, and the expiring filter.
    let reply = send(
        &app,
        api(Method::GET, "/api/systems/crm/certificates", Body::empty()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let listed = reply.json();
    let mut names: Vec<&str> = listed["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let long_name = name_of(&long);
    let soon_name = name_of(&soon);
    let mut expected = vec![long_name.as_str(), soon_name.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected, "the dry run stored something");
    let soon_entry = listed["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == soon_name)
        .unwrap();
    assert_eq!(soon_entry["status"], "expiring");
    assert_eq!(soon_entry["subject"], "O=Console Tests,CN=soon.crm.example");
    let reply = send(
        &app,
        api(
            Method::GET,
            "/api/systems/crm/certificates?expiring_within_days=30",
            Body::empty(),
        ),
    )
    .await;
    let filtered = reply.json();
    assert_eq!(filtered["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["certificates"][0]["name"], soon_name);
    let reply = send(
        &app,
        api(
            Method::GET,
            "/api/systems/crm/certificates?expiring_within_days=soon",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "malformed_request");

    // The overview.
    let reply = send(&app, api(Method::GET, "/api/systems", Body::empty())).await;
    let systems = reply.json();
    let by_name = |name: &str| {
        systems
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    let crm = by_name("crm");
    assert_eq!(
        (
            crm["valid"].clone(),
            crm["expiring"].clone(),
            crm["expired"].clone(),
            crm["damaged"].clone()
        ),
        (json!(1), json!(1), json!(0), json!(0))
    );
    assert_eq!(crm["status"], "expiring");
    assert_eq!(by_name("gateway")["expired"], 1);
    assert_eq!(by_name("gateway")["status"], "expired");
    assert_eq!(by_name("ledger")["status"], "empty");

    // One certificate: by name, by fingerprint in other spellings, as PEM and DER.
    let certificate = &decode(long.as_bytes()).unwrap()[0];
    let path = format!("/api/systems/crm/certificates/{long_name}");
    let reply = send(&app, api(Method::GET, &path, Body::empty())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json()["fingerprint_sha256"],
        certificate.fingerprint().to_string()
    );
    assert_eq!(reply.json()["status"], "valid");
    // The certificate JSON every output shares: the same keys as the library's report.
    let report = inbound_certs::CertificateReport::new(
        certificate,
        time::OffsetDateTime::now_utc(),
        time::Duration::days(30),
        &inbound_certs::summary::TlsKeyTypes::common(),
    );
    let report = serde_json::to_value(report).unwrap();
    let keys = |value: &serde_json::Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    // The report's keys, and what the console adds as the CLI does: the suspension and the
    // last use (null: not suspended, never used).
    let mut expected = keys(&report);
    expected.extend(["suspension", "last_used", "last_used_from", "first_used"].map(str::to_owned));
    expected.sort();
    assert_eq!(keys(&reply.json()), expected);
    assert_eq!(reply.json()["suspension"], serde_json::Value::Null);
    assert_eq!(reply.json()["not_after"], report["not_after"]);
    for spelling in [
        certificate.fingerprint().to_colon_hex(),
        certificate.fingerprint().to_string().to_uppercase(),
        format!("sha256:{}", certificate.fingerprint()),
    ] {
        let path = format!(
            "/api/systems/crm/certificates/{}",
            spelling.replace(':', "%3A")
        );
        let reply = send(&app, api(Method::GET, &path, Body::empty())).await;
        assert_eq!(reply.status, StatusCode::OK, "{spelling}: {}", reply.text());
        assert_eq!(reply.json()["name"], long_name);
    }
    let reply = send(
        &app,
        api(Method::GET, &format!("{path}?format=pem"), Body::empty()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header(header::CONTENT_DISPOSITION)
        .unwrap()
        .contains(&format!("{long_name}.pem")));
    assert_eq!(decode(&reply.body).unwrap()[0].der(), certificate.der());
    let reply = send(
        &app,
        api(Method::GET, &format!("{path}?format=der"), Body::empty()),
    )
    .await;
    assert_eq!(reply.body, certificate.der());
    let reply = send(
        &app,
        api(Method::GET, &format!("{path}?format=xml"), Body::empty()),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "invalid_format");
    let absent = format!(
        "/api/systems/crm/certificates/cert_client_{}",
        "0".repeat(64)
    );
    assert_eq!(
        send(&app, api(Method::GET, &absent, Body::empty()))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let garbage = "/api/systems/crm/certificates/not-a-name";
    assert_eq!(
        send(&app, api(Method::GET, garbage, Body::empty()))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let other_system = format!("/api/systems/nowhere/certificates/{long_name}");
    assert_eq!(
        send(&app, api(Method::GET, &other_system, Body::empty()))
            .await
            .error(StatusCode::NOT_FOUND),
        "system_not_found"
    );

    // Delete, purge.
    let reply = send(&app, api(Method::DELETE, &path, Body::empty())).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(
        send(&app, api(Method::DELETE, &path, Body::empty()))
            .await
            .error(StatusCode::NOT_FOUND),
        "not_found"
    );
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/purge-expired",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!([name_of(&String::from_utf8(data("expired.pem")).unwrap())])
    );
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/purge-expired",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.json(), json!([]));

    // A state change from another site is refused, even with the token.
    let mut foreign = api(
        Method::DELETE,
        &format!("/api/systems/crm/certificates/{soon_name}"),
        Body::empty(),
    );
    foreign
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    foreign
        .headers_mut()
        .insert(header::HOST, "console.example".parse().unwrap());
    assert_eq!(
        send(&app, foreign).await.error(StatusCode::FORBIDDEN),
        "foreign_origin"
    );
    let mut same = api(
        Method::GET,
        &format!("/api/systems/crm/certificates/{soon_name}"),
        Body::empty(),
    );
    same.headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    assert_eq!(
        send(&app, same).await.status,
        StatusCode::OK,
        "a GET changes nothing and is not refused"
    );

    // Systems are removed only when empty, unless asked.
    let reply = send(&app, api(Method::DELETE, "/api/systems/crm", Body::empty())).await;
    assert_eq!(reply.error(StatusCode::CONFLICT), "system_not_empty");
    let reply = send(
        &app,
        api(
            Method::DELETE,
            "/api/systems/crm?with_certificates=maybe",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "malformed_request");
    let reply = send(
        &app,
        api(
            Method::DELETE,
            "/api/systems/crm?with_certificates=true",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let reply = send(
        &app,
        api(Method::GET, "/api/systems/crm/certificates", Body::empty()),
    )
    .await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND), "system_not_found");
    let reply = send(&app, api(Method::DELETE, "/api/systems/crm", Body::empty())).await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND), "system_not_found");

    // The audit trail, with the administrator as the actor.
    let reply = send(
        &app,
        api(
            Method::GET,
            "/api/history?system=gateway&limit=50",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let records = reply.json()["records"].as_array().unwrap().clone();
    assert!(!records.is_empty());
    assert!(records
        .iter()
        .all(|r| r["actor"] == "alice" && r["system"] == "gateway"));
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"purge") && actions.contains(&"create_system"),
        "{actions:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["outcome"] == "refused"
                && r["detail"].as_str().unwrap().contains("private key")),
        "refusals are in the trail"
    );
    let reply = send(
        &app,
        api(Method::GET, "/api/history?limit=2", Body::empty()),
    )
    .await;
    assert_eq!(reply.json()["records"].as_array().unwrap().len(), 2);
    let reply = send(
        &app,
        api(Method::GET, "/api/history?since=yesterday", Body::empty()),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "invalid_time");
    let reply = send(
        &app,
        api(
            Method::GET,
            "/api/history?since=2099-01-01T00:00:00Z",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.json()["records"], json!([]));

    // Anything else.
    let reply = send(&app, api(Method::GET, "/api/nothing", Body::empty())).await;
    assert_eq!(reply.error(StatusCode::NOT_FOUND), "not_found");
}

/// Bytes per chunk of [`endless_body`].
pub(crate) const CHUNK: usize = 16 * 1024;

/// A body of unknown length that never ends, and how many chunks were read from it.
pub(crate) fn endless_body() -> (std::sync::Arc<std::sync::atomic::AtomicUsize>, Body) {
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&pulled);
    let stream = futures_util::stream::repeat_with(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'A'; CHUNK]))
    });
    (pulled, Body::from_stream(stream))
}

/// A browser: the session cookie it was given, and the page's CSRF token.
pub(crate) struct Browser {
    pub(crate) app: Router,
    pub(crate) cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(app: Router) -> Self {
        Browser { app, cookie: None }
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie.as_str());
        }
        builder
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        send(
            &self.app,
            self.request(Method::GET, path).body(Body::empty()).unwrap(),
        )
        .await
    }

    /// Posts a `multipart/form-data` form, as a file input does.
    pub(crate) async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, Option<&str>, &[u8])],
    ) -> Reply {
        let (content_type, body) = multipart(fields);
        let request = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        send(&self.app, request).await
    }

    pub(crate) async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        send(&self.app, request).await
    }

    pub(crate) async fn login(&mut self, prefix: &str) -> Reply {
        let reply = self
            .post_form(&format!("{prefix}/login"), &[("token", TOKEN)])
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
        let cookie = reply.header(header::SET_COOKIE).unwrap().to_owned();
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        reply
    }

    /// The CSRF token in the forms of the page at `path`.
    pub(crate) async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let text = page.text();
        let start = text.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        text[start..].split('"').next().unwrap().to_owned()
    }
}

pub(crate) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub(crate) fn location(reply: &Reply) -> &str {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    reply.header(header::LOCATION).unwrap()
}

/// The API on par with the CLI (issue 21): `?allow_without_client_auth=true`, unknown query
/// parameters refused on every route, and `POST /api/identify`; against `registry` (empty,
/// with its clock at [`NOW`]).
pub(crate) async fn parity_suite(registry: Registry) {
    let app = console(registry);
    for (name, kind) in [
        ("crm", "source"),
        ("gateway", "proxy"),
        ("ledger", "target"),
    ] {
        let reply = send(
            &app,
            api_json(
                Method::POST,
                "/api/systems",
                json!({"name": name, "kind": kind}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let list = |system: &str| {
        let app = app.clone();
        let path = format!("/api/systems/{system}/certificates");
        async move {
            let reply = send(&app, api(Method::GET, &path, Body::empty())).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            reply.json()["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };

    // A certificate for servers only (extended key usage serverAuth): refused, then tried
    // and imported with `allow_without_client_auth`, as the CLI's --allow-without-client-auth.
    let server_only = data("server_only.pem");
    let server_only_name = name_of(&String::from_utf8(server_only.clone()).unwrap());
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates",
            server_only.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "not_for_client_auth");
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates?dry_run=true&allow_without_client_auth=true",
            server_only.clone(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()[0]["outcome"], "added", "{}", reply.text());
    assert_eq!(list("crm").await, Vec::<String>::new(), "a dry run stored");
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates?allow_without_client_auth=true",
            server_only.clone(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!([{"name": server_only_name, "outcome": "added"}])
    );
    assert_eq!(list("crm").await, vec![server_only_name.clone()]);
    // The option allows only what it names: an expired certificate stays refused.
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/crm/certificates?allow_without_client_auth=true",
            data("expired.pem"),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "expired");

    // A misspelt option is refused, named, with what the route takes, and nothing is stored.
    let gateway_pem = client_certificate("gateway.parity.example", 200);
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/certificates?allow_without_clientauth=true",
            server_only.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "malformed_request");
    assert_eq!(
        reply.json()["error"]["message"],
        "unknown query parameter `allow_without_clientauth`; this route takes allow_expired, \
         allow_ca, allow_without_client_auth, allow_weak, dry_run"
    );
    let reply = send(
        &app,
        api(
            Method::POST,
            "/api/systems/gateway/certificates?dryrun=true",
            gateway_pem.clone(),
        ),
    )
    .await;
    assert_eq!(reply.error(StatusCode::BAD_REQUEST), "malformed_request");
    assert_eq!(list("gateway").await, Vec::<String>::new());
    // Every route: an unknown parameter is refused before anything happens.
    let crm_certificate = format!("/api/systems/crm/certificates/{server_only_name}");
    for (method, path, takes) in [
        (
            Method::GET,
            "/api/systems".to_owned(),
            "this route takes no query parameters",
        ),
        (
            Method::POST,
            "/api/systems".to_owned(),
            "this route takes no query parameters",
        ),
        (
            Method::DELETE,
            "/api/systems/crm".to_owned(),
            "this route takes with_certificates",
        ),
        (
            Method::GET,
            "/api/systems/crm/certificates".to_owned(),
            "this route takes expiring_within_days",
        ),
        (
            Method::POST,
            "/api/systems/crm/certificates".to_owned(),
            "this route takes allow_expired, allow_ca, allow_without_client_auth, allow_weak, dry_run",
        ),
        (
            Method::GET,
            crm_certificate.clone(),
            "this route takes format",
        ),
        (
            Method::DELETE,
            crm_certificate.clone(),
            "this route takes no query parameters",
        ),
        (
            Method::POST,
            "/api/systems/crm/purge-expired".to_owned(),
            "this route takes no query parameters",
        ),
        (
            Method::GET,
            "/api/history".to_owned(),
            "this route takes system, since, until, limit",
        ),
        (
            Method::POST,
            "/api/identify".to_owned(),
            "this route takes no query parameters",
        ),
        (
            Method::GET,
            "/metrics".to_owned(),
            "this route takes no query parameters",
        ),
    ] {
        let uri = format!("{path}?limit=1&bogus=1");
        let body = match (&method, path.as_str()) {
            (&Method::POST, "/api/systems") => {
                json!({"name": "bogus", "kind": "source"}).to_string()
            }
            (&Method::POST, "/api/systems/crm/certificates") => gateway_pem.clone(),
            _ => String::new(),
        };
        let reply = send(&app, api(method.clone(), &uri, body)).await;
        assert_eq!(
            reply.error(StatusCode::BAD_REQUEST),
            "malformed_request",
            "{method} {uri}"
        );
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        let unknown = if path == "/api/history" {
            "bogus"
        } else {
            "limit"
        };
        assert_eq!(
            message,
            format!("unknown query parameter `{unknown}`; {takes}"),
            "{method} {uri}"
        );
    }
    assert_eq!(
        list("crm").await,
        vec![server_only_name.clone()],
        "a refused request changed the system"
    );
    let reply = send(&app, api(Method::GET, "/api/systems", Body::empty())).await;
    assert_eq!(
        reply.json().as_array().unwrap().len(),
        3,
        "{}",
        reply.text()
    );

    // Identify: one certificate trusted by two systems, as a file in each format and as a
    // fingerprint in several spellings.
    let shared = client_certificate("shared.parity.example", 200);
    let certificate = &decode(shared.as_bytes()).unwrap()[0];
    for system in ["gateway", "crm"] {
        let reply = send(
            &app,
            api(
                Method::POST,
                &format!("/api/systems/{system}/certificates"),
                shared.clone(),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let both = json!({
        "fingerprint": certificate.fingerprint().to_string(),
        "name": certificate.name().to_string(),
        "systems": [{"name": "crm", "kind": "source"}, {"name": "gateway", "kind": "proxy"}],
    });
    let fingerprint = certificate.fingerprint();
    let mut requests = vec![
        api(Method::POST, "/api/identify", shared.clone()),
        api(Method::POST, "/api/identify", certificate.der().to_vec()),
        api_multipart(
            "/api/identify",
            &[("file", Some("shared.pem"), shared.as_bytes())],
        ),
    ];
    for spelling in [
        fingerprint.to_string(),
        fingerprint.to_colon_hex(),
        format!(
            "SHA256 Fingerprint={}",
            fingerprint.to_colon_hex().to_uppercase()
        ),
        certificate.name().to_string(),
    ] {
        requests.push(api_json(
            Method::POST,
            "/api/identify",
            json!({ "fingerprint": spelling }),
        ));
    }
    for request in requests {
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json(), both);
    }
    // Trusted by one, by none.
    let reply = send(
        &app,
        api(Method::POST, "/api/identify", server_only.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json()["systems"],
        json!([{"name": "crm", "kind": "source"}])
    );
    let stranger = client_certificate("stranger.parity.example", 200);
    let reply = send(&app, api(Method::POST, "/api/identify", stranger.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({
            "fingerprint": decode(stranger.as_bytes()).unwrap()[0].fingerprint().to_string(),
            "name": name_of(&stranger),
            "systems": [],
        })
    );
    // Malformed: not a certificate, a private key, a bundle, JSON of another shape, a
    // fingerprint that is not one.
    for (request, code) in [
        (
            api(Method::POST, "/api/identify", data("garbage.bin")),
            "unrecognized_format",
        ),
        (api(Method::POST, "/api/identify", Body::empty()), "empty"),
        (
            api(Method::POST, "/api/identify", data("key_pkcs8.pem")),
            "private_key",
        ),
        (
            api(Method::POST, "/api/identify", format!("{shared}{stranger}")),
            "malformed_request",
        ),
        (
            api_json(
                Method::POST,
                "/api/identify",
                json!({"fingerprint": "not hex"}),
            ),
            "malformed_request",
        ),
        (
            api_json(
                Method::POST,
                "/api/identify",
                json!({"fingerprint": "ab:cd"}),
            ),
            "malformed_request",
        ),
        (
            api_json(
                Method::POST,
                "/api/identify",
                json!({"sha256": fingerprint.to_string()}),
            ),
            "malformed_request",
        ),
        (
            api_json(
                Method::POST,
                "/api/identify",
                json!([fingerprint.to_string()]),
            ),
            "malformed_request",
        ),
    ] {
        let reply = send(&app, request).await;
        assert_eq!(
            reply.error(StatusCode::BAD_REQUEST),
            code,
            "{}",
            reply.text()
        );
    }
    let reply = send(
        &app,
        api(Method::POST, "/api/identify", format!("{shared}{stranger}")),
    )
    .await;
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("holds 2 certificates"),
        "{}",
        reply.text()
    );
    let anonymous = Request::post("/api/identify")
        .body(Body::from(shared.clone()))
        .unwrap();
    assert_eq!(
        send(&app, anonymous).await.error(StatusCode::UNAUTHORIZED),
        "unauthorized"
    );
    // Once a system is removed, it no longer trusts the certificate.
    let reply = send(
        &app,
        api(
            Method::DELETE,
            "/api/systems/gateway?with_certificates=true",
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let reply = send(&app, api(Method::POST, "/api/identify", shared.clone())).await;
    assert_eq!(
        reply.json()["systems"],
        json!([{"name": "crm", "kind": "source"}])
    );
}
