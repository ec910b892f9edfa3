//! Reading an upload (a raw body or a `multipart/form-data` form), counted against the
//! decoder's size limit while it is read, and importing it (or trying it: a dry run).

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, StatusCode};

use super::console::Console;
use super::error::AdminError;
use super::session::{check_csrf, SessionContext};
use crate::certificate::Certificate;
use crate::decode::decode_with;
use crate::error::DecodeError;
use crate::fingerprint::CertificateName;
use crate::registry::Registry;
use crate::store::{CertificateStore, ImportOutcome, ImportPolicy, StoreError, Verdict};
use crate::system::SystemName;

/// The largest text field of a form accepted beside the file.
const MAX_FIELD_BYTES: usize = 1024;

/// The most characters of an uploaded file's name kept for the audit trail.
const MAX_FILE_NAME_CHARS: usize = 200;

/// The most text fields of a form accepted beside the file (the import form has four).
const MAX_FIELDS: usize = 16;

/// An uploaded file and the form's other fields.
#[derive(Debug, Default)]
pub(super) struct Upload {
    pub(super) file: Vec<u8>,
    /// The file's name, as the browser sent it (cut to [`MAX_FILE_NAME_CHARS`]): for the
    /// audit records of the import.
    pub(super) file_name: Option<String>,
    pub(super) fields: HashMap<String, String>,
}

impl Upload {
    /// `policy`, naming the upload after its file when the form gave the file's name.
    pub(super) fn named(&self, policy: ImportPolicy) -> ImportPolicy {
        match &self.file_name {
            Some(name) => policy.upload_name(name.as_str()),
            None => policy,
        }
    }

    /// Whether a checkbox or flag field is set (`on`, `true`, `1`).
    pub(super) fn flag(&self, name: &str) -> bool {
        self.fields
            .get(name)
            .is_some_and(|value| matches!(value.as_str(), "on" | "true" | "1" | "yes"))
    }
}

fn too_large(limit: usize) -> AdminError {
    AdminError::from(StoreError::Decode(DecodeError::TooLarge {
        size: limit.saturating_add(1),
        limit,
    }))
    .with_message(format!(
        "the upload is more than the limit of {limit} bytes for a certificate file; nothing was imported"
    ))
}

/// Reads the request's body: the file in a `multipart/form-data` form's `file` field (and the
/// form's small fields), or the whole body. Refuses with 413 as soon as the file passes
/// `limit` bytes.
///
/// With a `session` (a page's form), the form's CSRF token is checked before anything else
/// is reported: it must come before the file, and a form that is malformed, too large or
/// without a file before its token was found right is refused as a forgery (403), so that
/// nothing another site sends reaches the session (its flash message).
pub(super) async fn read(
    console: &Console,
    request: Request,
    limit: usize,
    session: Option<&SessionContext>,
) -> Result<Upload, AdminError> {
    read_form(console, request, limit, session, true).await
}

/// [`read`], for a form whose file may be left out (`require_file` false): the upload's
/// `file` is then empty.
pub(super) async fn read_form(
    console: &Console,
    request: Request,
    limit: usize,
    session: Option<&SessionContext>,
    require_file: bool,
) -> Result<Upload, AdminError> {
    let mut csrf_checked = session.is_none();
    let result = read_fields(
        console,
        request,
        limit,
        session,
        require_file,
        &mut csrf_checked,
    )
    .await;
    match (result, session) {
        (Err(error), Some(session)) if !csrf_checked => {
            Err(check_csrf(session, None).err().unwrap_or(error))
        }
        (result, _) => result,
    }
}

