//! The agent's database and data directory: opening the store (to write, or only to read),
//! the owner-only modes, the read-only check, and the lock one sync holds. A leaf: every part
//! of the agent may use it, it uses none of them.

use crate::config::Paths;
use crate::{AgentError, identity};
use karya_shared::Store;

/// Keeps the data directory to its owner (0700) and the database to its owner (0600): it holds
/// the names and registration numbers behind the pseudonyms, and the secret.
#[cfg(unix)]
pub fn secure_data_dir(paths: &Paths) {
    use std::os::unix::fs::PermissionsExt;
    let tighten = |path: &std::path::Path, mode: u32| {
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o777 & !mode != 0
        {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    };
    tighten(&paths.dir, 0o700);
    for name in ["agent.db", "agent.db-wal", "agent.db-shm"] {
        tighten(&paths.dir.join(name), 0o600);
    }
}

/// Windows: the data directory sits in the service account's profile, which only it reads.
#[cfg(not(unix))]
pub fn secure_data_dir(_paths: &Paths) {}

pub fn open_store(paths: &Paths) -> Result<Store, AgentError> {
    let opened = Store::open(&paths.db(), Some(identity::SCHEMA));
    if opened.is_ok() {
        secure_data_dir(paths);
    }
    opened.map_err(|e| match read_only(paths) {
        Some(why) => AgentError::ReadOnly {
            dir: paths.dir.display().to_string(),
            why,
        },
        None => e.into(),
    })
}

/// Opens the store to show what it holds: on a read-only data directory, read-only, after
/// saying so on stderr.
pub fn open_store_to_read(paths: &Paths) -> Result<Store, AgentError> {
    match open_store(paths) {
        Err(e @ AgentError::ReadOnly { .. }) => {
            eprintln!("karya-agent: {e}");
            Ok(Store::open_read_only(&paths.db())?)
        }
        other => other,
    }
}

/// Why nothing can be written in the data directory, if it cannot (a read-only disk or
/// folder): found by making and removing a probe file.
pub fn read_only(paths: &Paths) -> Option<String> {
    let probe = paths.dir.join(".karya-write-check");
    match std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            Some(e.to_string())
        }
        Err(_) => None,
    }
}

/// Holds `sync.lock` for the duration of a sync, so the service and a CLI `sync` never
/// sync at once. Released when dropped (or when the process dies).
pub struct SyncLock(#[allow(dead_code)] std::fs::File);

impl SyncLock {
    fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }

    /// Whether a sync runs now (this process or another holds the lock).
    pub fn is_held(paths: &Paths) -> bool {
        let Ok(file) = Self::open(&paths.sync_lock()) else {
            // No lock file can be made (a read-only directory): no sync runs here either.
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }

    pub async fn acquire(paths: &Paths) -> Result<SyncLock, AgentError> {
        let path = paths.sync_lock();
        let file =
            Self::open(&path).map_err(|e| AgentError::Io(format!("{}: {e}", path.display())))?;
        tokio::task::spawn_blocking(move || file.lock().map(|()| SyncLock(file)))
            .await
            .map_err(|e| AgentError::Io(e.to_string()))?
            .map_err(|e| AgentError::Io(format!("cannot lock {}: {e}", path.display())))
    }
}
