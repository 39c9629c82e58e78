#!/usr/bin/env bash
# Differential test of Argon against llama.cpp on every architecture: synthesizes random-weight
# models (F32 weights) of each architecture at two shapes plus RoPE-scaling variants
# (dev.argon.model.SyntheticCase), runs llama.cpp's greedy decoding (diff.mjs, node-llama-cpp,
# F32 KV cache) and Argon's for 32 steps after two prompts, and prints per model: greedy tokens
# agreeing and the largest difference of llama.cpp's top-5 log-probabilities.
#
#   tools/llama-cpp/differential.sh                 # report
#   tools/llama-cpp/differential.sh --write         # also refresh argon-core/src/test/resources/reference/synth-*.json
#   ARGON_CASES=qwen2-a,gpt2-b tools/llama-cpp/differential.sh
#
# Needs node and tools/llama-cpp/node_modules (install.sh). Maven output goes to
# ${ARGON_TARGET:-target} (see -Dargon.target in pom.xml).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -d "$here/node_modules/node-llama-cpp" ] || { echo "differential.sh: run $here/install.sh first" >&2; exit 2; }
write=()
if [ "${1:-}" = "--write" ]; then
  write=("-Dargon.writeReferences=$root/argon-core/src/test/resources/reference")
fi
cd "$root"
./mvnw -q -B -Dargon.target="${ARGON_TARGET:-target}" -pl argon-core test -Dtest=LlamaCppDifferentialTest \
  -Dsurefire.failIfNoSpecifiedTests=false -Dargon.llamacpp="$here" -Dargon.cases="${ARGON_CASES:-}" "${write[@]}" \
  2>&1 | grep -v -e '^WARNING: Using incubator' -e '^\[INFO\]'
