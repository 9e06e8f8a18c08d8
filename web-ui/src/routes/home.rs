//! The home page and the charter.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::search::{card, Card};
use super::{render, V};
use crate::backend::{Backend, SearchQuery, SortOrder};
use crate::error::AppError;
use crate::page::Page;
use crate::Shared;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    p: Page,
    recent: Vec<Card>,
    is_candidate: bool,
}

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
    let query = SearchQuery {
        sort: SortOrder::Newest,
        per_page: 10,
        ..SearchQuery::default()
    };
    let page = state.backend.search(&query)?;
    let viewer = visitor.user.as_ref().map(|u| u.key);
    let recent = page
        .hits
        .iter()
        .map(|(listing, distance)| card(&state.backend, listing, *distance, l))
        .collect();
    let is_candidate = viewer
        .map(|key| !state.backend.member(&key).status.is_in_good_standing())
        .unwrap_or(false);
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
        recent,
        is_candidate,
    })
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
