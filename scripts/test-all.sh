#!/usr/bin/env bash
# Runs every test of the workspace, doing its own set-up on a fresh Debian machine.
# Usage: ./scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Set-up: the Rust toolchain must be there (rustup's stable), and Chromium with its driver
# for the browser tests (tests/tests/browser.rs), installed here as root on Debian.
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium and chromedriver for the browser tests..."
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
  else
    echo "Chromium and chromedriver are missing: install Debian's packages" >&2
    echo "  apt-get install -y chromium chromium-driver" >&2
    echo "(as root), then run this script again." >&2
    exit 1
  fi
fi

# The network tests (node/tests/outage.rs, nat.rs) build partitions and home routers with
# network namespaces and iptables: as root, install iptables when it is missing.
if ! command -v iptables >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing iptables for the network tests..."
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y iptables
  else
    echo "iptables is missing: the network tests will say they are skipped" >&2
  fi
fi

# Unit, property, vector and integration tests of every crate, the examples, and doc tests.
# Benchmarks are not run here: `cargo bench -p maillon-protocol` runs them (docs/PERFORMANCE.md).
cargo test --workspace --lib --bins --tests --examples
cargo test --workspace --doc

# The packaging files in deploy/: linted, and the image built and started when a Docker
# daemon answers (the script says which checks ran and which were skipped).
./scripts/check-deploy.sh

# The README's first command, exactly as written: three sites that agree, stopped by SIGINT.
./scripts/check-demo.sh
