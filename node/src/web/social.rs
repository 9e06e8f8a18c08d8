//! The social index: profiles, candidates' codes, sponsorships received, listings' current
//! versions, bumps and transactions, kept in memory from the records so that pages never scan
//! the store. Rebuilt from the store at start, then fed by the engine's stored events.

use std::collections::HashMap;

use maillon_protocol::kinds::{Listing, Profile};
use maillon_protocol::{Body, Kind, PublicKey, Record, RecordId, Timestamp};
use maillon_web_ui::backend::{
    CloseView, ListingView, MessageView, Review, SponsorshipView, TransactionView,
};
use maillon_web_ui::keys::sponsor_code;

use crate::bump_book::BumpBook;

/// Every kind the social index reads.
pub const KINDS: &[Kind] = &[
    Kind::Profile,
    Kind::Join,
    Kind::Sponsorship,
    Kind::SponsorshipWithdrawal,
    Kind::Listing,
    Kind::ListingTombstone,
    Kind::Bump,
    Kind::TransactionOpen,
    Kind::TransactionAnswer,
    Kind::TransactionMessage,
    Kind::TransactionClose,
];

/// The social index.
#[derive(Debug, Default)]
pub struct SocialIndex {
    profiles: HashMap<PublicKey, (Timestamp, Profile)>,
    codes: HashMap<String, PublicKey>,
    sponsorships: HashMap<PublicKey, Vec<SponsorshipView>>,
    sponsorship_candidate: HashMap<RecordId, PublicKey>,
    listings: HashMap<RecordId, ListingView>,
    listings_by_author: HashMap<PublicKey, Vec<RecordId>>,
    transactions: HashMap<RecordId, TransactionView>,
    transactions_by_member: HashMap<PublicKey, Vec<RecordId>>,
    answer_deadline_ms: u64,
    bumps: BumpBook,
}

impl SocialIndex {
    /// An empty index for a network whose charter gives this answer deadline.
    pub fn new(answer_deadline_ms: u64) -> SocialIndex {
        SocialIndex {
            answer_deadline_ms,
            ..SocialIndex::default()
        }
    }

    /// The same index, for a charter allowing `per_day` effective bumps per node per day.
    pub fn with_bumps_per_node_per_day(self, per_day: u64) -> SocialIndex {
        SocialIndex {
            bumps: BumpBook::new(per_day),
            ..self
        }
    }

    /// The newest effective bump of a listing in force at `now`, signed by a node that
    /// `announced` accepts: when it was signed and when it ends.
    pub fn bump_in_force(
        &self,
        series: &RecordId,
        now: Timestamp,
        announced: impl Fn(&PublicKey) -> bool,
    ) -> Option<(Timestamp, Timestamp)> {
        self.bumps.in_force(series, now, announced)
    }

