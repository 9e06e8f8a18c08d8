//! `maillon run` and `maillon status`: where the settings come from (a file or the
//! environment alone) and how the log is written (text or JSON lines).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use maillon_node::config::{Config, LogFormat, RawConfig};
use maillon_node::engine::system_clock;
use maillon_node::node::{self, network_settings, NodeOptions, NodeSettings};

/// The configuration file read when `--config` is not given, if it is in the current folder.
const DEFAULT_FILE: &str = "maillon.toml";

/// The validated settings of `run`, `status` and `announce` (see [`read`]).
pub fn load(config_file: Option<&Path>) -> Result<Config> {
    read(config_file)?.validate()
}

/// Raw settings, before their check.
struct Settings {
    raw: RawConfig,
    /// The folder relative paths start from.
    base: PathBuf,
    /// Whether they came from the environment alone, without a file.
    environment_only: bool,
}

/// The file given with `--config` (it must exist); without it, `maillon.toml` in the
/// current folder if there is one; otherwise the `MAILLON_SECTION__KEY` environment
/// variables alone (a container). Environment variables override the file in every case.
fn read(config_file: Option<&Path>) -> Result<Settings> {
    let file = match config_file {
        Some(path) => path,
        None if Path::new(DEFAULT_FILE).is_file() => Path::new(DEFAULT_FILE),
        None => {
            return Ok(Settings {
                raw: RawConfig::from_environment()?,
                base: std::env::current_dir().context("cannot read the current folder")?,
                environment_only: true,
            })
        }
    };
    Ok(Settings {
        raw: RawConfig::load(file)?,
        base: file.parent().unwrap_or(Path::new(".")).to_path_buf(),
        environment_only: false,
    })
}

impl Settings {
    fn validate(self) -> Result<Config> {
        let checked = self.raw.validate(&self.base);
        if !self.environment_only {
            return Ok(checked?);
        }
        checked.with_context(|| {
            format!(
                "no --config and no {DEFAULT_FILE} in {}: the settings were read from \
                 MAILLON_* environment variables only",
                self.base.display()
            )
        })
    }
}

/// Starts the log: readable lines or JSON objects, one per line, on standard error;
/// `RUST_LOG` chooses what is logged.
fn start_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libp2p=warn".into()),
        );
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Tells the operator something: a line on standard output, or with JSON logs an `info`
/// event, so that what the node writes is JSON lines only.
fn tell(format: LogFormat, text: &str) {
    match format {
        LogFormat::Text => println!("{text}"),
        LogFormat::Json => tracing::info!("{text}"),
    }
}

/// Runs the node until Ctrl-C or SIGTERM.
pub fn run(config_file: Option<&Path>) -> Result<()> {
    let settings = read(config_file)?;
    let format = settings.raw.log.validate()?;
    start_logging(format);
    let config = settings.validate()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let outcome: Result<()> = runtime.block_on(async move {
        let http = tokio::net::TcpListener::bind(config.http_listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.http_listen))?;
        let network = network_settings(&config)?;
        let site = config.site.web_config();
        let running = if maillon_node::founding::is_pending(&config) {
            let mut founding =
                maillon_node::founding::serve(&config, http, site.clone(), system_clock())?;
            let address = founding.address();
            tell(
                format,
                &format!("Nœud en cours de fondation : http://{address}/fondation"),
            );
            tokio::select! {
                _ = founding.founded() => {}
                _ = wait_for_signal() => {
                    tell(format, "Arrêt en cours… La fondation reprendra au prochain démarrage.");
                    founding.stop().await;
                    return Ok(());
                }
            }
            tell(format, "Charte signée : le nœud démarre.");
            let settings = NodeSettings {
                config,
                network,
                clock: system_clock(),
                web: site,
            };
            founding.start_node(settings).await?
        } else {
            if let Ok(address) = http.local_addr() {
                tell(
                    format,
                    &format!("Démarrage… le site répond déjà : http://{address}"),
                );
            }
            node::start(NodeOptions {
                config,
                http,
                network,
                clock: system_clock(),
                web: site,
            })
            .await?
        };
        tell(
            format,
            &format!("Nœud démarré : http://{}", running.http_address),
        );
        for address in running.p2p_addresses().await? {
            tell(format, &format!("Adresse pair-à-pair : {address}"));
        }
        if let Some(address) = running.metrics_address {
            tell(
                format,
                &format!("Mesures (Prometheus) : http://{address}/metrics"),
            );
        }
        wait_for_signal().await;
        tell(format, "Arrêt en cours…");
        running.shutdown().await?;
        Ok(())
    });
    outcome.map_err(|error| with_migrate_hint(error, config_file))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints the status endpoint's answer.
pub fn status(config_file: Option<&Path>, url: Option<&str>) -> Result<()> {
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", load(config_file)?.http_listen),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let endpoint = format!("{base}/api/v1/status");
        let response = reqwest::get(&endpoint)
            .await
            .with_context(|| format!("no node answers at {endpoint}"))?;
        if !response.status().is_success() {
            bail!("{endpoint} answered {}", response.status());
        }
        let body: serde_json::Value = response.json().await?;
        println!("{}", serde_json::to_string_pretty(&body)?);
        Ok(())
    })
}

/// `maillon migrate`: brings a stopped node's store to this version's format, running the
/// long migrations a start refuses to run.
pub fn migrate(config_file: Option<&Path>) -> Result<()> {
    use maillon_node::store::{SledStore, FORMAT_VERSION};
    let config = load(config_file)?;
    let store = node::store_config(&config);
    if !store.path.exists() {
        println!(
            "Pas encore de base dans {} : rien à migrer (format {FORMAT_VERSION}).",
            store.path.display()
        );
        return Ok(());
    }
    let prepared = SledStore::migrate(&store)
        .with_context(|| format!("cannot migrate the store {}", store.path.display()))?;
    match prepared.found {
        Some(found) if found == FORMAT_VERSION => {
            println!("La base est déjà au format {FORMAT_VERSION} : rien à faire.");
        }
        found => {
            let found = found.map_or("nouvelle".to_string(), |f| f.to_string());
            println!("Base migrée du format {found} au format {FORMAT_VERSION}.");
            for step in prepared.ran {
                println!("  fait : {step}");
            }
        }
    }
    Ok(())
}

/// Adds to a start's error the command to run when the store needs `maillon migrate`.
fn with_migrate_hint(error: anyhow::Error, config_file: Option<&Path>) -> anyhow::Error {
    use maillon_node::node::NodeError;
    use maillon_node::store::StoreError;
    let needs = matches!(
        error.downcast_ref::<NodeError>(),
        Some(NodeError::Store(StoreError::NeedsMigration { .. }))
    );
    if needs {
        let command = match config_file {
            Some(path) => format!("maillon migrate --config {}", path.display()),
            None => "maillon migrate (with the same settings)".to_string(),
        };
        error.context(format!("stop here and run: {command}"))
    } else {
        error
    }
}
