//! `maillon init`: creates a node's folder — its key and its configuration — either to found
//! a new network (a charter draft that the founders complete and sign on the founding pages,
//! see [`crate::founding`]) or to join an existing one with an invitation (see
//! [`crate::invitation`]). Nothing half-written is kept: everything is written into a fresh
//! folder that is removed again if a step fails.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use maillon_protocol::ids::Timestamp;
use maillon_protocol::kinds::Body;
use maillon_protocol::viability::Unviable;
use maillon_protocol::{Record, SecretKey};
use thiserror::Error;

use crate::founding::plan::write_founding_draft;
pub use crate::founding::plan::FoundingPlan;

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
    /// The planned charter could not work.
    #[error("this charter could not work:\n{}", list_problems(.0))]
    Unviable(Vec<Unviable>),
    /// The postcode is not five digits.
    #[error("the postcode `{0}` must be five digits, for example 26000")]
    BadPostcode(String),
    /// The rules text is empty, too long or holds control characters.
    #[error("the rules text must be 1 to 8000 bytes of text (line breaks allowed), not {0} bytes")]
    BadRules(usize),
}

fn list_problems(problems: &[Unviable]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    lines.join("\n")
}

/// How the new node enters a network.
#[derive(Clone, Debug)]
pub enum Entry {
    /// Found a new network with a founding team: the node waits for its founders, who
    /// create their keys and sign the charter on its founding pages.
    Found {
        /// The network's name.
        network_name: String,
        /// The node's postcode, stated in its announcement.
        postcode: String,
        /// The team's size, the charter's numbers and its rules.
        plan: FoundingPlan,
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
    /// The network id (once there is a charter: not while founding).
    pub network: Option<maillon_protocol::NetworkId>,
    /// The founding code to give the founders (founding only; shown once, stored hashed).
    pub founding_code: Option<String>,
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

/// Creates `dir` with a node key and a configuration, and either a founding draft or the
/// invitation's charter.
pub fn init(dir: &Path, node_name: &str, entry: &Entry) -> Result<InitReport, InitError> {
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
    let result = write_all(&staging, node_name, entry);
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

fn write_all(staging: &Path, node_name: &str, entry: &Entry) -> Result<InitReport, InitError> {
    let data = staging.join("data");
    fs::create_dir_all(&data).map_err(io(&data))?;
    let node_key = SecretKey::from_seed(random_seed()?);
    write_key(&data.join("node.key"), &node_key)?;
    let (charter, bootstrap) = match entry {
        Entry::Found {
            network_name,
            postcode,
            plan,
        } => {
            let code = write_founding_draft(&data, network_name, postcode, plan)?;
            let config_path = staging.join("maillon.toml");
            fs::write(&config_path, config_text(node_name, &[])).map_err(io(&config_path))?;
            return Ok(InitReport {
                config_file: config_path,
                network: None,
                founding_code: Some(code),
                node_key: node_key.public_key(),
            });
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
        network: Some(charter.header().network),
        founding_code: None,
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
         [store]\ncache_mib = 64\n\n\
         # Prometheus figures at http://127.0.0.1:9464/metrics, for this machine only\n\
         # (docs/OPERATIONS.md, « Surveiller le nœud »); \"\" turns the listener off.\n\
         [metrics]\nlisten = \"127.0.0.1:9464\"\n",
        quote(node_name.trim()),
        bootstrap.join(", ")
    )
}

/// A node folder as the founding ceremony leaves it (charter, node key, announcement by a
/// founder, configuration), made directly, for tests of what comes after founding.
#[cfg(test)]
pub(crate) mod test_folder {
    use super::*;
    use maillon_protocol::testkit;

    /// What [`founded`] wrote.
    pub(crate) struct Founded {
        /// The network id.
        pub network: maillon_protocol::NetworkId,
        /// The node's key.
        pub node_key: SecretKey,
        /// The founder who operates the node.
        pub founder: SecretKey,
        /// The configuration file.
        pub config_file: PathBuf,
    }

    /// Writes a founded node's folder into `dir`.
    pub(crate) fn founded(dir: &Path, node_name: &str) -> Founded {
        let founders: Vec<SecretKey> = (1..=3)
            .map(|i| testkit::key(&format!("{node_name}-founder-{i}")))
            .collect();
        let refs: Vec<&SecretKey> = founders.iter().collect();
        let signer = testkit::Signer::new(testkit::charter(&refs, &refs, 2));
        let data = dir.join("data");
        fs::create_dir_all(&data).expect("data folder");
        let node_key = testkit::key(&format!("{node_name}-node"));
        write_key(&data.join("node.key"), &node_key).expect("node key");
        let charter = signer.charter_record(&founders[0]);
        fs::write(dir.join("charter.cbor"), charter.to_wire()).expect("charter");
        let place = (node_name, "44000");
        let announced = announcement(
            &node_key,
            &founders[0],
            &signer.network,
            place,
            Timestamp(0),
        )
        .expect("announcement");
        let path = data.join(crate::node::ANNOUNCEMENT_FILE);
        fs::write(path, announced.to_wire()).expect("announcement file");
        let config_file = dir.join("maillon.toml");
        fs::write(&config_file, config_text(node_name, &[])).expect("config");
        Founded {
            network: signer.network,
            node_key,
            founder: founders[0].clone(),
            config_file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use crate::founding::draft::{Draft, Numbers};

    fn found(plan: FoundingPlan) -> Entry {
        Entry::Found {
            network_name: "Maillon Drôme".into(),
            postcode: "26000".into(),
            plan,
        }
    }

    #[test]
    fn founding_writes_a_config_a_node_key_and_a_draft_but_no_secret_and_no_charter() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let report = init(
            &dir,
            "Paroisse \"Saint-Jean\"",
            &found(FoundingPlan::default()),
        )
        .unwrap();
        let config = RawConfig::load(&report.config_file)
            .unwrap()
            .validate(&dir)
            .unwrap();
        assert_eq!(config.name, "Paroisse \"Saint-Jean\"");
        assert!(!config.charter_file.exists());
        assert!(crate::founding::is_pending(&config));
        let code = report.founding_code.expect("a founding code");
        let draft = Draft::load(&config.data_dir).unwrap();
        assert!(draft.code_matches(&code));
        assert!(!fs::read_to_string(dir.join("data/founding.json"))
            .unwrap()
            .contains(&code));
        assert_eq!(draft.numbers, Numbers::default());
        assert!(!dir.join("data/founder.key").exists());
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
            init(&dir, "Autre", &found(FoundingPlan::default())),
            Err(InitError::Exists(_))
        ));
    }

    #[test]
    fn founding_refuses_a_charter_nobody_could_join_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let two = FoundingPlan {
            founders: 2,
            ..FoundingPlan::default()
        };
        let error = init(&dir, "Valence", &found(two)).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("2 founder(s)") && text.contains("sponsors_required is 3"),
            "{text}"
        );
        let numbers = Numbers {
            council_threshold: 5,
            recovery_threshold: 4,
            ..Numbers::default()
        };
        let plan = FoundingPlan {
            numbers,
            ..FoundingPlan::default()
        };
        let text = init(&dir, "Valence", &found(plan)).unwrap_err().to_string();
        assert!(text.contains("council_threshold is 5"), "{text}");
        assert!(text.contains("recovery_threshold is 4"), "{text}");
        let blank = FoundingPlan {
            rules: " \n ".into(),
            ..FoundingPlan::default()
        };
        assert!(matches!(
            init(&dir, "Valence", &found(blank)),
            Err(InitError::BadRules(0))
        ));
        let bad_postcode = Entry::Found {
            network_name: "Maillon".into(),
            postcode: "Valence".into(),
            plan: FoundingPlan::default(),
        };
        assert!(matches!(
            init(&dir, "Valence", &bad_postcode),
            Err(InitError::BadPostcode(_))
        ));
        assert!(!dir.exists(), "nothing half-written is kept");
        assert!(!dir.with_extension("init-partial").exists());
    }
}
