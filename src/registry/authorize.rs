//! Who may call, and what: [`Registry::admit`] (which systems trust a client's certificate
//! now) and [`Registry::authorize`] (which of them hold a permission), decided from the
//! registry's index in memory, the decisions the mTLS front door makes for every request.

use time::OffsetDateTime;

use super::Registry;
use crate::certificate::Certificate;
use crate::clock::rfc3339;
use crate::fingerprint::CertificateName;
use crate::store::StoreError;
use crate::system::{join_names, Permission, System, SystemName};

/// Why a client is not let in, or not allowed what it asks ([`Registry::admit`],
/// [`Registry::authorize`]). Each has a stable [`code`](Self::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unauthorized {
    /// No source or proxy system trusts the certificate (never imported, deleted, or its
    /// systems removed): `not_trusted`.
    #[error("client certificate {certificate} is not trusted by any source or proxy system")]
    NotTrusted {
        /// The certificate the client presented.
        certificate: CertificateName,
    },
    /// Every source or proxy system that holds the certificate
    /// [suspended](crate::SystemStore::suspend) it: `suspended`.
    #[error(
        "client certificate {certificate} is suspended by {}",
        join_names(systems)
    )]
    Suspended {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// The systems that hold it suspended, sorted by name.
        systems: Vec<SystemName>,
    },
    /// The certificate's `notAfter` has passed, by the registry's clock: `expired`.
    #[error("client certificate {certificate} expired at {}", rfc3339(*not_after))]
    Expired {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// Its last valid instant.
        not_after: OffsetDateTime,
    },
    /// The certificate's `notBefore` is still to come, by the registry's clock:
    /// `not_yet_valid`.
    #[error("client certificate {certificate} is not valid before {}", rfc3339(*not_before))]
    NotYetValid {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// Its first valid instant.
        not_before: OffsetDateTime,
    },
    /// Systems trust the certificate, but none of them holds the permission:
    /// `not_permitted`.
    #[error(
        "client certificate {certificate} is trusted by {}, which {} not hold the permission {permission}",
        join_names(systems),
        if systems.len() == 1 { "does" } else { "do" }
    )]
    NotPermitted {
        /// The certificate the client presented.
        certificate: CertificateName,
        /// The permission asked for.
        permission: Permission,
        /// The systems that trust the certificate, sorted by name.
        systems: Vec<SystemName>,
    },
    /// The registry could not say who trusts the certificate (a directory registry whose
    /// index could not be rebuilt): `registry_unavailable`. Nothing is let through then.
    #[error("the registry of trusted certificates could not be read")]
    Registry(#[source] StoreError),
}

impl Unauthorized {
    /// A stable code: `not_trusted`, `suspended`, `expired`, `not_yet_valid`,
    /// `not_permitted` or `registry_unavailable`.
    pub fn code(&self) -> &'static str {
        match self {
            Unauthorized::NotTrusted { .. } => "not_trusted",
            Unauthorized::Suspended { .. } => "suspended",
            Unauthorized::Expired { .. } => "expired",
            Unauthorized::NotYetValid { .. } => "not_yet_valid",
            Unauthorized::NotPermitted { .. } => "not_permitted",
            Unauthorized::Registry(_) => "registry_unavailable",
        }
    }
}

impl Registry {
    /// The source and proxy systems that trust `certificate` now (sorted by name, never
    /// empty), or why none does: not trusted, suspended by every system that holds it, or
    /// not valid by the registry's clock. One lookup of its fingerprint in the index
    /// [`identify`](Self::identify) reads (no backend round trip; on a directory, one `stat`
    /// of its change marker) and one reading of the clock. Target systems never admit a
    /// client.
    ///
    /// Make the [`Certificate`] once per connection (`Certificate::from_der` on the peer's
    /// certificate): its fingerprint and validity are worked out then.
    pub fn admit(&self, certificate: &Certificate) -> Result<Vec<System>, Unauthorized> {
        let name = certificate.name();
        let identified = self
            .identified(&certificate.fingerprint())
            .map_err(Unauthorized::Registry)?;
        let systems: Vec<System> = identified
            .trusting
            .into_iter()
            .filter(|system| system.kind().accepts_inbound())
            .collect();
        if systems.is_empty() {
            let suspended: Vec<SystemName> = identified
                .suspended
                .into_iter()
                .filter(|system| system.kind().accepts_inbound())
                .map(|system| system.name().clone())
                .collect();
            return Err(if suspended.is_empty() {
                Unauthorized::NotTrusted { certificate: name }
            } else {
                Unauthorized::Suspended {
                    certificate: name,
                    systems: suspended,
                }
            });
        }
        let validity = &certificate.summary().validity;
        let now = self.now();
        if now < validity.not_before {
            return Err(Unauthorized::NotYetValid {
                certificate: name,
                not_before: validity.not_before,
            });
        }
        if validity.is_expired_at(now) {
            return Err(Unauthorized::Expired {
                certificate: name,
                not_after: validity.not_after,
            });
        }
        Ok(systems)
    }

