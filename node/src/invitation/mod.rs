//! Invitations on the node's side (docs/PROTOCOL.md 14, docs/OPERATIONS.md "Inviter une
//! association"): a running, announced node signs one with its key; `maillon init join`
//! reads one (a file, the text code, or a link with its short code), checks that its
//! addresses name the inviting node, and tries to reach them before creating anything.
//!
//! - [`link`]: fetching an invitation from its link.
//! - [`served`]: the invitations this node made, kept for its site to serve.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use maillon_protocol::invitation::{Invitation, InvitationError, ShortCode, SignedInvitation};
use maillon_protocol::kinds::Body;
use maillon_protocol::{Kind, Record, SecretKey, Timestamp};
use thiserror::Error;

use crate::engine::Engine;
use crate::init::{init, Entry, InitReport};
use crate::network::gating::peer_id_of;

pub mod link;
pub mod served;
#[cfg(test)]
mod tests;

/// How long `init join` waits for each bootstrap address to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why an invitation cannot be made or used.
#[derive(Debug, Error)]
pub enum InvitationFailure {
    /// The invitation file could not be read.
    #[error("cannot read the invitation file {path}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A link that does not end with `/invitation/` and a short code.
    #[error("`{0}` is not an invitation link: it must end with /invitation/ and the 16-character short code, as in https://site.example/invitation/ABCD-EFGH-IJKL-MNOP")]
    BadLink(String),
    /// The link's site did not answer, or not with text.
    #[error("cannot fetch the invitation from {link}: {reason}\nCheck the link, and that the inviting site is up and reachable from here")]
    LinkUnreachable {
        /// The link.
        link: String,
        /// Why.
        reason: String,
    },
    /// The site has no invitation under the link's code.
    #[error("the site of {0} has no invitation under this code: it expired, or the link is mistyped; ask the inviting operator for a new one")]
    LinkNotFound(String),
    /// The invitation expired (the date, readable, in UTC).
    #[error("the invitation expired on {0}: ask the inviting operator for a new one")]
    Expired(String),
    /// The invitation is damaged, altered or mixes networks.
    #[error(transparent)]
    Invalid(#[from] InvitationError),
    /// This node is not an announced node of its network (or its operator lost standing).
    #[error("this node is not an announced node of its network: it cannot invite")]
    NotAnnounced,
    /// An address is not a multiaddress, or names another node than the inviting one.
    #[error("the address `{0}` must be a multiaddress such as /ip4/192.0.2.7/tcp/4001 or /dns4/node.example.org/tcp/4001, ending with this node's /p2p/ id if it has one")]
    BadAddress(String),
    /// No bootstrap address answered.
    #[error("no bootstrap address of the invitation answered:\n{}\nCheck that the inviting node is running and reachable from here, or pass --offline to create the node anyway", .0.iter().map(|p| format!("  {}: {}", p.address, p.outcome.as_ref().err().map_or("", String::as_str))).collect::<Vec<_>>().join("\n"))]
    Unreachable(Vec<Probe>),
    /// The store could not be read.
    #[error("store: {0}")]
    Store(String),
    /// Creating the node's folder failed (nothing was kept).
    #[error(transparent)]
    Init(#[from] crate::init::InitError),
}

/// The outcome of trying one bootstrap address.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The address tried.
    pub address: String,
    /// `Ok` if a TCP connection opened within the timeout, else why not.
    pub outcome: Result<(), String>,
}

/// The newest announcement this node signed, from the store.
pub fn own_announcement(engine: &Engine) -> Result<Option<Record>, InvitationFailure> {
    let store = engine.store();
    let failure = |e: &dyn std::fmt::Display| InvitationFailure::Store(e.to_string());
    let mut newest: Option<Record> = None;
    for id in store
        .by_author(&engine.node_key(), usize::MAX)
        .map_err(|e| failure(&e))?
    {
        let Some(wire) = store.get(&id).map_err(|e| failure(&e))? else {
            continue;
        };
        let record = Record::decode(&wire, &engine.network()).map_err(|e| failure(&e))?;
        let newer = newest
            .as_ref()
            .is_none_or(|n| (n.header().created, n.id()) < (record.header().created, record.id()));
        if matches!(record.body(), Some(Body::NodeAnnouncement(_))) && newer {
            newest = Some(record);
        }
    }
    Ok(newest)
}

fn charter_record(engine: &Engine) -> Result<Record, InvitationFailure> {
    let store = engine.store();
    let failure = |e: &dyn std::fmt::Display| InvitationFailure::Store(e.to_string());
    let id = store
        .by_kind(Kind::Charter, 1)
        .map_err(|e| failure(&e))?
        .into_iter()
        .next()
        .ok_or_else(|| failure(&"the store holds no charter"))?;
    let wire = store
        .get(&id)
        .map_err(|e| failure(&e))?
        .ok_or_else(|| failure(&"the charter is missing"))?;
    Record::decode(&wire, &engine.network()).map_err(|e| failure(&e))
}

/// Reads an address typed by the operator: a multiaddress that names this node's peer id, or
/// none (then it is appended).
pub fn complete_address(text: &str, peer: PeerId) -> Result<String, InvitationFailure> {
    let bad = || InvitationFailure::BadAddress(text.trim().to_string());
    let mut address: Multiaddr = text.trim().parse().map_err(|_| bad())?;
    match address.iter().last() {
        Some(Protocol::P2p(named)) if named == peer => {}
        Some(Protocol::P2p(_)) => return Err(bad()),
        _ => address.push(Protocol::P2p(peer)),
    }
    if address
        .iter()
        .any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified()))
        || address
            .iter()
            .any(|p| matches!(p, Protocol::Ip6(ip) if ip.is_unspecified()))
    {
        return Err(bad());
    }
    Ok(address.to_string())
}

