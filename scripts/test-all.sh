#!/usr/bin/env bash
# Runs every test of the workspace, doing its own set-up on a fresh Debian machine.
# Usage: ./scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Set-up: the Rust toolchain must be there (rustup's stable); nothing else is needed yet.
# Later issues add their system packages here (Chromium and its driver for browser tests).
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi

# Unit, property, vector and integration tests of every crate, the examples, and doc tests.
# Benchmarks are not run here: `cargo bench -p maillon-protocol` runs them (docs/PERFORMANCE.md).
cargo test --workspace --lib --bins --tests --examples
cargo test --workspace --doc