    /// Applies one record. Records must come in an order where refs come first (the store's
    /// creation order at start, the ingest order after).
    pub fn apply(&mut self, record: &Record) {
        let Some(body) = record.body() else {
            return;
        };
        let header = record.header();
        let (author, at) = (header.author, header.created);
        match body {
            Body::Profile(profile) => {
                let newer = self.profiles.get(&author).is_none_or(|(t, _)| *t <= at);
                if newer {
                    self.profiles.insert(author, (at, profile.clone()));
                }
            }
            Body::Join(_) => {
                self.codes.insert(sponsor_code(&author), author);
            }
            Body::Sponsorship(s) => {
                if self
                    .sponsorship_candidate
                    .insert(record.id(), s.candidate)
                    .is_some()
                {
                    return;
                }
                self.sponsorships
                    .entry(s.candidate)
                    .or_default()
                    .push(SponsorshipView {
                        id: record.id(),
                        sponsor: author,
                        relation: s.relation,
                        created: at,
                    });
            }
            Body::SponsorshipWithdrawal(w) => {
                if let Some(candidate) = self.sponsorship_candidate.get(&w.sponsorship) {
                    if let Some(list) = self.sponsorships.get_mut(candidate) {
                        list.retain(|s| s.id != w.sponsorship);
                    }
                }
            }
            Body::Listing(listing) => self.apply_listing(record, listing),
            Body::ListingTombstone(t) => {
                if let Some(view) = self.listings.get_mut(&t.series) {
                    if view.author == author {
                        view.withdrawn = true;
                    }
                }
            }
            Body::Bump(b) => {
                if let Some(expires) = header.expires {
                    self.bumps.add(author, record.id(), at, expires, b.series);
                }
            }
            Body::TransactionOpen(open) => self.apply_open(record, open),
            Body::TransactionAnswer(answer) => {
                if let Some(t) = self.transactions.get_mut(&answer.transaction) {
                    t.answered_at = Some(t.answered_at.map_or(at, |old| old.min(at)));
                    push_message(t, author, at, &answer.message);
                }
            }
            Body::TransactionMessage(m) => {
                if let Some(t) = self.transactions.get_mut(&m.transaction) {
                    push_message(t, author, at, &m.message);
                }
            }
            Body::TransactionClose(c) => {
                if let Some(t) = self.transactions.get_mut(&c.transaction) {
                    if !t.closes.iter().any(|x| x.by == author) {
                        t.closes.push(CloseView {
                            by: author,
                            outcome: c.outcome,
                            rating: c.rating,
                            review: c.review.clone(),
                            at,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn apply_listing(&mut self, record: &Record, listing: &Listing) {
        let header = record.header();
        let series = listing.series.unwrap_or_else(|| record.id());
        match self.listings.get_mut(&series) {
            Some(view) if view.author == header.author && view.updated <= header.created => {
                view.version = record.id();
                view.listing = listing.clone();
                view.updated = header.created;
                view.expires = header.expires;
            }
            Some(_) => {}
            None if listing.series.is_none() => {
                self.listings.insert(
                    series,
                    ListingView {
                        series,
                        version: record.id(),
                        author: header.author,
                        listing: listing.clone(),
                        updated: header.created,
                        published: header.created,
                        expires: header.expires,
                        bumped_at: None,
                        bump_until: None,
                        withdrawn: false,
                    },
                );
                self.listings_by_author
                    .entry(header.author)
                    .or_default()
                    .push(series);
            }
            None => {}
        }
    }

    fn apply_open(&mut self, record: &Record, open: &maillon_protocol::kinds::TransactionOpen) {
        let header = record.header();
        if self.transactions.contains_key(&record.id()) {
            return;
        }
        let Some(listing) = self.listings.get(&open.listing) else {
            return;
        };
        let view = TransactionView {
            id: record.id(),
            listing: open.listing,
            listing_title: listing.listing.title.clone(),
            opener: header.author,
            author: listing.author,
            opened_at: header.created,
            deadline: header.created.plus_ms(self.answer_deadline_ms),
            answered_at: None,
            messages: vec![MessageView {
                from: header.author,
                at: header.created,
                text: open.message.clone(),
            }],
            closes: Vec::new(),
        };
        for member in [view.opener, view.author] {
            self.transactions_by_member
                .entry(member)
                .or_default()
                .push(view.id);
        }
        self.transactions.insert(view.id, view);
    }

    /// Forgets what the erasure of an identity dropped: the bodies of its records created
    /// at or before `until`, signed by any of `keys`. The index then holds what a rebuild
    /// from the store (where those records are bare headers) gives: the profile goes;
    /// a listing series whose first version is erased goes, with the transactions opened
    /// on it; the identity's transactions, messages and closes go.
    pub fn apply_erasure(&mut self, keys: &[PublicKey], until: Timestamp) {
        let erased = |key: &PublicKey, at: Timestamp| at <= until && keys.contains(key);
        self.profiles.retain(|key, (at, _)| !erased(key, *at));
        let gone: Vec<RecordId> = self
            .listings
            .values()
            .filter(|v| erased(&v.author, v.published))
            .map(|v| v.series)
            .collect();
        for series in &gone {
            self.listings.remove(series);
        }
        for list in self.listings_by_author.values_mut() {
            list.retain(|s| self.listings.contains_key(s));
        }
        self.transactions.retain(|_, t| {
            !erased(&t.opener, t.opened_at) && self.listings.contains_key(&t.listing)
        });
        for t in self.transactions.values_mut() {
            t.messages.retain(|m| !erased(&m.from, m.at));
            t.closes.retain(|c| !erased(&c.by, c.at));
            if t.answered_at.is_some_and(|a| erased(&t.author, a)) {
                // Only reachable when the listing outlives the erasure yet was answered
                // before it; a later answer is not told apart from a message here.
                t.answered_at = None;
            }
        }
        for list in self.transactions_by_member.values_mut() {
            list.retain(|id| self.transactions.contains_key(id));
        }
    }

    /// The newest profile of a key.
    pub fn profile(&self, key: &PublicKey) -> Option<&Profile> {
        self.profiles.get(key).map(|(_, p)| p)
    }

    /// The candidate with this sponsor code.
    pub fn candidate_by_code(&self, code: &str) -> Option<PublicKey> {
        self.codes.get(code).copied()
    }

    /// Sponsorships a key received and that were not withdrawn, oldest first.
    pub fn sponsorships_of(&self, key: &PublicKey) -> Vec<SponsorshipView> {
        self.sponsorships.get(key).cloned().unwrap_or_default()
    }

    /// A listing series.
    pub fn listing(&self, series: &RecordId) -> Option<&ListingView> {
        self.listings.get(series)
    }

    /// A member's listings still up at `now`, newest first.
    pub fn listings_by(&self, keys: &[PublicKey], now: Timestamp) -> Vec<ListingView> {
        let mut out: Vec<ListingView> = keys
            .iter()
            .filter_map(|key| self.listings_by_author.get(key))
            .flatten()
            .filter_map(|s| self.listings.get(s))
            .filter(|v| !v.withdrawn && v.expires.is_none_or(|e| e > now))
            .cloned()
            .collect();
        out.sort_by_key(|v| (std::cmp::Reverse(v.updated), v.series));
        out.dedup_by_key(|v| v.series);
        out
    }

    /// The transactions of a member's keys, newest first.
    pub fn transactions_of(&self, keys: &[PublicKey]) -> Vec<TransactionView> {
        let mut out: Vec<TransactionView> = keys
            .iter()
            .filter_map(|key| self.transactions_by_member.get(key))
            .flatten()
            .filter_map(|id| self.transactions.get(id))
            .cloned()
            .collect();
        out.sort_by_key(|t| (std::cmp::Reverse(t.opened_at), t.id));
        out.dedup_by_key(|t| t.id);
        out
    }

    /// One transaction.
    pub fn transaction(&self, id: &RecordId) -> Option<TransactionView> {
        self.transactions.get(id).cloned()
    }

    /// Responsiveness and reviews of a member at `now`.
    pub fn reputation(
        &self,
        keys: &[PublicKey],
        now: Timestamp,
        cancelled: impl Fn(&RecordId) -> bool,
    ) -> (u32, u32, Vec<Review>) {
        let (mut due, mut in_time) = (0, 0);
        let mut reviews = Vec::new();
        for t in self.transactions_of(keys) {
            if cancelled(&t.id) {
                continue;
            }
            if keys.contains(&t.author) {
                let answered_in_time = t.answered_at.is_some_and(|a| a <= t.deadline);
                if answered_in_time || t.deadline <= now {
                    due += 1;
                }
                if answered_in_time {
                    in_time += 1;
                }
            }
            for close in t.closes.iter().filter(|c| !keys.contains(&c.by)) {
                if !close.review.is_empty() || close.rating.is_some() {
                    reviews.push(Review {
                        by: close.by,
                        rating: close.rating,
                        text: close.review.clone(),
                        at: close.at,
                    });
                }
            }
        }
        reviews.sort_by_key(|r| std::cmp::Reverse(r.at));
        (due, in_time, reviews)
    }

    /// Listing authors with at least `min` transactions opened since `since`, due by `now`
    /// and not answered in time (cancelled ones left out), most misses first.
    pub fn missed_answers(
        &self,
        since: Timestamp,
        now: Timestamp,
        min: u32,
        cancelled: impl Fn(&RecordId) -> bool,
    ) -> Vec<(PublicKey, u32)> {
        let mut misses: HashMap<PublicKey, u32> = HashMap::new();
        for t in self.transactions.values() {
            let missed = t.opened_at >= since
                && t.deadline <= now
                && t.answered_at.is_none_or(|a| a > t.deadline);
            if missed && !cancelled(&t.id) {
                *misses.entry(t.author).or_default() += 1;
            }
        }
        let mut list: Vec<(PublicKey, u32)> =
            misses.into_iter().filter(|(_, n)| *n >= min).collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        list
    }

    /// How many listing series are known.
    pub fn listing_count(&self) -> usize {
        self.listings.len()
    }
}

fn push_message(t: &mut TransactionView, from: PublicKey, at: Timestamp, text: &str) {
    let known = t
        .messages
        .iter()
        .any(|m| m.from == from && m.at == at && m.text == text);
    if !known && (from == t.opener || from == t.author) {
        t.messages.push(MessageView {
            from,
            at,
            text: text.to_string(),
        });
        t.messages.sort_by_key(|m| m.at);
    }
}
