//! « Se connecter avec Maillon »: the OpenID Connect provider's endpoints (discovery, keys,
//! authorization with the member's consent in French, token, user info). The rules are in
//! [`crate::oidc`].

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use maillon_protocol::PublicKey;
use serde::Deserialize;
use serde_json::json;

use super::extract::{with_csrf, CheckedForm, Member};
use super::{own_site, render, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::oidc::grants::{AccessGrant, CodeGrant, Pending};
use crate::oidc::jwt::IdTokenClaims;
use crate::oidc::{
    pairwise_subject, pkce_matches, Address, MemberClaims, OidcClient, Shared as SharedClaims,
    ACCESS_TOKEN_LIFETIME_MS, ID_TOKEN_LIFETIME_MS,
};
use crate::page::{self, Page};
use crate::search_form::percent_encode;
use crate::session::Lang;
use crate::Shared;

/// `/.well-known/openid-configuration`.
pub async fn discovery<B: Backend>(State(state): State<Shared<B>>, headers: HeaderMap) -> Response {
    let issuer = own_site(&state, &headers);
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oidc/autoriser"),
        "token_endpoint": format!("{issuer}/oidc/jeton"),
        "userinfo_endpoint": format!("{issuer}/oidc/userinfo"),
        "jwks_uri": format!("{issuer}/oidc/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "scopes_supported": ["openid", "profile", "address"],
        "claims_supported": ["sub", "maillon_membre", "name", "address", "maillon_distance"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": ["fr", "en"],
    }))
    .into_response()
}

/// `/oidc/jwks`.
pub async fn jwks<B: Backend>(State(state): State<Shared<B>>) -> Response {
    Json(state.backend.token_key().jwks()).into_response()
}

/// The authorization request's parameters.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    code_challenge_method: String,
    /// The member (public key in hex) whose trust distance the site asks for.
    distance_de: String,
}

/// `redirect` with `pairs` added to its query.
fn back_to(redirect: &str, pairs: &[(&str, &str)]) -> Response {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect();
    let joiner = if redirect.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{redirect}{joiner}{}", query.join("&"))).into_response()
}

fn error_back(request: &AuthorizeParams, error: &str) -> Response {
    let mut pairs = vec![("error", error)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    back_to(&request.redirect_uri, &pairs)
}

fn unknown_site(l: Lang) -> AppError {
    AppError::BadRequest(
        l,
        l.pick(
            "Ce site n'est pas enregistré auprès de ce nœud, ou son adresse de retour ne correspond pas : la connexion ne peut pas continuer.",
            "This site is not registered with this node, or its return address does not match: the sign-in cannot go on.",
        ),
    )
}

fn client<B: Backend>(state: &Shared<B>, id: &str) -> Option<OidcClient> {
    state
        .backend
        .oidc_clients()
        .into_iter()
        .find(|c| c.id == id)
}

/// `GET /oidc/autoriser`: checks the request, keeps it, and asks the member.
pub async fn authorize<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(request): Query<AuthorizeParams>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    // Without a known client and its exact return address, nothing may be sent anywhere.
    let known = client(&state, &request.client_id)
        .is_some_and(|c| c.redirect_uris.contains(&request.redirect_uri));
    if !known {
        return Err(unknown_site(l));
    }
    if request.response_type != "code" {
        return Ok(error_back(&request, "unsupported_response_type"));
    }
    if !request.scope.split(' ').any(|s| s == "openid") {
        return Ok(error_back(&request, "invalid_scope"));
    }
    if request.code_challenge_method != "S256" || request.code_challenge.len() != 43 {
        return Ok(error_back(&request, "invalid_request"));
    }
    let distance_to = match request.distance_de.trim() {
        "" => None,
        text => match page::parse_key(text) {
            Some(key) => Some(key),
            None => return Ok(error_back(&request, "invalid_request")),
        },
    };
    let pending = Pending {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        distance_to,
    };
    let Some(id) = state.oidc.hold(pending, state.backend.now()) else {
        return Ok(error_back(&request, "temporarily_unavailable"));
    };
    let consent = format!("/oidc/consentement/{id}");
    if visitor.user.is_none() {
        return Ok(
            Redirect::to(&format!("/connexion?suite={}", percent_encode(&consent))).into_response(),
        );
    }
    Ok(Redirect::to(&consent).into_response())
}

#[derive(Template)]
#[template(path = "oidc_consent.html")]
struct ConsentPage {
    p: Page,
    id: String,
    site: String,
    site_host: String,
    in_good_standing: bool,
    name: String,
    town: String,
    distance_to: Option<String>,
}

/// `GET /oidc/consentement/{id}`: what the site asks, and what the member agrees to share.
pub async fn consent<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let pending = state
        .oidc
        .pending(&id, state.backend.now())
        .ok_or(AppError::NotFound(l))?;
    let site = client(&state, &pending.client_id).ok_or_else(|| unknown_site(l))?;
    let member = state.backend.member(&user.key);
    let profile = member
        .profile
        .clone()
        .unwrap_or_else(|| maillon_protocol::kinds::Profile {
            display_name: user.login.clone(),
            home_node: user.key,
            town: String::new(),
            postcode: String::new(),
            position: maillon_protocol::kinds::Position {
                lat_microdeg: 0,
                lon_microdeg: 0,
            },
            about: String::new(),
        });
    let distance_to = pending
        .distance_to
        .map(|key| super::view::named(&state.backend, &[key], l).remove(0).name);
    let origin = origin_of(&pending.redirect_uri);
    let page = render(ConsentPage {
        p: state.page(&visitor),
        id,
        site_host: pending
            .redirect_uri
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_string(),
        site: site.name,
        in_good_standing: member.status.is_in_good_standing(),
        name: profile.display_name,
        town: profile.town,
        distance_to,
    })?;
    Ok(with_form_action(page, &origin))
}

