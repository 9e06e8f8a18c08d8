//! What every page shows around its content, and the formatting of prices, dates, keys and
//! distances, in the visitor's language.

use maillon_protocol::{PublicKey, RecordId, Timestamp};

use crate::assets;
use crate::session::{Lang, Visitor};

/// The frame of every page.
#[derive(Clone, Debug)]
pub struct Page {
    /// The language.
    pub l: Lang,
    /// The site's name.
    pub site_name: String,
    /// The node's name.
    pub node_name: String,
    /// The signed-in member's display name.
    pub user_name: Option<String>,
    /// Whether the signed-in visitor is in good standing (a candidate sees their
    /// application instead of "Publish" and "My transactions").
    pub is_member: bool,
    /// Whether the signed-in visitor runs this node.
    pub is_operator: bool,
    /// Whether the signed-in visitor sits on the charter's council.
    pub is_council: bool,
    /// Whether the signed-in visitor is a moderator now.
    pub is_moderator: bool,
    /// Unseen notifications.
    pub notifications: usize,
    /// The CSRF token for forms.
    pub csrf: String,
    /// A one-off confirmation to show.
    pub flash: Option<String>,
    /// The site has a donation page: the footer links to it.
    pub takes_donations: bool,
    /// The stylesheet's address.
    pub css_url: &'static str,
    /// The script's address.
    pub js_url: &'static str,
}

impl Page {
    /// A frame without a visitor (error pages).
    pub fn bare(l: Lang) -> Page {
        Page {
            l,
            site_name: "Maillon".into(),
            node_name: String::new(),
            user_name: None,
            is_member: false,
            is_operator: false,
            is_council: false,
            is_moderator: false,
            notifications: 0,
            csrf: String::new(),
            flash: None,
            takes_donations: false,
            css_url: assets::css_url(),
            js_url: assets::js_url(),
        }
    }

    /// A frame for a visitor.
    pub fn for_visitor(visitor: &Visitor, site_name: &str, node_name: &str) -> Page {
        Page {
            l: visitor.lang,
            site_name: site_name.to_string(),
            node_name: node_name.to_string(),
            user_name: None,
            is_member: false,
            is_operator: false,
            is_council: false,
            is_moderator: false,
            notifications: 0,
            csrf: visitor.csrf.clone(),
            flash: None,
            takes_donations: false,
            css_url: assets::css_url(),
            js_url: assets::js_url(),
        }
    }
}

/// A price in euros, French style: "1 250,50 €", or "Gratuit" when zero or absent.
pub fn price(cents: Option<u64>, l: Lang) -> String {
    match cents {
        None | Some(0) => l.pick("Gratuit", "Free").to_string(),
        Some(c) => {
            let euros = group_thousands(c / 100, l);
            match (c % 100, l) {
                (0, Lang::Fr) => format!("{euros} €"),
                (0, Lang::En) => format!("€{euros}"),
                (rest, Lang::Fr) => format!("{euros},{rest:02} €"),
                (rest, Lang::En) => format!("€{euros}.{rest:02}"),
            }
        }
    }
}

/// A number with its noun agreed: `counted(3, ("jour", "jours"), ("day", "days"), l)` is
/// "3 jours". French takes the singular for 0 and 1, English for 1 only.
pub fn counted(n: u64, fr: (&str, &str), en: (&str, &str), l: Lang) -> String {
    match l {
        Lang::Fr => format!("{n} {}", if n > 1 { fr.1 } else { fr.0 }),
        Lang::En => format!("{n} {}", if n == 1 { en.0 } else { en.1 }),
    }
}

/// "1 nouvelle annonce", "3 nouvelles annonces".
pub fn new_listings(count: usize, l: Lang) -> String {
    if count > 1 {
        l.pick_string(
            format!("{count} nouvelles annonces"),
            format!("{count} new listings"),
        )
    } else {
        l.pick_string(
            format!("{count} nouvelle annonce"),
            format!("{count} new listing"),
        )
    }
}

/// `value` with its thousands grouped: a narrow no-break space in French, a comma in English.
pub fn group_thousands(value: u64, l: Lang) -> String {
    let digits = value.to_string();
    let separator = l.pick("\u{202f}", ",");
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push_str(separator);
        }
        out.push(ch);
    }
    out
}

/// Parses a price typed by a member ("12", "12,50", "12.5 €", "1 200") into cents.
pub fn parse_price(text: &str) -> Option<u64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{202f}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Some(0);
    }
    let (whole, fraction) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 2 {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let euros: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: u64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<u64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    euros.checked_mul(100)?.checked_add(cents)
}

/// A date, "26/11/2026" or "2026-11-26".
pub fn date(at: Timestamp, l: Lang) -> String {
    let (y, m, d, _, _) = civil(at);
    match l {
        Lang::Fr => format!("{d:02}/{m:02}/{y}"),
        Lang::En => format!("{y}-{m:02}-{d:02}"),
    }
}

/// A date and time in UTC, "26/11/2026 à 14:05".
pub fn date_time(at: Timestamp, l: Lang) -> String {
    let (_, _, _, h, min) = civil(at);
    match l {
        Lang::Fr => format!("{} à {h:02}h{min:02}", date(at, l)),
        Lang::En => format!("{} at {h:02}:{min:02} UTC", date(at, l)),
    }
}

