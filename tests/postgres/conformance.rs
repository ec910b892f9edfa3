//! The conformance suites every backend passes, on PostgreSQL: the store's and the registry's.

use inbound_certs::conformance;

use crate::server::Server;
use crate::support::{connect, connect_registry, fresh_schema};

pub(crate) fn conformance_suite(server: &Server) -> String {
    conformance::run_all(|| connect(server, &fresh_schema("conformance")));
    "every conformance function passed".to_string()
}

pub(crate) fn registry_conformance_suite(server: &Server) -> String {
    conformance::run_registry(|| connect_registry(server, &fresh_schema("registry")));
    "every registry conformance function passed".to_string()
}
