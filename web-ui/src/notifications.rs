//! What a member should know about, derived from the records on every page view: new
//! transactions, answers, messages, deadlines near, sponsorships received and new matches of
//! saved searches. Nothing is stored but the time the member last looked.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// A member the viewer sponsored was expelled: the viewer gets a strike and a lower
    /// sponsoring quota.
    SponseeExpelled,
    /// A sponsor of the viewer was expelled: the viewer may need new sponsors.
    SponsorExpelled,
    /// A moderator warned the viewer (the reason is `about`).
    Warned,
    /// A moderator acted on one of the viewer's complaints (`about` says how).
    ComplaintUpdate,
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
    moderation_notices(backend, &me, &mut notices);
    for saved in &account.saved_searches {
        let Some(mut query) =
            crate::search_form::search_query_from(backend, &saved.query, Some(&me))
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

/// What moderation did that concerns the member: expulsions of their sponsees (strikes) and
/// sponsors (probation), warnings, and actions on their complaints.
fn moderation_notices<B: Backend>(backend: &B, me: &PublicKey, notices: &mut Vec<Notice>) {
    use maillon_protocol::kinds::LabelAction;
    let moderation = backend.moderation();
    let mine = backend.member(me);
    let my_keys = [*me, mine.identity];
    let my_complaints: std::collections::HashSet<_> = moderation
        .complaints()
        .filter(|(_, (_, author, _))| my_keys.contains(author))
        .map(|(id, _)| *id)
        .collect();
    for entry in moderation.log().iter().filter(|e| e.retracted.is_none()) {
        let target = PublicKey(entry.body.target);
        let notice =
            |kind: NoticeKind, who: Option<PublicKey>, about: String, link: String| Notice {
                kind,
                at: entry.at,
                who,
                about,
                link,
            };
        if entry
            .body
            .complaint
            .is_some_and(|c| my_complaints.contains(&c))
        {
            notices.push(notice(
                NoticeKind::ComplaintUpdate,
                None,
                entry.body.reason.clone(),
                "/signalements".into(),
            ));
        }
        match entry.body.action {
            LabelAction::WarnMember if my_keys.contains(&target) => notices.push(notice(
                NoticeKind::Warned,
                None,
                entry.body.reason.clone(),
                "/moderation/journal".into(),
            )),
            LabelAction::ExpelMember => {
                let expelled = backend.member(&target);
                if expelled
                    .sponsorships
                    .iter()
                    .any(|s| my_keys.contains(&s.sponsor))
                {
                    notices.push(notice(
                        NoticeKind::SponseeExpelled,
                        Some(target),
                        entry.body.reason.clone(),
                        format!("/membre/{}", target.to_hex()),
                    ));
                }
                if mine
                    .sponsorships
                    .iter()
                    .any(|s| s.sponsor == target || s.sponsor == expelled.identity)
                {
                    notices.push(notice(
                        NoticeKind::SponsorExpelled,
                        Some(target),
                        entry.body.reason.clone(),
                        "/candidature".into(),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// How many notifications the member has not seen: those newer than their last look, and
/// every deadline near.
pub fn unseen<B: Backend>(backend: &B, account: &Account, now: Timestamp) -> usize {
    collect(backend, account, now)
        .iter()
        .filter(|n| n.kind == NoticeKind::DeadlineNear || n.at > account.notifications_seen)
        .count()
}

/// How long a header count may be reused: the notifications page itself always counts anew.
pub const COUNT_FRESH_FOR: Duration = Duration::from_secs(15);

/// Unseen counts for the page header, per login, reused for [`COUNT_FRESH_FOR`] while the
/// account's notification state (last look, saved searches) is unchanged. Counting runs
/// saved searches through the index, which is too much for every page view.
pub struct CountCache {
    entries: Mutex<HashMap<String, CachedCount>>,
    capacity: usize,
    fresh_for: Duration,
}

struct CachedCount {
    at: Instant,
    state: u64,
    count: usize,
}

impl CountCache {
    /// At most `capacity` logins, each count reused for `fresh_for`.
    pub fn new(capacity: usize, fresh_for: Duration) -> CountCache {
        CountCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            fresh_for,
        }
    }

    /// The member's unseen count, reused if fresh, else computed by `count` (outside the
    /// lock) and kept.
    pub fn get_or_count(&self, account: &Account, count: impl FnOnce() -> usize) -> usize {
        let state = notification_state(account);
        let now = Instant::now();
        if let Some(hit) = self.lock().get(&account.login) {
            if hit.state == state && now.duration_since(hit.at) < self.fresh_for {
                return hit.count;
            }
        }
        let counted = count();
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            let fresh_for = self.fresh_for;
            entries.retain(|_, e| now.duration_since(e.at) < fresh_for);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            account.login.clone(),
            CachedCount {
                at: now,
                state,
                count: counted,
            },
        );
        counted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedCount>> {
        // Plain counts: a panic elsewhere leaves nothing inconsistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A digest of what the member changes about their notifications.
fn notification_state(account: &Account) -> u64 {
    let mut hasher = DefaultHasher::new();
    account.notifications_seen.0.hash(&mut hasher);
    for saved in &account.saved_searches {
        saved.query.hash(&mut hasher);
        saved.seen_until.0.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn account(seen: u64) -> Account {
        Account {
            login: "marie".into(),
            key: maillon_protocol::testkit::key("marie").public_key(),
            sealed_key: crate::keys::seal(
                &maillon_protocol::testkit::key("marie"),
                "une phrase assez longue",
                crate::keys::KdfParams::FOR_TESTS,
            )
            .unwrap(),
            created: Timestamp(0),
            notifications_seen: Timestamp(seen),
            saved_searches: Vec::new(),
            pending_recovery: None,
            donation_reminder_dismissed_ms: 0,
        }
    }

    #[test]
    fn a_count_is_reused_until_stale_or_until_the_member_looks() {
        let cache = CountCache::new(10, Duration::from_secs(60));
        let runs = Cell::new(0);
        let count = |n: usize| {
            runs.set(runs.get() + 1);
            n
        };
        assert_eq!(cache.get_or_count(&account(1), || count(3)), 3);
        assert_eq!(cache.get_or_count(&account(1), || count(9)), 3);
        assert_eq!(runs.get(), 1);
        assert_eq!(cache.get_or_count(&account(2), || count(0)), 0, "looked");
        assert_eq!(runs.get(), 2);

        let stale = CountCache::new(10, Duration::ZERO);
        assert_eq!(stale.get_or_count(&account(1), || count(4)), 4);
        assert_eq!(stale.get_or_count(&account(1), || count(5)), 5);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = CountCache::new(2, Duration::from_secs(60));
        for login in ["a", "b", "c", "d"] {
            let mut a = account(1);
            a.login = login.into();
            cache.get_or_count(&a, || 1);
        }
        assert!(cache.lock().len() <= 2);
    }
}
