//! The cheap, cloneable [`Client`] through which every other task talks to the swarm:
//! each call sends a command over a bounded channel and awaits a oneshot reply.

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use maillon_protocol::kinds::Family;
use maillon_protocol::sync::{SyncRequest, SyncResponse};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

/// Why a network call failed.
#[derive(Debug, Error)]
pub enum NetworkError {
    /// The event loop has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// A request to a peer failed (timeout, connection closed, unsupported protocol).
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer.
        peer: PeerId,
        /// What went wrong.
        reason: String,
    },
    /// The peer answered with bytes that are not a valid response.
    #[error("peer {peer} sent a malformed response: {reason}")]
    Malformed {
        /// The peer.
        peer: PeerId,
        /// What was wrong.
        reason: String,
    },
    /// Dialing or publishing failed.
    #[error("{0}")]
    Swarm(String),
}

/// What the event loop is asked to do.
pub(crate) enum Command {
    Request {
        peer: PeerId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, NetworkError>>,
    },
    Respond {
        channel: ResponseChannel<Vec<u8>>,
        bytes: Vec<u8>,
    },
    Report {
        message_id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    Publish {
        family: Family,
        wire: Vec<u8>,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    Dial {
        address: Multiaddr,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    Links {
        reply: oneshot::Sender<super::links::LinkReport>,
    },
    ListenAddresses {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Block {
        peer: PeerId,
        blocked: bool,
        reply: oneshot::Sender<()>,
    },
    Penalise {
        peer: PeerId,
        reason: String,
    },
    SyncedWith {
        peer: PeerId,
    },
}

/// A handle on the network event loop.
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    sync_log: std::sync::Arc<super::sync_log::SyncLog>,
    sync_progress: std::sync::Arc<super::sync_progress::SyncProgress>,
}

impl Client {
    pub(crate) fn new(commands: mpsc::Sender<Command>, peer_id: PeerId) -> Client {
        Client {
            commands,
            peer_id,
            sync_log: std::sync::Arc::default(),
            sync_progress: std::sync::Arc::default(),
        }
    }

    /// The last sync session with each peer.
    pub fn sync_log(&self) -> &super::sync_log::SyncLog {
        &self.sync_log
    }

    /// The records sync sessions are fetching, for progress reports.
    pub fn sync_progress(&self) -> &std::sync::Arc<super::sync_progress::SyncProgress> {
        &self.sync_progress
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.send(make(reply)).await?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// Sends a sync request and decodes the answer. A malformed answer penalises the peer.
    pub async fn request(
        &self,
        peer: PeerId,
        request: &SyncRequest,
    ) -> Result<SyncResponse, NetworkError> {
        let bytes = request.encode();
        let answer = self
            .ask(|reply| Command::Request { peer, bytes, reply })
            .await??;
        match SyncResponse::decode(&answer) {
            Ok(response) => Ok(response),
            Err(error) => {
                self.penalise(peer, format!("malformed sync response: {error}"))
                    .await;
                Err(NetworkError::Malformed {
                    peer,
                    reason: error.to_string(),
                })
            }
        }
    }

    /// Publishes a record's wire bytes on its family's topic.
    pub async fn publish(&self, family: Family, wire: Vec<u8>) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Publish {
            family,
            wire,
            reply,
        })
        .await?
    }

    /// Dials an address.
    pub async fn dial(&self, address: Multiaddr) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Dial { address, reply }).await?
    }

    /// Connected peers that pass the gate.
    pub async fn peers(&self) -> Result<Vec<PeerId>, NetworkError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// How each connected peer that passes the gate is reached, and whether this node can
    /// be dialled from outside.
    pub async fn links(&self) -> Result<super::links::LinkReport, NetworkError> {
        self.ask(|reply| Command::Links { reply }).await
    }

    /// Addresses the swarm listens on.
    pub async fn listen_addresses(&self) -> Result<Vec<Multiaddr>, NetworkError> {
        self.ask(|reply| Command::ListenAddresses { reply }).await
    }

    /// Blocks (and disconnects) or unblocks a peer: operators' bans and partition tests.
    pub async fn set_blocked(&self, peer: PeerId, blocked: bool) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Block {
            peer,
            blocked,
            reply,
        })
        .await
    }

    /// Counts a misbehaviour against a peer; enough of them ban it.
    pub async fn penalise(&self, peer: PeerId, reason: String) {
        // If the loop has stopped there is no one to penalise.
        let _ = self.send(Command::Penalise { peer, reason }).await;
    }

    /// Tells the gate that a full sync with this peer has finished.
    pub async fn synced_with(&self, peer: PeerId) {
        let _ = self.send(Command::SyncedWith { peer }).await;
    }

    pub(crate) async fn respond(&self, channel: ResponseChannel<Vec<u8>>, bytes: Vec<u8>) {
        let _ = self.send(Command::Respond { channel, bytes }).await;
    }

    pub(crate) async fn report(
        &self,
        message_id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    ) {
        let _ = self
            .send(Command::Report {
                message_id,
                source,
                acceptance,
            })
            .await;
    }
}
