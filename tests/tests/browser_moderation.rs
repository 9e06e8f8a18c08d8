//! End to end in real headless Chromium, on two real nodes A and B on loopback: the council
//! appoints a moderator (a record co-signed by two founders, posted to A); a member on A
//! publishes a listing; a member on B reports it; the moderator, on A, takes the report up
//! and hides the listing with a reason; the complainant, on B, sees the outcome, the listing
//! is gone for them, and the public log shows the decision. Screenshots of the report form,
//! the moderators' pages and the outcome go to `target/screenshots/`.

#![allow(clippy::unwrap_used)]

#[path = "browser/axe.rs"]
mod axe;
// The driver is shared with `browser.rs`; this scenario does not use all of it.
#[allow(dead_code)]
#[path = "browser/driver.rs"]
mod driver;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use driver::{Browser, Chromedriver};
use maillon_protocol::kinds::AppointmentAction;
use maillon_tests::{now, start_cluster, wait_for_peers, Cluster, TestNode};

/// How long gossip (and the search index's commit) may take to bring something to a node.
const GOSSIP: Duration = Duration::from_secs(60);
/// The whole scenario's bound.
const WHOLE: Duration = Duration::from_secs(300);
/// Every account's passphrase in this test.
const PASSPHRASE: &str = "une phrase de passe pour les tests";
/// Who has an account where: (node, generated label, login).
const ACCOUNTS: &[(usize, &str, &str)] = &[
    (0, "member-36", "vendeur.a"),
    (0, "member-37", "moderatrice.a"),
    (1, "member-35", "plaignante.b"),
];
const TITLE: &str = "Montre suisse neuve à petit prix";
const COMPLAINT: &str = "Le vendeur exige un virement avant toute rencontre.";
const DECISION: &str = "Demande de paiement d'avance, contraire à la charte.";

fn screenshot_dir() -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir.canonicalize()?)
}

fn fail<T>(error: anyhow::Error) -> T {
    panic!("{error:#}")
}

async fn sign_in(browser: &Browser, base: &str, login: &str) -> Result<()> {
    browser.goto(&format!("{base}/connexion")).await?;
    browser.fill("login", login).await?;
    browser.fill("passphrase", PASSPHRASE).await?;
    browser.press("Se connecter").await?;
    // At phone size the menu is folded: it opens without JavaScript.
    browser.unfold("menu").await?;
    browser
        .expect(&format!("signing in as {login}"), "Mes transactions")
        .await?;
    Ok(())
}

/// The council's appointment of `moderator`: founder-1 signs, founder-2 co-signs.
async fn appoint(cluster: &Cluster, node: &TestNode, moderator: &str) -> Result<()> {
    let key = |label: &str| {
        cluster
            .network
            .keys
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, k)| k.clone())
            .with_context(|| format!("no key {label}"))
    };
    let record = cluster.network.signer.appoint(
        &key("founder-1")?,
        &[&key("founder-2")?],
        key(moderator)?.public_key(),
        AppointmentAction::Appoint,
        now().minus_ms(1_000),
    );
    let (status, body) = node.post(&record.to_wire()).await?;
    anyhow::ensure!(status == 201, "the appointment was refused: {body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_leads_to_a_moderators_decision_and_the_complainant_sees_it() {
    let driver = Chromedriver::start().await.unwrap_or_else(fail);
    let cluster = Cluster::new(71, 40, 2);
    for (node, label, login) in ACCOUNTS {
        cluster
            .add_account(*node, label, login, PASSPHRASE)
            .unwrap_or_else(fail);
    }
    let nodes = start_cluster(&cluster, 2).await.unwrap_or_else(fail);
    wait_for_peers(&nodes, 1).await.unwrap_or_else(fail);
    appoint(&cluster, &nodes[0], "member-37")
        .await
        .unwrap_or_else(fail);
    let browser = Browser::open(&driver, "the members")
        .await
        .unwrap_or_else(fail);
    let dir = screenshot_dir().unwrap();
    let outcome = tokio::time::timeout(
        WHOLE,
        scenario(&nodes[0].base, &nodes[1].base, &browser, &dir),
    )
    .await;
    let _ = browser.close().await;
    drop(driver);
    match outcome {
        Err(_) => panic!("the scenario took more than {WHOLE:?}"),
        Ok(Err(error)) => panic!("{error:#}"),
        Ok(Ok(())) => {}
    }
    for mut node in nodes {
        node.stop().await.unwrap();
    }
}

