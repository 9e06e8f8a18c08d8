//! What a member should know about, derived from the records on every page view: new
//! transactions, answers, messages, deadlines near, sponsorships received and new matches of
//! saved searches. Nothing is stored but the time the member last looked.

use maillon_protocol::{PublicKey, Timestamp};

use crate::backend::{Account, Backend, SortOrder};

/// A deadline is "near" in its last day.
pub const DEADLINE_NEAR_MS: u64 = 24 * 3600 * 1000;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// Someone opened a transaction on the member's listing.
    NewTransaction,
    /// The author answered the member's transaction.
    Answered,
    /// A new message in a transaction.
    Message,
    /// The member must answer a transaction within a day.
    DeadlineNear,
    /// Someone sponsored the member.
    Sponsored,
    /// New listings match a saved search.
    SavedSearch {
        /// The saved search's label.
        label: String,
        /// How many new listings.
        count: usize,
    },
}

/// One notification.
#[derive(Clone, Debug)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// When.
    pub at: Timestamp,
    /// Who did it, if someone.
    pub who: Option<PublicKey>,
    /// What it is about (a listing title).
    pub about: String,
    /// Where to look.
    pub link: String,
}

/// Every notification of a member, newest first.
pub fn collect<B: Backend>(backend: &B, account: &Account, now: Timestamp) -> Vec<Notice> {
    let me = account.key;
    let mut notices = Vec::new();
    for t in backend.transactions_of(&me) {
        let link = format!("/transaction/{}", t.id.to_hex());
        if t.author == me {
            notices.push(Notice {
                kind: NoticeKind::NewTransaction,
                at: t.opened_at,
                who: Some(t.opener),
                about: t.listing_title.clone(),
                link: link.clone(),
            });
            if t.answered_at.is_none()
                && t.deadline > now
                && t.deadline.0 - now.0 <= DEADLINE_NEAR_MS
            {
                notices.push(Notice {
                    kind: NoticeKind::DeadlineNear,
                    at: t.deadline,
                    who: Some(t.opener),
                    about: t.listing_title.clone(),
                    link: link.clone(),
                });
            }
        } else if let Some(at) = t.answered_at {
            notices.push(Notice {
                kind: NoticeKind::Answered,
                at,
                who: Some(t.author),
                about: t.listing_title.clone(),
                link: link.clone(),
            });
        }
        let answer_at = t.answered_at;
        for m in t.messages.iter().skip(1) {
            if m.from != me && Some(m.at) != answer_at {
                notices.push(Notice {
                    kind: NoticeKind::Message,
                    at: m.at,
                    who: Some(m.from),
                    about: t.listing_title.clone(),
                    link: link.clone(),
                });
            }
        }
    }
    for s in backend.member(&me).sponsorships {
        notices.push(Notice {
            kind: NoticeKind::Sponsored,
            at: s.created,
            who: Some(s.sponsor),
            about: String::new(),
            link: "/candidature".into(),
        });
    }
    for saved in &account.saved_searches {
        let Some(mut query) = crate::routes::search_query_from(backend, &saved.query, Some(&me))
        else {
            continue;
        };
        query.sort = SortOrder::Newest;
        query.page = 0;
        query.per_page = 50;
        let Ok(page) = backend.search(&query) else {
            continue;
        };
        let fresh: Vec<_> = page
            .hits
            .iter()
            .filter(|(l, _)| l.published >= saved.seen_until && l.author != me)
            .collect();
        if let Some((newest, _)) = fresh.first() {
            notices.push(Notice {
                kind: NoticeKind::SavedSearch {
                    label: saved.label.clone(),
                    count: fresh.len(),
                },
                at: newest.published,
                who: None,
                about: saved.label.clone(),
                link: format!("/recherche?{}", saved.query),
            });
        }
    }
    notices.sort_by_key(|n| std::cmp::Reverse(n.at));
    notices
}

/// How many notifications the member has not seen: those newer than their last look, and
/// every deadline near.
pub fn unseen<B: Backend>(backend: &B, account: &Account, now: Timestamp) -> usize {
    collect(backend, account, now)
        .iter()
        .filter(|n| n.kind == NoticeKind::DeadlineNear || n.at > account.notifications_seen)
        .count()
}
