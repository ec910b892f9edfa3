//! `list`: the certificates of one system or of every one, as a table or JSON.

use std::process::ExitCode;

use inbound_certs::{
    store::Suspension,
    summary::{KeyAlgorithm, ValidityStatus, Visible},
    Certificate, CertificateStore, Registry, System, SystemName,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{imported, pretty, print_columns, Context, Outcome};
use crate::cli::{ListArgs, Status};

pub(crate) fn run(context: &Context, arguments: &ListArgs) -> Outcome {
    let registry = context.open()?;
    let systems = context.systems(&registry)?;
    let within = arguments
        .expiring_within
        .map(|days| Duration::days(i64::from(days)));
    let view = View {
        per_system: context.only_system().is_none(),
        within,
        json: arguments.json,
        wide: arguments.wide,
        filter: Filter {
            status: arguments.status,
            search: arguments.search.as_deref().map(str::to_lowercase),
            limit: arguments.limit,
        },
    };
    list(&registry, &systems, context.now, &view)
}

/// How `list` shows the certificates.
pub(crate) struct View {
    /// Each row says its system.
    pub(crate) per_system: bool,
    /// Only certificates that expire within this long, or have expired.
    pub(crate) within: Option<Duration>,
    pub(crate) json: bool,
    /// Every column in full, however wide the table.
    pub(crate) wide: bool,
    pub(crate) filter: Filter,
}

/// Which certificates `list` shows, and how many.
#[derive(Default)]
pub(crate) struct Filter {
    /// Only those in this state (or the damaged entries).
    pub(crate) status: Option<Status>,
    /// Only those whose subject, issuer or a SAN holds this, or whose name begins with it
    /// (lower case).
    pub(crate) search: Option<String>,
    /// At most this many.
    pub(crate) limit: Option<usize>,
}

impl Filter {
    /// Whether the certificate (suspended or not) is selected.
    fn selects(&self, certificate: &Certificate, suspended: bool, now: OffsetDateTime) -> bool {
        self.status
            .is_none_or(|status| status == status_of(certificate, suspended, now))
            && self
                .search
                .as_deref()
                .is_none_or(|text| found(certificate, text))
    }

    /// Keeps the first `limit` of `items`; what to say on stderr, after them, when there
    /// were more.
    fn cap<T>(&self, items: &mut Vec<T>) -> Option<String> {
        let limit = self.limit?;
        let more = items.len().saturating_sub(limit);
        items.truncate(limit);
        (more > 0).then(|| format!("… and {more} more (--limit {limit})"))
    }
}

/// A certificate's state as `--status` selects it: `suspended` whatever its validity, as
/// the monitor counts it.
fn status_of(certificate: &Certificate, suspended: bool, now: OffsetDateTime) -> Status {
    if suspended {
        return Status::Suspended;
    }
    match certificate
        .summary()
        .validity
        .status_at(now, crate::support::WARN_WITHIN)
    {
        ValidityStatus::NotYetValid { .. } => Status::NotYetValid,
        ValidityStatus::ExpiringSoon { .. } => Status::Expiring,
        ValidityStatus::Expired { .. } => Status::Expired,
        _ => Status::Valid,
    }
}

/// Whether `text` (lower case) is in the certificate's subject, issuer or a subject
/// alternative name (as they are shown), or begins its name, `cert_client_` or not.
fn found(certificate: &Certificate, text: &str) -> bool {
    let summary = certificate.summary();
    let name = summary.name.to_string();
    let hex = name.strip_prefix("cert_client_").unwrap_or(&name);
    let prefix = text.strip_prefix("cert_client_").unwrap_or(text);
    let holds = |shown: String| shown.to_lowercase().contains(text);
    (!prefix.is_empty() && hex.starts_with(prefix))
        || holds(summary.subject.to_string())
        || holds(summary.issuer.to_string())
        || summary
            .subject_alt_names
            .iter()
            .any(|san| holds(san.to_string()))
}

/// How wide the table may be without `--wide`.
const COLUMNS: usize = 120;

/// The certificates of `systems`, as `view` says.
pub(crate) fn list(
    registry: &Registry,
    systems: &[System],
    now: OffsetDateTime,
    view: &View,
) -> Outcome {
    let filter = &view.filter;
    let mut rows: Vec<Row> = Vec::new();
    let mut damaged_entries = Vec::new();
    for system in systems {
        let store = registry.store(system.name())?;
        let listing = store.list()?;
        let mut suspensions = store.suspensions()?;
        if filter.status == Some(Status::Damaged) {
            damaged_entries.extend(
                listing
                    .damaged
                    .iter()
                    .map(|damaged| (system.name().clone(), damaged.to_string())),
            );
            continue;
        }
        for damaged in &listing.damaged {
            eprintln!("warning: system {}: {damaged}", system.name());
        }
        rows.extend(
            listing
                .certificates
                .into_iter()
                // Expired ones are the most urgent of all: kept, their status says "expired".
                .filter(|c| {
                    let validity = &c.summary().validity;
                    view.within.is_none_or(|within| {
                        validity.is_expired_at(now) || validity.ends_within(now, within)
                    })
                })
                .map(|certificate| {
                    let suspension = suspensions.remove(&certificate.name());
                    (system.name().clone(), certificate, suspension)
                })
                .filter(|(_, certificate, suspension)| {
                    filter.selects(certificate, suspension.is_some(), now)
                }),
        );
    }
    if filter.status == Some(Status::Damaged) {
        let more = filter.cap(&mut damaged_entries);
        list_damaged(&damaged_entries, view.json)?;
        if let Some(more) = more {
            eprintln!("{more}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let more = filter.cap(&mut rows);
    let usages = super::usage::of_systems(registry, systems.iter().map(System::name));
    if view.json {
        let objects: Vec<Value> = rows
            .iter()
            .map(|(system, certificate, suspension)| {
                let mut object = crate::support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                object.insert(
                    "suspension".into(),
                    suspension.as_ref().map_or(Value::Null, suspension_json),
                );
                let when_and_who = imported(registry, system, &certificate.name());
                let when_and_who = when_and_who.as_ref();
                object.insert(
                    "imported_at".into(),
                    when_and_who.map_or(Value::Null, |(at, _)| Value::String(at.clone())),
                );
                object.insert(
                    "imported_by".into(),
                    when_and_who.map_or(Value::Null, |(_, by)| Value::String(by.clone())),
                );
                let last_used = super::usage::of(&usages, system, &certificate.name());
                super::usage::insert_json(&mut object, last_used);
                Value::Object(object)
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        print_table(&rows, view, now, &usages);
    }
    if let Some(more) = more {
        eprintln!("{more}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The entries of systems that could not be read (`--status damaged`), one a line or as
/// JSON. Their text names a file or row and what is wrong; shown escaped, as certificate
/// text is.
fn list_damaged(entries: &[(SystemName, String)], json: bool) -> Outcome {
    if json {
        let objects: Vec<Value> = entries
            .iter()
            .map(|(system, damaged)| {
                serde_json::json!({ "system": system.to_string(), "damaged": damaged })
            })
            .collect();
        out!("{}", pretty(&Value::Array(objects))?);
    } else {
        for (system, damaged) in entries {
            out!("system {system}: {}", Visible::new(damaged));
        }
        if entries.is_empty() {
            out!("(no damaged certificates)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A certificate of a system, with its suspension if it is suspended there.
type Row = (SystemName, Certificate, Option<Suspension>);

/// A suspension as `list --json` and `show --json` give it.
pub(crate) fn suspension_json(suspension: &Suspension) -> Value {
    serde_json::to_value(suspension).unwrap_or(Value::Null)
}

fn print_table(
    rows: &[Row],
    view: &View,
    now: OffsetDateTime,
    usages: &std::collections::BTreeMap<SystemName, inbound_certs::registry::SystemUsage>,
) {
    let mut header = vec![
        "NAME",
        "SUBJECT",
        "ISSUER",
        "NOT AFTER",
        "KEY",
        "CA",
        "STATUS",
        "LAST USED",
    ];
    if view.per_system {
        header.insert(0, "SYSTEM");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(system, c, suspension)| {
            let s = c.summary();
            let name = if view.wide {
                s.name.to_string()
            } else {
                short_name(&s.name)
            };
            let mut row = vec![
                name,
                s.subject.to_string(),
                s.issuer.to_string(),
                s.validity.not_after.date().to_string(),
                if view.wide {
                    s.public_key.to_string()
                } else {
                    short_key(&s.public_key)
                },
                if s.is_ca { "yes" } else { "no" }.to_string(),
                {
                    // A key that could never authenticate is the most pressing news.
                    let status = s.validity.status_at(now, crate::support::WARN_WITHIN);
                    let weak = s
                        .weaknesses(&inbound_certs::summary::TlsKeyTypes::common())
                        .iter()
                        .any(inbound_certs::summary::Weakness::prevents_authentication);
                    let status = if weak {
                        format!("{} unusable", status.as_str())
                    } else {
                        status.as_str().to_string()
                    };
                    // Not trusted by the system, whatever its validity: said first.
                    if suspension.is_some() {
                        format!("suspended {status}")
                    } else {
                        status
                    }
                },
                super::usage::cell(super::usage::of(usages, system, &c.name()), view.wide),
            ];
            if view.per_system {
                row.insert(0, system.to_string());
            }
            row
        })
        .collect();
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    let cells = if view.wide {
        cells
    } else {
        // The system, subject and issuer give way; the other columns are short already.
        let flexible: &[usize] = if view.per_system { &[0, 2, 3] } else { &[1, 2] };
        fit(&header, cells, flexible, COLUMNS)
    };
    print_columns(&header, &cells);
    if rows.is_empty() {
        out!("(no certificates)");
    }
}

/// A certificate name cut as the console cuts it in a table: its first 12 hex digits and
/// `…` (`cert_client_` is the same for all; the subject column needs the room).
fn short_name(name: &inbound_certs::CertificateName) -> String {
    let full = name.to_string();
    let hex = full.strip_prefix("cert_client_").unwrap_or(&full);
    let kept: String = hex.chars().take(12).collect();
    format!("{kept}…")
}

/// A key in few characters: `EC P-256`, `Ed25519`, `RSA 2048` (a curve says its size).
fn short_key(key: &inbound_certs::summary::PublicKeyInfo) -> String {
    match (&key.algorithm, key.bits) {
        (KeyAlgorithm::Ec(curve), _) => format!("EC {curve}"),
        (KeyAlgorithm::Ed25519 | KeyAlgorithm::Ed448, _) | (_, None) => key.algorithm.to_string(),
        (algorithm, Some(bits)) => format!("{algorithm} {bits}"),
    }
}

/// `rows` with the cells of the `flexible` columns cut (ending in `…`) so that every line,
/// two spaces between columns, is at most `limit` characters wide. The narrowest flexible
/// columns keep their width; the room left is shared by the others. A column is never cut
/// narrower than its header.
fn fit(
    header: &[String],
    mut rows: Vec<Vec<String>>,
    flexible: &[usize],
    limit: usize,
) -> Vec<Vec<String>> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let separators = 2 * widths.len().saturating_sub(1);
    let total: usize = widths.iter().sum::<usize>() + separators;
    if total <= limit {
        return rows;
    }
    let fixed: usize = widths
        .iter()
        .enumerate()
        .filter(|(index, _)| !flexible.contains(index))
        .map(|(_, width)| width)
        .sum::<usize>()
        + separators;
    let mut room = limit.saturating_sub(fixed);
    let mut by_width: Vec<(usize, usize)> = flexible
        .iter()
        .filter_map(|&index| widths.get(index).map(|&width| (index, width)))
        .collect();
    by_width.sort_by_key(|&(_, width)| width);
    let mut left = by_width.len();
    let mut allowed = widths.clone();
    for (index, width) in by_width {
        let share = room / left.max(1);
        let minimum = header.get(index).map_or(0, |h| h.chars().count());
        let chosen = width.min(share).max(minimum);
        if let Some(slot) = allowed.get_mut(index) {
            *slot = chosen;
        }
        room = room.saturating_sub(chosen);
        left -= 1;
    }
    for row in &mut rows {
        for (cell, &width) in row.iter_mut().zip(&allowed) {
            if cell.chars().count() > width {
                let kept: String = cell.chars().take(width.saturating_sub(1)).collect();
                *cell = format!("{kept}…");
            }
        }
    }
    rows
}
