//! Unit tests of [`process`](super::process): formats, limits, orientation, stripping.

use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, RgbImage};

use super::test_fixtures::*;
use super::*;

fn decode_output(jpeg: &[u8]) -> DynamicImage {
    assert!(jpeg.starts_with(b"\xFF\xD8"), "output is not a JPEG");
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).expect("output decodes")
}

fn assert_photo(photo: &ProcessedPhoto, full: (u32, u32), thumb: (u32, u32)) {
    assert_eq!((photo.width, photo.height), full);
    let decoded = decode_output(&photo.full);
    assert_eq!((decoded.width(), decoded.height()), full);
    let decoded = decode_output(&photo.thumbnail);
    assert_eq!((decoded.width(), decoded.height()), thumb);
}

fn near(actual: [u8; 3], expected: [u8; 3]) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(&a, e)| a.abs_diff(e) <= 40)
}

#[test]
fn defaults_match_the_spec() {
    let limits = PhotoLimits::default();
    assert_eq!(limits.max_upload_bytes, 12 * 1024 * 1024);
    assert_eq!(limits.max_pixels, 40_000_000);
    assert_eq!((limits.full_max_side, limits.thumb_max_side), (1600, 400));
    assert_eq!(limits.jpeg_quality, 82);
}

#[test]
fn png_becomes_jpeg_with_the_same_size() {
    let photo = process(&png_rgba(64, 48, 255), &PhotoLimits::default()).unwrap();
    assert_photo(&photo, (64, 48), (64, 48));
}

#[test]
fn jpeg_is_reencoded_with_the_same_size() {
    let input = jpeg(120, 90);
    let photo = process(&input, &PhotoLimits::default()).unwrap();
    assert_photo(&photo, (120, 90), (120, 90));
    assert_ne!(photo.full, input, "the output is a fresh encoding");
}

#[test]
fn webp_becomes_jpeg() {
    let photo = process(&webp(50, 70), &PhotoLimits::default()).unwrap();
    assert_photo(&photo, (50, 70), (50, 70));
}

#[test]
fn large_images_shrink_to_fit_and_small_ones_never_grow() {
    let photo = process(&png_rgba(2000, 1000, 255), &PhotoLimits::default()).unwrap();
    assert_photo(&photo, (1600, 800), (400, 200));

    let limits = PhotoLimits {
        full_max_side: 100,
        thumb_max_side: 30,
        ..PhotoLimits::default()
    };
    let photo = process(&jpeg(90, 300), &limits).unwrap();
    assert_photo(&photo, (30, 100), (9, 30));
    let photo = process(&jpeg(20, 10), &limits).unwrap();
    assert_photo(&photo, (20, 10), (20, 10));
}

#[test]
fn transparency_is_flattened_onto_white() {
    let photo = process(&png_rgba(16, 16, 0), &PhotoLimits::default()).unwrap();
    let full = decode_output(&photo.full).into_rgb8();
    assert!(full.pixels().all(|p| near(p.0, [255, 255, 255])));
}

#[test]
fn empty_and_oversized_uploads_are_refused_before_sniffing() {
    let limits = PhotoLimits {
        max_upload_bytes: 100,
        ..PhotoLimits::default()
    };
    assert_eq!(process(&[], &limits), Err(PhotoError::Empty));
    assert_eq!(
        process(&[0u8; 101], &limits),
        Err(PhotoError::TooLarge {
            bytes: 101,
            max: 100
        })
    );
    let big = jpeg(200, 200);
    assert!(matches!(
        process(&big, &limits),
        Err(PhotoError::TooLarge { max: 100, .. })
    ));
}

