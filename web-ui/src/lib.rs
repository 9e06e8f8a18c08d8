//! Maillon's web UI: the member-facing site, rendered on the server from compiled templates,
//! in French first and English, working without JavaScript.
//!
//! It never sees libp2p or sled: everything it needs from its node goes through
//! [`Backend`]. Members' keys are created here, sealed with their passphrase ([`keys`]),
//! opened in memory at sign-in ([`session`]), and every record a member makes is signed here
//! and handed to [`Backend::submit`].
//!
//! # Layout
//! - [`backend`]: the [`Backend`] trait and the views it returns.
//! - [`drawing`]: pictures drawn as SVG on the server: trust paths, the map of listings.
//! - [`router`]: every route, behind the visitor middleware; handlers live in `routes/`.
//! - [`session`]: sessions, CSRF tokens, languages.
//! - [`signin_limits`]: the sign-in limits per address, per login and address, per login.
//! - [`founding`]: the founding ceremony's pages, served before the network has a charter.
//! - [`form_text`]: what the site says about a bad place, price, title or message.
//! - [`funding`]: the donation page and members' requests to feature a listing.
//! - [`keys`]: sealing keys with argon2id, the printable recovery kit.
//! - [`mail`]: e-mail topics, the address shown in « Mon compte », every e-mail's text.
//! - [`oidc`]: « Se connecter avec Maillon », the OpenID Connect provider for outside sites.
//! - [`notifications`]: what a member should know about, derived from records.
//! - [`page`]: the frame of every page and the formatting of prices, dates, distances.
//! - [`photos`]: checking, re-encoding and thumbnailing uploaded photos.
//! - [`places`]: French communes and postcodes with their positions.
//! - [`security`]: the security headers of every response.
//! - [`assets`], [`error`]: embedded static files; `AppError`.

pub mod assets;
pub mod backend;
pub mod drawing;
pub mod error;
pub mod figures;
pub mod form_text;
pub mod founding;
pub mod funding;
pub mod keys;
pub mod mail;
pub mod notifications;
pub mod oidc;
pub mod page;
pub mod photos;
pub mod places;
mod routes;
pub mod search_form;
pub mod security;
pub mod session;
pub mod signin_limits;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub use backend::Backend;
pub use error::AppError;
pub use routes::thumbnails::ThumbnailCache;

use keys::KdfParams;
use page::Page;
use session::{Lang, LoginLimiter, Sessions, Visitor, LANG_COOKIE, SESSION_COOKIE};

/// How the site behaves.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Mark cookies `Secure` (the site is served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Argon2id cost for sealing keys.
    pub kdf: KdfParams,
    /// Sessions held at most.
    pub max_sessions: usize,
    /// A session is forgotten after this long without a request.
    pub session_idle: Duration,
    /// The largest form body, read before any handler runs (every form but the listing's).
    pub max_form_bytes: usize,
    /// The largest listing form with its photos; read only after the session and the form's
    /// CSRF token are checked (routes::upload).
    pub max_upload_bytes: usize,
    /// Failed sign-ins allowed per login in 15 minutes.
    pub login_failures_per_login: usize,
    /// Failed sign-ins allowed per client address in 15 minutes.
    pub login_failures_per_address: usize,
    /// Trust the last `X-Forwarded-For` address, the one a reverse proxy adds (behind one only).
    pub trust_forwarded_for: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            kdf: KdfParams::RECOMMENDED,
            max_sessions: 50_000,
            session_idle: Duration::from_secs(12 * 3600),
            max_form_bytes: 64 * 1024,
            max_upload_bytes: maillon_protocol::kinds::MAX_PHOTOS
                * photos::PhotoLimits::default().max_upload_bytes
                + 256 * 1024,
            login_failures_per_login: 5,
            login_failures_per_address: 30,
            trust_forwarded_for: false,
        }
    }
}

/// The state every handler shares.
pub struct WebState<B> {
    /// The node.
    pub backend: B,
    /// The configuration.
    pub config: WebConfig,
    /// Sessions.
    pub sessions: Sessions,
    /// Sign-in attempts.
    pub limiter: LoginLimiter,
    /// What a sign-in with an unknown login tries to open ([`keys::decoy`]).
    pub decoy: keys::SealedKey,
    /// Thumbnails made from photos, bounded.
    pub thumbnails: ThumbnailCache,
    /// Unseen-notification counts of the page header, briefly reused.
    pub notice_counts: notifications::CountCache,
    /// The OpenID Connect provider's requests, codes and tokens.
    pub oidc: oidc::grants::Grants,
}

/// The shared state handle.
pub type Shared<B> = Arc<WebState<B>>;

