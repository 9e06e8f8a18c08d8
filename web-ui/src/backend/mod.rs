//! The [`Backend`] trait: everything the web UI needs from its node, in protocol types.
//!
//! The node implements it over its store, indexes and network; the UI never sees libp2p or
//! sled. Reads are synchronous and cheap (in-memory indexes); writes and blob fetches are
//! async because they wait for durability or for a peer.

mod pages;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use crate::mail::{AddressOutcome, MailStatus, MailTopic};
use maillon_protocol::kinds::NodePolicy;
use maillon_protocol::kinds::{Category, Charter, Intent, Listing, Outcome, Position, Profile};
use maillon_protocol::membership::Status;
use maillon_protocol::moderation::Moderation;
use maillon_protocol::trust::TrustReport;
use maillon_protocol::{BlobHash, NetworkId, PublicKey, Record, RecordId, Timestamp};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::funding::{BumpAsked, BumpRefused, BumpRequest, DonationPage};
use crate::keys::SealedKey;
use crate::oidc::jwt::TokenKey;
use crate::oidc::OidcClient;
pub use pages::{FrameView, ListingPageView, ListingViewer};

/// A backend failure the member cannot fix: shown as "try again later", logged in full.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// What became of a record the UI submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Stored durably.
    Stored(RecordId),
    /// Already known.
    Duplicate(RecordId),
    /// Waiting for records it refers to.
    Parked(RecordId),
    /// Refused, with the protocol's reason code and text.
    Rejected {
        /// A stable code (for example `not_a_member`).
        code: String,
        /// A description in English, for logs.
        message: String,
    },
}

/// The node and network this site belongs to.
#[derive(Clone, Debug)]
pub struct SiteInfo {
    /// The network id.
    pub network: NetworkId,
    /// The network's charter, shared: pages read it without copying it.
    pub charter: Arc<Charter>,
    /// The node's key.
    pub node_key: PublicKey,
    /// The node's name, for example "Maillon Valence".
    pub node_name: String,
    /// The node's own position, used when a visitor has none.
    pub node_position: Option<Position>,
    /// The member who runs the node, as its announcement says.
    pub operator: Option<PublicKey>,
}

/// A site of the network that publishes its website (docs/PROTOCOL.md, kind 2, "The node's
/// website"), where that node's members sign in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteLink {
    /// The node's name, for example "Paroisse Saint-Jean, Valence".
    pub name: String,
    /// Its postcode.
    pub postcode: String,
    /// Its website, such as `https://maillon.example.org`, without a trailing `/`.
    pub url: String,
    /// This site itself.
    pub this_site: bool,
}

/// A member or candidate as the UI shows them.
#[derive(Clone, Debug)]
pub struct MemberView {
    /// The key asked about.
    pub key: PublicKey,
    /// The identity it belongs to.
    pub identity: PublicKey,
    /// The standing.
    pub status: Status,
    /// The newest profile, unless erased or never published.
    pub profile: Option<Profile>,
    /// Sponsors whose sponsorship counts.
    pub sponsors: Vec<PublicKey>,
    /// Keys this member supports.
    pub sponsees: Vec<PublicKey>,
    /// Every sponsorship received, counted or not, oldest first.
    pub sponsorships: Vec<SponsorshipView>,
    /// The home node's name, if announced.
    pub home_node_name: Option<String>,
    /// When admitted.
    pub admitted_at: Option<Timestamp>,
    /// Strikes for sponsoring expelled members.
    pub strikes: u32,
}

/// One sponsorship received by a candidate or member.
#[derive(Clone, Debug)]
pub struct SponsorshipView {
    /// The sponsorship record.
    pub id: RecordId,
    /// Who signed it.
    pub sponsor: PublicKey,
    /// How they know each other, as the protocol's relation code name.
    pub relation: maillon_protocol::kinds::Relation,
    /// When it was signed.
    pub created: Timestamp,
}

/// A member's public track record.
#[derive(Clone, Debug, Default)]
pub struct Reputation {
    /// Transactions on the member's listings whose deadline has passed or that were answered.
    pub due: u32,
    /// Of those, answered before the deadline.
    pub answered_in_time: u32,
    /// Reviews others left, newest first.
    pub reviews: Vec<Review>,
}

/// A review left when closing a transaction.
#[derive(Clone, Debug)]
pub struct Review {
    /// Who wrote it.
    pub by: PublicKey,
    /// The rating, 1 to 5, if given.
    pub rating: Option<u64>,
    /// The text.
    pub text: String,
    /// When.
    pub at: Timestamp,
}

