// Shared model types. Field names mirror Hugging Face's config.json and checkpoint tensor names.
import type { HalfMatrix, Matrix } from '../../backend/ops.ts';

/** The config.json model_types the decoder implements (src/model/formats/config.ts). */
export const MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** Attention kind of a layer, as transformers' `layer_types` names it. */
export type LayerType = 'full_attention' | 'sliding_attention';

/** RoPE of one layer type, as transformers' rope_parameters (the types the decoder implements). */
export interface RopeParams {
  rope_type: 'default' | 'linear' | 'llama3';
  rope_theta: number;
  /** linear and llama3: frequencies divided by this (llama3: only the low ones, the middle smoothed) */
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

/**
 * What differs between the decoder architectures, decided once from config.json (formats/config.ts)
 * and read by the loader (which tensors exist) and the decoder (which ops run).
 */
export interface ArchSpec {
  /** Attention kind per layer (length num_hidden_layers). */
  layer_types: LayerType[];
  /** Width W of the sliding-window layers (null: none). See decoder.ts for bidirectional layers. */
  sliding_window: number | null;
  /** RoPE per layer type. */
  rope: Record<LayerType, RopeParams>;
  /** q/k/v projections have biases (Qwen-2; LLaMA's attention_bias). */
  qkv_bias: boolean;
  /** o_proj has a bias (LLaMA's attention_bias). */
  o_bias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (self_attn.q_norm / k_norm: Qwen-3, Gemma-3). */
  qk_norm: boolean;
  /** RMSNorm weights are stored as w and applied as (1 + w) (Gemma); the loader folds the 1 in. */
  norm_plus_one: boolean;
  /** The token embeddings are multiplied by this (Gemma: sqrt(hidden_size) in the compute dtype); null = 1. */
  embed_scale: number | null;
  /** The MLP's gate activation. */
  act: 'silu' | 'gelu_tanh';
  /** Gemma-2/3: post-attention, pre- and post-feed-forward norms around the two blocks. */
  sandwich_norms: boolean;
  /** Attention scores are q.k times this (head_dim^-0.5, or Gemma's query_pre_attn_scalar^-0.5). */
  attn_scale: number;
  /** Gemma-2's attention logit soft-capping (null: none). */
  attn_softcap: number | null;
  /** lm_head shares embed_tokens (no lm_head tensor; the embedding forward never reads it either way). */
  tie_word_embeddings: boolean;
  /** config.json asks for bidirectional attention in every layer (EmbeddingGemma's use_bidirectional_attention). */
  bidirectional: boolean;
}

/** Normalized decoder config. Built by src/model/formats/config.ts from config.json. */
export interface LlamaConfig {
  model_type: ModelType;
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
  bos_token_id: number | null;    // default 1 (llama, mistral); Qwen has none
  pad_token_id: number | null;
  arch: ArchSpec;
}

/** The decoder config under its general name (LlamaConfig predates the other architectures). */
export type ModelConfig = LlamaConfig;

/** A dense row-major fp32 matrix (defined by the op contract, which uploads it). */
export type { Matrix };

/** A weight held as 16-bit values and widened per matmul (defined by the op contract, which uploads it). */
export type { HalfMatrix };

/**
 * One decoder layer, HF names. Linear weights are [out, in] as stored in the checkpoint (y = x W^T).
 * Norm weights are as applied: Gemma's (1 + w) is folded in at load. In LLaMA-style layers
 * post_attention_layernorm is the norm before the MLP; in Gemma's (sandwich_norms) it normalizes the
 * attention output, and pre_feedforward_layernorm is the norm before the MLP.
 */
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
  q_bias?: Float32Array;                  // [nH*D]   arch.qkv_bias
  k_bias?: Float32Array;                  // [nKV*D]
  v_bias?: Float32Array;                  // [nKV*D]
  o_bias?: Float32Array;                  // [H]      arch.o_bias
  q_norm?: Float32Array;                  // [D]      arch.qk_norm
  k_norm?: Float32Array;                  // [D]
  pre_feedforward_layernorm?: Float32Array;  // [H] arch.sandwich_norms
  post_feedforward_layernorm?: Float32Array; // [H]
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
  /**
   * The one special token the model's own template (tokenizer.json's post_processor) puts before the
   * text: LLaMA-2 <s>, Gemma <bos>, Llama-3 <|begin_of_text|>; null where it puts none (Qwen).
   */
  readonly bosId: number | null;
  /** EOS id, for templates that write {eos} (undefined when the tokenizer has none). */
  readonly eosId?: number;
  /** Every id `encode` and `pieces` return is below this (the embedding table needs at least this many rows). */
  readonly vocabSize: number;
  /**
   * The vocabulary proper, without added tokens, is below this (default vocabSize). Added special tokens
   * may lie past a model's embedding table (Gemma-3-1B's <image_soft_token> is id 262144 of 262144 rows):
   * those fail only when a text uses them.
   */
  readonly baseVocabSize?: number;
  /** Ids as the model's tokenizer gives them with add_special_tokens=True (BOS first where bosId is set). */
  encode(text: string): number[];
  /**
   * Ids of the text alone, no special tokens added (add_special_tokens=False; special-token strings in
   * the text still become their ids). SentencePiece keeps its dummy-prefix space: LLaMA-2's pieces of
   * 'Hi' are '▁Hi'.
   */
  pieces(text: string): number[];
  /**
   * A place to cut `text` that leaves the ids before it alone: the first b in [from, to) such that
   * pieces(text.slice(0, b)) is a prefix of pieces(text) and the ids after b do not depend on the text
   * before it; -1 when there is none. Absent: no cut is known to be safe (src/model/tokenize/prefix.ts
   * then tokenizes short texts whole and refuses long ones).
   */
  safeCut?(text: string, from: number, to: number): number;
  /** The vocabulary entry of an id (e.g. '▁word', '<0x0A>'), for explanations. */
  idToToken?(id: number): string | undefined;
}
