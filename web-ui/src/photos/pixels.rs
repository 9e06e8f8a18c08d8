//! Pixel work after decoding: flatten alpha onto white, fit within a box, re-encode as JPEG.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbImage};

/// Converts any decoded image to 8-bit RGB. Transparent areas become white, as a photo on a
/// white page; semi-transparent pixels are blended ("over" a white background).
pub(super) fn flatten_to_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut out = RgbImage::new(width, height);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = src.0;
        let a = u16::from(a);
        let over_white = |c: u8| {
            let blended = (u16::from(c) * a + 255 * (255 - a) + 127) / 255;
            u8::try_from(blended).unwrap_or(u8::MAX)
        };
        dst.0 = [over_white(r), over_white(g), over_white(b)];
    }
    out
}

/// The size of a `width`×`height` image scaled to fit a `max_side`×`max_side` box, keeping
/// the aspect ratio, never enlarged, never below 1×1.
pub(super) fn fit_within(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let max_side = max_side.max(1);
    let longest = width.max(height);
    if longest <= max_side {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        let scaled =
            (u64::from(side) * u64::from(max_side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(max_side).clamp(1, max_side)
    };
    (scale(width), scale(height))
}

/// Before resampling, images are box-averaged by an integer factor while at least this
/// much reduction is left for the filter (Pillow's `reducing_gap`; 2.0 keeps the result
/// close to a plain resample of the whole image).
const REDUCING_GAP: u64 = 2;

/// Scales `image` down to fit a `max_side` box with `filter`; returns it unchanged if it
/// already fits (no upscaling, no copy). Very large reductions (4× and more) start with a
/// cheap integer box average, then `filter` does the rest.
pub(super) fn shrink_to_fit(image: RgbImage, max_side: u32, filter: FilterType) -> RgbImage {
    let (width, height) = image.dimensions();
    let (new_width, new_height) = fit_within(width, height, max_side);
    if (new_width, new_height) == (width, height) {
        return image;
    }
    let longest = u64::from(width.max(height));
    let target = u64::from(new_width.max(new_height)).max(1);
    let factor = longest / (target * REDUCING_GAP);
    let image = match u32::try_from(factor) {
        Ok(factor) if factor >= 2 => box_reduce(&image, factor),
        _ => image,
    };
    imageops::resize(&image, new_width, new_height, filter)
}

/// Averages each `factor`×`factor` block into one pixel (blocks on the right and bottom
/// edges may be partial and are averaged over the pixels they have).
pub(super) fn box_reduce(image: &RgbImage, factor: u32) -> RgbImage {
    let factor = factor.max(1);
    let (width, height) = image.dimensions();
    let (out_width, out_height) = (width.div_ceil(factor), height.div_ceil(factor));
    let (width, factor) = (width as usize, factor as usize);
    let mut out = RgbImage::new(out_width, out_height);
    let mut sums = vec![0u64; out_width as usize * 3];
    let out_rows = out.chunks_exact_mut(out_width as usize * 3);
    let bands = image.as_raw().chunks(width * 3 * factor);
    for (out_row, band) in out_rows.zip(bands) {
        sums.fill(0);
        let rows = band.chunks_exact(width * 3);
        let band_height = rows.len() as u64;
        for row in rows {
            for (sum, block) in sums.chunks_exact_mut(3).zip(row.chunks(factor * 3)) {
                for pixel in block.chunks_exact(3) {
                    sum[0] += u64::from(pixel[0]);
                    sum[1] += u64::from(pixel[1]);
                    sum[2] += u64::from(pixel[2]);
                }
            }
        }
        let block_widths = (0..width).step_by(factor).map(|x| factor.min(width - x));
        for ((dst, sum), block_width) in out_row
            .chunks_exact_mut(3)
            .zip(sums.chunks_exact(3))
            .zip(block_widths)
        {
            let count = (block_width as u64 * band_height).max(1);
            for (d, s) in dst.iter_mut().zip(sum) {
                *d = u8::try_from((s + count / 2) / count).unwrap_or(u8::MAX);
            }
        }
    }
    out
}

/// Encodes as a baseline JPEG with the given quality (clamped to 1..=100). The output holds
/// only the JFIF header and the pixels: no Exif, XMP, ICC or comment segments.
pub(super) fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::with_capacity(estimated_jpeg_size(image));
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100)).encode_image(image)?;
    Ok(out)
}

/// A rough first allocation for the encoded JPEG: about one byte per two pixels.
fn estimated_jpeg_size(image: &RgbImage) -> usize {
    let pixels = u64::from(image.width()) * u64::from(image.height());
    usize::try_from(pixels / 2)
        .unwrap_or(0)
        .saturating_add(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, Rgba, RgbaImage};

    #[test]
    fn fit_within_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_within(3000, 4000, 1600), (1200, 1600));
        assert_eq!(fit_within(1600, 1600, 1600), (1600, 1600));
        assert_eq!(fit_within(300, 200, 1600), (300, 200));
        assert_eq!(fit_within(100_000, 1, 400), (400, 1));
        assert_eq!(fit_within(5, 5, 0), (1, 1));
    }

    #[test]
    fn box_reduce_averages_blocks_including_partial_edges() {
        let image = RgbImage::from_fn(5, 3, |x, y| Rgb([(x * 10 + y) as u8, 100, 255]));
        let reduced = box_reduce(&image, 2);
        assert_eq!(reduced.dimensions(), (3, 2));
        // Block (0,0): x 0..2, y 0..2 → (0+10+1+11)/4 = 5.5, rounded to 6.
        assert_eq!(reduced.get_pixel(0, 0).0, [6, 100, 255]);
        // Block (2,1): the single pixel (4,2).
        assert_eq!(reduced.get_pixel(2, 1).0, [42, 100, 255]);
        assert_eq!(box_reduce(&image, 1), image);
    }

    #[test]
    fn very_large_reductions_land_on_the_exact_size() {
        let image = RgbImage::new(4000, 10);
        let out = shrink_to_fit(image, 100, FilterType::Lanczos3);
        assert_eq!(out.dimensions(), (100, 1));
        let image = RgbImage::new(1003, 2011);
        let out = shrink_to_fit(image, 400, FilterType::Triangle);
        assert_eq!(out.dimensions(), (200, 400));
    }

    #[test]
    fn alpha_is_flattened_onto_white() {
        let mut rgba = RgbaImage::new(3, 1);
        rgba.put_pixel(0, 0, Rgba([0, 0, 0, 0])); // fully transparent black
        rgba.put_pixel(1, 0, Rgba([0, 0, 0, 255])); // opaque black
        rgba.put_pixel(2, 0, Rgba([255, 0, 0, 128])); // half-transparent red
        let rgb = flatten_to_rgb(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [0, 0, 0]);
        assert_eq!(rgb.get_pixel(2, 0).0, [255, 127, 127]);
    }
}
