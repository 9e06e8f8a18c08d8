//! The charter's numbers, and the reasons a charter cannot work, said to people.

use maillon_protocol::kinds::Charter;
use maillon_protocol::viability::Unviable;

use crate::page::counted;
use crate::session::Lang;

const DAY_MS: u64 = 86_400_000;
const HOUR_MS: u64 = 3_600_000;

fn duration(ms: u64, l: Lang) -> String {
    if ms % DAY_MS == 0 {
        counted(ms / DAY_MS, ("jour", "jours"), ("day", "days"), l)
    } else if ms % HOUR_MS == 0 {
        counted(ms / HOUR_MS, ("heure", "heures"), ("hour", "hours"), l)
    } else {
        counted(ms / 60_000, ("minute", "minutes"), ("minute", "minutes"), l)
    }
}

/// The charter's numbers as (what it means, value), for the page that shows them before
/// signing.
pub fn number_lines(charter: &Charter, l: Lang) -> Vec<(&'static str, String)> {
    vec![
        (
            l.pick(
                "Parrainages nécessaires pour devenir membre",
                "Sponsorships needed to become a member",
            ),
            charter.sponsors_required.to_string(),
        ),
        (
            l.pick(
                "Parrainages qu'un membre peut donner en même temps",
                "Sponsorships a member may give at once",
            ),
            charter.sponsor_quota.to_string(),
        ),
        (
            l.pick(
                "Parrains qui doivent signer pour rendre une clé perdue",
                "Sponsors who must sign to recover a lost key",
            ),
            charter.recovery_threshold.to_string(),
        ),
        (
            l.pick(
                "Membres du conseil de modération",
                "Members of the moderation council",
            ),
            charter.council.len().to_string(),
        ),
        (
            l.pick(
                "Signatures du conseil pour nommer un modérateur",
                "Council signatures to appoint a moderator",
            ),
            charter.council_threshold.to_string(),
        ),
        (
            l.pick(
                "Délai pour répondre à une transaction",
                "Time to answer a transaction",
            ),
            duration(charter.answer_deadline_ms, l),
        ),
        (
            l.pick(
                "Période probatoire d'un membre qui perd un parrain",
                "Probation of a member who loses a sponsor",
            ),
            duration(charter.probation_grace_ms, l),
        ),
        (
            l.pick(
                "Parrainages perdus par avertissement après une exclusion",
                "Sponsorships lost per strike after an expulsion",
            ),
            charter.strike_penalty.to_string(),
        ),
        (
            l.pick(
                "Remontées d'annonces par nœud et par jour",
                "Listing bumps per node per day",
            ),
            charter.bumps_per_node_per_day.to_string(),
        ),
    ]
}

/// Why a charter cannot work, in the visitor's language, with the numbers.
pub fn unviable_text(problem: &Unviable, l: Lang) -> String {
    match problem {
        Unviable::OutOfRange {
            field,
            value,
            min,
            max,
        } => l.pick_string(
            format!("{field} vaut {value}, mais doit être entre {min} et {max}."),
            format!("{field} is {value}, but must be between {min} and {max}."),
        ),
        Unviable::TooFewFounders {
            founders,
            sponsors_required,
        } => l.pick_string(
            format!(
                "Il y a {}, mais il faut {sponsors_required} parrainages \
                 pour entrer : personne ne pourrait jamais être admis. Attendez que \
                 {sponsors_required} fondateurs au moins aient créé leur compte.",
                counted(
                    *founders as u64,
                    ("fondateur", "fondateurs"),
                    ("founder", "founders"),
                    Lang::Fr
                )
            ),
            format!(
                "There are {}, but joining takes {sponsors_required} \
                 sponsorships: nobody could ever be admitted. Wait until at least \
                 {sponsors_required} founders have created their accounts.",
                counted(
                    *founders as u64,
                    ("fondateur", "fondateurs"),
                    ("founder", "founders"),
                    Lang::En
                )
            ),
        ),
        Unviable::TooManyFounders { founders, max } => l.pick_string(
            format!("Il y a {founders} fondateurs ; une charte en compte {max} au plus."),
            format!("There are {founders} founders; a charter lists at most {max}."),
        ),
        Unviable::NoCouncil => l
            .pick(
                "Le conseil de modération est vide : un fondateur au moins doit y siéger.",
                "The moderation council is empty: at least one founder must sit on it.",
            )
            .to_string(),
        Unviable::CouncilTooLarge { council, max } => l.pick_string(
            format!("Le conseil compte {council} membres ; {max} au plus."),
            format!("The council has {council} members; at most {max}."),
        ),
        Unviable::CouncilThreshold {
            council_threshold,
            council,
        } => l.pick_string(
            format!(
                "Il faut {council_threshold} signatures du conseil pour nommer un modérateur, \
                 mais le conseil n'a que {} : aucun modérateur ne pourrait \
                 être nommé. Il faut plus de fondateurs au conseil.",
                counted(
                    *council as u64,
                    ("membre", "membres"),
                    ("member", "members"),
                    Lang::Fr
                )
            ),
            format!(
                "Appointing a moderator takes {council_threshold} council signatures, but the \
                 council has only {}: no moderator could be appointed. More \
                 founders must sit on the council.",
                counted(
                    *council as u64,
                    ("membre", "membres"),
                    ("member", "members"),
                    Lang::En
                )
            ),
        ),
        Unviable::RecoveryUnreachable {
            recovery_threshold,
            sponsors_required,
        } => l.pick_string(
            format!(
                "Rendre une clé perdue demande {recovery_threshold} parrains, plus que les \
                 {sponsors_required} parrainages nécessaires pour entrer : un membre ne \
                 pourrait pas toujours récupérer sa clé."
            ),
            format!(
                "Recovering a lost key takes {recovery_threshold} sponsors, more than the \
                 {sponsors_required} sponsorships needed to join: a member could not always \
                 recover their key."
            ),
        ),
        Unviable::QuotaBelowRequired {
            sponsor_quota,
            sponsors_required,
        } => l.pick_string(
            format!(
                "Un membre ne peut parrainer que {}, moins que les \
                 {sponsors_required} parrainages nécessaires : le réseau ne pourrait pas \
                 grandir.",
                counted(
                    *sponsor_quota,
                    ("personne", "personnes"),
                    ("person", "people"),
                    Lang::Fr
                )
            ),
            format!(
                "A member may sponsor only {sponsor_quota} people, fewer than the \
                 {sponsors_required} sponsorships needed: the network could not grow."
            ),
        ),
        Unviable::BadText { field, max } => l.pick_string(
            format!(
                "Le texte « {field} » doit faire de 1 à {max} octets, sans caractère de contrôle."
            ),
            format!("The {field} text must be 1 to {max} bytes, without control characters."),
        ),
    }
}
