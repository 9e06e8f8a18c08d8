//! Funding a node, with money kept off the protocol: the operator's donation page (text,
//! payment link, IBAN), and members' requests to feature a listing, which the operator grants
//! by signing a Bump record with the node's key once the association has been paid.
//!
//! This module holds the values and their checks; the node keeps them in a file.

use maillon_protocol::{PublicKey, RecordId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::session::Lang;

/// Longest donation text, in bytes.
pub const DONATION_TEXT_MAX: usize = 2000;
/// Longest payment link, in bytes.
pub const PAYMENT_URL_MAX: usize = 500;
/// Longest message with a feature request, in bytes.
pub const BUMP_MESSAGE_MAX: usize = 500;
/// How often a member is reminded that the site lives on donations.
pub const REMINDER_EVERY_MS: u64 = 365 * Timestamp::DAY_MS;

/// What the operator says to members about giving.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonationPage {
    /// Why give, and how the money is used.
    pub text: String,
    /// An `https` link to a payment page (HelloAsso, the association's own), or empty.
    pub payment_url: String,
    /// The association's IBAN, in groups of four, or empty.
    pub iban: String,
}

/// Problems with the donation form, one per field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DonationErrors {
    /// The text.
    pub text: Option<String>,
    /// The link.
    pub payment_url: Option<String>,
    /// The IBAN.
    pub iban: Option<String>,
}

impl DonationErrors {
    /// Whether any field is wrong.
    pub fn any(&self) -> bool {
        self.text.is_some() || self.payment_url.is_some() || self.iban.is_some()
    }
}

/// Checks the donation form. All three fields empty means no donation page.
pub fn check_donation(
    text: &str,
    payment_url: &str,
    iban: &str,
    l: Lang,
) -> Result<Option<DonationPage>, DonationErrors> {
    let (text, payment_url, iban) = (text.trim(), payment_url.trim(), iban.trim());
    if text.is_empty() && payment_url.is_empty() && iban.is_empty() {
        return Ok(None);
    }
    let mut errors = DonationErrors::default();
    if text.is_empty() {
        errors.text = Some(l.pick_string(
            "Expliquez en quelques mots à quoi servent les dons.".into(),
            "Say in a few words what donations pay for.".into(),
        ));
    } else if text.len() > DONATION_TEXT_MAX {
        errors.text = Some(l.pick_string(
            format!("Le texte est trop long : {DONATION_TEXT_MAX} signes au plus."),
            format!("The text is too long: {DONATION_TEXT_MAX} characters at most."),
        ));
    }
    if payment_url.is_empty() && iban.is_empty() {
        errors.payment_url = Some(l.pick_string(
            "Donnez un lien de paiement, un IBAN, ou les deux.".into(),
            "Give a payment link, an IBAN, or both.".into(),
        ));
    } else if !payment_url.is_empty() && !is_payment_url(payment_url) {
        errors.payment_url = Some(l.pick_string(
            format!("« {payment_url} » n'est pas un lien de paiement : il doit commencer par https:// et ne pas contenir d'espace."),
            format!("\"{payment_url}\" is not a payment link: it must start with https:// and hold no space."),
        ));
    }
    let iban = match normalise_iban(iban) {
        Some(iban) => iban,
        None => {
            errors.iban = Some(l.pick_string(
                "Cet IBAN n'est pas valable : vérifiez-le sur le relevé d'identité bancaire (sa clé de contrôle ne correspond pas).".into(),
                "This IBAN is not valid: check it against the bank details (its check digits do not match).".into(),
            ));
            String::new()
        }
    };
    if errors.any() {
        return Err(errors);
    }
    Ok(Some(DonationPage {
        text: text.to_string(),
        payment_url: payment_url.to_string(),
        iban,
    }))
}

fn is_payment_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    url.len() <= PAYMENT_URL_MAX
        && host.contains('.')
        && url.chars().all(|c| c.is_ascii_graphic())
        && !url.contains(['"', '<', '>', '\\'])
}

/// The IBAN in groups of four capitals if its check digits hold (ISO 13616, modulo 97), or
/// empty for an empty one; `None` if it is not a valid IBAN.
pub fn normalise_iban(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.is_empty() {
        return Some(String::new());
    }
    let valid_shape = (15..=34).contains(&compact.len())
        && compact.chars().all(|c| c.is_ascii_alphanumeric())
        && compact[..2].chars().all(|c| c.is_ascii_alphabetic())
        && compact[2..4].chars().all(|c| c.is_ascii_digit());
    if !valid_shape {
        return None;
    }
    let rotated = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rotated {
        let value = c.to_digit(36)?;
        for digit in value.to_string().chars() {
            remainder = (remainder * 10 + digit.to_digit(10)?) % 97;
        }
    }
    if remainder != 1 {
        return None;
    }
    let groups: Vec<String> = compact
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect();
    Some(groups.join(" "))
}