/// Signs an invitation with this node's key: its charter, its announcement, `addresses`
/// (completed with this node's peer id), valid from `now` until `expires`.
pub fn make(
    engine: &Engine,
    node: &SecretKey,
    addresses: &[String],
    now: Timestamp,
    expires: Timestamp,
) -> Result<SignedInvitation, InvitationFailure> {
    if !engine
        .index()
        .announced_nodes()
        .contains_key(&engine.node_key())
    {
        return Err(InvitationFailure::NotAnnounced);
    }
    let inviter = own_announcement(engine)?.ok_or(InvitationFailure::NotAnnounced)?;
    let peer = peer_id_of(&engine.node_key()).ok_or(InvitationFailure::NotAnnounced)?;
    let addresses = addresses
        .iter()
        .map(|a| complete_address(a, peer))
        .collect::<Result<Vec<_>, _>>()?;
    let invitation = Invitation {
        charter: charter_record(engine)?,
        inviter,
        addresses,
        created: now,
        expires,
    };
    Ok(invitation.sign(node)?)
}

/// Reads an invitation given on the command line: a link with its short code, the path of a
/// file holding the text code (or its raw bytes), or the text code itself.
pub fn read(argument: &str, now: Timestamp) -> Result<SignedInvitation, InvitationFailure> {
    read_unchecked_time(argument, now).map_err(|failure| match failure {
        InvitationFailure::Invalid(InvitationError::Expired(at)) => InvitationFailure::Expired(
            maillon_web_ui::page::date_time(at, maillon_web_ui::session::Lang::En),
        ),
        other => other,
    })
}

