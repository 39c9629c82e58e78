#!/usr/bin/env bash
# Native llama.cpp's grammar mask time per token on the same vocabularies, grammars and document
# as argon-bench's GrammarMaskBench (issue 17's comparison; table in docs/structured-output.md):
# writes vocabulary-only GGUFs of Llama 3 (128,256 tokens) and Qwen2 (151,665) from
# ../shared/models/tokenizers, builds grammar-mask.cpp against llama.cpp's libllama, and times
# llama.cpp's json.gbnf, Argon's translation of the bench's JSON schema, and llama.cpp's own
# translation of it (examples/json_schema_to_grammar.py). Argon's side of the table:
#   java --add-modules jdk.incubator.vector -jar argon-bench/target/benchmarks.jar 'GrammarMaskBench.mask' \
#     -p cache=cold -p grammar=gbnf,schema -wi 2 -w 3s -i 3 -r 4s
#
#   tools/llama-cpp/grammar-mask.sh            # DOCS=5 documents per row
# Needs g++, python3, llama.cpp built by ../shared/tools/build-llama-cpp.sh (LLAMA_CPP, default
# ~/.cache/llama.cpp-native) and argon-bench/target/benchmarks.jar (./mvnw -pl argon-bench -am package -DskipTests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
llama="${LLAMA_CPP:-$HOME/.cache/llama.cpp-native}"
shared="${ARGON_SHARED:-$root/../shared}"
out="${OUT:-$root/target/grammar-mask}"
docs="${DOCS:-5}"
jar="$root/argon-bench/target/benchmarks.jar"
[ -x "$llama/build/bin/llama-cli" ] || { echo "grammar-mask.sh: llama.cpp not built in $llama (../shared/tools/build-llama-cpp.sh)" >&2; exit 2; }
[ -f "$jar" ] || { echo "grammar-mask.sh: $jar missing (./mvnw -pl argon-bench -am package -DskipTests)" >&2; exit 2; }
. "$root/bin/jdk25.sh"
argon_find_jdk
mkdir -p "$out"
g++ -O2 -std=c++17 -I"$llama/include" -I"$llama/ggml/include" "$here/grammar-mask.cpp" -L"$llama/build/bin" \
  -lllama -lggml -lggml-base -Wl,-rpath,"$llama/build/bin" -o "$out/grammar-mask"
for v in llama3 qwen2; do
  [ -f "$out/$v-vocab.gguf" ] || python3 "$here/vocab-gguf.py" "$v" "$shared/models/tokenizers" "$out/$v-vocab.gguf"
done
java=("$ARGON_JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$jar" dev.argon.bench.GrammarMaskBench)
"${java[@]}" document > "$out/document.txt" 2>/dev/null
"${java[@]}" grammar schema > "$out/schema-argon.gbnf" 2>/dev/null
"${java[@]}" grammar json > "$out/json-argon.gbnf" 2>/dev/null
cp "$llama/grammars/json.gbnf" "$out/json.gbnf"
"${java[@]}" schema > "$out/schema.json" 2>/dev/null
python3 "$llama/examples/json_schema_to_grammar.py" "$out/schema.json" > "$out/schema-llamacpp.gbnf"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for v in llama3 qwen2; do
  for g in json.gbnf json-argon.gbnf schema-argon.gbnf schema-llamacpp.gbnf; do
    echo "== llama.cpp $(cat "$llama/COMMIT" 2>/dev/null | cut -c1-8), vocabulary $v, grammar $g"
    "$out/grammar-mask" "$out/$v-vocab.gguf" "$out/$g" "$out/document.txt" "$docs"
  done
done
