//! The `maillon` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod demo;

/// Maillon: a federated network of trusted people.
#[derive(Debug, Parser)]
#[command(name = "maillon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a network, check every record, and show who is a member and how they connect.
    Demo(demo::DemoArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(&args).context("the demo failed"),
    }
}
