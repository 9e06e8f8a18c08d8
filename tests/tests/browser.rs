//! End to end in real headless Chromium, on three real nodes A, B and C on loopback:
//! a candidate joins on A, is sponsored by two members on A and one on B, becomes a member,
//! publishes a listing with a photo; a member on C finds it with French words near Nantes,
//! sees the trust path and opens a transaction; the author answers on A, both close with a
//! review, and the review shows on the author's profile. Screenshots of the main pages at
//! phone and desktop widths go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages: the test fails, saying so, when
//! they are missing.

#![allow(clippy::unwrap_used)]

#[path = "browser/axe.rs"]
mod axe;
#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/funding.rs"]
mod funding;
#[path = "browser/sign_in_with.rs"]
mod sign_in_with;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use driver::{Browser, Chromedriver};
use maillon_tests::{start_cluster, wait_for_peers, Cluster, TestNode};

/// How long gossip (and the search index's commit) may take to bring something to a node.
const GOSSIP: Duration = Duration::from_secs(60);
/// The whole scenario's bound.
const WHOLE: Duration = Duration::from_secs(420);

/// Every generated member's passphrase in this test.
const PASSPHRASE: &str = "une phrase de passe pour les tests";

/// Who has an account where: (node, generated label, login).
const ACCOUNTS: &[(usize, &str, &str)] = &[
    (0, "member-36", "parrain.a1"),
    (0, "member-37", "marraine.a2"),
    (1, "member-38", "parrain.b"),
    (2, "member-35", "acheteuse.c"),
];

const CANDIDATE_NAME: &str = "Camille Rousseau";
const CANDIDATE_LOGIN: &str = "camille.r";
const CANDIDATE_PASSPHRASE: &str = "le chat dort sur la commode";
const TITLE: &str = "Armoire ancienne en chêne";
const FIRST_MESSAGE: &str =
    "Bonjour, l'armoire est-elle toujours disponible ? Je peux passer samedi.";
const ANSWER: &str = "Oui, elle est disponible. Samedi à 10 h, cela vous va ?";
const AUTHOR_REVIEW: &str = "Acheteuse ponctuelle et très aimable.";
const OPENER_REVIEW: &str = "Armoire conforme à l'annonce, vendeuse très sympathique.";

fn screenshot_dir() -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir.canonicalize()?)
}

/// A small PNG photo of a brown wardrobe on a pale wall.
fn write_photo(dir: &Path) -> Result<PathBuf> {
    let image = image::RgbImage::from_fn(320, 240, |x, y| {
        let wardrobe = (100..220).contains(&x) && (30..230).contains(&y);
        let door_gap = x == 160;
        if wardrobe && !door_gap {
            image::Rgb([110 + (y % 16) as u8, 70, 35])
        } else if wardrobe {
            image::Rgb([40, 25, 10])
        } else {
            image::Rgb([235, 228, 210 - (y / 8) as u8])
        }
    });
    let file = dir.join("armoire.png");
    image.save(&file)?;
    Ok(file)
}

/// Panics with the whole chain of an error.
fn fail<T>(error: anyhow::Error) -> T {
    panic!("{error:#}")
}

struct Nodes<'a> {
    a: &'a TestNode,
    b: &'a TestNode,
    c: &'a TestNode,
}

/// Signs in on `base` and checks the menu of a signed-in member shows.
async fn sign_in(browser: &Browser, base: &str, login: &str, passphrase: &str) -> Result<()> {
    browser.goto(&format!("{base}/connexion")).await?;
    browser.fill("login", login).await?;
    browser.fill("passphrase", passphrase).await?;
    browser.press("Se connecter").await?;
    browser
        .expect_not(
            &format!("signing in as {login}"),
            "Identifiant ou phrase de passe incorrect",
        )
        .await?;
    // At phone size the menu is folded: it opens without JavaScript.
    browser.unfold("menu").await?;
    browser
        .expect(&format!("signing in as {login}"), "Mes transactions")
        .await?;
    Ok(())
}

