#!/usr/bin/env bash
# One pass of the checks that need a real GPU: the GPU-vs-TypeScript parity tests, the
# webgpu-vs-cpu sorting agreement test, and both benchmarks, with logs in one folder.
#
#   bash bench/gpu-check.sh [LOG_DIR]        (needs node, npm and node_modules installed)
#
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

npm run build > "$out/build.log" 2>&1 || { echo "build failed"; tail "$out/build.log"; }
{ command -v nvidia-smi >/dev/null && nvidia-smi -L; nproc; node --version; } 2>&1 | tee "$out/machine.log"
node --input-type=module -e "import { probeAdapter } from './dist/gpu/context.js'; console.log(JSON.stringify(await probeAdapter()));" 2>&1 | tee -a "$out/machine.log"

step gpu-tests 120 npx vitest run test/gpu test/preprocess test/sorting/perform.test.ts
step bench-filter 100 npm run bench:filter -- --seconds 10
step bench-sort 200 npm run bench:sort -- --seconds 60 --channels 32,384 --backend cpu,webgpu
