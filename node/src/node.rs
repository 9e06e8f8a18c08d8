//! A whole node assembled from its configuration: store, blobs, engine, network and HTTP
//! server, with a shutdown signal passed in. Tests start several on loopback, port 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libp2p::identity::Keypair;
use libp2p::Multiaddr;
use maillon_protocol::SecretKey;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::blobs::{BlobError, BlobStore};
use crate::config::Config;
use crate::engine::start_progress::{StartProgress, StartStep};
use crate::engine::{Clock, Engine, EngineError, EngineParts, Origin};
use crate::http_server::starting;
use crate::http_server::switch::SwitchedHttp;
use crate::init::read_charter;
use crate::network::{self, Client, NetworkError, NetworkSettings, NetworkTasks};
use crate::store::{SledConfig, SledStore, Store, StoreError};

/// The file, in the data folder, of this node's own announcement, submitted at start-up.
pub const ANNOUNCEMENT_FILE: &str = "announcement.cbor";

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum NodeError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The node key file is not 64 hex digits.
    #[error("the node key file {0} is not 64 hexadecimal digits")]
    BadKey(PathBuf),
    /// The charter or announcement file is not valid.
    #[error("{0}")]
    BadFile(String),
    /// An address in the configuration is not a multiaddress.
    #[error("`{0}` is not a multiaddress")]
    BadAddress(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The blob folder failed.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// The network failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The HTTP listener failed.
    #[error("HTTP: {0}")]
    Http(std::io::Error),
    /// The metrics listener could not be opened.
    #[error("cannot listen for metrics on {address} ({source}): choose another address in `[metrics] listen`, or leave it empty")]
    Metrics {
        /// The configured address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The web UI's indexes or accounts could not be opened.
    #[error("web UI: {0}")]
    Web(String),
}

/// What a node needs beyond its configuration.
pub struct NodeOptions {
    /// The validated configuration.
    pub config: Config,
    /// The bound HTTP listener.
    pub http: TcpListener,
    /// Network settings (from the configuration, adjustable by tests).
    pub network: NetworkSettings,
    /// The clock.
    pub clock: Clock,
    /// How the member-facing website behaves.
    pub web: maillon_web_ui::WebConfig,
}

/// A running node.
pub struct RunningNode {
    /// The engine.
    pub engine: Engine,
    /// The network client.
    pub client: Client,
    /// The blob store.
    pub blobs: BlobStore,
    /// The store, marked closed cleanly at the end of [`RunningNode::shutdown`].
    store: std::sync::Arc<SledStore>,
    /// The HTTP address served.
    pub http_address: SocketAddr,
    /// The metrics listener's address, if `[metrics] listen` names one.
    pub metrics_address: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<()>,
    network: NetworkTasks,
    web_tasks: Vec<JoinHandle<()>>,
    photo_eraser: JoinHandle<()>,
    admin: JoinHandle<()>,
    monitor: Vec<JoinHandle<()>>,
}

/// Reads a node key file (64 hex digits of seed).
pub fn read_key(path: &Path) -> Result<SecretKey, NodeError> {
    crate::init::read_key(path).map_err(|error| match error {
        crate::init::InitError::Io { path, source } => NodeError::Read { path, source },
        _ => NodeError::BadKey(path.to_path_buf()),
    })
}

/// Network settings from a configuration.
pub fn network_settings(config: &Config) -> Result<NetworkSettings, NodeError> {
    let parse = |text: &String| {
        text.parse::<Multiaddr>()
            .map_err(|_| NodeError::BadAddress(text.clone()))
    };
    Ok(NetworkSettings {
        listen: config.listen.iter().map(parse).collect::<Result<_, _>>()?,
        bootstrap: config
            .bootstrap
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()?,
        mdns: config.mdns,
        external_addresses: config
            .links
            .external_addresses
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()?,
        ping_interval: config.links.ping_interval,
        ping_timeout: config.links.ping_timeout,
        redial: config.links.redial.clone(),
        use_relays: config.links.use_relays,
        autonat_private_addresses: config.links.autonat_private_addresses,
        relay: config.links.relay.clone(),
        ..NetworkSettings::default()
    })
}

/// What a node needs beyond its configuration, when its HTTP server already runs (behind a
/// [`SwitchedHttp`], as after a founding ceremony).
pub struct NodeSettings {
    /// The validated configuration.
    pub config: Config,
    /// Network settings.
    pub network: NetworkSettings,
    /// The clock.
    pub clock: Clock,
    /// How the member-facing website behaves.
    pub web: maillon_web_ui::WebConfig,
}

/// Starts a node.
pub async fn start(options: NodeOptions) -> Result<RunningNode, NodeError> {
    let NodeOptions {
        config,
        http,
        network,
        clock,
        web,
    } = options;
    let http_address = http.local_addr().map_err(NodeError::Http)?;
    let settings = NodeSettings {
        config,
        network,
        clock,
        web,
    };
    let limits = settings.config.site.server;
    let progress = Arc::new(StartProgress::new());
    let http = SwitchedHttp::serve(http, starting::router(progress.clone()), limits)
        .map_err(NodeError::Http)?;
    debug_assert_eq!(http.address, http_address);
    start_switched(settings, http, progress).await
}

/// Starts a node behind an HTTP server that already serves something else (the founding
/// pages): the site is switched to the node's once it is ready. On failure the server stops.
pub async fn start_behind(
    settings: NodeSettings,
    http: SwitchedHttp,
) -> Result<RunningNode, NodeError> {
    start_switched(settings, http, Arc::new(StartProgress::new())).await
}

/// Assembles the node behind `http`, reporting to `progress`, and switches the site to the
/// node's once it is ready. On failure the server stops.
async fn start_switched(
    settings: NodeSettings,
    http: SwitchedHttp,
    progress: Arc<StartProgress>,
) -> Result<RunningNode, NodeError> {
    match assemble(settings, http.shutdown.subscribe(), progress).await {
        Ok((parts, app)) => {
            http.switch.set(app);
            Ok(parts.running(http.address, http.shutdown, http.server))
        }
        Err(error) => {
            http.stop().await;
            Err(error)
        }
    }
}

/// Everything of a running node but its HTTP server.
struct Assembled {
    engine: Engine,
    /// The store, to mark it closed cleanly at shutdown.
    store: std::sync::Arc<SledStore>,
    client: Client,
    blobs: BlobStore,
    network: NetworkTasks,
    web_tasks: Vec<JoinHandle<()>>,
    photo_eraser: JoinHandle<()>,
    admin: JoinHandle<()>,
    /// The metrics listener and the history sampler.
    monitor: Vec<JoinHandle<()>>,
    metrics_address: Option<SocketAddr>,
}

impl Assembled {
    fn running(
        self,
        http_address: SocketAddr,
        shutdown: watch::Sender<bool>,
        http: JoinHandle<()>,
    ) -> RunningNode {
        RunningNode {
            engine: self.engine,
            store: self.store,
            client: self.client,
            blobs: self.blobs,
            http_address,
            metrics_address: self.metrics_address,
            shutdown,
            http,
            network: self.network,
            web_tasks: self.web_tasks,
            photo_eraser: self.photo_eraser,
            admin: self.admin,
            monitor: self.monitor,
        }
    }
}

/// Where the node's sled store lives (`<data_dir>/store`) and its cache.
pub fn store_config(config: &crate::config::Config) -> SledConfig {
    SledConfig {
        path: config.data_dir.join("store"),
        cache_capacity_bytes: config.cache_capacity_bytes,
    }
}

async fn assemble(
    settings: NodeSettings,
    signal: watch::Receiver<bool>,
    progress: Arc<StartProgress>,
) -> Result<(Assembled, axum::Router), NodeError> {
    let config = &settings.config;
    // First, so that a taken port stops the start before anything is opened.
    let metrics_listener = match config.metrics.listen {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .map_err(|source| NodeError::Metrics { address, source })?,
        ),
        None => None,
    };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| NodeError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let charter = read_charter(&read(&config.charter_file)?)
        .map_err(|e| NodeError::BadFile(e.to_string()))?;
    let key = read_key(&config.data_dir.join("node.key"))?;
    let sled_config = store_config(config);
    // On the blocking pool: after an unclean stop, the index check reads the whole store.
    let (store, check) = tokio::task::spawn_blocking(move || SledStore::open_checked(&sled_config))
        .await
        .map_err(|_| StoreError::Corrupt("opening the store panicked".into()))??;
    progress.set_total(store.len()?);
    store.set_free_space_floor(config.min_free_bytes);
    match check {
        Some(check) if !check.is_consistent() => tracing::warn!(
            ?check,
            "derived indexes disagreed with the records and were rebuilt"
        ),
        Some(_) => tracing::info!("the last stop was not clean: the store's indexes were checked"),
        None => {}
    }
    let store = std::sync::Arc::new(store);
    let blobs = BlobStore::open(config.data_dir.join("blobs"))?;
    let database = store.database();
    let web_indexes = crate::web::feeder::WebIndexes::empty(&charter_body(&charter)?);
    let readers = web_indexes.readers();
    let engine = Engine::start_reporting(
        EngineParts {
            store: store.clone(),
            charter,
            node_key: key.public_key(),
            name: config.name.clone(),
            parking: config.parking,
            joins_per_introducer_per_day: config.joins_per_introducer_per_day,
            clock: settings.clock,
        },
        progress.clone(),
        readers,
    )
    .await?;
    // Before anything is submitted: the web's indexes miss no record.
    let web_indexes = web_indexes.subscribe(&engine);
    progress.enter(StartStep::StartingServices);
    let photo_eraser = crate::erasure::photos::spawn(
        engine.clone(),
        blobs.clone(),
        engine.subscribe(),
        signal.clone(),
    );
    submit_own_announcement(&engine, config, &key).await?;
    crate::founding::submit_founders_profiles(&engine, &config.data_dir).await?;
    let keypair = Keypair::ed25519_from_bytes(key.seed())
        .map_err(|_| NodeError::BadKey(config.data_dir.join("node.key")))?;
    let peers_configured = !settings.network.bootstrap.is_empty();
    let (client, network) = network::start(
        engine.clone(),
        blobs.clone(),
        keypair,
        settings.network,
        signal.clone(),
    )
    .await?;
    let site = crate::web::start(
        web_indexes,
        Some(client.clone()),
        blobs.clone(),
        &config.data_dir,
        settings.web,
        config.smtp.clone(),
        signal.clone(),
    )?;
    // Last, so that a node that failed to start leaves no socket holding the database. A
    // node whose socket cannot be made still runs; only `maillon backup` is then refused.
    let sources = crate::backup::Sources::of(config, None);
    let admin = match crate::backup::admin::spawn(database, sources, signal.clone()) {
        Ok(task) => task,
        Err(error) => {
            tracing::warn!(%error, "no admin socket: `maillon backup` cannot reach this node");
            tokio::spawn(async {})
        }
    };
    let app = api::router(ApiState {
        peers_configured,
        engine: engine.clone(),
        network: Some(client.clone()),
    })
    .merge(site.router);
    let sources = crate::metrics::serve::Sources {
        engine: engine.clone(),
        network: Some(client.clone()),
        blobs: blobs.clone(),
    };
    let metrics_address = metrics_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()
        .map_err(NodeError::Http)?;
    let (app, monitor) = monitor(app, sources, metrics_listener, config, signal);
    let parts = Assembled {
        store,
        metrics_address,
        monitor,
        engine,
        client,
        blobs,
        network,
        web_tasks: site.tasks,
        photo_eraser,
        admin,
    };
    Ok((parts, app))
}

