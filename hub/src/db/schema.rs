//! The hub's own tables (tokens, sessions, UPTs and their sync status, refusals, the
//! curation history), per engine; each entry migrates from the one before it.

use karya_shared::store::AppSchema;

pub const SCHEMA: AppSchema = AppSchema {
    name: "hub",
    migrations: &[
        r#"-- tokens, per-UPT sync status, refusals
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            upt TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE TABLE upt_status (
            upt TEXT PRIMARY KEY,
            last_sync_at TEXT,
            last_attempt_at TEXT,
            last_agent_version TEXT,
            last_peer TEXT,
            syncs INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE refusals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            upt TEXT,
            peer TEXT NOT NULL,
            doc TEXT NOT NULL,
            reason TEXT NOT NULL
        );
    "#,
        r#"-- refusals counted once per (UPT, document, kind) instead of a row per attempt
        CREATE TABLE refusal_counts (
            upt TEXT NOT NULL,
            doc TEXT NOT NULL,
            kind TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_peer TEXT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (upt, doc, kind)
        );
        INSERT INTO refusal_counts (upt, doc, kind, last_reason, last_peer, first_at, last_at, count)
            SELECT COALESCE(upt, ''), doc, 'earlier', MAX(reason), MAX(peer), MIN(at), MAX(at), COUNT(*)
            FROM refusals GROUP BY COALESCE(upt, ''), doc;
        DROP TABLE refusals;
    "#,
        r#"-- refused token attempts per UPT (a revoked or wrong token of the UPT's agent)
        CREATE TABLE token_failures (
            upt TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_token TEXT NOT NULL
        );
    "#,
        r#"-- every curation decision made at this hub, for the product page's history
        CREATE TABLE curation_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            upt TEXT NOT NULL,
            product_id TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX curation_log_product ON curation_log(upt, product_id, id);
    "#,
        r#"-- viewer and curator tokens limited to one Kanwil's UPTs
        ALTER TABLE tokens ADD COLUMN kanwil TEXT;
    "#,
        r#"-- the dashboard's sessions, shared by every hub process and kept across restarts
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            token_id TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            seen_at INTEGER NOT NULL
        );
        CREATE INDEX sessions_seen ON sessions(seen_at);
    "#,
        r#"-- products per category, counted per UPT from an index alone
        CREATE INDEX products_category ON products(deleted, upt, category);
    "#,
    ],
};

/// The hub's tables on PostgreSQL: the state [`SCHEMA`] leaves on SQLite, in one step (a
/// PostgreSQL hub starts at this release), plus trigram indexes for the words search.
pub const PG_SCHEMA: AppSchema = AppSchema {
    name: "hub",
    migrations: &[
        r#"-- tokens, sync status, refusals, decisions, sessions; indexes for the views
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            upt TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT,
            kanwil TEXT
        );
        CREATE TABLE upt_status (
            upt TEXT PRIMARY KEY,
            last_sync_at TEXT,
            last_attempt_at TEXT,
            last_agent_version TEXT,
            last_peer TEXT,
            syncs BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE refusal_counts (
            upt TEXT NOT NULL,
            doc TEXT NOT NULL,
            kind TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_peer TEXT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY (upt, doc, kind)
        );
        CREATE TABLE token_failures (
            upt TEXT PRIMARY KEY,
            count BIGINT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            last_reason TEXT NOT NULL,
            last_token TEXT NOT NULL
        );
        CREATE TABLE curation_log (
            id BIGSERIAL PRIMARY KEY,
            upt TEXT NOT NULL,
            product_id TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX curation_log_product ON curation_log(upt, product_id, id);
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            token_id TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            seen_at BIGINT NOT NULL
        );
        CREATE INDEX sessions_seen ON sessions(seen_at);
        CREATE INDEX products_category ON products(deleted, upt, category);
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX products_name_words ON products USING gin (name gin_trgm_ops);
        CREATE INDEX products_description_words ON products USING gin (description gin_trgm_ops);
    "#,
    ],
};
