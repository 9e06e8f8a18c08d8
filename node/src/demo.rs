//! `maillon demo`: three nodes (Nantes, Lyon, Valence) in one process, on loopback, sharing
//! a generated network of a few hundred members and French listings with photos, each
//! serving the web UI, with demo accounts to sign in with. Stops cleanly on Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use maillon_node::config::Config;
use maillon_node::engine::{system_clock, Origin};
use maillon_node::generator::{generate_with, GeneratedNetwork, GeneratorOptions};
use maillon_node::ingest::parking::ParkingLimits;
use maillon_node::network::NetworkSettings;
use maillon_node::node::{self, NodeOptions, RunningNode};
use maillon_node::web::accounts::AccountFiles;
use maillon_protocol::kinds::{
    node_operator_message, Category, Intent, Listing, NodeAnnouncement, SiteAddress,
};
use maillon_protocol::{Draft, Record, SecretKey, Timestamp};
use maillon_web_ui::backend::Account;
use maillon_web_ui::keys::{seal, KdfParams};
use maillon_web_ui::places::Places;

/// The demo accounts' passphrase.
pub const DEMO_PASSPHRASE: &str = "maillon-demo";

const SITES: &[(&str, &str, &str)] = &[
    ("Maillon Nantes", "Pays de la Loire", "44000"),
    ("Maillon Lyon", "Auvergne-Rhône-Alpes", "69001"),
    ("Maillon Valence", "Auvergne-Rhône-Alpes", "26000"),
];

/// Options of `maillon demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Nodes to start (1..=8); the first three are Nantes, Lyon and Valence.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=8))]
    nodes: u16,
    /// HTTP port of the first node; node i serves on port + i.
    #[arg(long = "http-port", default_value_t = 8080)]
    http_port: u16,
    /// Data folder (default: a fresh temporary folder, removed at the end).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Seed of the generated network.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Members to generate besides the three founders.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=5000))]
    members: u64,
}

fn site(i: usize) -> (String, String, String) {
    match SITES.get(i) {
        Some((name, region, postcode)) => {
            (name.to_string(), region.to_string(), postcode.to_string())
        }
        None => (
            format!("Maillon {}", i + 1),
            "France".into(),
            "75001".into(),
        ),
    }
}

/// Runs the demo until Ctrl-C.
pub async fn run(args: &DemoArgs) -> Result<()> {
    let nodes = usize::from(args.nodes);
    if usize::from(args.http_port) + nodes > usize::from(u16::MAX) {
        bail!(
            "--http-port {} leaves no room for {nodes} nodes",
            args.http_port
        );
    }
    let temporary = match &args.data {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("cannot create a temporary folder")?),
    };
    let root = match (&args.data, &temporary) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("one of the two is set"),
    };
    let now = system_clock()();
    let network = generate_with(
        args.seed,
        &GeneratorOptions::national_shaped(args.members as usize, now.minus_ms(3_600_000)),
    );
    println!(
        "Réseau de démonstration « {} » : {} membres, {} enregistrements signés.",
        network.signer.charter.name,
        args.members + 3,
        network.records.len()
    );
    let node_keys: Vec<SecretKey> = (0..nodes)
        .map(|i| maillon_protocol::testkit::key(&format!("demo-node-{}-{i}", args.seed)))
        .collect();
    let mut genesis: Vec<Record> = network.records.clone();
    for (i, key) in node_keys.iter().enumerate() {
        let site = demo_site(args.http_port + i as u16)?;
        genesis.push(announcement(&network, key, i, &site, now)?);
    }
    let mut running: Vec<RunningNode> = Vec::new();
    for (i, node_key) in node_keys.iter().enumerate() {
        let bootstrap = match running.first() {
            Some(first) => first.p2p_addresses().await?,
            None => Vec::new(),
        };
        let node = start_node(
            &root,
            &network,
            node_key,
            i,
            args.http_port + i as u16,
            bootstrap,
        )
        .await?;
        let wires = genesis.iter().map(Record::to_wire).collect();
        node.engine.submit_many(wires, Origin::Fetched).await?;
        running.push(node);
    }
    appoint_moderator(&running[0], &network, now).await?;
    let photos = publish_with_photos(&running[0], &network, now).await?;
    println!("{photos} annonces avec photos publiées sur {}.", site(0).0);
    print_logins(&running, &network);
    println!("\nCtrl-C pour arrêter.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    println!("Arrêt des nœuds…");
    for node in running {
        node.shutdown().await?;
    }
    drop(temporary);
    println!("Terminé.");
    Ok(())
}

