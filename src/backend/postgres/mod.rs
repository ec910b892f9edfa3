//! [`PostgresStore`]: one set of trusted certificates shared by every replica of a service,
//! kept in PostgreSQL and served from memory (feature `postgres`); and the tables, index and
//! listener under a [`Registry`](crate::Registry) on PostgreSQL (`systems.rs`).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use postgres::Client;
use rustls::crypto::CryptoProvider;

use crate::certificate::Certificate;
use crate::fingerprint::CertificateName;
use crate::store::{
    require_inbound, Admitted, CertificateListing, ImportOutcome, StoreBackend, StoreError,
};
use crate::system::SystemKind;

mod audit;
mod backend;
mod index;
mod statements;
mod sync;
mod systems;
mod tls;
mod usage;
mod writer;

use index::Index;
use statements::Statements;
pub(crate) use systems::SystemRows;
use tls::Connector;
pub use tls::PostgresTlsError;

/// How many changes the change log keeps; a replica further behind compares the table's keys.
const CHANGES_KEPT: i64 = 10_000;
/// How often the listener looks up from waiting (to notice `Drop` and its resync deadline).
const POLL: Duration = Duration::from_millis(200);
/// The longest wait between two attempts to reconnect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How [`PostgresStore::connect_with`] and [`Registry::connect`](crate::Registry::connect)
/// set up the connection.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    schema: String,
    resync_interval: Duration,
    connect_timeout: Duration,
    tls: Option<Arc<CryptoProvider>>,
}

impl Default for PostgresOptions {
    /// Schema `inbound_certs`, a resync check every 60 seconds, 5 seconds to connect, no TLS.
    fn default() -> Self {
        PostgresOptions {
            schema: "inbound_certs".to_string(),
            resync_interval: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            tls: None,
        }
    }
}

impl PostgresOptions {
    /// The schema that holds the store's tables, created on first use: 1 to 40 characters of
    /// `a`–`z`, `0`–`9` and `_`, not starting with a digit. Stores with different schemas in one
    /// database are independent.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How often every replica checks that its index still matches the table, so that a change
    /// whose notification was missed (or that was made by hand) is picked up at the latest
    /// after this long. The check reads one row (the revision, the row count and a digest of
    /// the rows); only when they differ does it read the keys of the table and then the DER of
    /// only the rows that differ.
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval;
        self
    }

    /// How long a connection attempt may take before a write fails with
    /// [`StoreError::Database`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Lets the store talk TLS to the database, with rustls and this crypto provider (the
    /// crate enables none: pass the one the service uses, e.g.
    /// `Arc::new(rustls::crypto::ring::default_provider())`).
    ///
    /// The connection string says how, with libpq's parameters (in a URL's query or as
    /// `key=value`):
    ///
    /// | `sslmode` | without `sslrootcert` | with `sslrootcert=FILE` |
    /// |---|---|---|
    /// | `disable` | no TLS | no TLS |
    /// | `prefer` (the default) | TLS if the server offers it, server not authenticated | TLS if offered; the server's chain is verified against `FILE` |
    /// | `require` | TLS, but **the server is not authenticated**: anyone on the path can pose as it | TLS; chain verified against `FILE` (libpq does the same) |
    /// | `verify-ca` | refused ([`PostgresTlsError::NoRootCertificate`]) | TLS; chain verified against `FILE`, host name not checked |
    /// | `verify-full` | refused ([`PostgresTlsError::NoRootCertificate`]) | TLS; chain verified against `FILE` and the certificate must name the host (`host`, a DNS name or an IP address) |
    ///
    /// `FILE` holds PEM CA certificates; it is read once, by
    /// [`connect_with`](PostgresStore::connect_with). Use `verify-full` on any network you do
    /// not control: the table is the set of certificates the service trusts.
    ///
    /// Without this option, `sslmode=disable` and `prefer` connect without TLS (as a libpq
    /// without TLS support would), and a connection string asking for TLS (`require`,
    /// `verify-ca`, `verify-full` or an `sslrootcert`) is refused with
    /// [`PostgresTlsError::NoCryptoProvider`] rather than silently sent in clear text.
    ///
    /// Over TLS, a SCRAM-SHA-256 password login binds to the server's certificate
    /// (SCRAM-SHA-256-PLUS with tls-server-end-point, when the server offers it, as
    /// PostgreSQL 11 and later do), so even under `require` a server posing as the database
    /// cannot relay the login. `channel_binding=require` in the connection string refuses a
    /// login without it. A server certificate whose signature algorithm names no single hash
    /// that tokio-postgres-rustls knows (Ed25519, Ed448, RSA-PSS, ECDSA with SHA-512) logs in
    /// without binding.
    pub fn tls(mut self, provider: Arc<CryptoProvider>) -> Self {
        self.tls = Some(provider);
        self
    }
}