/// The current version of a listing.
#[derive(Clone, Debug)]
pub struct ListingView {
    /// The series id: the first version's id, stable across edits.
    pub series: RecordId,
    /// The current version's id.
    pub version: RecordId,
    /// The author.
    pub author: PublicKey,
    /// The body.
    pub listing: Listing,
    /// When the current version was signed.
    pub updated: Timestamp,
    /// When the first version was signed.
    pub published: Timestamp,
    /// When it expires.
    pub expires: Option<Timestamp>,
    /// The last bump, if any.
    pub bumped_at: Option<Timestamp>,
    /// When the last bump ends.
    pub bump_until: Option<Timestamp>,
    /// Withdrawn by its author.
    pub withdrawn: bool,
}

/// How search results are ordered. The one order type of the site and the node's index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Best text match first (newest version first when there is no text).
    #[default]
    Relevance,
    /// Newest version first.
    Newest,
    /// Closest to the query's origin first (newest first without an origin).
    Nearest,
    /// Listings under a bump in force first, most recently bumped first, then newest.
    BumpedFirst,
}

/// A search over the whole network's listings: the one query type, from the search form to
/// the node's index.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Words, in French or not; empty matches everything.
    pub text: String,
    /// Only this category.
    pub category: Option<Category>,
    /// Only offers or only requests.
    pub intent: Option<Intent>,
    /// Lowest price in cents, inclusive. A price bound leaves out listings without a price.
    pub price_min_cents: Option<u64>,
    /// Highest price in cents, inclusive.
    pub price_max_cents: Option<u64>,
    /// Where distances are measured from (and the `Nearest` order's point).
    pub origin: Option<Position>,
    /// Only listings within this many km of the origin (ignored without an origin).
    pub radius_km: Option<f64>,
    /// Only authors among these (the trust-distance filter).
    pub authors: Option<Arc<HashSet<PublicKey>>>,
    /// The order.
    pub sort: SortOrder,
    /// Page number, from 0.
    pub page: usize,
    /// Results per page; the index serves 1 to 100 (0 is taken as 1, more as 100).
    pub per_page: usize,
}

/// One page of results.
#[derive(Clone, Debug, Default)]
pub struct SearchPage {
    /// The listings of this page, with their distance from the origin.
    pub hits: Vec<(ListingView, Option<f64>)>,
    /// How many listings match in all.
    pub total: usize,
}

/// A transaction and everything said in it.
#[derive(Clone, Debug)]
pub struct TransactionView {
    /// The opening record's id.
    pub id: RecordId,
    /// The listing's series.
    pub listing: RecordId,
    /// The listing's title when opened.
    pub listing_title: String,
    /// Who opened it.
    pub opener: PublicKey,
    /// The listing's author, who must answer.
    pub author: PublicKey,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// The answer deadline.
    pub deadline: Timestamp,
    /// When the author answered, if they did.
    pub answered_at: Option<Timestamp>,
    /// Messages in order, the opening message first.
    pub messages: Vec<MessageView>,
    /// Closures, at most one per side.
    pub closes: Vec<CloseView>,
}

/// A message in a transaction.
#[derive(Clone, Debug)]
pub struct MessageView {
    /// Who wrote it.
    pub from: PublicKey,
    /// When.
    pub at: Timestamp,
    /// The text.
    pub text: String,
}

/// One side's closure of a transaction.
#[derive(Clone, Debug)]
pub struct CloseView {
    /// Who closed.
    pub by: PublicKey,
    /// The outcome.
    pub outcome: Outcome,
    /// Rating, 1 to 5.
    pub rating: Option<u64>,
    /// Review text.
    pub review: String,
    /// When.
    pub at: Timestamp,
}

/// A member's account on this node: their key, sealed with their passphrase.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    /// The login name, lowercase, unique on this node.
    pub login: String,
    /// The member's public key.
    #[serde(with = "key_hex")]
    pub key: PublicKey,
    /// The secret key, sealed with a key derived from the passphrase.
    pub sealed_key: SealedKey,
    /// When the account was created.
    #[serde(with = "millis")]
    pub created: Timestamp,
    /// Notifications older than this have been seen.
    #[serde(with = "millis")]
    pub notifications_seen: Timestamp,
    /// Saved searches, as query strings of the search page.
    pub saved_searches: Vec<SavedSearch>,
    /// A key recovery under way: the new key, waiting for the sponsors' signatures.
    #[serde(default)]
    pub pending_recovery: Option<PendingRecovery>,
    /// When the member last set aside the reminder that the site lives on donations, in
    /// milliseconds; 0 if never.
    #[serde(default)]
    pub donation_reminder_dismissed_ms: u64,
}

