#!/usr/bin/env bash
# The recipe presets side by side on the tiny fixture model + LoRA (issue 15): every preset on the 7
# STS tasks with one loaded model, then the ranked comparison (paired bootstrap against bellm-sts).
#   scripts/compare-presets-tiny.sh OUT_DIR [SHARED_DIR]
# Writes OUT_DIR/sts-*.json (one per preset; not committed), OUT_DIR/compare-*.md and .json, and the
# `explain` of one sentence under each preset (OUT_DIR/explain.txt).
set -euo pipefail
out=${1:?usage: scripts/compare-presets-tiny.sh OUT_DIR [SHARED_DIR]}
shared=${2:-../shared}
fx=$shared/fixtures
presets=bellm-sts,echo,echo-instruct,llm2vec,e5,repllama,sgpt,angle
bb=(node bin/bellm-bench.js --data-dir "$shared/data/senteval" --quiet)
mkdir -p "$out"
"${bb[@]}" sts --model "$fx/tiny-llama" --lora "$fx/tiny-lora" --device cpu --cache-dir "$out/cache" \
  --preset "$presets" --label tiny-llama+lora --no-sentence-stats --out "$out" --bootstrap 1000 --seed 1 > "$out/stdout.txt"
rm -rf "$out/cache"
: > "$out/explain.txt"
for p in ${presets//,/ }; do
  "${bb[@]}" explain --model "$fx/tiny-llama" --preset "$p" "A man is playing a flute." >> "$out/explain.txt"
  echo >> "$out/explain.txt"
done
