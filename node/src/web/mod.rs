//! The node's side of the web UI: [`NodeBackend`] implements `maillon_web_ui::Backend` over
//! the engine, the membership index, the social index, the search index, the blob store and
//! the accounts folder.
//!
//! - [`social`]: profiles, codes, listings, transactions, kept in memory from the records.
//! - [`accounts`]: members' sealed keys, one file per account.
//! - [`moderation`]: complaints, appointments, labels, and what they add up to.
//! - [`operator`]: the operator page's view of peers, policies and sync.
//! - [`feeder`]: keeps the social and moderation indexes fed from the engine's stored events.
//! - [`funding`]: the donation page and members' feature requests, and granting them.
//! - [`json_file`]: small JSON files written whole (funding, registered outside sites).

pub mod accounts;
pub mod feeder;
#[cfg(test)]
mod feeder_tests;
pub mod funding;
pub mod json_file;
pub mod moderation;
pub mod operator;
mod pages;
pub mod social;
#[cfg(test)]
mod tests;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, RwLock};

use maillon_protocol::invitation::SignedInvitation;
use maillon_protocol::kinds::NodePolicy;
use maillon_protocol::kinds::Position;
use maillon_protocol::trust::TrustReport;
use maillon_protocol::{BlobHash, PublicKey, Record, RecordId, Timestamp};
use maillon_web_ui::backend::{
    Account, AccountCreated, Backend, BackendError, FrameView, InviteRefused, ListingPageView,
    ListingView, MemberView, OperatorView, Reputation, SearchPage, SearchQuery, SiteInfo, SiteLink,
    Submitted, TransactionView,
};
use maillon_web_ui::funding::{BumpAsked, BumpRefused, BumpRequest, DonationPage};
use maillon_web_ui::mail::{AddressOutcome, MailStatus, MailTopic};
use maillon_web_ui::session::Lang;

use crate::blobs::BlobStore;
use crate::engine::{Engine, Origin};
use crate::ingest::pipeline::Submitted as Ingested;
use crate::network::Client;
use crate::search::SearchIndex;

use crate::invitation::served::ServedInvitations;
use crate::mail::MailDesk;
use accounts::AccountFiles;
use funding::FundingFile;
use json_file::JsonFile;
use maillon_protocol::invitation::ShortCode;
use maillon_protocol::moderation::Moderation;
use maillon_web_ui::oidc::jwt::TokenKey;
use maillon_web_ui::oidc::OidcClient;
use moderation::ModerationIndex;
use social::SocialIndex;

/// Keys visited at most when listing members within a trust distance.
pub const MAX_HOPS_VISITED: usize = 200_000;

/// Everything the web UI reads and writes through.
#[derive(Clone)]
pub struct NodeBackend {
    engine: Engine,
    network: Option<Client>,
    blobs: BlobStore,
    social: Arc<RwLock<SocialIndex>>,
    moderation: Arc<RwLock<ModerationIndex>>,
    accounts: Arc<AccountFiles>,
    search: Arc<SearchIndex>,
    node_position: Option<Position>,
    node_secret: Arc<maillon_protocol::SecretKey>,
    invitations: Arc<ServedInvitations>,
    /// When the last catch-up sync for a page ended: one at a time, at most one per
    /// [`CATCH_UP_SPACING`], so that pages cannot be used to flood peers with sessions.
    catch_up_gate: Arc<tokio::sync::Mutex<Option<std::time::Instant>>>,
    /// E-mail to members, when the operator set up `[smtp]`.
    mail: Option<Arc<MailDesk>>,
    /// The donation page and the feature requests.
    funding: Arc<FundingFile>,
    /// The outside sites registered for « Se connecter avec Maillon ».
    oidc_clients: Arc<JsonFile<Vec<OidcClient>>>,
    /// The key that signs ID tokens.
    token_key: Arc<TokenKey>,
    /// The charter, shared with every page that reads it.
    charter: Arc<maillon_protocol::kinds::Charter>,
}

impl NodeBackend {
    /// The node's metrics.
    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        self.engine.metrics()
    }

    fn social(&self) -> std::sync::RwLockReadGuard<'_, SocialIndex> {
        self.social.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The moderation state as of now.
    fn moderation(&self) -> Arc<Moderation> {
        self.moderation
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .current()
    }
}

