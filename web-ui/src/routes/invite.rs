//! Inviting another association's node, from the operator page: the node signs an invitation
//! (docs/PROTOCOL.md 14) shown as a text code, offered as a file to download, and served at
//! a link named by its short code (14.6).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use maillon_protocol::invitation::{ShortCode, MAX_ADDRESSES, MAX_VALIDITY_MS};
use maillon_protocol::Timestamp;
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::operator::{operator_page_with, require_operator};
use super::{render, V};
use crate::backend::{Backend, InviteRefused};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::Lang;
use crate::Shared;

#[derive(Template)]
#[template(path = "operator_invitation.html")]
struct InvitationPage {
    p: Page,
    code: String,
    short_code: String,
    link: String,
    expires: String,
    addresses: Vec<String>,
}

/// The invitation form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteFields {
    csrf: String,
    addresses: String,
    days: String,
    action: String,
}
with_csrf!(InviteFields);

fn refusal_text(refused: &InviteRefused, l: Lang) -> String {
    match refused {
        InviteRefused::NotAnnounced => l
            .pick(
                "Ce nœud n'est pas (ou plus) un nœud annoncé du réseau : il ne peut pas inviter. Vérifiez que son annonce est publiée et que la personne qui l'exploite est membre.",
                "This node is not (or no longer) an announced node of the network: it cannot invite. Check that its announcement is published and that its operator is a member.",
            )
            .into(),
        InviteRefused::BadAddress(address) => l.pick_string(
            format!("Adresse illisible ou qui n'est pas celle de ce nœud : « {address} ». Exemple : /dns4/noeud.paroisse.fr/tcp/4001 ou /ip4/192.0.2.7/tcp/4001."),
            format!("Unreadable address, or not this node's: \"{address}\". Example: /dns4/node.parish.fr/tcp/4001 or /ip4/192.0.2.7/tcp/4001."),
        ),
        InviteRefused::Invalid(why) => l.pick_string(
            format!("L'invitation n'a pas pu être signée : {why}"),
            format!("The invitation could not be signed: {why}"),
        ),
    }
}

/// The form's days, checked: 1 to 30.
fn validity_ms(days: &str) -> Option<u64> {
    let days: u64 = days.trim().parse().ok()?;
    let ms = days.checked_mul(Timestamp::DAY_MS)?;
    (days >= 1 && ms <= MAX_VALIDITY_MS).then_some(ms)
}

/// `POST /operateur/invitation`: signs an invitation; shows it, or sends it as a file.
pub async fn invite<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    headers: HeaderMap,
    CheckedForm(f): CheckedForm<InviteFields>,
) -> Result<Response, AppError> {
    require_operator(&state, &visitor).await?;
    let l = visitor.lang;
    let addresses: Vec<String> = f
        .addresses
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    let problem = if addresses.is_empty() || addresses.len() > MAX_ADDRESSES {
        Some(l.pick(
            "Indiquez de 1 à 8 adresses publiques de ce nœud, une par ligne.",
            "Give 1 to 8 public addresses of this node, one per line.",
        ))
    } else if validity_ms(&f.days).is_none() {
        Some(l.pick(
            "Durée de validité : un nombre de jours de 1 à 30.",
            "Validity: a number of days from 1 to 30.",
        ))
    } else {
        None
    };
    if let Some(why) = problem {
        return operator_page_with(&state, &visitor, None, Some((f.addresses, why.into()))).await;
    }
    let expires = state
        .backend
        .now()
        .plus_ms(validity_ms(&f.days).unwrap_or(Timestamp::DAY_MS));
    let invitation = match state.backend.invite(addresses, expires).await? {
        Ok(invitation) => invitation,
        Err(refused) => {
            let why = refusal_text(&refused, l);
            return operator_page_with(&state, &visitor, None, Some((f.addresses, why))).await;
        }
    };
    let code = invitation.to_text();
    if f.action == "telecharger" {
        let mut file = code;
        file.push('\n');
        return Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"invitation-maillon.txt\"",
                ),
            ],
            file,
        )
            .into_response());
    }
    let short_code = invitation.short_code().to_string();
    render(InvitationPage {
        p: state.page(&visitor),
        link: format!("{}/invitation/{short_code}", site_address(&state, &headers)),
        short_code,
        code,
        expires: page::date_time(expires, l),
        addresses: invitation.invitation().addresses.clone(),
    })
}

/// The site's address as the operator reached it: scheme (https when cookies are marked
/// secure, the site then being served over TLS) and the `Host` header.
fn site_address<B: Backend>(state: &Shared<B>, headers: &HeaderMap) -> String {
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `GET /invitation/{code}`: the text form of an invitation this node made, while it is
/// valid; « Page introuvable » for any other code.
pub async fn served<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound(visitor.lang);
    let code = ShortCode::parse(&code).map_err(|_| not_found())?;
    let text = state
        .backend
        .served_invitation(&code)
        .await?
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