impl<B: Backend> WebState<B> {
    /// The page frame for a visitor, with their name and unseen notifications.
    pub fn page(&self, visitor: &Visitor) -> Page {
        let frame = self
            .backend
            .frame(visitor.user.as_ref().map(|user| &user.key));
        let mut page = Page::for_visitor(visitor, &frame.site_name, &frame.node_name);
        page.takes_donations = frame.takes_donations;
        if let Some(user) = &visitor.user {
            page.is_member = frame.is_member;
            page.is_council = frame.is_council;
            page.is_operator = frame.is_operator;
            page.is_moderator = frame.is_moderator;
            page.user_name = Some(frame.display_name.unwrap_or_else(|| user.login.clone()));
            if let Ok(Some(account)) = self.backend.account(&user.login) {
                page.notifications = self.notice_counts.get_or_count(&account, || {
                    notifications::unseen(&self.backend, &account, self.backend.now())
                });
            }
        }
        page
    }
}

/// The whole site.
pub fn router<B: Backend>(backend: B, config: WebConfig) -> Router {
    let state = Arc::new(WebState {
        sessions: Sessions::new(config.max_sessions, config.session_idle),
        limiter: LoginLimiter::new(
            config.login_failures_per_login,
            config.login_failures_per_address,
            Duration::from_secs(15 * 60),
        ),
        decoy: keys::decoy(config.kdf),
        thumbnails: ThumbnailCache::new(64 * 1024 * 1024),
        notice_counts: notifications::CountCache::new(
            config.max_sessions,
            notifications::COUNT_FRESH_FOR,
        ),
        oidc: oidc::grants::Grants::default(),
        backend,
        config,
    });
    let form_limit = state.config.max_form_bytes;
    let site = routes::all::<B>()
        // The static files, compressed for browsers that accept it (the map's outlines
        // shrink from 90 KB to 27 KB); pages are not, to keep their CPU cost low.
        .route(
            "/static/{name}",
            get(assets::serve).layer(tower_http::compression::CompressionLayer::new()),
        )
        .route("/langue/{code}", get(routes::language))
        .route("/health", post(routes::health).get(routes::health))
        .layer(middleware::from_fn_with_state(state.clone(), visitor::<B>))
        .layer(DefaultBodyLimit::max(form_limit))
        .with_state(state);
    security::with_security_headers(site)
}

/// Finds or starts the visitor's session, runs the handler, and sets the cookie if new.
async fn visitor<B: Backend>(
    State(state): State<Shared<B>>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    with_visitor(
        &state.sessions,
        state.config.secure_cookies,
        jar,
        request,
        next,
    )
    .await
}

/// Whether `response` is axum's own plain-text refusal with `status` (not a page).
fn is_extractor_refusal(response: &Response, status: StatusCode) -> bool {
    response.status() == status
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
}

/// Attaches the [`Visitor`] (session, CSRF token, language) to a request, runs it, and sets
/// the session cookie when the session is new.
pub(crate) async fn with_visitor(
    sessions: &Sessions,
    secure_cookies: bool,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(jar.get(LANG_COOKIE).map(|c| c.value()), accept);
    let existing = jar
        .get(SESSION_COOKIE)
        .and_then(|c| sessions.get(c.value()).map(|s| (c.value().to_string(), s)));
    let (visitor, new_cookie) = match existing {
        Some((id, (csrf, user))) => (
            Visitor {
                session: id,
                csrf,
                lang,
                user,
            },
            None,
        ),
        None => {
            let (id, csrf) = sessions.create().unwrap_or_default();
            (
                Visitor {
                    session: id.clone(),
                    csrf,
                    lang,
                    user: None,
                },
                Some(id),
            )
        }
    };
    let signed_in = visitor.user.is_some();
    let lang = visitor.lang;
    request.extensions_mut().insert(visitor);
    let mut response = next.run(request).await;
    if is_extractor_refusal(&response, StatusCode::PAYLOAD_TOO_LARGE) {
        // A form over the body limit, refused by axum's extractor before the handler ran.
        response = error::AppError::TooLarge(lang).into_response();
    }
    if signed_in && !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(security::SIGNED_IN_CACHE_CONTROL),
        );
    }
    match new_cookie {
        Some(id) if !id.is_empty() && !response.headers().contains_key(header::SET_COOKIE) => {
            let cookie = session_cookie(id, secure_cookies);
            let mut response = response;
            if let Ok(value) = cookie.to_string().parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        _ => response,
    }
}

/// The session cookie: HttpOnly, SameSite=Lax (links from mail keep the session), Secure
/// behind TLS.
pub fn session_cookie(id: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, id))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}