/// Peers asked for a record a page needs, and how long each may take.
const FETCH_PEERS: usize = 3;
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Least time between two catch-up syncs asked by pages.
const CATCH_UP_SPACING: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a page waits for one catch-up sync session with a peer.
const CATCH_UP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// Asks up to [`FETCH_PEERS`] connected peers for `id`, one after another; the record's wire
/// form once stored.
async fn fetch_from_peers(
    engine: &Engine,
    client: &Client,
    id: &RecordId,
) -> Result<Option<Vec<u8>>, BackendError> {
    let peers = client.peers().await.map_err(backend_error)?;
    for peer in peers.into_iter().take(FETCH_PEERS) {
        let asked = crate::network::transfer::fetch(engine, client, peer, vec![*id]);
        if let Ok(Err(error)) = tokio::time::timeout(FETCH_TIMEOUT, asked).await {
            tracing::debug!(%peer, %error, "a peer could not give a record a page needs");
        }
        if let Some(wire) = engine.record(id).map_err(backend_error)? {
            return Ok(Some(wire));
        }
    }
    Ok(None)
}

/// The site and the tasks that keep its indexes fed.
pub struct Site {
    /// The member-facing routes.
    pub router: axum::Router,
    /// What the routes read and write through.
    pub backend: NodeBackend,
    /// The feeders, which stop when the shutdown signal turns true.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Opens the accounts and the search index, starts the feeders of the indexes the engine's
/// start-up pass filled, and builds the site's router.
pub fn start(
    fed: feeder::FedIndexes,
    network: Option<Client>,
    blobs: BlobStore,
    data_dir: &std::path::Path,
    config: maillon_web_ui::WebConfig,
    smtp: Option<crate::mail::settings::SmtpSettings>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Site, crate::node::NodeError> {
    use crate::node::NodeError;
    let web_error = |e: &dyn std::fmt::Display| NodeError::Web(e.to_string());
    let accounts = AccountFiles::open(data_dir.join("accounts")).map_err(|e| web_error(&e))?;
    let node_secret = Arc::new(crate::node::read_key(&data_dir.join("node.key"))?);
    let funding = FundingFile::open(data_dir.join("funding.json")).map_err(|e| web_error(&e))?;
    let oidc_clients =
        JsonFile::open(data_dir.join("oidc-clients.json")).map_err(|e| web_error(&e))?;
    let token_key = Arc::new(TokenKey::derive(&node_secret.seed()));
    let invitations =
        ServedInvitations::open(data_dir.join("invitations")).map_err(|e| web_error(&e))?;
    let search =
        SearchIndex::open(&data_dir.join("search"), 20 * 1024 * 1024).map_err(|e| web_error(&e))?;
    let writer = search.writer().map_err(|e| web_error(&e))?;
    let engine = &fed.engine.clone();
    let feeder::WebIndexes { social, moderation } = fed.indexes.clone();
    let mut tasks = fed.spawn_feeders(&shutdown);
    let search_feeder = crate::search::spawn_feeder(engine.clone(), writer, shutdown.clone());
    tasks.push(tokio::spawn(async move {
        match search_feeder.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "the search feeder stopped"),
            Err(error) => tracing::error!(%error, "the search feeder panicked"),
        }
    }));
    let node_position = engine
        .index_as_is()
        .announced_nodes()
        .get(&engine.node_key())
        .and_then(|a| {
            maillon_web_ui::places::Places::embedded()
                .lookup(&a.postcode)
                .ok()
        })
        .map(|place| place.position);
    let backend = NodeBackend {
        engine: engine.clone(),
        network,
        blobs,
        social,
        moderation,
        accounts: Arc::new(accounts),
        search: Arc::new(search),
        node_position,
        node_secret,
        invitations: Arc::new(invitations),
        catch_up_gate: Arc::new(tokio::sync::Mutex::new(None)),
        funding: Arc::new(funding),
        oidc_clients: Arc::new(oidc_clients),
        token_key,
        charter: Arc::new(engine.charter().clone()),
        mail: smtp
            .map(|settings| mail_desk(engine, settings))
            .transpose()
            .map_err(|e| web_error(&e))?,
    };
    if let Some(desk) = &backend.mail {
        let worker = crate::mail::worker::spawn(desk.clone(), backend.clone(), shutdown)
            .map_err(|e| web_error(&e))?;
        tasks.push(worker);
    }
    Ok(Site {
        router: maillon_web_ui::router(backend.clone(), config),
        backend,
        tasks,
    })
}

