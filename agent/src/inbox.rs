//! The inbox: spreadsheets dropped into `<data-dir>/inbox/` are imported, then moved to
//! `inbox/imported/`, or to `inbox/rejected/` beside a `<file>.errors.txt` that names every
//! bad row. A file is read only once its size and modification time have stopped changing
//! (a copy from a USB stick may take a while).

use crate::import::{self, ImportError, ImportReport};
use karya_shared::Store;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Whether a path in the inbox is a spreadsheet to import (not a temp or lock file).
pub fn is_candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || name.starts_with("~$") {
        return false;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    matches!(ext.as_str(), "csv" | "xlsx" | "xls" | "xlsm" | "ods") && path.is_file()
}

/// The candidates lying in the inbox now, oldest first.
pub fn scan(inbox: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        return vec![];
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| is_candidate(p))
        .map(|p| {
            (
                std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                p,
            )
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

fn fingerprint(path: &Path) -> Option<(u64, SystemTime)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// Waits until the file has not changed for `settle`; false if it disappeared.
pub async fn settled(path: &Path, settle: Duration) -> bool {
    let mut last = fingerprint(path);
    loop {
        tokio::time::sleep(settle).await;
        let now = fingerprint(path);
        if now.is_none() {
            return false;
        }
        if now == last {
            return true;
        }
        last = now;
    }
}

fn unique_target(dir: &Path, name: &str) -> PathBuf {
    let target = dir.join(name);
    if !target.exists() {
        return target;
    }
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    dir.join(format!("{stamp}-{name}"))
}

#[derive(Debug)]
pub enum Processed {
    Imported {
        report: ImportReport,
        moved_to: PathBuf,
    },
    Rejected {
        error: String,
        moved_to: PathBuf,
        errors_file: PathBuf,
    },
    /// The same file (same content) was imported before, perhaps by a service that died
    /// before it could move the file: not imported again, moved to `imported/`.
    AlreadyImported { earlier: String, moved_to: PathBuf },
    /// Could not be handled now (the database is busy or the disk full): left in place.
    Deferred(String),
}

/// Imports one inbox file and moves it where the operator will look for it.
pub fn process(store: &mut Store, upt: &str, inbox: &Path, path: &Path) -> Processed {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // As logs and error reports show it: control characters escaped, at most 120 characters.
    let shown: String = name.escape_debug().take(120).collect();
    // A link could point at any file the service can read (its key, its token): refused.
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let result = if is_link {
        Err(import::ImportError::Unreadable {
            file: name.clone(),
            reason: crate::text::agent::inbox_link().into(),
        })
    } else {
        // A panic while reading a crafted file must not take the service down (and, left
        // in the inbox, down again at every start): it rejects the file instead.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            import::import_file(store, upt, path)
        }))
        .unwrap_or_else(|_| {
            Err(import::ImportError::Unreadable {
                file: name.clone(),
                reason: crate::text::agent::import_internal_error().into(),
            })
        })
    };
    match result {
        Ok(report) => {
            let dir = inbox.join("imported");
            let _ = std::fs::create_dir_all(&dir);
            let target = unique_target(&dir, &name);
            if let Err(e) = std::fs::rename(path, &target) {
                tracing::error!(file = %shown, error = %e, "imported but could not move the file");
            }
            tracing::info!(file = %shown, rows = report.rows, kind = ?report.kind, "inbox file imported");
            Processed::Imported {
                report,
                moved_to: target,
            }
        }
        Err(ImportError::AlreadyImported { earlier, .. }) => {
            let dir = inbox.join("imported");
            let _ = std::fs::create_dir_all(&dir);
            let target = unique_target(&dir, &name);
            if let Err(e) = std::fs::rename(path, &target) {
                tracing::error!(file = %shown, error = %e, "could not move the file");
            }
            tracing::info!(file = %shown, earlier = %earlier, "inbox file imported before; not imported again");
            Processed::AlreadyImported {
                earlier,
                moved_to: target,
            }
        }
        Err(ImportError::Store(e)) => {
            tracing::warn!(file = %shown, error = %e, "inbox file left for later");
            Processed::Deferred(e.to_string())
        }
        Err(e) => {
            let dir = inbox.join("rejected");
            let _ = std::fs::create_dir_all(&dir);
            let target = unique_target(&dir, &name);
            let errors_file = dir.join(format!(
                "{}.errors.txt",
                target
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
            let text = format!(
                "{shown}: {}\n\n{e}\n",
                crate::text::agent::inbox_rejected_head()
            );
            if let Err(err) = std::fs::write(&errors_file, text) {
                tracing::error!(file = %errors_file.display(), error = %err, "could not write the errors file");
            }
            if let Err(err) = std::fs::rename(path, &target) {
                tracing::error!(file = %shown, error = %err, "could not move the rejected file");
            }
            tracing::warn!(file = %shown, error = %e, "inbox file rejected");
            Processed::Rejected {
                error: e.to_string(),
                moved_to: target,
                errors_file,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_file_imported_just_before_a_crash_is_not_imported_again() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let mut store = Store::open(&dir.path().join("agent.db"), None).unwrap();
        let csv = "nama,kategori,harga,stok\nKursi jati,furnitur,1850000,2\nMeja rotan,furnitur,950000,1\n";
        let file = inbox.join("produk-minggu-ini.csv");
        std::fs::write(&file, csv).unwrap();

        // The service imported the file and was killed before it could move it: the rows
        // and the file's hash were stored together; the file is still in the inbox.
        import::import_file(&mut store, "LAPAS-PATI", &file).unwrap();
        assert_eq!(products(&store), 2);

        // Started again, the service finds the file and does not import it twice.
        match process(&mut store, "LAPAS-PATI", &inbox, &file) {
            Processed::AlreadyImported { earlier, moved_to } => {
                assert!(earlier.contains("produk-minggu-ini.csv"), "{earlier}");
                assert!(earlier.contains("2 baris"), "{earlier}");
                assert!(moved_to.starts_with(inbox.join("imported")));
                assert!(moved_to.exists() && !file.exists());
            }
            other => panic!("expected AlreadyImported, got {other:?}"),
        }
        assert_eq!(products(&store), 2);

        // The same content under another name is the same import; a changed file is new.
        let again = inbox.join("salinan.csv");
        std::fs::write(&again, csv).unwrap();
        let e = import::import_file(&mut store, "LAPAS-PATI", &again).unwrap_err();
        assert!(e.to_string().contains("sudah pernah diimpor"), "{e}");
        std::fs::write(&again, format!("{csv}Lemari jati,furnitur,2500000,1\n")).unwrap();
        assert!(matches!(
            process(&mut store, "LAPAS-PATI", &inbox, &again),
            Processed::Imported { .. }
        ));
        assert_eq!(products(&store), 5);
    }
}