/// Year, month, day, hour, minute of a UTC time (Howard Hinnant's civil-from-days).
fn civil(at: Timestamp) -> (i64, u32, u32, u32, u32) {
    let secs = (at.0 / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / 3600) as u32, ((rem % 3600) / 60) as u32)
}

/// A distance, "à 12 km", "à 800 m", or "tout près" under 100 m (places are towns, so
/// that is the same town).
pub fn distance(km: f64, l: Lang) -> String {
    if km < 0.1 {
        l.pick("tout près", "very close").into()
    } else if km < 1.0 {
        let metres = ((km * 10.0).round() as u64) * 100;
        l.pick_string(format!("à {metres} m"), format!("{metres} m away"))
    } else {
        let km = km.round() as u64;
        l.pick_string(format!("à {km} km"), format!("{km} km away"))
    }
}

/// A key in URLs: lowercase hex.
pub fn key_param(key: &PublicKey) -> String {
    key.to_hex()
}

/// A record id in URLs: lowercase hex.
pub fn id_param(id: &RecordId) -> String {
    id.to_hex()
}

/// Reads a key from a URL segment.
pub fn parse_key(text: &str) -> Option<PublicKey> {
    PublicKey::from_hex(text).ok()
}

/// Reads a record id from a URL segment.
pub fn parse_id(text: &str) -> Option<RecordId> {
    RecordId::from_hex(text).ok()
}

/// A co-signature code to send to someone: the signer's key then the signature, in hex.
pub fn signature_code(key: &PublicKey, signature: &maillon_protocol::Signature) -> String {
    format!("{}{}", key.to_hex(), signature.to_hex())
}

/// Reads a [`signature_code`]; `None` unless it is 192 hex digits.
pub fn parse_signature_code(code: &str) -> Option<(PublicKey, maillon_protocol::Signature)> {
    let bytes = hex::decode(code.trim()).ok().filter(|b| b.len() == 96)?;
    let key = PublicKey(bytes[..32].try_into().ok()?);
    let signature = maillon_protocol::Signature(bytes[32..].try_into().ok()?);
    Some((key, signature))
}

/// A short fingerprint of a key for people to compare: "3f2a·91c0".
pub fn fingerprint(key: &PublicKey) -> String {
    let hex = key.to_hex();
    format!("{}·{}", &hex[..4], &hex[4..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_agree_with_their_nouns() {
        let days = |n, l| counted(n, ("jour", "jours"), ("day", "days"), l);
        assert_eq!(days(0, Lang::Fr), "0 jour");
        assert_eq!(days(1, Lang::Fr), "1 jour");
        assert_eq!(days(2, Lang::Fr), "2 jours");
        assert_eq!(days(0, Lang::En), "0 days");
        assert_eq!(days(1, Lang::En), "1 day");
        assert_eq!(days(7, Lang::En), "7 days");
    }

    #[test]
    fn signature_codes_round_trip_and_refuse_anything_else() {
        let key = maillon_protocol::testkit::key("conseil");
        let signature = key.sign(b"message");
        let code = signature_code(&key.public_key(), &signature);
        assert_eq!(code.len(), 192);
        assert_eq!(
            parse_signature_code(&format!("  {code}\n")),
            Some((key.public_key(), signature))
        );
        assert_eq!(parse_signature_code(&code[..190]), None);
        assert_eq!(parse_signature_code(&code.replace('a', "z")), None);
    }

    #[test]
    fn prices_read_and_print_the_french_way() {
        assert_eq!(parse_price("12"), Some(1200));
        assert_eq!(parse_price("12,5"), Some(1250));
        assert_eq!(parse_price("1 200,05 €"), Some(120_005));
        assert_eq!(parse_price(""), Some(0));
        assert_eq!(parse_price("12,345"), None);
        assert_eq!(parse_price("douze"), None);
        assert_eq!(parse_price("-3"), None);
        assert_eq!(price(Some(120_005), Lang::Fr), "1\u{202f}200,05 €");
        assert_eq!(price(Some(1500), Lang::En), "€15");
        assert_eq!(price(None, Lang::Fr), "Gratuit");
    }

    #[test]
    fn dates_are_civil_utc_dates() {
        // 2026-11-26T14:05:00Z
        let at = Timestamp(1_795_701_900_000);
        assert_eq!(date(at, Lang::Fr), "26/11/2026");
        assert_eq!(date(at, Lang::En), "2026-11-26");
        assert_eq!(date_time(at, Lang::Fr), "26/11/2026 à 14h05");
        assert_eq!(date(Timestamp(0), Lang::En), "1970-01-01");
    }

    #[test]
    fn distances_round_sensibly() {
        assert_eq!(new_listings(1, Lang::Fr), "1 nouvelle annonce");
        assert_eq!(new_listings(3, Lang::Fr), "3 nouvelles annonces");
        assert_eq!(new_listings(2, Lang::En), "2 new listings");
        assert_eq!(distance(0.4, Lang::Fr), "à 400 m");
        assert_eq!(distance(0.44, Lang::En), "400 m away");
        assert_eq!(distance(0.0, Lang::Fr), "tout près");
        assert_eq!(distance(0.04, Lang::En), "very close");
        assert_eq!(distance(12.4, Lang::Fr), "à 12 km");
        assert_eq!(distance(12.6, Lang::En), "13 km away");
    }
}
