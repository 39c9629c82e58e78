#!/usr/bin/env bash
# `argon` with argon-spark and Spark 4.2.0 on the class path, for `argon batch --engine spark`
# (docs/batch.md). The argon command itself never depends on Spark: it finds the spark engine with
# ServiceLoader when argon-spark's jar is on the class path. Spark's jars come from the local Maven
# repository (argon-spark's provided dependencies) unless SPARK_HOME is set.
# Usage: tools/argon-spark.sh batch --engine spark --master local[2] -m MODEL -i IN -o OUT ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bin/jdk25.sh"
argon_find_jdk
jar="$root/argon-cli/target/argon.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root"/argon-*/src/main "$root"/pom.xml "$root"/argon-*/pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
  "$root/argon" --version >/dev/null # builds argon-cli/target/argon.jar (the same check as ./argon's; no JVM start when fresh)
fi
spark_jar="$root/argon-spark/target/argon-spark.jar"
cp_file="$root/argon-spark/target/spark.classpath"
if [ ! -f "$spark_jar" ] || [ ! -f "$cp_file" ] || [ -n "$(find "$root"/argon-spark/src/main "$root"/argon-spark/pom.xml -newer "$spark_jar" -print -quit)" ]; then
  echo "argon: building argon-spark ..." >&2
  "$root/mvnw" -q -DskipTests -pl argon-spark -am package >"$root/.argon-build.log" 2>&1 \
    || { echo "argon: build failed; see $root/.argon-build.log" >&2; exit 1; }
  "$root/mvnw" -q -pl argon-spark dependency:build-classpath -DincludeScope=provided -DexcludeGroupIds=dev.argon -Dmdep.outputFile="$cp_file" \
    >>"$root/.argon-build.log" 2>&1 || { echo "argon: cannot list Spark's jars; see $root/.argon-build.log" >&2; exit 1; }
fi
if [ -n "${SPARK_HOME:-}" ]; then spark_cp="$SPARK_HOME/jars/*"; else spark_cp="$(cat "$cp_file")"; fi
# Spark's jars first: its Jackson must win over the one inside argon.jar
opens=(java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent
       java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.util.calendar)
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xss4m
       -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true -Dargon.home="$root")
for p in "${opens[@]}"; do flags+=("--add-opens=java.base/$p=ALL-UNNAMED"); done
cp="$spark_cp:$spark_jar:$root/argon-cli/target/argon.jar"
# Start-up cache (JDK 25 AOT cache, JEP 483/514/515), as ./argon keeps one: Spark's classes loaded
# and linked, and method profiles, recorded once per build (and class path) by a training run of
# `batch --engine spark --master local[2]` on 8 prompts of the bundled model. It cuts the first
# Spark job's fixed cost (class loading, linking, JIT warm-up): see docs/batch.md. ARGON_AOT=0
# turns it off.
aot="$root/argon-spark/target/argon-spark.aot"
fixture="$root/../shared/models/tinyllama-v0/TinyLLama-v0.Q4_0.gguf"
if [ "${ARGON_AOT:-1}" != 0 ] && [ -f "$fixture" ]; then
  if [ ! -f "$aot" ] || [ "$spark_jar" -nt "$aot" ] || [ "$root/argon-cli/target/argon.jar" -nt "$aot" ] \
     || [ "$(cat "$aot.classpath" 2>/dev/null)" != "$cp" ]; then
    rm -f "$aot" "$aot.classpath"
    echo "argon: recording Spark's start-up cache (once per build, about a minute) ..." >&2
    train=$(mktemp -d)
    for i in 1 2 3 4 5 6 7 8; do echo "Once upon a time, there was a little $i"; done >"$train/in.txt"
    "$ARGON_JAVA_HOME/bin/java" "${flags[@]}" -XX:AOTCacheOutput="$aot" -Xlog:aot=off -Xlog:cds=off -cp "$cp" dev.argon.cli.Main \
      batch --engine spark --master 'local[2]' -m "$fixture" -i "$train/in.txt" -o "$train/out.jsonl" -n 16 --temp 0 \
      --no-progress >/dev/null 2>&1 && printf '%s' "$cp" >"$aot.classpath" || rm -f "$aot"
    rm -rf "$train"
  fi
  if [ -f "$aot" ]; then
    flags+=(-XX:AOTCache="$aot" -Xlog:aot=off -Xlog:cds=off)
  fi
fi
exec "$ARGON_JAVA_HOME/bin/java" "${flags[@]}" ${ARGON_JAVA_OPTS:-} -cp "$cp" dev.argon.cli.Main "$@"
