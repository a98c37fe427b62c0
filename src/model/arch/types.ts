// Shared model types. Field names mirror Hugging Face's config.json and checkpoint tensor names.
import type { HalfMatrix, Matrix } from '../../backend/ops.ts';

/** Normalized LLaMA-family config (llama, mistral). Built by src/model/formats/config.ts from config.json. */
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

/** A dense row-major fp32 matrix (defined by the op contract, which uploads it). */
export type { Matrix };

/** A weight held as 16-bit values and widened per matmul (defined by the op contract, which uploads it). */
export type { HalfMatrix };

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
  files: Record<string, string>;          // sha256 of adapter_config.json and the weights file
}

export interface LoadedModel {
  dir: string;
  config: LlamaConfig;
  weights: ModelWeights;
  lora: LoraInfo | null;
  /** sha256 of config.json and of every tensor file (the index and each shard): the weights' identity. */
  files: Record<string, string>;
  /** One digest over `files` (names sorted): changes whenever any weight byte or config.json changes. */
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
  /** sha256 of every tokenizer file in the model directory (tokenizer.model, tokenizer.json, configs). */
  readonly files: Record<string, string>;
  readonly bosId: number;
  /** EOS id, for templates that write {eos} (undefined when the tokenizer has none). */
  readonly eosId?: number;
  /** Every id `encode` returns is below this (the embedding table needs at least this many rows). */
  readonly vocabSize: number;
  encode(text: string): number[];
  /** The vocabulary entry of an id (e.g. '▁word', '<0x0A>'), for explanations. */
  idToToken?(id: number): string | undefined;
}
