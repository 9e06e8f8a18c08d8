//! Backups, restores and rebuilds (issue 13 §2) on real nodes: a backup taken through the
//! admin socket of a node under 200 records/s of writes holds every record acknowledged
//! before it started and, restored, converges with its peer; a damaged store is rebuilt
//! from a peer to the same digest, photos included; a backup of another network, cut
//! short, not a backup, or with a wrong passphrase is refused and leaves nothing.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maillon_node::backup::crypt::SecretString;
use maillon_node::backup::make::make_backup;
use maillon_node::backup::restore::{restore, RestoreOptions};
use maillon_node::backup::{BackupError, Sources};
use maillon_node::config::Config;
use maillon_node::store::{SledConfig, SledStore, Store};
use maillon_protocol::ids::BlobHash;
use maillon_protocol::kinds::{Body, Listing};
use maillon_protocol::{testkit, RecordId};
use maillon_tests::{
    now, start_cluster, start_from, wait_for_peers, wait_until, Cluster, TestNode,
};

/// Writes per second the load generator aims at.
const WRITES_PER_SECOND: u64 = 200;

/// The network id (hex) of a cluster.
fn network(cluster: &Cluster) -> String {
    maillon_node::backup::network_of_charter(&cluster.network.records[0].to_wire()).unwrap()
}

fn passphrase() -> Option<SecretString> {
    Some(SecretString::from(
        "une phrase de passe de test".to_string(),
    ))
}

/// Backs up the node with this configuration (through its admin socket if it runs).
fn backup(
    config: &Config,
    out: &Path,
    passphrase: Option<SecretString>,
) -> Result<u64, BackupError> {
    let sources = Sources::of(config, None);
    make_backup(&sources, 16 << 20, out, passphrase, &mut |_| {}).map(|made| made.manifest.records)
}

/// The configuration of a node restored into `dir`, as node `i` of `cluster`.
fn restored_config(cluster: &Cluster, i: usize, dir: &Path) -> Config {
    Config {
        data_dir: dir.join("data"),
        charter_file: dir.join("charter.cbor"),
        ..cluster.prepare(i).unwrap()
    }
}

/// A listing with a photo, signed by generated member `member`.
fn listing_with_photo(
    cluster: &Cluster,
    member: usize,
    photo: BlobHash,
) -> maillon_protocol::Record {
    let signer = &cluster.network.signer;
    let author = &cluster.network.keys[member].1;
    let at = now().minus_ms(1_000);
    let Some(Body::Listing(base)) = signer.listing(author, "Buffet", at).body().cloned() else {
        panic!("a listing")
    };
    let photos = vec![photo];
    signer.sign(
        author,
        Listing { photos, ..base },
        at,
        Some(at.plus_ms(30 * testkit::DAY)),
    )
}

/// The records acknowledged with 201, each with when.
type Acknowledged = Arc<Mutex<Vec<(RecordId, Instant)>>>;