/// Demo node `i`'s website, on the loopback port it serves.
fn demo_site(port: u16) -> Result<SiteAddress> {
    Ok(SiteAddress::from_url(&format!("http://127.0.0.1:{port}"))?)
}

fn announcement(
    network: &GeneratedNetwork,
    key: &SecretKey,
    i: usize,
    website: &SiteAddress,
    now: Timestamp,
) -> Result<Record> {
    let (name, region, postcode) = site(i);
    let operator = &network.keys[i % 3].1;
    let body = NodeAnnouncement {
        name,
        region,
        postcode,
        addresses: vec![website.address()],
        operator: operator.public_key(),
        operator_signature: operator.sign(&node_operator_message(
            &network.signer.network,
            &key.public_key(),
        )),
    };
    Ok(Record::sign(
        key,
        &network.signer.network,
        Draft {
            body: body.into(),
            created: now.minus_ms(60_000),
            expires: None,
        },
    )?)
}

async fn start_node(
    root: &Path,
    network: &GeneratedNetwork,
    key: &SecretKey,
    i: usize,
    port: u16,
    bootstrap: Vec<libp2p::Multiaddr>,
) -> Result<RunningNode> {
    let dir = root.join(format!("node-{i}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let charter_file = dir.join("charter.cbor");
    std::fs::write(&charter_file, network.records[0].to_wire())?;
    std::fs::write(dir.join("node.key"), hex::encode(key.seed()))?;
    create_accounts(&dir, network, i)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let http = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("port {port} is taken: choose another with --http-port"))?;
    let config = Config {
        name: site(i).0,
        data_dir: dir,
        charter_file,
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap: Vec::new(),
        mdns: false,
        http_listen: address,
        cache_capacity_bytes: 64 << 20,
        min_free_bytes: 64 << 20,
        parking: ParkingLimits::default(),
        joins_per_introducer_per_day:
            maillon_node::engine::standing::DEFAULT_JOINS_PER_INTRODUCER_PER_DAY,
        site: Default::default(),
        links: Default::default(),
        smtp: None,
        site_address: Some(demo_site(port)?),
        metrics: maillon_node::metrics::settings::MetricsSettings {
            listen: None,
            on_site: true,
        },
    };
    let settings = NetworkSettings {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap,
        ..NetworkSettings::default()
    };
    Ok(node::start(NodeOptions {
        config,
        http,
        network: settings,
        clock: system_clock(),
        web: maillon_web_ui::WebConfig::default(),
    })
    .await?)
}

/// The members who get a demo login on node `i`: a founder and two members.
fn demo_labels(i: usize) -> Vec<String> {
    vec![
        format!("founder-{}", i % 3 + 1),
        format!("member-{}", 2 * i + 1),
        format!("member-{}", 2 * i + 2),
    ]
}

fn create_accounts(dir: &Path, network: &GeneratedNetwork, i: usize) -> Result<()> {
    let files = AccountFiles::open(dir.join("accounts"))?;
    for label in demo_labels(i) {
        let Some((_, key)) = network.keys.iter().find(|(l, _)| *l == label) else {
            continue;
        };
        if files.get(&label).is_some() {
            continue;
        }
        files.create(&Account {
            login: label.clone(),
            key: key.public_key(),
            sealed_key: seal(key, DEMO_PASSPHRASE, KdfParams::RECOMMENDED)?,
            created: network.now,
            notifications_seen: Timestamp(0),
            saved_searches: Vec::new(),
            pending_recovery: None,
            donation_reminder_dismissed_ms: 0,
        })?;
    }
    Ok(())
}

/// The demo's moderator: a member with a login on the first node.
pub const DEMO_MODERATOR: &str = "member-1";

/// The council (founders 1 and 2, the charter's threshold) appoints [`DEMO_MODERATOR`].
async fn appoint_moderator(
    node: &RunningNode,
    network: &GeneratedNetwork,
    now: Timestamp,
) -> Result<()> {
    let key = |label: &str| {
        network
            .keys
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, k)| k.clone())
            .with_context(|| format!("the demo network has no {label}"))
    };
    let record = network.signer.appoint(
        &key("founder-1")?,
        &[&key("founder-2")?],
        key(DEMO_MODERATOR)?.public_key(),
        maillon_protocol::kinds::AppointmentAction::Appoint,
        now.minus_ms(120_000),
    );
    node.engine
        .submit_wire(&record.to_wire(), Origin::Local)
        .await?;
    Ok(())
}