/// A store in a PostgreSQL database, shared by every replica of a service; reads are answered
/// from memory.
///
/// Every instance keeps an in-memory index of the table: [`get`](crate::CertificateStore::get) and
/// [`list`](crate::CertificateStore::list) never wait for the database, so a TLS handshake never
/// makes a database round trip, and reads keep working while the database is away. The index
/// is loaded when the store connects and kept current by a background thread that `LISTEN`s
/// for the notification every import and delete sends, and that every
/// [`resync_interval`](PostgresOptions::resync_interval) compares a summary of the table with
/// its index, so that a missed notification or a change made by hand heals itself. A change made through this instance is in its index when the call returns; other
/// instances see it as soon as the notification arrives (milliseconds on a local network).
///
/// Writes are transactions: a bundle is imported all or nothing, and writes from all replicas
/// are applied in one order (each takes a row lock on the store's revision counter), so none is
/// lost. When the database cannot be reached, writes fail with [`StoreError::Database`]; the
/// background thread reconnects by itself. When the connection breaks while a write commits,
/// the store reconnects and looks the write up (each write records a unique write id, drawn by
/// the server, in the change log, in the same transaction), so a write that committed returns
/// `Ok` and one that did not returns the error: the answer is the truth, not a guess. Only if
/// that lookup itself fails (the database stays away, or over 10,000 changes by others pruned
/// the log meanwhile) is the error's operation "learn whether the write whose connection broke
/// was committed", meaning it may or may not have been applied.
///
/// A `PostgresStore` keeps no audit trail: its changes leave no record (the `audit` table in
/// its schema is a [`Registry`](crate::Registry)'s, written by the registry's systems'
/// changes). Use a registry where changes must be audited.
///
/// Tables (in the configured schema, created on first use, shared with a
/// [`Registry`](crate::Registry) on the same schema):
/// `client_certificates (system text, fingerprint text, der bytea, imported_at timestamptz,
/// primary key (system, fingerprint))`, `systems` and `audit`, plus `revision` and `changes`, which
/// order the changes for the replicas. A `PostgresStore` is the store of the rows whose
/// `system` is empty: the rows of no registered system, which a `Registry` reports as
/// [legacy certificates](crate::Registry::legacy_certificates) and can
/// [adopt](crate::Registry::adopt_legacy_store) into a system (after which this store no
/// longer holds them). Tables made by a version before registries (no `system` column) are
/// upgraded in place on connect, every row becoming a row of no system. The index holds every
/// row of the schema, of every system. Triggers on `client_certificates` keep the table's
/// summary (row count, and the XOR of 64 bits of SHA-256 over each row's system, fingerprint
/// and DER) in the `revision` row, whoever writes; the periodic check compares it with the
/// index's own. Needs PostgreSQL 14 or later (`bit_xor`, `gen_random_uuid`). Rows are checked
/// when loaded: a row whose DER's SHA-256 is not its fingerprint, or that is not a
/// certificate, is reported in [`CertificateListing::damaged`] and never hides the others.
///
/// # In an async service
///
/// The `postgres` crate blocks, and panics if it is used from inside a Tokio runtime: call
/// [`connect`](Self::connect) and the writes (`import*`, `delete`, `purge_expired`) from
/// `tokio::task::spawn_blocking`. `get`, `list`, `expiring_within` and `expired` only read the
/// in-memory index and can be called anywhere, including a rustls verifier.
///
/// ```no_run
/// use inbound_certs::{CertificateStore, ImportPolicy, SystemKind, backend::PostgresStore};
/// use time::OffsetDateTime;
///
/// let store = PostgresStore::connect("postgres://app@db.internal/service", SystemKind::Source)?;
/// let upload = std::fs::read("client.pem")?;
/// store.import_upload(&upload, &ImportPolicy::new(OffsetDateTime::now_utc()))?;
/// for certificate in store.list()?.certificates {
///     println!("{} {}", certificate.name(), certificate.summary().subject);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresStore {
    database: Database,
    rows: SystemRows,
}

/// A connection to the tables of one schema: the writer connection, the in-memory index and
/// the listener thread that keeps it current (stopped when this is dropped). Shared by a
/// [`PostgresStore`] and by a [`Registry`](crate::Registry) on PostgreSQL.
pub(crate) struct Database {
    shared: Arc<Shared>,
}

