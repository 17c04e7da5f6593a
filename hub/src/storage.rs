//! The hub's files on disk, seen from outside SQLite: who may read them, whether their folder
//! takes writes, how much room is left, and whether the files the hub has open are still the
//! ones on disk.
//!
//! The rule this module keeps: **no descriptor of a live database file outside SQLite.** On
//! Unix, closing any descriptor of a file drops every POSIX lock the process holds on it, so
//! a `File::open` + close of `karya-hub.db` (or its `-wal`/`-shm`) in the serving process
//! leaves its SQLite connections without their locks; the next process to close a connection
//! to the same file then believes it is the last one and deletes the WAL under the hub,
//! whose later commits go into a deleted file and are lost at restart. Everything here works
//! on the database's *folder* (`statvfs`, a probe file beside it), on path metadata (`stat`,
//! `chmod`, which open nothing) or on `/proc/self/fd` (reading links, opening nothing).

use std::path::{Path, PathBuf};

/// The folder a file lives in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Free bytes on the file system holding `path` (its folder's `statvfs`).
pub fn disk_free(path: &Path) -> Option<u64> {
    fs4::available_space(folder_of(path)).ok()
}

/// Whether files can be made in `dir` (a read-only disk, a folder the hub may not write):
/// learnt by making and removing a probe file there, never by opening the database.
pub fn folder_writable(dir: &Path) -> Result<(), std::io::Error> {
    let probe = dir.join(format!(".karya-hub-probe-{}", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe);
    match made {
        Ok(f) => {
            drop(f);
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The database, its write-ahead log and its shared-memory file.
pub fn database_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Bytes of the database and its write-ahead log (`stat` only).
pub fn database_bytes(db: &Path) -> u64 {
    database_files(db)[..2]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Keeps a file to its owner (0600) by path: `chmod` opens nothing, so it is safe on a live
/// database. Files SQLite makes later (`-wal`, `-shm`) take the database's mode.
pub fn make_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            let mode = if meta.is_dir() { 0o700 } else { 0o600 };
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Makes `dir` (and its missing parents) as a folder only its owner enters (0700).
pub fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file readable by its owner only (0600).
pub fn private_file() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes the (empty) file a new database or a backup is then written into, with mode 0600
/// from its first byte. It does not exist before: no live database is opened here.
pub fn create_private_empty(path: &Path) -> std::io::Result<()> {
    private_file()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

/// Why `dir` is no place for a copy of the hub's secrets: a folder that other users may
/// write (anyone could replace or read what is written there before it is moved off).
pub fn others_may_write(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).ok()?;
        let mode = meta.permissions().mode();
        if mode & 0o002 != 0 {
            return Some(format!(
                "{} may be written by every user of this machine (mode {:o})",
                dir.display(),
                mode & 0o7777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    None
}

/// Files of the database that this process holds open although they were deleted or
/// replaced on disk (another program removed the WAL under the hub): every commit into them
/// is lost at the next restart. Read from `/proc/self/fd` (links, no descriptor opened);
/// empty elsewhere.
pub fn deleted_open_files(db: &Path) -> Vec<String> {
    #[cfg(target_os = "linux")]
    {
        // The kernel names files by their real path: the folder resolved (links and all).
        let (Ok(folder), Some(name)) = (std::fs::canonicalize(folder_of(db)), db.file_name())
        else {
            return Vec::new();
        };
        let absolute = folder.join(name);
        let names: Vec<String> = database_files(&absolute)
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let mut found = Vec::new();
        let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
            return found;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(name) = target.strip_suffix(" (deleted)")
                && names.iter().any(|n| n == name)
                && !found.iter().any(|f| f == name)
            {
                found.push(name.to_string());
            }
        }
        found
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = db;
        Vec::new()
    }
}
