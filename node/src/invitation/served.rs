//! The invitations this node made, kept until they expire so that its site can serve each
//! at `/invitation/<short code>` (docs/PROTOCOL.md 14.6): one text file per invitation,
//! named by its short code and written whole or not at all.

use std::path::PathBuf;

use maillon_protocol::invitation::{ShortCode, SignedInvitation};
use maillon_protocol::Timestamp;

use crate::durable::{is_partial, remove_durably, write_atomically};

/// The folder of served invitations.
#[derive(Debug)]
pub struct ServedInvitations {
    root: PathBuf,
}

impl ServedInvitations {
    /// Opens (and creates) the folder; drops leftovers of interrupted writes.
    pub fn open(root: PathBuf) -> std::io::Result<ServedInvitations> {
        std::fs::create_dir_all(&root)?;
        for entry in std::fs::read_dir(&root)? {
            let path = entry?.path();
            if is_partial(&path) {
                remove_durably(&path)?;
            }
        }
        Ok(ServedInvitations { root })
    }

    fn file(&self, code: &ShortCode) -> PathBuf {
        self.root.join(format!("{code}.txt"))
    }

    /// Keeps an invitation to serve, and forgets the expired ones.
    pub fn keep(&self, invitation: &SignedInvitation, now: Timestamp) -> std::io::Result<()> {
        let mut text = invitation.to_text();
        text.push('\n');
        write_atomically(&self.file(&invitation.short_code()), text.as_bytes())?;
        self.forget_expired(now)
    }

    /// The text form of the invitation with this code, unless it is unknown or expired.
    pub fn text(&self, code: &ShortCode, now: Timestamp) -> std::io::Result<Option<String>> {
        let path = self.file(code);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        if expired(&text, now) {
            remove_durably(&path)?;
            return Ok(None);
        }
        Ok(Some(text))
    }

    /// Removes every expired invitation (and any file that is not one).
    pub fn forget_expired(&self, now: Timestamp) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.root)? {
            let path = entry?.path();
            if is_partial(&path) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if expired(&text, now) {
                remove_durably(&path)?;
            }
        }
        Ok(())
    }
}

/// Whether a kept text is no longer an invitation valid at `now` (damaged files count).
fn expired(text: &str, now: Timestamp) -> bool {
    SignedInvitation::from_text(text, now).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::invitation::Invitation;
    use maillon_protocol::testkit::{self, Signer, DAY, T0};

    fn invitation(days: u64) -> SignedInvitation {
        let founder = testkit::key("founder-a");
        let node = testkit::key("node-a");
        let signer = Signer::new(testkit::charter(&[&founder], &[&founder], 1));
        Invitation {
            charter: signer.charter_record(&founder),
            inviter: signer.announce_node(&node, &founder, "Nœud A", T0),
            addresses: vec!["/ip4/192.0.2.7/tcp/4001".into()],
            created: T0,
            expires: T0.plus_ms(days * DAY),
        }
        .sign(&node)
        .expect("signs")
    }

    #[test]
    fn invitations_are_served_until_they_expire_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("invitations");
        let served = ServedInvitations::open(root.clone()).unwrap();
        let (short, long) = (invitation(1), invitation(5));
        served.keep(&short, T0).unwrap();
        served.keep(&long, T0).unwrap();
        std::fs::write(root.join(".partial-interrupted"), b"MAILL").unwrap();
        let served = ServedInvitations::open(root.clone()).unwrap();
        assert!(!root.join(".partial-interrupted").exists());
        let text = served
            .text(&short.short_code(), T0)
            .unwrap()
            .expect("served");
        assert_eq!(SignedInvitation::from_text(&text, T0).unwrap(), short);
        let unknown = ShortCode::of_bytes(b"nothing");
        assert_eq!(served.text(&unknown, T0).unwrap(), None);
        // Two days on, the short one is gone (and its file with it), the long one served.
        let later = T0.plus_ms(2 * DAY);
        assert_eq!(served.text(&short.short_code(), later).unwrap(), None);
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
        assert!(served.text(&long.short_code(), later).unwrap().is_some());
        served.forget_expired(T0.plus_ms(6 * DAY)).unwrap();
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    }
}
