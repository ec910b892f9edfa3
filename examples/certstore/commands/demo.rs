//! `demo`: every command on a temporary registry, with what each does.

use std::path::Path;
use std::process::ExitCode;

use inbound_certs::{
    audit::HistoryQuery, CertificateStore, ImportPolicy, Registry, SystemKind, SystemName,
};
use time::OffsetDateTime;

use super::history::history;
use super::identify::identify;
use super::import::import;
use super::list::{list, Filter, View};
use super::{Failure, Outcome};

pub(crate) fn run(now: OffsetDateTime) -> Outcome {
    let dir = std::env::temp_dir().join(format!("inbound-certs-demo-{}", std::process::id()));
    let result = demo_in(&dir, now);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn step(text: &str) {
    out!("\n== {text}");
}

fn system_name(text: &str) -> Result<SystemName, Failure> {
    text.parse().map_err(|e| Failure::Message(format!("{e}")))
}

fn demo_in(dir: &Path, now: OffsetDateTime) -> Outcome {
    step(&format!("A registry of systems, in {}", dir.display()));
    let registry = Registry::create(dir)?.acting_as("demo-admin");
    let crm = system_name("crm")?;
    let gateway = system_name("partner-gateway")?;
    let warehouse = system_name("warehouse")?;
    for (name, kind) in [
        (&crm, SystemKind::Source),
        (&gateway, SystemKind::Proxy),
        (&warehouse, SystemKind::Target),
    ] {
        out!("$ certstore system add {name} --kind {kind}");
        let system = registry.create_system(name, kind, now)?;
        out!("added system {system}");
    }
    step("Permissions: what each system may call (the service names them)");
    for (name, permission) in [(&crm, "realtime-api"), (&gateway, "proxy-api")] {
        out!("$ certstore system grant {name} {permission}");
        let permission: inbound_certs::registry::Permission = permission
            .parse()
            .map_err(|e| Failure::Message(format!("{e}")))?;
        registry.grant_permission(name, &permission)?;
        out!("granted {permission} to system {name}");
    }

    let policy = ImportPolicy::new(now);
    let crm_store = registry.store(&crm)?;
    let gateway_store = registry.store(&gateway)?;
    step(
        "Import client certificates for crm (each upload is decoded, checked and written durably; \
         the CA certificate of the bundle's chain is skipped)",
    );
    for file in ["sample_source.pem", "bundle.pem"] {
        out!("$ certstore --system crm import {file}");
        import(&crm_store, &[path_string(file)], &policy);
    }
    step("Import the same certificate again: nothing is duplicated");
    import(&crm_store, &[path_string("sample_source.pem")], &policy);

    step("Trust the first certificate for partner-gateway too, with one of its own");
    for file in ["sample_source.pem", "sample_proxy.der"] {
        out!("$ certstore --system partner-gateway import {file}");
        import(&gateway_store, &[path_string(file)], &policy);
    }

    step("A target system is never called in by: it refuses inbound certificates");
    out!("$ certstore --system warehouse import sample_source.pem");
    import(
        &registry.store(&warehouse)?,
        &[path_string("sample_source.pem")],
        &policy,
    );

    step("Which system is this client? (what a server asks after a TLS handshake)");
    out!("$ certstore identify sample_source.pem");
    identify(&registry, &path_string("sample_source.pem"))?;

    step("The systems");
    super::system::list(&registry, now, false)?;

    step("Every system's certificates");
    let systems = registry.systems()?.systems;
    let view = View {
        per_system: true,
        within: None,
        json: false,
        wide: false,
        filter: Filter::default(),
    };
    list(&registry, &systems, now, &view)?;

    let upload = std::fs::read(path_string("sample_source.pem")).map_err(|e| e.to_string())?;
    let shared = inbound_certs::decode(&upload)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("sample_source.pem holds a certificate")?;
    let first = crm_store
        .get(&shared.name())?
        .ok_or("the certificate was just imported")?;
    step(&format!("Show {} in crm", first.name()));
    out!("{}", crate::support::readable_block(&first, now));

    step(
        "Suspend it in crm while a leak is investigated: crm no longer trusts it, resume undoes it",
    );
    out!(
        "$ certstore --system crm suspend {} --reason 'key on a lost laptop'",
        first.name()
    );
    let suspension = crm_store.suspend(&first.name(), "key on a lost laptop")?;
    out!(
        "suspended: {} in crm since {} by {}: {}",
        first.name(),
        super::rfc3339(suspension.since()),
        suspension.by(),
        suspension.reason()
    );
    identify(&registry, &first.name().to_string())?;
    crm_store.resume(&first.name())?;
    out!("$ certstore --system crm resume {}", first.name());
    identify(&registry, &first.name().to_string())?;

    step("Upload a private key by mistake: refused, nothing stored");
    import(&crm_store, &[path_string("key_pkcs8.pem")], &policy);

    step("Upload an expired certificate: refused by the default policy");
    import(&crm_store, &[path_string("expired.pem")], &policy);

    step("Upload a server-only certificate (no clientAuth): refused by the default policy");
    import(&crm_store, &[path_string("server_only.pem")], &policy);

    step("Import the expired certificate anyway, with --allow-expired");
    import(
        &crm_store,
        &[path_string("expired.pem")],
        &policy.clone().allow_expired(true),
    );

    step("Delete the shared certificate from crm: partner-gateway still trusts it");
    crm_store.delete(&first.name())?;
    out!("deleted {} from crm", first.name());
    match crm_store.delete(&first.name()) {
        Err(error) => out!("deleting it again: error: {error}"),
        Ok(()) => return Err("deleting twice should fail".into()),
    }
    identify(&registry, &first.name().to_string())?;

    step("Purge expired certificates");
    for name in crm_store.purge_expired(now)? {
        out!("deleted {name} from crm");
    }

    step("Remove crm: refused while it trusts certificates, then with them");
    match registry.remove_system(&crm, false) {
        Err(error) => out!("error: {error} (--with-certificates)"),
        Ok(_) => return Err("removing a system with certificates should be refused".into()),
    }
    let removed = registry.remove_system(&crm, true)?;
    out!("removed system crm and {removed} certificate(s)");

    step("What is left");
    super::system::list(&registry, now, false)?;

    step("The audit trail: who changed what, newest first (the last 8 records)");
    out!("$ certstore history --limit 8");
    history(&registry, &HistoryQuery::new().limit(8), false)?;
    out!("\nDemo done; the temporary registry is removed.");
    Ok(ExitCode::SUCCESS)
}

fn path_string(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
