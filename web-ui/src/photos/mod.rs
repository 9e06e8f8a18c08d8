//! Member photo uploads, made safe: sniff, bound, decode, orient, shrink, re-encode.
//!
//! Members upload up to [`MAX_PHOTOS_PER_LISTING`] photos per listing, mostly from phones.
//! [`process`] turns one upload into a full-size JPEG and a thumbnail JPEG that are safe to
//! store and serve:
//!
//! 1. **Size**: empty uploads and uploads over [`PhotoLimits::max_upload_bytes`] are refused.
//! 2. **Type by content**: [`sniff`] reads the magic bytes; only JPEG, PNG and WebP are
//!    accepted. The client's `Content-Type` and file name are never trusted. HEIC, GIF, SVG,
//!    HTML and anything else get [`PhotoError::UnsupportedType`].
//! 3. **Decompression bombs**: the dimensions are read from the header, and an image over
//!    [`PhotoLimits::max_pixels`] is refused *before* any pixel buffer is allocated. The
//!    decoder also runs with an allocation limit.
//! 4. **Orientation**: phones store pixels as the sensor saw them plus an Exif orientation
//!    tag. The tag is read and the pixels are rotated/flipped accordingly.
//! 5. **Metadata stripping**: the output is re-encoded from pixels only, so Exif (GPS
//!    position, camera serial, date), XMP, ICC and comments are all dropped.
//! 6. **Resizing**: the full image fits [`PhotoLimits::full_max_side`] (Lanczos3), the
//!    thumbnail fits [`PhotoLimits::thumb_max_side`] (Triangle, from the full image). Images
//!    are never enlarged. Transparency is flattened onto white.
//!
//! # Running it
//! [`process`] is CPU-bound and memory-hungry: in release builds, about 0.6 s of one core
//! and 120 MB of peak memory for a 12-megapixel phone photo, about 1 s and 220 MB at the
//! 40-megapixel default limit. Async callers **must** run it in
//! `tokio::task::spawn_blocking`, never on the runtime's worker threads, and should bound how
//! many run at once (for example with a `tokio::sync::Semaphore`) so that a burst of uploads
//! cannot exhaust memory.
//!
//! ```ignore
//! let limits = PhotoLimits::default();
//! let photo = tokio::task::spawn_blocking(move || photos::process(&body, &limits)).await??;
//! ```

mod pixels;
#[cfg(test)]
mod proptests;
mod sniff;
#[cfg(test)]
mod test_fixtures;
#[cfg(test)]
mod tests;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

pub use sniff::{sniff, ImageType};

/// How many photos a listing may carry.
pub const MAX_PHOTOS_PER_LISTING: usize = 8;

/// Bytes of decoder working memory allowed on top of the decoded pixels themselves.
const DECODER_SLACK_BYTES: u64 = 64 * 1024 * 1024;
/// Decoded bytes per pixel we budget for: 8-bit RGBA.
const BUDGET_BYTES_PER_PIXEL: u64 = 4;

/// Bounds applied by [`process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted upload, in bytes. Default 12 MiB.
    pub max_upload_bytes: usize,
    /// Largest accepted width × height, checked from the header before decoding.
    /// Default 40 megapixels.
    pub max_pixels: u64,
    /// Longest side of the full-size output, in pixels. Default 1600.
    pub full_max_side: u32,
    /// Longest side of the thumbnail, in pixels. Default 400.
    pub thumb_max_side: u32,
    /// JPEG quality of both outputs, 1 to 100 (values outside are clamped). Default 82.
    pub jpeg_quality: u8,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_upload_bytes: 12 * 1024 * 1024,
            max_pixels: 40_000_000,
            full_max_side: 1600,
            thumb_max_side: 400,
            jpeg_quality: 82,
        }
    }
}

/// A processed photo: two metadata-free JPEGs, upright.
#[derive(Clone, PartialEq, Eq)]
pub struct ProcessedPhoto {
    /// The full-size image, a JPEG fitting `full_max_side`.
    pub full: Vec<u8>,
    /// The thumbnail, a JPEG fitting `thumb_max_side`.
    pub thumbnail: Vec<u8>,
    /// Width of `full` in pixels, after orientation.
    pub width: u32,
    /// Height of `full` in pixels, after orientation.
    pub height: u32,
}

impl std::fmt::Debug for ProcessedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedPhoto")
            .field("full_bytes", &self.full.len())
            .field("thumbnail_bytes", &self.thumbnail.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why an upload was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// The upload has no bytes.
    #[error("the photo is empty")]
    Empty,
    /// The upload is over [`PhotoLimits::max_upload_bytes`].
    #[error("the photo is {bytes} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Size of the upload.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The content is not JPEG, PNG or WebP. `detected` names what it is, if recognised
    /// (for example `image/heic`).
    #[error(
        "unsupported image type ({}): send a JPEG, PNG or WebP photo",
        .detected.as_deref().unwrap_or("unknown")
    )]
    UnsupportedType {
        /// The media type recognised from the content, if any.
        detected: Option<String>,
    },
    /// The header announces more pixels than [`PhotoLimits::max_pixels`].
    #[error("the photo is {width}×{height} pixels, too many to process")]
    TooManyPixels {
        /// Width announced by the header.
        width: u32,
        /// Height announced by the header.
        height: u32,
    },
    /// The content claims to be a supported type but cannot be decoded (truncated,
    /// corrupt, or an unsupported variant).
    #[error("the photo could not be read: {0}")]
    Malformed(String),
}

