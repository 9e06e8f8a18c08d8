//! A node in its own process, for tests that kill it: `maillon-test-node <config.toml>`.
//! It prints `READY <http address>` once serving, then runs until killed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use maillon_node::config::RawConfig;
use maillon_node::engine::system_clock;
use maillon_node::node::{self, network_settings, NodeOptions};

#[tokio::main]
async fn main() -> Result<()> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: maillon-test-node CONFIG")?,
    );
    let base = path
        .parent()
        .context("the config has no folder")?
        .to_path_buf();
    let config = RawConfig::load(&path)?.validate(&base)?;
    let http = tokio::net::TcpListener::bind(config.http_listen).await?;
    let network = network_settings(&config)?;
    let running = node::start(NodeOptions {
        config,
        http,
        network,
        clock: system_clock(),
        web: maillon_web_ui::WebConfig {
            kdf: maillon_web_ui::keys::KdfParams::FOR_TESTS,
            ..maillon_web_ui::WebConfig::default()
        },
    })
    .await?;
    println!("READY {}", running.http_address);
    std::future::pending::<()>().await;
    Ok(())
}
