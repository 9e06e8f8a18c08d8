//! Members' e-mail addresses on this node: the address, whether its verification link was
//! opened, the language and topics chosen, the unsubscribe token, and a server's refusal.
//! Keys in the mail tree: `m`‖login → [`MemberMail`], `v`‖token → a pending verification,
//! `u`‖token → login.
//!
//! The verification token is single-use and expires after [`VERIFY_FOR_MS`]; it confirms
//! the address and nothing else. The unsubscribe token only turns e-mails off.

use std::str::FromStr;

use maillon_web_ui::mail::{self as text, AddressOutcome, MailStatus, MailTopic};
use maillon_web_ui::session::Lang;
use serde::{Deserialize, Serialize};

use super::queue::{decode, encode, enqueue_change, MailId, MailState, Outgoing};
use super::{random_token, MailDesk, MailError};
use crate::store::Change;

const MEMBER: u8 = b'm';
const VERIFY: u8 = b'v';
const UNSUBSCRIBE: u8 = b'u';

/// How long a verification link works.
pub const VERIFY_FOR_MS: u64 = 48 * 3600 * 1000;

/// The topics a verified address starts with: all but the daily digest.
pub const DEFAULT_TOPICS: [MailTopic; 5] = [
    MailTopic::Transactions,
    MailTopic::Messages,
    MailTopic::Reminders,
    MailTopic::Sponsorship,
    MailTopic::Moderation,
];

/// One member's e-mail settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMail {
    /// The member's login.
    pub login: String,
    /// The address.
    pub address: String,
    /// Whether the verification link was opened.
    pub verified: bool,
    /// `fr` or `en`.
    pub lang: String,
    /// What they receive.
    pub topics: Vec<MailTopic>,
    /// The token of their unsubscribe link.
    pub unsubscribe: String,
    /// The server's answer, if it refused the address.
    pub refused: Option<String>,
    /// Notices older than this are not sent (the time of verification).
    pub since_ms: u64,
    /// When the last daily digest was made.
    pub digest_ms: u64,
}

impl MemberMail {
    /// The member's language.
    pub fn lang(&self) -> Lang {
        Lang::negotiate(Some(self.lang.as_str()), None)
    }

