//! Node configuration in two stages: raw values from a TOML file and `MAILLON_*`
//! environment variables, then a validated [`Config`] whose every field is known good.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::http_server::ServerLimits;
use crate::ingest::parking::ParkingLimits;

/// The raw configuration, as read: every field optional or defaulted, nothing checked.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// `[node]`
    pub node: RawNode,
    /// `[network]`
    pub network: RawNetwork,
    /// `[http]`
    pub http: RawHttp,
    /// `[store]`
    pub store: RawStore,
    /// `[parking]`
    pub parking: RawParking,
    /// `[relay]`
    pub relay: RawRelay,
    /// `[smtp]`: e-mail to members (optional).
    pub smtp: crate::mail::settings::RawSmtp,
    /// `[log]`
    pub log: RawLog,
    /// `[metrics]`: where `GET /metrics` is served.
    pub metrics: crate::metrics::settings::RawMetrics,
}

/// `[node]`: who this node is and where it keeps its data.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawNode {
    /// Display name.
    pub name: String,
    /// Data folder; relative paths are relative to the config file.
    pub data_dir: PathBuf,
}

/// `[network]`: the network to join and how to reach peers.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawNetwork {
    /// The charter file (wire bytes of the charter record).
    pub charter_file: PathBuf,
    /// Multiaddresses to listen on.
    pub listen: Vec<String>,
    /// Multiaddresses of bootstrap peers, each ending in `/p2p/<peer id>`.
    pub bootstrap: Vec<String>,
    /// Whether to find peers on the local network with mDNS.
    pub mdns: bool,
    /// Addresses where this node is reachable from outside (a forwarded port), announced
    /// to peers as they are.
    pub external_addresses: Vec<String>,
    /// Connected nodes under which this node dials the others it knows.
    pub min_peers: usize,
    /// The longest wait, in seconds, between two dials of a node that cannot be reached.
    pub redial_max_secs: u64,
    /// How often, in seconds, each connection is pinged.
    pub ping_interval_secs: u64,
    /// How long, in seconds, a ping may go unanswered before the link counts as dead.
    pub ping_timeout_secs: u64,
    /// Whether, when AutoNAT finds this node unreachable, it listens through relays.
    pub use_relays: bool,
    /// Whether AutoNAT may count private addresses as reachable (a LAN without internet).
    pub autonat_private_addresses: bool,
    /// Joins one introducing node may bring in a day through this node's edges.
    pub joins_per_introducer_per_day: usize,
}

impl Default for RawNetwork {
    fn default() -> Self {
        let settings = crate::network::NetworkSettings::default();
        RawNetwork {
            charter_file: PathBuf::new(),
            listen: Vec::new(),
            bootstrap: Vec::new(),
            mdns: false,
            external_addresses: Vec::new(),
            min_peers: settings.redial.min_peers,
            redial_max_secs: settings.redial.max_backoff.as_secs(),
            ping_interval_secs: settings.ping_interval.as_secs(),
            ping_timeout_secs: settings.ping_timeout.as_secs(),
            use_relays: settings.use_relays,
            autonat_private_addresses: settings.autonat_private_addresses,
            joins_per_introducer_per_day:
                crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
        }
    }
}

/// `[relay]`: the relay service a reachable node offers to nodes behind routers.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawRelay {
    /// Whether this node relays for others (only useful on a node reachable from outside).
    pub serve: bool,
    /// Reservations held at once.
    pub max_reservations: usize,
    /// Relayed connections at once.
    pub max_circuits: usize,
    /// Relayed connections at once for one node.
    pub max_circuits_per_peer: usize,
    /// Minutes one relayed connection may last (then it is redialled).
    pub max_circuit_minutes: u64,
    /// MiB one relayed connection may carry (then it is redialled).
    pub max_circuit_mib: u64,
}

impl Default for RawRelay {
    fn default() -> Self {
        let limits = crate::network::RelayLimits::default();
        RawRelay {
            serve: false,
            max_reservations: limits.max_reservations,
            max_circuits: limits.max_circuits,
            max_circuits_per_peer: limits.max_circuits_per_peer,
            max_circuit_minutes: limits.max_circuit_duration.as_secs() / 60,
            max_circuit_mib: limits.max_circuit_bytes >> 20,
        }
    }
}