/// The e-mail desk over the store's `mail` side tree and the engine's clock.
fn mail_desk(
    engine: &Engine,
    settings: crate::mail::settings::SmtpSettings,
) -> Result<Arc<MailDesk>, crate::mail::MailError> {
    let tree = engine.store().side_tree("mail")?;
    let clock_engine = engine.clone();
    Ok(Arc::new(MailDesk::new(
        tree,
        settings,
        engine.name().to_string(),
        Arc::new(move || clock_engine.now()),
    )))
}

/// A listing's view with its bump in force, if any: effective under the charter's daily
/// limit, signed by an announced node, not expired (docs/PROTOCOL.md 9.2).
fn marked(
    view: &ListingView,
    social: &SocialIndex,
    index: &crate::membership_index::MembershipIndex,
    now: Timestamp,
) -> ListingView {
    let nodes = index.announced_nodes();
    let bump = social.bump_in_force(&view.series, now, |node| nodes.contains_key(node));
    ListingView {
        bumped_at: bump.map(|(at, _)| at),
        bump_until: bump.map(|(_, until)| until),
        ..view.clone()
    }
}

fn backend_error(error: impl std::fmt::Display) -> BackendError {
    BackendError(error.to_string())
}

impl Backend for NodeBackend {
    fn site(&self) -> SiteInfo {
        SiteInfo {
            network: self.engine.network(),
            charter: self.charter.clone(),
            node_key: self.engine.node_key(),
            node_name: self.engine.name().to_string(),
            node_position: self.node_position,
            operator: self
                .engine
                .index_as_is()
                .announced_nodes()
                .get(&self.engine.node_key())
                .map(|a| a.operator),
        }
    }

    fn frame(&self, viewer: Option<&PublicKey>) -> FrameView {
        pages::frame(self, viewer)
    }

