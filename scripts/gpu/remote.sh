#!/usr/bin/env bash
# Runs on the device machine, in the repo root, after scripts/gpu/prepare.sh packed .devcarry/ here.
# Unpacks node, node_modules and the shared files (once per machine), builds the CUDA library with the
# device's nvcc, then runs the named steps in order, each logged to $OUT/<step>.log (the device tool
# returns $OUT). A failing step is reported and the next one still runs; the exit code is the first failure's.
#
#   bash scripts/gpu/remote.sh test quick        # parity suite + a short timed look with a per-op profile
#   bash scripts/gpu/remote.sh bench             # full STS throughput, ours vs reference.py (bf16)
#   bash scripts/gpu/remote.sh bench16           # the same in fp16 (BeLLM's README evaluates in fp16)
#   bash scripts/gpu/remote.sh sweep             # the 33-point sweep, ours vs 33 independent PyTorch runs
#   bash scripts/gpu/remote.sh sanitize          # compute-sanitizer racecheck + synccheck over the attention tests
#   bash scripts/gpu/remote.sh selftest          # the kit's own plumbing on the CPU emulation (no GPU needed)
#
# Steps: probe, test, quick, bench, bench16, sweep, sanitize, selftest. Extra bench.ts options: BENCH_ARGS="...".
# BELLM_REQUIRE_GPU=1 is set: a GPU test that cannot reach the GPU fails instead of skipping. The
# `test` step runs with BELLM_CUDA_SYNC=1 (synchronize and check after every op: names the failing op).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/bellm-gpu-out}"
mkdir -p "$OUT"
carry=.devcarry
work=/tmp/bellm-gpu
mkdir -p "$work"

say() { echo "remote.sh: $*" | tee -a "$OUT/remote.log" >&2; }

if [[ ! -x "$work/node" ]]; then
  [[ -f "$carry/node.xz" ]] || { say "no $carry/node.xz: run scripts/gpu/prepare.sh here first and carry .devcarry"; exit 2; }
  xz -dc "$carry/node.xz" > "$work/node" && chmod +x "$work/node"
fi
export PATH="$work:$PATH"
if [[ ! -d node_modules/ava ]]; then tar -xJf "$carry/node_modules.tar.xz"; fi
if [[ ! -d "$work/shared/fixtures" ]]; then mkdir -p "$work/shared" && tar -xJf "$carry/shared.tar.xz" -C "$work/shared"; fi
export BELLM_SHARED_DIR="$work/shared"
export BELLM_REQUIRE_GPU=1

{
  echo "date: $(date -u +%FT%TZ)"
  echo "node: $(node --version)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
  command -v nvcc >/dev/null && nvcc --version | tail -1
  python3 -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)' 2>&1
  echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt" >&2

status=0
run_step() {   # name, command...
  local name=$1; shift
  local t0=$SECONDS
  say "step $name: $*"
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 60 "$OUT/$name.log" >&2
  say "step $name: exit $rc after $((SECONDS - t0)) s"
  if (( rc != 0 && status == 0 )); then status=$rc; fi
  return 0
}

bench=(node --import=tsx benchmarks/sts-throughput/bench.ts)
ava=(node node_modules/ava/entrypoints/cli.mjs)
if [[ " $* " == *" selftest "* ]]; then
  run_step build node scripts/build-cuda.mjs --emu-only
else
  run_step build node scripts/build-cuda.mjs --no-emu
fi
# Which device, which cuBLAS file (found on the loader path or in python3's nvidia packages), which build.
probe=(node --import=tsx -e "import('./src/backend/cuda/lib.ts').then((m) => { const p = m.probeCuda(); console.log(p.reason); process.exit(p.ok ? 0 : 1); })")
[[ " $* " == *" selftest "* ]] || run_step probe "${probe[@]}"
for step in "$@"; do
  case "$step" in
    test)     run_step test env BELLM_CUDA_SYNC=1 "${ava[@]}" --verbose test/backend/cuda.test.ts test/backend/parity.test.ts ;;
    quick)    run_step quick "${bench[@]}" --layers 4 --limit 4000 --no-torch --profile --out "$OUT/quick.json" ${BENCH_ARGS:-} ;;
    bench)    run_step bench "${bench[@]}" --profile --out "$OUT/bench.json" ${BENCH_ARGS:-} ;;
    bench16)  run_step bench16 "${bench[@]}" --precision fp16 --out "$OUT/bench-fp16.json" ${BENCH_ARGS:-} ;;
    sweep)    run_step sweep "${bench[@]}" --modes none --sweep --out "$OUT/sweep.json" ${BENCH_ARGS:-} ;;
    sanitize) for tool in racecheck synccheck; do
                run_step "sanitize-$tool" compute-sanitizer --tool "$tool" --target-processes all --error-exitcode 3 \
                  "${ava[@]}" --verbose test/backend/cuda.test.ts --match '*attention*'
              done ;;
    selftest) run_step selftest "${bench[@]}" --library emu --model tiny --limit 60 --modes sorted32 --sweep \
                --sweep-sentences 24 --sweep-batch 16 --no-torch --profile --out "$OUT/selftest.json" ;;
    *) say "unknown step $step (test, quick, bench, bench16, sweep, sanitize, selftest)"; status=2 ;;
  esac
done
say "done: exit $status"
exit $status
