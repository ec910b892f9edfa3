//! A certificate named on the command line by the first hex digits of its name: resolved
//! against the certificates of the system, refused when several or none begin so.

use std::collections::BTreeMap;

use inbound_certs::{CertificateName, CertificateStore, SystemName, SystemStore};

use super::Failure;
use crate::cli::CertificateArgument;

/// How many candidates an ambiguous prefix lists at most.
const CANDIDATES_SHOWN: usize = 10;

/// The certificate of `store` (the store of `system`) that `argument` names: a whole name as
/// it is (whether the system holds it is the command's to say), a prefix the one name of the
/// system's certificates, damaged ones included, that begins with it.
pub(crate) fn resolve(
    store: &SystemStore,
    system: &SystemName,
    argument: &CertificateArgument,
) -> Result<CertificateName, Failure> {
    let prefix = match argument {
        CertificateArgument::Name(name) => return Ok(*name),
        CertificateArgument::Prefix(prefix) => prefix,
    };
    let listing = store.list()?;
    // Each name with its subject; a damaged entry is named by its file or row (and deleting
    // it is how it is cleaned up).
    let mut known: BTreeMap<CertificateName, Option<String>> = listing
        .certificates
        .iter()
        .map(|certificate| {
            (
                certificate.name(),
                Some(certificate.summary().subject.to_string()),
            )
        })
        .collect();
    for damaged in &listing.damaged {
        let stem = damaged
            .location
            .file_name()
            .and_then(|name| name.to_str())
            .map(|name| name.strip_suffix(".der").unwrap_or(name));
        if let Some(name) = stem.and_then(|stem| crate::cli::certificate_name(stem).ok()) {
            known.entry(name).or_insert(None);
        }
    }
    choose(system, prefix, &known)
}

/// The one name of `known` (each with its subject, if it is not damaged) that begins with
/// `prefix`, or why there is not one.
fn choose(
    system: &SystemName,
    prefix: &str,
    known: &BTreeMap<CertificateName, Option<String>>,
) -> Result<CertificateName, Failure> {
    match beginning_with(prefix, known.keys().copied()).as_slice() {
        [name] => Ok(*name),
        [] => Err(Failure::Message(format!(
            "no certificate of system {system} has a name beginning with cert_client_{prefix}"
        ))),
        several => {
            let mut message = format!(
                "{} certificates of system {system} have names beginning with cert_client_{prefix}: give more digits, or the whole name",
                several.len()
            );
            for name in several.iter().take(CANDIDATES_SHOWN) {
                message.push_str(&format!("\n  {name}"));
                // A subject's RFC 4514 form escapes on its own what `Visible` would.
                if let Some(Some(subject)) = known.get(name) {
                    message.push_str(&format!(" ({subject})"));
                } else {
                    message.push_str(" (damaged)");
                }
            }
            if several.len() > CANDIDATES_SHOWN {
                message.push_str(&format!(
                    "\n  … and {} more",
                    several.len() - CANDIDATES_SHOWN
                ));
            }
            Err(Failure::Message(message))
        }
    }
}

/// The names among `names` whose hex digits begin with `prefix` (lower case), in order.
fn beginning_with(
    prefix: &str,
    names: impl IntoIterator<Item = CertificateName>,
) -> Vec<CertificateName> {
    names
        .into_iter()
        .filter(|name| {
            name.to_string()
                .strip_prefix("cert_client_")
                .is_some_and(|hex| hex.starts_with(prefix))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn name(hex: &str) -> CertificateName {
        format!("cert_client_{hex:0<64}").parse().unwrap()
    }

    #[test]
    fn a_prefix_selects_the_names_that_begin_with_it() {
        let names = [name("0a1b2c3d4e"), name("0a1b2c3d5f"), name("ffff0000")];
        assert_eq!(beginning_with("0a1b2c3d", names), vec![names[0], names[1]]);
        assert_eq!(beginning_with("0a1b2c3d5", names), vec![names[1]]);
        assert_eq!(beginning_with("0a1b2c3e", names), Vec::new());
    }

    /// An ambiguous prefix lists the candidates (with their subjects, the damaged said so);
    /// one that begins no name says so.
    #[test]
    fn several_or_no_names_are_refused_with_the_candidates() {
        let system: SystemName = "crm".parse().unwrap();
        let (first, second, other) = (name("0a1b2c3d4e"), name("0a1b2c3d5f"), name("ff"));
        let known = BTreeMap::from([
            (first, Some("CN=alice".to_string())),
            (second, None),
            (other, Some("CN=bob".to_string())),
        ]);
        let message = |result: Result<CertificateName, Failure>| match result {
            Err(Failure::Message(message)) => message,
            _ => panic!("not refused"),
        };
        assert_eq!(
            message(choose(&system, "0a1b2c3d", &known)),
            format!(
                "2 certificates of system crm have names beginning with cert_client_0a1b2c3d: give more digits, or the whole name\n  {first} (CN=alice)\n  {second} (damaged)"
            )
        );
        assert_eq!(
            message(choose(&system, "0a1b2c3e", &known)),
            "no certificate of system crm has a name beginning with cert_client_0a1b2c3e"
        );
        assert_eq!(choose(&system, "0a1b2c3d5", &known).ok(), Some(second));
        assert_eq!(choose(&system, "ff000000", &known).ok(), Some(other));
    }

    #[test]
    fn arguments_are_names_prefixes_or_refused() {
        use crate::cli::certificate_argument;
        let whole = name("0a1b2c3d4e");
        let hex = &whole.to_string()["cert_client_".len()..];
        assert_eq!(
            certificate_argument(&whole.to_string()),
            Ok(CertificateArgument::Name(whole))
        );
        for text in [
            "0A1B2C3D",
            "cert_client_0a1b2c3d",
            "CERT_CLIENT_0a1b2c3d",
            "0A:1B:2C:3D",
        ] {
            assert_eq!(
                certificate_argument(text),
                Ok(CertificateArgument::Prefix("0a1b2c3d".into())),
                "{text}"
            );
        }
        assert_eq!(
            certificate_argument(&hex[..63]),
            Ok(CertificateArgument::Prefix(hex[..63].into()))
        );
        assert_eq!(
            certificate_argument("0a1b2c3"),
            Err("\"0a1b2c3\" is too short to stand for a certificate: give at least 8 hex digits of its name, or the whole name".into())
        );
        assert!(certificate_argument("0a1b2c3g").is_err());
        assert!(certificate_argument("0a1:b2c:3d4").is_err());
        assert!(certificate_argument("0a:1b:2c:3d:").is_err());
        assert!(certificate_argument("../../etc/passwd").is_err());
    }
}
