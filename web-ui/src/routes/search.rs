//! Searching the whole network's listings: words, category, offer or request, price, distance
//! from a postcode or from home, trust distance, order and pages.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use maillon_protocol::kinds::Intent;

use super::search_map::{map_view, MapView, MAP_MAX};
use super::view::{card, category_choices, category_label, Card, Choice};
use super::{render, V};
use crate::backend::{Backend, SearchQuery};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::search_form::{
    encode, serde_urlencoded_from, to_query, SearchErrors, SearchParams, MAX_PAGE, PER_PAGE,
};
use crate::session::Lang;
use crate::Shared;

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
