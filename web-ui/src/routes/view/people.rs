//! People as pages name them: display names with links, statuses, sponsorship progress
//! and how two people know each other.

use std::collections::HashMap;

use maillon_protocol::kinds::Relation;
use maillon_protocol::membership::Status;
use maillon_protocol::PublicKey;

use crate::backend::Backend;
use crate::page;
use crate::session::Lang;

/// A person named on a page, with a link to their profile.
#[derive(Clone, Debug)]
pub struct Named {
    /// Display name.
    pub name: String,
    /// Profile link.
    pub link: String,
    /// Extra words (how they know each other, a date).
    pub detail: String,
}

/// Display names of keys. A key without profile (not yet published, or erased) is named
/// in words rather than by its fingerprint, which means nothing to most members.
pub fn named<B: Backend>(backend: &B, keys: &[PublicKey], l: Lang) -> Vec<Named> {
    let names: HashMap<_, _> = backend.names(keys).into_iter().collect();
    named_from(&names, keys, l)
}

/// Display names of keys from names already read (a page-level read's).
pub fn named_from(names: &HashMap<PublicKey, String>, keys: &[PublicKey], l: Lang) -> Vec<Named> {
    keys.iter()
        .map(|k| Named {
            name: names.get(k).cloned().unwrap_or_else(|| {
                l.pick("Membre sans profil", "Member without a profile")
                    .to_string()
            }),
            link: format!("/membre/{}", k.to_hex()),
            detail: String::new(),
        })
        .collect()
}

/// How two people know each other, in words.
pub fn relation_label(relation: Relation, l: Lang) -> &'static str {
    match relation {
        Relation::Family => l.pick("famille", "family"),
        Relation::Friend => l.pick("ami(e)", "friend"),
        Relation::Neighbour => l.pick("voisin(e)", "neighbour"),
        Relation::Colleague => l.pick("collègue", "colleague"),
        Relation::Association => l.pick("association ou paroisse", "association or parish"),
        Relation::Other => l.pick("autre", "other"),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_of_a_candidacy_agrees_in_number() {
        assert_eq!(sponsorship_progress(0, 3, Lang::Fr), "0 parrainage sur 3");
        assert_eq!(sponsorship_progress(1, 3, Lang::Fr), "1 parrainage sur 3");
        assert_eq!(sponsorship_progress(2, 5, Lang::Fr), "2 parrainages sur 5");
    }
}
