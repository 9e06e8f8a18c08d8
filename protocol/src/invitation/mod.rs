//! Invitations: what the operator of a running node gives another association so that its
//! new node can join the network (docs/PROTOCOL.md, section 14).
//!
//! An invitation carries the network's charter record, the inviting node's own announcement
//! record, the addresses to bootstrap from and a validity window, and is signed by the
//! inviting node's key. Its bytes are deterministic CBOR; its text form is `MAILLON1`
//! followed by the bytes in RFC 4648 base32, so it can be copied as a code.

use crate::cbor::{CborError, Value};
use crate::error::DecodeError;
use crate::fields::{check_text, put, Fields};
use crate::ids::{NetworkId, PublicKey, Timestamp};
use crate::kinds::{node_operator_message, Body};
use crate::record::Record;
use crate::signature::{verify, SecretKey, Signature, SignatureError};
use thiserror::Error;

mod short_code;
#[cfg(test)]
mod tests;

pub use short_code::{ShortCode, SHORT_CODE_BYTES, SHORT_CODE_TAG};

/// Domain tag of the bytes an inviting node signs.
pub const INVITATION_TAG: &[u8] = b"maillon/invitation/v1\0";
/// The invitation format's version.
pub const INVITATION_VERSION: u64 = 1;
/// The largest invitation accepted, in bytes (two records of at most 20 KiB, 8 addresses).
pub const MAX_INVITATION_BYTES: usize = 48 * 1024;
/// The longest validity window, from creation to expiry: 30 days.
pub const MAX_VALIDITY_MS: u64 = 30 * Timestamp::DAY_MS;
/// Addresses an invitation carries: 1 to this many.
pub const MAX_ADDRESSES: usize = 8;
/// What the text form starts with (not a base32 character, so it cannot be mistaken).
pub const TEXT_PREFIX: &str = "MAILLON1";
/// Characters per line of the text form.
const TEXT_LINE: usize = 64;

/// Why bytes or a text code are not an acceptable invitation.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InvitationError {
    /// Larger than [`MAX_INVITATION_BYTES`].
    #[error("the invitation is {0} bytes, more than the {MAX_INVITATION_BYTES} allowed")]
    TooLarge(usize),
    /// The text does not start with `MAILLON1` or is not base32.
    #[error("this is not an invitation code (it must start with {TEXT_PREFIX})")]
    UnreadableText,
    /// The bytes are not a well-formed invitation.
    #[error("the invitation is damaged: {0}")]
    Decode(DecodeError),
    /// A format version this implementation does not know.
    #[error("invitation format version {0} is not supported")]
    UnknownVersion(u64),
    /// The charter record is not a valid, founder-signed charter.
    #[error("the invitation's charter is not valid: {0}")]
    BadCharter(String),
    /// The inviting node's announcement is not valid.
    #[error("the inviting node's announcement is not valid: {0}")]
    BadInviter(String),
    /// The charter, the announcement or the signature belong to different networks.
    #[error("the invitation mixes networks: it names {stated} but {part} belongs to {found}")]
    OtherNetwork {
        /// The network the invitation names.
        stated: NetworkId,
        /// Which part disagrees.
        part: &'static str,
        /// That part's network.
        found: NetworkId,
    },
    /// The inviting node's signature does not verify: the invitation was altered.
    #[error("the invitation's signature does not verify (it was altered): {0}")]
    BadSignature(SignatureError),
    /// The expiry is not after the creation, or too far after it.
    #[error("the invitation's validity must be more than 0 and at most 30 days")]
    BadValidity,
    /// The invitation expired.
    #[error("the invitation expired at {} ms since 1970; ask for a new one", .0.0)]
    Expired(Timestamp),
    /// The invitation was created further in the future than the charter's clock skew.
    #[error("the invitation is dated in the future ({} ms since 1970): check the clock", .0.0)]
    NotYetValid(Timestamp),
    /// A short code is not 16 base32 characters.
    #[error(
        "this is not an invitation short code (16 letters and digits, like ABCD-EFGH-IJKL-MNOP)"
    )]
    UnreadableCode,
    /// An invitation fetched from a link is not the one its short code was made from.
    #[error(
        "the invitation fetched does not match its short code: it was altered or the link is wrong"
    )]
    CodeMismatch,
}

impl InvitationError {
    /// A stable code, as the test vectors use.
    pub fn code(&self) -> &'static str {
        match self {
            InvitationError::TooLarge(_) => "too_large",
            InvitationError::UnreadableText => "unreadable_text",
            InvitationError::Decode(_) => "malformed",
            InvitationError::UnknownVersion(_) => "unknown_version",
            InvitationError::BadCharter(_) => "bad_charter",
            InvitationError::BadInviter(_) => "bad_inviter",
            InvitationError::OtherNetwork { .. } => "other_network",
            InvitationError::BadSignature(_) => "bad_signature",
            InvitationError::BadValidity => "bad_validity",
            InvitationError::Expired(_) => "expired",
            InvitationError::NotYetValid(_) => "not_yet_valid",
            InvitationError::UnreadableCode => "unreadable_code",
            InvitationError::CodeMismatch => "code_mismatch",
        }
    }
}

