//! Which notices become e-mails. The notices are the site's own
//! (`maillon_web_ui::notifications::collect`, the one source of truth for what a member
//! should know); each one a member chose is queued once: its key, kept as `n`‖hash, is
//! written in the same batch as the queued message. Saved searches go out as one digest a day.

use maillon_protocol::Timestamp;
use maillon_web_ui::backend::Backend;
use maillon_web_ui::mail::{self as text, MailTopic};
use maillon_web_ui::notifications::{collect, Notice, NoticeKind};
use sha2::{Digest, Sha256};

use super::members::MemberMail;
use super::queue::{enqueue_change, MailId, MailState, Outgoing};
use super::{MailDesk, MailError};
use crate::store::Change;

const NOTIFIED: u8 = b'n';
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The key that marks a notice as mailed.
fn notified_key(login: &str, notice: &Notice) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(login.as_bytes());
    hash.update([0]);
    hash.update(format!("{:?}", notice.kind).as_bytes());
    hash.update(notice.link.as_bytes());
    hash.update(notice.at.0.to_be_bytes());
    if let Some(who) = notice.who {
        hash.update(who.0);
    }
    let mut key = vec![NOTIFIED];
    key.extend_from_slice(&hash.finalize());
    key
}

/// Queues the e-mails every member should get now. Returns how many were queued.
pub fn queue_notices<B: Backend>(
    desk: &MailDesk,
    backend: &B,
    now: Timestamp,
) -> Result<usize, MailError> {
    let mut queued = 0;
    for member in desk.members()? {
        if !member.verified || member.refused.is_some() || member.topics.is_empty() {
            continue;
        }
        let Ok(Some(account)) = backend.account(&member.login) else {
            continue;
        };
        let notices = collect(backend, &account, now);
        queued += queue_for_member(desk, backend, &member, &notices, now)?;
    }
    Ok(queued)
}

fn outgoing(desk: &MailDesk, member: &MemberMail, mail: text::MailText) -> Outgoing {
    let unsubscribe = desk.unsubscribe_url(member);
    Outgoing {
        login: member.login.clone(),
        to: member.address.clone(),
        subject: mail.subject,
        body: format!(
            "{}{}",
            mail.body,
            text::footer(member.lang(), &desk.settings().site_url, &unsubscribe)
        ),
        unsubscribe_url: Some(unsubscribe),
        attempts: 0,
        state: MailState::Queued,
    }
}

fn queue_for_member<B: Backend>(
    desk: &MailDesk,
    backend: &B,
    member: &MemberMail,
    notices: &[Notice],
    now: Timestamp,
) -> Result<usize, MailError> {
    let (lang, site, url) = (member.lang(), desk.site_name(), &desk.settings().site_url);
    let mut queued = 0;
    for notice in notices {
        let topic = MailTopic::of(&notice.kind);
        // Only what happened since the address was verified (a reminder's time is its
        // deadline, still to come). The marks are never pruned: the site's notices include
        // old events, which must not be mailed again.
        let recent = notice.at.0 >= member.since_ms;
        if topic == MailTopic::Digest || !member.wants(topic) || !recent {
            continue;
        }
        let marker = notified_key(&member.login, notice);
        if desk.tree().get(&marker)?.is_some() {
            continue;
        }
        let who = notice
            .who
            .and_then(|key| backend.names(&[key]).into_iter().next())
            .map(|(_, name)| name)
            .unwrap_or_else(|| lang.pick("Un membre", "A member").to_string());
        let mail = outgoing(desk, member, text::notice(lang, site, url, notice, &who));
        let changes: Vec<Change> = vec![
            enqueue_change(MailId::new(now), &mail)?,
            (marker, Some(now.0.to_be_bytes().to_vec())),
        ];
        desk.tree().apply(changes)?;
        desk.tree().flush()?;
        queued += 1;
    }
    if member.wants(MailTopic::Digest) && now.0 >= member.digest_ms + DAY_MS {
        queued += queue_digest(desk, member, notices, now)?;
    }
    Ok(queued)
}

/// One digest of the saved searches with listings newer than the last digest; the time of
/// this digest is written in the same batch. Nothing new: nothing is written, and the next
/// round looks again (so the digest goes out as soon as there is something, once a day).
fn queue_digest(
    desk: &MailDesk,
    member: &MemberMail,
    notices: &[Notice],
    now: Timestamp,
) -> Result<usize, MailError> {
    let fresh: Vec<Notice> = notices
        .iter()
        .filter(|n| matches!(n.kind, NoticeKind::SavedSearch { .. }) && n.at.0 > member.digest_ms)
        .cloned()
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    let mut updated = member.clone();
    updated.digest_ms = now.0;
    let mail = text::digest(
        member.lang(),
        desk.site_name(),
        &desk.settings().site_url,
        &fresh,
    );
    desk.tree().apply(vec![
        desk.member_change(&updated)?,
        enqueue_change(MailId::new(now), &outgoing(desk, member, mail))?,
    ])?;
    desk.tree().flush()?;
    Ok(1)
}
