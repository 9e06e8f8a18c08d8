//! The search page's map view: the listings found, grouped by place, as points on the map of
//! France, with the same places as a list of links (the map's text equivalent).

use std::collections::BTreeMap;

use crate::backend::SearchPage;
use crate::drawing::france_map::{self, MapPoint};
use crate::search_form::{encode, SearchParams};
use crate::session::Lang;

/// Listings placed on the map at most.
pub const MAP_MAX: usize = 500;

/// The map view of a search.
#[derive(Clone, Debug)]
pub struct MapView {
    /// The picture.
    pub svg: String,
    /// The places, in words, each a link to the listings there.
    pub places: Vec<(String, String)>,
    /// What the map shows, in a sentence.
    pub caption: String,
    /// The outlines' credit.
    pub credit: &'static str,
}

/// The map of a search's results (up to [`MAP_MAX`]).
pub fn map_view(results: &SearchPage, params: &SearchParams, l: Lang) -> MapView {
    let mut by_place: BTreeMap<(String, String), MapPoint> = BTreeMap::new();
    for (view, _) in &results.hits {
        let listing = &view.listing;
        let key = (listing.postcode.clone(), listing.town.clone());
        by_place
            .entry(key)
            .or_insert_with(|| MapPoint {
                position: listing.position,
                count: 0,
                label: String::new(),
                link: near_link(params, &listing.postcode),
            })
            .count += 1;
    }
    let mut points: Vec<MapPoint> = by_place
        .into_iter()
        .map(|((postcode, town), mut point)| {
            point.label = places_label(point.count, &town, &postcode, l);
            point
        })
        .collect();
    points.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    let shown: usize = points.iter().map(|p| p.count).sum();
    let caption = if results.total > shown {
        l.pick_string(
            format!(
                "Les {shown} premières annonces sur {}, en {} lieux.",
                results.total,
                points.len()
            ),
            format!(
                "The first {shown} of {} listings, in {} places.",
                results.total,
                points.len()
            ),
        )
    } else {
        let places = points.len();
        match (shown, places) {
            (0, _) => l
                .pick(
                    "Aucune annonce à placer sur la carte.",
                    "No listing to place on the map.",
                )
                .to_string(),
            (1, _) => l
                .pick("Une annonce sur la carte.", "One listing on the map.")
                .to_string(),
            (n, 1) => l.pick_string(
                format!("{n} annonces, en un lieu."),
                format!("{n} listings, in one place."),
            ),
            (n, p) => l.pick_string(
                format!("{n} annonces, en {p} lieux."),
                format!("{n} listings, in {p} places."),
            ),
        }
    };
    MapView {
        svg: france_map::svg(&points, crate::assets::map_url(), l),
        places: points
            .iter()
            .map(|p| (p.label.clone(), p.link.clone()))
            .collect(),
        caption,
        credit: france_map::credit(l),
    }
}

fn places_label(count: usize, town: &str, postcode: &str, l: Lang) -> String {
    match count {
        1 => l.pick_string(
            format!("1 annonce à {town} ({postcode})"),
            format!("1 listing in {town} ({postcode})"),
        ),
        n => l.pick_string(
            format!("{n} annonces à {town} ({postcode})"),
            format!("{n} listings in {town} ({postcode})"),
        ),
    }
}

/// The same search as a list, around a postcode.
fn near_link(params: &SearchParams, postcode: &str) -> String {
    let near = SearchParams {
        pres: postcode.to_string(),
        rayon: "5".into(),
        vue: String::new(),
        page: String::new(),
        ..params.clone()
    };
    format!("/recherche?{}", encode(&near))
}
