//! The administration console in a real browser: the `admin_console` example, Debian's
//! `chromium` driven through `chromedriver` (WebDriver, with fantoccini), as an administrator
//! uses it: log in, add a source system, import a `.pem` through the file input, read its
//! details (compared with `openssl x509`), have a private key refused, see a hostile subject
//! as text, delete with confirmation, log out. And the layout of every page, at a phone's
//! width (420 px) and wider: no sideways scrolling, names not squeezed, the overview's headers
//! over their columns, long activity texts clamped. Screenshots go to
//! `target/admin-console-screenshots/` (docs/admin-console.png is one of them; `narrow-*.png`
//! are the phone's).
//!
//! `.ci/test` installs chromium and chromium-driver; without them this test fails and says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use inbound_certs::decode;

const TOKEN: &str = "browser-test-token-0123456789";

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let path = Path::new(dir).join(name);
            if path.exists() {
                return path;
            }
        }
    }
    panic!(
        "none of {names:?} is installed: the console's browser test needs Debian's chromium and \
         chromium-driver (apt-get install chromium chromium-driver; .ci/test installs them)"
    );
}

/// Starts the example on a free port and returns it with the URL it printed.
fn start_console(store: &Path, extra: &[&str]) -> (Running, String) {
    let mut child = Command::new(common::example("admin_console"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--token", TOKEN])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("open:") {
            url = Some(rest.trim().trim_end_matches('/').to_owned());
            break;
        }
    }
    // The rest of what it prints, read so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (running, url.expect("the example printed no URL"))
}

fn start_driver() -> (Running, String) {
    let port = free_port();
    let child = Command::new(program(&["chromedriver"]))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Running(child), format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str) -> Client {
    let chromium = program(&["chromium", "chromium-browser"]);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,860", "--no-first-run", "--disable-extensions"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver)
        .await
        .unwrap()
}

struct Session {
    client: Client,
    base: String,
    shots: PathBuf,
}

