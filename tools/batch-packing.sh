#!/usr/bin/env bash
# Packed prefill vs one prompt at a time, measured with `argon batch` (docs/batch.md).
# Usage: tools/batch-packing.sh MODEL PROMPTS.txt [REPEATS] [N_PREDICT]
# Runs each configuration REPEATS times, interleaved (so a change in machine load hits both),
# and prints each run's summary line, wall and CPU seconds; compare the medians.
set -euo pipefail
model=$1 prompts=$2 repeats=${3:-3} n=${4:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
configs=("one-at-a-time:-np 1 -b 512" "packed:-np 16 -b 512")
for ((r = 1; r <= repeats; r++)); do
  for c in "${configs[@]}"; do
    name=${c%%:*} flags=${c#*:}
    rm -f "$out/o.jsonl"
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e s wall, %U+%S s CPU" "$here/argon" batch -m "$model" -i "$prompts" -o "$out/o.jsonl" \
      --input-format text -n "$n" --temp 0 -c 1024 --no-progress $flags 2> "$out/err" || { cat "$out/err"; exit 1; }
    echo "$name run $r: $(grep 'argon: batch:' "$out/err" | sed 's/^argon: batch: //') | $(tail -1 "$out/err") | load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
