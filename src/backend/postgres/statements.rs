//! The text of every statement a store runs once its tables exist, made when the store is
//! opened from its schema's name (checked to be `a`–`z`, `0`–`9` and `_`) and kept with it:
//! no SQL is put together per call. (The tables themselves are created or updated once per
//! opening, by [`Shared::migrate`](super::Shared).)

use super::index::ROW_TOKEN_SQL;
use super::writer::RESOLVE_LOCK_TIMEOUT;

/// The SQL of an instant given as microseconds since the epoch (a `bigint` parameter).
fn instant_sql(parameter: &str) -> String {
    format!(
        "(timestamptz 'epoch' + ({parameter}::bigint / 1000000) * interval '1 second'
          + ({parameter}::bigint % 1000000) * interval '1 microsecond')"
    )
}

/// The statements, each named after what it does.
pub(super) struct Statements {
    /// The revision row: revision, row count, digest, and a hash of the systems table
    /// computed by the server (the index only compares it with the one it saw last).
    pub(super) summary: String,
    /// The systems table, as [`Shared::read_systems`](super::Shared) reads it.
    pub(super) systems: String,
    /// Every certificate row with its DER.
    pub(super) certificates: String,
    /// Every certificate row's key.
    pub(super) keys: String,
    /// Every certificate row's key and [`row_token`](super::index::row_token).
    pub(super) row_tokens: String,
    /// The DER of the rows whose keys are `$1` (systems) and `$2` (fingerprints).
    pub(super) fetch: String,
    /// The changes after revision `$1`, with the DER of the rows they left.
    pub(super) changes_since: String,
    /// Listens to the store's notification channel.
    pub(super) listen: String,
    /// Takes the revision lock; the revision and a new write id.
    pub(super) lock_revision: String,
    /// Logs a change: revision, system, fingerprint, imported, write id.
    pub(super) log_change: String,
    /// Sets the revision to `$1`.
    pub(super) set_revision: String,
    /// Forgets the changes at or before revision `$1`.
    pub(super) prune_changes: String,
    /// Sets how long the lookup of a broken write's outcome waits for that write's lock.
    pub(super) resolve_lock_timeout: String,
    /// Waits for the revision lock (a broken write's transaction to end); the revision.
    pub(super) wait_for_revision: String,
    /// Whether changes of write `$1` were logged, and the oldest revision logged.
    pub(super) find_write: String,
    /// The id of the system named `$1`.
    pub(super) system_id: String,
    /// Locks the row of the system named `$1`.
    pub(super) lock_system: String,
    /// Registers system `$1` of kind `$2`, created at `$3` (microseconds), holding the
    /// permissions `$4`; its id, unless the name is taken.
    pub(super) insert_system: String,
    /// Locks the row of the system named `$1`: its kind, creation time (microseconds), id and
    /// permissions.
    pub(super) system_for_update: String,
    /// Sets the permissions of the system named `$1` to `$2`.
    pub(super) set_permissions: String,
    /// Deletes the system named `$1`.
    pub(super) delete_system: String,
    /// Inserts a certificate row (system, fingerprint, DER) unless it is there: its
    /// fingerprint if inserted.
    pub(super) insert_certificate: String,
    /// Deletes the row of fingerprint `$2` of system `$1`: its fingerprint if there was one.
    pub(super) delete_certificate: String,
    /// How many rows system `$1` holds.
    pub(super) count_certificates: String,
    /// Deletes every row of system `$1`: their fingerprints.
    pub(super) delete_certificates: String,
    /// Deletes the rows of no system that system `$1` also holds: their fingerprints.
    pub(super) delete_adopted_duplicates: String,
    /// Moves the rows of no system into system `$1`: their fingerprints.
    pub(super) adopt_legacy: String,
    /// Every suspension: system, fingerprint, reason, since (microseconds), actor.
    pub(super) suspensions: String,
    /// Whether system `$1` holds a row of fingerprint `$2`.
    pub(super) has_certificate: String,
    /// The suspension of fingerprint `$2` in system `$1`: reason, since, actor.
    pub(super) suspension: String,
    /// Suspends fingerprint `$2` in system `$1` for reason `$3` since `$4` (microseconds) by
    /// `$5`, replacing its suspension.
    pub(super) upsert_suspension: String,
    /// Lifts the suspension of fingerprint `$2` in system `$1`.
    pub(super) delete_suspension: String,
    /// Lifts every suspension of system `$1`.
    pub(super) delete_suspensions: String,
    /// Inserts audit records, from arrays of their fields in `$1`…`$8`, in order.
    pub(super) insert_audit: String,
    /// The audit records, newest first, of system `$1` (any if null), at or after `$2`
    /// (microseconds; any if null), before `$3` (any if null), at most `$4` (all if null).
    pub(super) history: String,
    /// Upserts one flush of last uses from arrays: systems `$1`, fingerprints `$2`, times
    /// `$3` (microseconds), addresses `$4` (null: none); the newest of a row's wins.
    pub(super) upsert_usage: String,
    /// The last uses of system `$1`: fingerprint, time (microseconds), address.
    pub(super) usage_of_system: String,
    /// Deletes the last uses of system `$1`.
    pub(super) forget_usage: String,
}

