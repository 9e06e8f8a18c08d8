//! Content sniffing: what an upload really is, judged by its magic bytes only.
//!
//! The client's `Content-Type` header and file name are never consulted: both are chosen by
//! the sender. Formats we refuse (GIF, HEIC, AVIF, SVG) are still recognised, so that the
//! member gets a clear error ("HEIC is not supported") rather than "unknown file".

/// An image type recognised by [`sniff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// JPEG (`FF D8 FF`). Accepted.
    Jpeg,
    /// PNG (the 8-byte PNG signature). Accepted.
    Png,
    /// WebP (`RIFF....WEBP`). Accepted.
    WebP,
    /// GIF (`GIF87a`/`GIF89a`). Recognised but refused: the decoder is not built in.
    Gif,
    /// HEIC/HEIF (ISO-BMFF `ftyp` with a HEIF brand), the iPhone default. Refused.
    Heic,
    /// AVIF (ISO-BMFF `ftyp` with an AVIF brand). Refused.
    Avif,
    /// SVG (XML text with an `<svg` element). Always refused: it can carry scripts.
    Svg,
}

impl ImageType {
    /// The media type, for logs and error messages (never trusted as input).
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::WebP => "image/webp",
            ImageType::Gif => "image/gif",
            ImageType::Heic => "image/heic",
            ImageType::Avif => "image/avif",
            ImageType::Svg => "image/svg+xml",
        }
    }

    /// Whether [`process`](super::process) accepts this type: JPEG, PNG and WebP only.
    pub fn is_accepted(self) -> bool {
        matches!(self, ImageType::Jpeg | ImageType::Png | ImageType::WebP)
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
];
const AVIF_BRANDS: &[&[u8; 4]] = &[b"avif", b"avis"];
/// How far into a text file we look for an `<svg` element.
const SVG_SNIFF_WINDOW: usize = 1024;

/// Detects an image type from the first bytes of `bytes`, never from a client-supplied name
/// or media type. Returns `None` for anything unrecognised (text, HTML, archives, ...).
pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageType::Jpeg);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Some(ImageType::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(ImageType::WebP);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(ImageType::Gif);
    }
    if let Some(kind) = sniff_iso_bmff(bytes) {
        return Some(kind);
    }
    if looks_like_svg(bytes) {
        return Some(ImageType::Svg);
    }
    None
}

/// HEIF and AVIF files start with an ISO-BMFF `ftyp` box: size, `ftyp`, major brand, minor
/// version, then compatible brands. AVIF files often list `mif1` too, so AVIF wins.
fn sniff_iso_bmff(bytes: &[u8]) -> Option<ImageType> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let declared = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let box_end = usize::try_from(declared)
        .unwrap_or(usize::MAX)
        .clamp(12, bytes.len());
    let major = &bytes[8..12];
    let compatible = bytes.get(16..box_end).unwrap_or_default();
    let brands = std::iter::once(major).chain(compatible.chunks_exact(4));
    let mut heif = false;
    for brand in brands {
        if AVIF_BRANDS.iter().any(|b| &b[..] == brand) {
            return Some(ImageType::Avif);
        }
        heif |= HEIF_BRANDS.iter().any(|b| &b[..] == brand);
    }
    heif.then_some(ImageType::Heic)
}

/// An SVG is XML text whose first element is `<svg`, possibly after a BOM, whitespace, an XML
/// declaration, comments or a doctype. We only need to recognise it to name it in the error:
/// anything unrecognised is refused anyway.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let window = &bytes[start..bytes.len().min(start + SVG_SNIFF_WINDOW)];
    if !window.starts_with(b"<") {
        return false;
    }
    let lower = window.to_ascii_lowercase();
    lower.starts_with(b"<svg")
        || ((lower.starts_with(b"<?xml") || lower.starts_with(b"<!")) && contains(&lower, b"<svg"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether a JPEG stream is visibly cut short: the segment headers run past the end, or there
/// is no end-of-image marker (`FF D9`) after the first start-of-scan. The JPEG decoder is
/// lenient and would turn a truncated upload into a half-grey photo, so we check ourselves.
///
/// Bytes after the end-of-image marker (phones append "motion photo" videos there) are
/// allowed and ignored.
pub(super) fn jpeg_is_truncated(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        // Fill bytes (extra 0xFF) may precede a marker.
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            // Out of bytes, or not a marker where one should be. Only the former is a
            // truncation; for garbage, let the decoder give its own error.
            return i + 1 >= bytes.len();
        };
        match marker {
            // Start of scan: the rest is entropy-coded data, where 0xFF is always followed by
            // 0x00 or a restart marker, so the first FF D9 is the end of the image.
            0xDA => return !contains(&bytes[i..], &[0xFF, 0xD9]),
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let (Some(&hi), Some(&lo)) = (bytes.get(i + 2), bytes.get(i + 3)) else {
                    return true;
                };
                let length = usize::from(u16::from_be_bytes([hi, lo]));
                if length < 2 {
                    return false; // garbage: the decoder will say so
                }
                i += 2 + length;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(ImageType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageType::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageType::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(ImageType::Gif));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(ImageType::Heic)
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
            Some(ImageType::Avif)
        );
        assert_eq!(
            sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif"),
            Some(ImageType::Avif)
        );
        assert_eq!(sniff(b"\0\0\0\x14ftypisom\0\0\0\0isom"), None); // an MP4 video
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
    }

    #[test]
    fn recognises_svg_and_not_html() {
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            Some(ImageType::Svg)
        );
        assert_eq!(
            sniff(b"\xEF\xBB\xBF  <?xml version='1.0'?>\n<!-- x -->\n<SVG onload='alert(1)'>"),
            Some(ImageType::Svg)
        );
        assert_eq!(sniff(b"<!DOCTYPE html><html><body>hi</body></html>"), None);
        assert_eq!(sniff(b"just some text"), None);
    }

    #[test]
    fn only_jpeg_png_webp_are_accepted() {
        let accepted: Vec<_> = [
            ImageType::Jpeg,
            ImageType::Png,
            ImageType::WebP,
            ImageType::Gif,
            ImageType::Heic,
            ImageType::Avif,
            ImageType::Svg,
        ]
        .into_iter()
        .filter(|t| t.is_accepted())
        .collect();
        assert_eq!(accepted, [ImageType::Jpeg, ImageType::Png, ImageType::WebP]);
    }

    #[test]
    fn truncation_check_follows_segments() {
        // SOI, APP0 (length 4), SOS (length 2), data, EOI.
        let full = b"\xFF\xD8\xFF\xE0\x00\x04ab\xFF\xDA\x00\x02\x12\xFF\x00\x34\xFF\xD9";
        assert!(!jpeg_is_truncated(full));
        for cut in 2..full.len() {
            assert!(jpeg_is_truncated(&full[..cut]), "cut at {cut}");
        }
        // Trailing data after EOI is fine; an FF D9 hidden inside APP1 does not count.
        let mut trailing = full.to_vec();
        trailing.extend_from_slice(b"ftypmp42....");
        assert!(!jpeg_is_truncated(&trailing));
        let hidden = b"\xFF\xD8\xFF\xE1\x00\x04\xFF\xD9\xFF\xDA\x00\x02\x12\x34";
        assert!(jpeg_is_truncated(hidden));
    }
}
