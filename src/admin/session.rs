//! The browsers' sessions: started by a login, found by their cookie, each with its CSRF
//! token and the message ([`Flash`]) its next page shows; and the CSRF check of a form.
//! How the cookie is written and read is `auth`'s; this module keeps what it refers to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use super::error::AdminError;
use crate::sync::MutexExt;

/// Most sessions one administrator keeps at once; beyond, their oldest ends (never another
/// administrator's), so the sessions held are bounded by the administrators configured.
const MAX_SESSIONS_PER_ADMIN: usize = 32;

/// The longest title of a flash message kept, in characters.
const MAX_FLASH_TITLE: usize = 200;

/// The most lines of a flash message kept (the outcome of an upload of hundreds of
/// certificates is on the system's page and in the activity).
const MAX_FLASH_LINES: usize = 20;

/// The longest line of a flash message kept, in characters (a subject can be a megabyte).
const MAX_FLASH_LINE: usize = 300;

/// A message shown once, on the page after a change: its outcome.
#[derive(Debug, Clone)]
pub(super) struct Flash {
    pub(super) ok: bool,
    pub(super) title: String,
    pub(super) lines: Vec<String>,
}

impl Flash {
    pub(super) fn ok(title: impl Into<String>, lines: Vec<String>) -> Self {
        Flash {
            ok: true,
            title: title.into(),
            lines,
        }
    }

    pub(super) fn error(title: impl Into<String>, lines: Vec<String>) -> Self {
        Flash {
            ok: false,
            title: title.into(),
            lines,
        }
    }
}

/// A logged-in browser's session.
#[derive(Debug)]
struct Session {
    admin: Arc<str>,
    /// The order sessions were started in (their expiry ties when the clock stands still).
    number: u64,
    csrf: String,
    expires: OffsetDateTime,
    /// A message for the next page shown (the outcome of the last change).
    flash: Option<Flash>,
}

/// The session of a page request.
#[derive(Debug, Clone)]
pub(super) struct SessionContext {
    key: [u8; 32],
    /// The token every form of the session carries.
    pub(super) csrf: Arc<str>,
}

/// The live sessions, by the digest of their cookie's value (the value itself is kept by
/// the browser only).
#[derive(Debug, Default)]
pub(super) struct Sessions(Mutex<HashMap<[u8; 32], Session>>);

impl Sessions {
    /// No sessions.
    pub(super) fn new() -> Self {
        Sessions::default()
    }

    /// Starts a session for `admin`, ending at `now + lifetime`: the cookie's value.
    pub(super) fn start(
        &self,
        admin: Arc<str>,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<String, AdminError> {
        let random = |_| AdminError::internal("the random generator failed");
        let id = random_text().map_err(random)?;
        let csrf = random_text().map_err(random)?;
        let mut sessions = self.0.locked();
        sessions.retain(|_, session| session.expires > now);
        let own = || {
            sessions
                .values()
                .filter(|session| session.admin == admin)
                .count()
        };
        if own() >= MAX_SESSIONS_PER_ADMIN {
            if let Some(oldest) = sessions
                .iter()
                .filter(|(_, session)| session.admin == admin)
                .min_by_key(|(_, session)| (session.expires, session.number))
                .map(|(key, _)| *key)
            {
                sessions.remove(&oldest);
            }
        }
        let number = sessions
            .values()
            .map(|session| session.number.saturating_add(1))
            .max()
            .unwrap_or(0);
        sessions.insert(
            digest(&id),
            Session {
                admin,
                number,
                csrf,
                expires: now + lifetime,
                flash: None,
            },
        );
        Ok(id)
    }

    /// Ends the session.
    pub(super) fn end(&self, session: &SessionContext) {
        self.0.locked().remove(&session.key);
    }

    /// Leaves a message for the session's next page, cut to a bounded size.
    pub(super) fn flash(&self, session: &SessionContext, mut flash: Flash) {
        flash.title = shortened(&flash.title, MAX_FLASH_TITLE);
        let more = flash.lines.len().saturating_sub(MAX_FLASH_LINES);
        flash.lines.truncate(MAX_FLASH_LINES);
        for line in &mut flash.lines {
            *line = shortened(line, MAX_FLASH_LINE);
        }
        if more > 0 {
            flash.lines.push(format!("… and {more} more"));
        }
        if let Some(entry) = self.0.locked().get_mut(&session.key) {
            entry.flash = Some(flash);
        }
    }

    /// The message left for this page, if any.
    pub(super) fn take_flash(&self, session: &SessionContext) -> Option<Flash> {
        self.0
            .locked()
            .get_mut(&session.key)
            .and_then(|entry| entry.flash.take())
    }

    /// The one live session among the cookie values `ids` (a browser may send several
    /// cookies of the name): its administrator and context. Two live sessions are ambiguous:
    /// none.
    pub(super) fn find<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
        now: OffsetDateTime,
    ) -> Option<(Arc<str>, SessionContext)> {
        let sessions = self.0.locked();
        let mut found: Option<(Arc<str>, SessionContext)> = None;
        for id in ids {
            let key = digest(id);
            let Some(session) = sessions.get(&key).filter(|session| session.expires > now) else {
                continue;
            };
            match &found {
                Some((_, context)) if context.key == key => {}
                Some(_) => return None,
                None => {
                    found = Some((
                        Arc::clone(&session.admin),
                        SessionContext {
                            key,
                            csrf: session.csrf.as_str().into(),
                        },
                    ));
                }
            }
        }
        found
    }
}

/// 32 random bytes, as 64 hexadecimal digits.
pub(super) fn random_text() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two texts are equal, in a time that depends on neither (their digests are compared
/// in full).
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    digest(a)
        .iter()
        .zip(digest(b).iter())
        .fold(0u8, |difference, (x, y)| difference | (x ^ y))
        == 0
}

/// `text` cut to `limit` characters, with an ellipsis when cut.
fn shortened(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Refuses, with 403, a form whose CSRF token is not its session's.
pub(super) fn check_csrf(
    session: &SessionContext,
    submitted: Option<&str>,
) -> Result<(), AdminError> {
    match submitted {
        Some(token) if same_secret(token, &session.csrf) => Ok(()),
        _ => Err(AdminError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this form is out of date or was not sent by the console (its CSRF token is missing or wrong); reload the page and try again",
        )),
    }
}
