//! The operator's page of outside sites registered for « Se connecter avec Maillon »:
//! registering one (its secret shown once) and removing one.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::operator::require_operator;
use super::{own_site, render_form, CsrfOnly, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::oidc::{check_client, new_client, OidcClient};
use crate::page::Page;
use crate::session::Visitor;
use crate::Shared;

#[derive(Template)]
#[template(path = "oidc_clients.html")]
struct ClientsPage {
    p: Page,
    issuer: String,
    clients: Vec<OidcClient>,
    created: Option<(String, String)>,
    error: Option<String>,
    typed_name: String,
    typed_redirects: String,
}

async fn clients_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    headers: &HeaderMap,
    created: Option<(String, String)>,
    error: Option<(String, String, String)>,
) -> Result<Response, AppError> {
    require_operator(state, visitor).await?;
    let (error, typed_name, typed_redirects) = match error {
        Some((message, name, redirects)) => (Some(message), name, redirects),
        None => (None, String::new(), String::new()),
    };
    let failed = error.is_some();
    render_form(
        ClientsPage {
            p: state.page(visitor),
            issuer: own_site(state, headers),
            clients: state.backend.oidc_clients(),
            created,
            error,
            typed_name,
            typed_redirects,
        },
        failed,
    )
}

/// `GET /operateur/sites-externes`.
pub async fn clients<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    clients_page(&state, &visitor, &headers, None, None).await
}

/// The registration form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClientFields {
    csrf: String,
    name: String,
    redirects: String,
}
with_csrf!(ClientFields);

/// `POST /operateur/sites-externes`: registers a site; its secret is shown once.
pub async fn register<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    headers: HeaderMap,
    CheckedForm(f): CheckedForm<ClientFields>,
) -> Result<Response, AppError> {
    require_operator(&state, &visitor).await?;
    match check_client(&f.name, &f.redirects, visitor.lang) {
        Ok((name, redirects)) => {
            let (client, secret) = new_client(&name, redirects);
            let id = client.id.clone();
            let mut clients = state.backend.oidc_clients();
            clients.push(client);
            state.backend.set_oidc_clients(clients)?;
            clients_page(&state, &visitor, &headers, Some((id, secret)), None).await
        }
        Err(message) => {
            let typed = Some((message, f.name, f.redirects));
            clients_page(&state, &visitor, &headers, None, typed).await
        }
    }
}

/// `POST /operateur/sites-externes/{id}/retirer`.
pub async fn remove<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(id): Path<String>,
    CheckedForm(_f): CheckedForm<CsrfOnly>,
) -> Result<Response, AppError> {
    require_operator(&state, &visitor).await?;
    let mut clients = state.backend.oidc_clients();
    clients.retain(|c| c.id != id);
    state.backend.set_oidc_clients(clients)?;
    Ok(Redirect::to("/operateur/sites-externes").into_response())
}