/// Validates, decodes, orients, strips and shrinks one uploaded photo.
///
/// CPU-bound: call it from `tokio::task::spawn_blocking` (see the [module docs](self)).
/// It never panics: a panic inside a third-party decoder is caught and reported as
/// [`PhotoError::Malformed`] (this relies on the default `panic = "unwind"`).
pub fn process(bytes: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto, PhotoError> {
    guard(|| process_unguarded(bytes, limits))
}

/// Runs `work`, turning a panic into [`PhotoError::Malformed`].
fn guard<T>(work: impl FnOnce() -> Result<T, PhotoError>) -> Result<T, PhotoError> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(PhotoError::Malformed(
            "the image decoder failed on this file".to_owned(),
        ))
    })
}

/// One smaller copy of a photo, a JPEG fitting `max_side`: the sizes a page offers in its
/// `srcset`. Made from the stored full-size photo, with the same checks as [`process`].
///
/// CPU-bound: call it from `tokio::task::spawn_blocking`.
pub fn resized(bytes: &[u8], limits: &PhotoLimits, max_side: u32) -> Result<Vec<u8>, PhotoError> {
    let limits = PhotoLimits {
        thumb_max_side: max_side.min(limits.full_max_side),
        ..*limits
    };
    guard(|| {
        let full = upright_full(bytes, &limits)?;
        let small = pixels::shrink_to_fit(full, limits.thumb_max_side, FilterType::Triangle);
        pixels::encode_jpeg(&small, limits.jpeg_quality).map_err(encode_error)
    })
}

/// [`process`] without the panic guard, so that tests see any panic.
fn process_unguarded(bytes: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto, PhotoError> {
    let full = upright_full(bytes, limits)?;
    let thumbnail =
        pixels::shrink_to_fit(full.clone(), limits.thumb_max_side, FilterType::Triangle);

    Ok(ProcessedPhoto {
        full: pixels::encode_jpeg(&full, limits.jpeg_quality).map_err(encode_error)?,
        thumbnail: pixels::encode_jpeg(&thumbnail, limits.jpeg_quality).map_err(encode_error)?,
        width: full.width(),
        height: full.height(),
    })
}

/// Checks, decodes, flattens, shrinks to `full_max_side` and turns upright.
fn upright_full(bytes: &[u8], limits: &PhotoLimits) -> Result<image::RgbImage, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > limits.max_upload_bytes {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_upload_bytes,
        });
    }
    let kind = sniff(bytes);
    let format = match kind {
        Some(ImageType::Jpeg) => ImageFormat::Jpeg,
        Some(ImageType::Png) => ImageFormat::Png,
        Some(ImageType::WebP) => ImageFormat::WebP,
        other => {
            return Err(PhotoError::UnsupportedType {
                detected: other.map(|t| t.mime().to_owned()),
            })
        }
    };
    if format == ImageFormat::Jpeg && sniff::jpeg_is_truncated(bytes) {
        return Err(PhotoError::Malformed(
            "the JPEG is truncated (no end-of-image marker)".to_owned(),
        ));
    }

    let (image, orientation) = decode(bytes, format, limits)?;

    // Fitting a square box commutes with rotation, so shrink first and rotate the small image.
    let rgb = pixels::flatten_to_rgb(image);
    let full = pixels::shrink_to_fit(rgb, limits.full_max_side, FilterType::Lanczos3);
    let mut oriented = DynamicImage::ImageRgb8(full);
    oriented.apply_orientation(orientation);
    Ok(oriented.into_rgb8())
}

/// Reads the header, enforces the pixel and memory limits, then decodes the pixels and
/// reads the Exif orientation.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &PhotoLimits,
) -> Result<(DynamicImage, Orientation), PhotoError> {
    let budget = limits
        .max_pixels
        .saturating_mul(BUDGET_BYTES_PER_PIXEL)
        .saturating_add(DECODER_SLACK_BYTES);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_alloc = Some(budget);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits);

    // Parses the header only: no pixel buffer yet.
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Malformed(format!(
            "the header announces an empty {width}×{height} image"
        )));
    }
    let too_many = PhotoError::TooManyPixels { width, height };
    if u64::from(width) * u64::from(height) > limits.max_pixels || decoder.total_bytes() > budget {
        return Err(too_many);
    }
    // A broken Exif block should not cost the member their photo: keep the pixels as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => too_many,
        other => decode_error(other),
    })?;
    Ok((image, orientation))
}

fn decode_error(error: ImageError) -> PhotoError {
    match error {
        ImageError::Limits(e) => PhotoError::Malformed(format!("over the decoder's limits: {e}")),
        other => PhotoError::Malformed(other.to_string()),
    }
}

/// Encoding into a `Vec` cannot fail on I/O; an error here means pixels the encoder refused.
fn encode_error(error: ImageError) -> PhotoError {
    PhotoError::Malformed(format!("re-encoding failed: {error}"))
}
