//! `maillon run` as a container runs it (issue 13 §4): a node folder made by `maillon init`,
//! then the node started from another folder with no configuration file, every setting in
//! `MAILLON_*` environment variables and JSON logs: what it writes is JSON lines only, its
//! site answers `/health`, and it stops cleanly on SIGTERM. A bad log format, a
//! configuration file that does not exist and an empty environment are refused with a
//! message that names the cause.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// How long the node may take to start or stop (a limit for a stuck process, not a goal).
const PATIENCE: Duration = Duration::from_secs(60);
const FOUNDING: &str = "Nœud en cours de fondation : http://";

fn maillon() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_maillon"));
    command.env("RUST_LOG", "info").stdin(Stdio::null());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `maillon init … found`: a node folder waiting for its founders (no network needed).
fn init_founding_node(dir: &Path) -> Result<()> {
    let output = maillon()
        .args(["init", "--dir"])
        .arg(dir)
        .args([
            "--name",
            "Essai",
            "found",
            "--network-name",
            "Maillon Essai",
        ])
        .args(["--postcode", "26000"])
        .output()?;
    ensure!(
        output.status.success(),
        "init failed: {}",
        text(&output.stderr)
    );
    Ok(())
}

/// The settings a container gives in its environment, for the node folder `node`.
fn container_environment(command: &mut Command, node: &Path) {
    command
        .env("MAILLON_NODE__NAME", "Essai en conteneur")
        .env("MAILLON_NODE__DATA_DIR", node.join("data"))
        .env("MAILLON_NETWORK__CHARTER_FILE", node.join("charter.cbor"))
        .env("MAILLON_NETWORK__LISTEN", "[\"/ip4/127.0.0.1/tcp/0\"]")
        .env("MAILLON_HTTP__LISTEN", "127.0.0.1:0")
        .env("MAILLON_METRICS__LISTEN", "")
        .env("MAILLON_LOG__FORMAT", "json");
}

/// A log line: a JSON object with a timestamp, a level and fields.
fn parse_log_line(line: &str) -> Result<Value> {
    let value: Value =
        serde_json::from_str(line).with_context(|| format!("not a JSON line: {line}"))?;
    ensure!(
        value["timestamp"].is_string() && value["level"].is_string() && value["fields"].is_object(),
        "not a log event: {line}"
    );
    Ok(value)
}

fn message(event: &Value) -> &str {
    event["fields"]["message"].as_str().unwrap_or_default()
}

/// `GET /health` over plain HTTP/1.1; returns the whole answer.
fn get_health(address: &str) -> Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

fn wait_for_exit(child: &mut std::process::Child) -> Result<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < PATIENCE {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    bail!("the node did not stop within {PATIENCE:?} of SIGTERM")
}

#[test]
fn a_node_runs_from_environment_settings_alone_with_json_logs() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let node = tmp.path().join("node");
    init_founding_node(&node)?;
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere)?;

    let mut command = maillon();
    container_environment(&mut command, &node);
    let mut child = command
        .arg("run")
        .current_dir(&elsewhere)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().context("no stderr")?;
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });

    let mut seen = Vec::new();
    let address = loop {
        let line = received
            .recv_timeout(PATIENCE)
            .with_context(|| format!("no founding address logged; lines so far: {seen:?}"))?;
        let event = parse_log_line(&line)?;
        seen.push(line);
        if let Some(rest) = message(&event).strip_prefix(FOUNDING) {
            break rest.trim_end_matches("/fondation").to_string();
        }
    };
    let health = get_health(&address)?;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok"), "{health}");

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(terminated.success());
    let status = wait_for_exit(&mut child)?;
    reader.join().unwrap();
    seen.extend(received.try_iter());
    assert!(status.success(), "exit {status}; log: {seen:?}");
    let events: Vec<Value> = seen
        .iter()
        .map(String::as_str)
        .map(parse_log_line)
        .collect::<Result<_>>()?;
    assert!(
        events
            .iter()
            .any(|e| message(e).starts_with("Arrêt en cours")),
        "{seen:?}"
    );
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout)?;
    assert_eq!(stdout, "", "with JSON logs, nothing else is written");
    Ok(())
}

fn run_and_fail(command: &mut Command) -> Result<String> {
    let Output { status, stderr, .. } = command.output()?;
    ensure!(
        !status.success(),
        "maillon run should have refused to start"
    );
    Ok(text(&stderr))
}

#[test]
fn a_bad_log_format_is_refused_with_its_field_named() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let node = tmp.path().join("node");
    init_founding_node(&node)?;
    let error = run_and_fail(
        maillon()
            .args(["run", "--config"])
            .arg(node.join("maillon.toml"))
            .env("MAILLON_LOG__FORMAT", "yaml"),
    )?;
    assert!(
        error.contains("log.format") && error.contains("`yaml`"),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_configuration_file_that_does_not_exist_is_named() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let absent = tmp.path().join("absent.toml");
    let error = run_and_fail(maillon().args(["run", "--config"]).arg(&absent))?;
    assert!(
        error.contains(&absent.display().to_string()) && error.contains("does not exist"),
        "{error}"
    );
    Ok(())
}

#[test]
fn without_a_file_or_settings_the_error_says_where_settings_were_looked_for() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut command = maillon();
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("MAILLON_")) {
        command.env_remove(name);
    }
    let error = run_and_fail(command.arg("run").current_dir(tmp.path()))?;
    assert!(
        error.contains("MAILLON_* environment variables only") && error.contains("node.name"),
        "{error}"
    );
    Ok(())
}
