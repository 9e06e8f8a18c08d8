//! The operators' journey as one test (issue 11 §6): separate `maillon` processes, each
//! with its own folder, in Linux network namespaces, driven over HTTP as people would with
//! a browser. Three founders found a network on node A (`maillon init … found`, then the
//! /fondation pages), admit a first member, invite node B (behind a NAT) from the operator
//! page, B is made with `maillon init … join` from the invitation's link and announced with
//! a member's signature from "Héberger un site" and `maillon announce`; candidates on B
//! become members with sponsors on both nodes, a listing published on B is found on A, B's
//! link is cut for longer than the connection timeout while both sides write, and both
//! nodes agree again after the link is restored. Needs root (CI runs as root); skips with the reason where
//! namespaces cannot be made.

#![allow(clippy::unwrap_used)]

mod lab;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use lab::nodes::{wait_for_agreement, NodeProcess, HTTP_PORT, P2P_PORT};
use lab::web::Browser;
use lab::{Host, Lab};

const FOUNDERS: [(&str, &str, &str); 3] = [
    ("claire", "Claire Besson", "26000 Valence"),
    ("paul", "Paul Girard", "07000 Privas"),
    ("ines", "Inès Morel", "38000 Grenoble"),
];
const SWITCH_SUBNET: &str = "10.90.0";
const ADMIN_IP: &str = "10.90.0.254";
/// Longer than a dead link takes to be noticed (ping every 10 s, 10 s to answer).
const CUT: Duration = Duration::from_secs(40);
const AGREEMENT: Duration = Duration::from_secs(30);
const PROPAGATION: Duration = Duration::from_secs(60);

fn passphrase(login: &str) -> String {
    format!("la phrase de {login} est longue")
}

/// Runs the `maillon` binary in `namespace`; returns its standard output.
fn maillon(namespace: &str, args: &[&str]) -> Result<String> {
    let output = Command::new("ip")
        .args(["netns", "exec", namespace])
        .arg(env!("CARGO_BIN_EXE_maillon"))
        .args(args)
        .output()
        .context("cannot run maillon")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "maillon {} failed: {stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// The value printed after `label` on a line of `maillon`'s output.
fn printed(output: &str, label: &str) -> Result<String> {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|value| value.trim().to_string())
        .with_context(|| format!("no `{label}` in: {output}"))
}

