//! What the site says about a bad field, in one place for every form that asks the same
//! thing: a place, a price, a listing's title, a message. Each check returns the value or
//! a sentence that says what is wrong and how to write it. The site checks these fields
//! itself; the browser never cuts or refuses them silently.

use crate::page;
use crate::places::{Place, Places};
use crate::session::Lang;

/// The longest listing title, in UTF-8 bytes (docs/PROTOCOL.md, Listing).
pub const TITLE_MAX_BYTES: usize = 120;
/// The shortest listing title, in UTF-8 bytes.
pub const TITLE_MIN_BYTES: usize = 3;
/// The longest message of a transaction, in UTF-8 bytes.
pub const MESSAGE_MAX_BYTES: usize = 2000;

/// A town or postcode typed in a form.
pub fn place(input: &str, l: Lang) -> Result<Place, String> {
    let typed = input.trim();
    if typed.is_empty() {
        return Err(l
            .pick(
                "Indiquez la commune ou le code postal, par exemple « 26000 » ou « 26000 Valence ».",
                "Give the town or postcode, for example \"26000\" or \"26000 Valence\".",
            )
            .into());
    }
    Places::embedded().lookup(typed).map_err(|_| {
        l.pick_string(
            format!("Nous ne connaissons pas « {typed} » : vérifiez l'orthographe, ou écrivez le code postal, par exemple « 26000 » ou « 26000 Valence »."),
            format!("We do not know \"{typed}\": check the spelling, or write the postcode, for example \"26000\" or \"26000 Valence\"."),
        )
    })
}

/// A price in euros, in cents; empty is free (0).
pub fn price(input: &str, l: Lang) -> Result<u64, String> {
    let max = maillon_protocol::kinds::MAX_PRICE_CENTS;
    match page::parse_price(input) {
        Some(cents) if cents <= max => Ok(cents),
        Some(_) => Err(l.pick_string(
            format!(
                "Le prix ne peut pas dépasser {}.",
                page::price(Some(max), Lang::Fr)
            ),
            format!(
                "The price cannot exceed {}.",
                page::price(Some(max), Lang::En)
            ),
        )),
        None if decimals(input) > 2 => Err(l
            .pick(
                "Deux chiffres au plus après la virgule, par exemple 15,50.",
                "Two digits at most after the decimal point, for example 15.50.",
            )
            .into()),
        None => Err(l.pick_string(
            format!(
                "« {} » n'est pas un prix : écrivez seulement des chiffres, par exemple 15 ou 15,50 ; laissez vide si c'est gratuit.",
                input.trim()
            ),
            format!(
                "\"{}\" is not a price: write digits only, for example 15 or 15.50; leave empty if free.",
                input.trim()
            ),
        )),
    }
}

/// The digits after the only decimal separator of an otherwise numeric input; 0 otherwise.
fn decimals(input: &str) -> usize {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€')
        .collect();
    match cleaned.split_once([',', '.']) {
        Some((whole, fraction))
            if whole.bytes().all(|b| b.is_ascii_digit())
                && !fraction.is_empty()
                && fraction.bytes().all(|b| b.is_ascii_digit()) =>
        {
            fraction.len()
        }
        _ => 0,
    }
}

/// A listing's title, trimmed.
pub fn title(input: &str, l: Lang) -> Result<String, String> {
    let title = input.trim();
    if title.is_empty() {
        return Err(l
            .pick(
                "Donnez un titre à votre annonce.",
                "Give your listing a title.",
            )
            .into());
    }
    if title.len() < TITLE_MIN_BYTES {
        return Err(l
            .pick(
                "Le titre est trop court : 3 caractères au moins.",
                "The title is too short: 3 characters at least.",
            )
            .into());
    }
    if title.len() > TITLE_MAX_BYTES {
        return Err(too_long(
            l.pick("Le titre", "The title"),
            title.len() - TITLE_MAX_BYTES,
            TITLE_MAX_BYTES,
            l,
        ));
    }
    Ok(title.to_string())
}

