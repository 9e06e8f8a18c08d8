//! The TCP transport, with noise and yamux, on sockets tuned so that a dead link fails
//! within a stated time: TCP keep-alive probes an idle link, and `TCP_USER_TIMEOUT`
//! aborts a connection whose sent data stays unacknowledged. Without them a link cut by a
//! partition or a rebooted router can hold a connection — and a graceful close of it — for
//! the kernel's retransmission limit, about a quarter of an hour.

use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::{noise, tcp, yamux, PeerId, Transport};

/// A TCP transport whose sockets give up on a dead link after `dead_after`.
pub fn tcp_transport(
    key: &Keypair,
    dead_after: Duration,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .map(move |stream, _| {
                tune(&stream, dead_after);
                stream
            })
            .upgrade(Version::V1Lazy)
            .authenticate(noise::Config::new(key)?)
            .multiplex(yamux::Config::default())
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
    )
}

/// Keep-alive probes after a third of `dead_after` idle, then every sixth of it, three
/// times; and unacknowledged data aborts the connection after `dead_after`. A failure to
/// set them is logged: the ping still closes the connection, only later.
fn tune(stream: &tcp::tokio::TcpStream, dead_after: Duration) {
    let socket = socket2::SockRef::from(&stream.0);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(dead_after / 3)
        .with_interval(dead_after / 6)
        .with_retries(3);
    if let Err(error) = socket.set_tcp_keepalive(&keepalive) {
        tracing::warn!(%error, "cannot set TCP keep-alive");
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(error) = socket.set_tcp_user_timeout(Some(dead_after)) {
        tracing::warn!(%error, "cannot set TCP_USER_TIMEOUT");
    }
}
