//! The `maillon` command line.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use maillon_node::init::{init, Entry};
use maillon_protocol::Timestamp;

mod admin_cli;
mod demo;
mod run;

/// mimalloc instead of glibc's malloc: a node allocates and frees many small buffers from
/// several threads, which left glibc's per-thread arenas holding freed memory
/// (docs/PERFORMANCE.md, "Cold sync at national size"). The `system-allocator` feature keeps
/// glibc's, so that a heap profiler such as heaptrack sees every allocation.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Maillon: a federated network of trusted people.
#[derive(Debug, Parser)]
#[command(name = "maillon", version, long_version = LONG_VERSION.as_str(), about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a network, check every record, and show who is a member and how they connect.
    Demo(demo::DemoArgs),
    /// Create a node's folder: its key, configuration and charter.
    Init(InitArgs),
    /// Run a node from its configuration file.
    Run(RunArgs),
    /// Sign this node's announcement with the code its operator got on "Héberger un site".
    Announce(AnnounceArgs),
    /// Generate a deterministic network and write its records to a file.
    Gen(GenArgs),
    /// Print a running node's status (what `GET /api/v1/status` returns).
    Status(StatusArgs),
    /// Bring a stopped node's store to this version's format (docs/OPERATIONS.md,
    /// « Mettre à jour »).
    Migrate(RunArgs),
    /// Back up a node (running or stopped): store, photos, accounts, configuration, key.
    Backup(admin_cli::BackupArgs),
    /// Restore a backup into a new node folder.
    Restore(admin_cli::RestoreArgs),
    /// Move a damaged store aside; the node then refetches every record from its peers.
    Rebuild(admin_cli::RebuildArgs),
    /// Benchmark a node end to end (docs/PERFORMANCE.md): run in release.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Which benchmark.
    #[arg(value_enum, default_value = "all")]
    which: maillon_node::bench::Which,
    /// The generator's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Members of the cold-sync and restart network (default: the national network, about
    /// a million records).
    #[arg(long)]
    members: Option<usize>,
    /// Or the cold-sync and restart network at the size of the service in that year: 2017
    /// (950,003 records with the two nodes' announcements, the default) or 2021 (5,003,337).
    #[arg(long, value_enum, conflicts_with = "members")]
    network: Option<NetworkSize>,
    /// Records posted in the ingest benchmark.
    #[arg(long, default_value_t = 40_000)]
    ingest_records: usize,
    /// About how many records each node holds in sync-diff and sync-agree.
    #[arg(long, default_value_t = 100_000)]
    sync_records: usize,
    /// Nodes in the gossip benchmark.
    #[arg(long, default_value_t = 20)]
    gossip_nodes: usize,
    /// Records published in the gossip benchmark.
    #[arg(long, default_value_t = 200)]
    gossip_records: usize,
    /// Listings indexed in the search benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    search_listings: usize,
    /// Queries timed in the search benchmark.
    #[arg(long, default_value_t = 2_000)]
    search_queries: usize,
    /// Listings posted in the memory benchmark.
    #[arg(long, default_value_t = 60_000)]
    memory_records: usize,
    /// Listings per second in the memory benchmark.
    #[arg(long, default_value_t = 100)]
    memory_rate: usize,
}

/// A national network by the year of the service it matches.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum NetworkSize {
    /// 150,000 members: about 950,000 records.
    #[value(name = "2017")]
    Year2017,
    /// 790,000 members: about 5,000,000 records.
    #[value(name = "2021")]
    Year2021,
}

