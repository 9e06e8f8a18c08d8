//! The live path: one gossipsub topic per network and record family, message ids equal to
//! record ids, anonymous authenticity, and peer scoring that punishes invalid records.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicScoreParams, ValidationMode,
};
use maillon_protocol::ids::NetworkId;
use maillon_protocol::kinds::Family;
use maillon_protocol::Record;
use sha2::{Digest, Sha256};

use crate::ingest::outcome::GossipVerdict;

/// Every family, for subscribing.
pub const FAMILIES: [Family; 5] = [
    Family::Network,
    Family::Membership,
    Family::Listings,
    Family::Transactions,
    Family::Moderation,
];

/// The topic of a family: `maillon/<network id hex>/<family>/v1`.
pub fn topic(network: &NetworkId, family: Family) -> IdentTopic {
    IdentTopic::new(format!("maillon/{}/{}/v1", network.to_hex(), family.name()))
}

/// The message id: the record id when the bytes decode as a record of any network, else
/// a hash of the bytes (such a message is rejected anyway).
pub fn message_id(data: &[u8]) -> MessageId {
    match Record::decode_any_network(data) {
        Ok(record) => MessageId::new(&record.id().0),
        Err(_) => MessageId::new(&Sha256::digest(data)),
    }
}

/// The largest gossipsub frame read or sent: far above a record (`MAX_RECORD_BYTES`), so
/// that an oversized record reaches validation, where it is refused (`too_large`) and its
/// sender penalised, instead of being dropped by the codec, which closes the stream it
/// came on and loses the records that follow.
pub const GOSSIP_MAX_FRAME_BYTES: usize = 1 << 20;

/// The gossipsub behaviour, configured for self-signed records.
pub fn behaviour(network: &NetworkId, heartbeat: Duration) -> Result<gossipsub::Behaviour, String> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|message: &gossipsub::Message| message_id(&message.data))
        .max_transmit_size(GOSSIP_MAX_FRAME_BYTES)
        .heartbeat_interval(heartbeat)
        .duplicate_cache_time(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)?;
    behaviour.with_peer_score(score_params(network), score_thresholds())?;
    Ok(behaviour)
}

/// Score parameters: invalid records weigh heavily; IP colocation is not penalised
/// because nodes of one association may share an address (and tests share loopback).
pub fn score_params(network: &NetworkId) -> PeerScoreParams {
    let topics: HashMap<_, _> = FAMILIES
        .iter()
        .map(|family| {
            // Good behaviour earns at most 20 points (time in mesh, first deliveries);
            // invalid records cost 30 × n²: two of them put a peer below the graylist.
            let params = TopicScoreParams {
                topic_weight: 1.0,
                time_in_mesh_weight: 0.1,
                time_in_mesh_quantum: Duration::from_secs(1),
                time_in_mesh_cap: 100.0,
                first_message_deliveries_weight: 1.0,
                first_message_deliveries_decay: 0.5,
                first_message_deliveries_cap: 10.0,
                mesh_message_deliveries_weight: 0.0,
                mesh_failure_penalty_weight: 0.0,
                invalid_message_deliveries_weight: -30.0,
                invalid_message_deliveries_decay: 0.9,
                ..TopicScoreParams::default()
            };
            (topic(network, *family).hash(), params)
        })
        .collect();
    PeerScoreParams {
        topics,
        topic_score_cap: 20.0,
        ip_colocation_factor_weight: 0.0,
        // Only invalid records may lower a score (the weights above): a peer whose link is
        // dead or slow (a partition, a reboot) fills its send queue and breaks gossip
        // promises without any fault of its own. gossipsub's defaults for these (-0.2 per
        // dropped message, -10 × n² per broken promise) sent honest nodes under the
        // graylist after an outage. The IHAVE/IWANT limits still bound what a peer can ask.
        slow_peer_weight: 0.0,
        behaviour_penalty_weight: 0.0,
        ..PeerScoreParams::default()
    }
}

/// Thresholds: below the graylist threshold gossipsub ignores a peer, and the event loop
/// bans it. Only invalid records lower a score (see [`score_params`]), so a score under the
/// graylist means invalid records, never a dead or slow link.
pub fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 20.0,
    }
}

/// How a submission's outcome is reported to gossipsub, as classified once in
/// [`crate::ingest::outcome`].
pub fn acceptance(verdict: GossipVerdict) -> MessageAcceptance {
    match verdict {
        GossipVerdict::Accept => MessageAcceptance::Accept,
        GossipVerdict::Reject => MessageAcceptance::Reject,
        GossipVerdict::Ignore => MessageAcceptance::Ignore,
    }
}