/// Adds `/metrics` to the site if configured and counts its requests; starts the metrics
/// listener, if any, and the history sampler.
fn monitor(
    app: axum::Router,
    sources: crate::metrics::serve::Sources,
    listener: Option<TcpListener>,
    config: &Config,
    signal: watch::Receiver<bool>,
) -> (axum::Router, Vec<JoinHandle<()>>) {
    use crate::metrics::{history, serve};
    let metrics = sources.engine.metrics().clone();
    let app = if config.metrics.on_site {
        app.merge(serve::site_router(sources.clone()))
    } else {
        app
    };
    let mut tasks = vec![history::spawn(
        sources.clone(),
        config.data_dir.join(history::HISTORY_FILE),
        history::SAMPLE_EVERY,
        signal.clone(),
    )];
    if let Some(listener) = listener {
        let router = serve::router(sources);
        let limits = config.site.server;
        tasks.push(tokio::spawn(crate::http_server::serve(
            listener, router, limits, signal,
        )));
    }
    (crate::metrics::http::counted(app, metrics), tasks)
}

/// The charter's body.
fn charter_body(
    charter: &maillon_protocol::Record,
) -> Result<maillon_protocol::kinds::Charter, NodeError> {
    match charter.body() {
        Some(maillon_protocol::Body::Charter(body)) => Ok(body.clone()),
        _ => Err(NodeError::BadFile(
            "the charter file holds no charter".into(),
        )),
    }
}

