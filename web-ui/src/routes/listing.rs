//! The listing page: photos, price, place and distance, the author's trust path,
//! responsiveness and reviews, opening a transaction, and the author's page after publishing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::TransactionOpen;
use maillon_protocol::RecordId;
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::funding::{feature_line, FeatureLine};
use super::thumbnails::{PhotoSize, PhotoSources};
use super::view::{category_label, intent_label, named_from, Named};
use super::view::{responsiveness_text, review_lines_of, trust_line_of, ReviewLine, TrustLine};
use super::{own_site, render, render_form, sign_and_submit, V};
use crate::backend::{Backend, ListingPageView};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::places::distance_km;
use crate::session::{Lang, Visitor};
use crate::Shared;

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    p: Page,
    series: String,
    title: String,
    description: String,
    price: String,
    intent: &'static str,
    category: &'static str,
    town: String,
    distance: String,
    published: String,
    updated: String,
    photos: Vec<PhotoSources>,
    author: Named,
    trust: Option<TrustLine>,
    /// The viewer's own listing: no trust path to show.
    own: bool,
    responsiveness: String,
    reviews: Vec<ReviewLine>,
    is_author: bool,
    can_transact: bool,
    why_not: Option<String>,
    error: Option<String>,
    message: String,
    answer_days: u64,
    hidden_reason: Option<String>,
    corrections: Vec<(String, String)>,
    report_link: Option<String>,
    /// Under a bump in force: until when, for every visitor.
    featured_until: Option<String>,
    /// For the author: featuring this listing.
    feature: Option<FeatureLine>,
}

/// Reviews on a listing's page.
const REVIEWS_SHOWN: usize = 3;

fn listing_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    read: &ListingPageView,
    error: Option<String>,
    message: String,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let view = &read.listing;
    let listing = &view.listing;
    let viewer = read.viewer.as_ref();
    let is_author = viewer.is_some_and(|v| v.key == view.author);
    let why_not = if read.hidden && !is_author {
        Some(l.pick(
            "Cette annonce a été masquée par la modération.",
            "This listing was hidden by the moderators.",
        ))
    } else {
        match viewer.map(|v| v.in_good_standing) {
            None => Some(l.pick(
                "Connectez-vous pour contacter l'auteur.",
                "Sign in to contact the author.",
            )),
            Some(false) => Some(l.pick(
                "Seuls les membres peuvent ouvrir une transaction.",
                "Only members can open a transaction.",
            )),
            Some(true) if view.withdrawn => Some(l.pick(
                "Cette annonce a été retirée.",
                "This listing was withdrawn.",
            )),
            Some(true) => None,
        }
    };
    let feature = (is_author && !view.withdrawn && !read.hidden)
        .then(|| feature_line(&state.backend, view, l));
    let failed = error.is_some();
    render_form(
        ListingPage {
            p: state.page(visitor),
            series: view.series.to_hex(),
            title: listing.title.clone(),
            description: listing.description.clone(),
            price: page::price(listing.price_cents, l),
            intent: intent_label(listing.intent, l),
            category: category_label(listing.category, l),
            town: format!("{} ({})", listing.town, listing.postcode),
            distance: read
                .origin
                .map(|o| page::distance(distance_km(o, listing.position), l))
                .unwrap_or_default(),
            published: page::date(view.published, l),
            updated: page::date(view.updated, l),
            photos: listing
                .photos
                .iter()
                .map(|h| PhotoSources::of(h, PhotoSize::Medium))
                .collect(),
            author: named_from(&read.names, &[view.author], l).remove(0),
            trust: read
                .trust
                .as_ref()
                .and_then(|report| trust_line_of(report, &read.names, l)),
            own: is_author,
            responsiveness: responsiveness_text(
                read.reputation.due,
                read.reputation.answered_in_time,
                l,
            ),
            reviews: review_lines_of(&read.reputation.reviews, &read.names, l),
            is_author,
            can_transact: !is_author && why_not.is_none(),
            why_not: if is_author {
                None
            } else {
                why_not.map(str::to_string)
            },
            error,
            message,
            answer_days: read.answer_deadline_ms.div_ceil(24 * 3600 * 1000),
            hidden_reason: read.hidden_reason.clone(),
            corrections: read
                .corrections
                .iter()
                .map(|(at, note)| (page::date(*at, l), note.clone()))
                .collect(),
            report_link: (viewer.is_some() && !is_author)
                .then(|| format!("/signaler?annonce={}", view.series.to_hex())),
            featured_until: view
                .bump_until
                .filter(|until| *until > read.now)
                .map(|until| page::date_time(until, l)),
            feature,
        },
        failed,
    )
}

