//! Product photos at the agent: made small and clean before anything is stored.
//!
//! A phone photo (JPEG, PNG or WebP, up to [`MAX_INPUT_BYTES`]) is decoded with bounded
//! memory, turned upright by its EXIF orientation, cut down to [`PHOTO_EDGE`] px on its long
//! edge plus a [`THUMB_EDGE`] px thumbnail, and re-encoded as JPEG. The encoder writes pixels
//! and nothing else, so GPS positions, device serials and every other metadata block stay
//! behind. Each result is a blob named by its SHA-256, kept under `<data-dir>/photos/`; the
//! product record holds the list of photos, never their bytes.

use karya_shared::model::{PHOTO_EDGE, Photo, THUMB_EDGE};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

/// The largest photo file accepted as input (a phone photo is 2 to 12 MB).
pub const MAX_INPUT_BYTES: u64 = 40 * 1024 * 1024;
/// The most pixels a photo may have: 64 MP (a phone's 12 to 50 MP photo passes; a 108 MP
/// sensor's full-resolution mode does not). Decoding then takes at most 4 bytes a pixel,
/// 256 MiB, beside the file itself (at most [`MAX_INPUT_BYTES`]); a 120 MP PNG took 502 MB.
pub const MAX_PIXELS: u64 = 64_000_000;
/// A stored photo aims at this size; the JPEG quality steps down until it fits.
pub const TARGET_BYTES: usize = 300 * 1024;
const QUALITIES: [u8; 5] = [85, 78, 70, 62, 55];

use crate::text::agent as text;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("{}", text::cannot_read(path, reason))]
    Read { path: String, reason: String },
    #[error("{}", text::photo_too_big(path, *size, MAX_INPUT_BYTES / (1024 * 1024)))]
    TooLarge { path: String, size: u64 },
    #[error("{}", text::photo_not_image(path, reason))]
    Format { path: String, reason: String },
    #[error("{}", text::photo_undecodable(path, reason))]
    Decode { path: String, reason: String },
    #[error("{}", text::photo_cannot_store(dir, reason))]
    Store { dir: String, reason: String },
}

/// One processed photo: the JPEG bytes of the photo and of its thumbnail.
#[derive(Debug)]
pub struct Processed {
    pub full: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub thumb: Vec<u8>,
}

/// Reads, cleans and shrinks the photo at `path` (see the module docs).
pub fn process_file(path: &Path) -> Result<Processed, PhotoError> {
    let name = path.display().to_string();
    let read = |e: std::io::Error| PhotoError::Read {
        path: name.clone(),
        reason: e.to_string(),
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_INPUT_BYTES {
        return Err(PhotoError::TooLarge { path: name, size });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    process(&bytes, &name)
}

/// As [`process_file`], for bytes already read (`name` says where they came from).
pub fn process(bytes: &[u8], name: &str) -> Result<Processed, PhotoError> {
    use image::{ImageDecoder, ImageFormat, ImageReader, Limits};
    let format_err = |reason: String| PhotoError::Format {
        path: name.to_string(),
        reason,
    };
    let decode_err = |e: image::ImageError| PhotoError::Decode {
        path: name.to_string(),
        reason: e.to_string(),
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format_err(e.to_string()))?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        Some(other) => return Err(format_err(text::photo_is(&format!("{other:?}")))),
        None => return Err(format_err(text::unknown_file_type().into())),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format_err(text::too_many_pixels(w, h)));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);
    let full = fit(&img, PHOTO_EDGE);
    let thumb = fit(&full, THUMB_EDGE);
    let (width, height) = (full.width(), full.height());
    Ok(Processed {
        full: encode(&full, TARGET_BYTES),
        width,
        height,
        thumb: encode(&thumb, TARGET_BYTES / 8),
    })
}

/// `img` scaled down (never up) to at most `edge` px on its long edge.
fn fit(img: &image::DynamicImage, edge: u32) -> image::DynamicImage {
    if img.width().max(img.height()) <= edge {
        return img.clone();
    }
    img.resize(edge, edge, image::imageops::FilterType::CatmullRom)
}

/// JPEG at the best quality of [`QUALITIES`] that fits `target` bytes (the lowest if none
/// does). Transparent pixels are laid on white (a PNG cut-out of a product).
fn encode(img: &image::DynamicImage, target: usize) -> Vec<u8> {
    let rgb = if img.color().has_alpha() {
        let rgba = img.to_rgba8();
        let mut out = image::RgbImage::new(rgba.width(), rgba.height());
        for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
            let a = u16::from(p[3]);
            for c in 0..3 {
                o[c] = ((u16::from(p[c]) * a + 255 * (255 - a)) / 255) as u8;
            }
        }
        out
    } else {
        img.to_rgb8()
    };
    let mut best = Vec::new();
    for q in QUALITIES {
        let mut buf = Vec::new();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, q);
        if rgb.write_with_encoder(encoder).is_err() {
            continue;
        }
        best = buf;
        if best.len() <= target {
            break;
        }
    }
    best
}

pub fn hash_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where an agent keeps its photo blobs.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("photos")
}

pub fn blob_path(data_dir: &Path, hash: &str) -> PathBuf {
    dir(data_dir).join(format!("{hash}.jpg"))
}

