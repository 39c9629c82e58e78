# Sourced by ./argon and ./mvnw: sets ARGON_JAVA_HOME to a JDK whose feature version is 25 or newer.
# Order: JAVA_HOME (if 25+), then the usual install locations. Prints what to do if none is found.
argon_java_version() {  # prints the feature version of the JDK at $1, or nothing
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -1)
  echo "${v%%.*}"
}
argon_find_jdk() {
  local candidate v
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*25* \
      /usr/lib/jvm/* /opt/java/* /opt/jdk* "${HOME:-/nonexistent}"/.sdkman/candidates/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    v=$(argon_java_version "$candidate")
    if [ -n "$v" ] && [ "$v" -ge 25 ] 2>/dev/null; then
      ARGON_JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "argon: no JDK 25 or newer found (checked JAVA_HOME and /usr/lib/jvm). Install one, e.g. Temurin 25, and set JAVA_HOME to it." >&2
  return 1
}