/// `/annonce/{series}`.
pub async fn listing<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(series): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let series = page::parse_id(&series).ok_or(AppError::NotFound(l))?;
    let viewer = visitor.user.as_ref().map(|u| u.key);
    let read = match state
        .backend
        .listing_page(&series, viewer.as_ref(), REVIEWS_SHOWN)
    {
        Some(read) => read,
        None => {
            arriving_listing(&state, &series, l).await?;
            state
                .backend
                .listing_page(&series, viewer.as_ref(), REVIEWS_SHOWN)
                .ok_or(AppError::NotYetHere(l))?
        }
    };
    let is_author = viewer == Some(read.listing.author);
    if read.listing.withdrawn && !is_author {
        return Err(AppError::NotFound(l));
    }
    // A hidden listing is shown only to its author and to moderators.
    let may_see_hidden = is_author || read.viewer.is_some_and(|v| v.is_moderator);
    if read.hidden && !may_see_hidden {
        return Err(AppError::NotFound(l));
    }
    listing_page(&state, &visitor, &read, None, String::new())
}

/// A listing this site does not show yet: asked from the peers. « Page introuvable » if no
/// peer has it, or it is not a listing, or its body was erased, or it has no effect (its
/// author was not in good standing when signing it); « pas encore arrivé » if it is held
/// but cannot be shown yet.
async fn arriving_listing<B: Backend>(
    state: &Shared<B>,
    series: &RecordId,
    l: Lang,
) -> Result<(), AppError> {
    if !state.backend.fetch_record(series).await? {
        return Err(AppError::NotFound(l));
    }
    let is_listing = state.backend.record(series)?.is_some_and(|r| {
        let h = r.header();
        h.kind == maillon_protocol::Kind::Listing
            && r.body().is_some()
            && state.backend.has_effect(&h.author, h.created)
    });
    if is_listing {
        Ok(())
    } else {
        Err(AppError::NotFound(l))
    }
}

/// The transaction form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpenFields {
    csrf: String,
    message: String,
}
with_csrf!(OpenFields);

/// `POST /annonce/{series}/transaction`: opens a transaction with a first message.
pub async fn open_transaction<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(series): Path<String>,
    CheckedForm(f): CheckedForm<OpenFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let series = page::parse_id(&series).ok_or(AppError::NotFound(l))?;
    let read = state
        .backend
        .listing_page(&series, Some(&user.key), REVIEWS_SHOWN)
        .ok_or(AppError::NotFound(l))?;
    if read.hidden {
        return Err(AppError::NotFound(l));
    }
    if read.listing.author == user.key {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Vous ne pouvez pas ouvrir une transaction sur votre propre annonce.",
                "You cannot open a transaction on your own listing.",
            ),
        ));
    }
    let message = match crate::form_text::message(&f.message, l) {
        Ok(message) => message,
        Err(problem) => {
            return listing_page(&state, &visitor, &read, Some(problem), f.message.clone());
        }
    };
    let body = TransactionOpen {
        listing: series,
        message,
    };
    match sign_and_submit(&state.backend, &user, body.into(), None, l).await? {
        Ok(id) => Ok(Redirect::to(&format!("/transaction/{}", id.to_hex())).into_response()),
        Err(error) => listing_page(&state, &visitor, &read, Some(error), f.message.clone()),
    }
}

#[derive(Template)]
#[template(path = "published.html")]
struct PublishedPage {
    p: Page,
    series: String,
    title: String,
    edited: bool,
    share: String,
    author: String,
}

/// What the page after publishing was told.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishedParams {
    modifiee: Option<String>,
}

/// `/annonce/{series}/publiee`: the author's listing is published (or edited); what next.
/// Anyone else is sent to the listing itself.
pub async fn published<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(series): Path<String>,
    Query(params): Query<PublishedParams>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let series = page::parse_id(&series).ok_or(AppError::NotFound(l))?;
    let view = state
        .backend
        .listing(&series)
        .ok_or(AppError::NotFound(l))?;
    let link = format!("/annonce/{}", series.to_hex());
    if view.author != user.key || view.withdrawn {
        return Ok(Redirect::to(&link).into_response());
    }
    let title = view.listing.title.clone();
    render(PublishedPage {
        p: state.page(&visitor),
        series: series.to_hex(),
        share: format!("{title}\n{}{link}", own_site(&state, &headers)),
        title,
        edited: params.modifiee.is_some(),
        author: user.key.to_hex(),
    })
}
