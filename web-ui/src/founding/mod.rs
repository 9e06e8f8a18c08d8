//! The founding ceremony's site, served by a node that has no charter yet: each founder
//! creates a founder account (the key is made here and sealed at once with their
//! passphrase), every founder approves the draft charter, and one founder signs it.
//!
//! It needs much less of its node than the member site, through [`FoundingBackend`]. Like
//! the member site, it signs records itself with a key opened for one request, and never
//! writes an opened key anywhere.
//!
//! - `routes.rs`: the pages and forms under `/fondation`.
//! - `removal.rs`: a founder's withdrawal, or removal with the founding code.
//! - `text.rs`: the charter's numbers and problems said to people, in French and English.

mod removal;
mod routes;
mod text;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use maillon_protocol::kinds::{Charter, Position};
use maillon_protocol::{PublicKey, Record, Signature, Timestamp};

use crate::backend::{Account, BackendError};
use crate::session::{LoginLimiter, Sessions};
use crate::WebConfig;

pub use text::{number_lines, unviable_text};

/// A founder as the ceremony shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FounderView {
    /// The founder's login on this node.
    pub login: String,
    /// The name their profile will show.
    pub display_name: String,
    /// Their town.
    pub town: String,
    /// Their postcode.
    pub postcode: String,
    /// Their town's centre.
    pub position: Position,
    /// Their public key.
    pub key: PublicKey,
    /// Whether they sit on the moderation council.
    pub council: bool,
    /// Whether they approved the draft as it stands now.
    pub approved: bool,
}

/// The ceremony's state.
#[derive(Clone, Debug)]
pub struct FoundingView {
    /// The node's name.
    pub node_name: String,
    /// The node's key, which the signing founder vouches for as its operator.
    pub node_key: PublicKey,
    /// How many founders the team planned.
    pub expected_founders: usize,
    /// The founders so far, in the order they registered.
    pub founders: Vec<FounderView>,
    /// The charter the founders would sign now.
    pub charter: Charter,
    /// Whether the charter has been signed (the node is starting as a network node).
    pub founded: bool,
}

/// A founder's registration.
#[derive(Clone, Debug)]
pub struct NewFounder {
    /// The account, with the key sealed by the founder's passphrase.
    pub account: Account,
    /// The name their profile will show.
    pub display_name: String,
    /// Their town.
    pub town: String,
    /// Their postcode.
    pub postcode: String,
    /// Their town's centre.
    pub position: Position,
    /// Whether they sit on the council.
    pub council: bool,
}

/// What became of a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FounderAdded {
    /// The founder is in the draft.
    Added,
    /// The founding code is wrong.
    WrongCode,
    /// The login is taken.
    LoginTaken,
    /// The charter already lists as many founders as it may.
    Full,
    /// The charter is already signed.
    AlreadyFounded,
}

/// What became of an approval or a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoundingOutcome {
    /// Done.
    Done,
    /// The draft changed since the page was shown (a founder registered): look again.
    DraftChanged,
    /// Founders who have not approved the current draft, by display name.
    NotApproved(Vec<String>),
    /// The charter cannot work (the reasons are in the view's charter).
    Unviable,
    /// The charter is already signed.
    AlreadyFounded,
    /// The founding code is wrong.
    WrongCode,
    /// No founder has this login.
    UnknownFounder,
}

/// What the ceremony needs from its node.
pub trait FoundingBackend: Send + Sync + 'static {
    /// The ceremony's state now.
    fn view(&self) -> Result<FoundingView, BackendError>;
    /// The node's time.
    fn now(&self) -> Timestamp;
    /// An account by login.
    fn account(&self, login: &str) -> Result<Option<Account>, BackendError>;
    /// Adds a founder, if `code` is the founding code.
    fn add_founder(&self, code: &str, founder: NewFounder) -> Result<FounderAdded, BackendError>;
    /// Removes a founder who withdraws before the signature, with their account.
    fn withdraw(&self, login: &str) -> Result<FoundingOutcome, BackendError>;
    /// Removes a founder on the word of whoever holds the founding code (a founder who lost
    /// their passphrase before the signature).
    fn remove(&self, code: &str, login: &str) -> Result<FoundingOutcome, BackendError>;
    /// Records a founder's approval: their profile, signed for the draft's network.
    fn approve(&self, login: &str, profile: Record) -> Result<FoundingOutcome, BackendError>;
    /// Founds the network: the signer's profile, the charter they signed, and their
    /// signature vouching for this node as its operator.
    fn found(
        &self,
        login: &str,
        profile: Record,
        charter: Record,
        operator_signature: Signature,
    ) -> Result<FoundingOutcome, BackendError>;
}

/// The state the ceremony's handlers share.
pub struct FoundingState<F> {
    /// The node.
    pub backend: F,
    /// The site's settings (argon2id cost, cookies).
    pub config: WebConfig,
    /// Sessions, for CSRF tokens and the language.
    pub sessions: Sessions,
    /// Failed founding codes and passphrases.
    pub limiter: LoginLimiter,
}

type Shared<F> = Arc<FoundingState<F>>;

/// The ceremony's site: `/fondation` and its forms; every other page leads there.
pub fn router<F: FoundingBackend>(backend: F, config: WebConfig) -> Router {
    let state = Arc::new(FoundingState {
        sessions: Sessions::new(config.max_sessions, config.session_idle),
        limiter: LoginLimiter::new(
            config.login_failures_per_login,
            config.login_failures_per_address,
            Duration::from_secs(15 * 60),
        ),
        backend,
        config,
    });
    Router::new()
        .route("/fondation", get(routes::show::<F>))
        .route("/fondation/fondateur", post(routes::register::<F>))
        .route("/fondation/approuver", post(routes::approve::<F>))
        .route("/fondation/retirer", post(removal::withdraw::<F>))
        .route("/fondation/retirer-code", post(removal::remove::<F>))
        .route("/fondation/signer", post(routes::sign::<F>))
        .route("/static/{name}", get(crate::assets::serve))
        .route("/langue/{code}", get(language))
        .route("/health", get(crate::routes::health))
        .fallback(|| async { Redirect::to("/fondation") })
        .layer(middleware::from_fn_with_state(state.clone(), visitor::<F>))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

async fn language(path: axum::extract::Path<String>) -> Response {
    use axum::response::IntoResponse;
    let response = crate::routes::language(path).await;
    let (mut parts, body) = response.into_parts();
    parts.headers.insert(
        axum::http::header::LOCATION,
        axum::http::HeaderValue::from_static("/fondation"),
    );
    Response::from_parts(parts, body).into_response()
}

async fn visitor<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    crate::with_visitor(
        &state.sessions,
        state.config.secure_cookies,
        jar,
        request,
        next,
    )
    .await
}
