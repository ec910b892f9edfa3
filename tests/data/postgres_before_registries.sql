-- The tables of a PostgresStore as the version before registries (commit ec143ba) made them in
-- the schema SCHEMA_NAME: the SQL of its `migrate` and `install_summary`, verbatim but for the
-- schema's name. tests/postgres.rs upgrades them to a registry.
CREATE SCHEMA IF NOT EXISTS "SCHEMA_NAME";
CREATE TABLE IF NOT EXISTS "SCHEMA_NAME".client_certificates (
    fingerprint text PRIMARY KEY,
    der bytea NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS "SCHEMA_NAME".revision (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL,
    row_count bigint NOT NULL DEFAULT 0,
    digest bigint NOT NULL DEFAULT 0
);
INSERT INTO "SCHEMA_NAME".revision (value) VALUES (0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS "SCHEMA_NAME".changes (
    revision bigint PRIMARY KEY,
    fingerprint text NOT NULL,
    imported boolean NOT NULL,
    write_id text
);
LOCK TABLE "SCHEMA_NAME".client_certificates IN SHARE ROW EXCLUSIVE MODE;
CREATE OR REPLACE FUNCTION "SCHEMA_NAME".summarize() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rows_changed bigint := 0;
    digest_changed bigint := 0;
    part_rows bigint;
    part_digest bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE "SCHEMA_NAME".revision SET row_count = 0, digest = 0;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*), coalesce(bit_xor(('x' || left(encode(sha256(convert_to(fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint), 0) INTO part_rows, part_digest
        FROM added;
        rows_changed := rows_changed + part_rows;
        digest_changed := digest_changed # part_digest;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT count(*), coalesce(bit_xor(('x' || left(encode(sha256(convert_to(fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint), 0) INTO part_rows, part_digest
        FROM removed;
        rows_changed := rows_changed - part_rows;
        digest_changed := digest_changed # part_digest;
    END IF;
    IF rows_changed <> 0 OR digest_changed <> 0 THEN
        UPDATE "SCHEMA_NAME".revision
        SET row_count = row_count + rows_changed, digest = digest # digest_changed;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS summarize_insert ON "SCHEMA_NAME".client_certificates;
DROP TRIGGER IF EXISTS summarize_update ON "SCHEMA_NAME".client_certificates;
DROP TRIGGER IF EXISTS summarize_delete ON "SCHEMA_NAME".client_certificates;
DROP TRIGGER IF EXISTS summarize_truncate ON "SCHEMA_NAME".client_certificates;
CREATE TRIGGER summarize_insert AFTER INSERT ON "SCHEMA_NAME".client_certificates
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION "SCHEMA_NAME".summarize();
CREATE TRIGGER summarize_update AFTER UPDATE ON "SCHEMA_NAME".client_certificates
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION "SCHEMA_NAME".summarize();
CREATE TRIGGER summarize_delete AFTER DELETE ON "SCHEMA_NAME".client_certificates
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION "SCHEMA_NAME".summarize();
CREATE TRIGGER summarize_truncate AFTER TRUNCATE ON "SCHEMA_NAME".client_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION "SCHEMA_NAME".summarize();
UPDATE "SCHEMA_NAME".revision SET (row_count, digest) =
    (SELECT count(*), coalesce(bit_xor(('x' || left(encode(sha256(convert_to(fingerprint, 'UTF8') || der), 'hex'), 16))::bit(64)::bigint), 0) FROM "SCHEMA_NAME".client_certificates);
