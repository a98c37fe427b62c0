// The benchmark's workload, shared by bench.ts and its peer reference.py (through files): two LLaMA
// configs with seeded random weights, the STS-B test sentences in the BeLLM prompt, length-sorted
// batches of 32, and the useful-FLOP count both sides are measured against.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import llamaTokenizer from 'llama-tokenizer-js';
import { applyPrompt, preprocess, PROMPTS } from '../../src/model/presets/presets.ts';
import type { LayerWeights, LlamaConfig, Matrix, ModelWeights } from '../../src/model/arch/types.ts';
import { mulberry32 } from '../../src/eval/sentence-level.ts';
import { llamaArch } from '../../src/model/formats/config.ts';
/** mulberry32 (the one in src/eval), uniform in [0, 1). */
export const rng = mulberry32;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.BELLM_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');

const base = {
  model_type: 'llama', rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 32000, max_position_embeddings: 4096,
  torch_dtype: 'float32', bos_token_id: 1, pad_token_id: 0,
} as const;

/** The two models measured: the fixture's shape, and a ~100M-parameter LLaMA. */
export const CONFIGS: Record<string, LlamaConfig> = {
  tiny: {
    ...base, hidden_size: 64, intermediate_size: 176, num_hidden_layers: 4, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, arch: llamaArch(4, 16),
  },
  '100m': {
    ...base, hidden_size: 768, intermediate_size: 2048, num_hidden_layers: 12, num_attention_heads: 12,
    num_key_value_heads: 12, head_dim: 64, arch: llamaArch(12, 64),
  },
};


function uniform(n: number, std: number, mean: number, r: () => number): Float32Array {
  const a = std * Math.sqrt(3); // uniform on [-a, a] has this standard deviation
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + (2 * r() - 1) * a;
  return out;
}

/** Random weights with unit-scale activations: linears std 1/sqrt(in), embeddings std 1, norms ~1. */
export function randomWeights(c: LlamaConfig, seed = 1234): ModelWeights {
  const r = rng(seed);
  const H = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const mat = (rows: number, cols: number): Matrix => ({ rows, cols, data: uniform(rows * cols, 1 / Math.sqrt(cols), 0, r) });
  const norm = (): Float32Array => uniform(H, 0.1, 1, r);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    layers.push({
      input_layernorm: norm(),
      q_proj: mat(c.num_attention_heads * D, H), k_proj: mat(c.num_key_value_heads * D, H),
      v_proj: mat(c.num_key_value_heads * D, H), o_proj: mat(H, c.num_attention_heads * D),
      post_attention_layernorm: norm(),
      gate_proj: mat(F, H), up_proj: mat(F, H), down_proj: mat(H, F),
    });
  }
  return { embed_tokens: { rows: c.vocab_size, cols: H, data: uniform(c.vocab_size * H, 1, 0, r) }, layers, norm: norm() };
}

/** Weights as one raw little-endian float32 file plus a JSON index (HF tensor names, shapes, offsets). */
export function writeWeights(dir: string, c: LlamaConfig, w: ModelWeights): void {
  const tensors: { name: string; shape: number[]; offset: number }[] = [];
  const parts: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, data: Float32Array, shape: number[]): void => {
    tensors.push({ name, shape, offset });
    parts.push(data);
    offset += data.length;
  };
  add('model.embed_tokens.weight', w.embed_tokens.data, [w.embed_tokens.rows, w.embed_tokens.cols]);
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, l.input_layernorm, [l.input_layernorm.length]);
    for (const [n, m] of [['q_proj', l.q_proj], ['k_proj', l.k_proj], ['v_proj', l.v_proj], ['o_proj', l.o_proj]] as const) {
      add(`${p}self_attn.${n}.weight`, m.data, [m.rows, m.cols]);
    }
    add(`${p}post_attention_layernorm.weight`, l.post_attention_layernorm, [l.post_attention_layernorm.length]);
    for (const [n, m] of [['gate_proj', l.gate_proj], ['up_proj', l.up_proj], ['down_proj', l.down_proj]] as const) {
      add(`${p}mlp.${n}.weight`, m.data, [m.rows, m.cols]);
    }
  });
  add('model.norm.weight', w.norm, [w.norm.length]);
  const all = new Float32Array(offset);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  writeFileSync(join(dir, 'weights.json'), JSON.stringify({ config: c, dtype: 'float32', tensors }, null, 1));
}

/** STS-B test: both sentences of each scored pair (tab-separated, sentences in columns 5 and 6). */
export function stsbTestSentences(): string[] {
  const file = join(sharedDir, 'data', 'senteval', 'STS', 'STSBenchmark', 'sts-test.csv');
  const out: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const cols = line.split('\t');
    if (cols.length < 7) throw new Error(`${file}: a line with ${cols.length} columns: ${line.slice(0, 80)}`);
    out.push(cols[5], cols[6]);
  }
  if (out.length !== 2 * 1379) throw new Error(`${file}: ${out.length / 2} pairs, expected 1379`);
  return out.map((s) => s.split(/\s+/).filter(Boolean).join(' '));
}

/** BeLLM STS input: bellm-sts preprocessing inside `The representative word for sentence {text} is:"`, BOS first. */
export function tokenize(sentences: readonly string[]): number[][] {
  return sentences.map((s) => llamaTokenizer.encode(applyPrompt(PROMPTS.bellm, preprocess(s, 'bellm-sts'))));
}

/** Length-sorted (longest first, ties by index) batches of `size` sequences: indices into `lengths`. */
export function sortedBatches(lengths: readonly number[], size: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

/**
 * Useful FLOPs of one forward over these sequences (no padding counted): 2 x (matmul parameters)
 * per token, plus QK^T and PV: 2 x 2 x nH x D per attended (query, key) pair, T(T+1)/2 pairs per
 * causal layer and T^2 per bidirectional one. The embedding lookup and elementwise ops are not counted.
 */
export function usefulFlops(c: LlamaConfig, lengths: readonly number[], billmStartIndex: number | null): number {
  const H = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const perLayer = H * c.num_attention_heads * D * 2 + H * c.num_key_value_heads * D * 2 + 3 * H * F;
  let tokens = 0, causalPairs = 0, fullPairs = 0;
  for (const T of lengths) { tokens += T; causalPairs += (T * (T + 1)) / 2; fullPairs += T * T; }
  let flops = 0;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const bidir = billmStartIndex !== null && l >= billmStartIndex;
    flops += 2 * perLayer * tokens + 4 * c.num_attention_heads * D * (bidir ? fullPairs : causalPairs);
  }
  return flops;
}

export function matmulParams(c: LlamaConfig): number {
  const H = c.hidden_size, D = c.head_dim;
  return c.num_hidden_layers * (H * c.num_attention_heads * D * 2 + H * c.num_key_value_heads * D * 2 + 3 * H * c.intermediate_size);
}
