//! Integration tests for `maillon_protocol::signature`: RFC 8032 vectors, every edge case of
//! the strict rule (small-order and non-canonical points, non-canonical S, torsion
//! components), and agreement of `verify_batch` with `verify` item by item.
//!
//! Every batch goes through `ed25519_support::check_agreement`, which also compares `verify`
//! with an independent reference implementation of the documented rule. Helpers live in
//! `support/ed25519.rs` (`support/mod.rs` belongs to the state-rule tests).

#![allow(clippy::unwrap_used)]

#[path = "support/ed25519.rs"]
mod ed25519_support;

use std::collections::HashSet;
use std::sync::OnceLock;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_support::*;
use maillon_protocol::signature::SignatureError::{
    Mismatch, NonCanonicalKey, NonCanonicalR, NonCanonicalS, SmallOrderKey, SmallOrderR,
};
use maillon_protocol::signature::{verify, verify_batch, BatchItem, SecretKey, Signature};
use maillon_protocol::PublicKey;
use proptest::prelude::*;
use sha2::{Digest, Sha512};

#[test]
fn rfc8032_vectors_sign_and_verify() {
    let mut all = Vec::new();
    for vector in &RFC8032 {
        let seed = unhex::<32>(vector.seed);
        let secret = SecretKey::from_seed(seed);
        assert_eq!(secret.seed(), seed, "{}", vector.name);
        assert_eq!(
            secret.public_key(),
            PublicKey(unhex(vector.public)),
            "{}",
            vector.name
        );
        let message = hex::decode(vector.message).expect("hex");
        let signature = secret.sign(&message);
        assert_eq!(
            signature,
            Signature(unhex(vector.signature)),
            "{}",
            vector.name
        );
        let item = Owned::new(secret.public_key(), &message, signature);
        assert!(
            item.dalek_strict(),
            "ed25519-dalek verify_strict accepts {}",
            vector.name
        );
        assert_eq!(
            check_agreement(std::slice::from_ref(&item)),
            vec![Ok(())],
            "{}",
            vector.name
        );
        all.push(item);
    }
    assert_eq!(hex::decode(RFC8032[3].message).expect("hex").len(), 1023);
    assert_eq!(
        hex::decode(RFC8032[4].message).expect("hex"),
        Sha512::digest(b"abc").to_vec()
    );
    assert_eq!(check_agreement(&all), vec![Ok(()); all.len()]);

    // Any single flipped bit of TEST 1's key or signature is refused, by both paths.
    let base = &all[0];
    let mut tampered = Vec::new();
    for bit in 0..512 {
        let mut item = base.clone();
        item.signature.0[bit / 8] ^= 1 << (bit % 8);
        tampered.push(item);
    }
    for bit in 0..256 {
        let mut item = base.clone();
        item.key.0[bit / 8] ^= 1 << (bit % 8);
        tampered.push(item);
    }
    tampered.push(Owned::new(base.key, b"\0", base.signature));
    assert!(check_agreement(&tampered).iter().all(Result::is_err));
}

#[test]
fn small_order_keys_are_refused() {
    let points = torsion();
    let orders: Vec<u32> = points.iter().map(torsion_order).collect();
    assert_eq!(orders, [1, 8, 4, 8, 2, 8, 4, 8]);
    let encodings: Vec<[u8; 32]> = points.iter().map(|p| p.compress().0).collect();
    assert_eq!(encodings.iter().collect::<HashSet<_>>().len(), 8);

    let donor = signed(&secret(0), b"donor");
    let mut batch = valid_batch(4, "small-order keys");
    let mut expected = vec![Ok(()); batch.len()];
    for encoding in &encodings {
        assert!(canonical_point(encoding).is_some());
        let forged = forge_for_small_order_key(*encoding);
        assert!(
            forged.lax_equation_holds(),
            "the equation alone would accept it"
        );
        batch.push(forged);
        batch.push(Owned::new(PublicKey(*encoding), b"donor", donor.signature));
        expected.extend([Err(SmallOrderKey); 2]);
    }
    let non_canonical = non_canonical_small_order_encodings();
    for encoding in &non_canonical {
        let point = decompress(*encoding);
        assert!(point.is_small_order());
        assert_ne!(point.compress().0, *encoding, "not canonical");
        let forged = forge_for_small_order_key(*encoding);
        assert!(
            forged.lax_equation_holds(),
            "the equation alone would accept it"
        );
        batch.push(forged);
        batch.push(Owned::new(PublicKey(*encoding), b"donor", donor.signature));
        expected.extend([Err(NonCanonicalKey); 2]);
    }
    batch.extend(valid_batch(3, "after"));
    expected.extend([Ok(()); 3]);
    assert_eq!(check_agreement(&batch), expected);
}

