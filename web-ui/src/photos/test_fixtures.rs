//! Test fixtures: small images built in memory, and hand-made headers and Exif blocks.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

/// A marker string planted in the Exif block; it must never reach the output.
pub const SECRET: &[u8] = b"MaillonSecretGPS";

/// A smooth gradient, so that JPEG artefacts stay small.
pub fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            96,
        ])
    })
}

/// An image that is red in its top-left quarter and blue elsewhere.
pub fn red_top_left(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        if x < width / 2 && y < height / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

/// Encodes `image` as a JPEG (quality 90, JFIF header, no Exif).
pub fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .unwrap();
    out
}

/// A `width`×`height` gradient JPEG.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    jpeg_of(&gradient(width, height))
}

/// A `width`×`height` RGBA PNG with every pixel's alpha set to `alpha`.
pub fn png_rgba(width: u32, height: u32, alpha: u8) -> Vec<u8> {
    let rgb = gradient(width, height);
    let image = RgbaImage::from_fn(width, height, |x, y| {
        let Rgb([r, g, b]) = *rgb.get_pixel(x, y);
        Rgba([r, g, b, alpha])
    });
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(image.as_raw(), width, height, ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// A `width`×`height` lossless WebP.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let image = gradient(width, height);
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .write_image(image.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A little-endian Exif (TIFF) block: Make = [`SECRET`], the given orientation, and a GPS
/// sub-IFD with a latitude, as a phone would write.
pub fn exif_block(orientation: u16) -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value);
    }
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let make_offset: u32 = 8 + 2 + 3 * 12 + 4; // after IFD0
    let make_len = SECRET.len() as u32 + 1;
    let gps_offset = (make_offset + make_len + 1) & !1; // word-aligned
    let latitude_offset = gps_offset + 2 + 2 * 12 + 4;

    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&3u16.to_le_bytes());
    entry(
        &mut tiff,
        0x010F,
        ASCII,
        make_len,
        make_offset.to_le_bytes(),
    );
    let [o0, o1] = orientation.to_le_bytes();
    entry(&mut tiff, 0x0112, SHORT, 1, [o0, o1, 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, gps_offset.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(SECRET);
    tiff.push(0);
    tiff.resize(gps_offset as usize, 0);
    tiff.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(
        &mut tiff,
        0x0002,
        RATIONAL,
        3,
        latitude_offset.to_le_bytes(),
    );
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [(44u32, 1u32), (56, 1), (1234, 100)] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    tiff
}

/// Inserts an APP1 Exif segment holding `tiff` right after the SOI marker of `jpeg`.
pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], b"\xFF\xD8");
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(tiff);
    let length = u16::try_from(payload.len() + 2).unwrap();
    let mut out = b"\xFF\xD8\xFF\xE1".to_vec();
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The markers and offsets of a JPEG's segments, from SOI up to and including SOS.
pub fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, usize)> {
    assert_eq!(&jpeg[..2], b"\xFF\xD8", "not a JPEG");
    let mut segments = vec![(0xD8, 0)];
    let mut i = 2;
    while i + 3 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "segment structure broken at {i}");
        let marker = jpeg[i + 1];
        segments.push((marker, i));
        if marker == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    segments
}

/// `jpeg` with the frame header (SOF0) rewritten to announce `width`×`height`.
pub fn jpeg_claiming(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let (_, sof) = *jpeg_segments(jpeg)
        .iter()
        .find(|(marker, _)| *marker == 0xC0)
        .expect("no SOF0");
    let mut out = jpeg.to_vec();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

/// The CRC-32 used by PNG chunks.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A well-formed PNG header announcing an 8-bit RGB `width`×`height` image, followed by a
/// tiny IDAT that could never fill it: a decompression bomb's shape.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn crc32_matches_the_png_reference() {
    // The CRC of an IEND chunk is fixed: AE 42 60 82.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}
