//! The founding draft: the charter's numbers and rules chosen at `maillon init`, the
//! founding code's hash, and the founders as they register and approve. One JSON file,
//! written to a temporary file, synced and renamed.

use std::path::{Path, PathBuf};

use maillon_protocol::kinds::{Body, Charter, Position};
use maillon_protocol::viability::{self, CharterShape, Unviable};
use maillon_protocol::{PublicKey, Record};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The draft's file name, in the data folder, while the node is being founded.
pub const DRAFT_FILE: &str = "founding.json";
/// The founders' signed profiles, in the data folder, submitted at the first start.
pub const RECORDS_FILE: &str = "founding-records.bin";

/// The rules proposed when the team brings none (`--rules-file`).
pub const DEFAULT_RULES: &str = "\
1. Je réponds à toute personne qui ouvre une transaction avec moi, dans le délai de la charte.
2. Je ne parraine que des personnes que je connais dans la vraie vie, et je dis comment.
3. Je publie des annonces honnêtes : ce que je propose existe, au prix annoncé.
4. Je règle les différends avec courtoisie ; la modération du réseau tranche.
5. Je sais que si une personne que j'ai parrainée est exclue, je perds une part de ma capacité à parrainer.";

const DAY_MS: u64 = 86_400_000;

/// Why the draft could not be read, written or used.
#[derive(Debug, Error)]
pub enum DraftError {
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a draft.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The charter's numbers, as the founding team chose them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbers {
    /// Sponsorships a candidate needs.
    pub sponsors_required: u64,
    /// Sponsorships a member may have counted at once.
    pub sponsor_quota: u64,
    /// Sponsor co-signatures a key recovery needs.
    pub recovery_threshold: u64,
    /// Council signatures an appointment needs.
    pub council_threshold: u64,
    /// The time to answer a transaction, in ms.
    pub answer_deadline_ms: u64,
    /// Probation's length, in ms.
    pub probation_grace_ms: u64,
    /// Quota lost per strike.
    pub strike_penalty: u64,
    /// Clock skew allowed, in ms.
    pub max_clock_skew_ms: u64,
    /// Bumps one node may sign per day.
    pub bumps_per_node_per_day: u64,
}

impl Default for Numbers {
    /// The defaults docs/OPERATIONS.md documents.
    fn default() -> Self {
        Numbers {
            sponsors_required: 3,
            sponsor_quota: 20,
            recovery_threshold: 3,
            council_threshold: 2,
            answer_deadline_ms: 7 * DAY_MS,
            probation_grace_ms: 30 * DAY_MS,
            strike_penalty: 5,
            max_clock_skew_ms: 300_000,
            bumps_per_node_per_day: 20,
        }
    }
}

impl Numbers {
    /// The shape of a charter with these numbers, `founders` founders and `council` of them
    /// on the council.
    pub fn shape(&self, founders: usize, council: usize) -> CharterShape {
        CharterShape {
            founders,
            council,
            council_threshold: self.council_threshold,
            sponsors_required: self.sponsors_required,
            sponsor_quota: self.sponsor_quota,
            strike_penalty: self.strike_penalty,
            probation_grace_ms: self.probation_grace_ms,
            answer_deadline_ms: self.answer_deadline_ms,
            max_clock_skew_ms: self.max_clock_skew_ms,
            recovery_threshold: self.recovery_threshold,
            bumps_per_node_per_day: self.bumps_per_node_per_day,
        }
    }

    /// Every reason a team of `founders`, all on the council, could not found a working
    /// network with these numbers.
    pub fn problems_for_team(&self, founders: usize) -> Vec<Unviable> {
        viability::check_shape(&self.shape(founders, founders))
    }
}

/// A founder in the draft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftFounder {
    /// Their login on this node.
    pub login: String,
    /// Their profile's name.
    pub display_name: String,
    /// Their town.
    pub town: String,
    /// Their postcode.
    pub postcode: String,
    /// Their town's latitude, microdegrees.
    pub lat_microdeg: i64,
    /// Their town's longitude, microdegrees.
    pub lon_microdeg: i64,
    /// Their public key, hex.
    pub key: String,
    /// Whether they sit on the council.
    pub council: bool,
    /// Their approval: their profile signed for the network of the draft they approved,
    /// as wire bytes in hex.
    pub approval: Option<String>,
}

impl DraftFounder {
    /// The founder's key.
    pub fn public_key(&self) -> Option<PublicKey> {
        PublicKey::from_hex(&self.key).ok()
    }

