//! Signing in (rate limited, key opened with the passphrase) and out.

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::join::sign_in_response;
use super::{blocking, render, CsrfOnly, V};
use crate::backend::{Backend, BackendError, SiteLink};
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::page::Page;
use crate::session::SignedIn;
use crate::signin_limits::LoginRefusal;
use crate::{session_cookie, Shared};

/// The sign-in form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginFields {
    csrf: String,
    login: String,
    passphrase: String,
    /// Where to go once signed in: a path of this site.
    suite: String,
}
with_csrf!(LoginFields);

/// `/connexion?suite=/parrainage/…`: where to go once signed in.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SuiteParams {
    suite: String,
}

/// `suite` if it is a path of this site (`/…`, not `//…`, printable ASCII): never another
/// site, so that a link cannot send a member elsewhere after signing in.
fn local_path(suite: &str) -> Option<&str> {
    let local = suite.starts_with('/')
        && !suite.starts_with("//")
        && !suite.starts_with("/\\")
        && suite.len() <= 300
        && suite.bytes().all(|b| b.is_ascii_graphic());
    local.then_some(suite)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    p: Page,
    login: String,
    suite: String,
    error: Option<String>,
    /// After a failure: the network's other sites, where the account may be.
    elsewhere: Vec<SiteLink>,
}

/// `GET /connexion`.
pub async fn login_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(params): Query<SuiteParams>,
) -> Result<Response, AppError> {
    render(LoginPage {
        p: state.page(&visitor),
        login: String::new(),
        suite: local_path(&params.suite).unwrap_or_default().to_string(),
        error: None,
        elsewhere: Vec::new(),
    })
}

fn client_address(
    headers: &HeaderMap,
    connect: Option<&ConnectInfo<std::net::SocketAddr>>,
    trust_forwarded: bool,
) -> Option<String> {
    if trust_forwarded {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            // The last entry is the one our proxy added; earlier ones are the client's word.
            .and_then(|v| v.rsplit(',').next())
        {
            return Some(first.trim().to_string());
        }
    }
    connect.map(|c| c.0.ip().to_string())
}

/// `POST /connexion`: opens the member's key with their passphrase, rate limited.
pub async fn login<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    headers: HeaderMap,
    connect: Option<axum::extract::Extension<ConnectInfo<std::net::SocketAddr>>>,
    CheckedForm(f): CheckedForm<LoginFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let address = client_address(
        &headers,
        connect.as_ref().map(|c| &c.0),
        state.config.trust_forwarded_for,
    );
    let login = f.login.trim().to_lowercase();
    match state.limiter.check(&login, address.as_deref()) {
        Ok(()) => {}
        Err(LoginRefusal::TooManyAttempts) => return Err(AppError::TooManyAttempts(l)),
        Err(LoginRefusal::TooSoon(_)) => return Err(AppError::TooSoon(l)),
    }
    let failed = |state: &Shared<B>| -> Result<Response, AppError> {
        state.limiter.failed(&login, address.as_deref());
        let page = render(LoginPage {
            p: state.page(&visitor),
            login: f.login.clone(),
            suite: local_path(&f.suite).unwrap_or_default().to_string(),
            error: Some(
                l.pick(
                    "Identifiant ou phrase de passe incorrect.",
                    "Wrong login or passphrase.",
                )
                .into(),
            ),
            elsewhere: state
                .backend
                .sites()
                .into_iter()
                .filter(|site| !site.this_site)
                .collect(),
        })?;
        Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response())
    };
    let Some(account) = state.backend.account(&login)? else {
        // As long as a wrong passphrase for a real login: the time tells nothing.
        let (decoy, passphrase) = (state.decoy.clone(), f.passphrase.clone());
        let nobody = maillon_protocol::PublicKey([0; 32]);
        let _ = blocking(move || keys::open(&decoy, &passphrase, &nobody)).await?;
        return failed(&state);
    };
    let passphrase = f.passphrase.clone();
    let sealed = account.sealed_key.clone();
    let key = account.key;
    let opened = blocking(move || keys::open(&sealed, &passphrase, &key)).await?;
    match opened {
        Ok(secret) => {
            state.limiter.succeeded(&login, address.as_deref());
            let user = SignedIn {
                login: account.login.clone(),
                key,
                secret,
            };
            let to = match local_path(&f.suite) {
                Some(path) => path,
                None if state.backend.member(&key).status.is_in_good_standing() => "/",
                None => "/candidature",
            };
            sign_in_response(&state, &visitor.session, user, to)
        }
        Err(KeyError::WrongPassphrase) => failed(&state),
        Err(other) => Err(BackendError(other.to_string()).into()),
    }
}

/// `POST /deconnexion`.
pub async fn logout<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(_f): CheckedForm<CsrfOnly>,
) -> Result<Response, AppError> {
    state.sessions.sign_out(&visitor.session);
    let mut cookie = session_cookie(String::new(), state.config.secure_cookies);
    cookie.make_removal();
    Ok((
        [(header::SET_COOKIE, cookie.to_string())],
        Redirect::to("/"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_client_address_is_the_proxys_entry_only_when_trusted() {
        let socket = ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 9], 4000)));
        let headers = forwarded("6.6.6.6, 203.0.113.7");
        assert_eq!(
            client_address(&headers, Some(&socket), true).as_deref(),
            Some("203.0.113.7"),
            "a client can write the first entries; the proxy appends the last"
        );
        assert_eq!(
            client_address(&headers, Some(&socket), false).as_deref(),
            Some("127.0.0.9")
        );
        assert_eq!(
            client_address(&HeaderMap::new(), Some(&socket), true).as_deref(),
            Some("127.0.0.9")
        );
        assert_eq!(client_address(&HeaderMap::new(), None, false), None);
    }
}
