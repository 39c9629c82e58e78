#!/usr/bin/env bash
# The README's speed table: `argon bench --vs-llama-cpp` (pp128, tg64, 2 threads) on both
# synthetic shapes in Q8_0, Q4_0, Q4_K_M and F16. Generates missing models with `argon synth`.
# Usage: tools/bench-table.sh [MODEL_DIR] [REPETITIONS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/models}"
reps="${2:-3}"
mkdir -p "$dir"
for shape in smollm2-135m llama-3.2-1b; do
  for type in q8_0 q4_0 q4_k_m f16; do
    f="$dir/$shape-$type.gguf"
    [ -f "$f" ] || "$root/argon" synth --shape "$shape" --type "$type" -o "$f" >&2
    echo "## $shape $type"
    "$root/argon" bench -m "$f" -p 128 -n 64 -t 2 -r "$reps" --vs-llama-cpp 2>/dev/null
  done
done
