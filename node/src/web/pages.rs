//! The Backend's page-level reads: what one page shows, with each of the node's locks taken
//! once (the social index, then the membership index), instead of one call per fragment.

use std::collections::{HashMap, HashSet};

use maillon_protocol::moderation::Moderation;
use maillon_protocol::{PublicKey, RecordId, Timestamp};
use maillon_web_ui::backend::{FrameView, ListingPageView, ListingViewer, Reputation};

use super::social::SocialIndex;
use super::{marked, NodeBackend};
use crate::membership_index::MembershipIndex;

/// Every page's frame: the site, and the visitor's name, standing and roles.
pub(super) fn frame(backend: &NodeBackend, viewer: Option<&PublicKey>) -> FrameView {
    let mut frame = FrameView {
        site_name: backend.charter.name.clone(),
        node_name: backend.engine.name().to_string(),
        takes_donations: backend.funding.takes_donations(),
        ..FrameView::default()
    };
    let Some(key) = viewer else {
        return frame;
    };
    let ((identity, status), operator) = {
        let index = backend.engine.index();
        let operator = index
            .announced_nodes()
            .get(&backend.engine.node_key())
            .map(|a| a.operator);
        (index.identity_and_status(key), operator)
    };
    frame.display_name = {
        let social = backend.social();
        social
            .profile(&identity)
            .or_else(|| social.profile(key))
            .map(|p| p.display_name.clone())
    };
    frame.is_member = status.is_in_good_standing();
    frame.is_council = backend.charter.council.contains(key);
    frame.is_operator = operator.is_some_and(|o| o == *key || o == identity);
    frame.is_moderator = backend
        .moderation()
        .is_moderator_at(key, backend.engine.now());
    frame
}

/// The page of a listing series as `viewer` sees it, with the author's first `reviews`
/// reviews; None when the listing is unknown or without effect.
pub(super) fn listing_page(
    backend: &NodeBackend,
    series: &RecordId,
    viewer: Option<&PublicKey>,
    reviews: usize,
) -> Option<ListingPageView> {
    let now = backend.engine.now();
    let moderation = backend.moderation();
    let social = backend.social();
    let index = backend.engine.index();
    let view = social.listing(series)?;
    if !index.in_good_standing_at(&view.author, view.published) {
        return None;
    }
    let listing = marked(view, &social, &index, now);
    let author = listing.author;
    let viewer_standing = viewer.map(|key| (key, index.identity_and_status(key)));
    let viewer_position = viewer_standing.as_ref().and_then(|(key, (identity, _))| {
        social
            .profile(identity)
            .or_else(|| social.profile(key))
            .map(|p| p.position)
    });
    let trust = viewer
        .filter(|key| **key != author)
        .map(|key| index.trust(key, &author));
    let mut reputation = reputation_in(&social, &index, &moderation, &author, now);
    reputation.reviews.truncate(reviews);
    let named: HashSet<PublicKey> = std::iter::once(author)
        .chain(trust.iter().flat_map(|t| t.paths.iter().flatten().copied()))
        .chain(reputation.reviews.iter().map(|r| r.by))
        .collect();
    let names = named
        .into_iter()
        .filter_map(|k| social.profile(&k).map(|p| (k, p.display_name.clone())))
        .collect::<HashMap<_, _>>();
    let hidden_label = moderation.hidden_by(series);
    Some(ListingPageView {
        viewer: viewer_standing.map(|(key, (_, status))| ListingViewer {
            key: *key,
            in_good_standing: status.is_in_good_standing(),
            is_moderator: moderation.is_moderator_at(key, now),
        }),
        origin: viewer_position.or(backend.node_position),
        names,
        trust,
        reputation,
        hidden: hidden_label.is_some(),
        hidden_reason: hidden_label
            .and_then(|label| moderation.log_entry(&label))
            .map(|entry| entry.body.reason.clone()),
        corrections: moderation
            .corrections(series)
            .iter()
            .map(|c| (c.at, c.note.clone()))
            .collect(),
        answer_deadline_ms: backend.charter.answer_deadline_ms,
        listing,
        now,
    })
}

/// A member's responsiveness and reviews: transactions cancelled by the moderators, or
/// opened by a key without effect then (a retired key, a candidate), count neither as due
/// nor for reviews; reviews by a key without effect are left out.
pub(super) fn reputation_in(
    social: &SocialIndex,
    index: &MembershipIndex,
    moderation: &Moderation,
    member: &PublicKey,
    now: Timestamp,
) -> Reputation {
    let keys = index.keys_of_identity(member);
    let without_effect: HashSet<RecordId> = social
        .transactions_of(&keys)
        .into_iter()
        .filter(|t| !index.in_good_standing_at(&t.opener, t.opened_at))
        .map(|t| t.id)
        .collect();
    let (due, answered_in_time, mut reviews) = social.reputation(&keys, now, |t| {
        moderation.cancelled_by(t).is_some() || without_effect.contains(t)
    });
    reviews.retain(|review| index.in_good_standing_at(&review.by, review.at));
    Reputation {
        due,
        answered_in_time,
        reviews,
    }
}
