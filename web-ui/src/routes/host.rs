//! "Héberger un site": a member vouches for a new node they will run. They paste the node's
//! key, check its fingerprint with whoever installed it, confirm with their passphrase, and
//! get a signature code (their key and their signature over the node-operator statement,
//! docs/PROTOCOL.md 7.7) that `maillon announce` turns into the node's announcement.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use maillon_protocol::kinds::node_operator_message;
use maillon_protocol::PublicKey;
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::{blocking, render_form, require_user, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::keys;
use crate::page::{self, Page};
use crate::session::{SignedIn, Visitor};
use crate::Shared;

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    p: Page,
    node: String,
    fingerprint: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// The node key, in the address or the form, and the passphrase when signing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostFields {
    csrf: String,
    noeud: String,
    passphrase: String,
}
with_csrf!(HostFields);

/// The signed-in member, if in good standing: only members may run a node.
fn require_member<'a, B: Backend>(
    state: &Shared<B>,
    visitor: &'a Visitor,
) -> Result<&'a SignedIn, AppError> {
    let user = require_user(visitor)?;
    if !state.backend.member(&user.key).status.is_in_good_standing() {
        let l = visitor.lang;
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Seuls les membres du réseau peuvent héberger un site : un nœud n'est accepté par les autres que si la personne qui l'exploite est membre.",
                "Only members of the network can host a site: other nodes accept a node only if the person running it is a member.",
            ),
        ));
    }
    Ok(user)
}

fn show<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    typed: &str,
    code: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let key = page::parse_key(typed.trim());
    let failed = error.is_some();
    render_form(
        HostPage {
            p: state.page(visitor),
            node: key.map_or_else(|| typed.trim().to_string(), |k| k.to_hex()),
            fingerprint: key.as_ref().map(page::fingerprint),
            code,
            error,
        },
        failed,
    )
}

fn unreadable_key(visitor: &Visitor) -> String {
    visitor
        .lang
        .pick(
            "Clé de nœud illisible : c'est la ligne « Node key » affichée par maillon init, 64 caractères de 0 à 9 et de a à f.",
            "Unreadable node key: it is the \"Node key\" line printed by maillon init, 64 characters from 0 to 9 and a to f.",
        )
        .into()
}

/// `GET /heberger[?noeud=…]`: the key form, then its fingerprint and the passphrase form.
pub async fn form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(q): Query<HostFields>,
) -> Result<Response, AppError> {
    require_member(&state, &visitor)?;
    let error = (!q.noeud.trim().is_empty() && page::parse_key(q.noeud.trim()).is_none())
        .then(|| unreadable_key(&visitor));
    show(&state, &visitor, &q.noeud, None, error)
}

/// `POST /heberger`: opens the member's key with their passphrase and signs the statement.
pub async fn sign<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<HostFields>,
) -> Result<Response, AppError> {
    let user = require_member(&state, &visitor)?;
    let l = visitor.lang;
    let Some(node) = page::parse_key(f.noeud.trim()) else {
        return show(
            &state,
            &visitor,
            &f.noeud,
            None,
            Some(unreadable_key(&visitor)),
        );
    };
    if is_a_member_key(&state.backend, &node) {
        let message = l.pick(
            "Cette clé est celle d'un membre, pas d'un nœud : collez la clé affichée par maillon init sur le nouveau serveur.",
            "This key is a member's, not a node's: paste the key printed by maillon init on the new server.",
        );
        return show(&state, &visitor, &f.noeud, None, Some(message.into()));
    }
    let account = state
        .backend
        .account(&user.login)?
        .ok_or(AppError::NotFound(l))?;
    let (sealed, passphrase, key) = (account.sealed_key, f.passphrase, user.key);
    let secret = match blocking(move || keys::open(&sealed, &passphrase, &key)).await? {
        Ok(secret) => secret,
        Err(_) => {
            let message = l.pick(
                "Phrase de passe incorrecte : rien n'a été signé.",
                "Wrong passphrase: nothing was signed.",
            );
            return show(&state, &visitor, &f.noeud, None, Some(message.into()));
        }
    };
    let statement = node_operator_message(&state.backend.site().network, &node);
    let code = page::signature_code(&user.key, &secret.sign(&statement));
    show(&state, &visitor, &f.noeud, Some(code), None)
}

/// Whether `key` is known as a member or candidate (a node key never is).
fn is_a_member_key<B: Backend>(backend: &B, key: &PublicKey) -> bool {
    !matches!(
        backend.member(key).status,
        maillon_protocol::membership::Status::Unknown
    )
}
