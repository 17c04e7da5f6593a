//! Photo blobs at the hub, on disk beside the database, named by the SHA-256 of their bytes.
//!
//! An upload grows `partial/<hash>` from the agent's acknowledged offset (tus 1.0 core: the
//! offset is the partial file's length). Each appended part is fsynced before it is
//! acknowledged; a part that fails to write (a full disk) is cut off again, so the file never
//! holds bytes nobody acknowledged. When the last byte arrives the whole file is hashed, and
//! only bytes with the right hash are renamed to `<aa>/<hash>`: a blob is whole or absent.
//! Blobs no product names any more are collected after a grace period.

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the upload is at byte {current}, not {given}; resume from byte {current}")]
    Offset { current: u64, given: u64 },
    #[error("{got} bytes would pass the photo's size of {size} bytes")]
    TooLong { got: u64, size: u64 },
    #[error("the bytes received do not hash to {hash}; the upload was discarded and starts again")]
    HashMismatch { hash: String },
    #[error("another upload of this photo is running; try again in a moment")]
    Busy,
    #[error(
        "the bytes received are not a photo the hub can show ({0}); the upload was discarded; add the photo again with karya-agent product photo add"
    )]
    NotAPhoto(String),
    #[error("the hub's disk is full ({0}); nothing of this part was kept")]
    DiskFull(String),
    #[error("the photo store failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for BlobError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            BlobError::DiskFull(e.to_string())
        } else {
            BlobError::Io(e.to_string())
        }
    }
}

#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    /// Hashes being appended to now: one writer per upload.
    writing: Mutex<HashSet<String>>,
}

/// Frees a hash's writer slot when the append ends, however it ends.
struct Writing<'a>(&'a BlobStore, String);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0
            .writing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
    }
}

/// One PATCH's bytes going into an upload, as they arrive. What arrived is kept when the
/// body is cut (tus: the server keeps as much as it received; the client's next HEAD
/// learns the offset); a part that fails to write is cut off back to where it began.
pub struct Appender<'a> {
    store: &'a BlobStore,
    hash: String,
    size: u64,
    start: u64,
    written: u64,
    /// `None`: the blob was complete already.
    file: Option<std::fs::File>,
    _slot: Writing<'a>,
}

impl Appender<'_> {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        let end = self.start + self.written + bytes.len() as u64;
        if end > self.size {
            self.undo();
            return Err(BlobError::TooLong {
                got: end,
                size: self.size,
            });
        }
        if let Err(e) = file.write_all(bytes) {
            self.undo();
            return Err(e.into());
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Drops this part's bytes: the upload stays where it was before the part.
    fn undo(&mut self) {
        if let Some(f) = &self.file {
            let _ = f.set_len(self.start);
            let _ = f.sync_data();
        }
        self.written = 0;
    }

    /// Makes what arrived durable (and the blob whole, when it is all there).
    pub fn commit(mut self) -> Result<Progress, BlobError> {
        let Some(file) = self.file.take() else {
            return Ok(Progress {
                offset: self.start,
                complete: true,
            });
        };
        if let Err(e) = file.sync_data() {
            self.file = Some(file);
            self.undo();
            return Err(e.into());
        }
        drop(file);
        let end = self.start + self.written;
        if end < self.size {
            return Ok(Progress {
                offset: end,
                complete: false,
            });
        }
        let partial = self.store.partial(&self.hash);
        self.store.finish(&self.hash, &partial)
    }
}

/// The longest edge of a photo the hub keeps (agents send 1,600 px photos and their
/// thumbnails), and so at most 4096 x 4096 x 4 bytes to decode one.
pub const MAX_PHOTO_EDGE: u32 = 4096;