async fn scenario(a: &str, b: &str, browser: &Browser, dir: &Path) -> Result<()> {
    // 1. A member on A publishes a listing.
    sign_in(browser, a, "vendeur.a").await?;
    browser.goto(&format!("{a}/publier")).await?;
    browser.fill("title", TITLE).await?;
    browser.choose("category", "Objets : mobilier").await?;
    browser
        .fill("description", "Montre neuve, jamais portée, avec sa boîte.")
        .await?;
    browser.fill("price", "90").await?;
    browser.fill("place", "44000").await?;
    browser.press("Publier").await?;
    let listing = browser.expect_url("publishing", "/annonce/").await?;
    let path = listing
        .find("/annonce/")
        .map(|i| listing[i..].to_string())
        .context("no listing path")?;
    browser.goto(&format!("{a}/compte")).await?;
    browser.press("Se déconnecter").await?;

    // 2. A member on B reports it.
    sign_in(browser, b, "plaignante.b").await?;
    browser
        .reload_until(
            "the listing reaching B",
            &format!("{b}{path}"),
            TITLE,
            GOSSIP,
        )
        .await?;
    browser.follow("Signaler cette annonce").await?;
    browser.expect("the report form", "Signaler").await?;
    // The value of "Arnaque ou tentative d'arnaque" (an apostrophe defeats XPath labels).
    browser.choose_value("reason", "0").await?;
    browser.fill("text", COMPLAINT).await?;
    browser.screenshots(dir, "signaler").await?;
    browser.press("Envoyer le signalement").await?;
    browser
        .expect_url("filing the report", "/signalements")
        .await?;
    browser.expect("the report's status", "Reçu").await?;
    browser.goto(&format!("{b}/compte")).await?;
    browser.press("Se déconnecter").await?;

    // 3. The moderator, on A, sees the report with its context, takes it up and hides the
    //    listing with a reason.
    sign_in(browser, a, "moderatrice.a").await?;
    browser
        .reload_until(
            "the report reaching the moderator's queue on A",
            &format!("{a}/moderation"),
            TITLE,
            GOSSIP,
        )
        .await?;
    browser.screenshots(dir, "moderation").await?;
    browser
        .follow(&format!("Arnaque ou tentative d'arnaque : « {TITLE} »"))
        .await?;
    browser.expect("the report's text", COMPLAINT).await?;
    browser
        .expect("the people involved", "auteur de l'annonce")
        .await?;
    // One action chooser, after the context.
    browser.tick("Prendre en charge").await?;
    browser.fill("reason", "Je m'en occupe.").await?;
    browser.press("Signer la décision").await?;
    browser.expect("taking the report up", "En cours").await?;
    browser.tick("Masquer l'annonce").await?;
    browser.fill("reason", DECISION).await?;
    browser.screenshots(dir, "moderation-signalement").await?;
    browser.press("Signer la décision").await?;
    browser.expect("hiding the listing", "Traité le").await?;
    browser.goto(&format!("{a}/compte")).await?;
    browser.press("Se déconnecter").await?;

    // 4. The complainant, on B, sees the outcome; the listing is hidden on B too.
    sign_in(browser, b, "plaignante.b").await?;
    browser
        .reload_until(
            "the decision reaching B",
            &format!("{b}/signalements"),
            DECISION,
            GOSSIP,
        )
        .await?;
    browser.expect("the outcome", "Annonce masquée").await?;
    browser.screenshots(dir, "signalement-traite").await?;
    browser.goto(&format!("{b}{path}")).await?;
    browser
        .expect("the hidden listing", "Page introuvable")
        .await?;
    browser.goto(&format!("{b}/moderation/journal")).await?;
    browser.expect("the public log", DECISION).await?;
    browser.screenshots(dir, "journal").await?;
    Ok(())
}