/// Makes the node made by `maillon init` serve its site on the lab's address, where the
/// test reaches it, and accept the lab's private addresses as its own.
fn serve_on_lab_address(dir: &Path, host: &Host) -> Result<()> {
    let file = dir.join("maillon.toml");
    let text = std::fs::read_to_string(&file)?;
    let text = text
        .replace(
            "listen = \"127.0.0.1:8080\"",
            &format!("listen = \"{}:{HTTP_PORT}\"", host.ip),
        )
        .replace(
            "mdns = false",
            "mdns = false\nautonat_private_addresses = true",
        );
    std::fs::write(&file, text)?;
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn step(started: Instant, number: u32, what: &str) {
    println!(
        "step {number} passed after {:.0?}: {what}",
        started.elapsed()
    );
}

/// Step 1: the founding ceremony on A's /fondation pages; returns the founders' browsers,
/// signed in on the member site once the node runs normally.
async fn found(site: &str, code: &str) -> Result<Vec<Browser>> {
    for (login, name, place) in FOUNDERS {
        let visitor = Browser::new(login, site);
        let pass = passphrase(login);
        let fields = [
            ("code", code),
            ("login", login),
            ("name", name),
            ("place", place),
            ("passphrase", pass.as_str()),
            ("confirm", pass.as_str()),
            ("council", "oui"),
        ];
        let created = visitor
            .submit("/fondation", "/fondation/fondateur", &fields)
            .await?;
        if !created.body.contains("Votre clé de fondateur est créée") {
            bail!("{login} is not a founder: {}", created.body);
        }
    }
    let act = |login: &'static str, path: &'static str, confirm: bool| async move {
        let visitor = Browser::new(login, site);
        let pass = passphrase(login);
        let mut fields = vec![("login", login), ("passphrase", pass.as_str())];
        if confirm {
            fields.push(("confirm", "oui"));
        }
        visitor.submit("/fondation", path, &fields).await
    };
    for (login, _, _) in &FOUNDERS[1..] {
        let approved = act(login, "/fondation/approuver", false).await?;
        if !approved.body.contains("approbation est enregistrée") {
            bail!("{login} could not approve: {}", approved.body);
        }
    }
    let signed = act("claire", "/fondation/signer", true).await?;
    if !signed.body.contains("Le réseau est fondé") {
        bail!("the charter is not signed: {}", signed.body);
    }
    let mut founders = Vec::new();
    for (login, _, _) in FOUNDERS {
        let browser = Browser::new(login, site);
        browser.sign_in(login, &passphrase(login)).await?;
        founders.push(browser);
    }
    Ok(founders)
}

/// A candidate joins on `site`; returns her browser, code and key.
async fn candidate(site: &str, login: &str, name: &str) -> Result<(Browser, String, String)> {
    let browser = Browser::new(login, site);
    let code = browser
        .join(name, "26000 Valence", login, &passphrase(login))
        .await?;
    let key = browser.key().await?;
    Ok((browser, code, key))
}

struct Journey {
    lab: Lab,
    a: Option<NodeProcess>,
    b: Option<NodeProcess>,
}

async fn journey(run: &mut Journey, root: &Path) -> Result<()> {
    let started = Instant::now();
    let switch = run.lab.switch("sw")?;
    run.lab.admin(&switch, ADMIN_IP)?;
    let host_a = run.lab.host(&switch, "a", &format!("{SWITCH_SUBNET}.1"))?;
    let host_b = run.lab.host_behind_nat(
        &switch,
        "b",
        &format!("{SWITCH_SUBNET}.12"),
        "10.91.2",
        ADMIN_IP,
        HTTP_PORT,
    )?;
    let http = reqwest::Client::new();

    // 1. Founding on A.
    let dir_a = root.join("A");
    let init = maillon(
        &host_a.namespace,
        &[
            "init",
            "--dir",
            dir_a.to_str().unwrap(),
            "--name",
            "Paroisse Saint-Jean",
            "found",
            "--network-name",
            "Maillon Drôme-Ardèche",
            "--postcode",
            "26000",
        ],
    )?;
    let founding_code = printed(&init, "Founding code:")?;
    serve_on_lab_address(&dir_a, &host_a)?;
    let node_a = run.a.insert(NodeProcess::launch(&dir_a, &host_a, "A")?);
    node_a.wait_ready(&http, Duration::from_secs(60)).await?;
    let site_a = node_a.url.clone();
    let founders = found(&site_a, &founding_code).await?;
    step(started, 1, "three founders founded the network on A");

    // 2. A first member, through the website.
    let (_jeanne, jeanne_code, jeanne_key) = candidate(&site_a, "jeanne", "Jeanne Martin").await?;
    for founder in &founders {
        founder.sponsor(&jeanne_code).await?;
    }
    founders[0]
        .wait_for_status(&jeanne_key, "member", PROPAGATION)
        .await?;
    step(started, 2, "Jeanne joined on A and became a member");

    // 3. A's operator invites B.
    let bootstrap = format!("/ip4/{}/tcp/{P2P_PORT}", host_a.ip);
    let invitation = founders[0]
        .submit(
            "/operateur",
            "/operateur/invitation",
            &[
                ("addresses", bootstrap.as_str()),
                ("days", "7"),
                ("action", "afficher"),
            ],
        )
        .await?;
    if invitation.status != 200 || !invitation.body.contains("MAILLON1") {
        bail!("no invitation: {} {}", invitation.status, invitation.body);
    }
    // Handed over as a link, with its short code said on the phone.
    let link = invitation.after("id=\"lien\" readonly value=\"", '"')?;
    let short_code = invitation.after("<strong id=\"code-court\">", '<')?;
    step(
        started,
        3,
        "A's operator made an invitation (a link and its short code)",
    );

    // 4. B is made in its namespace, vouched for by a member on A, announced, started.
    let dir_b = root.join("B");
    let init = maillon(
        &host_b.namespace,
        &[
            "init",
            "--dir",
            dir_b.to_str().unwrap(),
            "--name",
            "Association de Privas",
            "join",
            "--invitation",
            &link,
        ],
    )?;
    if !init.contains("Bootstrap reachable") {
        bail!("B's init did not reach A: {init}");
    }
    if printed(&init, "Invitation short code:")?.split(' ').next() != Some(short_code.as_str()) {
        bail!("B's init fetched another invitation than {short_code}: {init}");
    }
    let node_b_key = printed(&init, "Node key:")?;
    serve_on_lab_address(&dir_b, &host_b)?;
    let vouch = founders[1]
        .submit(
            "/compte",
            "/heberger",
            &[
                ("noeud", node_b_key.as_str()),
                ("passphrase", passphrase("paul").as_str()),
            ],
        )
        .await?;
    let signature_code = vouch.after("<textarea id=\"code\"", '<')?;
    let signature_code = signature_code[signature_code.find('>').unwrap_or(0) + 1..]
        .trim()
        .to_string();
    let config_b = dir_b.join("maillon.toml");
    maillon(
        &host_b.namespace,
        &[
            "announce",
            "--config",
            config_b.to_str().unwrap(),
            "--code",
            &signature_code,
            "--postcode",
            "07000",
        ],
    )?;
    let node_b = run.b.insert(NodeProcess::launch(&dir_b, &host_b, "B")?);
    node_b.wait_ready(&http, Duration::from_secs(60)).await?;
    let site_b = node_b.url.clone();
    step(started, 4, "B joined with the invitation and was announced");

    // 5. Candidates on B become members with sponsors on A and on B.
    let (xavier, xavier_code, xavier_key) = candidate(&site_b, "xavier", "Xavier Roux").await?;
    for founder in &founders {
        founder.sponsor(&xavier_code).await?;
    }
    xavier
        .wait_for_status(&xavier_key, "member", PROPAGATION)
        .await?;
    let (yvonne, yvonne_code, yvonne_key) = candidate(&site_b, "yvonne", "Yvonne Petit").await?;
    xavier.sponsor(&yvonne_code).await?;
    for founder in &founders[1..] {
        founder.sponsor(&yvonne_code).await?;
    }
    for site in [&founders[0], &yvonne] {
        site.wait_for_status(&yvonne_key, "member", PROPAGATION)
            .await?;
    }
    step(
        started,
        5,
        "Yvonne, a candidate on B, is a member on A and B (sponsors on both)",
    );

    // 6. A listing published on B is found on A.
    yvonne.publish("Bicyclette bleue", "07000").await?;
    founders[0]
        .wait_for_search("bicyclette", "Bicyclette bleue", PROPAGATION)
        .await?;
    step(
        started,
        6,
        "a listing published on B is found by a search on A",
    );

    // 7. B's link is cut; both sides write; the link comes back.
    run.lab.cut(&host_b, &[&host_a])?;
    let cut_at = Instant::now();
    founders[2].publish("Armoire en chêne", "38000").await?;
    xavier.publish("Tondeuse à gazon", "07000").await?;
    tokio::time::sleep(CUT.saturating_sub(cut_at.elapsed())).await;
    let both = [run.a.as_ref().unwrap(), run.b.as_ref().unwrap()];
    let apart = lab::nodes::digests(&http, &both).await;
    run.lab.heal(&host_b, &[&host_a])?;
    let apart_digests: Vec<_> = apart
        .iter()
        .flatten()
        .map(|(digest, _, peers)| (digest, peers))
        .collect();
    if apart_digests.len() != 2
        || apart_digests[0].0 == apart_digests[1].0
        || apart_digests.iter().any(|(_, peers)| **peers != 0)
    {
        bail!("during the cut both nodes should answer, differ and have no peer: {apart:?}");
    }
    step(
        started,
        7,
        &format!(
            "B was cut off for {:.0?} while both wrote (digests then: {apart:?})",
            cut_at.elapsed()
        ),
    );

    // 8. Both nodes agree again.
    let nodes = [run.a.as_ref().unwrap(), run.b.as_ref().unwrap()];
    let took = wait_for_agreement(&http, &nodes, AGREEMENT).await?;
    founders[0]
        .wait_for_search("tondeuse", "Tondeuse à gazon", AGREEMENT)
        .await?;
    yvonne
        .wait_for_search("armoire", "Armoire en chêne", AGREEMENT)
        .await?;
    step(
        started,
        8,
        &format!("A and B have one state digest {took:.1?} after the link was restored"),
    );
    println!("agreement after restore: {took:.1?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn founders_admit_members_invite_a_node_behind_a_nat_and_survive_a_cut() {
    if let Some(reason) = Lab::unavailable() {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mut run = Journey {
        lab: Lab::new("ops"),
        a: None,
        b: None,
    };
    if let Err(error) = journey(&mut run, root.path()).await {
        for node in [&run.a, &run.b].into_iter().flatten() {
            eprintln!(
                "--- last lines of {}'s log ---\n{}",
                node.name,
                tail(&node.log(), 60)
            );
        }
        panic!("{error:#}");
    }
}
