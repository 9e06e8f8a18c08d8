//! `maillon bench web`: the listing page with the trust path under `wrk` at 64 connections
//! on loopback (goal: p99 under 25 ms and 5,000 requests/s or more), and the weight of the
//! main pages without photos (goal: under 60 KB with their style sheet and script).
//!
//! One node holds a generated network of [`MEMBERS`] members. A member signs in through the
//! real form; of the first [`CANDIDATE_LISTINGS`] listings by others, the one whose author
//! is farthest from the viewer in sponsorship links is timed, so every request computes a
//! long trust path. Same-run limit: `wrk` against `GET /health` on the same server, which
//! goes through the same HTTP stack, session middleware and router and does nothing else.

use std::process::Command;
use std::time::{Duration, Instant};

use maillon_protocol::kinds::Body;
use maillon_protocol::testkit::DAY;
use maillon_protocol::Record;
use maillon_web_ui::backend::Account;
use maillon_web_ui::keys::{seal, KdfParams};

use super::fixture::{load, now, settings, Fixture};
use super::{ms, thousands, BenchOptions, BenchResult, Row};
use crate::generator::GeneratorOptions;
use crate::web::accounts::AccountFiles;

/// Members of the generated network.
pub const MEMBERS: usize = 2_000;
/// Listings looked at to find a distant author.
pub const CANDIDATE_LISTINGS: usize = 60;
/// Connections kept open by `wrk`.
pub const CONNECTIONS: usize = 64;
/// How long each `wrk` run lasts.
pub const DURATION: Duration = Duration::from_secs(20);
/// The goals.
pub const GOAL_P99: Duration = Duration::from_millis(25);
/// Requests per second to reach.
pub const GOAL_RATE: f64 = 5_000.0;
/// Page weight to stay under, in bytes.
pub const GOAL_WEIGHT: usize = 60 * 1024;

const VIEWER: &str = "member-1";
const PASSPHRASE: &str = "banc-de-la-page";

/// What `wrk --latency` reported.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkReport {
    /// Requests per second over the run.
    pub rate: f64,
    /// The 50th and 99th latency percentiles.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// Requests completed.
    pub requests: u64,
    /// Answers that were not 2xx or 3xx, plus socket errors.
    pub failures: u64,
}

/// Runs the web benchmark.
pub async fn run(options: &BenchOptions) -> BenchResult<Vec<Row>> {
    let wrk = which_wrk()?;
    let fixture = Fixture::new(
        options.seed,
        &GeneratorOptions::national_shaped(MEMBERS, now().minus_ms(DAY)),
        1,
    )?;
    fixture.prepare(0)?;
    create_viewer(&fixture)?;
    let node = fixture
        .start(0, settings(Vec::new(), Duration::from_secs(3600)))
        .await?;
    load(&node.engine, &fixture.genesis(), 4096).await?;
    let base = format!("http://{}", node.http_address);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = sign_in(&client, &base).await?;
    let (series, hops) = farthest_listing(&client, &base, &cookie, &fixture).await?;
    let listing_url = format!("{base}/annonce/{series}");
    println!(
        "web: {} records loaded; timing {listing_url} (author {hops} links away)",
        thousands(fixture.genesis().len() as u64)
    );
    let word = first_title_word(&fixture).ok_or("the generated network has no listing")?;
    wait_for_search(&client, &base, &cookie, &word).await?;
    let weights = page_weights(&client, &base, &cookie, &listing_url, &word).await?;
    let health = run_wrk(&wrk, &format!("{base}/health"), &cookie)?;
    let listing = run_wrk(&wrk, &listing_url, &cookie)?;
    node.shutdown().await?;
    if listing.failures > 0 || health.failures > 0 {
        return Err(format!(
            "wrk saw failed requests: {} on the listing, {} on /health",
            listing.failures, health.failures
        )
        .into());
    }
    Ok(rows(&listing, &health, hops, &weights))
}

fn which_wrk() -> BenchResult<String> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok("wrk".into()),
        Err(_) => Err("this benchmark needs wrk: apt-get install -y wrk".into()),
    }
}

fn create_viewer(fixture: &Fixture) -> BenchResult<()> {
    let (_, key) = fixture
        .network
        .keys
        .iter()
        .find(|(label, _)| label == VIEWER)
        .ok_or("the generated network has no member-1")?;
    let files = AccountFiles::open(fixture.dir(0).join("accounts"))?;
    files.create(&Account {
        login: VIEWER.into(),
        key: key.public_key(),
        sealed_key: seal(key, PASSPHRASE, KdfParams::FOR_TESTS)?,
        created: fixture.network.now,
        notifications_seen: fixture.network.now,
        saved_searches: Vec::new(),
        pending_recovery: None,
        donation_reminder_dismissed_ms: 0,
    })?;
    Ok(())
}

