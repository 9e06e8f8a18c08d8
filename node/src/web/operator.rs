//! The operator page's view: announced nodes and connected peers, this node's policy on
//! each, and the last sync session with each.

use std::collections::HashMap;

use libp2p::PeerId;
use maillon_web_ui::backend::{
    BackendError, LinkKind, OperatorView, PeerView, Reachability, SyncView,
};

use maillon_web_ui::figures::{HistoryPoint, KeyFigures};

use super::NodeBackend;
use crate::network::gating::peer_id_of;

/// Builds the view from the membership index, the network and the sync log.
pub async fn view(backend: &NodeBackend) -> Result<OperatorView, BackendError> {
    let engine = &backend.engine;
    let this = engine.node_key();
    let report = match &backend.network {
        Some(client) => Some(client.links().await.map_err(super::backend_error)?),
        None => None,
    };
    let links: HashMap<PeerId, LinkKind> = report
        .iter()
        .flat_map(|r| r.peers.iter())
        .filter_map(|p| Some((p.peer.parse().ok()?, link_kind(p.link))))
        .collect();
    let connected: Vec<PeerId> = links.keys().copied().collect();
    let (operator, announced, policies, members) = {
        let index = engine.index();
        let announced: Vec<_> = index
            .announced_nodes()
            .iter()
            .map(|(key, a)| (*key, a.clone()))
            .collect();
        let policies: HashMap<_, _> = index
            .node_policies_of(&this)
            .into_iter()
            .map(|p| (p.target, p))
            .collect();
        let operator = index.announced_nodes().get(&this).map(|a| a.operator);
        (
            operator,
            announced,
            policies,
            index.members_in_good_standing() as u64,
        )
    };
    let last_sync = |peer: &PeerId| {
        backend.network.as_ref().and_then(|client| {
            client.sync_log().last(peer).map(|e| SyncView {
                at: e.at,
                fetched: e.fetched,
                pushed: e.pushed,
                error: e.error,
            })
        })
    };
    let mut peers: Vec<PeerView> = announced
        .into_iter()
        .filter(|(key, _)| *key != this)
        .map(|(key, announcement)| {
            let peer = peer_id_of(&key);
            PeerView {
                node: Some(key),
                name: Some(announcement.name),
                peer_id: peer.map(|p| p.to_string()),
                connected: peer.is_some_and(|p| connected.contains(&p)),
                link: peer.and_then(|p| links.get(&p).copied()),
                policy: policies.get(&key).cloned(),
                last_sync: peer.as_ref().and_then(last_sync),
            }
        })
        .collect();
    let known: Vec<PeerId> = peers
        .iter()
        .filter_map(|p| p.node.as_ref().and_then(peer_id_of))
        .collect();
    for peer in connected.iter().filter(|p| !known.contains(p)) {
        peers.push(PeerView {
            node: None,
            name: None,
            peer_id: Some(peer.to_string()),
            connected: true,
            link: links.get(peer).copied(),
            policy: None,
            last_sync: last_sync(peer),
        });
    }
    peers.sort_by(|a, b| (!a.connected, &a.name).cmp(&(!b.connected, &b.name)));
    let addresses = match &backend.network {
        Some(client) => dialable(
            client
                .listen_addresses()
                .await
                .map_err(super::backend_error)?,
            client.peer_id(),
        ),
        None => Vec::new(),
    };
    let records = engine.sync_set().len() as u64;
    let figures = key_figures(backend).await?;
    Ok(OperatorView {
        addresses,
        operator,
        records,
        members,
        peers,
        reachability: report
            .as_ref()
            .map_or(Reachability::Unknown, |r| reachability(r.reachability)),
        relays: report.as_ref().map_or(0, |r| r.relays.len()),
        disk: disk_view(engine.store().free_space()),
        software: format!("Maillon {}", crate::version::describe()),
        figures,
        history: engine
            .metrics()
            .history()
            .into_iter()
            .map(|sample| HistoryPoint {
                at: maillon_protocol::Timestamp(sample.at_ms),
                records: sample.records,
                peers: sample.peers,
            })
            .collect(),
    })
}

/// The figures `/metrics` gives, from the same snapshot.
async fn key_figures(backend: &NodeBackend) -> Result<KeyFigures, BackendError> {
    let snapshot =
        crate::metrics::snapshot::gather(&backend.engine, backend.network.as_ref(), &backend.blobs)
            .await
            .map_err(super::backend_error)?;
    Ok(KeyFigures {
        peers_direct: snapshot.peers.direct + snapshot.peers.hole_punched,
        peers_relayed: snapshot.peers.relayed,
        last_sync_secs: snapshot.sync_lag.map(|lag| lag.as_secs()),
        store_bytes: snapshot.store_bytes,
        photos: snapshot.photos.files,
        photo_bytes: snapshot.photos.bytes,
        mail_queue: snapshot.mail_queue,
    })
}

fn disk_view(report: crate::store::space::SpaceReport) -> maillon_web_ui::backend::DiskView {
    use crate::store::space::SpaceState;
    maillon_web_ui::backend::DiskView {
        free_mib: report.free_bytes.map(|bytes| bytes >> 20),
        floor_mib: report.floor_bytes >> 20,
        low: report.state == SpaceState::Low,
        full: report.state == SpaceState::Full,
    }
}

fn link_kind(link: crate::network::Link) -> LinkKind {
    match link {
        crate::network::Link::Direct => LinkKind::Direct,
        crate::network::Link::Relayed => LinkKind::Relayed,
        crate::network::Link::HolePunched => LinkKind::HolePunched,
    }
}

fn reachability(reachability: crate::network::Reachability) -> Reachability {
    match reachability {
        crate::network::Reachability::Unknown => Reachability::Unknown,
        crate::network::Reachability::Public => Reachability::Public,
        crate::network::Reachability::Private => Reachability::Private,
    }
}

/// Listen addresses others could dial (not 0.0.0.0 or ::), with this node's peer id.
fn dialable(addresses: Vec<libp2p::Multiaddr>, peer: PeerId) -> Vec<String> {
    use libp2p::multiaddr::Protocol;
    addresses
        .into_iter()
        .filter(|a| {
            !a.iter().any(|p| match p {
                Protocol::Ip4(ip) => ip.is_unspecified(),
                Protocol::Ip6(ip) => ip.is_unspecified(),
                _ => false,
            })
        })
        .map(|a| a.with(Protocol::P2p(peer)).to_string())
        .collect()
}