#[test]
fn small_order_r_is_refused() {
    let points = torsion();
    let signer = signed(&secret(1), b"small-order R");
    // With a mixed-order key A = [a]B + T8, R = T and S = k·a satisfy the cofactorless
    // equation whenever T + k·T8 = 0; only the small-order-R check refuses them.
    let mixed = RawKey::new(b"mixed key for small-order R", points[1]);
    let mut batch = valid_batch(5, "small-order R");
    let mut expected = vec![Ok(()); batch.len()];
    for (index, t) in points.iter().enumerate() {
        let forged = grind(|n| {
            let message = format!("R=T{index} {n}").into_bytes();
            let item = Owned::new(
                mixed.public,
                &message,
                mixed.sign(Scalar::ZERO, *t, &message),
            );
            residual(&item).is_identity().then_some(item)
        });
        assert_eq!(r_bytes(&forged.signature), t.compress().0);
        assert!(
            forged.lax_equation_holds(),
            "the equation alone would accept it"
        );
        batch.push(forged);
        let donor_s = s_bytes(&signer.signature);
        batch.push(Owned::new(
            signer.key,
            &signer.message,
            signature_from(t.compress().0, donor_s),
        ));
        expected.extend([Err(SmallOrderR); 2]);
    }
    for encoding in non_canonical_small_order_encodings() {
        let signature = signature_from(encoding, s_bytes(&signer.signature));
        batch.push(Owned::new(signer.key, &signer.message, signature));
        expected.push(Err(NonCanonicalR));
    }
    assert_eq!(check_agreement(&batch), expected);
}

#[test]
fn non_canonical_s_is_refused() {
    let minus_one = (Scalar::ZERO - Scalar::ONE).to_bytes();
    let mut one = [0u8; 32];
    one[0] = 1;
    assert_eq!(add_le(minus_one, one), ELL, "ℓ as bytes");

    let base = signed(&secret(2), b"non-canonical S");
    let s = s_bytes(&base.signature);
    let r = r_bytes(&base.signature);
    let mut batch = vec![base.clone()];
    let mut expected = vec![Ok(())];
    let mut s_plus = s;
    for multiple in 1..=15 {
        s_plus = add_le(s_plus, ELL);
        let item = Owned::new(base.key, &base.message, signature_from(r, s_plus));
        if multiple == 1 {
            // Reduced mod ℓ it is the valid S: only the canonical-S check refuses it.
            assert!(residual(&item).is_identity());
        }
        batch.push(item);
        expected.push(Err(NonCanonicalS));
    }
    let mut high_bits = Vec::from([ELL, [0xff; 32]]);
    for bit in 253..256 {
        let mut bytes = s;
        bytes[bit / 8] |= 1 << (bit % 8);
        high_bits.push(bytes);
    }
    for bytes in high_bits {
        batch.push(Owned::new(
            base.key,
            &base.message,
            signature_from(r, bytes),
        ));
        expected.push(Err(NonCanonicalS));
    }
    // ℓ - 1 is canonical: it reaches the equation and fails there.
    batch.push(Owned::new(
        base.key,
        &base.message,
        signature_from(r, minus_one),
    ));
    expected.push(Err(Mismatch));
    assert_eq!(check_agreement(&batch), expected);
}

#[test]
fn non_canonical_large_order_encodings_are_refused() {
    let encodings = non_canonical_large_order_encodings();
    assert!(encodings.len() >= 4, "found {} candidates", encodings.len());
    let signer = signed(&secret(3), b"non-canonical points");
    let mut batch = valid_batch(2, "non-canonical points");
    let mut expected = vec![Ok(()); 2];
    for encoding in encodings {
        batch.push(Owned::new(
            PublicKey(encoding),
            &signer.message,
            signer.signature,
        ));
        let signature = signature_from(encoding, s_bytes(&signer.signature));
        batch.push(Owned::new(signer.key, &signer.message, signature));
        expected.extend([Err(NonCanonicalKey), Err(NonCanonicalR)]);
    }
    assert_eq!(check_agreement(&batch), expected);
}

#[test]
fn torsioned_r_with_the_original_s_is_refused() {
    let base = valid_batch(32, "torsioned R");
    for t in torsion().iter().skip(1) {
        for position in [0, 13, 31] {
            let mut batch = base.clone();
            let item = &mut batch[position];
            let r = (decompress(r_bytes(&item.signature)) + t).compress().0;
            assert!(!decompress(r).is_small_order() && !decompress(r).is_torsion_free());
            item.signature = signature_from(r, s_bytes(&item.signature));
            assert_eq!(check_agreement(&batch), all_ok_but(32, position, Mismatch));
        }
    }
}

