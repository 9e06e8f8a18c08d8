//! The node's Prometheus metrics (prometheus-client), one registry per node, so that the
//! nodes of one process (tests, the demo) keep their figures apart.
//!
//! - [`Metrics`]: counters and histograms recorded as things happen, and gauges set from a
//!   [`snapshot::Snapshot`] at each scrape.
//! - [`snapshot`]: the figures read at scrape time, shared with the operator page.
//! - [`serve`]: `GET /metrics`, on its own listener or on the main port for loopback only.
//! - [`history`]: samples of records and peers kept on disk for the operator page's chart.
//! - [`http`]: the middleware that counts HTTP requests by route, method and status.
//! - [`settings`]: the `[metrics]` section of the configuration.

pub mod history;
pub mod http;
pub mod serve;
pub mod settings;
pub mod snapshot;

#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::engine::Origin;
use crate::ingest::outcome::{classify, GossipVerdict};
use crate::ingest::pipeline::{IngestError, Submitted};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    origin: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabels {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LinkLabels {
    link: &'static str,
}

/// What one sync session did, for the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncFigures {
    /// Whether it went to its end.
    pub succeeded: bool,
    /// Records fetched and stored.
    pub fetched: u64,
    /// Records pushed that the peer stored.
    pub pushed: u64,
    /// Bytes of reconciliation, fetch and push messages.
    pub reconcile_bytes: u64,
    /// Bytes of fetch requests and their answers.
    pub fetch_bytes: u64,
    /// Bytes of push requests and their acknowledgements.
    pub push_bytes: u64,
}

fn http_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Inner {
    registry: Registry,
    ingest: Family<IngestLabels, Counter>,
    gossip: Family<VerdictLabels, Counter>,
    sync_sessions: Family<ResultLabels, Counter>,
    sync_records: Family<DirectionLabels, Counter>,
    sync_bytes: Family<PhaseLabels, Counter>,
    sync_lag: Gauge<f64, AtomicU64>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    records: Family<KindLabels, Gauge>,
    members: Gauge,
    peers: Family<LinkLabels, Gauge>,
    store_bytes: Gauge,
    photo_bytes: Gauge,
    photos: Gauge,
    mail_queue: Gauge,
    index_refresh: Histogram,
    history: Mutex<Vec<history::Sample>>,
}

/// One node's metrics: a cheap, cloneable handle.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// A new registry with every metric of docs/OPERATIONS.md, all at zero.
    pub fn new() -> Metrics {
        let inner = Inner {
            registry: Registry::default(),
            ingest: Family::default(),
            gossip: Family::default(),
            sync_sessions: Family::default(),
            sync_records: Family::default(),
            sync_bytes: Family::default(),
            sync_lag: Gauge::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(http_histogram),
            records: Family::default(),
            members: Gauge::default(),
            peers: Family::default(),
            store_bytes: Gauge::default(),
            photo_bytes: Gauge::default(),
            photos: Gauge::default(),
            mail_queue: Gauge::default(),
            // 0.5 ms to about 16 s.
            index_refresh: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            history: Mutex::new(Vec::new()),
        };
        Metrics(Arc::new(register(inner)))
    }

    /// Counts the outcome of one submitted record.
    pub fn record_ingest(&self, origin: Origin, outcome: &Result<Submitted, IngestError>) {
        let labels = IngestLabels {
            origin: origin_name(origin),
            outcome: classify(outcome).code,
        };
        self.0.ingest.get_or_create(&labels).inc();
    }

    /// Counts one gossip message by its verdict.
    pub fn record_gossip(&self, verdict: GossipVerdict) {
        let verdict = match verdict {
            GossipVerdict::Accept => "accept",
            GossipVerdict::Reject => "reject",
            GossipVerdict::Ignore => "ignore",
        };
        self.0
            .gossip
            .get_or_create(&VerdictLabels { verdict })
            .inc();
    }

    /// Counts one sync session, its records and its bytes.
    pub fn record_sync(&self, figures: SyncFigures) {
        let inner = &self.0;
        let result = if figures.succeeded { "ok" } else { "error" };
        inner
            .sync_sessions
            .get_or_create(&ResultLabels { result })
            .inc();
        for (direction, count) in [("fetched", figures.fetched), ("pushed", figures.pushed)] {
            inner
                .sync_records
                .get_or_create(&DirectionLabels { direction })
                .inc_by(count);
        }
        for (phase, bytes) in [
            ("reconcile", figures.reconcile_bytes),
            ("fetch", figures.fetch_bytes),
            ("push", figures.push_bytes),
        ] {
            inner
                .sync_bytes
                .get_or_create(&PhaseLabels { phase })
                .inc_by(bytes);
        }
    }

    /// Counts one HTTP answer under its route pattern (`unmatched` for none).
    pub fn record_http(&self, route: String, method: &str, status: u16, took: Duration) {
        let method = known_method(method);
        self.0
            .http_requests
            .get_or_create(&HttpLabels {
                route: route.clone(),
                method,
                status,
            })
            .inc();
        self.0
            .http_seconds
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Notes how long a recomputation of the membership index took.
    pub fn record_index_refresh(&self, took: Duration) {
        self.0.index_refresh.observe(took.as_secs_f64());
    }

    /// Sets the number of e-mails waiting to be sent.
    pub fn set_mail_queue(&self, depth: u64) {
        self.0.mail_queue.set(gauge_value(depth));
    }

    /// The number of e-mails waiting to be sent, as last set.
    pub fn mail_queue(&self) -> u64 {
        self.0.mail_queue.get().max(0) as u64
    }

    /// The samples of records and peers, oldest first.
    pub fn history(&self) -> Vec<history::Sample> {
        self.0
            .history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_history(&self, samples: Vec<history::Sample>) {
        *self.0.history.lock().unwrap_or_else(|p| p.into_inner()) = samples;
    }

    /// The Prometheus text (OpenMetrics) of every metric, with the gauges set from
    /// `snapshot`.
    pub fn encode(&self, snapshot: &snapshot::Snapshot) -> String {
        let inner = &self.0;
        for (kind, count) in &snapshot.records_per_kind {
            inner
                .records
                .get_or_create(&KindLabels { kind: kind.clone() })
                .set(gauge_value(*count));
        }
        inner.members.set(gauge_value(snapshot.members));
        for (link, count) in snapshot.peers.by_label() {
            inner
                .peers
                .get_or_create(&LinkLabels { link })
                .set(gauge_value(count));
        }
        inner
            .sync_lag
            .set(snapshot.sync_lag.map_or(f64::NAN, |lag| lag.as_secs_f64()));
        inner
            .store_bytes
            .set(gauge_value(snapshot.store_bytes.unwrap_or(0)));
        inner.photo_bytes.set(gauge_value(snapshot.photos.bytes));
        inner.photos.set(gauge_value(snapshot.photos.files));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &inner.registry);
        text
    }
}