/// Where a member's request to feature a listing stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BumpState {
    /// Waiting for the operator.
    Pending,
    /// The operator signed a bump.
    Granted {
        /// The Bump record.
        bump: String,
        /// When it was signed.
        at: u64,
        /// When it ends.
        until: u64,
    },
    /// The operator declined.
    Declined {
        /// When.
        at: u64,
    },
}

/// A member's request to feature one of their listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BumpRequest {
    /// Its number on this node.
    pub number: u64,
    /// The listing's series, in hex.
    pub series: String,
    /// The member's key, in hex.
    pub member: String,
    /// When it was asked, in milliseconds.
    pub asked: u64,
    /// What the member wrote to the operator (how they paid, for example).
    pub message: String,
    /// Where it stands.
    pub state: BumpState,
}

impl BumpRequest {
    /// The listing's series.
    pub fn series_id(&self) -> Option<RecordId> {
        RecordId::from_hex(&self.series).ok()
    }

    /// The member's key.
    pub fn member_key(&self) -> Option<PublicKey> {
        PublicKey::from_hex(&self.member).ok()
    }
}

/// The answer to a member's request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BumpAsked {
    /// Recorded, with its number.
    Asked(u64),
    /// A request for this listing is already waiting.
    AlreadyPending,
}

/// Why the operator could not grant a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BumpRefused {
    /// No such request, or it was already answered.
    NotPending,
    /// The node signed as many bumps in the last 24 hours as the charter lets take effect.
    DailyLimit {
        /// The charter's `bumps_per_node_per_day`.
        limit: u64,
    },
    /// The listing was withdrawn, or is no longer shown.
    ListingGone,
    /// The duration is not 1 to 7 days.
    BadDuration,
    /// The node refused the record (a sentence).
    Refused(String),
}

impl BumpRefused {
    /// What the operator is told.
    pub fn sentence(&self, l: Lang) -> String {
        match self {
            BumpRefused::NotPending => l.pick_string(
                "Cette demande a déjà reçu une réponse.".into(),
                "This request was already answered.".into(),
            ),
            BumpRefused::DailyLimit { limit } => l.pick_string(
                format!("Ce nœud a déjà signé {limit} mises à la une ces dernières 24 heures : la charte n'en laisse pas davantage prendre effet. Réessayez demain."),
                format!("This node already signed {limit} bumps in the last 24 hours: the charter lets no more take effect. Try again tomorrow."),
            ),
            BumpRefused::ListingGone => l.pick_string(
                "L'annonce a été retirée ou n'est plus affichée.".into(),
                "The listing was withdrawn or is no longer shown.".into(),
            ),
            BumpRefused::BadDuration => l.pick_string(
                "Une mise à la une dure de 1 à 7 jours.".into(),
                "A bump lasts 1 to 7 days.".into(),
            ),
            BumpRefused::Refused(reason) => reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_by_their_check_digits_and_grouped_by_four() {
        assert_eq!(
            normalise_iban("fr76 3000 6000 0112 3456 7890 189").as_deref(),
            Some("FR76 3000 6000 0112 3456 7890 189")
        );
        assert_eq!(
            normalise_iban("DE89370400440532013000").as_deref(),
            Some("DE89 3704 0044 0532 0130 00")
        );
        assert_eq!(normalise_iban("FR76 3000 6000 0112 3456 7890 188"), None);
        assert_eq!(normalise_iban("FR7630006"), None);
        assert_eq!(normalise_iban("12FR 3000 6000 0112 3456 7890 189"), None);
        assert_eq!(normalise_iban("").as_deref(), Some(""));
    }

    #[test]
    fn the_donation_form_says_what_is_wrong_and_accepts_an_empty_page() {
        assert_eq!(check_donation(" ", "", "", Lang::Fr), Ok(None));
        let missing = check_donation("Merci !", "", "", Lang::Fr).unwrap_err();
        assert!(missing
            .payment_url
            .unwrap()
            .contains("lien de paiement, un IBAN"));
        let bad = check_donation("", "http://asso.fr/don", "FR00", Lang::Fr).unwrap_err();
        assert!(bad.text.is_some());
        assert!(bad.payment_url.unwrap().contains("https://"));
        assert!(bad.iban.unwrap().contains("pas valable"));
        let page = check_donation(
            " Les dons paient le serveur. ",
            "https://www.helloasso.com/associations/asso/formulaires/1",
            "fr7630006000011234567890189",
            Lang::Fr,
        )
        .unwrap()
        .unwrap();
        assert_eq!(page.text, "Les dons paient le serveur.");
        assert_eq!(page.iban, "FR76 3000 6000 0112 3456 7890 189");
        let quote = check_donation("Merci", "https://asso.fr/\"x", "", Lang::Fr).unwrap_err();
        assert!(quote.payment_url.is_some());
    }
}