/// Signatures that satisfy the cofactored equation but not the cofactorless one, each ground
/// so that ed25519-dalek's raw batch equation accepts the whole batch they sit in: a batch
/// path that let them into the equation would accept them.
#[test]
fn cofactored_only_signatures_are_refused_even_when_they_fool_the_batch_equation() {
    let others = valid_batch(16, "cofactored-only");
    let clean = RawKey::new(b"clean key", EdwardsPoint::default());
    for (index, t) in torsion().iter().enumerate().skip(1) {
        let mixed = RawKey::new(format!("mixed key {index}").as_bytes(), *t);
        let flavours = [
            (&clean, *t),
            (&mixed, EdwardsPoint::default()),
            (&mixed, *t),
        ];
        for (flavour, (key, r_torsion)) in flavours.into_iter().enumerate() {
            for position in [0, 9, 16] {
                let label = format!("flavour {flavour} T{index} at {position}");
                let mut batch = Vec::new();
                let item = ground_item(key, r_torsion, false, label.as_bytes(), |item| {
                    batch = others.clone();
                    batch.insert(position, item.clone());
                    dalek_batch_accepts(&batch)
                });
                assert!(!item.lax_equation_holds() && !item.dalek_strict());
                assert_eq!(
                    check_agreement(&batch),
                    all_ok_but(17, position, Mismatch),
                    "{label}"
                );
            }
        }
    }
}

/// A key with a torsion component can still sign validly: with A = [a]B + T and
/// R = [r]B + T', S = r + k·a verifies cofactorlessly exactly when T' + k·T = 0, which
/// grinding r achieves. Both paths must accept such signatures (they may not enter the
/// batch equation, but they are valid under the rule).
#[test]
fn torsioned_keys_that_sign_validly_are_accepted() {
    let mut batch = valid_batch(6, "mixed keys");
    let mut expected = vec![Ok(()); batch.len()];
    for (index, t) in torsion().iter().enumerate().skip(1) {
        let mixed = RawKey::new(format!("valid mixed key {index}").as_bytes(), *t);
        let key_point = decompress(mixed.public.0);
        assert!(!key_point.is_small_order() && !key_point.is_torsion_free());
        for (r_index, r_torsion) in torsion().iter().enumerate() {
            let label = format!("key T{index} R T{r_index}");
            // Only T' in the subgroup generated by T is reachable.
            if (0..8u8).any(|k| (Scalar::from(k) * t + r_torsion).is_identity()) {
                let item = ground_item(&mixed, *r_torsion, true, label.as_bytes(), |_| true);
                assert!(item.dalek_strict(), "{label}");
                batch.push(item);
                expected.push(Ok(()));
            }
        }
        let bad = ground_item(&mixed, EdwardsPoint::default(), false, b"bad", |_| true);
        batch.push(bad);
        expected.push(Err(Mismatch));
    }
    assert!(batch.len() > 40);
    assert_eq!(check_agreement(&batch), expected);
}

#[test]
fn a_thousand_and_twenty_four_signatures() {
    let batch = valid_batch(1024, "bulk");
    let keys: HashSet<PublicKey> = batch.iter().map(|item| item.key).collect();
    assert_eq!(keys.len(), 1024);
    let items: Vec<BatchItem<'_>> = batch.iter().map(Owned::item).collect();
    assert_eq!(verify_batch(&items), vec![Ok(()); 1024]);

    let middle = 512;
    let good = &batch[middle];
    let mut flipped_message = good.clone();
    flipped_message.message[0] ^= 0x01;
    let mut flipped_s = good.clone();
    flipped_s.signature.0[32] ^= 0x01;
    let mut wrong_key = good.clone();
    wrong_key.key = batch[middle + 1].key;
    let mut cofactored_only = Vec::new();
    let clean = RawKey::new(b"bulk clean key", EdwardsPoint::default());
    ground_item(&clean, torsion()[4], false, b"bulk", |item| {
        cofactored_only = batch.clone();
        cofactored_only[middle] = item.clone();
        dalek_batch_accepts(&cofactored_only)
    });
    for bad in [flipped_message, flipped_s, wrong_key] {
        let mut bulk = batch.clone();
        bulk[middle] = bad;
        assert_eq!(check_agreement(&bulk), all_ok_but(1024, middle, Mismatch));
    }
    assert_eq!(
        check_agreement(&cofactored_only),
        all_ok_but(1024, middle, Mismatch)
    );
}

#[test]
fn empty_batch() {
    assert!(verify_batch(&[]).is_empty());
}

/// Fixed edge-case items for the property test: all of them, and those that pass every
/// encoding check (they reach an equation: valid or cofactored-only torsioned items).
struct Pool {
    all: Vec<Owned>,
    reaching: Vec<Owned>,
    len: usize,
}

