//! Member profiles, statuses in words, and the trust path from the viewer to someone.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use maillon_protocol::membership::Status;

use super::view::{
    card, responsiveness_text, review_lines, status_text, trust_line, Card, ReviewLine, TrustLine,
};
use super::view::{named, Named};
use super::{render, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::Shared;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    p: Page,
    name: String,
    town: String,
    about: String,
    status: String,
    home: String,
    fingerprint: String,
    since: String,
    trust: Option<TrustLine>,
    /// The viewer's own profile: no trust path to show.
    own: bool,
    responsiveness: String,
    reviews: Vec<ReviewLine>,
    sponsors: Vec<Named>,
    sponsees: Vec<Named>,
    recent: Vec<Card>,
    strikes: u32,
    warnings: Vec<(String, String)>,
    report_link: Option<String>,
}

/// `/membre/{key}`.
pub async fn profile<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let key = page::parse_key(&key).ok_or(AppError::NotFound(l))?;
    let mut member = state.backend.member(&key);
    if member.profile.is_none() && member.status == Status::Unknown {
        // The member may exist in the network before reaching this site.
        state.backend.catch_up().await;
        member = state.backend.member(&key);
        if member.profile.is_none() && member.status == Status::Unknown {
            return Err(AppError::NotFound(l));
        }
    }
    let profile = member
        .profile
        .clone()
        .unwrap_or_else(|| maillon_protocol::kinds::Profile {
            display_name: named(&state.backend, &[key], l).remove(0).name,
            home_node: key,
            town: l.pick("commune non publiée", "town not published").into(),
            postcode: String::new(),
            position: maillon_protocol::kinds::Position {
                lat_microdeg: 0,
                lon_microdeg: 0,
            },
            about: String::new(),
        });
    let viewer = visitor.user.as_ref().map(|u| u.key);
    let reputation = state.backend.reputation(&key);
    let moderation = state.backend.moderation();
    let may_see_hidden = viewer == Some(key)
        || viewer.is_some_and(|k| moderation.is_moderator_at(&k, state.backend.now()));
    let listings: Vec<_> = state
        .backend
        .listings_by(&key)
        .into_iter()
        .filter(|v| may_see_hidden || moderation.hidden_by(&v.series).is_none())
        .collect();
    let warnings = [key, member.identity]
        .iter()
        .flat_map(|k| moderation.warnings(k).to_vec())
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .filter_map(|label| moderation.log_entry(label))
        .map(|e| (page::date(e.at, l), e.body.reason.clone()))
        .collect();
    let report_link = (viewer.is_some() && viewer != Some(key))
        .then(|| format!("/signaler?membre={}", key.to_hex()));
    render(ProfilePage {
        p: state.page(&visitor),
        name: profile.display_name,
        town: if profile.postcode.is_empty() {
            profile.town
        } else {
            format!("{} ({})", profile.town, profile.postcode)
        },
        about: profile.about,
        status: status_text(&member.status, l),
        home: member.home_node_name.clone().unwrap_or_default(),
        fingerprint: page::fingerprint(&key),
        since: member
            .admitted_at
            .map(|t| page::date(t, l))
            .unwrap_or_default(),
        trust: trust_line(&state.backend, viewer.as_ref(), &key, l),
        own: viewer.as_ref() == Some(&key),
        responsiveness: responsiveness_text(reputation.due, reputation.answered_in_time, l),
        reviews: review_lines(&state.backend, &reputation.reviews, l, 20),
        sponsors: named(&state.backend, &member.sponsors, l),
        sponsees: named(&state.backend, &member.sponsees, l),
        recent: listings
            .iter()
            .take(20)
            .map(|v| card(&state.backend, v, None, l))
            .collect(),
        strikes: member.strikes,
        warnings,
        report_link,
    })
}