fn read_unchecked_time(
    argument: &str,
    now: Timestamp,
) -> Result<SignedInvitation, InvitationFailure> {
    let path = Path::new(argument.trim());
    let invitation = if link::is_link(argument) {
        link::fetch(argument, now)?
    } else if !path.exists() && is_code(argument.as_bytes()) {
        SignedInvitation::from_text(argument, now)?
    } else {
        let bytes = std::fs::read(path).map_err(|source| InvitationFailure::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        if is_code(&bytes) {
            SignedInvitation::from_text(&String::from_utf8_lossy(&bytes), now)?
        } else {
            SignedInvitation::from_bytes(&bytes, now)?
        }
    };
    bootstrap_addresses(&invitation)?;
    Ok(invitation)
}

/// Whether bytes start, after white space, with the text form's prefix.
fn is_code(bytes: &[u8]) -> bool {
    let prefix = maillon_protocol::invitation::TEXT_PREFIX.as_bytes();
    let start = bytes.trim_ascii_start();
    start.len() >= prefix.len() && start[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The invitation's addresses, each a multiaddress ending with the inviting node's peer id.
pub fn bootstrap_addresses(
    invitation: &SignedInvitation,
) -> Result<Vec<Multiaddr>, InvitationFailure> {
    let inviter = invitation.invitation().inviter_key();
    let peer = peer_id_of(&inviter).ok_or(InvitationFailure::NotAnnounced)?;
    invitation
        .invitation()
        .addresses
        .iter()
        .map(|text| {
            let address: Multiaddr = text
                .parse()
                .map_err(|_| InvitationFailure::BadAddress(text.clone()))?;
            match address.iter().last() {
                Some(Protocol::P2p(named)) if named == peer => Ok(address),
                _ => Err(InvitationFailure::BadAddress(text.clone())),
            }
        })
        .collect()
}

/// Tries a TCP connection to each address, `timeout` each.
pub fn probe(addresses: &[Multiaddr], timeout: Duration) -> Vec<Probe> {
    addresses
        .iter()
        .map(|address| Probe {
            address: address.to_string(),
            outcome: socket_addresses(address).and_then(|targets| {
                let mut last = String::from("no address to try");
                for target in targets {
                    match TcpStream::connect_timeout(&target, timeout) {
                        Ok(_) => return Ok(()),
                        Err(error) => last = format!("{target}: {error}"),
                    }
                }
                Err(last)
            }),
        })
        .collect()
}

/// Fails unless at least one address answered.
pub fn require_one_reachable(probes: Vec<Probe>) -> Result<Vec<Probe>, InvitationFailure> {
    if probes.iter().any(|p| p.outcome.is_ok()) {
        Ok(probes)
    } else {
        Err(InvitationFailure::Unreachable(probes))
    }
}

fn socket_addresses(address: &Multiaddr) -> Result<Vec<SocketAddr>, String> {
    let mut host: Option<String> = None;
    let mut port: Option<u16> = None;
    for part in address.iter() {
        match part {
            Protocol::Ip4(ip) => host = Some(ip.to_string()),
            Protocol::Ip6(ip) => host = Some(format!("[{ip}]")),
            Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
                host = Some(name.to_string())
            }
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    let (Some(host), Some(port)) = (host, port) else {
        return Err("not a TCP address: cannot be tried".into());
    };
    format!("{host}:{port}")
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|e| format!("cannot resolve {host}: {e}"))
}

/// What `init join` did.
#[derive(Debug)]
pub struct Joined {
    /// The node created.
    pub report: InitReport,
    /// The bootstrap addresses tried (none when offline).
    pub probes: Vec<Probe>,
    /// The invitation's short code, for the operator to compare with the one they were given.
    pub short_code: ShortCode,
}

/// `maillon init --dir D --name N join --invitation I [--offline]`: reads and checks the
/// invitation, tries its addresses (unless `offline`; at least one must answer), then
/// creates the node's folder. Nothing is written unless every check passed.
pub fn join(
    dir: &Path,
    node_name: &str,
    argument: &str,
    offline: bool,
    now: Timestamp,
) -> Result<Joined, InvitationFailure> {
    let invitation = read(argument, now)?;
    let probes = if offline {
        Vec::new()
    } else {
        require_one_reachable(probe(&bootstrap_addresses(&invitation)?, PROBE_TIMEOUT))?
    };
    let short_code = invitation.short_code();
    let entry = Entry::Join {
        invitation: Box::new(invitation),
    };
    Ok(Joined {
        report: init(dir, node_name, &entry)?,
        probes,
        short_code,
    })
}
