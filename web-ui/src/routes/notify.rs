//! The notifications page and saved searches.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::render;
use super::view::named;
use crate::backend::{Backend, SavedSearch};
use crate::error::AppError;
use crate::notifications::{self, NoticeKind};
use crate::page::{self, Page};
use crate::session::Lang;
use crate::Shared;

/// Saved searches per member, at most.
pub const MAX_SAVED_SEARCHES: usize = 20;

/// A notification as shown.
#[derive(Clone, Debug)]
pub struct Line {
    text: String,
    link: String,
    when: String,
    fresh: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    p: Page,
    lines: Vec<Line>,
    saved: Vec<(usize, String, String)>,
}

fn describe(kind: &NoticeKind, who: &str, about: &str, l: Lang) -> String {
    match kind {
        NoticeKind::NewTransaction => l.pick_string(
            format!("{who} a ouvert une transaction sur « {about} »."),
            format!("{who} opened a transaction on \"{about}\"."),
        ),
        NoticeKind::Answered => l.pick_string(
            format!("{who} a répondu à propos de « {about} »."),
            format!("{who} answered about \"{about}\"."),
        ),
        NoticeKind::Message => l.pick_string(
            format!("Nouveau message de {who} à propos de « {about} »."),
            format!("New message from {who} about \"{about}\"."),
        ),
        NoticeKind::DeadlineNear => l.pick_string(
            format!("Répondez vite à {who} à propos de « {about} » : le délai se termine bientôt."),
            format!("Answer {who} about \"{about}\" soon: the deadline is near."),
        ),
        NoticeKind::Sponsored => l.pick_string(
            format!("{who} vous a parrainé."),
            format!("{who} sponsored you."),
        ),
        NoticeKind::SponseeExpelled => l.pick_string(
            format!("{who}, que vous avez parrainé(e), a été exclu(e) du réseau ({about}). Vous recevez un avertissement de parrain et pourrez parrainer moins de personnes."),
            format!("{who}, whom you sponsored, was expelled from the network ({about}). You get a sponsor strike and may sponsor fewer people."),
        ),
        NoticeKind::SponsorExpelled => l.pick_string(
            format!("Votre parrain {who} a été exclu du réseau. Si vous n'avez plus assez de parrains, vous êtes en période probatoire : demandez de nouveaux parrainages."),
            format!("Your sponsor {who} was expelled from the network. If you lack sponsors now, you are on probation: ask for new sponsorships."),
        ),
        NoticeKind::Warned => l.pick_string(
            format!("La modération vous a adressé un avertissement : {about}"),
            format!("The moderators warned you: {about}"),
        ),
        NoticeKind::ComplaintUpdate => l.pick_string(
            format!("Votre signalement a avancé : {about}"),
            format!("Your report moved on: {about}"),
        ),
        NoticeKind::SavedSearch { label, count } => l.pick_string(
            format!(
                "{} pour votre recherche « {label} ».",
                crate::page::new_listings(*count, Lang::Fr)
            ),
            format!(
                "{} for your search \"{label}\".",
                crate::page::new_listings(*count, Lang::En)
            ),
        ),
    }
}

/// `/notifications`: everything new, then marks it seen.
pub async fn notifications<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let Some(mut account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    let now = state.backend.now();
    let notices = notifications::collect(&state.backend, &account, now);
    let who: Vec<_> = notices.iter().filter_map(|n| n.who).collect();
    let mut names = named(&state.backend, &who, l).into_iter();
    let lines = notices
        .iter()
        .map(|n| {
            let name = if n.who.is_some() {
                names.next().map(|x| x.name).unwrap_or_default()
            } else {
                String::new()
            };
            Line {
                text: describe(&n.kind, &name, &n.about, l),
                link: n.link.clone(),
                when: page::date_time(n.at, l),
                fresh: n.at > account.notifications_seen || n.kind == NoticeKind::DeadlineNear,
            }
        })
        .collect();
    let saved = account
        .saved_searches
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.label.clone(), format!("/recherche?{}", s.query)))
        .collect();
    let page = state.page(&visitor);
    account.notifications_seen = now;
    // A saved search is seen up to the newest match shown, not up to now: a listing still on
    // its way into the search index must not be skipped.
    for saved in &mut account.saved_searches {
        let link = format!("/recherche?{}", saved.query);
        if let Some(notice) = notices.iter().find(|n| n.link == link) {
            saved.seen_until = notice.at.plus_ms(1);
        }
    }
    state.backend.update_account(&account)?;
    render(NotificationsPage {
        p: page,
        lines,
        saved,
    })
}

/// The save-search form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveFields {
    csrf: String,
    query: String,
}
with_csrf!(SaveFields);

fn label_of(query: &str, l: Lang) -> String {
    let params: crate::search_form::SearchParams =
        axum::extract::Query::try_from_uri(&format!("/?{query}").parse().unwrap_or_default())
            .map(|q| q.0)
            .unwrap_or_default();
    let mut parts = Vec::new();
    if !params.q.trim().is_empty() {
        parts.push(params.q.trim().to_string());
    }
    if !params.pres.trim().is_empty() {
        parts.push(format!(
            "{} {}",
            l.pick("près de", "near"),
            params.pres.trim()
        ));
    }
    if parts.is_empty() {
        parts.push(l.pick("toutes les annonces", "all listings").into());
    }
    parts.join(", ").chars().take(80).collect()
}

/// `POST /recherches`: saves a search to be told about new matches.
pub async fn save_search<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    CheckedForm(f): CheckedForm<SaveFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    if f.query.len() > 1000
        || crate::search_form::search_query_from(&state.backend, &f.query, Some(&user.key))
            .is_none()
    {
        return Err(AppError::BadRequest(
            l,
            l.pick(
                "Cette recherche ne peut pas être enregistrée : corrigez-la d'abord.",
                "This search cannot be saved: correct it first.",
            ),
        ));
    }
    let Some(mut account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    if !account.saved_searches.iter().any(|s| s.query == f.query) {
        if account.saved_searches.len() >= MAX_SAVED_SEARCHES {
            return Err(AppError::BadRequest(
                l,
                l.pick(
                    "Vous avez déjà 20 recherches enregistrées : supprimez-en une d'abord.",
                    "You already have 20 saved searches: delete one first.",
                ),
            ));
        }
        account.saved_searches.push(SavedSearch {
            label: label_of(&f.query, l),
            query: f.query.clone(),
            seen_until: state.backend.now(),
        });
        state.backend.update_account(&account)?;
    }
    Ok(Redirect::to("/notifications").into_response())
}

/// The delete-search form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteFields {
    csrf: String,
    index: usize,
}
with_csrf!(DeleteFields);

/// `POST /recherches/supprimer`.
pub async fn delete_search<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor: _, user }: Member,
    CheckedForm(f): CheckedForm<DeleteFields>,
) -> Result<Response, AppError> {
    let Some(mut account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    if f.index < account.saved_searches.len() {
        account.saved_searches.remove(f.index);
        state.backend.update_account(&account)?;
    }
    Ok(Redirect::to("/notifications").into_response())
}
