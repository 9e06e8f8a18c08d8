//! `maillon init`: creates a node's folder — its key, its configuration and the charter —
//! either founding a new network or joining an existing one with an invitation. Nothing half-written is kept:
//! everything is written into a fresh folder that is removed again if a step fails.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use maillon_protocol::ids::Timestamp;
use maillon_protocol::kinds::Body;
use maillon_protocol::{Record, SecretKey};
use thiserror::Error;

/// Why `init` failed. Nothing is left behind.
#[derive(Debug, Error)]
pub enum InitError {
    /// The folder already holds a node.
    #[error("{0} already exists: choose an empty folder")]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The charter file is not a valid charter record, or an announcement cannot be signed.
    #[error("the charter file is not a valid charter: {0}")]
    BadCharter(String),
    /// The operating system gave no randomness for the key.
    #[error("no randomness available for the key: {0}")]
    Randomness(String),
    /// A name is empty or too long.
    #[error("the {0} must be 1 to 80 bytes")]
    BadName(&'static str),
    /// A key file is not 64 hexadecimal digits.
    #[error("the key file {0} is not 64 hexadecimal digits")]
    BadKey(PathBuf),
}

/// How the new node enters a network.
#[derive(Clone, Debug)]
pub enum Entry {
    /// Found a new network; this node's operator is its only founder and council member.
    Found {
        /// The network's name.
        network_name: String,
        /// The node's postcode, stated in its announcement.
        postcode: String,
    },
    /// Join an existing network with an invitation, read and checked by
    /// [`crate::invitation::read`]. The node starts as a stranger to its peers until its
    /// operator's vouch is added with `maillon announce`.
    Join {
        /// The invitation: the charter and the addresses to bootstrap from.
        invitation: Box<maillon_protocol::invitation::SignedInvitation>,
    },
}

/// What `init` created.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// The configuration file.
    pub config_file: PathBuf,
    /// The network id.
    pub network: maillon_protocol::NetworkId,
    /// The node's public key.
    pub node_key: maillon_protocol::PublicKey,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A fresh 32-byte seed from the operating system.
pub fn random_seed() -> Result<[u8; 32], InitError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| InitError::Randomness(e.to_string()))?;
    Ok(seed)
}

/// Writes a secret key's seed as hex, readable by the owner only.
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), InitError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(hex::encode(key.seed()).as_bytes())
        .map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Creates `dir` with a node key, a configuration and the charter. `now` dates a new charter.
pub fn init(
    dir: &Path,
    node_name: &str,
    entry: &Entry,
    now: Timestamp,
) -> Result<InitReport, InitError> {
    if node_name.trim().is_empty() || node_name.len() > 80 {
        return Err(InitError::BadName("node name"));
    }
    if dir.join("maillon.toml").exists() {
        return Err(InitError::Exists(dir.join("maillon.toml")));
    }
    let staging = dir.with_extension("init-partial");
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let result = write_all(&staging, node_name, entry, now);
    match result {
        Ok(mut report) => {
            fs::create_dir_all(dir.parent().unwrap_or(Path::new("."))).map_err(io(dir))?;
            if dir.exists() {
                for item in fs::read_dir(&staging).map_err(io(&staging))? {
                    let item = item.map_err(io(&staging))?;
                    fs::rename(item.path(), dir.join(item.file_name())).map_err(io(dir))?;
                }
                fs::remove_dir(&staging).map_err(io(&staging))?;
            } else {
                fs::rename(&staging, dir).map_err(io(dir))?;
            }
            report.config_file = dir.join("maillon.toml");
            Ok(report)
        }
        Err(error) => {
            let _ = fs::remove_dir_all(&staging);
            Err(error)
        }
    }
}

