//! The home page and the charter.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use maillon_protocol::kinds::{Category, Profile};

use super::view::{card, category_label, Card};
use super::{render, V};
use crate::backend::{Backend, SearchQuery, SortOrder};
use crate::error::AppError;
use crate::page::Page;
use crate::session::Lang;
use crate::Shared;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    p: Page,
    shortcuts: Vec<Shortcut>,
    sections: Vec<Section>,
    is_candidate: bool,
    /// Remind the member, once a year, that the site lives on donations.
    remind_donation: bool,
}

/// A category as a shortcut to its search.
struct Shortcut {
    label: &'static str,
    link: String,
}

/// A list of listings on the home page, with a link to the search that shows them all.
struct Section {
    heading: String,
    more: String,
    cards: Vec<Card>,
}

/// Listings in each home page section.
const PER_SECTION: usize = 6;
/// The radius of "around your town", in km.
const AROUND_KM: f64 = 30.0;

/// What the home page may be told after an action.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AfterParams {
    efface: Option<String>,
}

/// `/`: the newest listings and the search form.
pub async fn home<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    axum::extract::Query(after): axum::extract::Query<AfterParams>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let viewer = visitor.user.as_ref().map(|u| u.key);
    let member = viewer.map(|key| state.backend.member(&key));
    let is_candidate = member
        .as_ref()
        .is_some_and(|m| !m.status.is_in_good_standing());
    let home = member.and_then(|m| m.profile);
    let sections = match &home {
        Some(profile) => around_home(&state.backend, profile, l)?,
        None => vec![newest_everywhere(&state.backend, l)?],
    };
    let mut p = state.page(&visitor);
    if after.efface.is_some() && visitor.user.is_none() {
        p.flash = Some(l.pick_string(
            "Votre compte a été effacé. Les autres sites du réseau effacent vos données à leur tour."
                .to_string(),
            "Your account was erased. The network's other sites are erasing your data too."
                .to_string(),
        ));
    }
    render(Home {
        p,
        shortcuts: shortcuts(l),
        sections,
        is_candidate,
        remind_donation: visitor
            .user
            .as_ref()
            .is_some_and(|user| super::funding::reminds(&state.backend, user)),
    })
}

fn shortcuts(l: Lang) -> Vec<Shortcut> {
    Category::ALL
        .iter()
        .map(|category| Shortcut {
            label: category_label(*category, l),
            link: format!("/recherche?categorie={}", *category as u64),
        })
        .collect()
}

fn cards_of<B: Backend>(backend: &B, query: &SearchQuery, l: Lang) -> Result<Vec<Card>, AppError> {
    let page = backend.search(query)?;
    Ok(page
        .hits
        .iter()
        .map(|(listing, distance)| card(backend, listing, *distance, l))
        .collect())
}

/// For a visitor, or a member without profile: the newest listings of the whole network.
fn newest_everywhere<B: Backend>(backend: &B, l: Lang) -> Result<Section, AppError> {
    let query = SearchQuery {
        sort: SortOrder::Newest,
        per_page: PER_SECTION,
        ..SearchQuery::default()
    };
    Ok(Section {
        heading: l.pick("Nouvelles annonces", "New listings").to_string(),
        more: "/recherche?tri=recent".to_string(),
        cards: cards_of(backend, &query, l)?,
    })
}

/// For a member: the newest listings around their town, then the nearest ones.
fn around_home<B: Backend>(
    backend: &B,
    profile: &Profile,
    l: Lang,
) -> Result<Vec<Section>, AppError> {
    let newest = SearchQuery {
        sort: SortOrder::Newest,
        per_page: PER_SECTION,
        origin: Some(profile.position),
        radius_km: Some(AROUND_KM),
        ..SearchQuery::default()
    };
    let nearest = SearchQuery {
        sort: SortOrder::Nearest,
        per_page: PER_SECTION,
        origin: Some(profile.position),
        ..SearchQuery::default()
    };
    let town = &profile.town;
    Ok(vec![
        Section {
            heading: l.pick_string(
                format!("Nouvelles annonces autour de {town}"),
                format!("New listings around {town}"),
            ),
            more: format!("/recherche?rayon={AROUND_KM}&tri=recent"),
            cards: cards_of(backend, &newest, l)?,
        },
        Section {
            heading: l.pick_string(
                format!("Les plus proches de {town}"),
                format!("Nearest to {town}"),
            ),
            more: "/recherche?tri=proche".to_string(),
            cards: cards_of(backend, &nearest, l)?,
        },
    ])
}

#[derive(Template)]
#[template(path = "charter.html")]
struct CharterPage {
    p: Page,
    name: String,
    rules: String,
    sponsors_required: u64,
    answer_days: u64,
    founders: usize,
}

/// `/charte`: the network's rules.
pub async fn charter<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    let charter = state.backend.site().charter;
    render(CharterPage {
        p: state.page(&visitor),
        name: charter.name.clone(),
        rules: charter.rules.clone(),
        sponsors_required: charter.sponsors_required,
        answer_days: charter.answer_deadline_ms.div_ceil(24 * 3600 * 1000),
        founders: charter.founders.len(),
    })
}
