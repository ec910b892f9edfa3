//! Reading the rest of a refused body before answering 413, within bounds: a client that
//! sends its whole body before it reads (Python's urllib and requests do) would otherwise
//! have its connection reset by the unread bytes and see "Broken pipe" instead of the answer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use crate::sync::MutexExt;

/// The most bytes read and thrown away after a refusal (nginx's `lingering_close` reads for
/// a bounded time too); a client that declares more is answered at once.
pub(super) const MAX_DRAIN_BYTES: u64 = 4 << 20;

/// The longest a refused body is read for.
pub(super) const MAX_DRAIN_TIME: Duration = Duration::from_secs(5);

/// A request body the handler reads while the middleware keeps a hold on it, to read the rest
/// after the handler gave up.
struct Shared(Arc<Mutex<Option<Body>>>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.0.locked().as_mut() {
            Some(body) => Pin::new(body).poll_frame(context),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .locked()
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .locked()
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

/// Around every request: when the answer is 413, the rest of the body is read (at most
/// [`MAX_DRAIN_BYTES`], for at most [`MAX_DRAIN_TIME`]) before the answer is sent.
pub(super) async fn drain_refused(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let (parts, body) = request.into_parts();
    let held = Arc::new(Mutex::new(Some(body)));
    let request = Request::from_parts(parts, Body::new(Shared(Arc::clone(&held))));
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && declared.is_none_or(|length| length <= MAX_DRAIN_BYTES)
    {
        let rest = held.locked().take();
        if let Some(mut rest) = rest {
            let _ = tokio::time::timeout(MAX_DRAIN_TIME, async {
                let mut drained: u64 = 0;
                while drained <= MAX_DRAIN_BYTES {
                    match rest.frame().await {
                        Some(Ok(frame)) => {
                            let length = frame.data_ref().map_or(0, |data| data.len());
                            drained = drained.saturating_add(length as u64);
                        }
                        _ => break,
                    }
                }
            })
            .await;
        }
    }
    response
}