/// Stores `bytes` as a blob (write to a temporary file, fsync, rename): a crash leaves the
/// blob whole or absent. Returns its hash.
pub fn store_blob(data_dir: &Path, bytes: &[u8]) -> Result<String, PhotoError> {
    let hash = hash_of(bytes);
    let dir = dir(data_dir);
    let fail = |e: std::io::Error| PhotoError::Store {
        dir: dir.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let path = blob_path(data_dir, &hash);
    if path.exists() {
        return Ok(hash);
    }
    let tmp = dir.join(format!(".{hash}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })?;
    std::fs::rename(&tmp, &path).map_err(fail)?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(hash)
}

/// Processes the photo at `path` and stores both blobs; the record entry to add.
pub fn add(data_dir: &Path, path: &Path, caption: &str) -> Result<Photo, PhotoError> {
    let p = process_file(path)?;
    let hash = store_blob(data_dir, &p.full)?;
    let thumb = store_blob(data_dir, &p.thumb)?;
    Ok(Photo {
        hash,
        size: p.full.len() as u64,
        width: p.width,
        height: p.height,
        thumb,
        thumb_size: p.thumb.len() as u64,
        caption: caption.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG with an EXIF block that says "rotate 90° clockwise" and carries a GPS tag.
    fn phone_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        use image::ImageEncoder;
        enc.set_exif_metadata(exif_with_gps(6)).unwrap();
        enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// A little-endian TIFF/EXIF block: Orientation = `orientation`, and a GPS IFD pointer
    /// to a latitude tag whose text marker is easy to search for.
    pub fn exif_with_gps(orientation: u8) -> Vec<u8> {
        let mut e = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        // IFD0: 2 entries: Orientation (0x0112) and GPSInfo (0x8825) -> offset 38.
        e.extend_from_slice(&[2, 0]);
        e.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0]);
        e.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0]);
        e.extend_from_slice(&[0, 0, 0, 0]);
        // GPS IFD at 38: 1 entry, GPSLatitudeRef (1) ASCII "S", and a marker after it.
        e.extend_from_slice(&[1, 0]);
        e.extend_from_slice(&[1, 0, 2, 0, 2, 0, 0, 0, b'S', 0, 0, 0]);
        e.extend_from_slice(&[0, 0, 0, 0]);
        e.extend_from_slice(b"GPS-SECRET-LOCATION");
        e
    }

    #[test]
    fn a_phone_photo_comes_out_upright_small_and_without_metadata() {
        let input = phone_jpeg(2400, 1200);
        assert!(
            input.windows(19).any(|w| w == b"GPS-SECRET-LOCATION"),
            "the test photo carries the marker"
        );
        let p = process(&input, "phone.jpg").unwrap();
        // Orientation 6 (rotate 90°): a landscape sensor image is a portrait photo.
        assert_eq!((p.width, p.height), (800, 1600));
        let full = image::load_from_memory(&p.full).unwrap();
        assert_eq!((full.width(), full.height()), (800, 1600));
        let thumb = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (200, 400));
        for bytes in [&p.full, &p.thumb] {
            assert!(!bytes.windows(4).any(|w| w == b"Exif"), "no EXIF block");
            assert!(!bytes.windows(19).any(|w| w == b"GPS-SECRET-LOCATION"));
        }
        assert!(p.full.len() <= TARGET_BYTES, "{}", p.full.len());
    }

    #[test]
    fn what_is_not_a_photo_is_named() {
        let err = process(b"%PDF-1.7 not a photo", "brosur.pdf").unwrap_err();
        assert!(
            err.to_string().contains("bukan foto JPEG, PNG atau WebP"),
            "{err}"
        );
        // A PNG cut short (a copy that stopped part-way). (A JPEG decoder shows what
        // arrived, grey below: that one is taken.)
        let img = image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png.truncate(png.len() / 3);
        match process(&png, "cut.png") {
            Err(err) => assert!(err.to_string().contains("cut.png"), "{err}"),
            Ok(_) => panic!("a truncated PNG was taken"),
        }
    }

    /// A PNG declaring 72 MP (its header alone: a few dozen bytes) is refused by its size
    /// before a byte of pixels is allocated, with what to do.
    #[test]
    fn a_photo_of_more_pixels_than_the_bound_is_refused_before_decoding() {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in bytes {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&9000u32.to_be_bytes());
        ihdr.extend_from_slice(&8000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        for chunk in [&b"IDAT"[..], &b"IEND"[..]] {
            png.extend_from_slice(&0u32.to_be_bytes());
            png.extend_from_slice(chunk);
            png.extend_from_slice(&crc32(chunk).to_be_bytes());
        }
        let err = process(&png, "panorama.png").unwrap_err().to_string();
        assert!(
            err.contains("9000x8000") && err.contains("64 juta"),
            "{err}"
        );
    }

    #[test]
    fn a_transparent_png_is_laid_on_white() {
        let img = image::RgbaImage::from_pixel(50, 40, image::Rgba([0, 0, 0, 0]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let p = process(&png, "cutout.png").unwrap();
        let back = image::load_from_memory(&p.full).unwrap().to_rgb8();
        let px = back.get_pixel(25, 20);
        assert!(px[0] > 240 && px[1] > 240 && px[2] > 240, "{px:?}");
    }
}
