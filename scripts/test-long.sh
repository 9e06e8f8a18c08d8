#!/usr/bin/env bash
# The long tests CI's time does not allow: a 900 s network partition between `maillon run`
# processes in network namespaces (node/tests/outage.rs). Run as root, after test-all.sh's
# set-up (iptables). Usage: ./scripts/test-long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p maillon-node --test outage -- --ignored --nocapture