struct Shared {
    config: postgres::Config,
    connector: Connector,
    schema: String,
    channel: String,
    /// The text of every statement, made once from the schema's name.
    statements: Statements,
    resync_interval: Duration,
    index: RwLock<Index>,
    /// Held while the index is brought up to date, so that updates are applied in order.
    sync: Mutex<()>,
    /// The connection writes use; `None` until needed again after it broke.
    writer: Mutex<Option<Client>>,
    stop: AtomicBool,
}

impl PostgresStore {
    /// Connects with the default [`PostgresOptions`]; see [`connect_with`](Self::connect_with).
    pub fn connect(url: &str, kind: SystemKind) -> Result<Self, StoreError> {
        Self::connect_with(url, kind, &PostgresOptions::default())
    }

    /// Connects to the database at `url` (`postgres://user:password@host:port/database` or
    /// `host=… user=… dbname=…`; TLS as [`PostgresOptions::tls`] says), creates the schema and tables if
    /// they are missing, loads the index and starts the background thread that keeps it
    /// current.
    ///
    /// Fails with [`StoreError::NotInbound`] for a target system and [`StoreError::Database`]
    /// when the URL, its TLS settings (the source is then a [`PostgresTlsError`]), the schema
    /// name or the database is not usable, or the server's certificate is refused.
    pub fn connect_with(
        url: &str,
        kind: SystemKind,
        options: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        require_inbound(kind)?;
        let database = Database::connect(url, options)?;
        let rows = SystemRows::unassigned(Arc::clone(&database.shared), kind);
        Ok(PostgresStore { database, rows })
    }

    /// The schema the store's tables are in.
    pub fn schema(&self) -> &str {
        &self.database.shared.schema
    }
}

impl Database {
    /// The revision of the database this process's index reflects: it moves with every
    /// change any replica makes, once the listener (or the periodic check) has seen it.
    pub(crate) fn revision(&self) -> i64 {
        self.shared.read_index().revision
    }

    /// Connects, creates or upgrades the tables, loads the index and starts the listener.
    pub(crate) fn connect(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        check_schema_name(&options.schema)?;
        let settings =
            tls::split(url).map_err(|error| database("configure TLS to the database", error))?;
        let mut config: postgres::Config = settings
            .rest
            .parse()
            .map_err(|error| database("parse the connection URL", error))?;
        let (connector, ssl_mode) = settings
            .connector(options.tls.as_ref())
            .map_err(|error| database("configure TLS to the database", error))?;
        config.ssl_mode(ssl_mode);
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("inbound-certs");
        }
        // A connection that dies without a word (a network partition) must be noticed in
        // about a minute, not after the system's two hours of keepalive idle time: the
        // listener would otherwise wait that long before it reloads.
        if config.get_keepalives_idle() >= Duration::from_secs(7200) {
            config.keepalives_idle(Duration::from_secs(30));
            config.keepalives_interval(Duration::from_secs(10));
            config.keepalives_retries(3);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(60));
        }
        let schema = options.schema.clone();
        let shared = Arc::new(Shared {
            config,
            connector,
            channel: format!("{schema}_changes"),
            statements: Statements::new(&schema),
            schema,
            resync_interval: options.resync_interval,
            index: RwLock::new(Index::default()),
            sync: Mutex::new(()),
            writer: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        {
            let mut writer = shared.writer()?;
            let client = writer.connected(&shared)?;
            shared
                .migrate(client)
                .map_err(|error| database("create the tables", error))?;
            shared
                .resync(client)
                .map_err(|error| database("load the certificates", error))?;
        }
        let listener = shared.clone();
        std::thread::Builder::new()
            .name("inbound-certs-postgres".to_string())
            .spawn(move || listener.listen())
            .map_err(|error| database("start the listener thread", error))?;
        Ok(Database { shared })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // The listener thread sees this within `POLL` and closes its connection.
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("kind", &self.rows.system_kind())
            .field("schema", &self.database.shared.schema)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("schema", &self.shared.schema)
            .finish_non_exhaustive()
    }
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let valid = (1..=40).contains(&schema.len())
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(database(
            "use the schema",
            format!("invalid schema name {schema:?}: use 1 to 40 of a-z, 0-9 and _, not starting with a digit"),
        ))
    }
}

fn database(
    operation: &'static str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Database {
        operation,
        source: source.into(),
    }
}

impl Shared {
    fn table(&self, name: &str) -> String {
        format!("\"{}\".{name}", self.schema)
    }