/// A new key made for a member who lost their passphrase, sealed with the new passphrase,
/// until their sponsors co-sign the recovery.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingRecovery {
    /// The new public key.
    #[serde(with = "key_hex")]
    pub new_key: PublicKey,
    /// The new secret key, sealed with the new passphrase.
    pub sealed_key: SealedKey,
    /// When the request was made.
    #[serde(with = "millis")]
    pub started: Timestamp,
}

/// A search the member asked to be told about.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedSearch {
    /// The search page's query string.
    pub query: String,
    /// A label shown to the member.
    pub label: String,
    /// Listings newer than this are new matches.
    #[serde(with = "millis")]
    pub seen_until: Timestamp,
}

/// Whether an account was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountCreated {
    /// Created.
    Created,
    /// The login is taken.
    LoginTaken,
}

/// The last sync session with a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncView {
    /// When it ended.
    pub at: Timestamp,
    /// Records fetched.
    pub fetched: u64,
    /// Records pushed.
    pub pushed: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Another node, as this node's operator sees it.
#[derive(Clone, Debug)]
pub struct PeerView {
    /// Its node key, if it is an announced node.
    pub node: Option<PublicKey>,
    /// Its name, from its announcement.
    pub name: Option<String>,
    /// Its libp2p peer id, if known.
    pub peer_id: Option<String>,
    /// Whether it is connected now.
    pub connected: bool,
    /// How it is connected, when it is.
    pub link: Option<LinkKind>,
    /// This node's policy on it, if one is in force.
    pub policy: Option<NodePolicy>,
    /// The last sync session with it.
    pub last_sync: Option<SyncView>,
}

/// How a connected node is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// A plain connection.
    Direct,
    /// Through another node's relay.
    Relayed,
    /// A direct connection opened through both routers (hole punching).
    HolePunched,
}

/// Whether this node can be reached from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reachability {
    /// Not known yet.
    Unknown,
    /// Other nodes reach it directly.
    Public,
    /// Behind a router: other nodes reach it through relays.
    Private,
}

/// What the operator page shows.
#[derive(Clone, Debug)]
pub struct OperatorView {
    /// The operator vouching for this node (its announcement's), if announced.
    pub operator: Option<PublicKey>,
    /// Records held.
    pub records: u64,
    /// Members in good standing.
    pub members: u64,
    /// Announced nodes and connected peers, this node excepted.
    pub peers: Vec<PeerView>,
    /// Whether this node can be reached from outside.
    pub reachability: Reachability,
    /// How many relays this node listens through.
    pub relays: usize,
    /// This node's listen addresses that others could dial, with its peer id.
    pub addresses: Vec<String>,
    /// The software this node runs: release, commit, protocol and store format.
    pub software: String,
    /// Free space on the data folder's volume.
    pub disk: DiskView,
    /// The key figures `/metrics` also gives.
    pub figures: crate::figures::KeyFigures,
    /// Samples of records and peers, oldest first, for the charts.
    pub history: Vec<crate::figures::HistoryPoint>,
}

/// Free space on the node's data volume against the floor under which records are refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskView {
    /// MiB free, if the system says.
    pub free_mib: Option<u64>,
    /// The floor in MiB (0: none).
    pub floor_mib: u64,
    /// Under twice the floor: the operator should free space.
    pub low: bool,
    /// At or under the floor: new records are refused.
    pub full: bool,
}

/// Why the node would not sign an invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InviteRefused {
    /// This node is not an announced node of the network.
    NotAnnounced,
    /// This address is not a usable multiaddress of this node.
    BadAddress(String),
    /// The contents break a rule of docs/PROTOCOL.md 14 (English, for logs).
    Invalid(String),
}

