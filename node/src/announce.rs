//! `maillon announce`: the node's own announcement, signed with the node's key around the
//! vouch a member made on the page "Héberger un site" of any node (a signature code: the
//! member's key then their signature over the node-operator statement). The record is written
//! to the data folder and submitted when the node starts.

use std::fs;
use std::path::{Path, PathBuf};

use maillon_protocol::kinds::{node_operator_message, NodeAnnouncement, SiteAddress};
use maillon_protocol::signature::verify;
use maillon_protocol::{Body, Draft, Record, SecretKey, Timestamp};
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
        addresses: config
            .site_address
            .iter()
            .map(SiteAddress::address)
            .collect(),
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

/// The node's own announcement naming `site` as its website (docs/PROTOCOL.md, kind 2, "The
/// node's website"), or `None` when `held` already does. The new one keeps the held one's
/// fields and vouch, puts the website first and the other addresses after it, and is signed
/// with the node's key, later than `held` so that it is the newest.
pub fn naming_site(
    held: &Record,
    node: &SecretKey,
    site: Option<&SiteAddress>,
    now: Timestamp,
) -> Result<Option<Record>, AnnounceError> {
    let Some(Body::NodeAnnouncement(body)) = held.body() else {
        return Err(AnnounceError::BadFile(
            "the announcement file holds no node announcement".into(),
        ));
    };
    if SiteAddress::of(body).as_ref() == site {
        return Ok(None);
    }
    let mut addresses: Vec<String> = site.map(SiteAddress::address).into_iter().collect();
    addresses.extend(
        body.addresses
            .iter()
            .filter(|a| SiteAddress::from_address(a).is_none())
            .cloned(),
    );
    addresses.truncate(8);
    let draft = Draft {
        body: NodeAnnouncement {
            addresses,
            ..body.clone()
        }
        .into(),
        created: now.max(held.header().created.plus_ms(1)),
        expires: None,
    };
    Record::sign(node, &held.header().network, draft)
        .map(Some)
        .map_err(|e| AnnounceError::BadFile(e.to_string()))
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

    #[test]
    fn the_announcement_is_signed_again_only_when_its_website_changes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("node");
        let report = crate::init::test_folder::founded(&dir, "Lyon");
        let file = dir.join("data").join(ANNOUNCEMENT_FILE);
        let held = Record::decode(&fs::read(&file).expect("announced"), &report.network)
            .expect("a record of this network");
        let node = &report.node_key;
        let body_of = |record: &Record| match record.body() {
            Some(maillon_protocol::Body::NodeAnnouncement(body)) => body.clone(),
            other => panic!("not an announcement: {other:?}"),
        };
        let first = body_of(&held);
        let lyon = SiteAddress::from_url("https://lyon.example.org").expect("valid");

        let named = naming_site(&held, node, Some(&lyon), Timestamp(5))
            .expect("signs")
            .expect("a new announcement");
        named.verify().expect("signed by the node");
        assert_eq!(named.header().author, node.public_key());
        assert!(named.header().created > held.header().created, "newer");
        let body = body_of(&named);
        assert_eq!(body.addresses.first(), Some(&lyon.address()));
        assert_eq!(
            (
                &body.name,
                &body.postcode,
                &body.operator,
                &body.operator_signature
            ),
            (
                &first.name,
                &first.postcode,
                &first.operator,
                &first.operator_signature
            )
        );
        assert!(naming_site(&named, node, Some(&lyon), Timestamp(6))
            .expect("reads")
            .is_none());

        let moved = SiteAddress::from_url("https://autre.example").expect("valid");
        let renamed = naming_site(&named, node, Some(&moved), Timestamp(7))
            .expect("signs")
            .expect("a new announcement");
        let websites: Vec<String> = body_of(&renamed)
            .addresses
            .into_iter()
            .filter(|a| SiteAddress::from_address(a).is_some())
            .collect();
        assert_eq!(websites, vec![moved.address()], "the old website is gone");
        let none = naming_site(&renamed, node, None, Timestamp(8))
            .expect("signs")
            .expect("a new announcement");
        assert_eq!(SiteAddress::of(&body_of(&none)), None);
    }
}