    fn migrate(&self, client: &mut Client) -> Result<(), postgres::Error> {
        let mut transaction = client.transaction()?;
        // Replicas starting together must not race to create the same tables.
        transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtext('inbound-certs schema ' || $1))",
            &[&self.schema],
        )?;
        transaction.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             CREATE TABLE IF NOT EXISTS {systems} (
                 name text PRIMARY KEY,
                 kind text NOT NULL CHECK (kind IN ('source', 'proxy', 'target')),
                 created timestamptz NOT NULL,
                 id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
                 permissions text[] NOT NULL DEFAULT '{{}}'
             );
             CREATE TABLE IF NOT EXISTS {certificates} (
                 system text NOT NULL DEFAULT '',
                 fingerprint text NOT NULL,
                 der bytea NOT NULL,
                 imported_at timestamptz NOT NULL DEFAULT now(),
                 PRIMARY KEY (system, fingerprint)
             );
             CREATE TABLE IF NOT EXISTS {revision} (
                 only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                 value bigint NOT NULL,
                 row_count bigint NOT NULL DEFAULT 0,
                 digest bigint NOT NULL DEFAULT 0
             );
             INSERT INTO {revision} (value) VALUES (0) ON CONFLICT DO NOTHING;
             CREATE TABLE IF NOT EXISTS {changes} (
                 revision bigint PRIMARY KEY,
                 system text NOT NULL DEFAULT '',
                 fingerprint text NOT NULL,
                 imported boolean NOT NULL,
                 write_id text
             );
             CREATE TABLE IF NOT EXISTS {audit} (
                 id bigserial PRIMARY KEY,
                 \"time\" timestamptz NOT NULL,
                 actor text NOT NULL,
                 system text,
                 action text NOT NULL,
                 certificate text,
                 subject text,
                 outcome text NOT NULL,
                 detail text NOT NULL DEFAULT ''
             );
             CREATE INDEX IF NOT EXISTS audit_system_id ON {audit} (system, id);
             CREATE TABLE IF NOT EXISTS {suspensions} (
                 system text NOT NULL,
                 fingerprint text NOT NULL,
                 reason text NOT NULL,
                 since timestamptz NOT NULL,
                 actor text NOT NULL,
                 PRIMARY KEY (system, fingerprint)
             );",
            schema = self.schema,
            systems = self.table("systems"),
            certificates = self.table("client_certificates"),
            revision = self.table("revision"),
            changes = self.table("changes"),
            audit = self.table("audit"),
            suspensions = self.table("suspensions"),
        ))?;
        usage::create_table(&mut transaction, &self.table("last_used"))?;
        // Tables made before registries have no system column: their rows become the rows
        // of no system (those of a `PostgresStore`, which a registry calls legacy), and the
        // primary key becomes (system, fingerprint). Under the advisory lock, in this
        // transaction: every row is kept, or nothing changes.
        let has_system: bool = transaction
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = 'client_certificates'
                 AND column_name = 'system')",
                &[&self.schema],
            )?
            .try_get(0)?;
        if !has_system {
            let certificates = self.table("client_certificates");
            let primary_key: Option<String> = transaction
                .query_opt(
                    "SELECT conname::text FROM pg_constraint
                     WHERE conrelid = $1::text::regclass AND contype = 'p'",
                    &[&certificates],
                )?
                .map(|row| row.try_get(0))
                .transpose()?;
            let drop_key = primary_key
                .map(|name| format!("DROP CONSTRAINT \"{name}\","))
                .unwrap_or_default();
            transaction.batch_execute(&format!(
                "ALTER TABLE {certificates}
                     ADD COLUMN system text NOT NULL DEFAULT '',
                     {drop_key}
                     ADD PRIMARY KEY (system, fingerprint);
                 ALTER TABLE {changes} ADD COLUMN IF NOT EXISTS system text NOT NULL DEFAULT '';",
                changes = self.table("changes"),
            ))?;
        }
        // A systems table made before permissions gains their column (every system holding
        // none), in this transaction, under the advisory lock.
        let has_permissions: bool = transaction
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = 'systems'
                 AND column_name = 'permissions')",
                &[&self.schema],
            )?
            .try_get(0)?;
        if !has_permissions {
            transaction.batch_execute(&format!(
                "ALTER TABLE {systems} ADD COLUMN IF NOT EXISTS permissions text[] NOT NULL
                     DEFAULT '{{}}'",
                systems = self.table("systems"),
            ))?;
        }
        // Tables made by an earlier version lack these columns. `ALTER TABLE` locks the table
        // even when there is nothing to add, so only when there is.
        let columns: i64 = transaction
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1
                 AND (table_name, column_name) IN
                     (('changes', 'write_id'), ('revision', 'row_count'), ('revision', 'digest'))",
                &[&self.schema],
            )?
            .try_get(0)?;
        if columns != 3 {
            transaction.batch_execute(&format!(
                "ALTER TABLE {changes} ADD COLUMN IF NOT EXISTS write_id text;
                 ALTER TABLE {revision}
                     ADD COLUMN IF NOT EXISTS row_count bigint NOT NULL DEFAULT 0,
                     ADD COLUMN IF NOT EXISTS digest bigint NOT NULL DEFAULT 0;",
                revision = self.table("revision"),
                changes = self.table("changes"),
            ))?;
        }
        let triggers: i64 = transaction
            .query_one(
                "SELECT count(*) FROM pg_trigger
                 WHERE tgrelid = $1::text::regclass AND tgname LIKE 'summarize\\_%'",
                &[&self.table("client_certificates")],
            )?
            .try_get(0)?;
        // Row tokens now cover the system: tables made before registries get the new ones.
        if triggers != 4 || !has_system {
            self.install_summary(&mut transaction)?;
        }
        transaction.commit()
    }

    /// Installs the triggers that keep the table's [summary](index::Summary) in the revision
    /// row, whoever writes (a hand-made `INSERT` too), and computes it for the rows there are.
    fn install_summary(
        &self,
        transaction: &mut postgres::Transaction<'_>,
    ) -> Result<(), postgres::Error> {
        let certificates = self.table("client_certificates");
        let revision = self.table("revision");
        let function = self.table("summarize");
        let token = index::ROW_TOKEN_SQL;
        // No write may slip between the count and the triggers.
        transaction.batch_execute(&format!(
            "LOCK TABLE {certificates} IN SHARE ROW EXCLUSIVE MODE;
             CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
             DECLARE
                 rows_changed bigint := 0;
                 digest_changed bigint := 0;
                 part_rows bigint;
                 part_digest bigint;
             BEGIN
                 IF TG_OP = 'TRUNCATE' THEN
                     UPDATE {revision} SET row_count = 0, digest = 0;
                     RETURN NULL;
                 END IF;
                 IF TG_OP IN ('INSERT', 'UPDATE') THEN
                     SELECT count(*), coalesce(bit_xor({token}), 0) INTO part_rows, part_digest
                     FROM added;
                     rows_changed := rows_changed + part_rows;
                     digest_changed := digest_changed # part_digest;
                 END IF;
                 IF TG_OP IN ('DELETE', 'UPDATE') THEN
                     SELECT count(*), coalesce(bit_xor({token}), 0) INTO part_rows, part_digest
                     FROM removed;
                     rows_changed := rows_changed - part_rows;
                     digest_changed := digest_changed # part_digest;
                 END IF;
                 IF rows_changed <> 0 OR digest_changed <> 0 THEN
                     UPDATE {revision}
                     SET row_count = row_count + rows_changed, digest = digest # digest_changed;
                 END IF;
                 RETURN NULL;
             END $$;
             DROP TRIGGER IF EXISTS summarize_insert ON {certificates};
             DROP TRIGGER IF EXISTS summarize_update ON {certificates};
             DROP TRIGGER IF EXISTS summarize_delete ON {certificates};
             DROP TRIGGER IF EXISTS summarize_truncate ON {certificates};
             CREATE TRIGGER summarize_insert AFTER INSERT ON {certificates}
                 REFERENCING NEW TABLE AS added
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}();
             CREATE TRIGGER summarize_update AFTER UPDATE ON {certificates}
                 REFERENCING OLD TABLE AS removed NEW TABLE AS added
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}();
             CREATE TRIGGER summarize_delete AFTER DELETE ON {certificates}
                 REFERENCING OLD TABLE AS removed
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}();
             CREATE TRIGGER summarize_truncate AFTER TRUNCATE ON {certificates}
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}();
             UPDATE {revision} SET (row_count, digest) =
                 (SELECT count(*), coalesce(bit_xor({token}), 0) FROM {certificates});"
        ))
    }
}

impl StoreBackend for PostgresStore {
    fn system_kind(&self) -> SystemKind {
        self.rows.system_kind()
    }

    fn store_all(&self, admitted: Admitted<'_>) -> Result<Vec<ImportOutcome>, StoreError> {
        self.rows.store_all(admitted)
    }

    fn load(&self, name: &CertificateName) -> Result<Option<Certificate>, StoreError> {
        self.rows.load(name)
    }

    fn load_all(&self) -> Result<CertificateListing, StoreError> {
        self.rows.load_all()
    }

    fn remove(&self, name: &CertificateName) -> Result<(), StoreError> {
        self.rows.remove(name)
    }
}
