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

# The e-mail tests (node/src/mail/tests.rs, node/src/web/tests/mail.rs) send to a real SMTP
# server process, Debian's aiosmtpd: as root, install it when it is missing.
if ! /usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing aiosmtpd for the e-mail tests..."
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-aiosmtpd
  else
    echo "aiosmtpd is missing: the e-mail tests will say they are skipped" >&2
  fi
fi

# The previous release, for the mixed-network test (node/tests/previous_release.rs): main
# as it was before versions were reported, built from git into a temporary folder with the
# same target folder, so that its registry dependencies are the ones built for the tests
# below (the same features: the whole workspace with its dev-dependencies) and only its own
# crates compile. Its workspace version gets a `-previous` suffix: otherwise its crates
# would have the same names, versions and relative paths as the current ones, and cargo,
# judging by file times, could take one tree's compiled crate for the other's. Its binary
# is copied out at once: the next build replaces target/debug/maillon. Without the commit
# (a shallow clone), the test says it is skipped.
PREVIOUS_RELEASE=8c81f18
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
if git cat-file -e "$PREVIOUS_RELEASE^{commit}" 2>/dev/null; then
  previous_source="$(mktemp -d)"
  trap 'rm -rf "$previous_source"' EXIT
  git archive "$PREVIOUS_RELEASE" | tar -x -C "$previous_source"
  sed -i '0,/^version = "/s/^version = "\([^"]*\)"/version = "\1-previous"/' \
    "$previous_source/Cargo.toml"
  # The same profiles as this tree's (debug info, optimisation): otherwise every dependency
  # would be compiled a second time with the previous release's settings.
  sed -i '/^\[profile\./,$d' "$previous_source/Cargo.toml"
  sed -n '/^\[profile\./,$p' Cargo.toml >> "$previous_source/Cargo.toml"
  started=$SECONDS
  (cd "$previous_source" &&
    CARGO_TARGET_DIR="$target_dir" cargo test --workspace --no-run --test operators)
  mkdir -p "$target_dir/previous"
  cp "$target_dir/debug/maillon" "$target_dir/previous/maillon"
  rm -rf "$previous_source"
  echo "previous release $PREVIOUS_RELEASE built in $((SECONDS - started)) s"
  export MAILLON_PREVIOUS_BIN="$target_dir/previous/maillon"
else
  echo "commit $PREVIOUS_RELEASE is not in this clone: the mixed-network test is skipped" >&2
fi

# axe-core, the accessibility checker the browser tests run on each page they visit
# (tests/tests/browser/axe.rs): npm's package at a pinned version, checked by its digest.
AXE_VERSION=4.14.1
AXE_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
axe_dir="$target_dir/axe-core-$AXE_VERSION"
if [ ! -f "$axe_dir/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing npm to fetch axe-core for the browser tests..."
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y npm
    else
      echo "npm is missing: install it to fetch axe-core for the browser tests" >&2
      exit 1
    fi
  fi
  axe_download="$(mktemp -d)"
  (cd "$axe_download" && npm pack "axe-core@$AXE_VERSION" --silent >/dev/null &&
    tar -xzf "axe-core-$AXE_VERSION.tgz")
  echo "$AXE_SHA256  $axe_download/package/axe.min.js" | sha256sum --check --quiet
  mkdir -p "$axe_dir"
  cp "$axe_download/package/axe.min.js" "$axe_download/package/LICENSE" "$axe_dir/"
  rm -rf "$axe_download"
fi
export MAILLON_AXE_JS="$axe_dir/axe.min.js"

# Unit, property, vector and integration tests of every crate, the examples, and doc tests.
# Benchmarks are not run here: `cargo bench -p maillon-protocol` runs them (docs/PERFORMANCE.md).
cargo test --workspace --lib --bins --tests --examples
cargo test --workspace --doc

# The packaging files in deploy/: linted, and the image built and started when a Docker
# daemon answers (the script says which checks ran and which were skipped).
./scripts/check-deploy.sh

# The README's first command, exactly as written: three sites that agree, stopped by SIGINT.
./scripts/check-demo.sh