async fn read_fields(
    console: &Console,
    request: Request,
    limit: usize,
    session: Option<&SessionContext>,
    require_file: bool,
    csrf_checked: &mut bool,
) -> Result<Upload, AdminError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !multipart {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large(limit));
        }
        return match axum::body::to_bytes(request.into_body(), limit).await {
            Ok(bytes) => Ok(Upload {
                file: bytes.to_vec(),
                file_name: None,
                fields: HashMap::new(),
            }),
            Err(error) => {
                if error.into_inner().is::<http_body_util::LengthLimitError>() {
                    Err(too_large(limit))
                } else {
                    Err(AdminError::bad_request(
                        "unreadable_body",
                        "the upload could not be read to its end",
                    ))
                }
            }
        };
    }
    let mut form = Multipart::from_request(request, console)
        .await
        .map_err(|rejection| AdminError::bad_request("malformed_form", rejection.body_text()))?;
    let mut upload = Upload::default();
    let mut file_seen = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(form_error(error, limit)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = name == "file";
        if is_file && !*csrf_checked {
            return Err(AdminError::bad_request(
                "malformed_form",
                "the form's file comes before its CSRF token",
            ));
        }
        if is_file {
            upload.file_name = field
                .file_name()
                .filter(|name| !name.is_empty())
                .map(|name| name.chars().take(MAX_FILE_NAME_CHARS).collect());
        }
        let cap = if is_file { limit } else { MAX_FIELD_BYTES };
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len().saturating_add(chunk.len()) > cap {
                        return Err(if is_file {
                            too_large(limit)
                        } else {
                            AdminError::bad_request(
                                "malformed_form",
                                format!("the form's field {name:?} is longer than {MAX_FIELD_BYTES} bytes"),
                            )
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => return Err(form_error(error, limit)),
            }
        }
        if is_file {
            if file_seen {
                return Err(AdminError::bad_request(
                    "malformed_form",
                    "the form holds more than one file; upload one file at a time",
                ));
            }
            file_seen = true;
            upload.file = bytes;
        } else {
            if upload.fields.len() >= MAX_FIELDS {
                return Err(AdminError::bad_request(
                    "malformed_form",
                    format!("the form has more than {MAX_FIELDS} fields"),
                ));
            }
            let value = String::from_utf8_lossy(&bytes).into_owned();
            if name == "csrf" {
                if let Some(session) = session {
                    check_csrf(session, Some(&value))?;
                    *csrf_checked = true;
                }
            }
            upload.fields.insert(name, value);
        }
    }
    if !file_seen && require_file {
        return Err(AdminError::bad_request(
            "no_file",
            "the form has no field named \"file\": choose a certificate file to upload",
        ));
    }
    Ok(upload)
}

fn form_error(error: axum::extract::multipart::MultipartError, limit: usize) -> AdminError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        AdminError::bad_request("malformed_form", error.body_text())
    }
}

/// What importing one certificate of an upload did, or would do.
#[derive(Debug)]
pub(super) struct Trial {
    pub(super) name: CertificateName,
    pub(super) subject: String,
    pub(super) result: Result<ImportOutcome, StoreError>,
}

/// What importing `upload` into `system` would do, certificate by certificate, without
/// storing anything: the checks of a real import (the system's kind, the decoder, the
/// policy) and whether each is already stored.
pub(super) fn dry_run(
    registry: &Registry,
    system: &SystemName,
    upload: &[u8],
    policy: &ImportPolicy,
) -> Result<Vec<Trial>, StoreError> {
    let store = registry.store(system)?;
    if !store.system_kind().accepts_inbound() {
        return Err(StoreError::NotInbound(store.system_kind()));
    }
    let certificates: Vec<Certificate> = decode_with(upload, &policy.decode)?;
    let mut seen = std::collections::HashSet::new();
    let mut trials = Vec::with_capacity(certificates.len());
    for (certificate, verdict) in certificates.iter().zip(policy.judge(&certificates)) {
        let name = certificate.name();
        let result = match verdict {
            Verdict::Refuse(refusal) => Err(StoreError::Refused(refusal)),
            Verdict::Skip(reason) => Ok(ImportOutcome::Skipped(name, reason)),
            Verdict::Import if !seen.insert(name) => Ok(ImportOutcome::AlreadyPresent(name)),
            _ => match store.get(&name) {
                Ok(Some(_)) => Ok(ImportOutcome::AlreadyPresent(name)),
                Ok(None) => Ok(ImportOutcome::Added(name)),
                Err(error) => Err(error),
            },
        };
        trials.push(Trial {
            name,
            subject: certificate.summary().subject.to_string(),
            result,
        });
    }
    Ok(trials)
}