fn register(mut inner: Inner) -> Inner {
    let registry = &mut inner.registry;
    registry.register(
        "maillon_ingest_outcomes",
        "Records submitted to the engine, by origin and outcome (stored, duplicate, parked, or the refusal's code of docs/API.md)",
        inner.ingest.clone(),
    );
    registry.register(
        "maillon_gossip_messages",
        "Gossip messages received, by the verdict reported to gossipsub",
        inner.gossip.clone(),
    );
    registry.register(
        "maillon_sync_sessions",
        "Sync sessions this node started, by result",
        inner.sync_sessions.clone(),
    );
    registry.register(
        "maillon_sync_records",
        "Records moved by sync sessions this node started, fetched or pushed",
        inner.sync_records.clone(),
    );
    registry.register(
        "maillon_sync_bytes",
        "Bytes of sync messages, sent and received, by phase",
        inner.sync_bytes.clone(),
    );
    registry.register(
        "maillon_sync_lag_seconds",
        "Time since the last sync session that went to its end (NaN: none yet)",
        inner.sync_lag.clone(),
    );
    registry.register(
        "maillon_http_requests",
        "HTTP answers, by route pattern, method and status",
        inner.http_requests.clone(),
    );
    registry.register(
        "maillon_http_request_duration_seconds",
        "Time to the answer's head, by route pattern",
        inner.http_seconds.clone(),
    );
    registry.register(
        "maillon_records",
        "Records held, by kind",
        inner.records.clone(),
    );
    registry.register(
        "maillon_members",
        "Members in good standing",
        inner.members.clone(),
    );
    registry.register(
        "maillon_peers",
        "Connected peers, by their best link",
        inner.peers.clone(),
    );
    registry.register(
        "maillon_store_bytes",
        "Size of the record store on disk",
        inner.store_bytes.clone(),
    );
    registry.register(
        "maillon_photo_bytes",
        "Size of the photos held",
        inner.photo_bytes.clone(),
    );
    registry.register("maillon_photos", "Photos held", inner.photos.clone());
    registry.register(
        "maillon_mail_queue",
        "E-mails waiting to be sent (queued or waiting to retry)",
        inner.mail_queue.clone(),
    );
    registry.register(
        "maillon_membership_index_refresh_seconds",
        "Time of each recomputation of the membership index",
        inner.index_refresh.clone(),
    );
    inner
}

fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Local => "local",
        Origin::Gossip => "gossip",
        Origin::Pushed => "pushed",
        Origin::Fetched => "fetched",
        Origin::Repair => "repair",
    }
}

/// The method as a label, from a closed list so that clients cannot grow the series.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    KNOWN
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("OTHER")
}