/// `[http]`: the web UI and JSON API.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawHttp {
    /// Socket address to serve on.
    pub listen: String,
    /// Mark session cookies `Secure`: the site is reached over TLS (directly or through a
    /// reverse proxy).
    pub secure_cookies: bool,
    /// Take the client address for sign-in limits from the last `X-Forwarded-For` entry;
    /// only behind a reverse proxy that sets it.
    pub trust_forwarded_for: bool,
    /// Sessions held in memory at most.
    pub max_sessions: usize,
    /// Hours after which an idle session is forgotten.
    pub session_idle_hours: u64,
    /// Connections served at once; 0 chooses from the open-file limit.
    pub max_connections: usize,
    /// Seconds for a request head to arrive whole; also the longest idle time between
    /// requests on one connection.
    pub header_timeout_secs: u64,
    /// The longest pause, in seconds, between two pieces of a request body.
    pub body_timeout_secs: u64,
    /// The longest time, in seconds, one request may take.
    pub request_timeout_secs: u64,
    /// The site's address as members reach it (`https://maillon.example.org`), published in
    /// the node's announcement so that other sites can send their members here; also the
    /// address e-mails link to when `[smtp] site_url` is not set. Empty: none.
    pub site_url: String,
}

impl Default for RawHttp {
    fn default() -> Self {
        let web = maillon_web_ui::WebConfig::default();
        let server = ServerLimits::default();
        RawHttp {
            site_url: String::new(),
            listen: "127.0.0.1:8080".into(),
            secure_cookies: web.secure_cookies,
            trust_forwarded_for: web.trust_forwarded_for,
            max_sessions: web.max_sessions,
            session_idle_hours: web.session_idle.as_secs() / 3600,
            max_connections: 0,
            header_timeout_secs: server.header_timeout.as_secs(),
            body_timeout_secs: server.body_timeout.as_secs(),
            request_timeout_secs: server.request_deadline.as_secs(),
        }
    }
}

/// `[store]`: sled.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    /// sled's page cache in MiB.
    pub cache_mib: u64,
    /// Free MiB kept on the data folder's volume: under it new records are refused.
    pub min_free_mib: u64,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            cache_mib: 64,
            min_free_mib: 256,
        }
    }
}

/// `[parking]`: bounds of the lot for records with missing refs.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawParking {
    /// Records at most.
    pub max_records: usize,
    /// MiB at most.
    pub max_mib: usize,
    /// Seconds a record may wait.
    pub max_age_secs: u64,
}

impl Default for RawParking {
    fn default() -> Self {
        let limits = ParkingLimits::default();
        RawParking {
            max_records: limits.max_records,
            max_mib: limits.max_bytes >> 20,
            max_age_secs: limits.max_age_ms / 1000,
        }
    }
}

/// `[log]`: how `maillon run` writes its log.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// `text` (readable lines) or `json` (one JSON object per line).
    pub format: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".into(),
        }
    }
}

/// How the log is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's json format), for log collectors.
    Json,
}

impl RawLog {
    /// The validated log format.
    pub fn validate(&self) -> Result<LogFormat, ConfigError> {
        match self.format.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(invalid(
                "log.format",
                format!(
                    "`{}` is not a log format: use \"text\" or \"json\"",
                    self.format
                ),
            )),
        }
    }
}

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Display name, 1..=80 bytes.
    pub name: String,
    /// Absolute data folder.
    pub data_dir: PathBuf,
    /// Absolute charter file path.
    pub charter_file: PathBuf,
    /// Multiaddresses to listen on.
    pub listen: Vec<String>,
    /// Bootstrap multiaddresses.
    pub bootstrap: Vec<String>,
    /// mDNS on or off.
    pub mdns: bool,
    /// HTTP socket address.
    pub http_listen: SocketAddr,
    /// sled cache in bytes.
    pub cache_capacity_bytes: u64,
    /// Free bytes kept on the data folder's volume (0: none).
    pub min_free_bytes: u64,
    /// Parking lot bounds.
    pub parking: ParkingLimits,
    /// Joins one introducing node may bring in a day through this node's edges.
    pub joins_per_introducer_per_day: usize,
    /// The website's settings from `[http]`.
    pub site: SiteSettings,
    /// The website's address from `[http] site_url`, for the node's announcement.
    pub site_address: Option<maillon_protocol::kinds::SiteAddress>,
    /// How links to other nodes are kept up, from `[network]` and `[relay]`.
    pub links: LinkSettings,
    /// E-mail to members, from `[smtp]`; `None`: the node sends none.
    pub smtp: Option<crate::mail::settings::SmtpSettings>,
    /// Where `GET /metrics` is served, from `[metrics]`.
    pub metrics: crate::metrics::settings::MetricsSettings,
}