#[test]
fn png_bomb_header_is_refused_before_decoding() {
    let bomb = png_claiming(100_000, 100_000);
    assert!(bomb.len() < 100);
    let started = Instant::now();
    assert_eq!(
        process(&bomb, &PhotoLimits::default()),
        Err(PhotoError::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
    // Allocating and filling 30 GB would take far longer (or abort the process).
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn jpeg_bomb_header_is_refused_before_decoding() {
    let bomb = jpeg_claiming(&jpeg(16, 16), 65_000, 65_000);
    assert_eq!(
        process(&bomb, &PhotoLimits::default()),
        Err(PhotoError::TooManyPixels {
            width: 65_000,
            height: 65_000
        })
    );
}

#[test]
fn pixel_limit_is_width_times_height() {
    let limits = PhotoLimits {
        max_pixels: 100 * 100,
        ..PhotoLimits::default()
    };
    assert!(process(&png_rgba(100, 100, 255), &limits).is_ok());
    assert_eq!(
        process(&png_rgba(101, 100, 255), &limits),
        Err(PhotoError::TooManyPixels {
            width: 101,
            height: 100
        })
    );
    assert_eq!(
        process(&webp(1, 10_001), &limits),
        Err(PhotoError::TooManyPixels {
            width: 1,
            height: 10_001
        })
    );
}

#[test]
fn non_images_are_unsupported() {
    let limits = PhotoLimits::default();
    let unsupported = |detected: Option<&str>| {
        Err(PhotoError::UnsupportedType {
            detected: detected.map(str::to_owned),
        })
    };
    assert_eq!(process(b"hello, world", &limits), unsupported(None));
    assert_eq!(
        process(
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            &limits
        ),
        unsupported(None)
    );
    assert_eq!(
        process(
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            &limits
        ),
        unsupported(Some("image/svg+xml"))
    );
    assert_eq!(
        process(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08meta", &limits),
        unsupported(Some("image/heic"))
    );
    assert_eq!(
        process(b"GIF89a\x01\0\x01\0\0\0\0;", &limits),
        unsupported(Some("image/gif"))
    );
    // A JPEG body is still a JPEG whatever the client claims; a PNG signature in the
    // middle of a file does not make it a PNG.
    let mut disguised = b"<html>".to_vec();
    disguised.extend_from_slice(&png_rgba(4, 4, 255));
    assert_eq!(process(&disguised, &limits), unsupported(None));
}

#[test]
fn truncated_or_corrupt_images_are_malformed() {
    let limits = PhotoLimits::default();
    let is_malformed =
        |bytes: &[u8]| matches!(process(bytes, &limits), Err(PhotoError::Malformed(_)));
    let full = jpeg(64, 64);
    for cut in [3, 20, full.len() / 2, full.len() - 2] {
        assert!(is_malformed(&full[..cut]), "JPEG cut at {cut}");
    }
    let png = png_rgba(64, 64, 255);
    for cut in [12, 40, png.len() / 2, png.len() - 13] {
        assert!(is_malformed(&png[..cut]), "PNG cut at {cut}");
    }
    let webp = webp(64, 64);
    for cut in [14, 30, webp.len() / 2] {
        assert!(is_malformed(&webp[..cut]), "WebP cut at {cut}");
    }
    assert!(is_malformed(b"\xFF\xD8\xFF\xE0garbage"));
    assert!(is_malformed(b"\x89PNG\r\n\x1a\ngarbage"));
}

#[test]
fn orientation_6_rotates_clockwise() {
    // Stored 40×20 with red in the top-left; tag 6 means "rotate 90° clockwise to view".
    let stored = jpeg_of(&red_top_left(40, 20));
    let photo = process(&with_exif(&stored, &exif_block(6)), &PhotoLimits::default()).unwrap();
    assert_photo(&photo, (20, 40), (20, 40));
    let full = decode_output(&photo.full).into_rgb8();
    // The red quarter moves from the top-left to the top-right.
    assert!(
        near(full.get_pixel(15, 5).0, [255, 0, 0]),
        "{:?}",
        full.get_pixel(15, 5)
    );
    assert!(
        near(full.get_pixel(4, 5).0, [0, 0, 255]),
        "{:?}",
        full.get_pixel(4, 5)
    );
}

#[test]
fn other_orientations_are_applied_and_bad_tags_ignored() {
    let stored = jpeg_of(&red_top_left(40, 20));
    let corner = |orientation: u16| -> (u32, u32, RgbImage) {
        let photo = process(
            &with_exif(&stored, &exif_block(orientation)),
            &PhotoLimits::default(),
        )
        .unwrap();
        (
            photo.width,
            photo.height,
            decode_output(&photo.full).into_rgb8(),
        )
    };
    let (w, h, img) = corner(3); // rotate 180°: red goes bottom-right
    assert_eq!((w, h), (40, 20));
    assert!(near(img.get_pixel(35, 15).0, [255, 0, 0]));
    let (w, h, img) = corner(8); // rotate 270°: red goes bottom-left
    assert_eq!((w, h), (20, 40));
    assert!(near(img.get_pixel(5, 35).0, [255, 0, 0]));
    for junk in [0, 9, 0xFFFF] {
        let (w, h, img) = corner(junk); // invalid tag: pixels kept as stored
        assert_eq!((w, h), (40, 20));
        assert!(near(img.get_pixel(5, 5).0, [255, 0, 0]));
    }
}

#[test]
fn exif_and_gps_are_stripped() {
    let input = with_exif(&jpeg(64, 48), &exif_block(1));
    assert!(jpeg_segments(&input).iter().any(|(m, _)| *m == 0xE1));
    assert!(input.windows(SECRET.len()).any(|w| w == SECRET));

    let photo = process(&input, &PhotoLimits::default()).unwrap();
    for output in [&photo.full, &photo.thumbnail] {
        let segments = jpeg_segments(output);
        assert!(
            segments
                .iter()
                .all(|(m, _)| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
            "only JFIF APP0 may remain: {segments:x?}"
        );
        for needle in [&b"Exif"[..], b"GPS", SECRET] {
            assert!(!output.windows(needle.len()).any(|w| w == needle));
        }
    }
}

#[test]
fn quality_is_applied_and_clamped() {
    let input = png_rgba(200, 200, 255);
    let size = |quality| {
        let limits = PhotoLimits {
            jpeg_quality: quality,
            ..PhotoLimits::default()
        };
        process(&input, &limits).unwrap().full.len()
    };
    assert!(size(20) < size(95));
    assert_eq!(size(0), size(1));
    assert_eq!(size(255), size(100));
}

#[test]
fn errors_read_well() {
    let unknown = PhotoError::UnsupportedType { detected: None };
    assert_eq!(
        unknown.to_string(),
        "unsupported image type (unknown): send a JPEG, PNG or WebP photo"
    );
    let heic = PhotoError::UnsupportedType {
        detected: Some("image/heic".into()),
    };
    assert!(heic.to_string().contains("image/heic"));
    let bomb = PhotoError::TooManyPixels {
        width: 3,
        height: 4,
    };
    assert_eq!(
        bomb.to_string(),
        "the photo is 3×4 pixels, too many to process"
    );
}

/// Timing of a 12-megapixel phone photo. Run with
/// `cargo test --release -p maillon-web-ui --lib photos::tests::time_12_megapixels -- --ignored --nocapture`.
#[test]
#[ignore = "timing only; run in release"]
fn time_12_megapixels() {
    let input = with_exif(&jpeg(4032, 3024), &exif_block(6));
    println!("input: {} bytes", input.len());
    let limits = PhotoLimits::default();
    for _ in 0..3 {
        let started = Instant::now();
        let photo = process(&input, &limits).unwrap();
        println!("{photo:?} in {:?}", started.elapsed());
    }
}
