#!/usr/bin/env bash
# Installs node-llama-cpp 3.21.1 (prebuilt llama.cpp binaries) next to this script, for
# `argon bench --vs-llama-cpp` and the reference scripts here. Needs Node.js and npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm install --no-audit --no-fund --ignore-scripts
