#!/usr/bin/env bash
# argon batch --engine local vs --engine spark --master local[2] on the same input (docs/batch.md).
# Usage: tools/batch-engines.sh MODEL IN.jsonl [REPEATS] [extra batch flags...]
# Runs the two engines REPEATS times, alternating (so a change in machine load hits both), checks
# that both wrote the same texts, and prints each run's summary line (rows/s counted from the
# first row, after start-up) with its whole wall time and CPU time (less noisy on a shared machine).
set -euo pipefail
model=$1 in=$2 repeats=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$here/argon" --version >/dev/null 2>&1 # build and record the start-up caches once, outside the timings
"$here/tools/argon-spark.sh" --version >/dev/null 2>&1
for ((r = 1; r <= repeats; r++)); do
  for engine in local spark; do
    rm -f "$out/$engine.jsonl"
    if [ "$engine" = local ]; then cmd=("$here/argon" batch); else cmd=("$here/tools/argon-spark.sh" batch --engine spark --master 'local[2]'); fi
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$out/cpu" "${cmd[@]}" -m "$model" -i "$in" -o "$out/$engine.jsonl" --no-progress "$@" 2>"$out/err" \
      || { cat "$out/err"; exit 1; }
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    printf '%s run %d: %s | %.1f s wall, %.1f s CPU (user+sys, whole JVM) | load %s\n' "$engine" "$r" \
      "$(grep 'argon: batch: [0-9]' "$out/err" | sed 's/^argon: batch: //')" "$wall" "$(awk '{print $1 + $2}' "$out/cpu")" \
      "$(cut -d' ' -f1 /proc/loadavg)"
    grep 'argon: batch: engine job' "$out/err" | sed 's/^argon: batch: /    /' || true
  done
  python3 - "$out/local.jsonl" "$out/spark.jsonl" <<'PY'
import json, sys
def texts(p):
    d = {}
    for line in open(p):
        r = json.loads(line)
        b = (r.get("response") or {}).get("body") or {}
        d[r["custom_id"]] = [c.get("text", (c.get("message") or {}).get("content")) for c in b.get("choices", [])]
    return d
a, b = texts(sys.argv[1]), texts(sys.argv[2])
same = sum(a[k] == b.get(k) for k in a)
print(f"  same texts: {same} of {len(a)} rows")
PY
done