/// Posts listings to `node` at [`WRITES_PER_SECOND`] until `stop`, remembering when each
/// was acknowledged with 201.
fn load(
    cluster: &Cluster,
    node: &TestNode,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Acknowledged, Vec<tokio::task::JoinHandle<()>>) {
    let acknowledged: Acknowledged = Arc::default();
    let writers = 4;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let author = cluster.network.keys[3 + writer].1.clone();
        let signer = cluster.network.signer.clone();
        let (base, stop, acknowledged) = (node.base.clone(), stop.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let period = Duration::from_micros(1_000_000 * writers as u64 / WRITES_PER_SECOND);
            let mut tick = tokio::time::interval(period);
            for i in 0.. {
                tick.tick().await;
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let record = signer.listing(&author, &format!("Annonce {writer}-{i}"), now());
                let response = http
                    .post(format!("{base}/api/v1/records"))
                    .header("content-type", "application/cbor")
                    .body(record.to_wire())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 201);
                acknowledged
                    .lock()
                    .unwrap()
                    .push((record.id(), Instant::now()));
            }
        }));
    }
    (acknowledged, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_every_acknowledged_record_and_converges() {
    let cluster = Cluster::new(131, 30, 2);
    cluster
        .add_account(0, "member-5", "camille", "phrase de passe")
        .unwrap();
    let mut nodes = start_cluster(&cluster, 2).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let photo = nodes[0]
        .node()
        .blobs
        .put(b"une photo".to_vec())
        .await
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (acknowledged, writers) = load(&cluster, &nodes[0], stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("noeud.maillon-backup");
    let config = cluster.prepare(0).unwrap();
    let started = Instant::now();
    let (config_for_backup, out) = (config.clone(), file.clone());
    let records =
        tokio::task::spawn_blocking(move || backup(&config_for_backup, &out, passphrase()))
            .await
            .unwrap()
            .unwrap();
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    // Node 1 holds everything node 0 acknowledged before node 0 is replaced.
    wait_until(
        "node 1 to catch up with node 0",
        Duration::from_secs(60),
        || {
            let nodes = &nodes;
            async move { Ok(nodes[0].digest().await? == nodes[1].digest().await?) }
        },
    )
    .await
    .unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<RecordId> = acknowledged
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(id, _)| *id)
        .collect();
    let during = acknowledged
        .iter()
        .filter(|(_, at)| *at >= started && *at <= ended)
        .count();
    let seconds = (ended - started).as_secs_f64();
    println!(
        "{} records acknowledged before the backup, {during} during its {seconds:.1} s ({:.0}/s); {records} in it",
        before.len(),
        during as f64 / seconds
    );
    assert!(during > 0, "the backup ran under writes");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let restored = folder.path().join("restored");
    let done = restore(
        RestoreOptions {
            from: file.clone(),
            dir: restored.clone(),
            passphrase: passphrase(),
            expected_network: Some(network(&cluster)),
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(done.manifest.records, records);
    {
        let store = SledStore::open(&SledConfig {
            path: restored.join("data/store"),
            cache_capacity_bytes: 16 << 20,
        })
        .unwrap();
        let missing = before
            .iter()
            .filter(|id| !store.contains(id).unwrap())
            .count();
        assert_eq!(
            missing, 0,
            "records acknowledged before the backup are missing"
        );
        assert_eq!(store.len().unwrap(), records);
    }
    assert!(restored.join("data/node.key").exists());
    assert!(restored
        .join("data/accounts")
        .read_dir()
        .unwrap()
        .next()
        .is_some());
    let photo_file = restored
        .join("data/blobs")
        .join(&photo.to_hex()[..2])
        .join(photo.to_hex());
    assert_eq!(std::fs::read(photo_file).unwrap(), b"une photo");

    // The restored node replaces node 0 (same key) and catches up from node 1.
    nodes[0].stop().await.unwrap();
    let settings = Cluster::settings(vec![nodes[1].address()]);
    let restored_node = start_from(
        restored_config(&cluster, 0, &restored),
        0,
        settings,
        Vec::new(),
    )
    .await
    .unwrap();
    wait_until(
        "the restored node to reach its peer's digest",
        Duration::from_secs(60),
        || {
            let (restored_node, peer) = (&restored_node, &nodes[1]);
            async move { Ok(restored_node.digest().await? == peer.digest().await?) }
        },
    )
    .await
    .unwrap();
    for (id, _) in acknowledged.iter().rev().take(20) {
        assert!(
            restored_node.has(id).await.unwrap(),
            "a record written after the backup"
        );
    }
}

/// Overwrites every file of a folder with garbage of the same length.
fn damage(folder: &Path) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            damage(&path);
        } else {
            let length = std::fs::metadata(&path).unwrap().len() as usize;
            std::fs::write(&path, vec![0xa5; length.max(64)]).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_damaged_store_is_rebuilt_from_peers_with_the_same_digest() {
    let cluster = Cluster::new(137, 30, 2);
    let mut nodes = start_cluster(&cluster, 2).await.unwrap();
    wait_for_peers(&nodes, 1).await.unwrap();
    let bytes = b"la photo du buffet".to_vec();
    let photo = BlobHash::of_blob(&bytes);
    for node in &nodes {
        node.node().blobs.put(bytes.clone()).await.unwrap();
    }
    let listing = listing_with_photo(&cluster, 6, photo);
    assert_eq!(nodes[1].post(&listing.to_wire()).await.unwrap().0, 201);
    for i in 0..50 {
        let record =
            cluster
                .network
                .signer
                .listing(&cluster.network.keys[7].1, &format!("Vélo {i}"), now());
        assert_eq!(nodes[1].post(&record.to_wire()).await.unwrap().0, 201);
    }
    let target = nodes[1].digest().await.unwrap();
    wait_until("both nodes to agree", Duration::from_secs(30), || {
        let (node, target) = (&nodes[0], target.clone());
        async move { Ok(node.digest().await? == target) }
    })
    .await
    .unwrap();

    nodes[1].stop().await.unwrap();
    let data = cluster.dir(1);
    damage(&data.join("store"));
    let photo_file: PathBuf = data
        .join("blobs")
        .join(&photo.to_hex()[..2])
        .join(photo.to_hex());
    std::fs::write(&photo_file, b"abime").unwrap();
    let rebuilt = maillon_node::backup::rebuild::rebuild(&data, 1).unwrap();
    assert!(rebuilt.store_moved);
    assert_eq!(rebuilt.photos_moved, 1);
    assert!(
        rebuilt.damaged_dir.join("store").exists(),
        "the damaged store is kept aside"
    );

    let settings = Cluster::settings(vec![nodes[0].address()]);
    let node = cluster.start(1, settings, false).await.unwrap();
    wait_until(
        "the rebuilt node to reach its peer's digest",
        Duration::from_secs(60),
        || {
            let (node, target) = (&node, target.clone());
            async move { Ok(node.digest().await? == target) }
        },
    )
    .await
    .unwrap();
    assert!(node.has(&listing.id()).await.unwrap());
    // The photo comes back from the peer when a page asks for it.
    let response = reqwest::get(format!("{}/photo/{}", node.base, photo.to_hex()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_of_another_network_cut_short_or_foreign_is_refused() {
    let ours = Cluster::new(139, 10, 1);
    let theirs = Cluster::new(149, 10, 1);
    let mut node = theirs
        .start(0, Cluster::settings(Vec::new()), true)
        .await
        .unwrap();
    node.stop().await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let plain = folder.path().join("plain.backup");
    let sealed = folder.path().join("sealed.backup");
    // The node is stopped: the store is read directly.
    let config = theirs.prepare(0).unwrap();
    let records = backup(&config, &plain, None).unwrap();
    assert!(records > 0);
    backup(&config, &sealed, passphrase()).unwrap();
    let attempt = |from: &Path, passphrase: Option<SecretString>, network: Option<String>| {
        let dir = folder.path().join("target");
        let outcome = restore(
            RestoreOptions {
                from: from.to_path_buf(),
                dir: dir.clone(),
                passphrase,
                expected_network: network,
            },
            &mut |_| {},
        );
        (outcome, dir)
    };
    let our_network = Some(network(&ours));

    let (outcome, dir) = attempt(&plain, None, our_network.clone());
    let error = outcome.unwrap_err();
    assert!(matches!(error, BackupError::OtherNetwork { .. }), "{error}");
    assert!(error.to_string().contains("belongs to network"), "{error}");
    assert!(!dir.exists());

    let whole = std::fs::read(&plain).unwrap();
    for cut in [whole.len() / 2, whole.len() - 1024 - 512, 700] {
        let short = folder.path().join(format!("short-{cut}.backup"));
        std::fs::write(&short, &whole[..cut]).unwrap();
        let (outcome, dir) = attempt(&short, None, None);
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, BackupError::Damaged(_)),
            "cut at {cut}: {error}"
        );
        assert!(
            error.to_string().contains("truncated or damaged"),
            "{error}"
        );
        assert!(!dir.exists());
    }
    let sealed_bytes = std::fs::read(&sealed).unwrap();
    let short = folder.path().join("short-sealed.backup");
    std::fs::write(&short, &sealed_bytes[..sealed_bytes.len() - 100]).unwrap();
    let error = attempt(&short, passphrase(), None).0.unwrap_err();
    assert!(matches!(error, BackupError::Damaged(_)), "{error}");

    let text = folder.path().join("notes.txt");
    std::fs::write(&text, "ceci n'est pas une sauvegarde\n".repeat(40)).unwrap();
    let error = attempt(&text, None, None).0.unwrap_err();
    assert!(matches!(error, BackupError::NotABackup(_)), "{error}");

    let error = attempt(&sealed, None, None).0.unwrap_err();
    assert!(matches!(error, BackupError::NeedsPassphrase), "{error}");
    let wrong = Some(SecretString::from("pas la bonne".to_string()));
    let error = attempt(&sealed, wrong, None).0.unwrap_err();
    assert!(matches!(error, BackupError::WrongPassphrase), "{error}");

    // The right network restores; a second restore into the same folder is refused.
    let (outcome, dir) = attempt(&sealed, passphrase(), Some(network(&theirs)));
    assert_eq!(outcome.unwrap().manifest.records, records);
    let error = attempt(&plain, None, None).0.unwrap_err();
    assert!(matches!(error, BackupError::NotEmpty(_)), "{error}");
    assert!(dir.join("data/node.key").exists());
    // Nothing half-written is left next to the target.
    let leftovers: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
