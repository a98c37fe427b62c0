#!/usr/bin/env bash
# The tests that depend on BLAS arithmetic, under each OpenBLAS kernel family and 1 and 2 threads
# (issue 21): row invariance (or its float32 bound), the bidirectionality self-check, the decoder
# goldens with batched = one-at-a-time, and the sweep = independent runs. The other architectures'
# goldens (test/model/arch/arch-goldens.test.ts, cosine >= 0.99999 against float64) sit two orders of magnitude above
# any kernel's rounding and run once, in npm test. Core types: Haswell and Zen
# (AVX2), SkylakeX where the CPU has AVX-512, and the core type unset (OpenBLAS picks). Needs the
# tests' set-up (npm ci, the emulation build) done.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=(test/backend/cpu-fast.test.ts test/model/arch/bidirectional-check.test.ts test/model/arch/decoder-goldens.test.ts test/experiments/degrade.test.ts)
cores=(Haswell Zen)
grep -qw avx512f /proc/cpuinfo && cores+=(SkylakeX)
cores+=(unset)
for core in "${cores[@]}"; do
  for threads in 1 2; do
    echo "blas-matrix: OPENBLAS_CORETYPE=${core} OPENBLAS_NUM_THREADS=${threads}" >&2
    if [ "$core" = unset ]; then
      env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$threads" npx ava "${files[@]}"
    else
      OPENBLAS_CORETYPE="$core" OPENBLAS_NUM_THREADS="$threads" npx ava "${files[@]}"
    fi
  done
done