/// What the web UI needs from a node. It never sees libp2p or sled.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The network and the node.
    fn site(&self) -> SiteInfo;

    /// The page frame for a visitor (signed in with `viewer`, or not), in one read.
    fn frame(&self, viewer: Option<&PublicKey>) -> FrameView;
    /// The network's announced sites that publish a website, this one included, by name.
    fn sites(&self) -> Vec<SiteLink>;
    /// The node's clock.
    fn now(&self) -> Timestamp;
    /// Stores a record signed by a member and hands it to the network.
    fn submit(
        &self,
        record: Record,
    ) -> impl Future<Output = Result<Submitted, BackendError>> + Send;
    /// A record by id.
    fn record(&self, id: &RecordId) -> Result<Option<Record>, BackendError>;
    /// A key's standing, profile and sponsors.
    fn member(&self, key: &PublicKey) -> MemberView;
    /// The applied key bindings of the identities of these keys: the refs that link a
    /// member's keys in the records they sign (docs/PROTOCOL.md 8.6), ascending. May block
    /// while the membership index is recomputed.
    fn binding_refs(&self, keys: &[PublicKey]) -> Vec<RecordId>;
    /// Whether a record `author` signed at `at` has effect: the author was in good standing
    /// then (docs/PROTOCOL.md 9.2; a recovery retires the old keys). May block while the
    /// membership index is recomputed.
    fn has_effect(&self, author: &PublicKey, at: Timestamp) -> bool;
    /// This node's introduction of `candidate`'s join created at `created`: the id of its
    /// newest announcement and its signature over the join-introduction statement
    /// (docs/PROTOCOL.md 7.3). None while the node has no announcement.
    fn introduce(
        &self,
        candidate: &PublicKey,
        created: Timestamp,
    ) -> Result<Option<(RecordId, maillon_protocol::Signature)>, BackendError>;
    /// Display names of several keys (a key without profile is left out).
    fn names(&self, keys: &[PublicKey]) -> Vec<(PublicKey, String)>;
    /// Trust paths between two members.
    fn trust(&self, from: &PublicKey, to: &PublicKey) -> TrustReport;
    /// Members within `hops` sponsorship links of `from`, itself included.
    fn within_hops(&self, from: &PublicKey, hops: u32) -> Arc<HashSet<PublicKey>>;
    /// The candidate whose short code this is.
    fn candidate_by_code(&self, code: &str) -> Option<PublicKey>;
    /// Searches the whole network's listings.
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, BackendError>;
    /// The current version of a listing series.
    fn listing(&self, series: &RecordId) -> Option<ListingView>;
    /// Everything the page of a listing series shows, read at once, as `viewer` sees it
    /// (`None` for a visitor), with the first `reviews` of the author's reviews. None when
    /// [`Backend::listing`] would be.
    fn listing_page(
        &self,
        series: &RecordId,
        viewer: Option<&PublicKey>,
        reviews: usize,
    ) -> Option<ListingPageView>;
    /// A member's current listings, newest first.
    fn listings_by(&self, author: &PublicKey) -> Vec<ListingView>;
    /// Transactions a member opened or must answer, newest first.
    fn transactions_of(&self, member: &PublicKey) -> Vec<TransactionView>;
    /// One transaction.
    fn transaction(&self, id: &RecordId) -> Option<TransactionView>;
    /// A member's responsiveness and reviews (cancelled transactions left out).
    fn reputation(&self, member: &PublicKey) -> Reputation;
    /// The network's moderation: labels in force and their effects, complaint statuses,
    /// the public log, who moderates.
    fn moderation(&self) -> Arc<Moderation>;
    /// Listing authors who let transactions go unanswered past the deadline at least `min`
    /// times among those opened since `since` (cancelled ones left out), most misses first.
    fn missed_answers(&self, since: Timestamp, min: u32) -> Vec<(PublicKey, u32)>;
    /// The operator page's view: peers, this node's policies, sync status.
    fn operator_view(&self) -> impl Future<Output = Result<OperatorView, BackendError>> + Send;
    /// Signs a policy on another node with this node's key and stores it.
    fn set_policy(
        &self,
        policy: NodePolicy,
    ) -> impl Future<Output = Result<Submitted, BackendError>> + Send;
    /// Signs an invitation to this network with the node's key (docs/PROTOCOL.md 14): the
    /// charter, this node's announcement, `addresses`, valid until `expires`.
    fn invite(
        &self,
        addresses: Vec<String>,
        expires: Timestamp,
    ) -> impl Future<
        Output = Result<
            Result<maillon_protocol::invitation::SignedInvitation, InviteRefused>,
            BackendError,
        >,
    > + Send;
    /// The text form of an invitation this node made, by its short code, until it expires
    /// (docs/PROTOCOL.md 14.6).
    fn served_invitation(
        &self,
        code: &maillon_protocol::invitation::ShortCode,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;
    /// Everything this node holds of a member's identity (records as JSON, photos), as one
    /// zip archive.
    fn export_member(
        &self,
        key: &PublicKey,
    ) -> impl Future<Output = Result<Vec<u8>, BackendError>> + Send;
    /// Whether this node holds a record, asking its peers for it first if it does not:
    /// what a page needs that may exist in the network before it reaches this node.
    fn fetch_record(
        &self,
        id: &RecordId,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
    /// Reconciles with a few peers now, for a page that looks for something (a member, a
    /// candidate's code) that may exist in the network before it reaches this node, and
    /// that it cannot ask for by record id. Bounded in time; errors are logged, not shown.
    fn catch_up(&self) -> impl Future<Output = ()> + Send;
    /// Whether this node holds a blob and may serve it (not erased), without fetching it.
    fn holds_blob(&self, hash: &BlobHash) -> bool;
    /// A blob, fetched from peers if this node lacks it.
    fn blob(
        &self,
        hash: &BlobHash,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, BackendError>> + Send;
    /// Stores a blob durably and returns its hash.
    fn put_blob(
        &self,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<BlobHash, BackendError>> + Send;
    /// Creates an account, unless its login is taken.
    fn create_account(&self, account: &Account) -> Result<AccountCreated, BackendError>;
    /// An account by login.
    fn account(&self, login: &str) -> Result<Option<Account>, BackendError>;
    /// The account holding a key.
    fn account_by_key(&self, key: &PublicKey) -> Result<Option<Account>, BackendError>;
    /// Removes an account whose creation could not be completed.
    fn delete_account(&self, login: &str) -> Result<(), BackendError>;
    /// Replaces an account (same login).
    fn update_account(&self, account: &Account) -> Result<(), BackendError>;
    /// Whether this node sends e-mail (its operator set up `[smtp]`).
    fn mail_enabled(&self) -> bool;
    /// A member's e-mail address and choices, if they gave one.
    fn mail_status(&self, login: &str) -> Result<Option<MailStatus>, BackendError>;
    /// Keeps a new address for a member, unverified, and queues the verification e-mail
    /// (in `lang`); an empty address removes the member's address.
    fn set_mail_address(
        &self,
        login: &str,
        address: &str,
        lang: crate::session::Lang,
    ) -> Result<AddressOutcome, BackendError>;
    /// What the member receives by e-mail, and in which language.
    fn set_mail_topics(
        &self,
        login: &str,
        topics: &[MailTopic],
        lang: crate::session::Lang,
    ) -> Result<(), BackendError>;
    /// Confirms an address with the token of its verification link; whether it was valid.
    fn verify_mail(&self, token: &str) -> Result<bool, BackendError>;
    /// Turns every e-mail off for the address of an unsubscribe token; whether it was known.
    fn unsubscribe_mail(&self, token: &str) -> Result<bool, BackendError>;

    /// The operator's donation page, if set.
    fn donation(&self) -> Option<DonationPage>;

    /// Sets the donation page, or removes it (`None`).
    fn set_donation(&self, page: Option<DonationPage>) -> Result<(), BackendError>;

    /// Every request to feature a listing, newest first.
    fn bump_requests(&self) -> Vec<BumpRequest>;

    /// Records a member's request to feature their listing.
    fn ask_bump(
        &self,
        series: RecordId,
        member: PublicKey,
        message: String,
    ) -> Result<BumpAsked, BackendError>;

    /// Signs a bump of `days` days with the node's key for a waiting request, within the
    /// charter's limit of bumps per node per day, and submits it.
    fn grant_bump(
        &self,
        number: u64,
        days: u64,
    ) -> impl Future<Output = Result<Result<BumpRequest, BumpRefused>, BackendError>> + Send;

    /// Declines a waiting request; whether there was one.
    fn decline_bump(&self, number: u64) -> Result<bool, BackendError>;

    /// The outside sites registered for « Se connecter avec Maillon ».
    fn oidc_clients(&self) -> Vec<OidcClient>;

    /// Replaces the registered outside sites.
    fn set_oidc_clients(&self, clients: Vec<OidcClient>) -> Result<(), BackendError>;

    /// The key that signs ID tokens, derived from the node's key.
    fn token_key(&self) -> Arc<TokenKey>;
}

/// Keys as hex in account files.
mod key_hex {
    use maillon_protocol::PublicKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &PublicKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let text = String::deserialize(d)?;
        PublicKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Times as milliseconds in account files.
mod millis {
    use maillon_protocol::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(at.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        u64::deserialize(d).map(Timestamp)
    }
}
