//! The bounded accept loop both servers share (the front door and the console's
//! `admin::serve`): a connection cap that sheds the oldest idle
//! connection to make room, and back-off when accepting fails.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

use crate::sync::MutexExt;

/// The first pause after an accept error that is not the client's (such as "too many open
/// files"); it doubles with each further error, up to [`MAX_BACKOFF`].
pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(5);

/// The longest pause between two accepts that fail.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The most bytes of one request's head (request line and headers) held in memory.
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where connections come from: a TCP listener, or a test's stand-in.
pub(crate) trait Accept {
    /// A connection's stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and its peer's address.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        TcpListener::accept(self).await
    }
}

/// The names of the counters a loop increments, so that each server keeps its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopMetrics {
    /// Connections closed to make room under the cap.
    pub(crate) shed: &'static str,
    /// Accepts that failed for a reason that is not the client's.
    pub(crate) accept_errors: &'static str,
}

/// Errors of one connection that its client caused (it gave up before it was accepted):
/// the next accept may succeed at once.
fn is_client_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// The connections being served, oldest first, and whether each has a request in progress.
#[derive(Default)]
struct Connections {
    next: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

/// One connection's state, shared by its task and the accept loop.
#[derive(Default)]
pub(crate) struct Slot {
    /// Requests in progress on it.
    busy: AtomicUsize,
    /// Told when the connection is to be closed to make room.
    close: Notify,
}

impl Connections {
    fn open(&mut self) -> (u64, Arc<Slot>) {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        let slot = Arc::new(Slot::default());
        self.open.insert(id, Arc::clone(&slot));
        (id, slot)
    }

    /// Closes the oldest connection with no request in progress, if there is one.
    fn shed_oldest_idle(&mut self, metric: &'static str) {
        let idle = self
            .open
            .iter()
            .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        if let Some(slot) = idle.and_then(|id| self.open.remove(&id)) {
            metrics::counter!(metric).increment(1);
            slot.close.notify_one();
        }
    }
}

/// Accepts connections from `listener` until `shutdown` completes, at most `limit` served at
/// once, and runs `serve` on each in its own task (which ends early when the connection is
/// shed). At the cap, the oldest connection with no request in progress is closed to make
/// room; when all are busy, the loop waits for one to end. Accept errors that are not the
/// client's are retried after a pause that doubles up to [`MAX_BACKOFF`].
pub(crate) async fn accept_loop<A, F, Fut>(
    mut listener: A,
    limit: usize,
    counters: LoopMetrics,
    shutdown: impl Future<Output = ()> + Send,
    serve: F,
) where
    A: Accept,
    F: Fn(A::Stream, SocketAddr, Arc<Slot>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let connections = Arc::new(Mutex::new(Connections::default()));
    let mut backoff = MIN_BACKOFF;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = MIN_BACKOFF;
                accepted
            }
            Err(error) if is_client_error(&error) => continue,
            Err(_) => {
                metrics::counter!(counters.accept_errors).increment(1);
                // Out of descriptors or memory: retrying at once would fail again at once.
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => return,
                }
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
                continue;
            }
        };
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                connections.locked().shed_oldest_idle(counters.shed);
                // Nothing more is accepted meanwhile: one connection past the cap at most.
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                    () = &mut shutdown => return,
                }
            }
        };
        let (id, slot) = connections.locked().open();
        let served = serve(stream, peer, Arc::clone(&slot));
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            tokio::select! {
                () = served => {}
                () = slot.close.notified() => {}
            }
            connections.locked().open.remove(&id);
            drop(permit);
        });
    }
}

/// A request in progress on a connection, counted until its answer is done or dropped.
pub(crate) struct InProgress(Arc<Slot>);

impl InProgress {
    /// Counts a request on the connection of `slot` as in progress.
    pub(crate) fn start(slot: &Arc<Slot>) -> Self {
        slot.busy.fetch_add(1, Ordering::SeqCst);
        InProgress(Arc::clone(slot))
    }

    /// An answer's body that keeps this request in progress until it is sent (or dropped).
    pub(crate) fn track(self, body: Body) -> Body {
        Body::new(Tracked {
            body,
            _in_progress: self,
        })
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body, which keeps its request in progress until it is sent (or dropped).
struct Tracked {
    body: Body,
    _in_progress: InProgress,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.body)
    }
}