async fn sign_out(browser: &Browser, base: &str) -> Result<()> {
    browser.goto(&format!("{base}/compte")).await?;
    browser.press("Se déconnecter").await?;
    browser.unfold("menu").await?;
    browser.expect("signing out", "Se connecter").await?;
    browser.expect_not("signing out", "Mes transactions").await
}

/// Signs a sponsorship of the candidate on `base`, the browser signed in.
async fn sponsor(browser: &Browser, base: &str, candidate: &str, relation: &str) -> Result<()> {
    let page = format!("{base}/parrainage/{candidate}");
    let heading = format!("{CANDIDATE_NAME} demande à rejoindre le réseau");
    browser
        .reload_until(
            "the candidate's profile reaching the sponsor's node",
            &page,
            &heading,
            GOSSIP,
        )
        .await?;
    browser
        .expect("the sponsorship page", "Nantes (44000)")
        .await?;
    browser.tick(relation).await?;
    browser
        .tick("Je connais cette personne dans la vraie vie.")
        .await?;
    browser.press("Signer le parrainage").await?;
    browser
        .expect(
            "signing the sponsorship",
            "Merci ! Votre parrainage est signé",
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_candidate_joins_is_sponsored_publishes_and_trades_in_a_real_browser() {
    let started = Instant::now();
    // First, so that a machine without Chromium fails at once, saying what to install.
    let driver = Chromedriver::start().await.unwrap_or_else(fail);
    let cluster = Cluster::new(71, 40, 3);
    for (node, label, login) in ACCOUNTS.iter().chain([&funding::OPERATOR]) {
        cluster
            .add_account(*node, label, login, PASSPHRASE)
            .unwrap_or_else(fail);
    }
    let nodes = start_cluster(&cluster, 3).await.unwrap_or_else(fail);
    wait_for_peers(&nodes, 1).await.unwrap_or_else(fail);
    let candidate = Browser::open(&driver, "the candidate")
        .await
        .unwrap_or_else(fail);
    let members = Browser::open(&driver, "the members")
        .await
        .unwrap_or_else(fail);
    let dir = screenshot_dir().unwrap();
    let photo = write_photo(cluster.dir(0).parent().unwrap()).unwrap();
    let outcome = tokio::time::timeout(
        WHOLE,
        scenario(
            Nodes {
                a: &nodes[0],
                b: &nodes[1],
                c: &nodes[2],
            },
            &candidate,
            &members,
            &dir,
            &photo,
        ),
    )
    .await;
    let _ = candidate.close().await;
    let _ = members.close().await;
    drop(driver);
    let shots = match outcome {
        Err(_) => panic!("the scenario took more than {WHOLE:?}"),
        Ok(Err(error)) => panic!("{error:#}"),
        Ok(Ok(shots)) => shots,
    };
    for mut node in nodes {
        node.stop().await.unwrap();
    }
    println!("Screenshots in {}:", dir.display());
    for shot in &shots {
        println!("  {}", shot.file_name().unwrap().to_string_lossy());
    }
    println!(
        "The browser scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The whole journey; returns the screenshots taken.
async fn scenario(
    nodes: Nodes<'_>,
    candidate: &Browser,
    members: &Browser,
    dir: &Path,
    photo: &Path,
) -> Result<Vec<PathBuf>> {
    let (a, b, c) = (&nodes.a.base, &nodes.b.base, &nodes.c.base);
    let mut shots = Vec::new();

    // 1. The candidate joins on A.
    candidate.goto(&format!("{a}/langue/fr")).await?;
    candidate
        .expect_url("the language link leads home", &format!("{a}/"))
        .await?;
    candidate
        .expect("the home page", "Les annonces de personnes de confiance")
        .await?;
    shots.extend(candidate.screenshots(dir, "accueil").await?);
    candidate.goto(&format!("{a}/inscription")).await?;
    candidate
        .expect("the join page", "Rejoindre le réseau")
        .await?;
    candidate
        .expect(
            "the join page shows the charter",
            "Ne parrainer que des personnes connues",
        )
        .await?;
    shots.extend(candidate.screenshots(dir, "inscription").await?);
    candidate.fill("name", CANDIDATE_NAME).await?;
    candidate.fill("place", "44000").await?;
    candidate.fill("login", CANDIDATE_LOGIN).await?;
    candidate.fill("passphrase", CANDIDATE_PASSPHRASE).await?;
    candidate.fill("confirm", CANDIDATE_PASSPHRASE).await?;
    candidate
        .tick("J'ai lu la charte et je m'engage à la respecter, à commencer par répondre à chaque transaction.")
        .await?;
    candidate.press("Créer mon compte").await?;
    candidate.expect_url("joining", "/candidature").await?;
    candidate
        .expect("the candidacy page", "Ma candidature")
        .await?;
    candidate
        .expect("the candidacy page", "0 parrainage sur 3")
        .await?;
    let code = candidate.element_text("#code").await?;
    let code_ok = code.len() == 9
        && code.as_bytes()[4] == b'-'
        && code.chars().filter(|ch| ch.is_ascii_alphanumeric()).count() == 8;
    if !code_ok {
        return candidate
            .fail(&format!(
                "the sponsorship code «{code}» is not like ABCD-1234"
            ))
            .await;
    }
    let link = candidate.property("#lien", "value").await?;
    if link != format!("{a}/parrainer?code={code}") {
        return candidate
            .fail(&format!(
                "the sponsorship link «{link}» is not this site's page for the code"
            ))
            .await;
    }
    // With JavaScript, the message can be shared or copied in one press.
    if candidate.property("button[data-share]", "hidden").await? != "false" {
        return candidate.fail("the share button stayed hidden").await;
    }
    shots.extend(candidate.screenshots(dir, "candidature").await?);
    // The link leads to the candidate's sponsorship page, named by their key.
    candidate.goto(&link).await?;
    let landed = candidate
        .expect_url("the link leads to the sponsorship page", "/parrainage/")
        .await?;
    let Some(key) = landed
        .strip_prefix(&format!("{a}/parrainage/"))
        .map(str::to_string)
    else {
        return candidate
            .fail(&format!("the link led to «{landed}», not to this site"))
            .await;
    };
    if key.len() != 64 || !key.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return candidate
            .fail(&format!("the link's key «{key}» is not a hex key"))
            .await;
    }

    // 2. Two members on A and one on B sponsor the candidate.
    for (count, (login, relation)) in [("parrain.a1", "ami(e)"), ("marraine.a2", "voisin(e)")]
        .into_iter()
        .enumerate()
    {
        sign_in(members, a, login, PASSPHRASE).await?;
        sponsor(members, a, &key, relation).await?;
        sign_out(members, a).await?;
        candidate
            .reload_until(
                "the sponsorship counted on the candidacy page",
                &format!("{a}/candidature"),
                ["1 parrainage sur 3", "2 parrainages sur 3"][count],
                GOSSIP,
            )
            .await?;
    }
    // The code works too, on B: it leads to the same page.
    sign_in(members, b, "parrain.b", PASSPHRASE).await?;
    let by_code = format!("{b}/parrainer?code={code}");
    members
        .reload_until(
            "the candidate's code known on B",
            &by_code,
            &format!("{CANDIDATE_NAME} demande à rejoindre le réseau"),
            GOSSIP,
        )
        .await?;
    members
        .expect_url(
            "the code leads to the sponsorship page",
            &format!("/parrainage/{key}"),
        )
        .await?;
    sponsor(members, b, &key, "collègue").await?;
    candidate
        .reload_until(
            "membership once the third sponsorship (signed on B) reaches A",
            &format!("{a}/candidature"),
            "Vous êtes membre",
            GOSSIP,
        )
        .await?;
    candidate
        .expect("the member's page lists the sponsors", "collègue")
        .await?;
    shots.extend(candidate.screenshots(dir, "candidature-membre").await?);

    // 3. The new member publishes a listing with a photo.
    candidate.goto(&format!("{a}/publier")).await?;
    candidate
        .expect("the publish page", "Publier une annonce")
        .await?;
    candidate.fill("title", TITLE).await?;
    candidate.choose("category", "Objets : mobilier").await?;
    candidate
        .fill(
            "description",
            "Belle armoire de grand-mère, deux portes, en chêne massif. À venir chercher.",
        )
        .await?;
    candidate.fill("price", "180").await?;
    candidate.fill("place", "44000").await?;
    candidate.attach("photos", photo).await?;
    shots.extend(candidate.screenshots(dir, "publier").await?);
    candidate.press("Publier").await?;
    candidate
        .expect_url("the page after publishing", "/publiee")
        .await?;
    candidate
        .expect("publishing said", "Votre annonce est publiée")
        .await?;
    if candidate
        .property("button[data-share=partage-annonce]", "hidden")
        .await?
        != "false"
    {
        return candidate
            .fail("the share button should show when JavaScript runs")
            .await;
    }
    shots.extend(candidate.screenshots(dir, "annonce-publiee").await?);
    candidate.follow("Voir l'annonce").await?;
    let listing_url = candidate.expect_url("publishing", "/annonce/").await?;
    candidate.expect("the new listing", TITLE).await?;
    candidate.expect("the new listing's price", "180").await?;
    candidate
        .expect("the new listing's place", "Nantes (44000)")
        .await?;
    candidate
        .expect("the new listing's category", "Objets : mobilier")
        .await?;
    candidate
        .expect("the author's own listing", "Retirer l'annonce")
        .await?;
    if candidate.images_loaded(".gallery img").await? != 1 {
        return candidate
            .fail("the listing should show its one photo")
            .await;
    }
    let series = listing_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let author_key = key;

    // 4. A member on C searches with French words near Rezé, finds and opens the listing.
    sign_in(members, c, "acheteuse.c", PASSPHRASE).await?;
    members.goto(&format!("{c}/recherche")).await?;
    members.fill("q", "armoires chene").await?;
    // On a phone the filters are folded under the words.
    members.unfold("filtres").await?;
    members.fill("pres", "44400").await?;
    members.choose_value("rayon", "10").await?;
    members.press("Rechercher").await?;
    let search_url = members.expect_url("searching", "/recherche?").await?;
    for part in ["q=armoires", "pres=44400", "rayon=10"] {
        members.expect_url("the search's address", part).await?;
    }
    members
        .reload_until(
            "the listing found on C by words and place",
            &search_url,
            TITLE,
            GOSSIP,
        )
        .await?;
    members.expect("the result card", "Nantes (44000)").await?;
    members.expect("the result card's distance", "km").await?;
    let found = members.element_text("#resultats").await?;
    if !found.starts_with(|ch: char| ch.is_ascii_digit() && ch != '0') {
        return members
            .fail(&format!("the result count «{found}» should be at least 1"))
            .await;
    }
    shots.extend(members.screenshots(dir, "recherche").await?);
    // The same search on the map of France, with its places in words.
    members.follow("Voir sur la carte").await?;
    members
        .expect("the map's places", "1 annonce à Nantes (44000)")
        .await?;
    shots.extend(members.screenshots(dir, "carte").await?);
    members.follow("Voir en liste").await?;
    members.follow(TITLE).await?;
    members
        .expect_url("opening the listing", &format!("/annonce/{series}"))
        .await?;
    members.expect("the listing on C", TITLE).await?;
    members
        .expect("the listing's author", CANDIDATE_NAME)
        .await?;
    let path = members.element_text("p.path").await?;
    if !path.contains("vous →") || !path.contains(CANDIDATE_NAME) {
        return members
            .fail(&format!(
                "the trust path «{path}» should go from «vous →» to the author"
            ))
            .await;
    }
    let start = Instant::now();
    while members.images_loaded(".gallery img").await? != 1 {
        if start.elapsed() > GOSSIP {
            return members.fail("the photo should reach C and show").await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        members.goto(&format!("{c}/annonce/{series}")).await?;
    }
    shots.extend(members.screenshots(dir, "annonce").await?);
    members.fill("message", FIRST_MESSAGE).await?;
    members.press("Ouvrir une transaction").await?;
    let transaction_url = members
        .expect_url("opening a transaction", "/transaction/")
        .await?;
    members.expect("the new transaction", FIRST_MESSAGE).await?;
    members
        .expect("the new transaction", "en attente de réponse")
        .await?;
    let transaction = transaction_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();

    // 5. The author answers on A; both close with a review.
    candidate
        .reload_until(
            "the transaction reaching A",
            &format!("{a}/transactions"),
            TITLE,
            GOSSIP,
        )
        .await?;
    candidate
        .expect("the author's transactions", "sur votre annonce")
        .await?;
    candidate
        .expect("the author's transactions", "à répondre avant le")
        .await?;
    candidate.follow(TITLE).await?;
    candidate
        .expect_url(
            "the author's transaction",
            &format!("/transaction/{transaction}"),
        )
        .await?;
    candidate
        .expect("the author's transaction", FIRST_MESSAGE)
        .await?;
    candidate.fill("message", ANSWER).await?;
    candidate.press("Répondre").await?;
    candidate.expect("the answer", ANSWER).await?;
    candidate
        .expect("the answered transaction", "en cours")
        .await?;
    candidate.choose_value("outcome", "conclue").await?;
    candidate.choose_value("rating", "5").await?;
    candidate.fill("review", AUTHOR_REVIEW).await?;
    candidate.press("Clôturer la transaction").await?;
    candidate
        .expect(
            "the author's close",
            &format!("Vous : clôturée — affaire conclue ★★★★★ « {AUTHOR_REVIEW} »"),
        )
        .await?;
    candidate.expect("the author's close", "clôturée").await?;
    shots.extend(candidate.screenshots(dir, "transaction").await?);

    members
        .reload_until("the answer reaching C", &transaction_url, ANSWER, GOSSIP)
        .await?;
    members.choose_value("outcome", "conclue").await?;
    members.choose_value("rating", "5").await?;
    members.fill("review", OPENER_REVIEW).await?;
    members.press("Clôturer la transaction").await?;
    members
        .expect(
            "the opener's close",
            &format!("Vous : clôturée — affaire conclue ★★★★★ « {OPENER_REVIEW} »"),
        )
        .await?;
    members
        .reload_until(
            "the author's close reaching C",
            &transaction_url,
            &format!("{CANDIDATE_NAME} : clôturée — affaire conclue"),
            GOSSIP,
        )
        .await?;
    shots.extend(members.screenshots(dir, "transaction-acheteuse").await?);

    let profile = format!("{c}/membre/{author_key}");
    members
        .reload_until(
            "the review on the author's profile",
            &profile,
            OPENER_REVIEW,
            GOSSIP,
        )
        .await?;
    members
        .expect("the author's profile", CANDIDATE_NAME)
        .await?;
    members
        .expect("the author's profile lists the listing", TITLE)
        .await?;
    members.expect("the author's profile", "★★★★★").await?;
    shots.extend(members.screenshots(dir, "profil").await?);
    // And on A, where the author lives.
    candidate
        .reload_until(
            "the review on the author's profile on A",
            &format!("{a}/membre/{author_key}"),
            OPENER_REVIEW,
            GOSSIP,
        )
        .await?;

    // 7. Funding the site on A.
    sign_out(members, c).await?;
    let listing = format!("/annonce/{series}");
    shots.extend(funding::scenario((a, c), candidate, members, &listing, dir).await?);

    // 8. « Se connecter avec Maillon » for an outside site, on A.
    shots.extend(sign_in_with::scenario(a, candidate, members, dir).await?);
    Ok(shots)
}
