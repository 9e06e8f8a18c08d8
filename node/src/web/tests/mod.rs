//! Tests of every web route without a socket: the site's router over a real engine on a sled
//! store in a temporary folder, loaded with a generated network, called with `oneshot`.
//!
//! - [`journey`]: joining, sponsoring, publishing, transactions, notifications.
//! - [`guards`]: bad input, XSS, CSRF, access control, rate limiting, languages.
//! - [`moderation`]: complaints, moderators' actions and their effects, the public log.
//! - [`governance`]: the council's appointments, node policies, key recovery.
//! - [`erasure`]: exporting one's data and erasing one's account.
//! - [`founding`]: a founding team founds the network and admits its first member.
//! - [`mail`]: e-mail to members through a real SMTP server (aiosmtpd).
//! - [`hosting`]: inviting another association's node; a member vouching for a new node.

mod bodies;
mod erasure;
mod form_errors;
mod founding;
mod funding;
mod governance;
mod guards;
mod headers;
mod hosting;
mod journey;
mod mail;
mod moderation;
mod monitoring;
mod oidc;
mod pages;
mod phone;
mod pictures;
mod sponsoring;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use maillon_protocol::{testkit, PublicKey, Record, SecretKey, Timestamp};
use maillon_web_ui::backend::Account;
use maillon_web_ui::keys::{seal, KdfParams};
use maillon_web_ui::WebConfig;
use tower::ServiceExt;

use crate::blobs::BlobStore;
use crate::engine::{Engine, EngineParts, Origin};
use crate::generator::{generate, GeneratedNetwork};
use crate::ingest::parking::ParkingLimits;
use crate::store::{SledConfig, SledStore, Store};
use crate::web::accounts::AccountFiles;

/// The test node's key label.
pub const NODE_KEY_LABEL: &str = "web-test-node";

/// Every test account's passphrase.
pub const PASSPHRASE: &str = "une phrase de passe";

pub(super) fn network() -> &'static GeneratedNetwork {
    static NETWORK: OnceLock<GeneratedNetwork> = OnceLock::new();
    NETWORK.get_or_init(|| generate(11, 40))
}

pub(super) fn secret(label: &str) -> SecretKey {
    network()
        .keys
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no key {label}"))
        .1
        .clone()
}

/// A site over a loaded engine, with accounts for the labels given.
pub(super) struct Site {
    engine: Engine,
    /// The store, to simulate a full disk with its free-space floor.
    pub store: Arc<dyn Store>,
    router: Router,
    /// The backend behind the routes, for reads compared with the pages'.
    pub backend: super::NodeBackend,
    pub dir: tempfile::TempDir,
    _shutdown: tokio::sync::watch::Sender<bool>,
    /// How far the clock was moved forward, in milliseconds.
    shift: Arc<std::sync::atomic::AtomicU64>,
}

impl Site {
    pub async fn start(accounts: &[&str]) -> Site {
        Site::start_with_mail(accounts, None).await
    }

    /// A site that sends e-mail with these settings (a test SMTP server).
    pub async fn start_with_mail(
        accounts: &[&str],
        smtp: Option<crate::mail::settings::SmtpSettings>,
    ) -> Site {
        let net = network();
        let dir = tempfile::tempdir().expect("temporary folder");
        let files = AccountFiles::open(dir.path().join("accounts")).expect("accounts");
        for label in accounts {
            let key = secret(label);
            files
                .create(&Account {
                    login: label.to_string(),
                    key: key.public_key(),
                    sealed_key: seal(&key, PASSPHRASE, KdfParams::FOR_TESTS).expect("seal"),
                    created: net.now,
                    notifications_seen: Timestamp(0),
                    saved_searches: vec![],
                    pending_recovery: None,
                    donation_reminder_dismissed_ms: 0,
                })
                .expect("account");
        }
        drop(files);
        let store = SledStore::open(&SledConfig {
            path: dir.path().join("db"),
            cache_capacity_bytes: 8 << 20,
        })
        .expect("sled opens");
        let store: Arc<dyn Store> = Arc::new(store);
        // The clock runs from the network's `now`, so that versions are newer than the first.
        let (now, started) = (net.now, std::time::Instant::now());
        let shift = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let moved = shift.clone();
        let engine = Engine::start(EngineParts {
            store: Arc::clone(&store),
            charter: net.records[0].clone(),
            node_key: testkit::key(NODE_KEY_LABEL).public_key(),
            name: "Maillon Test".into(),
            parking: ParkingLimits::default(),
            joins_per_introducer_per_day:
                crate::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
            clock: Arc::new(move || {
                now.plus_ms(started.elapsed().as_millis() as u64)
                    .plus_ms(moved.load(std::sync::atomic::Ordering::SeqCst))
            }),
        })
        .await
        .expect("engine starts");
        let mut wires: Vec<Vec<u8>> = net.records.iter().map(Record::to_wire).collect();
        // The site's node is announced, vouched for by a founder: it introduces joins.
        let node = testkit::key(NODE_KEY_LABEL);
        let announcement = net.signer.announce_node(
            &node,
            &secret("founder-1"),
            "Maillon Test",
            net.now.minus_ms(1),
        );
        wires.push(announcement.to_wire());
        engine
            .submit_many(wires, Origin::Local)
            .await
            .expect("engine runs");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
        std::fs::write(
            dir.path().join("node.key"),
            hex::encode(testkit::key(NODE_KEY_LABEL).seed()),
        )
        .expect("node key");
        let (shutdown, signal) = tokio::sync::watch::channel(false);
        let config = WebConfig {
            kdf: KdfParams::FOR_TESTS,
            ..WebConfig::default()
        };
        let fed = super::feeder::FedIndexes::load(&engine).expect("indexes");
        let site = super::start(fed, None, blobs, dir.path(), config, smtp, signal).expect("site");
        Site {
            engine,
            store,
            router: site.router,
            backend: site.backend,
            dir,
            _shutdown: shutdown,
            shift,
        }
    }