/// How this node keeps its links to other nodes: validated `[network]` and `[relay]` values.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkSettings {
    /// Addresses announced as reachable from outside.
    pub external_addresses: Vec<String>,
    /// Dead-link detection: ping interval.
    pub ping_interval: Duration,
    /// Dead-link detection: ping timeout.
    pub ping_timeout: Duration,
    /// Redialling.
    pub redial: crate::network::RedialSettings,
    /// Listening through relays when unreachable.
    pub use_relays: bool,
    /// AutoNAT on private addresses.
    pub autonat_private_addresses: bool,
    /// The relay service offered, if any.
    pub relay: Option<crate::network::RelayLimits>,
}

/// The website settings an operator chooses (`[http]`); the rest of
/// [`maillon_web_ui::WebConfig`] keeps its defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiteSettings {
    /// `Secure` cookies.
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Sessions held at most, at least 1.
    pub max_sessions: usize,
    /// Idle time after which a session is forgotten.
    pub session_idle: Duration,
    /// The HTTP server's connection cap and timeouts.
    pub server: ServerLimits,
}

impl Default for SiteSettings {
    fn default() -> Self {
        let web = maillon_web_ui::WebConfig::default();
        SiteSettings {
            secure_cookies: web.secure_cookies,
            trust_forwarded_for: web.trust_forwarded_for,
            max_sessions: web.max_sessions,
            session_idle: web.session_idle,
            server: ServerLimits::default(),
        }
    }
}

impl SiteSettings {
    /// The web UI's configuration with these settings.
    pub fn web_config(&self) -> maillon_web_ui::WebConfig {
        maillon_web_ui::WebConfig {
            secure_cookies: self.secure_cookies,
            trust_forwarded_for: self.trust_forwarded_for,
            max_sessions: self.max_sessions,
            session_idle: self.session_idle,
            ..maillon_web_ui::WebConfig::default()
        }
    }
}

