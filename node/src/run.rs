//! `maillon run` and `maillon status`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use maillon_node::config::RawConfig;
use maillon_node::engine::system_clock;
use maillon_node::node::{self, network_settings, NodeOptions, NodeSettings};

pub fn load(config_file: &Path) -> Result<maillon_node::config::Config> {
    let base = config_file.parent().unwrap_or(Path::new("."));
    let raw = RawConfig::load(config_file)?;
    Ok(raw.validate(base)?)
}

/// Runs the node until Ctrl-C or SIGTERM.
pub fn run(config_file: &Path) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libp2p=warn".into()),
        )
        .init();
    let config = load(config_file)?;
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
            println!(
                "Nœud en cours de fondation : http://{}/fondation",
                founding.address()
            );
            tokio::select! {
                _ = founding.founded() => {}
                _ = wait_for_signal() => {
                    println!("Arrêt en cours… La fondation reprendra au prochain démarrage.");
                    founding.stop().await;
                    return Ok(());
                }
            }
            println!("Charte signée : le nœud démarre.");
            let settings = NodeSettings {
                config,
                network,
                clock: system_clock(),
                web: site,
            };
            founding.start_node(settings).await?
        } else {
            node::start(NodeOptions {
                config,
                http,
                network,
                clock: system_clock(),
                web: site,
            })
            .await?
        };
        println!("Nœud démarré : http://{}", running.http_address);
        for address in running.p2p_addresses().await? {
            println!("Adresse pair-à-pair : {address}");
        }
        wait_for_signal().await;
        println!("Arrêt en cours…");
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
pub fn status(config_file: &Path, url: Option<&str>) -> Result<()> {
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
pub fn migrate(config_file: &Path) -> Result<()> {
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
fn with_migrate_hint(error: anyhow::Error, config_file: &Path) -> anyhow::Error {
    use maillon_node::node::NodeError;
    use maillon_node::store::StoreError;
    let needs = matches!(
        error.downcast_ref::<NodeError>(),
        Some(NodeError::Store(StoreError::NeedsMigration { .. }))
    );
    if needs {
        error.context(format!(
            "stop here and run: maillon migrate --config {}",
            config_file.display()
        ))
    } else {
        error
    }
}