impl From<DecodeError> for InvitationError {
    fn from(error: DecodeError) -> Self {
        InvitationError::Decode(error)
    }
}

/// An invitation's contents, before or after signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The network's charter record (kind 1).
    pub charter: Record,
    /// The inviting node's announcement (kind 2), signed by the inviting node's key.
    pub inviter: Record,
    /// Multiaddresses to bootstrap from, 1..=8, each 1..=200 bytes.
    pub addresses: Vec<String>,
    /// When the invitation was made.
    pub created: Timestamp,
    /// When it stops being accepted.
    pub expires: Timestamp,
}

/// An invitation with the inviting node's signature, read or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedInvitation {
    invitation: Invitation,
    signature: Signature,
}

impl Invitation {
    /// The network id: the charter's.
    pub fn network(&self) -> NetworkId {
        self.charter.header().network
    }

    /// The inviting node's key: the author of its announcement.
    pub fn inviter_key(&self) -> PublicKey {
        self.inviter.header().author
    }

    /// The body: `[version, network, charter wire, announcement wire, addresses, created,
    /// expires]` in deterministic CBOR.
    pub fn body_bytes(&self) -> Vec<u8> {
        Value::Array(vec![
            put::uint(INVITATION_VERSION),
            put::bytes(&self.network().0),
            put::bytes(&self.charter.to_wire()),
            put::bytes(&self.inviter.to_wire()),
            Value::Array(self.addresses.iter().map(|a| put::text(a)).collect()),
            put::uint(self.created.0),
            put::uint(self.expires.0),
        ])
        .encode()
    }

    /// What the inviting node signs: `INVITATION_TAG ‖ network id ‖ body bytes`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        [INVITATION_TAG, &self.network().0, &self.body_bytes()].concat()
    }

    /// Signs with the inviting node's key, after checking every rule a reader checks but
    /// the clock. `node` must be the announcement's author.
    pub fn sign(self, node: &SecretKey) -> Result<SignedInvitation, InvitationError> {
        self.check_contents()?;
        if node.public_key() != self.inviter_key() {
            return Err(InvitationError::BadInviter(
                "the invitation is signed by another key than the announced node's".into(),
            ));
        }
        let signature = node.sign(&self.signing_bytes());
        Ok(SignedInvitation {
            invitation: self,
            signature,
        })
    }

    /// Every rule that needs neither the signature nor the clock.
    fn check_contents(&self) -> Result<(), InvitationError> {
        let charter_error = |e: &dyn std::fmt::Display| InvitationError::BadCharter(e.to_string());
        self.charter.verify().map_err(|e| charter_error(&e))?;
        let Some(Body::Charter(_)) = self.charter.body() else {
            return Err(charter_error(&"it is not a charter record"));
        };
        let stated = self.network();
        let found = self.inviter.header().network;
        if found != stated {
            return Err(InvitationError::OtherNetwork {
                stated,
                part: "the inviting node's announcement",
                found,
            });
        }
        let inviter_error = |e: &dyn std::fmt::Display| InvitationError::BadInviter(e.to_string());
        self.inviter.verify().map_err(|e| inviter_error(&e))?;
        let Some(Body::NodeAnnouncement(announcement)) = self.inviter.body() else {
            return Err(inviter_error(&"it is not a node announcement"));
        };
        let message = node_operator_message(&stated, &self.inviter_key());
        verify(
            &announcement.operator,
            &message,
            &announcement.operator_signature,
        )
        .map_err(|e| inviter_error(&format!("its operator's signature: {e}")))?;
        if self.addresses.is_empty() || self.addresses.len() > MAX_ADDRESSES {
            return Err(DecodeError::TooMany {
                field: "addresses",
                count: self.addresses.len(),
                max: MAX_ADDRESSES,
            }
            .into());
        }
        for address in &self.addresses {
            check_text("addresses", address, 1, 200)?;
        }
        let window = self.expires.0.checked_sub(self.created.0);
        if window.is_none_or(|ms| ms == 0 || ms > MAX_VALIDITY_MS) {
            return Err(InvitationError::BadValidity);
        }
        Ok(())
    }
}

impl SignedInvitation {
    /// The contents.
    pub fn invitation(&self) -> &Invitation {
        &self.invitation
    }

