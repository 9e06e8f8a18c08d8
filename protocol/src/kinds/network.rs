//! Network-level kinds: the charter, node announcements and node policies.

use super::{header_rules, BodyFields};
use crate::cbor::Value;
use crate::error::DecodeError;
use crate::fields::{put, Fields};
use crate::ids::{NetworkId, PublicKey};
use crate::record::Header;

/// The founders' charter. Its body's hash is the network id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charter {
    /// The network's name, 1..=80 bytes.
    pub name: String,
    /// Founders' keys, 1..=32, strictly ascending.
    pub founders: Vec<PublicKey>,
    /// Moderation council keys, 1..=32, strictly ascending.
    pub council: Vec<PublicKey>,
    /// Council signatures needed to appoint or remove a moderator, 1..=council size.
    pub council_threshold: u64,
    /// Sponsorships a candidate needs by default, 1..=16.
    pub sponsors_required: u64,
    /// Sponsorships a member in good standing may have counted at once, 1..=1000.
    pub sponsor_quota: u64,
    /// Quota lost per strike, 0..=1000.
    pub strike_penalty: u64,
    /// How long a member below the required count keeps probation, in ms.
    pub probation_grace_ms: u64,
    /// How long a listing's author has to answer a transaction, in ms.
    pub answer_deadline_ms: u64,
    /// How far in the future a record's creation time may be, in ms.
    pub max_clock_skew_ms: u64,
    /// Sponsor co-signatures a key recovery needs, 1..=16.
    pub recovery_threshold: u64,
    /// Bumps one node may sign per day, 0..=10000.
    pub bumps_per_node_per_day: u64,
    /// The rules every candidate accepts, 1..=8000 bytes; the first is the duty to answer.
    pub rules: String,
}

impl Charter {
    /// The id of the network this charter founds.
    pub fn network_id(&self) -> NetworkId {
        NetworkId::of_charter_body(&self.to_value().encode())
    }

    /// SHA-256 of the rules text, which a join record carries.
    pub fn rules_hash(&self) -> [u8; 32] {
        crate::ids::sha256(&[self.rules.as_bytes()])
    }
}

impl BodyFields for Charter {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::text(&self.name),
            put::keys(&self.founders),
            put::keys(&self.council),
            put::uint(self.council_threshold),
            put::uint(self.sponsors_required),
            put::uint(self.sponsor_quota),
            put::uint(self.strike_penalty),
            put::uint(self.probation_grace_ms),
            put::uint(self.answer_deadline_ms),
            put::uint(self.max_clock_skew_ms),
            put::uint(self.recovery_threshold),
            put::uint(self.bumps_per_node_per_day),
            put::text(&self.rules),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 13, "charter")?;
        let name = f.text("name", 1, bounds::NAME_MAX_BYTES)?;
        let founders: Vec<PublicKey> = f
            .sorted_keys("founders", bounds::MAX_FOUNDERS)?
            .into_iter()
            .map(PublicKey)
            .collect();
        let council: Vec<PublicKey> = f
            .sorted_keys("council", bounds::MAX_COUNCIL)?
            .into_iter()
            .map(PublicKey)
            .collect();
        if founders.is_empty() {
            return Err(DecodeError::FieldTooShort {
                field: "founders",
                len: 0,
                min: 1,
            });
        }
        if council.is_empty() {
            return Err(DecodeError::FieldTooShort {
                field: "council",
                len: 0,
                min: 1,
            });
        }
        Ok(Charter {
            name,
            founders,
            council_threshold: f.uint_in("council_threshold", 1, council.len() as u64)?,
            council,
            sponsors_required: bounds::SPONSORS_REQUIRED.read(&mut f)?,
            sponsor_quota: bounds::SPONSOR_QUOTA.read(&mut f)?,
            strike_penalty: bounds::STRIKE_PENALTY.read(&mut f)?,
            probation_grace_ms: bounds::PROBATION_GRACE_MS.read(&mut f)?,
            answer_deadline_ms: bounds::ANSWER_DEADLINE_MS.read(&mut f)?,
            max_clock_skew_ms: bounds::MAX_CLOCK_SKEW_MS.read(&mut f)?,
            recovery_threshold: bounds::RECOVERY_THRESHOLD.read(&mut f)?,
            bumps_per_node_per_day: bounds::BUMPS_PER_NODE_PER_DAY.read(&mut f)?,
            rules: f.text("rules", 1, bounds::RULES_MAX_BYTES)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)?;
        if !self.founders.contains(&header.author) {
            return Err(DecodeError::Inconsistent(
                "a charter is signed by one of its founders",
            ));
        }
        if header.network != self.network_id() {
            return Err(DecodeError::Inconsistent(
                "a charter's network id is the hash of its body",
            ));
        }
        Ok(())
    }
}

/// The limits of a charter's fields (docs/PROTOCOL.md, kind 1), shared by decoding and by
/// [`crate::viability`].
pub mod bounds {
    use crate::error::DecodeError;
    use crate::fields::Fields;

