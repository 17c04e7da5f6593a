//! The hub's own tables beside the replica store: tokens, per-UPT sync status, refusals.

use karya_shared::store::AppSchema;

pub const SCHEMA: AppSchema = AppSchema {
    name: "hub",
    migrations: &[r#"
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
    "#],
};
