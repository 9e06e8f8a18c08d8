//! Searching the whole network's listings: words, category, offer or request, price, distance
//! from a postcode or from home, trust distance, order and pages.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use maillon_protocol::kinds::{Category, Intent, Position};
use maillon_protocol::PublicKey;
use serde::Deserialize;

use super::search_map::{map_view, MapView, MAP_MAX};
use super::thumbnails::{PhotoSize, PhotoSources};
use super::{render, V};
use crate::backend::{Backend, ListingView, SearchQuery, SortOrder};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::places::Places;
use crate::session::Lang;
use crate::Shared;

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
    fn any(&self) -> bool {
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

fn serde_urlencoded_from(text: &str) -> Option<SearchParams> {
    axum::extract::Query::<SearchParams>::try_from_uri(&format!("/?{text}").parse().ok()?)
        .ok()
        .map(|q| q.0)
}

/// A listing in a result list.
#[derive(Clone, Debug)]
pub struct Card {
    /// Link to the listing.
    pub link: String,
    /// Title.
    pub title: String,
    /// Price, formatted.
    pub price: String,
    /// Offer or request.
    pub intent: &'static str,
    /// Category label.
    pub category: &'static str,
    /// Town.
    pub town: String,
    /// Distance, formatted, or empty.
    pub distance: String,
    /// Date, formatted.
    pub date: String,
    /// The first photo's addresses.
    pub thumbnail: Option<PhotoSources>,
    /// Under a bump in force.
    pub bumped: bool,
}

/// The card of a listing.
pub fn card<B: Backend>(backend: &B, view: &ListingView, distance: Option<f64>, l: Lang) -> Card {
    let listing = &view.listing;
    Card {
        link: format!("/annonce/{}", view.series.to_hex()),
        title: listing.title.clone(),
        price: page::price(listing.price_cents, l),
        intent: intent_label(listing.intent, l),
        category: category_label(listing.category, l),
        town: format!("{} ({})", listing.town, listing.postcode),
        distance: distance.map(|d| page::distance(d, l)).unwrap_or_default(),
        date: page::date(view.updated, l),
        thumbnail: listing
            .photos
            .first()
            .map(|h| PhotoSources::of(h, PhotoSize::Small)),
        bumped: view.bump_until.is_some_and(|until| until > backend.now()),
    }
}

/// "Offre" or "Demande".
pub fn intent_label(intent: Intent, l: Lang) -> &'static str {
    match intent {
        Intent::Offer => l.pick("Offre", "Offer"),
        Intent::Request => l.pick("Demande", "Request"),
    }
}

/// A category's label.
pub fn category_label(category: Category, l: Lang) -> &'static str {
    match l {
        Lang::Fr => category.label_fr(),
        Lang::En => category.label_en(),
    }
}

/// One choice of a select list.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The value.
    pub value: String,
    /// The label.
    pub label: String,
    /// Whether chosen.
    pub selected: bool,
}

