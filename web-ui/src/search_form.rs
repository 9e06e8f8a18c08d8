//! The search form: its fields as typed ([`SearchParams`]), the query they make or what is
//! wrong with them, and their query string. Pages and saved-search notifications share it.

use maillon_protocol::kinds::{Category, Intent, Position};
use maillon_protocol::PublicKey;
use serde::Deserialize;

use crate::backend::{Backend, SearchQuery, SortOrder};
use crate::places::Places;
use crate::session::Lang;

/// Results per page.
pub const PER_PAGE: usize = 20;
/// The deepest page served.
pub const MAX_PAGE: usize = 50;

/// The search form's fields, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchParams {
    /// Words.
    pub q: String,
    /// Category code.
    pub categorie: String,
    /// `offre` or `demande`.
    pub sens: String,
    /// Lowest price, euros.
    pub prix_min: String,
    /// Highest price, euros.
    pub prix_max: String,
    /// Postcode or town.
    pub pres: String,
    /// Radius in km.
    pub rayon: String,
    /// Largest trust distance in hops.
    pub liens: String,
    /// Order.
    pub tri: String,
    /// Page from 1.
    pub page: String,
    /// `carte` for the map view.
    pub vue: String,
}

/// A problem with one field of the search form.
#[derive(Clone, Debug, Default)]
pub struct SearchErrors {
    /// The price fields.
    pub price: Option<String>,
    /// The place field.
    pub place: Option<String>,
    /// The words: none among what was typed.
    pub text: Option<String>,
}

impl SearchErrors {
    /// Whether any field is wrong.
    pub fn any(&self) -> bool {
        self.price.is_some() || self.place.is_some() || self.text.is_some()
    }
}

/// Turns the form into a query, or says what is wrong with it.
pub fn to_query<B: Backend>(
    backend: &B,
    params: &SearchParams,
    viewer: Option<&PublicKey>,
    l: Lang,
) -> (SearchQuery, SearchErrors) {
    let mut errors = SearchErrors {
        text: crate::form_text::search_words(&params.q, l).err(),
        ..SearchErrors::default()
    };
    let mut query = SearchQuery {
        text: params.q.chars().take(200).collect(),
        category: params
            .categorie
            .parse::<u64>()
            .ok()
            .and_then(Category::from_code),
        intent: match params.sens.as_str() {
            "offre" => Some(Intent::Offer),
            "demande" => Some(Intent::Request),
            _ => None,
        },
        per_page: PER_PAGE,
        page: params.page.parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE) - 1,
        ..SearchQuery::default()
    };
    let mut price = |text: &str| -> Option<u64> {
        if text.trim().is_empty() {
            return None;
        }
        crate::form_text::price(text, l)
            .map_err(|m| errors.price = Some(m))
            .ok()
    };
    query.price_min_cents = price(&params.prix_min);
    query.price_max_cents = price(&params.prix_max);
    query.origin = origin(backend, params, viewer, l, &mut errors);
    if query.origin.is_some() {
        query.radius_km = params
            .rayon
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| r.min(1000.0));
    }
    if let (Some(viewer), Ok(hops)) = (viewer, params.liens.parse::<u32>()) {
        if (1..=6).contains(&hops) {
            query.authors = Some(backend.within_hops(viewer, hops));
        }
    }
    query.sort = match params.tri.as_str() {
        "recent" => SortOrder::Newest,
        "proche" if query.origin.is_some() => SortOrder::Nearest,
        "une" => SortOrder::BumpedFirst,
        _ if query.text.trim().is_empty() => SortOrder::Newest,
        _ => SortOrder::Relevance,
    };
    (query, errors)
}

fn origin<B: Backend>(
    backend: &B,
    params: &SearchParams,
    viewer: Option<&PublicKey>,
    l: Lang,
    errors: &mut SearchErrors,
) -> Option<Position> {
    let typed = params.pres.trim();
    if typed.is_empty() {
        // From home when signed in.
        return viewer
            .and_then(|key| backend.member(key).profile)
            .map(|profile| profile.position);
    }
    match Places::embedded().lookup(typed) {
        Ok(place) => Some(place.position),
        Err(_) => {
            errors.place = Some(l.pick_string(
                format!("Nous ne connaissons pas « {typed} ». Écrivez un code postal français à 5 chiffres, par exemple 26000."),
                format!("We do not know \"{typed}\". Write a 5-digit French postcode, for example 26000."),
            ));
            None
        }
    }
}

/// The query of a saved search's query string, for notifications.
pub fn search_query_from<B: Backend>(
    backend: &B,
    query_string: &str,
    viewer: Option<&PublicKey>,
) -> Option<SearchQuery> {
    let params: SearchParams = serde_urlencoded_from(query_string)?;
    let (query, errors) = to_query(backend, &params, viewer, Lang::Fr);
    (!errors.any()).then_some(query)
}

/// The form of a query string; `None` when it does not parse.
pub fn serde_urlencoded_from(text: &str) -> Option<SearchParams> {
    axum::extract::Query::<SearchParams>::try_from_uri(&format!("/?{text}").parse().ok()?)
        .ok()
        .map(|q| q.0)
}

/// The query string of a form, without empty fields.
pub fn encode(p: &SearchParams) -> String {
    let fields = [
        ("q", &p.q),
        ("categorie", &p.categorie),
        ("sens", &p.sens),
        ("prix_min", &p.prix_min),
        ("prix_max", &p.prix_max),
        ("pres", &p.pres),
        ("rayon", &p.rayon),
        ("liens", &p.liens),
        ("tri", &p.tri),
        ("vue", &p.vue),
        ("page", &p.page),
    ];
    fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (space as `+`).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