    /// The inviting node's signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The wire form: `[body bytes as a byte string, signature]` in deterministic CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        Value::Array(vec![
            put::bytes(&self.invitation.body_bytes()),
            put::bytes(&self.signature.0),
        ])
        .encode()
    }

    /// The text form: [`TEXT_PREFIX`] then base32 (RFC 4648, no padding), in lines of 64.
    pub fn to_text(&self) -> String {
        let code = format!(
            "{TEXT_PREFIX}{}",
            data_encoding::BASE32_NOPAD.encode(&self.to_bytes())
        );
        let lines: Vec<&str> = code
            .as_bytes()
            .chunks(TEXT_LINE)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        lines.join("\n")
    }

    /// Reads the text form; spaces, line breaks and letter case are ignored.
    pub fn from_text(text: &str, now: Timestamp) -> Result<SignedInvitation, InvitationError> {
        SignedInvitation::from_bytes(&text_bytes(text)?, now)
    }

    /// Reads and checks the wire form at time `now` (docs/PROTOCOL.md 14.3 gives the order).
    pub fn from_bytes(bytes: &[u8], now: Timestamp) -> Result<SignedInvitation, InvitationError> {
        let read = SignedInvitation::decode(bytes)?;
        let invitation = &read.invitation;
        verify(
            &invitation.inviter_key(),
            &invitation.signing_bytes(),
            &read.signature,
        )
        .map_err(InvitationError::BadSignature)?;
        if now >= invitation.expires {
            return Err(InvitationError::Expired(invitation.expires));
        }
        let skew = match invitation.charter.body() {
            Some(Body::Charter(charter)) => charter.max_clock_skew_ms,
            _ => 0,
        };
        if invitation.created > now.plus_ms(skew) {
            return Err(InvitationError::NotYetValid(invitation.created));
        }
        Ok(read)
    }

    /// Decodes and checks everything but the signature and the clock.
    fn decode(bytes: &[u8]) -> Result<SignedInvitation, InvitationError> {
        if bytes.len() > MAX_INVITATION_BYTES {
            return Err(InvitationError::TooLarge(bytes.len()));
        }
        let outer = canonical(bytes, "invitation")?;
        let mut f = Fields::new(&outer, 2, "invitation")?;
        let body_bytes = f.byte_string("body")?;
        let signature = f.signature("signature")?;
        let body = canonical(body_bytes, "invitation body")?;
        let mut f = Fields::new(&body, 7, "invitation body")?;
        let version = f.uint("version")?;
        if version != INVITATION_VERSION {
            return Err(InvitationError::UnknownVersion(version));
        }
        let stated = NetworkId(f.bytes32("network")?);
        let charter = Record::decode_any_network(f.byte_string("charter")?)
            .map_err(|e| InvitationError::BadCharter(e.to_string()))?;
        if charter.header().network != stated {
            return Err(InvitationError::OtherNetwork {
                stated,
                part: "the charter",
                found: charter.header().network,
            });
        }
        let inviter = Record::decode_any_network(f.byte_string("inviter")?)
            .map_err(|e| InvitationError::BadInviter(e.to_string()))?;
        let addresses = f.list("addresses", MAX_ADDRESSES, |v| match v {
            Value::Text(t) => Ok(t.clone()),
            _ => Err(DecodeError::Malformed {
                field: "addresses",
                expected: "text string",
            }),
        })?;
        let invitation = Invitation {
            charter,
            inviter,
            addresses,
            created: Timestamp(f.uint("created")?),
            expires: Timestamp(f.uint("expires")?),
        };
        invitation.check_contents()?;
        Ok(SignedInvitation {
            invitation,
            signature,
        })
    }
}

/// The bytes of a text form (section 14.1, step 1 of 14.3).
fn text_bytes(text: &str) -> Result<Vec<u8>, InvitationError> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let encoded = compact
        .strip_prefix(TEXT_PREFIX)
        .ok_or(InvitationError::UnreadableText)?;
    if encoded.len() > MAX_INVITATION_BYTES * 8 / 5 + 8 {
        return Err(InvitationError::TooLarge(encoded.len() * 5 / 8));
    }
    data_encoding::BASE32_NOPAD
        .decode(encoded.as_bytes())
        .map_err(|_| InvitationError::UnreadableText)
}

/// Decodes one CBOR item and refuses it unless it is in deterministic form.
fn canonical(bytes: &[u8], part: &'static str) -> Result<Value, InvitationError> {
    let value = Value::decode(bytes).map_err(|e| match e {
        CborError::TrailingBytes(n) => DecodeError::TrailingBytes(n),
        other => DecodeError::Cbor(other),
    })?;
    if value.encode() != bytes {
        return Err(DecodeError::NonCanonical { part }.into());
    }
    Ok(value)
}