    /// Whether e-mails about `topic` go out now.
    pub fn wants(&self, topic: MailTopic) -> bool {
        self.verified && self.refused.is_none() && self.topics.contains(&topic)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Verification {
    login: String,
    address: String,
    expires_ms: u64,
}

fn key(space: u8, rest: &str) -> Vec<u8> {
    let mut key = vec![space];
    key.extend_from_slice(rest.as_bytes());
    key
}

impl MailDesk {
    /// A member's settings.
    pub fn member(&self, login: &str) -> Result<Option<MemberMail>, MailError> {
        match self.tree().get(&key(MEMBER, login))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Every member who gave an address.
    pub fn members(&self) -> Result<Vec<MemberMail>, MailError> {
        self.tree()
            .scan_prefix(&[MEMBER])?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(MailError::from))
            .collect()
    }

    /// The change that writes a member's settings.
    pub fn member_change(&self, member: &MemberMail) -> Result<Change, MailError> {
        Ok((key(MEMBER, &member.login), Some(encode(member)?)))
    }

    /// What the account page shows.
    pub fn status(&self, login: &str) -> Result<Option<MailStatus>, MailError> {
        Ok(self.member(login)?.map(|m| MailStatus {
            address: m.address,
            verified: m.verified,
            refused: m.refused,
            topics: m.topics,
        }))
    }

    fn apply(&self, changes: Vec<Change>) -> Result<(), MailError> {
        self.tree().apply(changes)?;
        self.tree().flush()?;
        Ok(())
    }

    /// Keeps a new, unverified address and queues its verification e-mail; an empty one
    /// removes the member's address.
    pub fn set_address(
        &self,
        login: &str,
        address: &str,
        lang: Lang,
    ) -> Result<AddressOutcome, MailError> {
        let old = self.member(login)?;
        let mut changes: Vec<Change> = Vec::new();
        if let Some(old) = &old {
            changes.push((key(UNSUBSCRIBE, &old.unsubscribe), None));
        }
        if address.is_empty() {
            // Forgotten with its messages, sent or not (an erased account leaves nothing).
            changes.push((key(MEMBER, login), None));
            for (id, outgoing) in super::queue::all(self.tree())? {
                if outgoing.login == login {
                    changes.push((id.key(), None));
                }
            }
            changes.extend(self.verifications(|v| v.login == login)?);
            self.apply(changes)?;
            return Ok(AddressOutcome::VerificationQueued);
        }
        if address.len() > 254 || lettre::Address::from_str(address).is_err() {
            return Ok(AddressOutcome::Invalid);
        }
        let now = self.now();
        let member = MemberMail {
            login: login.to_string(),
            address: address.to_string(),
            verified: false,
            lang: lang.code().to_string(),
            topics: old
                .map(|o| o.topics)
                .unwrap_or_else(|| DEFAULT_TOPICS.to_vec()),
            unsubscribe: random_token()?,
            refused: None,
            since_ms: now.0,
            digest_ms: now.0,
        };
        let token = random_token()?;
        let verification = Verification {
            login: login.to_string(),
            address: address.to_string(),
            expires_ms: now.0 + VERIFY_FOR_MS,
        };
        let link = format!("{}/courriel/verifier/{token}", self.settings().site_url);
        let mail = text::verification(lang, self.site_name(), &link);
        let outgoing = Outgoing {
            login: login.to_string(),
            to: address.to_string(),
            subject: mail.subject,
            body: mail.body,
            unsubscribe_url: None,
            attempts: 0,
            state: MailState::Queued,
        };
        changes.push(self.member_change(&member)?);
        changes.push((key(VERIFY, &token), Some(encode(&verification)?)));
        changes.push((
            key(UNSUBSCRIBE, &member.unsubscribe),
            Some(login.as_bytes().to_vec()),
        ));
        changes.push(enqueue_change(MailId::new(now), &outgoing)?);
        self.apply(changes)?;
        Ok(AddressOutcome::VerificationQueued)
    }

    /// Removals of the pending verifications that `matches`.
    fn verifications(
        &self,
        matches: impl Fn(&Verification) -> bool,
    ) -> Result<Vec<Change>, MailError> {
        let mut changes = Vec::new();
        for (token_key, bytes) in self.tree().scan_prefix(&[VERIFY])? {
            let verification: Verification = decode(&bytes)?;
            if matches(&verification) {
                changes.push((token_key, None));
            }
        }
        Ok(changes)
    }

    /// Forgets the verification links that expired unused.
    pub fn prune_verifications(&self) -> Result<(), MailError> {
        let now = self.now();
        let changes = self.verifications(|v| v.expires_ms < now.0)?;
        if !changes.is_empty() {
            self.tree().apply(changes)?;
        }
        Ok(())
    }

    /// Confirms the address of a verification token, once, before it expires.
    pub fn verify(&self, token: &str) -> Result<bool, MailError> {
        let token_key = key(VERIFY, token);
        let Some(bytes) = self.tree().get(&token_key)? else {
            return Ok(false);
        };
        let verification: Verification = decode(&bytes)?;
        let now = self.now();
        let mut changes: Vec<Change> = vec![(token_key, None)];
        let member = self.member(&verification.login)?;
        let valid = now.0 <= verification.expires_ms
            && member
                .as_ref()
                .is_some_and(|m| m.address == verification.address);
        if let (true, Some(mut member)) = (valid, member) {
            member.verified = true;
            member.refused = None;
            member.since_ms = now.0;
            member.digest_ms = now.0;
            changes.push(self.member_change(&member)?);
        }
        self.apply(changes)?;
        Ok(valid)
    }

    /// Turns every e-mail off for the member of an unsubscribe token.
    pub fn unsubscribe(&self, token: &str) -> Result<bool, MailError> {
        let Some(login) = self.tree().get(&key(UNSUBSCRIBE, token))? else {
            return Ok(false);
        };
        let login = String::from_utf8_lossy(&login).into_owned();
        let Some(mut member) = self.member(&login)? else {
            return Ok(false);
        };
        member.topics.clear();
        self.apply(vec![self.member_change(&member)?])?;
        Ok(true)
    }

    /// Sets the topics and language of a member who gave an address.
    pub fn set_topics(
        &self,
        login: &str,
        topics: &[MailTopic],
        lang: Lang,
    ) -> Result<(), MailError> {
        let Some(mut member) = self.member(login)? else {
            return Ok(());
        };
        member.topics = topics.to_vec();
        member.lang = lang.code().to_string();
        self.apply(vec![self.member_change(&member)?])
    }

    /// Marks a member's address as refused by its server, if it is still `address`.
    pub fn refuse(&self, login: &str, address: &str, reason: &str) -> Result<(), MailError> {
        let Some(mut member) = self.member(login)? else {
            return Ok(());
        };
        if member.address != address {
            return Ok(());
        }
        member.refused = Some(reason.chars().take(300).collect());
        self.apply(vec![self.member_change(&member)?])
    }

    /// The unsubscribe link of a member.
    pub fn unsubscribe_url(&self, member: &MemberMail) -> String {
        format!(
            "{}/desabonnement/{}",
            self.settings().site_url,
            member.unsubscribe
        )
    }
}