    /// The systems that trust `certificate` now and hold `permission` (sorted by name,
    /// never empty), or why not: what [`admit`](Self::admit) refuses, or
    /// [`Unauthorized::NotPermitted`] when the systems that trust it hold not the
    /// permission. As cheap as `admit`; the same answer for the same registry state and
    /// time. Counted in `inbound_certs_authorizations_total{system, permission, outcome}`.
    ///
    /// ```
    /// use inbound_certs::{decode, CertificateStore, ImportPolicy, Registry, SystemKind};
    /// use inbound_certs::registry::Unauthorized;
    /// use time::macros::datetime;
    ///
    /// let now = datetime!(2026-06-01 0:00 UTC);
    /// let registry = Registry::in_memory().with_clock(move || now);
    /// let proxy_api = "proxy-api".parse()?;
    /// let gateway = registry.create_system_with(
    ///     &"gateway".parse()?, SystemKind::Proxy, [proxy_api], now)?;
    /// let upload = std::fs::read("tests/data/sample_proxy.pem")?;
    /// let client = decode(&upload)?.remove(0);
    /// registry.store(gateway.name())?.import(&client, &ImportPolicy::new(now))?;
    ///
    /// let allowed = registry.authorize(&client, &"proxy-api".parse()?)?;
    /// assert_eq!(allowed[0].name().as_str(), "gateway");
    /// let refused = registry.authorize(&client, &"realtime-api".parse()?).unwrap_err();
    /// assert!(matches!(refused, Unauthorized::NotPermitted { .. }));
    /// assert_eq!(refused.code(), "not_permitted");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize(
        &self,
        certificate: &Certificate,
        permission: &Permission,
    ) -> Result<Vec<System>, Unauthorized> {
        let decision = self
            .admit(certificate)
            .and_then(|systems| permitted(certificate.name(), systems, permission));
        count(&decision, permission);
        decision
    }
}

/// The `systems` (those that trust the certificate `name`) that hold `permission`, or
/// [`Unauthorized::NotPermitted`].
pub(crate) fn permitted<S: std::borrow::Borrow<System>>(
    name: CertificateName,
    systems: impl IntoIterator<Item = S>,
    permission: &Permission,
) -> Result<Vec<S>, Unauthorized> {
    let systems: Vec<S> = systems.into_iter().collect();
    if !systems
        .iter()
        .any(|system| system.borrow().has_permission(permission))
    {
        return Err(Unauthorized::NotPermitted {
            certificate: name,
            permission: permission.clone(),
            systems: systems
                .iter()
                .map(|system| system.borrow().name().clone())
                .collect(),
        });
    }
    Ok(systems
        .into_iter()
        .filter(|system| system.borrow().has_permission(permission))
        .collect())
}

/// Counts a decision in `inbound_certs_authorizations_total{system, permission, outcome}`:
/// `system` is the first system (by name) that holds the permission, else the first that
/// trusts the certificate, else empty; `outcome` is `allowed` or the refusal's code.
pub(crate) fn count<S: std::borrow::Borrow<System>>(
    decision: &Result<Vec<S>, Unauthorized>,
    permission: &Permission,
) {
    let (system, outcome) = match decision {
        Ok(systems) => (
            systems
                .first()
                .map_or("", |system| system.borrow().name().as_str()),
            "allowed",
        ),
        Err(refusal @ Unauthorized::NotPermitted { systems, .. }) => (
            systems.first().map_or("", SystemName::as_str),
            refusal.code(),
        ),
        Err(refusal) => ("", refusal.code()),
    };
    metrics::counter!(
        "inbound_certs_authorizations_total",
        "system" => system.to_owned(),
        "permission" => permission.as_str().to_owned(),
        "outcome" => outcome,
    )
    .increment(1);
}
