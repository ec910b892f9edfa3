//! `admin::serve` with real sockets: slow clients are dropped at the header-read timeout, in
//! plain HTTP and after the TLS handshake, and at the connection cap a real request is served
//! once they are gone (the back-off on accept errors: the unit test in src/admin/serve.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::admin_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use inbound_certs::admin::{self, ServeOptions};
use inbound_certs::Registry;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request cut before the blank line that ends its headers.
const HALF_SENT: &[u8] = b"GET /login HTTP/1.1\r\nHost: console.example\r\nUser-Agent: slow";

/// The socket buffers of the tests' clients and server, in bytes.
const SOCKET_BUFFER: u32 = 64 * 1024;

/// The longest any test waits for the server before calling it hung (a guard, not a
/// measurement).
const HUNG: Duration = Duration::from_secs(60);

async fn start(options: ServeOptions) -> SocketAddr {
    // Small socket buffers, as between hosts: the kernel cannot take a whole upload for
    // the server, which must read it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(1024).unwrap();
    let address = listener.local_addr().unwrap();
    let app = admin_common::console(Registry::in_memory().with_clock(|| admin_common::NOW));
    tokio::spawn(admin::serve(listener, app, options, std::future::pending()));
    address
}

/// Everything the server sends until it closes the connection.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(HUNG, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
    });
    read.await
        .unwrap_or_else(|_| panic!("the server kept a slow client past {HUNG:?}"));
    received
}

async fn get_login(stream: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> String {
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: console.example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    String::from_utf8_lossy(&until_closed(stream).await).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_dropped_at_the_header_timeout() {
    let address = start(
        ServeOptions::new()
            .max_connections(1000)
            .header_read_timeout(Duration::from_millis(500)),
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        slow.push(stream);
    }
    // A connection that sends nothing at all is dropped as well.
    slow.push(TcpStream::connect(address).await.unwrap());
    for stream in &mut slow {
        let received = until_closed(stream).await;
        assert!(
            !String::from_utf8_lossy(&received).contains("200 OK"),
            "{}",
            String::from_utf8_lossy(&received)
        );
    }
    let mut real = TcpStream::connect(address).await.unwrap();
    assert!(get_login(&mut real).await.starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_the_oldest_idle_connection_makes_room_for_a_real_request() {
    // The header timeout never comes into it.
    let address = start(
        ServeOptions::new()
            .max_connections(8)
            .header_read_timeout(Duration::from_secs(3600)),
    )
    .await;
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        // A whole request first, its answer proving the connection accepted before the
        // next one connects (their order is their age); then half of the next request.
        stream
            .write_all(b"GET /login HTTP/1.1\r\nHost: console.example\r\n\r\n")
            .await
            .unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&received).contains("</html>") {
            let count = stream.read(&mut buffer).await.unwrap();
            assert_ne!(count, 0, "closed before its answer");
            received.extend_from_slice(&buffer[..count]);
        }
        stream.write_all(HALF_SENT).await.unwrap();
        slow.push(stream);
    }
    let mut real = TcpStream::connect(address).await.unwrap();
    let reply = get_login(&mut real).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    // The oldest slow client was closed to make room.
    let received = until_closed(&mut slow[0]).await;
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_with_a_request_in_progress_is_not_closed_to_make_room() {
    let address = start(
        ServeOptions::new()
            .max_connections(1)
            .request_timeout(Duration::from_secs(1)),
    )
    .await;
    // A request whose body is still coming: in progress until its request timeout. The
    // server's `100 Continue` says its handler is reading the body.
    let mut busy = TcpStream::connect(address).await.unwrap();
    busy.write_all(
        format!(
            "POST /api/systems HTTP/1.1\r\nHost: console.example\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
            admin_common::TOKEN
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 256];
    while !String::from_utf8_lossy(&received).contains("100 Continue\r\n\r\n") {
        let count = busy.read(&mut buffer).await.unwrap();
        assert_ne!(count, 0, "closed before 100 Continue");
        received.extend_from_slice(&buffer[..count]);
    }
    busy.write_all(b"{\"name\"").await.unwrap();
    let mut real = TcpStream::connect(address).await.unwrap();
    let reply = get_login(&mut real).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    // The request in progress got its answer: it was not cut off.
    let answer = String::from_utf8_lossy(&until_closed(&mut busy).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_ends_gets_408_at_the_request_timeout() {
    let address = start(
        ServeOptions::new()
            .header_read_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_millis(500)),
    )
    .await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/systems HTTP/1.1\r\nHost: console.example\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"name\"",
                admin_common::TOKEN
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let reply = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("request_timeout"), "{reply}");
}

/// A TLS server configuration for `localhost`, and a client configuration that trusts it.
fn tls_pair() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = certificate.der().clone();
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![der.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    // Offered by the service's configuration; `serve` speaks HTTP/1.1 only, and says so.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (Arc::new(server), Arc::new(client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_slow_handshakes_and_slow_requests_are_dropped() {
    let (server, client) = tls_pair();
    let address = start(
        ServeOptions::new()
            .tls(server)
            .max_connections(100)
            .header_read_timeout(Duration::from_millis(500)),
    )
    .await;
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut slow = Vec::new();
    for _ in 0..20 {
        let stream = TcpStream::connect(address).await.unwrap();
        let mut stream = connector.connect(name.clone(), stream).await.unwrap();
        stream.write_all(HALF_SENT).await.unwrap();
        stream.flush().await.unwrap();
        slow.push(stream);
    }
    for stream in &mut slow {
        let received = until_closed(stream).await;
        assert!(!String::from_utf8_lossy(&received).contains("200 OK"));
    }
    // One that never starts its handshake.
    let mut silent = TcpStream::connect(address).await.unwrap();
    until_closed(&mut silent).await;

    let stream = TcpStream::connect(address).await.unwrap();
    let mut real = connector.connect(name, stream).await.unwrap();
    assert_eq!(real.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let reply = get_login(&mut real).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
}

/// Sends the whole request, then reads the answer's status line, as Python's urllib does.
async fn send_all_then_read(address: SocketAddr, head: &str, body: &[u8]) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(SOCKET_BUFFER).unwrap();
    let mut stream = socket.connect(address).await.unwrap();
    let mut request = head.as_bytes().to_vec();
    request.extend_from_slice(body);
    if let Err(error) = stream.write_all(&request).await {
        return format!("writing failed: {error}");
    }
    let reply = until_closed(&mut stream).await;
    String::from_utf8_lossy(&reply)
        .lines()
        .next()
        .unwrap_or("nothing")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_an_oversized_upload_whole_before_reading_gets_413() {
    let address = start(ServeOptions::new()).await;
    let body = vec![b'A'; 2 << 20];
    let (content_type, form) = admin_common::multipart(&[("file", Some("big.pem"), &body)]);
    for attempt in 0..10 {
        let head = format!(
            "POST /api/systems/crm/certificates HTTP/1.1\r\nHost: console.example\r\n\
             Authorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            admin_common::TOKEN,
            body.len()
        );
        let status = send_all_then_read(address, &head, &body).await;
        assert_eq!(
            status, "HTTP/1.1 413 Payload Too Large",
            "raw body, try {attempt}"
        );
        let head = format!(
            "POST /api/systems/crm/certificates HTTP/1.1\r\nHost: console.example\r\n\
             Authorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            admin_common::TOKEN,
            form.len()
        );
        let status = send_all_then_read(address, &head, &form).await;
        assert_eq!(
            status, "HTTP/1.1 413 Payload Too Large",
            "multipart, try {attempt}"
        );
    }
}
