//! A real SMTP server for the tests: aiosmtpd (Debian's `python3-aiosmtpd`, installed by
//! scripts/test-all.sh) with the handler in tests/smtp/maillon_sink.py, which writes every
//! accepted message to a folder and can refuse chosen recipients. Tests skip (and say so)
//! when aiosmtpd is missing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::settings::{MailTiming, SmtpSettings, TlsMode};

/// A received message.
#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope recipients.
    pub to: String,
    /// The raw header block.
    pub headers: String,
    /// The body, quoted-printable decoded.
    pub body: String,
}

/// The aiosmtpd process and its folder.
pub struct SmtpSink {
    folder: tempfile::TempDir,
    port: u16,
    refused: Vec<String>,
    python: PathBuf,
    child: Option<Child>,
}

fn python_with_aiosmtpd() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"].iter().find_map(|python| {
        let works = Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        works.then(|| PathBuf::from(python))
    })
}

impl SmtpSink {
    /// Starts a sink refusing `refused` with 550; `None` (after saying so) without aiosmtpd.
    pub fn start(refused: &[&str]) -> Option<SmtpSink> {
        let Some(python) = python_with_aiosmtpd() else {
            eprintln!("skipped: aiosmtpd is missing (apt-get install python3-aiosmtpd)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut sink = SmtpSink {
            folder: tempfile::tempdir().expect("a folder"),
            port,
            refused: refused.iter().map(|r| r.to_string()).collect(),
            python,
            child: None,
        };
        sink.restart();
        Some(sink)
    }

    /// Starts the server again on the same port (after [`SmtpSink::stop`]).
    pub fn restart(&mut self) {
        let handlers = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/smtp");
        let child = Command::new(&self.python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "maillon_sink.Sink"])
            .arg(self.folder.path())
            .args(&self.refused)
            .env("PYTHONPATH", handlers)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on port {}", self.port);
    }

    /// Stops the server (the outage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// While on, every message gets 451 at DATA.
    pub fn set_temporary_failure(&self, on: bool) {
        let path = self.folder.path().join("tempfail");
        if on {
            std::fs::write(path, b"").expect("tempfail file");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.folder.path()).expect("the sink's folder") {
            let path = entry.expect("an entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw =
                String::from_utf8_lossy(&std::fs::read(&path).expect("a message")).into_owned();
            let (headers, body) = raw
                .split_once("\r\n\r\n")
                .or_else(|| raw.split_once("\n\n"))
                .unwrap_or((&raw, ""));
            let to = headers
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("X-Envelope-To: "))
                .unwrap_or_default()
                .to_string();
            let decoded = quoted_printable::decode(body, quoted_printable::ParseMode::Robust)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_string());
            out.push(Received {
                to,
                headers: headers.to_string(),
                body: decoded,
            });
        }
        out
    }

    /// Settings for a node sending to this sink, with short waits.
    pub fn settings(&self, per_hour: u32) -> SmtpSettings {
        settings_for_port(self.port, per_hour)
    }
}

/// Settings for a plain SMTP server on this machine, with short waits.
pub fn settings_for_port(port: u16, per_hour: u32) -> SmtpSettings {
    {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            credentials: None,
            from: "Maillon Test <maillon@example.org>"
                .parse()
                .expect("an address"),
            per_hour,
            site_url: "https://maillon.example.org".into(),
            timing: MailTiming {
                tick: Duration::from_millis(100),
                first_retry: Duration::from_millis(200),
                max_retry: Duration::from_millis(400),
                give_up_after: Duration::from_secs(3600),
            },
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits up to 20 s for `done`.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
