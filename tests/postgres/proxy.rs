//! A TCP proxy in front of the test server: counts what passes, and breaks a write's
//! connection at `COMMIT` when armed.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::server::Server;

/// Where a [`Proxy`] breaks the next write's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Break {
    /// Closes both sides instead of passing `COMMIT` on: the write did not commit.
    BeforeCommit,
    /// Passes `COMMIT` on and closes both sides instead of passing the server's answer back:
    /// the write committed, but its client cannot know.
    AfterCommit,
}

/// A TCP proxy in front of the test server that counts what the server sends, counts the
/// snapshots (`REPEATABLE READ` transactions) clients start, and breaks a write's connection
/// at `COMMIT` when armed.
pub(crate) struct Proxy {
    port: u16,
    pub(crate) state: Arc<ProxyState>,
}

#[derive(Default)]
pub(crate) struct ProxyState {
    pub(crate) to_clients: std::sync::atomic::AtomicU64,
    pub(crate) snapshots: std::sync::atomic::AtomicU64,
    pub(crate) armed: std::sync::Mutex<Option<Break>>,
}

impl Proxy {
    pub(crate) fn start(server: &Server) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let upstream = server.port;
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                Proxy::relay(client, server, shared.clone());
            }
        });
        Proxy { port, state }
    }

    fn relay(client: std::net::TcpStream, server: std::net::TcpStream, state: Arc<ProxyState>) {
        use std::io::{Read, Write};
        let dropping = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let close = {
            let (client, server) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            Arc::new(move || {
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            })
        };
        let (mut from_client, mut to_server) =
            (client.try_clone().unwrap(), server.try_clone().unwrap());
        let (upstream_state, upstream_dropping, upstream_close) =
            (state.clone(), dropping.clone(), close.clone());
        std::thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            let mut wrote = false;
            while let Ok(n) = from_client.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let bytes = &buffer[..n];
                let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
                if has(b"REPEATABLE READ") {
                    upstream_state.snapshots.fetch_add(1, Ordering::Relaxed);
                }
                let armed = *upstream_state.armed.lock().unwrap();
                if armed.is_some() && (has(b"INSERT INTO") || has(b"DELETE FROM")) {
                    wrote = true;
                }
                if wrote && has(b"COMMIT") {
                    if let Some(armed) = upstream_state.armed.lock().unwrap().take() {
                        if armed == Break::BeforeCommit {
                            break;
                        }
                        upstream_dropping.store(true, Ordering::SeqCst);
                    }
                }
                if to_server.write_all(bytes).is_err() {
                    break;
                }
            }
            upstream_close();
        });
        let (mut from_server, mut to_client) = (server, client);
        std::thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            while let Ok(n) = from_server.read(&mut buffer) {
                if n == 0 || dropping.load(Ordering::SeqCst) {
                    break;
                }
                state.to_clients.fetch_add(n as u64, Ordering::Relaxed);
                if to_client.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
            close();
        });
    }

    pub(crate) fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    pub(crate) fn arm(&self, at: Break) {
        *self.state.armed.lock().unwrap() = Some(at);
    }
}
