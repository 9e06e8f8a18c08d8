//! Listings as result lists show them: cards, and categories and intents in words.

use maillon_protocol::kinds::{Category, Intent};

use crate::backend::{Backend, ListingView};
use crate::page;
use crate::routes::thumbnails::{PhotoSize, PhotoSources};
use crate::session::Lang;

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