/// Signs the viewer in through the form; returns the `Cookie` header to send.
async fn sign_in(client: &reqwest::Client, base: &str) -> BenchResult<String> {
    let form = client.get(format!("{base}/connexion")).send().await?;
    let anonymous = session_cookie(&form).ok_or("no session cookie on the sign-in form")?;
    let html = form.text().await?;
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").ok_or("no CSRF token")?;
    let answer = client
        .post(format!("{base}/connexion"))
        .header("cookie", &anonymous)
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", VIEWER),
            ("passphrase", PASSPHRASE),
        ])
        .send()
        .await?;
    if !answer.status().is_redirection() {
        return Err(format!("sign-in answered {}", answer.status()).into());
    }
    Ok(session_cookie(&answer).ok_or("no session cookie after signing in")?)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(maillon_web_ui::session::SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_string())
}

/// The listing, among the first few by others, whose author is farthest from the viewer;
/// waits (up to a minute) for the social index to know the network.
async fn farthest_listing(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    fixture: &Fixture,
) -> BenchResult<(String, u32)> {
    let viewer = fixture
        .network
        .keys
        .iter()
        .find(|(label, _)| label == VIEWER)
        .map(|(_, key)| key.public_key())
        .ok_or("the generated network has no member-1")?;
    let series: Vec<String> = fixture
        .network
        .records
        .iter()
        .filter(|r| matches!(r.body(), Some(Body::Listing(l)) if l.series.is_none()))
        .filter(|r| r.header().author != viewer)
        .take(CANDIDATE_LISTINGS)
        .map(|r: &Record| r.id().to_hex())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut best: Option<(String, u32)> = None;
        for id in &series {
            let html = client
                .get(format!("{base}/annonce/{id}"))
                .header("cookie", cookie)
                .send()
                .await?
                .text()
                .await?;
            if let Some(hops) = trust_distance(&html) {
                if best.as_ref().is_none_or(|(_, b)| hops > *b) {
                    best = Some((id.clone(), hops));
                }
            }
        }
        match best {
            Some(found) if found.1 >= 2 => return Ok(found),
            _ if Instant::now() > deadline => {
                return Err("no listing page showed a trust path of two links or more".into())
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The number of sponsorship links on a page's trust path (its `data-liens`).
pub fn trust_distance(html: &str) -> Option<u32> {
    let marker = "data-liens=\"";
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    html[start..end].parse().ok()
}

/// The first word of the first generated listing's title, to search for.
fn first_title_word(fixture: &Fixture) -> Option<String> {
    fixture.network.records.iter().find_map(|r| match r.body() {
        Some(Body::Listing(l)) => l.title.split_whitespace().next().map(|w| w.to_lowercase()),
        _ => None,
    })
}

/// Waits (up to a minute) until the search index returns listings for `word`, so that
/// the pages weighed show results as a member would see them.
async fn wait_for_search(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    word: &str,
) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let html = client
            .get(search_url(base, word)?)
            .header("cookie", cookie)
            .send()
            .await?
            .text()
            .await?;
        if html.contains("href=\"/annonce/") {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the search index found nothing for {word:?} in a minute").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn search_url(base: &str, word: &str) -> BenchResult<String> {
    Ok(reqwest::Url::parse_with_params(&format!("{base}/recherche"), [("q", word)])?.to_string())
}

/// (page, HTML bytes) of the main pages, then the style sheet and script as one entry.
async fn page_weights(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    listing_url: &str,
    word: &str,
) -> BenchResult<Vec<(String, usize)>> {
    let pages = [
        ("home", format!("{base}/")),
        ("search", search_url(base, word)?),
        ("listing", listing_url.to_string()),
        ("my transactions", format!("{base}/transactions")),
    ];
    let mut out = Vec::new();
    let mut assets = Vec::new();
    for (name, url) in pages {
        let answer = client.get(&url).header("cookie", cookie).send().await?;
        if !answer.status().is_success() {
            return Err(format!("{url} answered {}", answer.status()).into());
        }
        let html = answer.text().await?;
        for prefix in ["href=\"/static/", "src=\"/static/"] {
            if let Some(asset) = between(&html, prefix, "\"") {
                if !assets.contains(&asset) {
                    assets.push(asset);
                }
            }
        }
        out.push((name.to_string(), html.len()));
    }
    let mut asset_bytes = 0;
    for asset in &assets {
        asset_bytes += client
            .get(format!("{base}/static/{asset}"))
            .send()
            .await?
            .bytes()
            .await?
            .len();
    }
    out.push((
        format!("style sheet and script ({})", assets.len()),
        asset_bytes,
    ));
    Ok(out)
}

fn run_wrk(wrk: &str, url: &str, cookie: &str) -> BenchResult<WrkReport> {
    let output = Command::new(wrk)
        .args(["-t2", &format!("-c{CONNECTIONS}")])
        .arg(format!("-d{}s", DURATION.as_secs()))
        .args(["--latency", "-H", &format!("Cookie: {cookie}"), url])
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    parse_wrk(&text).ok_or_else(|| format!("cannot read wrk's output:\n{text}").into())
}

/// Reads `wrk --latency` output.
pub fn parse_wrk(text: &str) -> Option<WrkReport> {
    let mut report = WrkReport {
        rate: 0.0,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        requests: 0,
        failures: 0,
    };
    let (mut p50, mut p99, mut rate) = (None, None, None);
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = wrk_duration(value),
            ["99%", value] => p99 = wrk_duration(value),
            ["Requests/sec:", value] => rate = value.parse().ok(),
            [count, "requests", "in", ..] => report.requests = count.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => {
                report.failures += n.parse::<u64>().ok()?
            }
            ["Socket", "errors:", rest @ ..] => {
                report.failures += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    report.p50 = p50?;
    report.p99 = p99?;
    report.rate = rate?;
    Some(report)
}

fn wrk_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

fn rows(
    listing: &WrkReport,
    health: &WrkReport,
    hops: u32,
    weights: &[(String, usize)],
) -> Vec<Row> {
    let assets = weights.last().map_or(0, |(_, b)| *b);
    let mut rows = vec![
        Row::new(
            format!("listing page, trust path of {hops} links: requests/s (wrk, {CONNECTIONS} connections)"),
            format!("{:.0}/s", listing.rate),
            format!("≥ {GOAL_RATE:.0}/s"),
            format!("GET /health {:.0}/s", health.rate),
            format!("{:.2}", listing.rate / health.rate),
            Some(listing.rate >= GOAL_RATE),
        ),
        Row::new(
            "listing page: p99 latency",
            format!("{} (p50 {})", ms(listing.p99), ms(listing.p50)),
            format!("< {}", ms(GOAL_P99)),
            format!("GET /health p99 {}", ms(health.p99)),
            format!("{:.2}", listing.p99.as_secs_f64() / health.p99.as_secs_f64()),
            Some(listing.p99 < GOAL_P99),
        ),
    ];
    for (name, bytes) in &weights[..weights.len().saturating_sub(1)] {
        let total = bytes + assets;
        rows.push(Row::new(
            format!("page weight, {name}: HTML {bytes} B + assets {assets} B"),
            format!("{:.1} KB", total as f64 / 1024.0),
            format!("< {} KB", GOAL_WEIGHT / 1024),
            "",
            "",
            Some(total < GOAL_WEIGHT),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 20s test @ http://127.0.0.1:1/annonce/ab
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    2.01ms  30.00ms   80.00%
    Req/Sec     6.30k   500.00     7.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    6.00ms
     90%    7.50ms
     99%    1.20s
  188000 requests in 20.00s, 1.00GB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:  9400.12
Transfer/sec:     68.00MB
";

    #[test]
    fn wrk_output_is_read_with_its_units_and_failures() {
        let report = parse_wrk(SAMPLE).expect("a report");
        assert_eq!(report.p50, Duration::from_micros(812));
        assert_eq!(report.p99, Duration::from_millis(1200));
        assert_eq!(report.requests, 188_000);
        assert_eq!(report.failures, 10);
        assert!((report.rate - 9400.12).abs() < 1e-9);
    }

    #[test]
    fn incomplete_wrk_output_is_refused() {
        assert_eq!(parse_wrk("unable to connect to 127.0.0.1:1"), None);
        let without_rate = SAMPLE.replace("Requests/sec:  9400.12", "");
        assert_eq!(parse_wrk(&without_rate), None);
    }

    #[test]
    fn the_trust_distance_is_read_from_the_page() {
        let html = "<p class=\"path\" data-liens=\"3\">vous → A → B → C</p>";
        assert_eq!(trust_distance(html), Some(3));
        assert_eq!(trust_distance("<p>Aucun chemin</p>"), None);
    }
}