impl NetworkSize {
    fn members(self) -> usize {
        match self {
            NetworkSize::Year2017 => maillon_node::generator::MEMBERS_2017,
            NetworkSize::Year2021 => maillon_node::generator::MEMBERS_2021,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The configuration file written by `maillon init` [default: maillon.toml if it is in
    /// the current folder; otherwise the settings come from MAILLON_* variables alone].
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// The seed: the same seed gives the same records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Members besides the three founders.
    #[arg(long, default_value_t = 300)]
    members: usize,
    /// The size of the 2017 service instead: 150,000 members, 450,000 sponsorships,
    /// 200,000 listings (about a million records).
    #[arg(long, conflicts_with_all = ["members", "network"])]
    national: bool,
    /// Or the size of the service in that year: 2017 (as `--national`) or 2021 (790,000
    /// members in the same proportions, about five million records).
    #[arg(long, value_enum, conflicts_with = "members")]
    network: Option<NetworkSize>,
    /// The output file (records, each as a 4-byte big-endian length then its bytes).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The configuration file of the node to ask (its HTTP address is read from it)
    /// [default: as for `run`].
    #[arg(long, conflicts_with = "url")]
    config: Option<PathBuf>,
    /// Or the node's base URL, for example http://127.0.0.1:8080.
    #[arg(long)]
    url: Option<String>,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The folder to create (it must not hold a node yet).
    #[arg(long)]
    dir: PathBuf,
    /// The node's name, for example "Paroisse Saint-Jean, Valence".
    #[arg(long)]
    name: String,
    #[command(subcommand)]
    entry: EntryArgs,
}

/// The founding team's plan: the charter's numbers (docs/OPERATIONS.md explains each).
#[derive(Debug, Args)]
struct PlanArgs {
    /// How many founders will create their accounts (3 to 7 is usual; at most 32).
    #[arg(long, default_value_t = 3)]
    founders: usize,
    /// Sponsorships a candidate needs to become a member.
    #[arg(long, default_value_t = 3)]
    sponsors_required: u64,
    /// Sponsorships a member may have counted at once.
    #[arg(long, default_value_t = 20)]
    sponsor_quota: u64,
    /// Sponsors who must co-sign to give a member who lost their key a new one.
    #[arg(long, default_value_t = 3)]
    recovery_threshold: u64,
    /// Council signatures needed to appoint or remove a moderator.
    #[arg(long, default_value_t = 2)]
    council_threshold: u64,
    /// Days a listing's author has to answer a transaction (1 to 30).
    #[arg(long, default_value_t = 7)]
    answer_deadline_days: u64,
    /// Days of probation for a member who lost a sponsor (0 to 365).
    #[arg(long, default_value_t = 30)]
    probation_days: u64,
    /// A text file with the charter's rules (UTF-8, at most 8000 bytes); without it, the
    /// default rules (shown on the founding page) are proposed.
    #[arg(long)]
    rules_file: Option<PathBuf>,
}

impl PlanArgs {
    fn plan(self) -> Result<maillon_node::init::FoundingPlan> {
        use maillon_node::founding::draft::Numbers;
        const DAY_MS: u64 = 86_400_000;
        let rules = match &self.rules_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the rules file {}", path.display()))?,
            None => maillon_node::founding::draft::DEFAULT_RULES.to_string(),
        };
        Ok(maillon_node::init::FoundingPlan {
            founders: self.founders,
            numbers: Numbers {
                sponsors_required: self.sponsors_required,
                sponsor_quota: self.sponsor_quota,
                recovery_threshold: self.recovery_threshold,
                council_threshold: self.council_threshold,
                answer_deadline_ms: self.answer_deadline_days.saturating_mul(DAY_MS),
                probation_grace_ms: self.probation_days.saturating_mul(DAY_MS),
                ..Numbers::default()
            },
            rules,
        })
    }
}

#[derive(Debug, Subcommand)]
enum EntryArgs {
    /// Found a new network with a founding team. The node starts in a founding state: each
    /// founder creates their key on its founding page (/fondation), then one founder signs
    /// the charter. The numbers are checked now and shown again before signing.
    Found {
        /// The network's name.
        #[arg(long)]
        network_name: String,
        /// The node's postcode (5 digits), stated in its announcement.
        #[arg(long)]
        postcode: String,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Join an existing network with an invitation made on another node's operator page.
    Join {
        /// The invitation: the file downloaded from the operator page, or its text code
        /// (starting with MAILLON1).
        #[arg(long)]
        invitation: String,
        /// Create the node even if no bootstrap address of the invitation answers now.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Args)]
struct AnnounceArgs {
    /// The node's configuration file [default: as for `run`].
    #[arg(long)]
    config: Option<PathBuf>,
    /// The code the member got on the page "Héberger un site" (192 hexadecimal digits).
    #[arg(long)]
    code: String,
    /// The node's postcode (5 digits), published in its announcement.
    #[arg(long)]
    postcode: String,
}

/// `maillon --version`: the release, commit, protocol and store format.
static LONG_VERSION: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(maillon_node::version::describe);

fn now() -> Result<Timestamp> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    Ok(Timestamp(since_epoch.as_millis() as u64))
}

fn gen(args: &GenArgs) -> Result<()> {
    use maillon_node::generator::{generate_with, GeneratorOptions};
    let end = now()?.minus_ms(Timestamp::DAY_MS);
    let options = match (args.national, args.network) {
        (true, _) => GeneratorOptions::national(end),
        (false, Some(size)) => GeneratorOptions::national_shaped(size.members(), end),
        (false, None) => GeneratorOptions::new(args.members),
    };
    let network = generate_with(args.seed, &options);
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let wires: Vec<Vec<u8>> = network.records.iter().map(|r| r.to_wire()).collect();
    let count =
        maillon_node::records_file::write_records(&mut out, wires.iter().map(Vec::as_slice))?;
    std::io::Write::flush(&mut out)?;
    println!("{count} enregistrements écrits dans {}", args.out.display());
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(args.config.as_deref()),
        Command::Gen(args) => gen(&args),
        Command::Status(args) => run::status(args.config.as_deref(), args.url.as_deref()),
        Command::Migrate(args) => run::migrate(args.config.as_deref()),
        Command::Bench(args) => bench(&args),
        Command::Demo(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")?
            .block_on(demo::run(&args))
            .context("the demo failed"),
        Command::Init(args) => init_command(args),
        Command::Announce(args) => announce_command(&args),
        Command::Backup(args) => admin_cli::backup(&args),
        Command::Restore(args) => admin_cli::restore_command(&args),
        Command::Rebuild(args) => admin_cli::rebuild_command(&args),
    }
}

fn init_command(args: InitArgs) -> Result<()> {
    let report = match args.entry {
        EntryArgs::Found {
            network_name,
            postcode,
            plan,
        } => {
            let entry = Entry::Found {
                network_name,
                postcode,
                plan: plan.plan()?,
            };
            init(&args.dir, &args.name, &entry)?
        }
        EntryArgs::Join {
            invitation,
            offline,
        } => {
            let joined = maillon_node::invitation::join(
                &args.dir,
                &args.name,
                &invitation,
                offline,
                now()?,
            )?;
            println!(
                "Invitation short code: {} (it must be the one the inviting operator gave you)",
                joined.short_code
            );
            for probe in joined.probes {
                match probe.outcome {
                    Ok(()) => println!("Bootstrap reachable: {}", probe.address),
                    Err(error) => {
                        println!("Warning: bootstrap {} unreachable ({error})", probe.address)
                    }
                }
            }
            joined.report
        }
    };
    println!("Node created: {}", report.config_file.display());
    if let Some(network) = report.network {
        println!("Network: {network}");
    }
    println!("Node key: {}", report.node_key);
    println!(
        "Fingerprint: {}",
        maillon_web_ui::page::fingerprint(&report.node_key)
    );
    if let Some(code) = report.founding_code {
        println!();
        println!("Founding code: {code}");
        println!("  Give it to the founders; it is shown only once (only its hash is kept).");
        println!(
            "Next: maillon run --config {}",
            report.config_file.display()
        );
        println!("  then each founder opens the /fondation page of the node's site.");
    }
    Ok(())
}

fn announce_command(args: &AnnounceArgs) -> Result<()> {
    let config = run::load(args.config.as_deref())?;
    let record = maillon_node::announce::announce(&config, &args.code, &args.postcode, now()?)?;
    println!(
        "Announcement signed for node {} and written to {}.",
        record.header().author,
        config
            .data_dir
            .join(maillon_node::node::ANNOUNCEMENT_FILE)
            .display()
    );
    println!("Restart the node (for example `systemctl restart maillon`) to publish it.");
    Ok(())
}

/// Runs a benchmark. It logs nothing unless `RUST_LOG` asks (for example
/// `RUST_LOG=maillon_node::engine=debug` for the writer's batches), on standard error.
fn bench(args: &BenchArgs) -> Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    maillon_node::bench::run(&maillon_node::bench::BenchOptions {
        which: args.which,
        seed: args.seed,
        ingest_records: args.ingest_records,
        cold_members: args.members.or(args.network.map(NetworkSize::members)),
        sync_records: args.sync_records,
        gossip_nodes: args.gossip_nodes,
        gossip_records: args.gossip_records,
        search_listings: args.search_listings,
        search_queries: args.search_queries,
        memory_records: args.memory_records,
        memory_rate: args.memory_rate,
    })
    .map_err(|e| anyhow::anyhow!(e))
}
