#!/usr/bin/env bash
# Memory-versus-quality table of the KV cache types and policies: for each configuration, KV bytes
# per token, perplexity, its change, mean KL divergence and top-1 agreement against an F32 cache
# (argon perplexity --kl-divergence). Usage: tools/kv-table.sh MODEL TEXT CTX [extra config ...]
# An extra config is a quoted flag list, e.g. "-ctk f16 -ctv f16 --kv-sink 4 --kv-window 60".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="$1"; text="$2"; ctx="$3"; shift 3
ref="$(mktemp -d)/ref.kld"
"$root/argon" perplexity -m "$model" -f "$text" -c "$ctx" -ctk f32 -ctv f32 --kl-divergence-base "$ref" 2>/dev/null | grep Final
echo "| KV cache | bytes/token | PPL | ΔPPL | mean KLD | same top-1 |"
echo "|---|---:|---:|---:|---:|---:|"
configs=()
for t in f32 f16 bf16 q8_0 q4_1 q4_0 q4_1h q4_0h; do configs+=("-ctk $t -ctv $t"); done
configs+=("-ctk f16 -ctv q4_1h" "-ctk q8_0 -ctv q4_1h" "$@")
for c in "${configs[@]}"; do
  # shellcheck disable=SC2086
  out="$("$root/argon" perplexity -m "$model" -f "$text" -c "$ctx" $c --kl-divergence-base "$ref" --kl-divergence 2>&1)"
  bytes="$(grep -o '[0-9]* bytes per token' <<<"$out" | head -1 | cut -d' ' -f1)"
  if [[ "$c" == *--kv-* ]]; then # a policy: the stored bytes per token of context, averaged over the scored positions
    bytes="$(grep -o 'KV stored: [0-9.]*' <<<"$out" | awk '{print $3}')"
  fi
  ppl="$(grep -o 'Final estimate: PPL = [0-9.]*' <<<"$out" | awk '{print $5}')"
  dppl="$(grep 'PPL change' <<<"$out" | awk '{print $4, $5}')"
  kld="$(grep 'Mean    KLD' <<<"$out" | awk '{print $4}')"
  top="$(grep 'Same top p' <<<"$out" | awk '{print $5 " %"}')"
  echo "| \`$c\` | $bytes | $ppl | $dppl | $kld | $top |"
done
