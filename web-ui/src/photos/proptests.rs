//! Property tests: [`process`](super::process) never panics, whatever the bytes.
//!
//! They call the unguarded pipeline, so a panic inside a decoder fails the test instead of
//! being turned into `Malformed` by the `catch_unwind` guard of `process`.

use std::sync::OnceLock;

use proptest::collection::vec;
use proptest::prelude::*;

use super::test_fixtures::*;
use super::*;

/// Small limits keep each case fast even when a mutated header announces a big image.
fn limits() -> PhotoLimits {
    PhotoLimits {
        max_upload_bytes: 64 * 1024,
        max_pixels: 1 << 20,
        full_max_side: 128,
        thumb_max_side: 32,
        jpeg_quality: 82,
    }
}

/// Valid images in each accepted format, to be mutated.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        vec![
            with_exif(&jpeg(24, 16), &exif_block(6)),
            jpeg_of(&red_top_left(9, 7)),
            png_rgba(12, 10, 200),
            png_rgba(3, 5, 255),
            webp(10, 12),
        ]
    })
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    match process_unguarded(bytes, &limits()) {
        Ok(photo) => {
            prop_assert!(photo.full.starts_with(b"\xFF\xD8"));
            prop_assert!(photo.thumbnail.starts_with(b"\xFF\xD8"));
            prop_assert!(photo.width.max(photo.height) <= limits().full_max_side);
            prop_assert!(photo.width >= 1 && photo.height >= 1);
        }
        Err(PhotoError::TooLarge { .. }) => prop_assert!(bytes.len() > limits().max_upload_bytes),
        Err(PhotoError::Empty) => prop_assert!(bytes.is_empty()),
        Err(_) => {}
    }
    Ok(())
}

/// A mutation of a seed image: overwrite, insert or delete bytes, or truncate.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len().max(1);
    match mutation {
        Mutation::Set(i, b) => {
            if let Some(byte) = bytes.get_mut(i % len) {
                *byte = *b;
            }
        }
        Mutation::Insert(i, new) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = i % len;
            let end = (at + n).min(bytes.len());
            bytes.drain(at.min(end)..end);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
    }
}

/// Recomputes the CRC of every PNG chunk, so that mutations get past the CRC check and
/// reach the inflater and the filters instead.
fn fix_png_crcs(bytes: &mut [u8]) {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return;
    }
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let length = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let end = i + 8 + length as usize;
        if end + 4 > bytes.len() {
            break;
        }
        let crc = crc32(&bytes[i + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        i = end + 4;
    }
}

/// Random tails behind each magic prefix, so the decoders themselves get exercised.
fn prefixed_garbage() -> impl Strategy<Value = Vec<u8>> {
    let prefixes: Vec<&'static [u8]> = vec![
        b"\xFF\xD8\xFF",
        b"\xFF\xD8\xFF\xDB\x00\x43\x00",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
        b"RIFF\x00\x01\x00\x00WEBPVP8 ",
        b"RIFF\x00\x01\x00\x00WEBPVP8L",
        b"RIFF\x00\x01\x00\x00WEBPVP8X",
    ];
    (
        proptest::sample::select(prefixes),
        vec(any::<u8>(), 0..1024),
    )
        .prop_map(|(prefix, tail)| {
            let mut bytes = prefix.to_vec();
            bytes.extend(tail);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        check(&bytes)?;
    }

    #[test]
    fn garbage_behind_magic_bytes_never_panics(bytes in prefixed_garbage()) {
        check(&bytes)?;
    }

    #[test]
    fn mutated_images_never_panic(
        seed in 0..5usize,
        mutations in vec(mutation(), 1..12),
        repair_png_crcs in any::<bool>(),
    ) {
        let mut bytes = seeds()[seed].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if repair_png_crcs {
            fix_png_crcs(&mut bytes);
        }
        check(&bytes)?;
    }
}

#[test]
fn seeds_are_valid() {
    for seed in seeds() {
        assert!(process_unguarded(seed, &limits()).is_ok());
    }
}

#[test]
fn the_guard_turns_a_panic_into_malformed() {
    let result: Result<ProcessedPhoto, PhotoError> = guard(|| panic!("a decoder bug"));
    assert!(matches!(result, Err(PhotoError::Malformed(_))));
}
