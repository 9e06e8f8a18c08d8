#!/usr/bin/env bash
# Runs the README's first command exactly as written, waits until the three demo sites answer
# `GET /api/v1/status` with one `state_digest`, stops the demo with SIGINT and checks that it
# exits 0. Usage: ./scripts/check-demo.sh [seconds allowed, default 1500 (it builds first)]
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${1:-1500}"
log="$(mktemp)"
ports=(8080 8081 8082)

for port in "${ports[@]}"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "check-demo: port $port is already in use; stop what serves it first" >&2
    exit 1
  fi
done

# Its own process group, so that SIGINT reaches the demo as Ctrl-C would.
setsid cargo run --release -- demo >"$log" 2>&1 &
demo=$!
stop_demo() { kill -INT -- "-$demo" 2>/dev/null || true; }
trap 'stop_demo; sleep 2; kill -KILL -- "-$demo" 2>/dev/null || true' EXIT

digest_of() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/api/v1/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["state_digest"])' 2>/dev/null
}

start=$SECONDS
agreed=""
while (( SECONDS - start < limit )); do
  if ! kill -0 "$demo" 2>/dev/null; then
    echo "check-demo: the demo stopped by itself; its output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  digests=()
  for port in "${ports[@]}"; do
    digests+=("$(digest_of "$port" || true)")
  done
  if [[ -n "${digests[0]}" && "${digests[0]}" == "${digests[1]}" && "${digests[0]}" == "${digests[2]}" ]]; then
    agreed="${digests[0]}"
    break
  fi
  sleep 2
done
if [[ -z "$agreed" ]]; then
  echo "check-demo: the three sites did not agree within ${limit}s (digests: ${digests[*]:-none}); output:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "check-demo: the three sites agree on state_digest $agreed after $((SECONDS - start))s"

stop_demo
status=0
for _ in $(seq 1 60); do
  if ! kill -0 "$demo" 2>/dev/null; then break; fi
  sleep 1
done
if kill -0 "$demo" 2>/dev/null; then
  echo "check-demo: the demo did not stop within 60 s of SIGINT" >&2
  exit 1
fi
wait "$demo" || status=$?
trap - EXIT
if [[ "$status" != 0 ]]; then
  echo "check-demo: the demo exited with status $status after SIGINT; output:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "check-demo: the demo stopped cleanly on SIGINT (exit 0)"