impl Statements {
    /// The statements for the tables of `schema`, a checked schema name.
    pub(super) fn new(schema: &str) -> Self {
        let table = |name: &str| format!("\"{schema}\".{name}");
        let (systems, certificates) = (table("systems"), table("client_certificates"));
        let (revision, changes, audit) = (table("revision"), table("changes"), table("audit"));
        let suspensions = table("suspensions");
        Statements {
            summary: format!(
                "SELECT value, row_count, digest,
                     (SELECT coalesce(bit_xor(hashtextextended(name || '/' || kind || '/'
                         || extract(epoch FROM created)::text || '/' || id::text || '/'
                         || array_to_string(permissions, ','), 0)), 0)
                      FROM {systems}),
                     (SELECT coalesce(bit_xor(hashtextextended(system || '/' || fingerprint
                         || '/' || reason || '/' || extract(epoch FROM since)::text || '/'
                         || actor, 0)), 0)
                      FROM {suspensions})
                 FROM {revision}"
            ),
            systems: format!(
                "SELECT name, kind, (extract(epoch FROM created) * 1000000)::bigint, id,
                     permissions
                 FROM {systems}"
            ),
            certificates: format!("SELECT system, fingerprint, der FROM {certificates}"),
            keys: format!("SELECT system, fingerprint FROM {certificates}"),
            row_tokens: format!("SELECT system, fingerprint, {ROW_TOKEN_SQL} FROM {certificates}"),
            fetch: format!(
                "SELECT c.system, c.fingerprint, c.der
                 FROM {certificates} c JOIN unnest($1::text[], $2::text[]) AS k (system, fingerprint)
                     ON c.system = k.system AND c.fingerprint = k.fingerprint"
            ),
            changes_since: format!(
                "SELECT c.revision, c.system, c.fingerprint, c.imported, k.der
                 FROM {changes} c LEFT JOIN {certificates} k
                     ON k.system = c.system AND k.fingerprint = c.fingerprint
                 WHERE c.revision > $1 ORDER BY c.revision"
            ),
            listen: format!("LISTEN \"{schema}_changes\""),
            lock_revision: format!("SELECT value, gen_random_uuid()::text FROM {revision} FOR UPDATE"),
            log_change: format!(
                "INSERT INTO {changes} (revision, system, fingerprint, imported, write_id)
                 VALUES ($1, $2, $3, $4, $5)"
            ),
            set_revision: format!("UPDATE {revision} SET value = $1"),
            prune_changes: format!("DELETE FROM {changes} WHERE revision <= $1"),
            resolve_lock_timeout: format!(
                "SET LOCAL lock_timeout = {}",
                RESOLVE_LOCK_TIMEOUT.as_millis()
            ),
            wait_for_revision: format!("SELECT value FROM {revision} FOR UPDATE"),
            find_write: format!(
                "SELECT EXISTS (SELECT 1 FROM {changes} WHERE write_id = $1),
                        (SELECT min(revision) FROM {changes})"
            ),
            system_id: format!("SELECT id FROM {systems} WHERE name = $1"),
            lock_system: format!("SELECT 1 FROM {systems} WHERE name = $1 FOR UPDATE"),
            insert_system: format!(
                "INSERT INTO {systems} (name, kind, created, permissions)
                 VALUES ($1, $2, {created}, $4::text[])
                 ON CONFLICT (name) DO NOTHING RETURNING id",
                created = instant_sql("$3"),
            ),
            system_for_update: format!(
                "SELECT kind, (extract(epoch FROM created) * 1000000)::bigint, id, permissions
                 FROM {systems} WHERE name = $1 FOR UPDATE"
            ),
            set_permissions: format!("UPDATE {systems} SET permissions = $2::text[] WHERE name = $1"),
            delete_system: format!("DELETE FROM {systems} WHERE name = $1"),
            insert_certificate: format!(
                "INSERT INTO {certificates} (system, fingerprint, der) VALUES ($1, $2, $3)
                 ON CONFLICT (system, fingerprint) DO NOTHING RETURNING fingerprint"
            ),
            delete_certificate: format!(
                "DELETE FROM {certificates} WHERE system = $1 AND fingerprint = $2
                 RETURNING fingerprint"
            ),
            count_certificates: format!("SELECT count(*) FROM {certificates} WHERE system = $1"),
            delete_certificates: format!(
                "DELETE FROM {certificates} WHERE system = $1 RETURNING fingerprint"
            ),
            delete_adopted_duplicates: format!(
                "DELETE FROM {certificates} legacy WHERE legacy.system = ''
                 AND EXISTS (SELECT 1 FROM {certificates} adopted
                     WHERE adopted.system = $1 AND adopted.fingerprint = legacy.fingerprint)
                 RETURNING fingerprint"
            ),
            adopt_legacy: format!(
                "UPDATE {certificates} SET system = $1 WHERE system = '' RETURNING fingerprint"
            ),
            suspensions: format!(
                "SELECT system, fingerprint, reason,
                     (extract(epoch FROM since) * 1000000)::bigint, actor
                 FROM {suspensions}"
            ),
            has_certificate: format!(
                "SELECT EXISTS (SELECT 1 FROM {certificates} WHERE system = $1 AND fingerprint = $2)"
            ),
            suspension: format!(
                "SELECT reason, (extract(epoch FROM since) * 1000000)::bigint, actor
                 FROM {suspensions} WHERE system = $1 AND fingerprint = $2"
            ),
            upsert_suspension: format!(
                "INSERT INTO {suspensions} (system, fingerprint, reason, since, actor)
                 VALUES ($1, $2, $3, {since}, $5)
                 ON CONFLICT (system, fingerprint)
                 DO UPDATE SET reason = excluded.reason, since = excluded.since,
                     actor = excluded.actor",
                since = instant_sql("$4"),
            ),
            delete_suspension: format!(
                "DELETE FROM {suspensions} WHERE system = $1 AND fingerprint = $2"
            ),
            delete_suspensions: format!("DELETE FROM {suspensions} WHERE system = $1"),
            insert_audit: format!(
                "INSERT INTO {audit}
                     (\"time\", actor, system, action, certificate, subject, outcome, detail)
                 SELECT {time}, r.actor, r.system, r.action, r.certificate, r.subject,
                     r.outcome, r.detail
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::text[])
                     WITH ORDINALITY AS r (micros, actor, system, action, certificate, subject,
                         outcome, detail, position)
                 ORDER BY r.position",
                time = instant_sql("r.micros"),
            ),
            history: format!(
                "SELECT id, (extract(epoch FROM \"time\") * 1000000)::bigint, actor, system,
                     action, certificate, subject, outcome, detail
                 FROM {audit}
                 WHERE ($1::text IS NULL OR system = $1::text)
                     AND ($2::bigint IS NULL OR \"time\" >= {since})
                     AND ($3::bigint IS NULL OR \"time\" < {until})
                 ORDER BY id DESC
                 LIMIT $4::bigint",
                since = instant_sql("$2"),
                until = instant_sql("$3"),
            ),
            upsert_usage: format!(
                "INSERT INTO {last_used} AS kept (system, fingerprint, at, peer, first_at)
                 SELECT u.system, u.fingerprint, {at}, u.peer, {first}
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[])
                     AS u (system, fingerprint, micros, peer, first_micros)
                 ON CONFLICT (system, fingerprint) DO UPDATE
                     SET at = GREATEST(kept.at, EXCLUDED.at),
                         peer = CASE WHEN kept.at <= EXCLUDED.at
                             THEN EXCLUDED.peer ELSE kept.peer END,
                         first_at = LEAST(COALESCE(kept.first_at, kept.at), EXCLUDED.first_at)",
                last_used = table("last_used"),
                at = instant_sql("u.micros"),
                first = instant_sql("u.first_micros"),
            ),
            usage_of_system: format!(
                "SELECT fingerprint, (extract(epoch FROM at) * 1000000)::bigint, peer,
                     (extract(epoch FROM COALESCE(first_at, at)) * 1000000)::bigint
                 FROM {last_used} WHERE system = $1",
                last_used = table("last_used"),
            ),
            forget_usage: format!("DELETE FROM {} WHERE system = $1", table("last_used")),
        }
    }
}
