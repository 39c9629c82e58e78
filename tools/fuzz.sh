#!/usr/bin/env bash
# Fuzzes one @FuzzTest target with Jazzer for a bounded time.
# Usage: tools/fuzz.sh TARGET SECONDS
#   TARGET: gguf | tokenize | detokenize | chat | chatml-literal | request
# Exits 0 when no crash was found, non-zero on a crash (Jazzer saves the input as
# src/test/resources/<package>/<Class>Inputs/<method>/crash-*, where `./mvnw verify` replays it)
# and prints the number of executions. The generated corpus stays in <module>/.cifuzz-corpus/.
#
# Jazzer 0.24.0 bundles an ASM that cannot read Java 25 class files (major version 69), so the
# classes are built for fuzzing with --release 23 into target-fuzz/ (the sources need nothing
# newer), which keeps coverage instrumentation working; the normal build is untouched.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
  echo "usage: tools/fuzz.sh gguf|tokenize|detokenize|chat|chatml-literal|request SECONDS" >&2
  exit 2
fi
case "$1" in
  gguf)           module=argon-core;   test='GgufFuzzTest#openAndValidate' ;;
  tokenize)       module=argon-core;   test='TokenizerFuzzTest#encode' ;;
  detokenize)     module=argon-core;   test='TokenizerFuzzTest#decode' ;;
  chat)           module=argon-chat;   test='ChatTemplateFuzzTest#render' ;;
  chatml-literal) module=argon-chat;   test='ChatTemplateFuzzTest#chatMlContentIsLiteral' ;;
  request)        module=argon-server; test='RequestParserFuzzTest#parse' ;;
  *) echo "tools/fuzz.sh: unknown target '$1' (gguf, tokenize, detokenize, chat, chatml-literal, request)" >&2; exit 2 ;;
esac
seconds="$2"
log="$(mktemp -t argon-fuzz-XXXXXX.log)"
cd "$root"
echo "fuzzing $test ($module) for ${seconds}s; log: $log" >&2
set +e
JAZZER_FUZZ=1 ./mvnw -pl "$module" -am verify \
  -Dargon.target=target-fuzz -Dmaven.compiler.release=23 \
  -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false -DtrimStackTrace=false \
  "-Dargon.jvmArgs=--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx2g" \
  -Djazzer.hooks=true -Djazzer.instrumentation_excludes=com.code_intelligence.** \
  -Djazzer.internal.arg.0=fuzz "-Djazzer.internal.arg.1=-max_total_time=$seconds" \
  >"$log" 2>&1
rc=$?
set -e
# libFuzzer's last status line ("#123456 DONE ..." or "#123 NEW ...") carries the execution count.
runs="$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
grep -aE '^(==[0-9]+== |Done [0-9]+ runs|== Java Exception|Caused by|.*Test unit written to|.*FuzzTestFindingException|java\.lang\.AssertionError)' "$log" \
  | grep -av 'Unsupported class file major version' | head -20 >&2 || true
skipped="$(grep -ac 'Unsupported class file major version 69' "$log" || true)"
[ "${skipped:-0}" -gt 0 ] && echo "note: $skipped JDK classes not instrumented for hooks (Jazzer 0.24.0's ASM reads up to Java 23 class files)" >&2
if [ "$rc" -ne 0 ]; then
  grep -aE 'Tests run:|FAIL|BUILD' "$log" | tail -8 >&2 || true
fi
echo "target=$1 test=$test seconds=$seconds executions=${runs:-0} exit=$rc"
exit "$rc"
