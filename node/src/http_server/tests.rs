//! The server's limits against real sockets: slow and silent clients, oversized heads and
//! URIs, the connection cap, and the client address reaching the handlers.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{answers, serve, ServerLimits};

fn app() -> Router {
    Router::new()
        .route(
            "/who",
            get(|ConnectInfo(address): ConnectInfo<SocketAddr>| async move { address.to_string() }),
        )
        .route(
            "/echo",
            post(|body: String| async move { body.len().to_string() }),
        )
}

struct Server {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(limits: ServerLimits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, signal) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app(), limits, signal));
    Server {
        address,
        stop,
        task,
    }
}

fn short_limits() -> ServerLimits {
    ServerLimits {
        max_connections: 4,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        request_deadline: Duration::from_secs(30),
        ..ServerLimits::default()
    }
}

/// Sends `request` and reads the answer until the server closes or 10 s pass.
async fn exchange(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_all(&mut stream).await
}

async fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether the server closed the connection (a read returns 0) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn the_client_address_reaches_the_handlers() {
    let server = start(short_limits()).await;
    let answer = exchange(
        server.address,
        b"GET /who HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("127.0.0.1:"), "{answer}");
}

#[tokio::test]
async fn a_head_sent_a_line_at_a_time_is_cut_off() {
    let server = start(short_limits()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(b"GET /who HTTP/1.1\r\n").await.unwrap();
    let mut cut = false;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if stream.write_all(b"x-slow: still here\r\n").await.is_err() {
            cut = true;
            break;
        }
    }
    assert!(
        cut || closed_within(&mut stream, Duration::from_secs(3)).await,
        "a head dribbled over 2.4 s must be cut off by the 1 s head timeout"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_its_answer() {
    let server = start(short_limits()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /who HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 16];
    stream.read_exact(&mut first).await.unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200"));
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
}

#[tokio::test]
async fn a_stalled_body_is_abandoned() {
    let server = start(short_limits()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_all(&mut stream).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a body that stops for over 1 s must end the request, not hold the connection"
    );
    assert!(
        !answer.starts_with("HTTP/1.1 200"),
        "a body that stops must not be answered as whole: {answer}"
    );
}

#[tokio::test]
async fn oversized_heads_and_uris_get_json_answers() {
    let server = start(short_limits()).await;
    let long_uri = format!(
        "GET /who?q={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let answer = exchange(server.address, long_uri.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains(r#""error":"uri_too_long""#), "{answer}");

    let big_head = format!(
        "GET /who HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "b".repeat(40 * 1024)
    );
    let answer = exchange(server.address, big_head.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(
        answer.contains(r#""error":"headers_too_large""#),
        "{answer}"
    );

    let garbage = exchange(server.address, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    assert!(garbage.contains(r#""error":"bad_request""#), "{garbage}");
}

#[tokio::test]
async fn connections_over_the_cap_wait_and_are_served_when_one_closes() {
    let server = start(short_limits()).await;
    // Four silent connections take every slot (each until the 1 s head timeout).
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(TcpStream::connect(server.address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let answer = exchange(
        server.address,
        b"GET /who HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the fifth connection must wait for a slot, not be served at once"
    );
    drop(silent);
}

#[tokio::test]
async fn stopping_ends_the_server() {
    let server = start(short_limits()).await;
    server.stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("the server stops")
        .unwrap();
}

#[test]
fn only_head_only_error_answers_are_rewritten() {
    let automatic = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 10:00:00 GMT\r\n\r\n";
    let rewritten = String::from_utf8(answers::with_json_body(automatic).unwrap()).unwrap();
    assert!(rewritten.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert!(rewritten.contains("date: Thu, 03 Dec 2026"));
    assert!(rewritten.contains("connection: close"));
    let (head, body) = rewritten.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("content-length: {}", body.len())));
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["error"], "headers_too_large");

    let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
    assert!(answers::with_json_body(with_body).is_none());
    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    assert!(answers::with_json_body(ok).is_none());
}

#[test]
fn the_connection_cap_fits_under_the_descriptor_limit() {
    assert_eq!(ServerLimits::connections_for_descriptor_limit(1024), 384);
    assert_eq!(ServerLimits::connections_for_descriptor_limit(100), 16);
    assert_eq!(
        ServerLimits::connections_for_descriptor_limit(1 << 20),
        4096
    );
}