fn write_all(
    staging: &Path,
    node_name: &str,
    entry: &Entry,
    now: Timestamp,
) -> Result<InitReport, InitError> {
    let data = staging.join("data");
    fs::create_dir_all(&data).map_err(io(&data))?;
    let node_key = SecretKey::from_seed(random_seed()?);
    write_key(&data.join("node.key"), &node_key)?;
    let (charter, bootstrap) = match entry {
        Entry::Found {
            network_name,
            postcode,
        } => {
            if network_name.trim().is_empty() || network_name.len() > 80 {
                return Err(InitError::BadName("network name"));
            }
            let founder = SecretKey::from_seed(random_seed()?);
            write_key(&data.join("founder.key"), &founder)?;
            let mut charter = maillon_protocol::testkit::charter(&[&founder], &[&founder], 1);
            charter.name = network_name.trim().to_string();
            let record = Record::sign_charter(&founder, charter, now)
                .map_err(|e| InitError::BadCharter(e.to_string()))?;
            let announcement = announcement(
                &node_key,
                &founder,
                &record.header().network,
                (node_name, postcode.as_str()),
                now,
            )?;
            let path = data.join(crate::node::ANNOUNCEMENT_FILE);
            fs::write(&path, announcement.to_wire()).map_err(io(&path))?;
            (record, Vec::new())
        }
        Entry::Join { invitation } => {
            let invitation = invitation.invitation();
            (invitation.charter.clone(), invitation.addresses.clone())
        }
    };
    let charter_path = staging.join("charter.cbor");
    fs::write(&charter_path, charter.to_wire()).map_err(io(&charter_path))?;
    let config_path = staging.join("maillon.toml");
    fs::write(&config_path, config_text(node_name, &bootstrap)).map_err(io(&config_path))?;
    Ok(InitReport {
        config_file: config_path,
        network: charter.header().network,
        node_key: node_key.public_key(),
    })
}

/// Reads a secret key file (64 hex digits of seed).
pub fn read_key(path: &Path) -> Result<SecretKey, InitError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| InitError::BadKey(path.to_path_buf()))?;
    Ok(SecretKey::from_seed(seed))
}

/// A node announcement signed by the node's key and vouched for by its operator.
pub fn announcement(
    node: &SecretKey,
    operator: &SecretKey,
    network: &maillon_protocol::NetworkId,
    (name, postcode): (&str, &str),
    now: Timestamp,
) -> Result<Record, InitError> {
    use maillon_protocol::kinds::{node_operator_message, NodeAnnouncement};
    let body = NodeAnnouncement {
        name: name.trim().to_string(),
        region: String::new(),
        postcode: postcode.trim().to_string(),
        addresses: Vec::new(),
        operator: operator.public_key(),
        operator_signature: operator.sign(&node_operator_message(network, &node.public_key())),
    };
    let draft = maillon_protocol::Draft {
        body: body.into(),
        created: now,
        expires: None,
    };
    Record::sign(node, network, draft).map_err(|e| InitError::BadCharter(e.to_string()))
}

/// Reads and checks a charter record file: well-formed, signed by a founder, a charter.
pub fn read_charter(bytes: &[u8]) -> Result<Record, InitError> {
    let record =
        Record::decode_any_network(bytes).map_err(|e| InitError::BadCharter(e.to_string()))?;
    record
        .verify()
        .map_err(|e| InitError::BadCharter(e.to_string()))?;
    match record.body() {
        Some(Body::Charter(_)) => Ok(record),
        _ => Err(InitError::BadCharter(format!(
            "a {:?} record, not a charter",
            record.header().kind
        ))),
    }
}

fn config_text(node_name: &str, bootstrap: &[String]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let bootstrap: Vec<String> = bootstrap.iter().map(|b| quote(b)).collect();
    format!(
        "# Maillon node configuration. Environment variables MAILLON_SECTION__KEY override it.\n\
         [node]\nname = {}\ndata_dir = \"data\"\n\n\
         [network]\ncharter_file = \"charter.cbor\"\nlisten = [\"/ip4/0.0.0.0/tcp/4001\"]\nbootstrap = [{}]\nmdns = false\n\n\
         [http]\nlisten = \"127.0.0.1:8080\"\n\n\
         [store]\ncache_mib = 64\n",
        quote(node_name.trim()),
        bootstrap.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    #[test]
    fn founding_writes_a_valid_config_keys_and_charter() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let entry = Entry::Found {
            network_name: "Maillon Drôme".into(),
            postcode: "26000".into(),
        };
        let report = init(
            &dir,
            "Paroisse \"Saint-Jean\"",
            &entry,
            Timestamp(1_767_225_600_000),
        )
        .unwrap();
        let config = RawConfig::load(&report.config_file)
            .unwrap()
            .validate(&dir)
            .unwrap();
        assert_eq!(config.name, "Paroisse \"Saint-Jean\"");
        let charter = read_charter(&fs::read(&config.charter_file).unwrap()).unwrap();
        assert_eq!(charter.header().network, report.network);
        let seed = fs::read_to_string(dir.join("data/node.key")).unwrap();
        assert_eq!(seed.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("data/node.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            init(&dir, "Autre", &entry, Timestamp(0)),
            Err(InitError::Exists(_))
        ));
    }
}
