//! The catalogue's square thumbnails: each product photo cut to its centre square and scaled
//! to [`EDGE`] px, so a grid of products from 627 UPTs' cameras lines up. An export reuses
//! the thumbnails the site it replaces already has (they are named by the photo's hash).

use image::imageops::FilterType;
use std::path::Path;

/// The edge of a square thumbnail, in pixels: sharp in a card of about 15 rem on a phone
/// with a pixel ratio of 2 to 3.
pub const EDGE: u32 = 480;

/// The largest photo the export decodes (the hub refuses bigger ones at upload; a photo put
/// in the blob folder by hand does not make the export take all the memory).
const MAX_PIXELS: u64 = 40_000_000;

/// Writes the square thumbnail of the JPEG at `photo` to `to`.
pub fn write(photo: &Path, to: &Path) -> anyhow::Result<()> {
    let mut reader = image::ImageReader::open(photo)?.with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let img = reader.decode()?;
    let side = img.width().min(img.height());
    let square = img.crop_imm(
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    );
    let small = if side > EDGE {
        square.resize_exact(EDGE, EDGE, FilterType::CatmullRom)
    } else {
        square
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small.to_rgb8())?;
    let partial = to.with_extension("partial");
    std::fs::write(&partial, out)?;
    std::fs::rename(partial, to)?;
    Ok(())
}

/// The edge of the thumbnail [`write`] makes of a photo of `width` × `height`.
pub fn edge_of(width: u32, height: u32) -> u32 {
    width.min(height).min(EDGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_landscape_photo_becomes_its_centre_square() {
        let dir = tempfile::tempdir().unwrap();
        // 800 × 600: a red left quarter, green in the middle, blue right quarter.
        let img = image::RgbImage::from_fn(800, 600, |x, _| match x {
            0..100 => image::Rgb([255, 0, 0]),
            700.. => image::Rgb([0, 0, 255]),
            _ => image::Rgb([0, 200, 0]),
        });
        let photo = dir.path().join("a.jpg");
        img.save(&photo).unwrap();
        let to = dir.path().join("kotak.jpg");
        write(&photo, &to).unwrap();
        let thumb = image::open(&to).unwrap().to_rgb8();
        assert_eq!((thumb.width(), thumb.height()), (480, 480));
        assert_eq!(edge_of(800, 600), 480);
        // The sides cut away: only the green middle is left.
        for x in [2, 240, 477] {
            let p = thumb.get_pixel(x, 240);
            assert!(p[1] > 150 && p[0] < 60 && p[2] < 60, "{x}: {p:?}");
        }
    }

    #[test]
    fn a_file_that_is_no_photo_is_an_error_not_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("a.jpg");
        std::fs::write(&photo, b"<html>not a photo</html>").unwrap();
        let to = dir.path().join("kotak.jpg");
        assert!(write(&photo, &to).is_err());
        assert!(!to.exists());
    }
}
