//! A full disk (a 40 MiB tmpfs): new records get `507 insufficient_storage` at the
//! free-space floor, every acknowledged record stays readable while the disk is full, and
//! writes are taken again, without a restart, once space is freed. Needs root (mount).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use maillon_protocol::RecordId;
use maillon_tests::{now, wait_until, Cluster};

const MIB: usize = 1024 * 1024;

/// A tmpfs mounted for the test, unmounted when dropped (even on a failed assertion).
struct SmallVolume {
    path: PathBuf,
}

impl SmallVolume {
    fn mount(size_mib: usize) -> Option<SmallVolume> {
        let path = tempfile::tempdir().unwrap().keep();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallVolume { path })
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Fills the volume with 1 MiB files until it refuses one; returns them.
fn fill(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for i in 0.. {
        let path = folder.join(format!("filler-{i}"));
        if std::fs::write(&path, vec![7u8; MIB]).is_err() {
            let _ = std::fs::remove_file(&path);
            return files;
        }
        files.push(path);
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_records_keeps_reads_and_recovers_by_itself() {
    let volume = if rustix_is_root() {
        SmallVolume::mount(40)
    } else {
        None
    };
    let Some(volume) = volume else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let mut cluster = Cluster::new(83, 30, 1);
    cluster.data_root = Some(volume.path.clone());
    cluster.min_free_bytes = 6 * MIB as u64;
    let mut node = cluster
        .start(0, Cluster::settings(Vec::new()), true)
        .await
        .unwrap();
    // Leave about 9 MiB free: 3 MiB above the floor.
    let mut filler = fill(&volume.path);
    for path in filler.drain(filler.len().saturating_sub(9)..) {
        std::fs::remove_file(path).unwrap();
    }
    let mut acknowledged: Vec<RecordId> = Vec::new();
    let mut refusal = None;
    for i in 0..60_000 {
        let author = &cluster.network.keys[3 + i % 20].1;
        let record = cluster
            .network
            .signer
            .listing(author, &format!("Annonce numéro {i}"), now());
        let (status, body) = node.post(&record.to_wire()).await.unwrap();
        match status {
            201 => acknowledged.push(record.id()),
            507 => {
                refusal = Some(body);
                break;
            }
            other => panic!("post {i} answered {other}: {body}"),
        }
    }
    let refusal = refusal.expect("the floor is reached within 60,000 listings");
    assert_eq!(refusal["error"], "insufficient_storage", "{refusal}");
    assert!(acknowledged.len() > 100, "{} stored", acknowledged.len());
    // Full: reads go on, every acknowledged record is there, and writes stay refused.
    for id in &acknowledged {
        assert!(
            node.has(id).await.unwrap(),
            "{id:?} unreadable on a full disk"
        );
    }
    let status = node.status().await.unwrap();
    assert!(status["records"].as_u64().unwrap() > acknowledged.len() as u64);
    assert_eq!(status["storage"]["state"], "full", "{status}");
    assert_eq!(status["storage"]["floor_mib"], 6);
    let (code, ready) = node.get_json("/ready").await.unwrap();
    assert_eq!(code, 503, "{ready}");
    assert!(ready["problems"][0]
        .as_str()
        .unwrap()
        .contains("free-space floor"));
    let another = cluster
        .network
        .signer
        .listing(&cluster.network.keys[4].1, "Encore une", now());
    assert_eq!(node.post(&another.to_wire()).await.unwrap().0, 507);
    // Space returns: the same record is taken, without a restart.
    for path in filler.drain(..) {
        std::fs::remove_file(path).unwrap();
    }
    wait_until(
        "writes are taken again",
        Duration::from_secs(10),
        || async { Ok(node.post(&another.to_wire()).await?.0 == 201) },
    )
    .await
    .unwrap();
    for id in &acknowledged {
        assert!(node.has(id).await.unwrap());
    }
    assert_eq!(node.status().await.unwrap()["storage"]["state"], "ample");
    let (code, ready) = node.get_json("/ready").await.unwrap();
    assert_eq!(code, 200, "{ready}");
    assert_eq!(
        ready["synced"],
        serde_json::Value::Null,
        "no peer is configured"
    );
    node.stop().await.unwrap();
    drop(volume);
}

fn rustix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