const PHOTO_LISTINGS: &[(&str, Category, u64, &str)] = &[
    (
        "Buffet de cuisine en merisier",
        Category::Furniture,
        9_000,
        "44000",
    ),
    (
        "Vélo de ville, bon état",
        Category::SecondHand,
        6_500,
        "44400",
    ),
    (
        "Manteau d'hiver taille 40",
        Category::Clothes,
        2_500,
        "69001",
    ),
    ("Poussette pliable", Category::SecondHand, 4_000, "69100"),
    (
        "Table de jardin et 4 chaises",
        Category::Furniture,
        7_500,
        "26000",
    ),
    ("Lot de livres pour enfants", Category::Gifts, 0, "26100"),
];

async fn publish_with_photos(
    node: &RunningNode,
    network: &GeneratedNetwork,
    now: Timestamp,
) -> Result<usize> {
    let places = Places::embedded();
    for (n, (title, category, price, postcode)) in PHOTO_LISTINGS.iter().enumerate() {
        let photo = maillon_web_ui::photos::process(&demo_photo(n), &Default::default())?;
        let hash = node.blobs.put(photo.full).await?;
        let place = places.lookup(postcode)?;
        let author = &network.keys[n % 3].1;
        let body = Listing {
            series: None,
            intent: Intent::Offer,
            category: *category,
            title: title.to_string(),
            description: "Photo à l'appui. À venir chercher sur place, paiement à la remise."
                .into(),
            price_cents: (*price > 0).then_some(*price),
            town: place.name.to_string(),
            postcode: place.postcode.to_string(),
            position: place.position,
            photos: vec![hash],
        };
        let created = now.minus_ms(600_000 - n as u64 * 1000);
        let record = Record::sign(
            author,
            &network.signer.network,
            Draft {
                body: body.into(),
                created,
                expires: Some(created.plus_ms(30 * Timestamp::DAY_MS)),
            },
        )?;
        node.engine
            .submit_wire(&record.to_wire(), Origin::Local)
            .await?;
    }
    Ok(PHOTO_LISTINGS.len())
}

/// A simple picture: a coloured gradient with a darker disc, different for each `n`.
fn demo_photo(n: usize) -> Vec<u8> {
    let hue = [
        (200u8, 120u8, 60u8),
        (60, 140, 200),
        (90, 170, 90),
        (190, 80, 120),
        (220, 180, 60),
        (120, 100, 190),
    ][n % 6];
    let image = image::RgbImage::from_fn(800, 600, |x, y| {
        let inside = (x as i64 - 400).pow(2) + (y as i64 - 300).pow(2) < 160 * 160;
        let shade = |c: u8| ((c as u32 * (300 + x / 4 + y / 6)) / 500).min(255) as u8;
        let (r, g, b) = hue;
        if inside {
            image::Rgb([shade(r) / 2, shade(g) / 2, shade(b) / 2])
        } else {
            image::Rgb([shade(r), shade(g), shade(b)])
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    // Encoding an in-memory RGB image cannot fail.
    let _ = image.write_to(&mut bytes, image::ImageFormat::Png);
    bytes.into_inner()
}

fn print_logins(nodes: &[RunningNode], network: &GeneratedNetwork) {
    println!("\nSites :");
    for (i, node) in nodes.iter().enumerate() {
        println!("  {:<18} http://{}/", site(i).0, node.http_address);
    }
    println!("\nComptes de démonstration (phrase de passe : {DEMO_PASSPHRASE}) :");
    println!("  (founder-1 à founder-3 forment le conseil ; {DEMO_MODERATOR} est modératrice)");
    for i in 0..nodes.len() {
        let logins: Vec<String> = demo_labels(i)
            .into_iter()
            .filter(|l| network.keys.iter().any(|(k, _)| k == l))
            .collect();
        println!("  sur {:<16} {}", site(i).0, logins.join(", "));
    }
}
