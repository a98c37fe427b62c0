#!/usr/bin/env bash
# The CI reproduction run (issue 5): sts and degrade --layers 0..4 on the tiny fixture model, with and
# without its LoRA adapter, and the truncation sweep of BeLLM's Figure 4 (--mode truncate, k = 1..4),
# over all 7 real STS tasks, then the report of the folder (single-column figures).
#   scripts/reproduce-tiny.sh OUT_DIR [SHARED_DIR]
# Everything runs with a fresh embedding cache inside OUT_DIR, so two runs share no work.
set -euo pipefail
out=${1:?usage: scripts/reproduce-tiny.sh OUT_DIR [SHARED_DIR]}
shared=${2:-../shared}
fx=$shared/fixtures
bb=(node bin/bellm-bench.js --data-dir "$shared/data/senteval" --quiet)
mkdir -p "$out"
# --overwrite: a rerun into the same folder replaces the earlier files (and starts the sweeps over).
common=(--cache-dir "$out/cache" --device cpu --overwrite)
"${bb[@]}" sts --model "$fx/tiny-llama" "${common[@]}" --label tiny-llama --out "$out/sts-tiny.json"
"${bb[@]}" sts --model "$fx/tiny-llama" --lora "$fx/tiny-lora" "${common[@]}" --label tiny-llama+lora --out "$out/sts-tiny-lora.json"
"${bb[@]}" sts --model "$fx/tiny-llama" --lora "$fx/tiny-lora" --billm-start-index 2 "${common[@]}" --label "tiny-llama+lora k=2" --out "$out/sts-tiny-lora-k2.json"
"${bb[@]}" degrade --model "$fx/tiny-llama" --layers 0..4 "${common[@]}" --label "tiny-llama sweep" --out "$out/degrade-tiny.json"
"${bb[@]}" degrade --model "$fx/tiny-llama" --lora "$fx/tiny-lora" --layers 0..4 "${common[@]}" --label "tiny-llama+lora sweep" --out "$out/degrade-tiny-lora.json"
"${bb[@]}" degrade --model "$fx/tiny-llama" --mode truncate --layers 1..4 "${common[@]}" --label "tiny-llama truncated" --out "$out/degrade-tiny-truncate.json"
rm -rf "$out/cache" "$out/report"
"${bb[@]}" report "$out" --compare-paper --figure-size single --out "$out/report" \
  --title "bellm-bench on the tiny fixture model (random weights: numbers test the pipeline, not a model)"
