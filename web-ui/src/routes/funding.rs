//! Funding the site: the donation page members see, the yearly reminder they can set aside,
//! a member's request to feature a listing, and the operator's page where the donation page
//! is written and feature requests are granted (a Bump signed by the node) or declined.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::Timestamp;
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::operator::require_operator;
use super::view::named;
use super::{render, render_form, CsrfOnly, V};
use crate::backend::{Backend, ListingView};
use crate::error::AppError;
use crate::funding::{
    check_donation, BumpRequest, BumpState, DonationErrors, DonationPage, BUMP_MESSAGE_MAX,
    REMINDER_EVERY_MS,
};
use crate::page::{self, Page};
use crate::session::{Lang, SignedIn, Visitor};
use crate::Shared;

#[derive(Template)]
#[template(path = "donation.html")]
struct DonationView {
    p: Page,
    page: DonationPage,
}

/// `/dons`: why and how to give.
pub async fn donation<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    let page = state
        .backend
        .donation()
        .ok_or(AppError::NotFound(visitor.lang))?;
    render(DonationView {
        p: state.page(&visitor),
        page,
    })
}

/// Whether the home page reminds this member that the site lives on donations: the site
/// takes donations, the member is in good standing, and they have not set the reminder
/// aside in the last year.
pub fn reminds<B: Backend>(backend: &B, user: &SignedIn) -> bool {
    if backend.donation().is_none() || !backend.member(&user.key).status.is_in_good_standing() {
        return false;
    }
    let dismissed = backend
        .account(&user.login)
        .ok()
        .flatten()
        .map_or(0, |account| account.donation_reminder_dismissed_ms);
    dismissed == 0 || backend.now().0 >= dismissed.saturating_add(REMINDER_EVERY_MS)
}

/// `POST /dons/rappel`: sets the reminder aside for a year.
pub async fn dismiss_reminder<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor: _, user }: Member,
    CheckedForm(_f): CheckedForm<CsrfOnly>,
) -> Result<Response, AppError> {
    if let Some(mut account) = state.backend.account(&user.login)? {
        account.donation_reminder_dismissed_ms = state.backend.now().0;
        state.backend.update_account(&account)?;
    }
    Ok(Redirect::to("/").into_response())
}

/// The feature request form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AskFields {
    csrf: String,
    message: String,
}
with_csrf!(AskFields);

/// `POST /annonce/{series}/une`: the author asks the operator to feature their listing.
pub async fn ask<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(series): Path<String>,
    CheckedForm(f): CheckedForm<AskFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let series = page::parse_id(&series).ok_or(AppError::NotFound(l))?;
    let view = state
        .backend
        .listing(&series)
        .filter(|v| !v.withdrawn)
        .ok_or(AppError::NotFound(l))?;
    if view.author != user.key {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Seul l'auteur d'une annonce peut demander sa mise à la une.",
                "Only a listing's author may ask to feature it.",
            ),
        ));
    }
    let message = f.message.trim();
    if message.len() > BUMP_MESSAGE_MAX {
        return Err(AppError::BadRequest(
            l,
            l.pick(
                "Le message à l'association est trop long : 500 signes au plus.",
                "The message to the association is too long: 500 characters at most.",
            ),
        ));
    }
    state
        .backend
        .ask_bump(series, user.key, message.to_string())?;
    Ok(Redirect::to(&format!("/annonce/{}#une", series.to_hex())).into_response())
}

/// What the author of a listing sees about featuring it.
#[derive(Clone, Debug)]
pub struct FeatureLine {
    /// Where things stand, in a sentence; empty when nothing was asked.
    pub said: String,
    /// Whether the author may ask now.
    pub may_ask: bool,
}

/// The author's feature line for a listing.
pub fn feature_line<B: Backend>(backend: &B, view: &ListingView, l: Lang) -> FeatureLine {
    let now = backend.now();
    if let Some(until) = view.bump_until.filter(|until| *until > now) {
        return FeatureLine {
            said: l.pick_string(
                format!(
                    "Votre annonce est à la une jusqu'au {}.",
                    page::date_time(until, l)
                ),
                format!(
                    "Your listing is featured until {}.",
                    page::date_time(until, l)
                ),
            ),
            may_ask: false,
        };
    }
    let series = view.series.to_hex();
    let latest = backend
        .bump_requests()
        .into_iter()
        .find(|r| r.series == series);
    match latest.map(|r| (r.state, Timestamp(r.asked))) {
        Some((BumpState::Pending, asked)) => FeatureLine {
            said: l.pick_string(
                format!(
                    "Votre demande de mise à la une du {} attend la réponse de l'association.",
                    page::date(asked, l)
                ),
                format!(
                    "Your request of {} to feature this listing awaits the association's answer.",
                    page::date(asked, l)
                ),
            ),
            may_ask: false,
        },
        Some((BumpState::Declined { .. }, asked)) => FeatureLine {
            said: l.pick_string(
                format!(
                    "L'association n'a pas donné suite à votre demande du {}.",
                    page::date(asked, l)
                ),
                format!(
                    "The association did not follow up your request of {}.",
                    page::date(asked, l)
                ),
            ),
            may_ask: true,
        },
        Some((BumpState::Granted { until, .. }, _)) => FeatureLine {
            said: l.pick_string(
                format!(
                    "Votre annonce a été à la une jusqu'au {}.",
                    page::date_time(Timestamp(until), l)
                ),
                format!(
                    "Your listing was featured until {}.",
                    page::date_time(Timestamp(until), l)
                ),
            ),
            may_ask: true,
        },
        None => FeatureLine {
            said: String::new(),
            may_ask: true,
        },
    }
}