/// Why a configuration is refused: each names the field and says what to do.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read or parsed.
    #[error("cannot read the configuration: {0}")]
    Read(Box<figment::Error>),
    /// The configuration file named does not exist.
    #[error(
        "the configuration file {0} does not exist: give the `maillon.toml` written by \
         `maillon init` (or omit --config to take the settings from MAILLON_* variables)"
    )]
    Missing(PathBuf),
    /// A value is invalid.
    #[error("configuration field `{field}`: {reason}")]
    Invalid {
        /// The field, as `section.key`.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl RawConfig {
    /// Reads the file `path`, which must exist, and `MAILLON_SECTION__KEY` environment
    /// variables over the defaults.
    pub fn load(path: &Path) -> Result<RawConfig, ConfigError> {
        Self::load_with_prefix(Some(path), "MAILLON_")
    }

    /// Reads only `MAILLON_SECTION__KEY` environment variables over the defaults: a node
    /// run without a configuration file, as in a container.
    pub fn from_environment() -> Result<RawConfig, ConfigError> {
        Self::load_with_prefix(None, "MAILLON_")
    }

    fn load_with_prefix(path: Option<&Path>, prefix: &str) -> Result<RawConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(path) = path {
            if !path.is_file() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only `PREFIX_SECTION__KEY` names configure the node: other variables that
        // share the prefix (a wrapper script's, say) are not configuration.
        figment
            .merge(
                Env::prefixed(prefix)
                    .filter(|key| key.as_str().contains("__"))
                    .split("__"),
            )
            .extract()
            .map_err(|e| ConfigError::Read(Box::new(e)))
    }

    /// Checks every field; relative paths are resolved against `base`.
    pub fn validate(self, base: &Path) -> Result<Config, ConfigError> {
        let name = self.node.name.trim().to_string();
        if name.is_empty() || name.len() > 80 {
            return Err(invalid(
                "node.name",
                "give the node a name of 1 to 80 bytes",
            ));
        }
        if self.node.data_dir.as_os_str().is_empty() {
            return Err(invalid(
                "node.data_dir",
                "give the folder where the node keeps its data",
            ));
        }
        if self.network.charter_file.as_os_str().is_empty() {
            return Err(invalid(
                "network.charter_file",
                "give the path of the network's charter file",
            ));
        }
        for (field, list) in [
            ("network.listen", &self.network.listen),
            ("network.bootstrap", &self.network.bootstrap),
        ] {
            if let Some(bad) = list.iter().find(|a| !looks_like_multiaddr(a)) {
                return Err(invalid(
                    field,
                    format!("`{bad}` is not a multiaddress such as /ip4/0.0.0.0/tcp/4001"),
                ));
            }
        }
        if let Some(bad) = self.network.bootstrap.iter().find(|a| !a.contains("/p2p/")) {
            return Err(invalid(
                "network.bootstrap",
                format!("`{bad}` must end with /p2p/<peer id>"),
            ));
        }
        let http_listen: SocketAddr = self.http.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!(
                    "`{}` is not an address such as 127.0.0.1:8080",
                    self.http.listen
                ),
            )
        })?;
        if !(1..=10_000_000).contains(&self.http.max_sessions) {
            return Err(invalid(
                "http.max_sessions",
                "must be between 1 and 10000000",
            ));
        }
        if !(1..=24 * 90).contains(&self.http.session_idle_hours) {
            return Err(invalid(
                "http.session_idle_hours",
                "must be between 1 and 2160 (90 days)",
            ));
        }
        if !(1..=4096).contains(&self.store.cache_mib) {
            return Err(invalid("store.cache_mib", "must be between 1 and 4096"));
        }
        if self.store.min_free_mib > 1 << 20 {
            return Err(invalid(
                "store.min_free_mib",
                "must be between 0 (no floor) and 1048576 (1 TiB)",
            ));
        }
        let p = &self.parking;
        if p.max_records == 0 || p.max_mib == 0 || p.max_age_secs == 0 {
            return Err(invalid(
                "parking",
                "max_records, max_mib and max_age_secs must all be above 0",
            ));
        }
        if !(1..=1_000_000).contains(&self.network.joins_per_introducer_per_day) {
            return Err(invalid(
                "network.joins_per_introducer_per_day",
                "must be between 1 and 1000000",
            ));
        }
        let links = validate_links(&self.network, &self.relay)?;
        let site_address = match self.http.site_url.trim() {
            "" => None,
            url => Some(
                maillon_protocol::kinds::SiteAddress::from_url(url)
                    .map_err(|error| invalid("http.site_url", error.to_string()))?,
            ),
        };
        let mut smtp = self.smtp;
        if let (true, Some(site)) = (smtp.site_url.trim().is_empty(), &site_address) {
            smtp.site_url = site.url();
        }
        let smtp = smtp.validate(base)?;
        self.log.validate()?;
        let metrics = self.metrics.validate()?;
        if metrics.listen.is_some_and(|address| address == http_listen) {
            return Err(invalid(
                "metrics.listen",
                "is the site's own address: give another port, or leave it empty and set on_site = true",
            ));
        }
        Ok(Config {
            metrics,
            smtp,
            site_address,
            joins_per_introducer_per_day: self.network.joins_per_introducer_per_day,
            links,
            name,
            data_dir: base.join(&self.node.data_dir),
            charter_file: base.join(&self.network.charter_file),
            listen: self.network.listen,
            bootstrap: self.network.bootstrap,
            mdns: self.network.mdns,
            http_listen,
            cache_capacity_bytes: self.store.cache_mib << 20,
            min_free_bytes: self.store.min_free_mib << 20,
            parking: ParkingLimits {
                max_records: p.max_records,
                max_bytes: p.max_mib << 20,
                max_age_ms: p.max_age_secs * 1000,
            },
            site: SiteSettings {
                secure_cookies: self.http.secure_cookies,
                trust_forwarded_for: self.http.trust_forwarded_for,
                max_sessions: self.http.max_sessions,
                session_idle: Duration::from_secs(self.http.session_idle_hours * 3600),
                server: validate_server(&self.http, ServerLimits::open_file_limit())?,
            },
        })
    }
}