impl Session {
    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits up to 20 seconds for the browser to be at `expected` (a click on a form's button
    /// returns before the navigation it starts ends).
    async fn wait_path(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let path = self.path().await;
            if path == expected {
                // And the page there has loaded.
                self.find("main").await;
                return;
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("the browser is at {path}, not {expected}, after 20 s; the page:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element `css` selects, waiting up to 20 seconds for it to appear (then failing
    /// with the page's address and source).
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            if Instant::now() > deadline {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {url:?} after 20 s; the page:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Clicks what `css` selects and waits for the page it leads to (the current page's
    /// document is gone).
    async fn click(&self, css: &str) {
        let page = self.find("html").await;
        self.find(css).await.click().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while page.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "clicking {css} led nowhere in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.find("main").await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Imports `file` through the system page's file input.
    async fn import(&self, file: &Path) {
        self.type_into("#file", file.to_str().unwrap()).await;
        self.click("#import").await;
        self.find("#flash").await;
    }

    async fn rows(&self) -> usize {
        self.client
            .find_all(Locator::Css("#certificates tbody tr"))
            .await
            .unwrap()
            .len()
    }

    async fn no_alert(&self) {
        assert!(
            self.client.get_alert_text().await.is_err(),
            "a dialog opened: a script ran"
        );
    }
}

#[test]
fn an_administrator_manages_certificates_in_a_real_browser() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = common::Scratch::new("admin-browser");
    std::fs::create_dir_all(scratch.path()).unwrap();
    let store = scratch.path().join("registry");
    let (_console, base) = start_console(&store, &[]);
    let (_driver, driver) = start_driver();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("admin-console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    // The hostile certificate, as a file to pick.
    let hostile = common_admin_certificate("<script>alert(1)</script>");
    let hostile_file = scratch.path().join("hostile.pem");
    std::fs::write(&hostile_file, &hostile).unwrap();

    runtime.block_on(async {
        let session = Session {
            client: browser(&driver).await,
            base,
            shots,
        };
        let result = std::panic::AssertUnwindSafe(walk(&session, &hostile_file));
        let outcome = futures_util::FutureExt::catch_unwind(result).await;
        if outcome.is_err() {
            session.screenshot("failure").await;
        }
        session.client.clone().close().await.ok();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

/// A self-signed client certificate with this common name, valid now for a year.
fn common_admin_certificate(common_name: &str) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

async fn walk(session: &Session, hostile_file: &Path) {
    let client = &session.client;

    // Not logged in: the login page.
    client.goto(&format!("{}/", session.base)).await.unwrap();
    session.wait_path("/login").await;
    session.screenshot("1-login").await;
    session
        .type_into("#token", "a wrong token, long enough")
        .await;
    session.click("#login").await;
    assert!(session
        .text("#login-error")
        .await
        .contains("not the console's"));
    session.type_into("#token", TOKEN).await;
    session.click("#login").await;
    session.wait_path("/").await;
    assert!(session.text("#no-systems").await.contains("No systems yet"));

    // A source system.
    session.type_into("#system-name", "crm").await;
    client
        .find(Locator::Css("#system-kind"))
        .await
        .unwrap()
        .select_by_value("source")
        .await
        .unwrap();
    session.click("#add-system").await;
    session.wait_path("/systems/crm").await;
    assert!(session
        .text("#flash")
        .await
        .contains("Added the source system crm"));

    // Import a .pem through the file input: its row, with openssl's fingerprint.
    let pem = common::data("sample_source.pem");
    let der = decode(&std::fs::read(&pem).unwrap()).unwrap()[0]
        .der()
        .to_vec();
    let openssl = common::openssl_fields(&der);
    session.import(&pem).await;
    assert!(session
        .text("#flash")
        .await
        .contains("Imported 1 certificate"));
    let row = format!(
        "#certificates tr[data-fingerprint=\"{}\"]",
        openssl["fingerprint"]
    );
    let row_text = session.text(&row).await;
    assert!(row_text.contains(&openssl["subject"]), "{row_text}");
    assert!(row_text.contains("valid"), "{row_text}");

    // Its details, field by field, against openssl x509.
    session.click(&format!("{row} a")).await;
    assert!(session
        .path()
        .await
        .starts_with("/systems/crm/certificates/cert_client_"));
    assert_eq!(session.text("#subject").await, openssl["subject"]);
    assert_eq!(session.text("#issuer").await, openssl["issuer"]);
    assert_eq!(
        session.text("#serial").await.trim_start_matches("00"),
        openssl["serial"]
    );
    assert_eq!(session.text("#version").await, openssl["version"]);
    assert_eq!(
        session.text("#self-issued").await,
        if openssl["subject"] == openssl["issuer"] {
            "yes"
        } else {
            "no"
        }
    );
    assert_eq!(
        session.text("#signature-algorithm").await,
        openssl["signature_algorithm"]
    );
    for (id, field) in [("#not-before", "not_before"), ("#not-after", "not_after")] {
        // openssl: 2045-01-01T00:00:00Z; the page: 2045-01-01 00:00 UTC.
        let expected = format!("{} UTC", openssl[field][..16].replace('T', " "));
        assert_eq!(session.text(id).await, expected, "{field}");
    }
    assert_eq!(
        session.text("#key-size").await,
        format!("{} bits", openssl["key_bits"])
    );
    assert_eq!(session.text("#fingerprint").await, openssl["fingerprint"]);
    assert_eq!(
        session
            .text("#fingerprint-colons")
            .await
            .replace(':', "")
            .to_lowercase(),
        openssl["fingerprint"]
    );
    assert!(session
        .text("#extended-key-usage")
        .await
        .contains("TLS client authentication"));
    assert_eq!(session.text("#ca").await, "no");
    assert!(session.text("#imported").await.ends_with("by admin"));
    session.screenshot("3-details").await;

    // Suspended with a reason (asked for on a confirmation page), shown with a badge, then
    // resumed (issue 23).
    let details = session.path().await;
    session.click("#suspend").await;
    session.wait_path(&format!("{details}/suspend")).await;
    assert!(session
        .text("h1")
        .await
        .contains("Suspend this certificate?"));
    session.type_into("#reason", "key on a lost laptop").await;
    session.click("#confirm-suspend").await;
    session.wait_path(&details).await;
    assert!(session
        .text("#flash")
        .await
        .starts_with("Suspended cert_client_"));
    assert_eq!(session.text(".badge.suspended").await, "suspended");
    assert!(session
        .text("#suspension")
        .await
        .ends_with("by admin: key on a lost laptop"));
    session.screenshot("3-suspended").await;
    session.no_alert().await;
    session.click("#resume").await;
    session.wait_path(&format!("{details}/resume")).await;
    session.click("#confirm-resume").await;
    session.wait_path(&details).await;
    assert!(session
        .text("#flash")
        .await
        .starts_with("Resumed cert_client_"));
    assert!(client.find(Locator::Css(".badge.suspended")).await.is_err());
    assert!(client.find(Locator::Css("#suspend")).await.is_ok());

    // A private key is refused in the decoder's words, and nothing is stored.
    client
        .goto(&format!("{}/systems/crm", session.base))
        .await
        .unwrap();
    session.import(&common::data("key_pkcs8.pem")).await;
    let flash = session.text("#flash").await;
    assert!(flash.contains("Nothing was imported"), "{flash}");
    assert!(flash.contains("private key"), "{flash}");
    assert_eq!(session.rows().await, 1);

    // A subject made to run a script is shown as text.
    session.import(hostile_file).await;
    assert!(session
        .text("#flash")
        .await
        .contains("Imported 1 certificate"));
    session.no_alert().await;
    assert_eq!(session.rows().await, 2);
    let hostile_name = decode(&std::fs::read(hostile_file).unwrap()).unwrap()[0].fingerprint();
    let cell = session
        .text(&format!(
            "#certificates tr[data-fingerprint=\"{hostile_name}\"] td.dn"
        ))
        .await;
    assert_eq!(cell, "CN=\\<script\\>alert(1)\\</script\\>");
    let scripts = client
        .execute(
            "return document.getElementsByTagName('script').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scripts, serde_json::json!(0));
    session.screenshot("2-system").await;

    // Delete, with a confirmation step.
    session.click(&format!("{row} a")).await;
    session.click("#delete").await;
    assert!(session.path().await.ends_with("/delete"));
    assert!(session
        .text("h1")
        .await
        .contains("Delete this certificate?"));
    session.screenshot("4-confirm-delete").await;
    session.click("#confirm-delete").await;
    session.wait_path("/systems/crm").await;
    assert!(session
        .text("#flash")
        .await
        .starts_with("Deleted cert_client_"));
    assert_eq!(session.rows().await, 1);
    assert!(
        client.find(Locator::Css(&row)).await.is_err(),
        "the row is still there"
    );
    session.no_alert().await;

    // A second system, a proxy, with its own certificate; the overview counts both.
    client.goto(&format!("{}/", session.base)).await.unwrap();
    session.type_into("#system-name", "gateway").await;
    client
        .find(Locator::Css("#system-kind"))
        .await
        .unwrap()
        .select_by_value("proxy")
        .await
        .unwrap();
    session.click("#add-system").await;
    session.wait_path("/systems/gateway").await;
    session.import(&common::data("sample_proxy.pem")).await;
    assert!(session
        .text("#flash")
        .await
        .contains("Imported 1 certificate"));
    session.click("a.brand").await;
    session.wait_path("/").await;
    let crm = session.text("#systems tr[data-system=\"crm\"]").await;
    assert!(crm.starts_with("crm source 1 0 0 0 valid"), "{crm}");
    let gateway = session.text("#systems tr[data-system=\"gateway\"]").await;
    assert!(
        gateway.starts_with("gateway proxy 1 0 0 0 valid"),
        "{gateway}"
    );
    session.screenshot("0-systems").await;
    assert_overview_aligned(session).await;

    // The activity page tells who did what.
    client
        .goto(&format!("{}/activity", session.base))
        .await
        .unwrap();
    let activity = session.text("#activity").await;
    assert!(
        activity.contains("delete") && activity.contains("admin"),
        "{activity}"
    );

    // Log out: back to the login page, and the pages need logging in again.
    session.click("#logout").await;
    session.wait_path("/login").await;
    client
        .goto(&format!("{}/systems/crm", session.base))
        .await
        .unwrap();
    session.wait_path("/login").await;
}

/// `--tls-cert`/`--tls-key`: the console is served over HTTPS only, and its session cookie is
/// `Secure`.
#[test]
fn the_example_serves_the_console_over_https_with_secure_cookies() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    let scratch = common::Scratch::new("admin-https");
    std::fs::create_dir_all(scratch.path()).unwrap();
    let tls = common::data("tls");
    let (cert, key) = (tls.join("server.pem"), tls.join("server.key"));
    let (_console, base) = start_console(
        &scratch.path().join("registry"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let address = base
        .strip_prefix("https://")
        .expect("an https URL")
        .to_owned();

    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(tls.join("ca.pem")).unwrap();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            decode(&ca).unwrap()[0].der().to_vec(),
        ))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let request = |text: String| -> String {
        let server_name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection =
            rustls::ClientConnection::new(Arc::new(config.clone()), server_name).unwrap();
        let socket = std::net::TcpStream::connect(&address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut stream = rustls::StreamOwned::new(connection, socket);
        stream.write_all(text.as_bytes()).unwrap();
        let mut response = Vec::new();
        // The server closes after the response (Connection: close); a TLS close_notify or an
        // EOF ends the read.
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    };
    let login = request(format!(
        "GET /login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    ));
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(login.contains("name=\"token\""));
    let body = format!("token={TOKEN}");
    let reply = request(format!(
        "POST /login HTTP/1.1\r\nHost: {address}\r\nOrigin: https://{address}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(reply.starts_with("HTTP/1.1 303"), "{reply}");
    let cookie = reply
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {reply}"));
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // Nothing is served in clear text on that port.
    let mut plain = std::net::TcpStream::connect(&address).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    plain
        .write_all(
            format!("GET /login HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1.1 200"));
}

/// The console on par with the CLI (issue 21), in a real browser: the expired refusal names
/// the checkbox that allows it, the identify page, and removing a system that holds
/// certificates through its confirmation page.
#[test]
fn the_console_names_checkboxes_identifies_and_removes_systems_with_certificates() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = common::Scratch::new("admin-browser-parity");
    std::fs::create_dir_all(scratch.path()).unwrap();
    let (_console, base) = start_console(&scratch.path().join("registry"), &[]);
    let (_driver, driver) = start_driver();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("admin-console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let stranger = scratch.path().join("stranger.pem");
    std::fs::write(&stranger, common_admin_certificate("stranger.example")).unwrap();

    runtime.block_on(async {
        let session = Session {
            client: browser(&driver).await,
            base,
            shots,
        };
        let result = std::panic::AssertUnwindSafe(parity_walk(&session, &stranger));
        let outcome = futures_util::FutureExt::catch_unwind(result).await;
        if outcome.is_err() {
            session.screenshot("parity-failure").await;
        }
        session.client.clone().close().await.ok();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn parity_walk(session: &Session, stranger: &Path) {
    let client = &session.client;
    client
        .goto(&format!("{}/login", session.base))
        .await
        .unwrap();
    session.type_into("#token", TOKEN).await;
    session.click("#login").await;
    session.wait_path("/").await;
    let sample = common::data("sample_source.pem");
    for (system, kind) in [("crm", "source"), ("gateway", "proxy")] {
        client.goto(&format!("{}/", session.base)).await.unwrap();
        session.type_into("#system-name", system).await;
        client
            .find(Locator::Css("#system-kind"))
            .await
            .unwrap()
            .select_by_value(kind)
            .await
            .unwrap();
        session.click("#add-system").await;
        session.wait_path(&format!("/systems/{system}")).await;
        session.import(&sample).await;
        let flash = session.text("#flash").await;
        assert!(flash.contains("Imported 1 certificate"), "{flash}");
    }

    // An expired certificate: refused in the library's words, with the checkbox to tick;
    // ticked, it is imported.
    let expired = common::data("expired.pem");
    session.import(&expired).await;
    let flash = session.text("#flash").await;
    assert!(flash.contains("Nothing was imported"), "{flash}");
    assert!(flash.contains("expired on 2021-01-01T00:00:00Z"), "{flash}");
    assert!(
        flash.contains("tick “allow expired certificates” to import it anyway"),
        "{flash}"
    );
    let label = session.text("label:has(#allow-expired)").await;
    assert_eq!(label, "allow expired certificates");
    assert!(session
        .text("label:has(#allow-without-client-auth)")
        .await
        .contains("allow certificates without clientAuth"));
    assert_eq!(session.rows().await, 1);
    session.screenshot("5-refusal-hint").await;
    session.find("#allow-expired").await.click().await.unwrap();
    session.import(&expired).await;
    let flash = session.text("#flash").await;
    assert!(flash.contains("Imported 1 certificate"), "{flash}");
    assert_eq!(session.rows().await, 2);

    // Identify, from the navigation: a file trusted by both systems, then one by none.
    session.click("#nav-identify").await;
    session.wait_path("/identify").await;
    session.type_into("#file", sample.to_str().unwrap()).await;
    session.click("#identify").await;
    let result = session.text("#identify-result").await;
    assert!(result.contains("orders-service.source.example"), "{result}");
    assert!(result.contains("Trusted by 2 systems"), "{result}");
    assert_eq!(
        session.text("li[data-system=\"crm\"]").await,
        "crm (source)"
    );
    assert_eq!(
        session.text("li[data-system=\"gateway\"]").await,
        "gateway (proxy)"
    );
    session.screenshot("6-identify").await;
    // By fingerprint, typed with colons and in upper case.
    let fingerprint = decode(&std::fs::read(&expired).unwrap()).unwrap()[0]
        .fingerprint()
        .to_colon_hex()
        .to_uppercase();
    session.type_into("#fingerprint", &fingerprint).await;
    session.click("#identify").await;
    let result = session.text("#identify-result").await;
    assert!(result.contains("Trusted by 1 system:"), "{result}");
    assert_eq!(
        session.text("li[data-system=\"gateway\"]").await,
        "gateway (proxy)"
    );
    session.find("#fingerprint").await.clear().await.unwrap();
    session.type_into("#file", stranger.to_str().unwrap()).await;
    session.click("#identify").await;
    let result = session.text("#identify-result").await;
    assert!(
        result.contains("No system trusts this certificate."),
        "{result}"
    );
    // A link of the result leads to the certificate in that system.
    session.type_into("#file", sample.to_str().unwrap()).await;
    session.click("#identify").await;
    session.click("li[data-system=\"gateway\"] a").await;
    assert!(session
        .path()
        .await
        .starts_with("/systems/gateway/certificates/cert_client_"));

    // Remove gateway with its two certificates: the confirmation lists them, then it goes.
    client
        .goto(&format!("{}/systems/gateway", session.base))
        .await
        .unwrap();
    session.click("#remove-system").await;
    session.wait_path("/systems/gateway/remove").await;
    let listed = session.text("#removed-certificates").await;
    assert!(
        listed.contains("orders-service.source.example")
            && listed.contains("expired.client.example")
            && listed.contains("2021-01-01 00:00 UTC"),
        "{listed}"
    );
    session.screenshot("7-confirm-remove").await;
    session.click("#confirm-remove").await;
    session.wait_path("/").await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("Removed the system gateway with its 2 certificates"),
        "{flash}"
    );
    assert!(
        client
            .find(Locator::Css("#systems tr[data-system=\"gateway\"]"))
            .await
            .is_err(),
        "gateway is still listed"
    );
    session.find("#systems tr[data-system=\"crm\"]").await;
    // Identify now finds the certificate in crm only.
    session.click("#nav-identify").await;
    session.type_into("#file", sample.to_str().unwrap()).await;
    session.click("#identify").await;
    let result = session.text("#identify-result").await;
    assert!(result.contains("Trusted by 1 system:"), "{result}");
    assert!(
        client
            .find(Locator::Css("li[data-system=\"gateway\"]"))
            .await
            .is_err(),
        "{result}"
    );

    // What administrators upload (issue 21): a lone intermediate CA is refused, naming the
    // checkbox; a fullchain.pem gives its client certificate and skips its CA, shown as
    // such; a client's own self-signed certificate (CA:TRUE, as `openssl req -x509` makes
    // it) is imported.
    client
        .goto(&format!("{}/systems/crm", session.base))
        .await
        .unwrap();
    assert_eq!(session.rows().await, 1);
    session.import(&common::data("server_only.pem")).await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("is not valid for TLS client authentication")
            && flash.contains("tick “allow certificates without clientAuth” to import it anyway"),
        "{flash}"
    );
    session.import(&common::data("intermediate.pem")).await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("Nothing was imported")
            && flash.contains("is a CA certificate")
            && flash.contains("tick “allow CA certificates” to import it anyway"),
        "{flash}"
    );
    assert_eq!(session.rows().await, 1);
    session.import(&common::data("fullchain.pem")).await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("Imported 1 certificate; skipped 1 certificate of the chain")
            && flash.contains("skipped CN=Inbound Test Intermediate CA")
            && flash.contains(
                "a CA certificate of the chain; a pinned client certificate needs no chain"
            ),
        "{flash}"
    );
    assert_eq!(session.rows().await, 2);
    session.screenshot("8-fullchain").await;
    session.import(&common::data("fullchain.pem")).await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains(
            "Nothing new: 1 certificate already present; skipped 1 certificate of the chain"
        ),
        "{flash}"
    );
    session.import(&common::data("req_x509_ec.pem")).await;
    let flash = session.text("#flash").await;
    assert!(flash.contains("Imported 1 certificate"), "{flash}");
    assert_eq!(session.rows().await, 3);
    // Its details: a CA certificate by its flag, self-signed, its key not restricted.
    let own = decode(&std::fs::read(common::data("req_x509_ec.pem")).unwrap()).unwrap()[0].name();
    client
        .goto(&format!("{}/systems/crm/certificates/{own}", session.base))
        .await
        .unwrap();
    assert_eq!(session.text("#ca").await, "yes");
    assert_eq!(session.text("#self-issued").await, "yes");
    assert_eq!(session.text("#self-signed").await, "yes");
    assert_eq!(session.text("#key-usage").await, "not restricted");
    session.screenshot("9-self-signed-details").await;
    // The client of the chain: issued by its CA, its key for signatures.
    let leaf =
        decode(&std::fs::read(common::data("via_intermediate.pem")).unwrap()).unwrap()[0].name();
    client
        .goto(&format!("{}/systems/crm/certificates/{leaf}", session.base))
        .await
        .unwrap();
    assert_eq!(session.text("#self-signed").await, "no");
    assert_eq!(session.text("#ca").await, "no");
    // A key that could never authenticate (RSA-1024, SHA-1): refused naming the checkbox;
    // ticked, imported and badged as unusable, its weaknesses on its details page.
    client
        .goto(&format!("{}/systems/crm", session.base))
        .await
        .unwrap();
    let legacy = common::data("rsa1024_sha1.pem");
    session.import(&legacy).await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("has a 1024-bit RSA key")
            && flash
                .contains("tick “allow keys that could never authenticate” to import it anyway"),
        "{flash}"
    );
    session.find("#allow-weak").await.click().await.unwrap();
    session.import(&legacy).await;
    let flash = session.text("#flash").await;
    assert!(flash.contains("Imported 1 certificate"), "{flash}");
    let name = decode(&std::fs::read(&legacy).unwrap()).unwrap()[0].name();
    let row = session
        .text(&format!(
            "#certificates tr[data-fingerprint=\"{}\"]",
            name.fingerprint()
        ))
        .await;
    assert!(row.contains("unusable key"), "{row}");
    client
        .goto(&format!("{}/systems/crm/certificates/{name}", session.base))
        .await
        .unwrap();
    let weaknesses = session.text("#weaknesses").await;
    assert!(
        weaknesses.contains("1024-bit RSA key") && weaknesses.contains("sha1WithRSAEncryption"),
        "{weaknesses}"
    );
    session.screenshot("10-weak-key-details").await;

    // The activity page says what was skipped, and from which file.
    client
        .goto(&format!("{}/activity", session.base))
        .await
        .unwrap();
    let activity = session.text("main").await;
    assert!(
        activity.contains("skipped") && activity.contains("(upload fullchain.pem)"),
        "{activity}"
    );
}

/// The widths the layout is checked at: a phone (the narrow layout), a small tablet, either
/// side of the breakpoints of the narrow layout (60rem = 960 px) and of the activity's cards
/// (72rem = 1152 px), and a laptop.
const WIDTHS: [u32; 7] = [420, 700, 950, 970, 1140, 1165, 1280];

/// Makes the page area (the viewport, not the window) `width` pixels wide.
async fn set_viewport(session: &Session, width: u32, height: u32) {
    let inner = || async {
        session
            .client
            .execute("return window.innerWidth", vec![])
            .await
            .unwrap()
            .as_i64()
            .unwrap()
    };
    let mut window = width;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        session
            .client
            .set_window_size(window, height)
            .await
            .unwrap();
        // A resize takes effect a moment later.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = inner().await;
        if now == i64::from(width) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the browser would not make its page {width} px wide (it is {now} px)"
        );
        // The window's frame takes the difference.
        window = u32::try_from(i64::from(window) + i64::from(width) - now).unwrap_or(width);
    }
}

/// What is wrong with the layout of the page the browser shows: the page wider than the
/// window (it would scroll sideways), an element reaching past the window's right edge, a
/// name squeezed to a few letters a line, a card's label that is not its column's header.
const LAYOUT_PROBLEMS: &str = r#"
const problems = [];
const width = window.innerWidth;
const describe = (element) => element.tagName.toLowerCase()
    + (element.id ? '#' + element.id : '')
    + (element.className && typeof element.className === 'string' ? '.' + element.className.trim().split(/\s+/).join('.') : '')
    + ' "' + element.textContent.trim().slice(0, 40) + '"';
// The page's width without a vertical scroll bar: wider content scrolls sideways.
const visible = document.documentElement.clientWidth;
const scroll = document.documentElement.scrollWidth;
if (scroll > width || scroll > visible) {
    problems.push(`the page is ${scroll} px wide in a ${width} px window (${visible} px inside its scroll bar): it scrolls sideways`);
}
const clipped = (element) => {
    for (let at = element; at; at = at.parentElement) {
        if (getComputedStyle(at).clipPath !== 'none') return true;
    }
    return false;
};
for (const element of document.body.querySelectorAll('*')) {
    const rect = element.getBoundingClientRect();
    if (rect.width > 0 && rect.right > visible + 0.5 && !clipped(element)) {
        problems.push(`${describe(element)} reaches ${Math.round(rect.right)} px, past the page's ${visible}`);
    }
}
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(text);
    const rect = range.getBoundingClientRect();
    if (rect.width > 0 && rect.right > visible + 0.5 && !clipped(text.parentElement)) {
        problems.push(`the text "${text.textContent.trim().slice(0, 40)}" reaches ${Math.round(rect.right)} px, past the page's ${visible}`);
    }
}
for (const cell of document.querySelectorAll('td.dn, td.detail')) {
    const rect = cell.getBoundingClientRect();
    if (cell.textContent.trim() && rect.width < 120) {
        problems.push(`${describe(cell)} is squeezed to ${Math.round(rect.width)} px`);
    }
}
for (const table of document.querySelectorAll('table')) {
    const headers = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim().toLowerCase());
    for (const row of table.querySelectorAll('tbody tr')) {
        [...row.children].forEach((cell, index) => {
            const content = getComputedStyle(cell, '::before').content;
            if (content === 'none' || content === 'normal') return;
            const label = JSON.parse(content).toLowerCase();
            if (label !== headers[index]) {
                problems.push(`${describe(cell)} is labelled "${label}" under the header "${headers[index]}"`);
            }
        });
    }
}
return problems;
"#;

/// For each column of the overview, how far its header's text is from its cells' text, on
/// the side the column aligns to: the right for columns of numbers, the left for the others.
const OVERVIEW_ALIGNMENT: &str = r#"
const extent = (element) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    return range.getBoundingClientRect();
};
const table = document.getElementById('systems');
const headers = [...table.querySelectorAll('thead th')];
const rows = [...table.querySelectorAll('tbody tr')];
return headers.map((header, index) => {
    const cells = rows.map((row) => row.children[index]);
    const numeric = cells.every((cell) => /^\d+$/.test(cell.textContent.trim()));
    const side = numeric ? 'right' : 'left';
    const offsets = cells.map((cell) => Math.abs(extent(cell)[side] - extent(header)[side]));
    // And aligned the same way, which a header as wide as its column would hide.
    const aligned = cells.every((cell) => getComputedStyle(cell).textAlign === getComputedStyle(header).textAlign);
    return { header: header.textContent.trim(), numeric, side, aligned, worst: Math.max(...offsets) };
});
"#;

/// Asserts that each header of the overview's table lines up with its cells: on the right
/// for the four columns of numbers, on the left for the others.
async fn assert_overview_aligned(session: &Session) {
    let alignment = session
        .client
        .execute(OVERVIEW_ALIGNMENT, vec![])
        .await
        .unwrap();
    let columns = alignment.as_array().unwrap();
    assert_eq!(columns.len(), 7, "{alignment}");
    assert_eq!(
        columns
            .iter()
            .filter(|column| column["numeric"] == true)
            .count(),
        4,
        "{alignment}"
    );
    for column in columns {
        assert!(
            column["worst"].as_f64().unwrap() <= 0.5 && column["aligned"] == true,
            "the header {} is not aligned with its cells on the {}: {alignment}",
            column["header"],
            column["side"]
        );
    }
}

/// A self-signed client certificate with a long, many-part subject, valid from
/// `not_before_days` to `not_after_days` days from now; a CA certificate when `ca`.
fn long_subject_certificate(
    common_name: &str,
    not_before_days: i64,
    not_after_days: i64,
    ca: bool,
) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    for (kind, value) in [
        (rcgen::DnType::CommonName, common_name),
        (
            rcgen::DnType::OrganizationalUnitName,
            "Platform Engineering / Inbound Integrations",
        ),
        (
            rcgen::DnType::OrganizationName,
            "Example Payments International Holding GmbH",
        ),
        (rcgen::DnType::LocalityName, "Frankfurt am Main"),
        (rcgen::DnType::CountryName, "DE"),
    ] {
        params.distinguished_name.push(kind, value);
    }
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(not_before_days);
    params.not_after = now + time::Duration::days(not_after_days);
    if ca {
        // A CA's: it signs certificates (a self-signed cA=TRUE certificate without
        // keyCertSign would be taken for a client's own).
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
    } else {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

/// Every page of the console at a phone's width and wider: none scrolls sideways, names
/// are not squeezed to a few letters a line, each card's labels are its column's headers;
/// the overview's headers line up with their columns; a long refusal's detail keeps its
/// activity row short and opens to the whole text. Screenshots of the narrow layout go to
/// `target/admin-console-screenshots/narrow-*.png`.
#[test]
fn every_page_fits_a_narrow_screen_and_the_columns_line_up() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = common::Scratch::new("admin-browser-layout");
    std::fs::create_dir_all(scratch.path()).unwrap();
    let store = scratch.path().join("registry");
    let (_console, base) = start_console(&store, &[]);
    let (_driver, driver) = start_driver();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("admin-console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let files = scratch.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let write = |name: &str, pem: String| {
        let path = files.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let long_name = "payments-gateway-client.eu-central-1.production.internal.example.com";
    let client = write(
        "client.pem",
        long_subject_certificate(long_name, -1, 365, false),
    );
    let expired = write(
        "expired.pem",
        long_subject_certificate("retired-client", -400, -35, false),
    );
    let ca = write(
        "ca.pem",
        long_subject_certificate(
            "Example Payments Issuing CA 2026 (internal)",
            -1,
            3650,
            true,
        ),
    );

    runtime.block_on(async {
        let session = Session {
            client: browser(&driver).await,
            base,
            shots,
        };
        let result = std::panic::AssertUnwindSafe(check_every_page(
            &session,
            &store,
            [client.as_path(), expired.as_path(), ca.as_path()],
        ));
        let outcome = futures_util::FutureExt::catch_unwind(result).await;
        if outcome.is_err() {
            session.screenshot("layout-failure").await;
        }
        session.client.clone().close().await.ok();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn check_every_page(session: &Session, store: &Path, [client, expired, ca]: [&Path; 3]) {
    let base = &session.base;
    let goto = |path: String| async move {
        session.client.goto(&format!("{base}{path}")).await.unwrap();
        session.find("main").await;
    };
    // The login page, and its answer to a wrong token.
    goto("/login".into()).await;
    check_page(session, "login").await;
    session
        .type_into("#token", "a wrong token, long enough")
        .await;
    session.click("#login").await;
    session.find("#login-error").await;
    check_page(session, "login-refused").await;
    session.type_into("#token", TOKEN).await;
    session.click("#login").await;
    session.wait_path("/").await;

    // A system with the longest name there may be, holding a certificate with a long subject,
    // an expired one, and a damaged entry; a refused CA certificate for the activity.
    let system = "partner-gateway.eu-central-1.payments-production-cluster-0123456";
    assert_eq!(system.len(), 64);
    session.type_into("#system-name", system).await;
    session.click("#add-system").await;
    let system_page = format!("/systems/{system}");
    session.wait_path(&system_page).await;
    session.import(client).await;
    assert!(session.text("#flash").await.contains("Imported 1"));
    session
        .find("input[name=allow_expired]")
        .await
        .click()
        .await
        .unwrap();
    session.import(expired).await;
    assert!(session.text("#flash").await.contains("Imported 1"));
    session.import(ca).await;
    assert!(session
        .text("#flash")
        .await
        .contains("Nothing was imported"));
    let damaged = decode(long_subject_certificate("damaged", -1, 30, false).as_bytes()).unwrap()[0]
        .name()
        .to_string();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(store.join(format!("systems/{system}/{damaged}.der")))
            .unwrap();
        file.write_all(b"not a certificate").unwrap();
    }
    let certificate = decode(&std::fs::read(client).unwrap()).unwrap()[0]
        .name()
        .to_string();

    goto("/".into()).await;
    let row = session
        .text(&format!("#systems tr[data-system=\"{system}\"]"))
        .await;
    assert!(row.contains('2') && row.contains("damaged"), "{row}");
    check_page(session, "0-systems").await;
    set_viewport(session, 1280, 860).await;
    assert_overview_aligned(session).await;

    goto(system_page.clone()).await;
    assert_eq!(session.rows().await, 3);
    check_page(session, "1-system").await;

    goto(format!("{system_page}/certificates/{certificate}")).await;
    assert_eq!(session.text("#version").await, "3");
    assert_eq!(session.text("#self-issued").await, "yes");
    check_page(session, "2-details").await;
    goto(format!("{system_page}/certificates/{damaged}")).await;
    session.find("#problem").await;
    check_page(session, "3-damaged").await;
    goto(format!("{system_page}/certificates/{certificate}/delete")).await;
    session.find("#confirm-delete").await;
    check_page(session, "4-confirm-delete").await;
    goto(format!("{system_page}/purge-expired")).await;
    session.find("#confirm-purge").await;
    check_page(session, "5-confirm-purge").await;
    goto("/nothing/here".into()).await;
    session.find("#error").await;
    check_page(session, "6-error").await;
    goto(format!("{system_page}/remove")).await;
    session.find("#confirm-remove").await;
    check_page(session, "6-confirm-remove").await;
    goto("/identify".into()).await;
    session.find("#identify").await;
    check_page(session, "6-identify").await;

    // The activity: the refusal's long detail is clamped to two lines, and opens (a click on
    // its summary, no script) to the whole text.
    goto("/activity".into()).await;
    check_page(session, "7-activity").await;
    for width in [1280, 420] {
        set_viewport(session, width, 860).await;
        let long = session.find("#activity td.detail details.long").await;
        let summary = long.find(Locator::Css("summary")).await.unwrap();
        let measure = r#"
            const [summary] = arguments;
            const line = parseFloat(getComputedStyle(summary).lineHeight);
            const lines = summary.getBoundingClientRect().height / line;
            const row = summary.closest('tr');
            // The rows whose detail is short.
            const others = [...document.querySelectorAll('#activity tbody tr')]
                .filter((other) => !other.querySelector('td.detail details'))
                .map((other) => other.getBoundingClientRect().height);
            return { lines, text: summary.textContent, open: summary.parentElement.open,
                     height: row.getBoundingClientRect().height,
                     limit: Math.max(...others) + 3 * line };
        "#;
        if width == 1280 {
            session.screenshot("wide-7-activity").await;
        }
        let element = serde_json::to_value(&summary).unwrap();
        let closed = session
            .client
            .execute(measure, vec![element.clone()])
            .await
            .unwrap();
        assert!(
            closed["lines"].as_f64().unwrap() <= 2.05 && closed["open"] == false,
            "at {width} px: {closed}"
        );
        assert!(
            closed["text"].as_str().unwrap().contains("CA certificate"),
            "{closed}"
        );
        assert!(
            closed["height"].as_f64().unwrap() <= closed["limit"].as_f64().unwrap(),
            "at {width} px the long detail makes its row too tall: {closed}"
        );
        summary.click().await.unwrap();
        let open = session
            .client
            .execute(measure, vec![element])
            .await
            .unwrap();
        assert!(
            open["open"] == true && open["lines"].as_f64().unwrap() > 2.05,
            "at {width} px, opened: {open}"
        );
        assert_eq!(open["text"], closed["text"]);
        if width == 420 {
            session.screenshot("narrow-8-activity-opened").await;
        }
        summary.click().await.unwrap();
    }
    session.no_alert().await;
}

/// Checks the page the browser shows at each of [`WIDTHS`], and keeps a screenshot of its
/// narrowest.
async fn check_page(session: &Session, name: &str) {
    // With its style sheet (a click returns once the new page's body is there).
    let deadline = Instant::now() + Duration::from_secs(20);
    while session
        .client
        .execute("return document.readyState", vec![])
        .await
        .unwrap()
        != "complete"
    {
        assert!(Instant::now() < deadline, "the {name} page did not load");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for width in WIDTHS {
        set_viewport(session, width, if width < 500 { 1100 } else { 860 }).await;
        let problems = session
            .client
            .execute(LAYOUT_PROBLEMS, vec![])
            .await
            .unwrap();
        assert_eq!(
            problems,
            serde_json::json!([]),
            "the {name} page at {width} px ({})",
            session.client.current_url().await.unwrap()
        );
        if width == WIDTHS[0] {
            session.screenshot(&format!("narrow-{name}")).await;
        }
    }
    set_viewport(session, 1280, 860).await;
}

/// Permissions (issue 24) in a real browser: a proxy system's page says it holds none, the
/// form (one per line) saves two, a hostile line changes nothing and is shown as text (no
/// script runs), emptying the field revokes them all. (The console adds source and proxy
/// systems only; a target system's page is in the API test.)
#[test]
fn an_administrator_edits_a_system_s_permissions_in_a_real_browser() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let scratch = common::Scratch::new("admin-browser-permissions");
    std::fs::create_dir_all(scratch.path()).unwrap();
    let (_console, base) = start_console(&scratch.path().join("registry"), &[]);
    let (_driver, driver) = start_driver();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("admin-console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    runtime.block_on(async {
        let session = Session {
            client: browser(&driver).await,
            base,
            shots,
        };
        let result = std::panic::AssertUnwindSafe(permissions_walk(&session));
        let outcome = futures_util::FutureExt::catch_unwind(result).await;
        if outcome.is_err() {
            session.screenshot("permissions-failure").await;
        }
        session.client.clone().close().await.ok();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn permissions_walk(session: &Session) {
    let client = &session.client;
    client
        .goto(&format!("{}/login", session.base))
        .await
        .unwrap();
    session.type_into("#token", TOKEN).await;
    session.click("#login").await;
    session.wait_path("/").await;
    session.type_into("#system-name", "gateway").await;
    client
        .find(Locator::Css("#system-kind"))
        .await
        .unwrap()
        .select_by_value("proxy")
        .await
        .unwrap();
    session.click("#add-system").await;
    session.wait_path("/systems/gateway").await;
    assert_eq!(
        session.text("#no-permissions").await,
        "This system holds no permissions."
    );
    session
        .type_into("#permissions-field", "proxy-api\nrealtime-api\n")
        .await;
    session.click("#save-permissions").await;
    session.wait_path("/systems/gateway").await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("The system gateway holds proxy-api, realtime-api"),
        "{flash}"
    );
    assert_eq!(
        session.text("#permissions").await,
        "proxy-api\nrealtime-api"
    );
    session.screenshot("permissions").await;

    session
        .type_into("#permissions-field", "<img src=x onerror=alert(1)>\n")
        .await;
    session.click("#save-permissions").await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("The permissions were not changed"),
        "{flash}"
    );
    assert!(flash.contains("invalid permission \"<img\""), "{flash}");
    session.no_alert().await;
    assert_eq!(
        session.text("#permissions").await,
        "proxy-api\nrealtime-api"
    );

    session
        .find("#permissions-field")
        .await
        .clear()
        .await
        .unwrap();
    session.click("#save-permissions").await;
    let flash = session.text("#flash").await;
    assert!(
        flash.contains("The system gateway holds no permissions"),
        "{flash}"
    );
    session.find("#no-permissions").await;
}
