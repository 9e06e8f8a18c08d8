//! Member profiles, statuses in words, and the trust path from the viewer to someone.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use maillon_protocol::membership::Status;
use maillon_protocol::PublicKey;

use super::search::{card, Card};
use super::sponsor::{named, Named};
use super::{render, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::Lang;
use crate::Shared;

/// A candidate's progress in words: "1 parrainage sur 3", "2 parrainages sur 3".
pub fn sponsorship_progress(counted: u32, required: u32, l: Lang) -> String {
    let word = if counted > 1 {
        "parrainages"
    } else {
        "parrainage"
    };
    l.pick_string(
        format!("{counted} {word} sur {required}"),
        format!("{counted} of {required} sponsorships"),
    )
}

/// A status in words.
pub fn status_text(status: &Status, l: Lang) -> String {
    match status {
        Status::Founder => l.pick("membre fondateur", "founding member").into(),
        Status::Member => l.pick("membre", "member").into(),
        Status::Probation { until, .. } => l.pick_string(
            format!(
                "membre en période probatoire jusqu'au {}",
                page::date(*until, l)
            ),
            format!("member on probation until {}", page::date(*until, l)),
        ),
        Status::Lapsed { .. } => l
            .pick(
                "adhésion suspendue faute de parrains",
                "membership lapsed for lack of sponsors",
            )
            .into(),
        Status::Candidate { sponsors, required } => l.pick_string(
            format!(
                "candidat ({})",
                sponsorship_progress(*sponsors, *required, l)
            ),
            format!(
                "candidate ({})",
                sponsorship_progress(*sponsors, *required, l)
            ),
        ),
        Status::Expelled { .. } => l
            .pick("exclu du réseau", "expelled from the network")
            .into(),
        Status::Unknown => l.pick("inconnu du réseau", "unknown to the network").into(),
    }
}

/// The trust path from the viewer to someone, in words.
#[derive(Clone, Debug)]
pub struct TrustLine {
    /// The steps of one shortest path, the viewer first ("vous").
    pub steps: Vec<Named>,
    /// Links on the path (in the page as `data-liens`, for tools such as the web bench).
    pub distance: u32,
    /// How far, and by how many independent paths, in a sentence.
    pub summary: String,
    /// The shortest paths drawn (SVG with its text equivalent), when there is more than
    /// the direct link.
    pub graph: Option<String>,
}

/// How two members are connected, in a sentence: "Vous êtes reliés par 2 personnes de
/// confiance, par 3 chemins différents."
pub fn trust_sentence(distance: u32, independent: u32, l: Lang) -> String {
    let people = distance.saturating_sub(1);
    let (by_fr, by_en) = match people {
        0 => (
            "directement, par un parrainage".to_string(),
            "directly, by a sponsorship".to_string(),
        ),
        1 => (
            "par une personne de confiance".to_string(),
            "through one trusted person".to_string(),
        ),
        n => (
            format!("par {n} personnes de confiance"),
            format!("through {n} trusted people"),
        ),
    };
    let (paths_fr, paths_en) = match independent {
        0 | 1 => (
            "par un seul chemin".to_string(),
            "by a single path".to_string(),
        ),
        n => (
            format!("par {n} chemins différents"),
            format!("by {n} different paths"),
        ),
    };
    l.pick_string(
        format!("Vous êtes reliés {by_fr}, {paths_fr}."),
        format!("You are connected {by_en}, {paths_en}."),
    )
}

/// The viewer's trust path to `target`, if both are members and a path exists.
pub fn trust_line<B: Backend>(
    backend: &B,
    viewer: Option<&PublicKey>,
    target: &PublicKey,
    l: Lang,
) -> Option<TrustLine> {
    let viewer = viewer?;
    if viewer == target {
        return None;
    }
    let report = backend.trust(viewer, target);
    let distance = report.distance?;
    let path = report.paths.first()?.clone();
    let mut steps = named(backend, &path, l);
    if let Some(first) = steps.first_mut() {
        first.name = l.pick("vous", "you").into();
    }
    let keys: Vec<PublicKey> = report.paths.iter().flatten().copied().collect();
    let names: std::collections::HashMap<PublicKey, String> = keys
        .iter()
        .copied()
        .zip(named(backend, &keys, l).into_iter().map(|n| n.name))
        .collect();
    let drawn: Vec<Vec<String>> = report
        .paths
        .iter()
        .map(|p| {
            p.iter()
                .enumerate()
                .map(|(i, k)| match i {
                    0 => l.pick("vous", "you").to_string(),
                    _ => names.get(k).cloned().unwrap_or_default(),
                })
                .collect()
        })
        .collect();
    Some(TrustLine {
        steps,
        distance,
        summary: trust_sentence(distance, report.independent_paths, l),
        graph: (distance >= 2)
            .then(|| crate::drawing::trust_graph::svg(&drawn, l))
            .flatten(),
    })
}

/// Responsiveness in words: "a répondu à 9 transactions sur 10 dans les délais".
pub fn responsiveness_text(due: u32, in_time: u32, l: Lang) -> String {
    if due == 0 {
        return l
            .pick(
                "Pas encore de transaction à laquelle répondre.",
                "No transaction to answer yet.",
            )
            .into();
    }
    let word = if in_time > 1 {
        "transactions"
    } else {
        "transaction"
    };
    l.pick_string(
        format!("A répondu dans les délais à {in_time} {word} sur {due}."),
        format!(
            "Answered {in_time} of {due} {} in time.",
            if due > 1 {
                "transactions"
            } else {
                "transaction"
            }
        ),
    )
}

/// A review as shown.
#[derive(Clone, Debug)]
pub struct ReviewLine {
    /// Who wrote it.
    pub by: Named,
    /// Stars, "★★★★☆".
    pub stars: String,
    /// The text.
    pub text: String,
    /// The date.
    pub date: String,
}

/// The reviews of a member, as shown.
pub fn review_lines<B: Backend>(
    backend: &B,
    member: &PublicKey,
    l: Lang,
    limit: usize,
) -> Vec<ReviewLine> {
    let reviews = backend.reputation(member).reviews;
    let shown: Vec<_> = reviews.into_iter().take(limit).collect();
    let authors = named(backend, &shown.iter().map(|r| r.by).collect::<Vec<_>>(), l);
    shown
        .into_iter()
        .zip(authors)
        .map(|(r, by)| ReviewLine {
            by,
            stars: r
                .rating
                .map(|n| "★".repeat(n.min(5) as usize) + &"☆".repeat(5 - n.min(5) as usize))
                .unwrap_or_default(),
            text: r.text,
            date: page::date(r.at, l),
        })
        .collect()
}

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
        reviews: review_lines(&state.backend, &key, l, 20),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_figures_are_said_in_a_sentence() {
        let fr = |d, k| trust_sentence(d, k, Lang::Fr);
        assert_eq!(
            fr(3, 3),
            "Vous êtes reliés par 2 personnes de confiance, par 3 chemins différents."
        );
        assert_eq!(
            fr(2, 1),
            "Vous êtes reliés par une personne de confiance, par un seul chemin."
        );
        assert_eq!(
            fr(1, 2),
            "Vous êtes reliés directement, par un parrainage, par 2 chemins différents."
        );
        assert_eq!(
            trust_sentence(3, 1, Lang::En),
            "You are connected through 2 trusted people, by a single path."
        );
    }

    #[test]
    fn the_progress_of_a_candidacy_agrees_in_number() {
        assert_eq!(sponsorship_progress(0, 3, Lang::Fr), "0 parrainage sur 3");
        assert_eq!(sponsorship_progress(1, 3, Lang::Fr), "1 parrainage sur 3");
        assert_eq!(sponsorship_progress(2, 5, Lang::Fr), "2 parrainages sur 5");
    }
}