/// One feature request on the operator's page.
#[derive(Clone, Debug)]
pub struct RequestLine {
    number: u64,
    listing: String,
    link: String,
    member: String,
    member_link: String,
    asked: String,
    message: String,
    state: String,
    pending: bool,
}

fn request_line<B: Backend>(backend: &B, request: &BumpRequest, l: Lang) -> RequestLine {
    let listing = request.series_id().and_then(|s| backend.listing(&s));
    let member = request
        .member_key()
        .map(|k| named(backend, &[k], l).remove(0));
    let state = match &request.state {
        BumpState::Pending => l.pick("En attente", "Waiting").to_string(),
        BumpState::Granted { at, until, .. } => l.pick_string(
            format!(
                "Accordée le {}, à la une jusqu'au {}",
                page::date(Timestamp(*at), l),
                page::date_time(Timestamp(*until), l)
            ),
            format!(
                "Granted on {}, featured until {}",
                page::date(Timestamp(*at), l),
                page::date_time(Timestamp(*until), l)
            ),
        ),
        BumpState::Declined { at } => l.pick_string(
            format!("Refusée le {}", page::date(Timestamp(*at), l)),
            format!("Declined on {}", page::date(Timestamp(*at), l)),
        ),
    };
    RequestLine {
        number: request.number,
        listing: listing.as_ref().map_or_else(
            || {
                l.pick("(annonce retirée)", "(listing withdrawn)")
                    .to_string()
            },
            |v| v.listing.title.clone(),
        ),
        link: format!("/annonce/{}", request.series),
        member: member.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
        member_link: member.map(|m| m.link).unwrap_or_default(),
        asked: page::date_time(Timestamp(request.asked), l),
        message: request.message.clone(),
        state,
        pending: request.state == BumpState::Pending,
    }
}

#[derive(Template)]
#[template(path = "funding.html")]
struct FundingPage {
    p: Page,
    text: String,
    payment_url: String,
    iban: String,
    errors: DonationErrors,
    saved: bool,
    requests: Vec<RequestLine>,
    granted_today: u64,
    daily_limit: u64,
    error: Option<String>,
}

/// The operator's funding page, with the donation form as typed.
async fn funding_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    form: DonationPage,
    errors: DonationErrors,
    error: Option<String>,
    saved: bool,
) -> Result<Response, AppError> {
    require_operator(state, visitor).await?;
    let l = visitor.lang;
    let backend = &state.backend;
    let requests = backend.bump_requests();
    let day_before = backend.now().minus_ms(Timestamp::DAY_MS).0;
    let granted_today = requests
        .iter()
        .filter(|r| matches!(r.state, BumpState::Granted { at, .. } if at > day_before))
        .count() as u64;
    let failed = errors.any() || error.is_some();
    render_form(
        FundingPage {
            p: state.page(visitor),
            text: form.text,
            payment_url: form.payment_url,
            iban: form.iban,
            errors,
            saved,
            requests: requests
                .iter()
                .map(|r| request_line(backend, r, l))
                .collect(),
            granted_today,
            daily_limit: backend.site().charter.bumps_per_node_per_day,
            error,
        },
        failed,
    )
}

/// `GET /operateur/financement`.
pub async fn funding<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    let current = state.backend.donation().unwrap_or_default();
    funding_page(
        &state,
        &visitor,
        current,
        DonationErrors::default(),
        None,
        false,
    )
    .await
}

/// The donation form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct DonationFields {
    csrf: String,
    text: String,
    payment_url: String,
    iban: String,
}
with_csrf!(DonationFields);

/// `POST /operateur/dons`: sets (or, all fields empty, removes) the donation page.
pub async fn set_donation<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<DonationFields>,
) -> Result<Response, AppError> {
    require_operator(&state, &visitor).await?;
    match check_donation(&f.text, &f.payment_url, &f.iban, visitor.lang) {
        Ok(page) => {
            state.backend.set_donation(page.clone())?;
            let shown = page.unwrap_or_default();
            funding_page(
                &state,
                &visitor,
                shown,
                DonationErrors::default(),
                None,
                true,
            )
            .await
        }
        Err(errors) => {
            let typed = DonationPage {
                text: f.text,
                payment_url: f.payment_url,
                iban: f.iban,
            };
            funding_page(&state, &visitor, typed, errors, None, false).await
        }
    }
}

/// The answer to a feature request.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionFields {
    csrf: String,
    decision: String,
    days: String,
}
with_csrf!(DecisionFields);

/// `POST /operateur/une/{number}`: grants (signs a bump) or declines a feature request.
pub async fn decide<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(number): Path<u64>,
    CheckedForm(f): CheckedForm<DecisionFields>,
) -> Result<Response, AppError> {
    require_operator(&state, &visitor).await?;
    let l = visitor.lang;
    let error = match f.decision.as_str() {
        "accorder" => {
            let days = f.days.trim().parse::<u64>().unwrap_or(0);
            match state.backend.grant_bump(number, days).await? {
                Ok(_) => None,
                Err(refused) => Some(refused.sentence(l)),
            }
        }
        "refuser" => (!state.backend.decline_bump(number)?).then(|| {
            l.pick(
                "Cette demande a déjà reçu une réponse.",
                "This request was already answered.",
            )
            .to_string()
        }),
        _ => Some(
            l.pick(
                "Choisissez d'accorder ou de refuser.",
                "Choose to grant or decline.",
            )
            .to_string(),
        ),
    };
    if error.is_none() {
        return Ok(Redirect::to("/operateur/financement#demandes").into_response());
    }
    let current = state.backend.donation().unwrap_or_default();
    funding_page(
        &state,
        &visitor,
        current,
        DonationErrors::default(),
        error,
        false,
    )
    .await
}
