//! A member's standing as pages show it: the trust path from the viewer, how they answer,
//! and their reviews.

use std::collections::HashMap;

use maillon_protocol::trust::TrustReport;
use maillon_protocol::PublicKey;

use super::people::{named_from, Named};
use crate::backend::{Backend, Review};
use crate::page;
use crate::session::Lang;

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
    let keys: Vec<PublicKey> = report.paths.iter().flatten().copied().collect();
    let names: HashMap<PublicKey, String> = backend.names(&keys).into_iter().collect();
    trust_line_of(&report, &names, l)
}

/// The trust line of a report, with names already read; None without a path.
pub fn trust_line_of(
    report: &TrustReport,
    names: &HashMap<PublicKey, String>,
    l: Lang,
) -> Option<TrustLine> {
    let distance = report.distance?;
    let path = report.paths.first()?;
    let you = l.pick("vous", "you");
    let mut steps = named_from(names, path, l);
    if let Some(first) = steps.first_mut() {
        first.name = you.into();
    }
    let drawn: Vec<Vec<String>> = report
        .paths
        .iter()
        .map(|p| {
            named_from(names, p, l)
                .into_iter()
                .enumerate()
                .map(|(i, named)| if i == 0 { you.to_string() } else { named.name })
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

/// The first `limit` of a member's reviews, as shown.
pub fn review_lines<B: Backend>(
    backend: &B,
    reviews: &[Review],
    l: Lang,
    limit: usize,
) -> Vec<ReviewLine> {
    let shown = &reviews[..limit.min(reviews.len())];
    let authors: Vec<PublicKey> = shown.iter().map(|r| r.by).collect();
    let names: HashMap<PublicKey, String> = backend.names(&authors).into_iter().collect();
    review_lines_of(shown, &names, l)
}

/// Reviews as shown, with names already read.
pub fn review_lines_of(
    reviews: &[Review],
    names: &HashMap<PublicKey, String>,
    l: Lang,
) -> Vec<ReviewLine> {
    let authors: Vec<PublicKey> = reviews.iter().map(|r| r.by).collect();
    reviews
        .iter()
        .zip(named_from(names, &authors, l))
        .map(|(r, by)| ReviewLine {
            by,
            stars: r
                .rating
                .map(|n| "★".repeat(n.min(5) as usize) + &"☆".repeat(5 - n.min(5) as usize))
                .unwrap_or_default(),
            text: r.text.clone(),
            date: page::date(r.at, l),
        })
        .collect()
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
}
