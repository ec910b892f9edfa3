//! A system's permissions on its page: what it holds, and a form that replaces them (one
//! permission per line; no JavaScript).

use axum::extract::rejection::FormRejection;
use axum::extract::Path;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::admin::page::{system_path, Page, PageError};
use crate::admin::request::system_name;
use crate::admin::session::Flash;
use crate::admin::templates::csrf_field;
use crate::registry::Permission;
use crate::system::System;

/// The *Permissions* section of a system's page: the permissions it holds and, for a source
/// or proxy system, the form that edits them.
pub(super) fn section(page: &Page, system: &System) -> Markup {
    let path = system_path(system.name());
    html! {
        h2 { "Permissions" }
        @if system.kind().accepts_inbound() {
            @if system.permissions().is_empty() {
                p class="empty" id="no-permissions" { "This system holds no permissions." }
            } @else {
                ul id="permissions" {
                    @for permission in system.permissions() {
                        li { code { (permission.as_str()) } }
                    }
                }
            }
            form method="post" action=(page.to(&format!("{path}/permissions")))
                class="panel actions" id="permissions-form" {
                (csrf_field(&page.session))
                label {
                    "Permissions, one per line (a-z, 0-9, '-', '_', '.'; e.g. proxy-api) "
                    textarea name="permissions" id="permissions-field" rows="4" {
                        @for permission in system.permissions() {
                            (permission.as_str()) "\n"
                        }
                    }
                }
                button type="submit" id="save-permissions" { "Save permissions" }
            }
        } @else {
            p class="hint" id="no-permissions" {
                "A target system holds no permissions: it is only ever called."
            }
        }
    }
}

/// The fields of the form that replaces a system's permissions.
#[derive(Debug, Deserialize)]
pub(in crate::admin) struct PermissionsForm {
    csrf: Option<String>,
    /// One permission per line (spaces and commas separate them too).
    permissions: Option<String>,
}

/// `POST /systems/{system}/permissions`: replaces the system's permissions with those of the
/// form, all or none (a name that is not a permission changes nothing); the outcome is shown
/// on the system's page.
pub(in crate::admin) async fn set_permissions(
    page: Page,
    Path(system): Path<String>,
    form: Result<Form<PermissionsForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = form.ok().map(|Form(form)| form);
    page.check_csrf(form.as_ref().and_then(|form| form.csrf.as_deref()))?;
    let system = system_name(&system)?;
    let text = form.and_then(|form| form.permissions).unwrap_or_default();
    let mut permissions = Vec::new();
    let mut problems = Vec::new();
    for word in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|word| !word.is_empty())
    {
        match word.parse::<Permission>() {
            Ok(permission) => permissions.push(permission),
            Err(error) => problems.push(error.to_string()),
        }
    }
    if !problems.is_empty() {
        page.flash(Flash::error("The permissions were not changed", problems));
        return Ok(page.see_other(&system_path(&system)));
    }
    let target = system.clone();
    let changed = page
        .console
        .blocking(&page.actor, move |registry| {
            registry.set_permissions(&target, permissions)
        })
        .await;
    match changed {
        Ok(changed) => {
            let held = changed
                .permissions()
                .iter()
                .map(Permission::as_str)
                .collect::<Vec<_>>();
            let title = if held.is_empty() {
                format!("The system {system} holds no permissions")
            } else {
                format!("The system {system} holds {}", held.join(", "))
            };
            page.flash(Flash::ok(title, vec![]));
        }
        Err(error) => {
            page.flash(Flash::error(
                "The permissions were not changed",
                vec![error.message],
            ));
        }
    }
    Ok(page.see_other(&system_path(&system)))
}
