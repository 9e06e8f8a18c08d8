//! `maillon announce`: the node's own announcement, signed with the node's key around the
//! vouch a member made on the page "Héberger un site" of any node (a signature code: the
//! member's key then their signature over the node-operator statement). The record is written
//! to the data folder and submitted when the node starts.

use std::fs;
use std::path::{Path, PathBuf};

use maillon_protocol::kinds::{node_operator_message, NodeAnnouncement};
use maillon_protocol::signature::verify;
use maillon_protocol::{Draft, Record, Timestamp};
use thiserror::Error;

use crate::config::Config;
use crate::node::ANNOUNCEMENT_FILE;

/// Why the announcement was not written. Nothing is written then.
#[derive(Debug, Error)]
pub enum AnnounceError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The charter or the node key is not valid.
    #[error("{0}")]
    BadFile(String),
    /// The code is not 192 hexadecimal digits.
    #[error("the operator's code must be the 192 hexadecimal digits shown on the page \"Héberger un site\"")]
    UnreadableCode,
    /// The code was signed for another node or another network.
    #[error("this code was not signed for this node on this network: the member must paste this node's key {node} (fingerprint {fingerprint}) on the page \"Héberger un site\"")]
    WrongNode {
        /// This node's key, hex.
        node: String,
        /// Its short fingerprint.
        fingerprint: String,
    },
    /// The postcode is not five digits.
    #[error("the postcode must be five digits, for example 26000")]
    BadPostcode,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AnnounceError + '_ {
    move |source| AnnounceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks the operator's code against this node and network, signs the announcement with the
/// node's key, and writes it (temporary file, fsync, rename) for the node to submit at start.
pub fn announce(
    config: &Config,
    code: &str,
    postcode: &str,
    now: Timestamp,
) -> Result<Record, AnnounceError> {
    let postcode = postcode.trim();
    if postcode.len() != 5 || !postcode.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AnnounceError::BadPostcode);
    }
    let charter_bytes = fs::read(&config.charter_file).map_err(io(&config.charter_file))?;
    let charter = crate::init::read_charter(&charter_bytes)
        .map_err(|e| AnnounceError::BadFile(e.to_string()))?;
    let network = charter.header().network;
    let node = crate::node::read_key(&config.data_dir.join("node.key"))
        .map_err(|e| AnnounceError::BadFile(e.to_string()))?;
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let (operator, signature) = maillon_web_ui::page::parse_signature_code(&compact)
        .ok_or(AnnounceError::UnreadableCode)?;
    let node_key = node.public_key();
    if verify(
        &operator,
        &node_operator_message(&network, &node_key),
        &signature,
    )
    .is_err()
    {
        return Err(AnnounceError::WrongNode {
            node: node_key.to_hex(),
            fingerprint: maillon_web_ui::page::fingerprint(&node_key),
        });
    }
    let body = NodeAnnouncement {
        name: config.name.trim().to_string(),
        region: String::new(),
        postcode: postcode.to_string(),
        addresses: Vec::new(),
        operator,
        operator_signature: signature,
    };
    let draft = Draft {
        body: body.into(),
        created: now,
        expires: None,
    };
    let record =
        Record::sign(&node, &network, draft).map_err(|e| AnnounceError::BadFile(e.to_string()))?;
    let path = config.data_dir.join(ANNOUNCEMENT_FILE);
    crate::durable::write_atomically(&path, &record.to_wire()).map_err(io(&path))?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use maillon_web_ui::page::signature_code;

    #[test]
    fn the_operators_code_becomes_the_nodes_announcement_and_a_wrong_one_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("node");
        let report = crate::init::test_folder::founded(&dir, "Lyon");
        let file = dir.join("data").join(ANNOUNCEMENT_FILE);
        fs::remove_file(&file).expect("start without an announcement");
        let config = RawConfig::load(&report.config_file)
            .expect("load")
            .validate(&dir)
            .expect("valid");
        let operator = report.founder.clone();
        let sign_for = |node: &maillon_protocol::PublicKey| {
            let statement = node_operator_message(&report.network, node);
            signature_code(&operator.public_key(), &operator.sign(&statement))
        };

        let other_node = maillon_protocol::testkit::key("another-node").public_key();
        let wrong = announce(&config, &sign_for(&other_node), "69001", Timestamp(1));
        assert!(
            matches!(wrong, Err(AnnounceError::WrongNode { .. })),
            "{wrong:?}"
        );
        let garbage = announce(&config, "1234", "69001", Timestamp(1));
        assert!(matches!(garbage, Err(AnnounceError::UnreadableCode)));
        let code = sign_for(&report.node_key.public_key());
        let postcode = announce(&config, &code, "Lyon", Timestamp(1));
        assert!(matches!(postcode, Err(AnnounceError::BadPostcode)));
        assert!(!file.exists(), "nothing is written on failure");

        let spaced = format!("{}\n  {}", &code[..96], &code[96..]);
        let record = announce(&config, &spaced, "69001", Timestamp(1)).expect("announces");
        let written = Record::decode(&fs::read(&file).expect("written"), &report.network)
            .expect("a record of this network");
        assert_eq!(written, record);
        written.verify().expect("signed by the node");
        assert_eq!(written.header().author, report.node_key.public_key());
        let Some(maillon_protocol::Body::NodeAnnouncement(body)) = written.body() else {
            panic!("a node announcement");
        };
        assert_eq!(body.operator, operator.public_key());
        assert_eq!(body.postcode, "69001");
        assert_eq!(body.name, "Lyon");
    }
}
