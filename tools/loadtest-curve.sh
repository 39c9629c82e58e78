#!/usr/bin/env bash
# Aggregate tokens/s of `argon serve` against --parallel, measured with `argon loadtest`.
# Usage: tools/loadtest-curve.sh [MODEL] [PARALLEL_LIST] [CLIENTS] [REQUESTS] [MAX_TOKENS]
# Starts one loopback server per --parallel value, waits for /health, runs the load test (which
# warms up server and client with --warmup requests per client before it measures), stops it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-$root/../shared/models/tinyllama-v0/TinyLLama-v0.Q4_0.gguf}"
list="${2:-1 2 4 8 16}"
clients="${3:-32}"
requests="${4:-20}"
tokens="${5:-32}"
port="${ARGON_PORT:-18080}"
echo "| --parallel | requests ok / failed | tokens | seconds | aggregate tokens/s | vs 1 | TTFT median ms | TTFT p95 ms |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
base=""
for p in $list; do
  "$root/argon" serve -m "$model" --port "$port" --parallel "$p" -c 256 --queue 256 >/tmp/argon-curve-serve.log 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  json="$("$root/argon" loadtest --url "http://127.0.0.1:$port" --clients "$clients" --requests "$requests" -n "$tokens" --json 2>/dev/null || true)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$p" "$json" "${base:-0}" <<'PY'
import json, sys
p, j, base = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
tps = j["tokens_per_second"]
ratio = tps / base if base else 1.0
print(f"| {p} | {j['ok']} / {j['errors']} | {j['completion_tokens']} | {j['seconds']:.1f} | {tps:.0f} | {ratio:.2f}x | {j['ttft_median_ms']:.0f} | {j['ttft_p95_ms']:.0f} |")
PY
  if [ -z "$base" ]; then base="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tokens_per_second"])' "$json")"; fi
done
