//! An invitation's short code (docs/PROTOCOL.md 14.6): 80 bits of a hash of its bytes,
//! which a person can read out or type, and which authenticates an invitation fetched from
//! a link.

use std::fmt;

use super::{InvitationError, SignedInvitation};
use crate::ids::{sha256, Timestamp};

/// Domain tag of the hash a short code is cut from.
pub const SHORT_CODE_TAG: &[u8] = b"maillon/invitation-code/v1\0";
/// Bytes of the hash a short code keeps: 80 bits, 16 base32 characters.
pub const SHORT_CODE_BYTES: usize = 10;
/// Characters per group of the written form.
const GROUP: usize = 4;

/// The short code of an invitation's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShortCode([u8; SHORT_CODE_BYTES]);

impl ShortCode {
    /// The code of an invitation's wire bytes (section 14.1).
    pub fn of_bytes(bytes: &[u8]) -> ShortCode {
        let digest = sha256(&[SHORT_CODE_TAG, bytes]);
        let mut code = [0u8; SHORT_CODE_BYTES];
        code.copy_from_slice(&digest[..SHORT_CODE_BYTES]);
        ShortCode(code)
    }

    /// Reads a written code: 16 base32 characters; dashes, white space and case are ignored.
    pub fn parse(text: &str) -> Result<ShortCode, InvitationError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(compact.as_bytes())
            .map_err(|_| InvitationError::UnreadableCode)?;
        let code: [u8; SHORT_CODE_BYTES] = bytes
            .try_into()
            .map_err(|_| InvitationError::UnreadableCode)?;
        Ok(ShortCode(code))
    }
}

/// The written form: four groups of four base32 characters joined by `-`.
impl fmt::Display for ShortCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = data_encoding::BASE32_NOPAD.encode(&self.0);
        for (index, group) in text.as_bytes().chunks(GROUP).enumerate() {
            if index > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl SignedInvitation {
    /// This invitation's short code: of its wire bytes.
    pub fn short_code(&self) -> ShortCode {
        ShortCode::of_bytes(&self.to_bytes())
    }

    /// Reads the text form fetched from a link that named `expected`: refused with
    /// `code_mismatch` unless the bytes are the ones the code was made from, then read as
    /// [`SignedInvitation::from_text`] reads.
    pub fn from_text_with_code(
        text: &str,
        expected: ShortCode,
        now: Timestamp,
    ) -> Result<SignedInvitation, InvitationError> {
        let bytes = super::text_bytes(text)?;
        if ShortCode::of_bytes(&bytes) != expected {
            return Err(InvitationError::CodeMismatch);
        }
        SignedInvitation::from_bytes(&bytes, now)
    }
}
