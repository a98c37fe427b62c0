// Shared model types. Field names mirror Hugging Face's config.json and checkpoint tensor names.

/** Normalized LLaMA-family config (llama, mistral). Built by src/model/config.ts from config.json. */
export interface LlamaConfig {
  model_type: 'llama' | 'mistral';
  hidden_size: number;            // H, e.g. 4096
  intermediate_size: number;      // F, e.g. 11008
  num_hidden_layers: number;      // L, e.g. 32
  num_attention_heads: number;    // nH, e.g. 32
  num_key_value_heads: number;    // nKV (GQA), defaults to nH
  head_dim: number;               // D = H / nH unless config sets head_dim
  rms_norm_eps: number;
  rope_theta: number;             // from rope_theta or rope_parameters.rope_theta
  vocab_size: number;
  max_position_embeddings: number;
  torch_dtype: string | null;     // 'bfloat16' | 'float16' | 'float32' (torch_dtype or dtype)
  bos_token_id: number;           // default 1
  pad_token_id: number | null;
}

/** A dense row-major fp32 matrix. `data.length === rows * cols`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * A weight kept in memory as 16-bit values (CPU `--dtype bf16|fp16`, src/model/half-matrix.ts) and
 * widened to fp32 when used. `data` widens a fresh fp32 copy on every access (for code that wants a
 * plain Matrix); the CPU backend keeps `bits` and calls `widenInto` with a reusable buffer per matmul.
 */
export interface HalfMatrix extends Matrix {
  readonly dtype: 'bf16' | 'fp16';
  readonly bits: Uint16Array;             // [rows * cols]
  /** True when a LoRA pair is applied on widening (kept in fp32 beside the 16-bit base weight). */
  readonly hasLora: boolean;
  /** Writes the fp32 weight into out[0, rows*cols): the 16-bit values widened, then the LoRA merged. */
  widenInto(out: Float32Array): void;
  /** Writes rows [first, first + count) widened into out (no LoRA: only for weights without one). */
  widenRows(first: number, count: number, out: Float32Array): void;
}

/** One decoder layer, HF names. Linear weights are [out, in] as stored in the checkpoint (y = x W^T). */
export interface LayerWeights {
  input_layernorm: Float32Array;          // [H]
  q_proj: Matrix;                         // [nH*D, H]
  k_proj: Matrix;                         // [nKV*D, H]
  v_proj: Matrix;                         // [nKV*D, H]
  o_proj: Matrix;                         // [H, nH*D]
  post_attention_layernorm: Float32Array; // [H]
  gate_proj: Matrix;                      // [F, H]
  up_proj: Matrix;                        // [F, H]
  down_proj: Matrix;                      // [H, F]
}

/** All weights the embedding forward needs (lm_head is never loaded). LoRA, if any, is already merged. */
export interface ModelWeights {
  embed_tokens: Matrix;                   // [V, H]
  layers: LayerWeights[];                 // length L (or fewer if loaded with a layer limit)
  norm: Float32Array;                     // [H]
}

/** What a LoRA merge did, for logs and results files. */
export interface LoraInfo {
  dir: string;
  format: 'safetensors' | 'bin';
  r: number;
  lora_alpha: number;
  use_rslora: boolean;
  scale: number;                          // lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA
  target_modules: string[];
  mergedTensors: number;                  // how many base tensors received B @ A * scale
  sha256: string;                         // checksum of the adapter weights file
}

export interface LoadedModel {
  dir: string;
  config: LlamaConfig;
  weights: ModelWeights;
  lora: LoraInfo | null;
  /** sha256 of each weight file's JSON header (cheap fingerprint for caches/results). */
  fingerprint: string;
  /** How the weights are held in host memory: fp32, or 16-bit (HalfMatrix) widened per matmul. */
  weightDtype?: 'fp32' | 'bf16' | 'fp16';
  /** Hub ids the model and adapter came from (set by openEmbedder; provenance records it). */
  hub?: { model: HubRef | null; adapter: HubRef | null };
}

/** A model or adapter resolved from a Hugging Face id (src/model/hub/). */
export interface HubRef {
  id: string;                     // org/name
  revision: string;               // as asked (branch, tag or commit)
  commit: string;                 // the commit it resolved to
  endpoint: string;               // HF_ENDPOINT or https://huggingface.co
  /** The Hub's hash of each file used: sha256 for LFS files (weights), the git blob sha1 otherwise. */
  files: Record<string, string>;
}

/** Token ids with BOS prepended. */
export interface Tokenizer {
  /** e.g. 'llama-tokenizer-js (LLaMA-2 vocab, tokenizer.model sha256 …)' */
  readonly description: string;
  /** sha256 of the tokenizer file used. */
  readonly fingerprint: string;
  readonly bosId: number;
  encode(text: string): number[];
}