/// The HTTP server's limits from `[http]`: timeouts between 1 s and a day, and a connection
/// cap that leaves descriptors for the rest of the node (`open_files`: the process's limit).
fn validate_server(http: &RawHttp, open_files: Option<u64>) -> Result<ServerLimits, ConfigError> {
    let seconds = |field: &'static str, value: u64| {
        if (1..=86_400).contains(&value) {
            Ok(Duration::from_secs(value))
        } else {
            Err(invalid(field, "must be between 1 and 86400 seconds"))
        }
    };
    let fitting = open_files.map(ServerLimits::connections_for_descriptor_limit);
    let max_connections = match (http.max_connections, fitting) {
        (0, Some(fitting)) => fitting,
        (0, None) => ServerLimits::default().max_connections,
        (asked, Some(fitting)) if asked > fitting => {
            return Err(invalid(
                "http.max_connections",
                format!(
                    "{asked} does not fit under this process's open-file limit ({}): at most \
                     {fitting}; raise the limit (LimitNOFILE= in systemd, ulimit -n) or set 0 \
                     to choose automatically",
                    open_files.unwrap_or_default()
                ),
            ))
        }
        (asked, _) => asked,
    };
    Ok(ServerLimits {
        max_connections,
        header_timeout: seconds("http.header_timeout_secs", http.header_timeout_secs)?,
        body_timeout: seconds("http.body_timeout_secs", http.body_timeout_secs)?,
        request_deadline: seconds("http.request_timeout_secs", http.request_timeout_secs)?,
        ..ServerLimits::default()
    })
}

impl Default for LinkSettings {
    fn default() -> Self {
        let settings = crate::network::NetworkSettings::default();
        LinkSettings {
            external_addresses: Vec::new(),
            ping_interval: settings.ping_interval,
            ping_timeout: settings.ping_timeout,
            redial: settings.redial,
            use_relays: settings.use_relays,
            autonat_private_addresses: settings.autonat_private_addresses,
            relay: None,
        }
    }
}

fn validate_links(network: &RawNetwork, relay: &RawRelay) -> Result<LinkSettings, ConfigError> {
    if let Some(bad) = network
        .external_addresses
        .iter()
        .find(|a| !looks_like_multiaddr(a))
    {
        return Err(invalid(
            "network.external_addresses",
            format!("`{bad}` is not a multiaddress such as /ip4/203.0.113.7/tcp/4001"),
        ));
    }
    if !(1..=1000).contains(&network.min_peers) {
        return Err(invalid("network.min_peers", "must be between 1 and 1000"));
    }
    if !(1..=3600).contains(&network.redial_max_secs) {
        return Err(invalid(
            "network.redial_max_secs",
            "must be between 1 and 3600 seconds",
        ));
    }
    for (field, value) in [
        ("network.ping_interval_secs", network.ping_interval_secs),
        ("network.ping_timeout_secs", network.ping_timeout_secs),
    ] {
        if !(1..=600).contains(&value) {
            return Err(invalid(field, "must be between 1 and 600 seconds"));
        }
    }
    let limits = if relay.serve {
        if relay.max_reservations == 0
            || relay.max_circuits == 0
            || relay.max_circuits_per_peer == 0
        {
            return Err(invalid(
                "relay",
                "max_reservations, max_circuits and max_circuits_per_peer must be above 0 when serve = true",
            ));
        }
        if !(1..=24 * 60).contains(&relay.max_circuit_minutes) {
            return Err(invalid(
                "relay.max_circuit_minutes",
                "must be between 1 and 1440 minutes",
            ));
        }
        if !(1..=4096).contains(&relay.max_circuit_mib) {
            return Err(invalid(
                "relay.max_circuit_mib",
                "must be between 1 and 4096 MiB",
            ));
        }
        Some(crate::network::RelayLimits {
            max_reservations: relay.max_reservations,
            max_circuits: relay.max_circuits,
            max_circuits_per_peer: relay.max_circuits_per_peer,
            max_circuit_duration: Duration::from_secs(relay.max_circuit_minutes * 60),
            max_circuit_bytes: relay.max_circuit_mib << 20,
        })
    } else {
        None
    };
    Ok(LinkSettings {
        external_addresses: network.external_addresses.clone(),
        ping_interval: Duration::from_secs(network.ping_interval_secs),
        ping_timeout: Duration::from_secs(network.ping_timeout_secs),
        redial: crate::network::RedialSettings {
            min_peers: network.min_peers,
            max_backoff: Duration::from_secs(network.redial_max_secs),
            ..crate::network::RedialSettings::default()
        },
        use_relays: network.use_relays,
        autonat_private_addresses: network.autonat_private_addresses,
        relay: limits,
    })
}