/// Submits the node's own announcement from its file, first signing it again if it does not
/// name the configured website (`[http] site_url`), and keeping the new one in the file.
async fn submit_own_announcement(
    engine: &Engine,
    config: &Config,
    key: &SecretKey,
) -> Result<(), NodeError> {
    let path = config.data_dir.join(ANNOUNCEMENT_FILE);
    if !path.exists() {
        return Ok(());
    }
    let bad = |e: &dyn std::fmt::Display| NodeError::BadFile(format!("{}: {e}", path.display()));
    let mut bytes = std::fs::read(&path).map_err(|source| NodeError::Read {
        path: path.clone(),
        source,
    })?;
    let held = maillon_protocol::Record::decode(&bytes, &engine.network()).map_err(|e| bad(&e))?;
    let site = config.site_address.as_ref();
    if let Some(named) =
        crate::announce::naming_site(&held, key, site, engine.now()).map_err(|e| bad(&e))?
    {
        bytes = named.to_wire();
        crate::durable::write_atomically(&path, &bytes).map_err(|e| bad(&e))?;
        tracing::info!(site = ?site.map(|s| s.url()), "the node's announcement names its website anew");
    }
    engine
        .submit_wire(&bytes, Origin::Local)
        .await
        .map_err(|e| bad(&e))?;
    Ok(())
}

