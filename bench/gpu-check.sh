#!/usr/bin/env bash
# One pass of the checks that need a real GPU: the GPU-vs-TypeScript parity tests, the
# webgpu-vs-cpu sorting agreement test, and both benchmarks, with logs in one folder.
#
#   bash bench/gpu-check.sh [LOG_DIR]        (needs node and node_modules installed)
#
# Calls node directly (no npm/npx needed, for machines that carry only a node binary).
# Each step has its own time limit so that one slow step still leaves the others' results.
set -u
out=${1:-bench/out}
mkdir -p "$out"
cd "$(dirname "$0")/.."

step() { # name, seconds, command...
  local name=$1 secs=$2; shift 2
  echo "=== $name ($(date -u +%H:%M:%S))"
  timeout "$secs" "$@" > "$out/$name.log" 2>&1
  echo "=== $name exit $? ($(date -u +%H:%M:%S))"
  tail -n 40 "$out/$name.log"
}

node node_modules/typescript/bin/tsc -p tsconfig.build.json > "$out/build.log" 2>&1 || { echo "build failed"; tail "$out/build.log"; }
{ command -v nvidia-smi >/dev/null && nvidia-smi -L; nproc; node --version; } 2>&1 | tee "$out/machine.log"
node --input-type=module -e "import { probeAdapter } from './dist/gpu/context.js'; console.log(JSON.stringify(await probeAdapter()));" 2>&1 | tee -a "$out/machine.log"

step auto-decision 60 node --import ./scripts/ts-loader.mjs bench/auto-decision.ts
step gpu-tests 120 node node_modules/vitest/vitest.mjs run test/gpu test/preprocess test/sorting/perform.test.ts
step bench-filter 100 node --import ./scripts/ts-loader.mjs bench/filter.ts --seconds 10
step bench-sort 200 node --import ./scripts/ts-loader.mjs bench/sort.ts --seconds 60 --channels 32,384 --backend cpu,webgpu,auto