    /// A named number's inclusive range.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Bound {
        /// The field's name, as in docs/PROTOCOL.md.
        pub field: &'static str,
        /// The smallest value allowed.
        pub min: u64,
        /// The largest value allowed.
        pub max: u64,
    }

    impl Bound {
        /// Whether `value` is within the bound.
        pub fn contains(&self, value: u64) -> bool {
            (self.min..=self.max).contains(&value)
        }

        pub(crate) fn read(&self, f: &mut Fields<'_>) -> Result<u64, DecodeError> {
            f.uint_in(self.field, self.min, self.max)
        }
    }

    const DAY_MS: u64 = 86_400_000;
    /// Sponsorships a candidate needs by default.
    pub const SPONSORS_REQUIRED: Bound = Bound {
        field: "sponsors_required",
        min: 1,
        max: 16,
    };
    /// Sponsorships a member may have counted at once.
    pub const SPONSOR_QUOTA: Bound = Bound {
        field: "sponsor_quota",
        min: 1,
        max: 1000,
    };
    /// Quota lost per strike.
    pub const STRIKE_PENALTY: Bound = Bound {
        field: "strike_penalty",
        min: 0,
        max: 1000,
    };
    /// Probation's length.
    pub const PROBATION_GRACE_MS: Bound = Bound {
        field: "probation_grace_ms",
        min: 0,
        max: 365 * DAY_MS,
    };
    /// The time to answer a transaction: one hour to thirty days.
    pub const ANSWER_DEADLINE_MS: Bound = Bound {
        field: "answer_deadline_ms",
        min: 3_600_000,
        max: 30 * DAY_MS,
    };
    /// Clock skew allowed.
    pub const MAX_CLOCK_SKEW_MS: Bound = Bound {
        field: "max_clock_skew_ms",
        min: 0,
        max: DAY_MS,
    };
    /// Sponsor co-signatures a key recovery needs.
    pub const RECOVERY_THRESHOLD: Bound = Bound {
        field: "recovery_threshold",
        min: 1,
        max: 16,
    };
    /// Bumps per node per day.
    pub const BUMPS_PER_NODE_PER_DAY: Bound = Bound {
        field: "bumps_per_node_per_day",
        min: 0,
        max: 10_000,
    };
    /// The most founders a charter lists.
    pub const MAX_FOUNDERS: usize = 32;
    /// The most council members a charter lists.
    pub const MAX_COUNCIL: usize = 32;
    /// The network's name, in bytes.
    pub const NAME_MAX_BYTES: usize = 80;
    /// The rules' text, in bytes.
    pub const RULES_MAX_BYTES: usize = 8000;
}

/// Domain tag of the statement an operator signs to vouch for a node key.
pub const NODE_OPERATOR_TAG: &[u8] = b"maillon/node-operator/v1\0";

/// The bytes a member signs to become the operator of `node`.
pub fn node_operator_message(network: &NetworkId, node: &PublicKey) -> Vec<u8> {
    [NODE_OPERATOR_TAG, &network.0, &node.0].concat()
}

/// A node announces itself; the author is the node's key (its libp2p identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAnnouncement {
    /// Display name, 1..=80 bytes, for example "Paroisse Saint-Jean, Valence".
    pub name: String,
    /// Region, 0..=80 bytes.
    pub region: String,
    /// The node's postcode.
    pub postcode: String,
    /// Multiaddresses as text, at most 8, each at most 200 bytes.
    pub addresses: Vec<String>,
    /// The member who operates the node.
    pub operator: PublicKey,
    /// The operator's signature over [`node_operator_message`].
    pub operator_signature: crate::signature::Signature,
}

impl BodyFields for NodeAnnouncement {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::text(&self.name),
            put::text(&self.region),
            put::text(&self.postcode),
            Value::Array(self.addresses.iter().map(|a| put::text(a)).collect()),
            put::key(&self.operator),
            put::bytes(&self.operator_signature.0),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 6, "node_announcement")?;
        Ok(NodeAnnouncement {
            name: f.text("name", 1, 80)?,
            region: f.text("region", 0, 80)?,
            postcode: f.postcode("postcode")?,
            addresses: f.list("addresses", 8, |v| match v {
                Value::Text(t) => {
                    crate::fields::check_text("addresses", t, 1, 200)?;
                    Ok(t.clone())
                }
                _ => Err(DecodeError::Malformed {
                    field: "addresses",
                    expected: "text string",
                }),
            })?,
            operator: f.key("operator")?,
            operator_signature: f.signature("operator_signature")?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)
    }
}

/// How a node treats another node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyLevel {
    /// No restriction (used to lift an earlier policy).
    Normal = 0,
    /// Rate-limit the node's records and bumps.
    Limit = 1,
    /// Ignore the node's new records and refuse it as a peer.
    Suspend = 2,
}

impl PolicyLevel {
    fn from_code(code: u64) -> Option<PolicyLevel> {
        [
            PolicyLevel::Normal,
            PolicyLevel::Limit,
            PolicyLevel::Suspend,
        ]
        .get(code as usize)
        .copied()
    }
}

/// A node's operator states a policy towards another node. Author: the node's key.
/// The newest policy per (author, target) is in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodePolicy {
    /// The node the policy is about.
    pub target: PublicKey,
    /// The policy.
    pub level: PolicyLevel,
    /// Why, 1..=1000 bytes.
    pub reason: String,
}

impl BodyFields for NodePolicy {
    fn to_value(&self) -> Value {
        Value::Array(vec![
            put::key(&self.target),
            put::uint(self.level as u64),
            put::text(&self.reason),
        ])
    }

    fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let mut f = Fields::new(value, 3, "node_policy")?;
        let target = f.key("target")?;
        let code = f.uint_in("level", 0, 2)?;
        Ok(NodePolicy {
            target,
            level: PolicyLevel::from_code(code).ok_or(DecodeError::OutOfRange {
                field: "level",
                value: code as i128,
            })?,
            reason: f.text("reason", 1, 1000)?,
        })
    }

    fn check_header(&self, header: &Header) -> Result<(), DecodeError> {
        header_rules::no_expiry(header)?;
        if self.target == header.author {
            return Err(DecodeError::Inconsistent(
                "a node cannot set a policy on itself",
            ));
        }
        Ok(())
    }
}