/// `scheme://host[:port]` of an address.
fn origin_of(uri: &str) -> String {
    uri.splitn(4, '/').take(3).collect::<Vec<_>>().join("/")
}

/// The consent form's answer is a redirection to the site: the page's policy lets forms go
/// there too (browsers check `form-action` on the redirection as well).
fn with_form_action(mut page: Response, origin: &str) -> Response {
    let policy = crate::security::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    let safe = origin
        .chars()
        .all(|c| c.is_ascii_graphic() && c != ';' && c != ',');
    if let (true, Ok(value)) = (safe, header::HeaderValue::from_str(&policy)) {
        page.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    page
}

/// The member's answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentFields {
    csrf: String,
    decision: String,
    nom: Option<String>,
    commune: Option<String>,
    distance: Option<String>,
}
with_csrf!(ConsentFields);

/// `POST /oidc/consentement/{id}`: sends the member back to the site, with a code or a
/// refusal.
pub async fn answer<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(id): Path<String>,
    CheckedForm(f): CheckedForm<ConsentFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let now = state.backend.now();
    let pending = state.oidc.answer(&id, now).ok_or(AppError::NotFound(l))?;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let in_good_standing = state.backend.member(&user.key).status.is_in_good_standing();
    if f.decision != "accepter" || !in_good_standing {
        pairs.push(("error", "access_denied".into()));
    } else {
        let grant = CodeGrant {
            request: pending.clone(),
            member: user.key,
            shared: SharedClaims {
                name: f.nom.is_some(),
                town: f.commune.is_some(),
                distance: f.distance.is_some() && pending.distance_to.is_some(),
            },
        };
        match state.oidc.code(grant, now) {
            Some(code) => pairs.push(("code", code)),
            None => pairs.push(("error", "temporarily_unavailable".into())),
        }
    }
    if let Some(site_state) = &pending.state {
        pairs.push(("state", site_state.clone()));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(back_to(&pending.redirect_uri, &pairs))
}

/// What the site may know of a member, as they agreed.
fn member_claims<B: Backend>(
    backend: &B,
    client_id: &str,
    member: &PublicKey,
    shared: &SharedClaims,
    distance_to: Option<PublicKey>,
) -> MemberClaims {
    let view = backend.member(member);
    let profile = view.profile.as_ref();
    MemberClaims {
        sub: pairwise_subject(client_id, &view.identity),
        maillon_membre: view.status.is_in_good_standing(),
        name: profile
            .filter(|_| shared.name)
            .map(|p| p.display_name.clone()),
        address: profile.filter(|_| shared.town).map(|p| Address {
            locality: p.town.clone(),
        }),
        maillon_distance: distance_to
            .filter(|_| shared.distance)
            .and_then(|other| backend.trust(member, &other).distance),
    }
}

/// The token request's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenFields {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
    client_id: String,
    client_secret: String,
}

fn token_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response()
}

/// The client's id and secret, from HTTP Basic or the form.
fn client_credentials(headers: &HeaderMap, f: &TokenFields) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
        });
    basic.unwrap_or_else(|| (f.client_id.clone(), f.client_secret.clone()))
}

/// `POST /oidc/jeton`: a code and its PKCE verifier for an ID token and an access token.
pub async fn token<B: Backend>(
    State(state): State<Shared<B>>,
    headers: HeaderMap,
    Form(f): Form<TokenFields>,
) -> Response {
    let (id, secret) = client_credentials(&headers, &f);
    let Some(site) = client(&state, &id).filter(|c| c.secret_matches(&secret)) else {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if f.grant_type != "authorization_code" {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let now = state.backend.now();
    // The code is taken before any other check: a wrong attempt spends it.
    let Some(grant) = state.oidc.redeem(&f.code, now) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let fits = grant.request.client_id == site.id
        && grant.request.redirect_uri == f.redirect_uri
        && pkce_matches(&f.code_verifier, &grant.request.code_challenge);
    if !fits {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let claims = member_claims(
        &state.backend,
        &site.id,
        &grant.member,
        &grant.shared,
        grant.request.distance_to,
    );
    if !claims.maillon_membre {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let id_token = state.backend.token_key().sign(&IdTokenClaims {
        iss: own_site(&state, &headers),
        aud: site.id.clone(),
        exp: (now.0 + ID_TOKEN_LIFETIME_MS) / 1000,
        iat: now.0 / 1000,
        nonce: grant.request.nonce.clone(),
        member: claims,
    });
    let Ok(id_token) = id_token else {
        return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let access = AccessGrant {
        client_id: site.id,
        member: grant.member,
        shared: grant.shared,
        distance_to: grant.request.distance_to,
    };
    let Some(access_token) = state.oidc.access_token(access, now) else {
        return token_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    };
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_MS / 1000,
            "id_token": id_token,
            "scope": "openid",
        })),
    )
        .into_response()
}

/// `GET /oidc/userinfo`: the member's claims for a live access token.
pub async fn userinfo<B: Backend>(State(state): State<Shared<B>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(grant) = state.oidc.access(token.trim(), state.backend.now()) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let claims = member_claims(
        &state.backend,
        &grant.client_id,
        &grant.member,
        &grant.shared,
        grant.distance_to,
    );
    ([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response()
}