impl RunningNode {
    /// Stops the HTTP server and the network, waits for them, and flushes the store.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        // Receivers may already be gone if a task stopped on its own.
        let _ = self.shutdown.send(true);
        let _ = self.http.await;
        let _ = self.network.event_loop.await;
        let _ = self.network.sync_driver.await;
        for task in self.web_tasks {
            let _ = task.await;
        }
        let _ = self.photo_eraser.await;
        let _ = self.admin.await;
        for task in self.monitor {
            let _ = task.await;
        }
        self.engine.stop();
        self.engine.store().flush().await?;
        // Every task that writes has stopped and the store is flushed.
        let closing = std::sync::Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || closing.mark_closed_cleanly())
            .await
            .map_err(|e| StoreError::Corrupt(format!("the closing task failed: {e}")))??;
        drop(self.store);
        let store = self.engine.store_weak();
        drop(self.engine);
        drop(self.client);
        // The store closes (and frees its lock) once the last task lets go of it.
        for _ in 0..500 {
            if store.strong_count() == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tracing::warn!("the store was still in use 10 s after shutdown");
        Ok(())
    }

    /// The addresses the network listens on, with this node's peer id appended.
    pub async fn p2p_addresses(&self) -> Result<Vec<Multiaddr>, NodeError> {
        let peer = self.client.peer_id();
        Ok(self
            .client
            .listen_addresses()
            .await?
            .into_iter()
            .map(|a| a.with(libp2p::multiaddr::Protocol::P2p(peer)))
            .collect())
    }
}