/// The categories as choices.
pub fn category_choices(selected: &str, l: Lang) -> Vec<Choice> {
    Category::ALL
        .iter()
        .map(|c| Choice {
            value: (*c as u64).to_string(),
            label: category_label(*c, l).to_string(),
            selected: selected == (*c as u64).to_string(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPageView {
    p: Page,
    f: SearchParams,
    errors: SearchErrors,
    categories: Vec<Choice>,
    recent: Vec<Card>,
    total: usize,
    previous: Option<String>,
    next: Option<String>,
    signed_in: bool,
    query_string: String,
    from_home: bool,
    /// The map view, when asked for.
    map: Option<MapView>,
    /// The same search as a list, and as a map.
    list_link: String,
    map_link: String,
    /// The filters in force, in words, for the folded filters' summary.
    active: Vec<String>,
    /// Whether the filters are shown unfolded: one of them needs correcting.
    filters_open: bool,
}

/// `/recherche`.
pub async fn search<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let raw = raw.unwrap_or_default();
    let params = serde_urlencoded_from(&raw).unwrap_or_default();
    let viewer = visitor.user.as_ref().map(|u| u.key);
    let (mut query, errors) = to_query(&state.backend, &params, viewer.as_ref(), l);
    let on_map = params.vue == "carte";
    if on_map {
        query.page = 0;
        query.per_page = MAP_MAX;
    }
    let results = state.backend.search(&query)?;
    let map = on_map.then(|| map_view(&results, &params, l));
    let view_link = |vue: &str| {
        let mut p = params.clone();
        p.vue = vue.to_string();
        p.page = String::new();
        format!("/recherche?{}", encode(&p))
    };
    let recent = results
        .hits
        .iter()
        .map(|(view, distance)| card(&state.backend, view, *distance, l))
        .collect();
    let page_link = |page: usize| {
        let mut p = params.clone();
        p.page = page.to_string();
        format!("/recherche?{}", encode(&p))
    };
    let current = query.page + 1;
    let last = results.total.div_ceil(PER_PAGE).min(MAX_PAGE);
    render(SearchPageView {
        p: state.page(&visitor),
        categories: category_choices(&params.categorie, l),
        recent,
        total: results.total,
        previous: (current > 1 && !on_map).then(|| page_link(current - 1)),
        next: (current < last && !on_map).then(|| page_link(current + 1)),
        signed_in: viewer.is_some(),
        query_string: encode(&SearchParams {
            page: String::new(),
            vue: String::new(),
            ..params.clone()
        }),
        from_home: params.pres.trim().is_empty() && query.origin.is_some(),
        list_link: view_link(""),
        map_link: view_link("carte"),
        map,
        active: active_filters(&params, &query, l),
        filters_open: errors.price.is_some() || errors.place.is_some(),
        errors,
        f: params,
    })
}

/// The filters a query applies, in words: what the folded filters' summary says.
pub fn active_filters(params: &SearchParams, query: &SearchQuery, l: Lang) -> Vec<String> {
    let mut active = Vec::new();
    if let Some(category) = query.category {
        active.push(category_label(category, l).to_string());
    }
    if let Some(intent) = query.intent {
        active.push(match intent {
            Intent::Offer => l.pick("offres", "offers").to_string(),
            Intent::Request => l.pick("demandes", "requests").to_string(),
        });
    }
    let euros = |cents| page::price(Some(cents), l);
    match (query.price_min_cents, query.price_max_cents) {
        (Some(low), Some(high)) => active.push(l.pick_string(
            format!("de {} à {}", euros(low), euros(high)),
            format!("{} to {}", euros(low), euros(high)),
        )),
        (Some(low), None) => active.push(l.pick_string(
            format!("à partir de {}", euros(low)),
            format!("from {}", euros(low)),
        )),
        (None, Some(high)) => active.push(l.pick_string(
            format!("jusqu'à {}", euros(high)),
            format!("up to {}", euros(high)),
        )),
        (None, None) => {}
    }
    if query.origin.is_some() {
        let place = params.pres.trim();
        let around = if place.is_empty() {
            l.pick("de chez vous", "of your home").to_string()
        } else {
            l.pick_string(format!("de {place}"), format!("of {place}"))
        };
        if let Some(radius) = query.radius_km {
            active.push(l.pick_string(
                format!("à moins de {radius} km {around}"),
                format!("within {radius} km {around}"),
            ));
        } else if !place.is_empty() {
            active.push(l.pick_string(format!("près {around}"), format!("near {place}")));
        }
    }
    if let (Some(_), Ok(hops)) = (&query.authors, params.liens.parse::<u32>()) {
        active.push(match hops {
            1 => l
                .pick("parrainés directement", "sponsored directly")
                .to_string(),
            n => l.pick_string(format!("au plus {n} liens"), format!("at most {n} links")),
        });
    }
    active
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
