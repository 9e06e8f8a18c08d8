use std::io::Read;

use maillon_protocol::kinds::Listing;
use maillon_protocol::testkit;

use super::*;
use crate::generator;
use crate::store::MemoryStore;

fn file(archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn the_archive_holds_every_record_of_the_identity_and_the_photos_held() {
    let network = generator::generate(7, 12);
    let store = MemoryStore::new();
    for record in &network.records {
        store.put(record).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
    let held = blobs
        .put(b"\xff\xd8photo du buffet".to_vec())
        .await
        .unwrap();
    let missing = BlobHash::of_blob(b"never uploaded");
    let (old, new) = (&network.keys[5].1, testkit::key("export-new-key"));
    let now = network.now;
    // A listing with two photos, one held; a listing by the second key of the identity;
    // a third listing already erased (bare header); and someone else's listing.
    let Some(Body::Listing(base)) = network.signer.listing(old, "xxx", now).body().cloned() else {
        panic!()
    };
    let with_photos = network.signer.sign(
        old,
        Listing {
            title: "Buffet de cuisine".into(),
            photos: vec![held, missing],
            ..base.clone()
        },
        now,
        Some(now.plus_ms(testkit::DAY)),
    );
    let by_new_key = network
        .signer
        .listing(&new, "Vélo d'enfant", now.plus_ms(1));
    let erased = network.signer.listing(old, "Lampe", now.plus_ms(2));
    let other = network
        .signer
        .listing(&network.keys[6].1, "Chaise", now.plus_ms(3));
    for record in [&with_photos, &by_new_key, &erased, &other] {
        store.put(record).unwrap();
    }
    store.replace_with_bare_header(&erased.id()).unwrap();
    let own_before = store
        .by_author(&old.public_key(), usize::MAX)
        .unwrap()
        .len();

    let keys = [old.public_key(), new.public_key()];
    let bytes = export_member(&store, &blobs, &keys, now).await.unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let readme = String::from_utf8(file(&mut archive, "README.txt")).unwrap();
    assert!(readme.starts_with("Cette archive contient"), "{readme}");
    let photo = file(&mut archive, &format!("photos/{}.jpg", held.to_hex()));
    assert_eq!(photo, b"\xff\xd8photo du buffet");
    assert!(archive
        .by_name(&format!("photos/{}.jpg", missing.to_hex()))
        .is_err());
    assert_eq!(archive.len(), 3, "README, records and one photo");

    let json: Value = serde_json::from_slice(&file(&mut archive, "records.json")).unwrap();
    assert_eq!(json["format"], EXPORT_FORMAT);
    assert_eq!(json["photos"]["missing"], json!([missing.to_hex()]));
    let records = json["records"].as_array().unwrap();
    // Every record of both keys, none of anyone else's.
    assert_eq!(records.len(), own_before + 1);
    let authors: BTreeSet<&str> = records
        .iter()
        .map(|r| r["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        keys.iter()
            .map(|k| k.to_hex())
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    );
    let find = |id: RecordId| {
        records
            .iter()
            .find(|r| r["id"] == id.to_hex())
            .unwrap_or_else(|| panic!("{id} is not in the export"))
    };
    let listing = find(with_photos.id());
    assert_eq!(listing["kind"], "Listing");
    assert_eq!(listing["created"], now.0);
    assert_eq!(listing["expires"], now.plus_ms(testkit::DAY).0);
    assert_eq!(listing["body"]["title"], "Buffet de cuisine");
    assert_eq!(listing["body"]["category"], "furniture");
    assert_eq!(listing["body"]["price_cents"], 8_000);
    assert_eq!(
        listing["body"]["photos"],
        json!([held.to_hex(), missing.to_hex()])
    );
    assert_eq!(find(by_new_key.id())["body"]["title"], "Vélo d'enfant");
    let bare = find(erased.id());
    assert_eq!(bare["body_erased"], true);
    assert_eq!(bare["body"], Value::Null);
    // The join and the sponsorships the member received or gave are there, readable.
    let join = records.iter().find(|r| r["kind"] == "Join").unwrap();
    assert_eq!(
        join["body"]["accepted_rules_hash"].as_str().unwrap().len(),
        64
    );
    assert!(records.iter().all(|r| r["id"] != other.id().to_hex()));
}
