//! [`RequirePermission`]: a route layer that lets a request through only when the systems
//! of its [`InboundClient`] hold a permission.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};

use super::error::Refusal;
use super::InboundClient;
use crate::system::Permission;

/// A layer for the routes of a router served by the front door ([`serve`](super::serve)):
/// a request goes on to the route only when a system that trusts its client holds the
/// permission ([`InboundClient::authorize`]); any other is answered 403 `not_permitted`
/// with the JSON error of [`Refusal`] (or 500 `no_inbound_client` when the router is not
/// served by the front door). Decided per request, from the systems the front door found
/// for it: a permission revoked refuses the next request on an open connection. Needs the
/// feature `axum`.
///
/// ```
/// use axum::{routing::get, Router};
/// use inbound_certs::server::{InboundClient, RequirePermission};
///
/// async fn orders(client: InboundClient) -> String {
///     format!("orders for {}", client.systems()[0].name())
/// }
///
/// let app: Router = Router::new()
///     .route("/proxy/orders", get(orders))
///     .route_layer(RequirePermission::new("proxy-api".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequirePermission {
    permission: Permission,
}

impl RequirePermission {
    /// Requires `permission` of the routes it is laid over.
    pub fn new(permission: Permission) -> Self {
        RequirePermission { permission }
    }
}

impl<S> tower_layer::Layer<S> for RequirePermission {
    type Service = RequirePermissionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequirePermissionService {
            inner,
            permission: self.permission.clone(),
        }
    }
}

/// The service [`RequirePermission`] wraps a route in. Needs the feature `axum`.
#[derive(Debug, Clone)]
pub struct RequirePermissionService<S> {
    inner: S,
    permission: Permission,
}

impl<S> tower_service::Service<Request<Body>> for RequirePermissionService<S>
where
    S: tower_service::Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let refusal = match request.extensions().get::<InboundClient>() {
            None => Some(Refusal::NoInboundClient),
            Some(client) => client
                .authorize(&self.permission)
                .err()
                .map(Refusal::Unauthorized),
        };
        match refusal {
            None => Box::pin(self.inner.call(request)),
            // The connection stays open: its client may call the routes it is allowed.
            Some(refusal) => Box::pin(std::future::ready(Ok(refusal.into_response()))),
        }
    }
}