    /// The founder's position.
    pub fn position(&self) -> Position {
        Position {
            lat_microdeg: self.lat_microdeg,
            lon_microdeg: self.lon_microdeg,
        }
    }

    /// Their approval, if it is a profile they signed for `charter`'s network.
    pub fn approval_for(&self, charter: &Charter) -> Option<Record> {
        let bytes = hex::decode(self.approval.as_ref()?).ok()?;
        let record = Record::decode(&bytes, &charter.network_id()).ok()?;
        record.verify().ok()?;
        let is_profile = matches!(record.body(), Some(Body::Profile(_)));
        (is_profile && Some(record.header().author) == self.public_key()).then_some(record)
    }
}

/// The founding draft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The network's name.
    pub network_name: String,
    /// The node's postcode, for its announcement.
    pub postcode: String,
    /// How many founders the team planned.
    pub expected_founders: usize,
    /// The numbers.
    pub numbers: Numbers,
    /// The rules every member accepts.
    pub rules: String,
    /// SHA-256 of the normalised founding code, hex.
    pub code_hash: String,
    /// The founders, in the order they registered.
    pub founders: Vec<DraftFounder>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DraftError + '_ {
    move |source| DraftError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub use crate::durable::write_atomically;

impl Draft {
    /// Reads the draft of the data folder `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Draft, DraftError> {
        let path = data_dir.join(DRAFT_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| DraftError::Damaged {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes the draft into the data folder `data_dir`.
    pub fn save(&self, data_dir: &Path) -> Result<(), DraftError> {
        let path = data_dir.join(DRAFT_FILE);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| DraftError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomically(&path, &bytes).map_err(io(&path))
    }

    /// The charter the founders would sign now.
    pub fn charter(&self) -> Charter {
        let keys = |on_council: bool| {
            let mut keys: Vec<PublicKey> = self
                .founders
                .iter()
                .filter(|f| f.council || !on_council)
                .filter_map(DraftFounder::public_key)
                .collect();
            keys.sort();
            keys.dedup();
            keys
        };
        let n = &self.numbers;
        Charter {
            name: self.network_name.clone(),
            founders: keys(false),
            council: keys(true),
            council_threshold: n.council_threshold,
            sponsors_required: n.sponsors_required,
            sponsor_quota: n.sponsor_quota,
            strike_penalty: n.strike_penalty,
            probation_grace_ms: n.probation_grace_ms,
            answer_deadline_ms: n.answer_deadline_ms,
            max_clock_skew_ms: n.max_clock_skew_ms,
            recovery_threshold: n.recovery_threshold,
            bumps_per_node_per_day: n.bumps_per_node_per_day,
            rules: self.rules.clone(),
        }
    }

    /// Whether `code`, as typed, is the founding code.
    pub fn code_matches(&self, code: &str) -> bool {
        hash_code(code) == self.code_hash
    }
}

/// A founding code as typed: letters and digits only, upper case, look-alikes mapped.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            'U' => 'V',
            other => other,
        })
        .collect()
}

/// The hash of a founding code, as stored.
pub fn hash_code(code: &str) -> String {
    hex::encode(maillon_protocol::ids::sha256(&[
        b"maillon/founding-code/v1\0",
        normalise_code(code).as_bytes(),
    ]))
}

/// A founding code from 60 random bits: 12 characters of Crockford's base 32, in three
/// groups ("7K2M-Q9XD-R4TB").
pub fn code_from(random: [u8; 8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = u64::from_be_bytes(random);
    let mut code = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(ALPHABET[((bits >> (5 * i)) & 31) as usize] as char);
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_as_typed_with_look_alikes_and_no_dashes() {
        let code = code_from([7, 1, 2, 3, 250, 9, 77, 4]);
        assert_eq!(code.len(), 14);
        let draft_hash = hash_code(&code);
        let typed = code.replace('-', " ").to_lowercase().replace('0', "o");
        assert_eq!(hash_code(&typed), draft_hash);
        assert_ne!(hash_code("AAAA-AAAA-AAAA"), draft_hash);
    }

    #[test]
    fn the_default_numbers_suit_a_team_of_three_but_not_of_two() {
        assert_eq!(Numbers::default().problems_for_team(3), vec![]);
        assert_eq!(
            Numbers::default().problems_for_team(2),
            vec![Unviable::TooFewFounders {
                founders: 2,
                sponsors_required: 3
            }]
        );
    }
}