/// A message of a transaction, trimmed.
pub fn message(input: &str, l: Lang) -> Result<String, String> {
    let message = input.trim();
    if message.is_empty() {
        return Err(l
            .pick(
                "Écrivez votre message avant de l'envoyer.",
                "Write your message before sending it.",
            )
            .into());
    }
    if message.len() > MESSAGE_MAX_BYTES {
        return Err(too_long(
            l.pick("Votre message", "Your message"),
            message.len() - MESSAGE_MAX_BYTES,
            MESSAGE_MAX_BYTES,
            l,
        ));
    }
    Ok(message.to_string())
}

/// "Le titre est trop long de 14 signes…": lengths count UTF-8 bytes, as the protocol does,
/// so the sentence says that an accented letter counts twice.
fn too_long(what: &str, excess: usize, max: usize, l: Lang) -> String {
    l.pick_string(
        format!("{what} est trop long de {excess} signe{} : {} au plus (une lettre accentuée compte pour deux).", if excess > 1 { "s" } else { "" }, page::group_thousands(max as u64, Lang::Fr)),
        format!("{what} is {excess} too long: {max} at most (an accented letter counts as two)."),
    )
}

/// A search's words: none when the text holds neither letter nor digit.
pub fn search_words(input: &str, l: Lang) -> Result<(), String> {
    let typed = input.trim();
    if typed.is_empty() || typed.chars().any(char::is_alphanumeric) {
        return Ok(());
    }
    Err(l.pick_string(
        format!("« {typed} » ne contient ni lettre ni chiffre : les annonces ci-dessous ne sont pas filtrées par des mots."),
        format!("\"{typed}\" has no letter or digit: the listings below are not filtered by words."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Lang = Lang::Fr;

    #[test]
    fn a_missing_place_is_not_called_unknown() {
        assert!(place("  ", L)
            .unwrap_err()
            .starts_with("Indiquez la commune"));
        let unknown = place("Trifouilly-les-Oies", L).unwrap_err();
        assert!(unknown.contains("« Trifouilly-les-Oies »"), "{unknown}");
        assert_eq!(place("26000", L).expect("known").postcode, "26000");
    }

    #[test]
    fn each_bad_price_says_what_is_wrong() {
        assert_eq!(price("", L), Ok(0));
        assert_eq!(price("15,50 €", L), Ok(1550));
        assert!(price("15,555", L)
            .unwrap_err()
            .starts_with("Deux chiffres au plus"));
        assert!(price("douze", L)
            .unwrap_err()
            .starts_with("« douze » n'est pas un prix"));
        assert!(price("-3", L).unwrap_err().contains("« -3 »"));
        assert!(price("1,2,3", L).unwrap_err().contains("n'est pas un prix"));
        let too_high = price("99999999999", L).unwrap_err();
        assert!(
            too_high.starts_with("Le prix ne peut pas dépasser"),
            "{too_high}"
        );
    }

    #[test]
    fn a_title_too_long_says_by_how_much_in_the_protocols_count() {
        assert_eq!(title("  Vélo  ", L), Ok("Vélo".to_string()));
        assert!(title("", L).unwrap_err().starts_with("Donnez un titre"));
        assert!(title("ab", L).unwrap_err().contains("trop court"));
        let long = "é".repeat(61);
        assert_eq!(
            title(&long, L).unwrap_err(),
            "Le titre est trop long de 2 signes : 120 au plus (une lettre accentuée compte pour deux)."
        );
        assert_eq!(title(&"a".repeat(120), L).map(|t| t.len()), Ok(120));
    }

    #[test]
    fn an_empty_or_long_message_gets_a_sentence() {
        assert!(message(" \n ", L)
            .unwrap_err()
            .starts_with("Écrivez votre message"));
        assert!(message(&"a".repeat(2001), L)
            .unwrap_err()
            .starts_with("Votre message est trop long de 1 signe :"));
        assert_eq!(message(" Bonjour ", L), Ok("Bonjour".to_string()));
    }

    #[test]
    fn a_search_of_punctuation_only_is_named() {
        assert_eq!(search_words("vélo", L), Ok(()));
        assert_eq!(search_words("", L), Ok(()));
        assert!(search_words(" ?! … ", L)
            .unwrap_err()
            .starts_with("« ?! … » ne contient"));
    }
}