    /// Serves the site over real HTTP on 127.0.0.1, for clients that make their own
    /// requests (an OpenID Connect relying party); its address.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("its address");
        let app = self
            .router
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: u64) {
        self.shift
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// A browser without cookies.
    pub fn visitor(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookie: None,
            lang: None,
            address: None,
        }
    }

    /// A browser signed in as `label`.
    pub async fn signed_in(&self, label: &str) -> Browser {
        let mut browser = self.visitor();
        let page = browser.get("/connexion").await;
        let csrf = page.csrf();
        let answer = browser
            .post_form(
                "/connexion",
                &[
                    ("csrf", &csrf),
                    ("login", label),
                    ("passphrase", PASSPHRASE),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "sign-in of {label}: {}",
            answer.body
        );
        browser
    }

    /// Stores a record signed outside the site (a council's appointment, say) and waits
    /// until the web's indexes have it.
    pub async fn submit(&self, record: &Record) {
        self.engine
            .submit_wire(&record.to_wire(), Origin::Local)
            .await
            .expect("the record is accepted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    /// The engine under the site.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine's clock.
    pub fn now(&self) -> Timestamp {
        self.engine.now()
    }

    /// Waits until the search index shows `text` (its feeder commits in batches).
    pub async fn wait_for_search(&self, browser: &mut Browser, query: &str, text: &str) -> Page {
        for _ in 0..100 {
            let page = browser.get(&format!("/recherche?{query}")).await;
            if page.body.contains(text) {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("search `{query}` never showed `{text}`");
    }
}

/// Checks that a page's headings go down one level at a time (axe-core's `heading-order`):
/// the first is an `h1`, and none skips a level below the one before.
pub(super) fn assert_headings_in_order(page: &Page) {
    let levels: Vec<u8> = page
        .body
        .match_indices("<h")
        .filter_map(|(at, _)| {
            let level = *page.body.as_bytes().get(at + 2)?;
            (b'1'..=b'6').contains(&level).then_some(level - b'0')
        })
        .collect();
    assert_eq!(levels.first(), Some(&1), "no h1 first: {levels:?}");
    for pair in levels.windows(2) {
        assert!(
            pair[1] <= pair[0] + 1,
            "a heading level skipped: {levels:?}"
        );
    }
}

pub(super) fn key_of(label: &str) -> PublicKey {
    secret(label).public_key()
}

/// A page as received.
#[derive(Debug)]
pub(super) struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: String,
    pub cache_control: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Page {
    /// The listing's address, from the answer to publishing or editing it: a redirection to
    /// the author's page after publishing (`/annonce/{series}/publiee`).
    pub fn published_listing(&self) -> String {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        let location = self.location.as_deref().expect("a redirection");
        let listing = location
            .strip_suffix("/publiee")
            .or_else(|| location.strip_suffix("/publiee?modifiee=1"))
            .unwrap_or_else(|| panic!("{location} is not the page after publishing"));
        assert!(listing.starts_with("/annonce/"), "{location}");
        listing.to_string()
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no form in {}", self.body))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// A cookie-keeping client of the router.
#[derive(Clone)]
pub(super) struct Browser {
    router: Router,
    cookie: Option<String>,
    pub lang: Option<&'static str>,
    /// The client address the server sees (as `ConnectInfo`), if any.
    pub address: Option<std::net::SocketAddr>,
}

impl Browser {
    /// A browser without cookies over any router.
    pub fn over(router: Router) -> Browser {
        Browser {
            router,
            cookie: None,
            lang: None,
            address: None,
        }
    }

    pub(super) async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Page {
        let mut request = request;
        let mut cookies = Vec::new();
        if let Some(cookie) = &self.cookie {
            cookies.push(cookie.clone());
        }
        if let Some(lang) = self.lang {
            cookies.push(format!("maillon_lang={lang}"));
        }
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let mut request = request.body(body).expect("request");
        if let Some(address) = self.address {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(address));
        }
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            if let Some(rest) = text.strip_prefix("maillon_session=") {
                let id = rest.split(';').next().unwrap_or_default();
                self.cookie = (!id.is_empty()).then(|| format!("maillon_session={id}"));
            }
        }
        let status = response.status();
        let header_text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = header_text(header::CONTENT_TYPE);
        let cache_control = header_text(header::CACHE_CONTROL);
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Page {
            status,
            location,
            content_type,
            cache_control,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    pub fn router_clone(&self) -> Router {
        self.router.clone()
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.send(Request::get(uri), Body::empty()).await
    }

    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }

    /// Publishes a listing in Valence (26000) through the form, as a member does.
    pub async fn publish(
        &mut self,
        title: &str,
        category: &str,
        photos: &[(&str, Vec<u8>)],
    ) -> Page {
        let csrf = self.get("/publier").await.csrf();
        let fields = [
            ("csrf", csrf.as_str()),
            ("title", title),
            ("category", category),
            ("place", "26000"),
        ];
        self.post_multipart("/publier", &fields, photos).await
    }

    pub async fn post_multipart(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> Page {
        let boundary = "----maillonboundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        for (name, bytes) in files {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"photo.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = Request::post(uri).header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        self.send(request, Body::from(body)).await
    }
}

pub(super) fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A small valid PNG.
pub(super) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 5) as u8, 120])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("png");
    bytes.into_inner()
}
