#!/usr/bin/env bash
# The checks that need a hardware GPU (issue 10), in one pass, logs in one folder. Meant for an
# NVIDIA H100/H200 machine with 16 cores; runs in about 5-8 minutes there (generation of the
# two recordings included), each step with its own time limit so one slow step still leaves
# the others' results:
#   1. machine: card name and memory (nvidia-smi), cores, Node, the WebGPU adapter spikesift sees;
#   2. correctness on the hardware adapter: every WGSL kernel against its CPU twin, and the
#      device-resident engine against the CPU engine end to end (4-384 channels);
#   3. speed: `auto` end to end (it calibrates by sorting a slice with each engine, then sorts
#      with the faster one) on generated 384 ch x 60 s and 1536 ch x 30 s, plus webgpu forced,
#      plus cpu at 384 ch for comparison: x real time, the per-stage breakdown, the adapter,
#      GPU memory (the engine's own count and nvidia-smi's peak while it ran), stagesOnDevice.
#
#   bash bench/gpu-check.sh [LOG_DIR]        (default bench/out; needs node and node_modules)
#
# Calls node directly (no npm/npx needed). Paste summary.md into bench/RESULTS.md.
set -u
cd "$(dirname "$0")/.."
out=${1:-bench/out}
mkdir -p "$out"
ts="node --import ./scripts/ts-loader.mjs"

step() { # name, seconds, command...
  local name=$1 secs=$2; shift 2
  echo "=== $name ($(date -u +%H:%M:%S), limit ${secs} s)"
  timeout "$secs" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "=== $name exit $rc ($(date -u +%H:%M:%S))"
  grep -v '^Warning: maxDynamic' "$out/$name.log" | tail -n 40
}

{
  echo "date: $(date -u)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "cores: $(nproc)"; echo "node: $(node --version)"
  $ts -e "import { probeAdapter } from './src/engines/webgpu/context.ts'; const p = await probeAdapter(); console.log('webgpu adapter: ' + p.name + (p.isSoftware ? ' (software)' : ' (hardware)') + (p.reason ? ' ' + p.reason : '')); const l = p.adapter?.limits; if (l) console.log('limits: maxBufferSize ' + l.maxBufferSize + ', maxStorageBufferBindingSize ' + l.maxStorageBufferBindingSize + ', timestamp-query ' + p.adapter.features.has('timestamp-query'));" 2>&1 | grep -v '^Warning: maxDynamic'
} 2>&1 | tee "$out/machine.log"

step gpu-tests 240 node node_modules/vitest/vitest.mjs run test/engines/webgpu/device-kernels.test.ts test/engines/webgpu/resident-sort.test.ts test/engines/webgpu/auto-hardware.test.ts

# GPU memory actually used while the sorts run (all processes on the card; the machine is otherwise idle).
poller=""
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$out/gpu-memory.log" 2>/dev/null &
  poller=$!
fi
step sort-384 330 $ts bench/sort.ts --seconds 60 --channels 384 --backend auto,webgpu,cpu --workers default
step sort-1536 420 $ts bench/sort.ts --seconds 30 --channels 1536 --backend auto,webgpu --workers default
if [ -n "$poller" ]; then
  kill "$poller" 2>/dev/null
  peak=$(sort -n "$out/gpu-memory.log" | tail -n 1)
  echo "nvidia-smi peak GPU memory used during the sorts: ${peak:-?} MiB" | tee -a "$out/machine.log"
fi

{
  echo "## GPU check $(date -u +%Y-%m-%d) ($(git rev-parse --short HEAD 2>/dev/null))"
  echo
  sed 's/^/    /' "$out/machine.log"
  echo
  for f in sort-384 sort-1536; do grep -v '^Warning: maxDynamic' "$out/$f.log" | grep -E '^\||^- |^Device|^Machine'; echo; done
  echo "Tests: $(grep -E 'Tests +[0-9]' "$out/gpu-tests.log" | tail -n 1)"
} > "$out/summary.md"
echo "=== summary: $out/summary.md"
cat "$out/summary.md"