/// Whether `bytes` are a JPEG that decodes whole within [`MAX_PHOTO_EDGE`]: what agents
/// make (karya-agent re-encodes every photo); anything else (a script, an HTML page, a
/// decompression bomb named as a photo) is not kept.
pub fn check_photo(bytes: &[u8]) -> Result<(), String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format() != Some(image::ImageFormat::Jpeg) {
        return Err("not a JPEG".into());
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_EDGE);
    limits.max_image_height = Some(MAX_PHOTO_EDGE);
    limits.max_alloc = Some(u64::from(MAX_PHOTO_EDGE) * u64::from(MAX_PHOTO_EDGE) * 4);
    reader.limits(limits);
    reader.decode().map(|_| ()).map_err(|e| e.to_string())
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub offset: u64,
    pub complete: bool,
}

impl BlobStore {
    pub fn open(dir: &Path) -> std::io::Result<BlobStore> {
        // Photos of products are the hub's to serve, nobody else's to read off the disk.
        crate::storage::private_dir_all(&dir.join("partial"))?;
        crate::storage::make_private(dir);
        Ok(BlobStore {
            dir: dir.to_path_buf(),
            writing: Mutex::new(HashSet::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a complete blob (`hash` must be a checked blob name).
    pub fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(&hash[..2]).join(hash)
    }

    fn partial(&self, hash: &str) -> PathBuf {
        self.dir.join("partial").join(hash)
    }

    /// Whether a request is appending to the upload of `hash` now.
    pub fn is_writing(&self, hash: &str) -> bool {
        self.writing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(hash)
    }

    pub fn has(&self, hash: &str) -> bool {
        self.path(hash).is_file()
    }

    /// How far the upload of `hash` got.
    pub fn progress(&self, hash: &str) -> Progress {
        if let Ok(m) = std::fs::metadata(self.path(hash)) {
            return Progress {
                offset: m.len(),
                complete: true,
            };
        }
        Progress {
            offset: std::fs::metadata(self.partial(hash)).map_or(0, |m| m.len()),
            complete: false,
        }
    }

    /// Appends `bytes` at `offset` to the upload of `hash` (`size` bytes in all); returns
    /// where the upload stands after it.
    pub fn append(
        &self,
        hash: &str,
        size: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<Progress, BlobError> {
        let mut a = self.begin(hash, size, offset)?;
        a.write(bytes)?;
        a.commit()
    }

    /// Starts appending to the upload of `hash` at `offset` (one writer per upload).
    pub fn begin(&self, hash: &str, size: u64, offset: u64) -> Result<Appender<'_>, BlobError> {
        if !self
            .writing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash.to_string())
        {
            return Err(BlobError::Busy);
        }
        let slot = Writing(self, hash.to_string());
        let now = self.progress(hash);
        if now.complete {
            return Ok(Appender {
                store: self,
                hash: hash.to_string(),
                size,
                start: now.offset,
                written: 0,
                file: None,
                _slot: slot,
            });
        }
        if offset != now.offset {
            return Err(BlobError::Offset {
                current: now.offset,
                given: offset,
            });
        }
        let file = crate::storage::private_file()
            .create(true)
            .append(true)
            .open(self.partial(hash))?;
        Ok(Appender {
            store: self,
            hash: hash.to_string(),
            size,
            start: offset,
            written: 0,
            file: Some(file),
            _slot: slot,
        })
    }

    /// The last byte arrived: the whole file must hash to its name.
    fn finish(&self, hash: &str, partial: &Path) -> Result<Progress, BlobError> {
        let mut f = std::fs::File::open(partial)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let size = f.seek(SeekFrom::End(0))?;
        if hex::encode(hasher.finalize()) != hash {
            let _ = std::fs::remove_file(partial);
            return Err(BlobError::HashMismatch {
                hash: hash.to_string(),
            });
        }
        // Kept and served only when it is the JPEG an agent makes, decodable within bounds.
        let bytes = std::fs::read(partial)?;
        if let Err(why) = check_photo(&bytes) {
            let _ = std::fs::remove_file(partial);
            return Err(BlobError::NotAPhoto(why));
        }
        let target = self.path(hash);
        let parent = target.parent().expect("a blob path has a folder");
        crate::storage::private_dir_all(parent)?;
        std::fs::rename(partial, &target)?;
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(Progress {
            offset: size,
            complete: true,
        })
    }

    /// Removes the blobs not in `referenced` and the unfinished uploads, older than `grace`
    /// (a photo removed from a product may come back; an upload may resume). Returns how many
    /// files and bytes went.
    pub fn collect(
        &self,
        referenced: &HashSet<String>,
        grace: Duration,
    ) -> std::io::Result<(usize, u64)> {
        let cutoff = SystemTime::now()
            .checked_sub(grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut gone = (0usize, 0u64);
        let mut sweep = |path: &Path, keep: bool| {
            if keep {
                return;
            }
            let Ok(meta) = std::fs::metadata(path) else {
                return;
            };
            if meta.modified().is_ok_and(|m| m < cutoff) && std::fs::remove_file(path).is_ok() {
                gone.0 += 1;
                gone.1 += meta.len();
            }
        };
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let partial = name == "partial";
            if !partial && name.len() != 2 {
                continue;
            }
            for file in std::fs::read_dir(entry.path())? {
                let file = file?;
                let hash = file.file_name().to_string_lossy().into_owned();
                sweep(&file.path(), !partial && referenced.contains(&hash));
            }
        }
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// A JPEG of noise, as big as an agent's small photo.
    fn noise_jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut x = 2_463_534_242u32;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn only_a_jpeg_that_decodes_within_bounds_is_a_photo() {
        assert!(check_photo(&noise_jpeg(40, 30)).is_ok());
        assert!(check_photo(b"<html><script>alert(1)</script></html>").is_err());
        let mut cut = noise_jpeg(40, 30);
        cut.truncate(cut.len() / 2);
        // (A JPEG decoder shows what arrived of a cut file; the hash check before this one
        // is what refuses a cut upload.)
        let _ = check_photo(&cut);
        let mut png = Vec::new();
        image::RgbImage::new(8, 8)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(check_photo(&png).unwrap_err(), "not a JPEG");
    }

    #[test]
    fn an_upload_grows_from_its_offset_and_is_kept_only_with_the_right_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let bytes = noise_jpeg(120, 100);
        assert!(bytes.len() > 8000, "{}", bytes.len());
        let h = hash(&bytes);
        let size = bytes.len() as u64;
        assert_eq!(store.progress(&h).offset, 0);
        let p = store.append(&h, size, 0, &bytes[..4000]).unwrap();
        assert_eq!(p.offset, 4000);
        // A resend of an acknowledged part is refused with where to resume.
        let err = store.append(&h, size, 0, &bytes[..4000]).unwrap_err();
        assert!(
            matches!(err, BlobError::Offset { current: 4000, .. }),
            "{err}"
        );
        let err = store
            .append(&h, size, 4000, &vec![0; bytes.len()])
            .unwrap_err();
        assert!(matches!(err, BlobError::TooLong { .. }), "{err}");
        assert!(!store.has(&h));
        let p = store.append(&h, size, 4000, &bytes[4000..]).unwrap();
        assert_eq!((p.offset, p.complete), (size, true));
        assert_eq!(std::fs::read(store.path(&h)).unwrap(), bytes);

        // Wrong bytes under a name: discarded whole.
        let fake = hash(b"something else");
        let err = store.append(&fake, 5, 0, b"abcde").unwrap_err();
        assert!(matches!(err, BlobError::HashMismatch { .. }), "{err}");
        assert!(!store.has(&fake));
        assert_eq!(store.progress(&fake).offset, 0);

        // Collection keeps what is named and what is young.
        let (n, _) = store
            .collect(&HashSet::new(), Duration::from_secs(3600))
            .unwrap();
        assert_eq!(n, 0, "young files stay");
        let (n, bytes_gone) = store.collect(&HashSet::new(), Duration::ZERO).unwrap();
        assert_eq!((n, bytes_gone), (1, size));
        assert!(!store.has(&h));
    }
}
