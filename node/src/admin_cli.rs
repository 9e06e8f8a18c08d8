//! `maillon backup`, `maillon restore` and `maillon rebuild` (docs/OPERATIONS.md,
//! « Sauvegarder et restaurer »).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use maillon_node::backup::make::{make_backup, Progress};
use maillon_node::backup::restore::{restore, RestoreOptions};
use maillon_node::backup::{crypt, Sources};

/// One line of progress on standard error every this many bytes received.
const PROGRESS_STEP: u64 = 16 << 20;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The node's configuration file.
    #[arg(long, default_value = "maillon.toml")]
    config: PathBuf,
    /// The backup file to write (it must not exist yet).
    #[arg(long)]
    out: PathBuf,
    /// A file whose first line is the passphrase to encrypt the backup with (age, scrypt);
    /// or set MAILLON_BACKUP_PASSPHRASE. Without either, the backup is not encrypted.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    from: PathBuf,
    /// The node folder to create (absent or empty).
    #[arg(long)]
    dir: PathBuf,
    /// The passphrase file, if the backup is encrypted (or MAILLON_BACKUP_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// A charter file of the network the backup must belong to (for example the
    /// charter.cbor of another node of the network): a backup of another network is refused.
    #[arg(long)]
    network: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The node's configuration file (the node must be stopped).
    #[arg(long, default_value = "maillon.toml")]
    config: PathBuf,
}

pub fn backup(args: &BackupArgs) -> Result<()> {
    let config = crate::run::load(Some(&args.config))?;
    let config_file = std::fs::canonicalize(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let sources = Sources::of(&config, Some(config_file));
    let passphrase = crypt::passphrase(args.passphrase_file.as_deref())?;
    let encrypted = passphrase.is_some();
    let mut next_report = PROGRESS_STEP;
    let made = make_backup(
        &sources,
        config.cache_capacity_bytes,
        &args.out,
        passphrase,
        &mut |progress| match progress {
            Progress::Received(bytes) if bytes >= next_report => {
                eprintln!("… {} Mio reçus du nœud", bytes >> 20);
                next_report = bytes + PROGRESS_STEP;
            }
            Progress::Received(_) => {}
            Progress::Step(step) => eprintln!("… {step}"),
            Progress::Checking => eprintln!("… vérification du fichier écrit"),
        },
    )?;
    let manifest = &made.manifest;
    eprintln!(
        "{} ({}), {} photo(s), {} octets{}",
        if made.from_running_node {
            "Sauvegarde faite par le nœud en marche"
        } else {
            "Sauvegarde faite avec le nœud arrêté"
        },
        manifest.node_name,
        manifest.photos(),
        made.bytes,
        if encrypted {
            ", chiffrée"
        } else {
            ", NON chiffrée"
        },
    );
    println!(
        "Sauvegarde écrite : {} — {} enregistrements",
        args.out.display(),
        manifest.records
    );
    Ok(())
}

pub fn restore_command(args: &RestoreArgs) -> Result<()> {
    let expected_network = match &args.network {
        None => None,
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(maillon_node::backup::network_of_charter(&bytes)?)
        }
    };
    let restored = restore(
        RestoreOptions {
            from: args.from.clone(),
            dir: args.dir.clone(),
            passphrase: crypt::passphrase(args.passphrase_file.as_deref())?,
            expected_network,
        },
        &mut |step| eprintln!("… {step}"),
    )?;
    let manifest = &restored.manifest;
    println!(
        "Nœud restauré dans {} : {} enregistrements, {} photo(s), réseau {}",
        args.dir.display(),
        manifest.records,
        manifest.photos(),
        manifest.network
    );
    match &restored.config_file {
        Some(config) => println!(
            "Démarrez-le : maillon run --config {} (il reprend à ses pairs ce qu'il a manqué)",
            config.display()
        ),
        None => println!("La sauvegarde ne contenait pas de maillon.toml : écrivez-en un."),
    }
    Ok(())
}

pub fn rebuild_command(args: &RebuildArgs) -> Result<()> {
    let config = crate::run::load(Some(&args.config))?;
    let rebuilt = maillon_node::backup::rebuild::rebuild(&config.data_dir, now_secs())?;
    if rebuilt.store_moved {
        println!(
            "Stockage mis de côté dans {}",
            rebuilt.damaged_dir.display()
        );
    } else {
        println!("Il n'y avait pas de stockage : le nœud en créera un vide.");
    }
    if rebuilt.photos_moved > 0 {
        println!(
            "{} photo(s) abîmée(s) mise(s) de côté ; le nœud les redemandera à ses pairs.",
            rebuilt.photos_moved
        );
    }
    warn_without_bootstrap(&config.bootstrap, &args.config);
    println!(
        "Démarrez le nœud (maillon run --config {}) : il reprend tous les enregistrements à ses pairs.",
        args.config.display()
    );
    Ok(())
}

fn warn_without_bootstrap(bootstrap: &[String], config_file: &Path) {
    if bootstrap.is_empty() {
        println!(
            "Attention : {} ne nomme aucun pair dans network.bootstrap. Un stockage vide ne \
             connaît aucun autre nœud : ajoutez l'adresse pair-à-pair d'un nœud du réseau \
             (maillon status sur ce nœud, ou sa page d'exploitation).",
            config_file.display()
        );
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