    fn sites(&self) -> Vec<SiteLink> {
        let this = self.engine.node_key();
        let index = self.engine.index_as_is();
        let mut sites: Vec<SiteLink> = index
            .announced_nodes()
            .iter()
            .filter_map(|(node, announcement)| {
                let site = maillon_protocol::kinds::SiteAddress::of(announcement)?;
                Some(SiteLink {
                    name: announcement.name.clone(),
                    postcode: announcement.postcode.clone(),
                    url: site.url(),
                    this_site: *node == this,
                })
            })
            .collect();
        sites.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.url.cmp(&b.url)));
        sites
    }

    fn now(&self) -> Timestamp {
        self.engine.now()
    }

    async fn submit(&self, record: Record) -> Result<Submitted, BackendError> {
        let answer = self
            .engine
            .submit_wire(&record.to_wire(), Origin::Local)
            .await;
        let outcome = match answer {
            Ok(Ingested::Stored { id, .. }) => Submitted::Stored(id),
            Ok(Ingested::Duplicate(id)) => Submitted::Duplicate(id),
            Ok(Ingested::Parked { id, .. }) => return Ok(Submitted::Parked(id)),
            // One classification (ingest::outcome): the node's own failures are errors,
            // every refusal is said to the member by its code.
            Err(error) if error.is_internal() => return Err(backend_error(error)),
            Err(error) => {
                return Ok(Submitted::Rejected {
                    code: error.code().to_string(),
                    message: error.to_string(),
                })
            }
        };
        // Read your own writes: the page the member lands on must show the record (or, for
        // an erasure, no longer show what it erased). The feeders apply it again later,
        // which changes nothing.
        feeder::apply(&self.engine, &self.social, &record).await;
        feeder::apply(&self.engine, &self.moderation, &record).await;
        Ok(outcome)
    }

    fn record(&self, id: &RecordId) -> Result<Option<Record>, BackendError> {
        let Some(wire) = self.engine.record(id).map_err(backend_error)? else {
            return Ok(None);
        };
        Record::decode(&wire, &self.engine.network())
            .map(Some)
            .map_err(backend_error)
    }

    fn member(&self, key: &PublicKey) -> MemberView {
        let summary = self.engine.index().member(key);
        let home_node_name = summary.home_node.and_then(|node| {
            self.engine
                .index_as_is()
                .announced_nodes()
                .get(&node)
                .map(|a| a.name.clone())
        });
        let social = self.social();
        MemberView {
            key: *key,
            identity: summary.identity,
            status: summary.status,
            profile: social
                .profile(&summary.identity)
                .or_else(|| social.profile(key))
                .cloned(),
            sponsors: summary.sponsors,
            sponsees: summary.sponsees,
            sponsorships: social.sponsorships_of(key),
            home_node_name,
            admitted_at: summary.admitted_at,
            strikes: summary.strikes,
        }
    }

    fn names(&self, keys: &[PublicKey]) -> Vec<(PublicKey, String)> {
        let social = self.social();
        keys.iter()
            .filter_map(|k| social.profile(k).map(|p| (*k, p.display_name.clone())))
            .collect()
    }

    fn trust(&self, from: &PublicKey, to: &PublicKey) -> TrustReport {
        self.engine.index().trust(from, to)
    }

    /// Listings without effect are stored and synced but not shown (docs/PROTOCOL.md 9.2).
    fn has_effect(&self, author: &PublicKey, at: Timestamp) -> bool {
        self.engine.index().in_good_standing_at(author, at)
    }

    fn introduce(
        &self,
        candidate: &PublicKey,
        created: Timestamp,
    ) -> Result<Option<(RecordId, maillon_protocol::Signature)>, BackendError> {
        let node = self.node_secret.public_key();
        let store = self.engine.store();
        for id in store.by_author(&node, 64).map_err(backend_error)? {
            let Some(wire) = store.get(&id).map_err(backend_error)? else {
                continue;
            };
            let record = crate::store::index::decode_stored(&wire).map_err(backend_error)?;
            if record.header().kind == maillon_protocol::Kind::NodeAnnouncement {
                let message = maillon_protocol::kinds::join_introduction_message(
                    &self.engine.network(),
                    candidate,
                    created,
                );
                return Ok(Some((id, self.node_secret.sign(&message))));
            }
        }
        Ok(None)
    }

    fn binding_refs(&self, keys: &[PublicKey]) -> Vec<RecordId> {
        let index = self.engine.index();
        let mut ids: Vec<RecordId> = keys
            .iter()
            .flat_map(|key| index.table().bindings_of(key))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    fn within_hops(&self, from: &PublicKey, hops: u32) -> Arc<HashSet<PublicKey>> {
        let index = self.engine.index();
        let table = index.table();
        let mut seen = HashSet::from([*from]);
        let mut queue = VecDeque::from([(*from, 0u32)]);
        while let Some((key, depth)) = queue.pop_front() {
            if depth == hops || seen.len() >= MAX_HOPS_VISITED {
                continue;
            }
            for next in table.sponsors(&key).into_iter().chain(table.sponsees(&key)) {
                if seen.insert(next) {
                    queue.push_back((next, depth + 1));
                }
            }
        }
        Arc::new(seen)
    }

    fn candidate_by_code(&self, code: &str) -> Option<PublicKey> {
        self.social().candidate_by_code(code)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, BackendError> {
        let found = self
            .search
            .search(query, self.now())
            .map_err(backend_error)?;
        let social = self.social();
        let moderation = self.moderation();
        let index = self.engine.index();
        let now = self.now();
        let hits = found
            .hits
            .into_iter()
            .filter_map(|hit| {
                social
                    .listing(&hit.series)
                    .filter(|v| !v.withdrawn && moderation.hidden_by(&v.series).is_none())
                    .filter(|v| index.in_good_standing_at(&v.author, v.published))
                    .map(|v| (marked(v, &social, &index, now), hit.distance_km))
            })
            .collect();
        Ok(SearchPage {
            hits,
            total: found.total,
        })
    }

    fn listing(&self, series: &RecordId) -> Option<ListingView> {
        let social = self.social();
        let index = self.engine.index();
        let view = social.listing(series)?;
        index
            .in_good_standing_at(&view.author, view.published)
            .then(|| marked(view, &social, &index, self.now()))
    }

    fn listing_page(
        &self,
        series: &RecordId,
        viewer: Option<&PublicKey>,
        reviews: usize,
    ) -> Option<ListingPageView> {
        pages::listing_page(self, series, viewer, reviews)
    }

    fn listings_by(&self, author: &PublicKey) -> Vec<ListingView> {
        let social = self.social();
        let index = self.engine.index();
        let keys = index.keys_of_identity(author);
        let now = self.now();
        social
            .listings_by(&keys, now)
            .iter()
            .filter(|view| index.in_good_standing_at(&view.author, view.published))
            .map(|view| marked(view, &social, &index, now))
            .collect()
    }

    fn transactions_of(&self, member: &PublicKey) -> Vec<TransactionView> {
        let keys = self.engine.index().keys_of_identity(member);
        let mut views = self.social().transactions_of(&keys);
        views.retain(|t| self.has_effect(&t.opener, t.opened_at));
        views
    }

    fn transaction(&self, id: &RecordId) -> Option<TransactionView> {
        let view = self.social().transaction(id)?;
        self.has_effect(&view.opener, view.opened_at)
            .then_some(view)
    }

    fn reputation(&self, member: &PublicKey) -> Reputation {
        let moderation = self.moderation();
        let social = self.social();
        let index = self.engine.index();
        pages::reputation_in(&social, &index, &moderation, member, self.now())
    }

    fn moderation(&self) -> Arc<Moderation> {
        NodeBackend::moderation(self)
    }

    fn missed_answers(&self, since: Timestamp, min: u32) -> Vec<(PublicKey, u32)> {
        let moderation = self.moderation();
        self.social().missed_answers(since, self.now(), min, |t| {
            moderation.cancelled_by(t).is_some()
        })
    }

    async fn operator_view(&self) -> Result<OperatorView, BackendError> {
        operator::view(self).await
    }

    async fn set_policy(&self, policy: NodePolicy) -> Result<Submitted, BackendError> {
        let record = Record::sign(
            &self.node_secret,
            &self.engine.network(),
            maillon_protocol::Draft {
                body: policy.into(),
                created: self.now(),
                expires: None,
            },
        )
        .map_err(backend_error)?;
        self.submit(record).await
    }

    async fn invite(
        &self,
        addresses: Vec<String>,
        expires: Timestamp,
    ) -> Result<Result<SignedInvitation, InviteRefused>, BackendError> {
        use crate::invitation::InvitationFailure;
        match crate::invitation::make(
            &self.engine,
            &self.node_secret,
            &addresses,
            self.now(),
            expires,
        ) {
            Ok(invitation) => {
                let (invitations, kept, now) =
                    (self.invitations.clone(), invitation.clone(), self.now());
                tokio::task::spawn_blocking(move || invitations.keep(&kept, now))
                    .await
                    .map_err(backend_error)?
                    .map_err(backend_error)?;
                Ok(Ok(invitation))
            }
            Err(InvitationFailure::NotAnnounced) => Ok(Err(InviteRefused::NotAnnounced)),
            Err(InvitationFailure::BadAddress(address)) => {
                Ok(Err(InviteRefused::BadAddress(address)))
            }
            Err(InvitationFailure::Invalid(error)) => {
                Ok(Err(InviteRefused::Invalid(error.to_string())))
            }
            Err(other) => Err(backend_error(other)),
        }
    }

    async fn served_invitation(&self, code: &ShortCode) -> Result<Option<String>, BackendError> {
        let (invitations, code, now) = (self.invitations.clone(), *code, self.now());
        tokio::task::spawn_blocking(move || invitations.text(&code, now))
            .await
            .map_err(backend_error)?
            .map_err(backend_error)
    }

    async fn export_member(&self, key: &PublicKey) -> Result<Vec<u8>, BackendError> {
        crate::erasure::export::export_identity(&self.engine, &self.blobs, key)
            .await
            .map_err(backend_error)
    }

    async fn fetch_record(&self, id: &RecordId) -> Result<bool, BackendError> {
        let held = self.engine.record(id).map_err(backend_error)?;
        let wire = match (held, &self.network) {
            (Some(wire), _) => Some(wire),
            (None, None) => None,
            (None, Some(client)) => fetch_from_peers(&self.engine, client, id).await?,
        };
        let Some(wire) = wire else {
            return Ok(false);
        };
        // The feeders may not have it yet: the page that asked must see it now.
        let record = Record::decode(&wire, &self.engine.network()).map_err(backend_error)?;
        feeder::apply(&self.engine, &self.social, &record).await;
        feeder::apply(&self.engine, &self.moderation, &record).await;
        Ok(true)
    }

    async fn catch_up(&self) {
        let Some(client) = &self.network else {
            return;
        };
        let mut last = self.catch_up_gate.lock().await;
        if last.is_some_and(|at| at.elapsed() < CATCH_UP_SPACING) {
            return;
        }
        let peers = client.peers().await.unwrap_or_default();
        for peer in peers.into_iter().take(FETCH_PEERS) {
            let session = crate::network::sync_driver::session(&self.engine, client, peer);
            match tokio::time::timeout(CATCH_UP_TIMEOUT, session).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::debug!(%peer, %error, "a page's catch-up sync failed"),
                Err(_) => tracing::debug!(%peer, "a page's catch-up sync timed out"),
            }
        }
        // The feeders take what arrived from the engine's events: give them a moment.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        *last = Some(std::time::Instant::now());
    }

    fn holds_blob(&self, hash: &BlobHash) -> bool {
        self.blobs.contains(hash) && !self.blobs.is_erased(hash)
    }

    async fn blob(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BackendError> {
        if let Some(blob) = self.blobs.get(hash).await.map_err(backend_error)? {
            return Ok(Some(blob));
        }
        match &self.network {
            Some(client) => {
                crate::network::blob_fetch::fetch_blob_from_any(&self.blobs, client, hash)
                    .await
                    .map_err(backend_error)
            }
            None => Ok(None),
        }
    }

    async fn put_blob(&self, bytes: Vec<u8>) -> Result<BlobHash, BackendError> {
        self.blobs.put(bytes).await.map_err(backend_error)
    }

    fn create_account(&self, account: &Account) -> Result<AccountCreated, BackendError> {
        self.accounts.create(account).map_err(backend_error)
    }

    fn account(&self, login: &str) -> Result<Option<Account>, BackendError> {
        Ok(self.accounts.get(login))
    }

    fn account_by_key(&self, key: &PublicKey) -> Result<Option<Account>, BackendError> {
        Ok(self.accounts.by_key(key))
    }

    fn delete_account(&self, login: &str) -> Result<(), BackendError> {
        if let Some(desk) = &self.mail {
            // The e-mail address and its queued messages go with the account.
            desk.set_address(login, "", Lang::Fr)
                .map_err(backend_error)?;
        }
        self.accounts.delete(login).map_err(backend_error)
    }

    fn update_account(&self, account: &Account) -> Result<(), BackendError> {
        self.accounts.update(account).map_err(backend_error)
    }

    fn mail_enabled(&self) -> bool {
        self.mail.is_some()
    }

    fn mail_status(&self, login: &str) -> Result<Option<MailStatus>, BackendError> {
        match &self.mail {
            Some(desk) => desk.status(login).map_err(backend_error),
            None => Ok(None),
        }
    }

    fn set_mail_address(
        &self,
        login: &str,
        address: &str,
        lang: Lang,
    ) -> Result<AddressOutcome, BackendError> {
        match &self.mail {
            Some(desk) => desk
                .set_address(login, address, lang)
                .map_err(backend_error),
            None => Ok(AddressOutcome::Disabled),
        }
    }

    fn set_mail_topics(
        &self,
        login: &str,
        topics: &[MailTopic],
        lang: Lang,
    ) -> Result<(), BackendError> {
        match &self.mail {
            Some(desk) => desk.set_topics(login, topics, lang).map_err(backend_error),
            None => Ok(()),
        }
    }

    fn verify_mail(&self, token: &str) -> Result<bool, BackendError> {
        match &self.mail {
            Some(desk) => desk.verify(token).map_err(backend_error),
            None => Ok(false),
        }
    }

    fn unsubscribe_mail(&self, token: &str) -> Result<bool, BackendError> {
        match &self.mail {
            Some(desk) => desk.unsubscribe(token).map_err(backend_error),
            None => Ok(false),
        }
    }

    fn donation(&self) -> Option<DonationPage> {
        self.funding.donation()
    }

    fn set_donation(&self, page: Option<DonationPage>) -> Result<(), BackendError> {
        self.funding.set_donation(page).map_err(backend_error)
    }

    fn bump_requests(&self) -> Vec<BumpRequest> {
        self.funding.requests()
    }

    fn ask_bump(
        &self,
        series: RecordId,
        member: PublicKey,
        message: String,
    ) -> Result<BumpAsked, BackendError> {
        self.funding
            .ask(series, member, message, self.now())
            .map_err(backend_error)
    }

    async fn grant_bump(
        &self,
        number: u64,
        days: u64,
    ) -> Result<Result<BumpRequest, BumpRefused>, BackendError> {
        funding::grant(self, number, days).await
    }

    fn decline_bump(&self, number: u64) -> Result<bool, BackendError> {
        let answer = maillon_web_ui::funding::BumpState::Declined { at: self.now().0 };
        self.funding
            .settle(number, answer)
            .map(|settled| settled.is_some())
            .map_err(backend_error)
    }

    fn oidc_clients(&self) -> Vec<OidcClient> {
        self.oidc_clients.read(Clone::clone)
    }

    fn set_oidc_clients(&self, clients: Vec<OidcClient>) -> Result<(), BackendError> {
        self.oidc_clients
            .change(|held| *held = clients)
            .map_err(backend_error)
    }

    fn token_key(&self) -> Arc<TokenKey> {
        self.token_key.clone()
    }
}