fn edge_pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let all = edge_items();
        let reaching: Vec<Owned> = all
            .iter()
            .filter(|item| matches!(reference(item), Ok(()) | Err(Mismatch)))
            .cloned()
            .collect();
        assert!(reaching.len() >= 35, "{} reaching items", reaching.len());
        // Cycle the reaching items so both lists index alike.
        let reaching = reaching.iter().cycle().take(all.len()).cloned().collect();
        Pool {
            len: all.len(),
            all,
            reaching,
        }
    })
}

fn edge_items() -> Vec<Owned> {
    let points = torsion();
    let donor = signed(&secret(7), b"pool donor");
    let (r, s) = (r_bytes(&donor.signature), s_bytes(&donor.signature));
    let mut pool = Vec::new();
    let mut bad_keys: Vec<[u8; 32]> = points.iter().map(|p| p.compress().0).collect();
    bad_keys.extend(non_canonical_small_order_encodings());
    bad_keys.extend(non_canonical_large_order_encodings());
    for key in &bad_keys {
        pool.push(Owned::new(PublicKey(*key), &donor.message, donor.signature));
        pool.push(Owned::new(
            donor.key,
            &donor.message,
            signature_from(*key, s),
        ));
        if decompress(*key).is_small_order() {
            pool.push(forge_for_small_order_key(*key));
        }
    }
    for s_bad in [add_le(s, ELL), ELL, [0xff; 32]] {
        pool.push(Owned::new(
            donor.key,
            &donor.message,
            signature_from(r, s_bad),
        ));
    }
    let clean = RawKey::new(b"pool clean key", EdwardsPoint::default());
    for (index, t) in points.iter().enumerate().skip(1) {
        let torsioned_r = (decompress(r) + t).compress().0;
        pool.push(Owned::new(
            donor.key,
            &donor.message,
            signature_from(torsioned_r, s),
        ));
        let mixed = RawKey::new(format!("pool mixed key {index}").as_bytes(), *t);
        let label = format!("pool T{index}");
        for (key, r_torsion, valid) in [
            (&clean, *t, false),
            (&mixed, EdwardsPoint::default(), false),
            (&mixed, EdwardsPoint::default(), true),
            (&mixed, -t, true),
            (&mixed, *t, false),
        ] {
            pool.push(ground_item(key, r_torsion, valid, label.as_bytes(), |_| {
                true
            }));
        }
    }
    pool
}

fn signers() -> &'static [SecretKey] {
    static SIGNERS: OnceLock<Vec<SecretKey>> = OnceLock::new();
    SIGNERS.get_or_init(|| (100..106).map(secret).collect())
}

/// Builds one item from a generated (kind, selector, position, message) tuple. In a
/// `clean` batch the only items that fail are edge cases from the pool, so that the batch
/// equation sees valid items only, unless an edge case wrongly enters it.
fn build_item(
    done: &[Owned],
    clean: bool,
    (kind, selector, position, message): &(u8, u8, u16, Vec<u8>),
) -> Owned {
    let signers = signers();
    let signer = &signers[usize::from(*selector) % signers.len()];
    let mut item = signed(signer, message);
    let position = usize::from(*position);
    match kind {
        0 | 1 => {}
        2..=5 if clean => {}
        6 if clean && selector % 4 != 0 => {}
        2 if message.is_empty() => item.message.push(0),
        2 => item.message[(position / 8) % message.len()] ^= 1 << (position % 8),
        3 => item.signature.0[32 + (position / 8) % 32] ^= 1 << (position % 8),
        4 => item.signature.0[(position / 8) % 32] ^= 1 << (position % 8),
        5 => item.key = signers[(usize::from(*selector) + 1) % signers.len()].public_key(),
        7 if !done.is_empty() => item = done[position % done.len()].clone(),
        _ => {
            let pool = edge_pool();
            item = if clean { &pool.reaching } else { &pool.all }[position % pool.len].clone();
        }
    }
    item
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn batch_results_equal_single_results(
        clean in any::<bool>(),
        spec in prop::collection::vec(
            (0u8..8, any::<u8>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..24)),
            0..64,
        )
    ) {
        let mut owned: Vec<Owned> = Vec::with_capacity(spec.len());
        for entry in &spec {
            let item = build_item(&owned, clean, entry);
            owned.push(item);
        }
        let items: Vec<BatchItem<'_>> = owned.iter().map(Owned::item).collect();
        let batch = verify_batch(&items);
        prop_assert_eq!(batch.len(), owned.len());
        for (index, item) in owned.iter().enumerate() {
            let single = verify(&item.key, &item.message, &item.signature);
            prop_assert_eq!(batch[index], single, "item {}: {:?}", index, item);
            prop_assert_eq!(single, reference(item), "item {}: {:?}", index, item);
        }
    }
}