fn looks_like_multiaddr(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    parts.len() >= 3 && parts[0].is_empty() && parts[1..].iter().all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[node]
name = "Paroisse Saint-Jean"
data_dir = "data"

[network]
charter_file = "charter.cbor"
listen = ["/ip4/0.0.0.0/tcp/4001"]
bootstrap = ["/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWExample"]
"#;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| invalid("test", e.to_string()))?;
        let path = dir.path().join("maillon.toml");
        std::fs::write(&path, text).map_err(|e| invalid("test", e.to_string()))?;
        // A prefix no test sets, so the environment test cannot leak into these.
        RawConfig::load_with_prefix(Some(&path), "MAILLON_UNSET_IN_TESTS_")?.validate(dir.path())
    }

    #[test]
    fn a_good_file_gives_a_config_with_resolved_paths_and_defaults() {
        let config = load(GOOD).unwrap();
        assert_eq!(config.name, "Paroisse Saint-Jean");
        assert!(config.data_dir.is_absolute() && config.data_dir.ends_with("data"));
        assert_eq!(config.http_listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.cache_capacity_bytes, 64 << 20);
        assert_eq!(config.parking, ParkingLimits::default());
        // The connection cap follows this process's open-file limit.
        let fitting = ServerLimits::open_file_limit()
            .map_or(512, ServerLimits::connections_for_descriptor_limit);
        assert_eq!(config.site.server.max_connections, fitting);
        let server = ServerLimits {
            max_connections: fitting,
            ..ServerLimits::default()
        };
        assert_eq!(
            config.site,
            SiteSettings {
                server,
                ..SiteSettings::default()
            }
        );
        assert_eq!(config.min_free_bytes, 256 << 20);
        assert!(!config.site.web_config().secure_cookies);
    }

    #[test]
    fn the_website_settings_are_read_from_the_http_section() {
        let text = format!(
            "{GOOD}\n[http]\nlisten = \"0.0.0.0:80\"\nsecure_cookies = true\n\
             trust_forwarded_for = true\nmax_sessions = 1000\nsession_idle_hours = 2\n"
        );
        let config = load(&text).unwrap();
        let web = config.site.web_config();
        assert!(web.secure_cookies && web.trust_forwarded_for);
        assert_eq!(web.max_sessions, 1000);
        assert_eq!(web.session_idle, Duration::from_secs(7200));
        assert_eq!(web.kdf, maillon_web_ui::keys::KdfParams::RECOMMENDED);
    }

    #[test]
    fn the_site_address_is_read_checked_and_lent_to_e_mail() {
        let none = load(GOOD).unwrap();
        assert_eq!(none.site_address, None);
        let text = format!(
            "{GOOD}\n[http]\nsite_url = \"https://Maillon.Example.org/\"\n\n[smtp]\n\
             host = \"smtp.example.org\"\nfrom = \"Maillon <maillon@example.org>\"\n"
        );
        let config = load(&text).unwrap();
        let site = config.site_address.expect("a site address");
        assert_eq!(site.url(), "https://maillon.example.org");
        let smtp = config.smtp.expect("e-mail is set up");
        assert_eq!(smtp.site_url, "https://maillon.example.org");
        match load(&format!(
            "{GOOD}\n[http]\nsite_url = \"https://maillon.example.org/membres\"\n"
        )) {
            Err(ConfigError::Invalid { field, reason }) => {
                assert_eq!(field, "http.site_url");
                assert!(reason.contains("without a path"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_server_limits_are_read_and_the_connection_cap_fits_the_descriptors() {
        let text = format!(
            "{GOOD}\n[http]\nheader_timeout_secs = 5\nbody_timeout_secs = 7\n\
             request_timeout_secs = 60\nmax_connections = 100\n\n[store]\nmin_free_mib = 64\n"
        );
        let config = load(&text).unwrap();
        assert_eq!(config.site.server.header_timeout, Duration::from_secs(5));
        assert_eq!(config.site.server.body_timeout, Duration::from_secs(7));
        assert_eq!(config.site.server.request_deadline, Duration::from_secs(60));
        assert_eq!(config.min_free_bytes, 64 << 20);
        let raw = RawHttp::default();
        let automatic = validate_server(&raw, Some(1024)).unwrap();
        assert_eq!(automatic.max_connections, 384);
        let too_many = RawHttp {
            max_connections: 1000,
            ..RawHttp::default()
        };
        match validate_server(&too_many, Some(1024)) {
            Err(ConfigError::Invalid { field, reason }) => {
                assert_eq!(field, "http.max_connections");
                assert!(reason.contains("LimitNOFILE"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            validate_server(&too_many, None).unwrap().max_connections,
            1000
        );
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let cases = [
            (GOOD.replace("Paroisse Saint-Jean", " "), "node.name"),
            (GOOD.replace("data_dir = \"data\"", ""), "node.data_dir"),
            (
                GOOD.replace("tcp/4001\"]", "tcp/4001\", \"localhost:4001\"]"),
                "network.listen",
            ),
            (
                GOOD.replace("/p2p/12D3KooWExample", ""),
                "network.bootstrap",
            ),
            (
                format!("{GOOD}\n[http]\nlisten = \"everywhere\"\n"),
                "http.listen",
            ),
            (
                format!("{GOOD}\n[http]\nheader_timeout_secs = 0\n"),
                "http.header_timeout_secs",
            ),
            (
                format!("{GOOD}\n[http]\nbody_timeout_secs = 90000\n"),
                "http.body_timeout_secs",
            ),
            (
                format!("{GOOD}\n[store]\nmin_free_mib = 2000000\n"),
                "store.min_free_mib",
            ),
            (
                format!("{GOOD}\n[store]\ncache_mib = 0\n"),
                "store.cache_mib",
            ),
            (format!("{GOOD}\n[parking]\nmax_records = 0\n"), "parking"),
            (
                format!("{GOOD}\n[http]\nmax_sessions = 0\n"),
                "http.max_sessions",
            ),
            (
                format!("{GOOD}\n[http]\nsession_idle_hours = 0\n"),
                "http.session_idle_hours",
            ),
            (
                GOOD.replace("[network]", "[network]\njoins_per_introducer_per_day = 0"),
                "network.joins_per_introducer_per_day",
            ),
        ];
        for (text, field) in cases {
            match load(&text) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected an invalid-field error, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_read_errors() {
        assert!(matches!(
            load(&format!("{GOOD}\n[store]\ncache = 3\n")),
            Err(ConfigError::Read(_))
        ));
        assert!(matches!(
            load(&format!("{GOOD}\n[store]\ncache_mib = \"big\"\n")),
            Err(ConfigError::Read(_))
        ));
        assert!(matches!(
            load("this is not toml"),
            Err(ConfigError::Read(_))
        ));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type is fixed by figment.
    fn only_section_key_variables_are_configuration_and_a_wrong_one_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("maillon.toml", GOOD)?;
            jail.set_env("MAILLON_LOG_STYLE", "plain");
            jail.set_env("MAILLON_HOME", "/srv/maillon");
            let raw = RawConfig::load(Path::new("maillon.toml")).map_err(|e| e.to_string())?;
            raw.validate(jail.directory()).map_err(|e| e.to_string())?;
            jail.set_env("MAILLON_NODE__COLOUR", "blue");
            let error = RawConfig::load(Path::new("maillon.toml")).expect_err("unknown key");
            let text = error.to_string();
            assert!(text.contains("colour"), "{text}");
            assert!(text.contains("MAILLON_"), "{text}");
            Ok(())
        });
    }

    #[test]
    fn the_log_format_is_text_or_json_and_anything_else_is_named() {
        let format = |text: &str| RawLog {
            format: text.into(),
        };
        assert_eq!(RawLog::default().validate().unwrap(), LogFormat::Text);
        assert_eq!(format("json").validate().unwrap(), LogFormat::Json);
        assert_eq!(format(" JSON ").validate().unwrap(), LogFormat::Json);
        match format("yaml").validate() {
            Err(ConfigError::Invalid { field, reason }) => {
                assert_eq!(field, "log.format");
                assert!(
                    reason.contains("`yaml`") && reason.contains("\"json\""),
                    "{reason}"
                );
            }
            other => panic!("expected an invalid log.format, got {other:?}"),
        }
        match load(&format!("{GOOD}\n[log]\nformat = \"logfmt\"\n")) {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "log.format"),
            other => panic!("expected an invalid log.format, got {other:?}"),
        }
    }

    #[test]
    fn a_configuration_file_that_does_not_exist_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        match RawConfig::load(&path) {
            Err(error @ ConfigError::Missing(_)) => {
                assert!(error.to_string().contains("absent.toml"), "{error}")
            }
            other => panic!("expected a missing file, got {other:?}"),
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type is fixed by figment.
    fn a_container_can_give_every_setting_in_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MAILLON_NODE__NAME", "Association du Val");
            jail.set_env("MAILLON_NODE__DATA_DIR", "/var/lib/maillon/node/data");
            jail.set_env(
                "MAILLON_NETWORK__CHARTER_FILE",
                "/var/lib/maillon/node/charter.cbor",
            );
            jail.set_env("MAILLON_NETWORK__LISTEN", "[\"/ip4/0.0.0.0/tcp/4001\"]");
            jail.set_env(
                "MAILLON_NETWORK__BOOTSTRAP",
                "[\"/dns4/noeud.example.org/tcp/4001/p2p/12D3KooWA\", \
                 \"/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWB\"]",
            );
            jail.set_env("MAILLON_HTTP__LISTEN", "0.0.0.0:8080");
            jail.set_env("MAILLON_HTTP__SECURE_COOKIES", "true");
            jail.set_env("MAILLON_LOG__FORMAT", "json");
            let raw = RawConfig::from_environment().map_err(|e| e.to_string())?;
            assert_eq!(
                raw.log.validate().map_err(|e| e.to_string())?,
                LogFormat::Json
            );
            let config = raw.validate(jail.directory()).map_err(|e| e.to_string())?;
            assert_eq!(config.name, "Association du Val");
            assert_eq!(config.data_dir, Path::new("/var/lib/maillon/node/data"));
            assert_eq!(
                config.charter_file,
                Path::new("/var/lib/maillon/node/charter.cbor")
            );
            assert_eq!(config.listen, ["/ip4/0.0.0.0/tcp/4001"]);
            assert_eq!(
                config.bootstrap,
                [
                    "/dns4/noeud.example.org/tcp/4001/p2p/12D3KooWA",
                    "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWB"
                ]
            );
            assert_eq!(config.http_listen, "0.0.0.0:8080".parse().unwrap());
            assert!(config.site.secure_cookies);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type is fixed by figment.
    fn environment_variables_override_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("maillon.toml", GOOD)?;
            jail.set_env("MAILLON_NODE__NAME", "Association du Val");
            jail.set_env("MAILLON_STORE__CACHE_MIB", "128");
            let raw = RawConfig::load(Path::new("maillon.toml")).map_err(|e| e.to_string())?;
            let config = raw.validate(jail.directory()).map_err(|e| e.to_string())?;
            assert_eq!(config.name, "Association du Val");
            assert_eq!(config.cache_capacity_bytes, 128 << 20);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type is fixed by figment.
    fn the_smtp_section_comes_from_the_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("plain.toml", GOOD)?;
            let raw = RawConfig::load(Path::new("plain.toml")).map_err(|e| e.to_string())?;
            assert_eq!(
                raw.smtp,
                crate::mail::settings::RawSmtp::default(),
                "no e-mail by default"
            );
            jail.create_file("smtp-password", "s3cret\n")?;
            jail.create_file(
                "maillon.toml",
                &format!(
                    "{GOOD}\n[smtp]\nhost = \"smtp.example.org\"\nuser = \"maillon\"\npassword_file = \"smtp-password\"\nfrom = \"Maillon <maillon@example.org>\"\nsite_url = \"https://maillon.example.org\"\n"
                ),
            )?;
            jail.set_env("MAILLON_SMTP__PER_HOUR", "20");
            let raw = RawConfig::load(Path::new("maillon.toml")).map_err(|e| e.to_string())?;
            let config = raw.validate(jail.directory()).map_err(|e| e.to_string())?;
            let smtp = config.smtp.expect("e-mail is set up");
            assert_eq!(smtp.per_hour, 20);
            assert_eq!(smtp.credentials, Some(("maillon".into(), "s3cret".into())));
            jail.set_env("MAILLON_SMTP__PASSWORD", "inline");
            let error = RawConfig::load(Path::new("maillon.toml")).expect_err("no inline password");
            assert!(error.to_string().contains("password"), "{error}");
            Ok(())
        });
    }
}
