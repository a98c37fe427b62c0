// The op contract: every compute backend (CPU reference, CUDA) implements this one interface.
// The decoder (src/model/arch/decoder.ts) is written once against it and never sees which backend runs.

/** A dense row-major fp32 matrix, as a backend uploads it. `data.length === rows * cols`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * A weight kept in memory as 16-bit values (CPU `--dtype bf16|fp16`, src/model/formats/half-matrix.ts) and
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

/** Attention masking for one layer. Padding keys are always masked unless the batch says otherwise. */
export type MaskMode = 'causal' | 'bidirectional';

export type Pooling = 'last' | 'avg' | 'first' | 'weighted';
export const POOLINGS: readonly Pooling[] = ['last', 'avg', 'first', 'weighted'];

/**
 * Sequences packed back to back, no padding between them (varlen). Token t of sequence s sits at
 * row starts[s] + t. With BiLLM mask compatibility a sequence may carry trailing padding tokens:
 * then `valid[s]` < its length and `padKeysVisibleInBidirectional` says whether bidirectional
 * layers see them (BiLLM's released code does; correct masking does not).
 */
export interface PackedBatch {
  readonly count: number;                 // B sequences
  readonly starts: Int32Array;            // [B+1] row offsets; starts[B] = N tokens
  readonly valid: Int32Array;             // [B] non-padding tokens of each sequence (a prefix)
  readonly ids: Int32Array;               // [N] token ids
  readonly positions: Int32Array;         // [N] RoPE positions (0.. within each sequence)
  readonly padKeysVisibleInBidirectional: boolean;
  /** Rows each sequence pools over (a prompt template's marked span); absent = its valid tokens. */
  readonly poolSpans?: PoolSpans;
}

/** Per sequence s, pooling reads its rows [from[s], to[s]) (offsets within the sequence), 0 <= from < to <= valid. */
export interface PoolSpans {
  readonly from: Int32Array;              // [B]
  readonly to: Int32Array;                // [B]
}

/** An activation tensor [rows, cols] living on a backend. Opaque outside the backend. */
export interface Act {
  readonly rows: number;
  readonly cols: number;
}

/** A weight living on a backend: a [out, in] matrix (used as y = x W^T) or a vector. */
export interface WeightHandle {
  readonly rows: number;
  readonly cols: number;
}

export interface AttentionShape {
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  mask: MaskMode;
  /** Multiplies q.k before the softmax; default 1 / sqrt(headDim) (Gemma: query_pre_attn_scalar^-0.5). */
  scale?: number;
  /** Gemma-2's logit soft-capping: scores -> cap * tanh(scores / cap), after `scale`; null/absent = none. */
  softcap?: number | null;
  /**
   * Sliding window: query i sees key j only when |i - j| < window (on top of the mask, so a causal
   * layer keeps 0 <= i - j < window). null/absent = no window. A window longer than the sequence
   * changes nothing. The decoder picks the width (src/model/arch/decoder.ts).
   */
  window?: number | null;
}

/**
 * RoPE inverse frequencies of one layer type, [headDim / 2], float64 (src/model/arch/rope.ts).
 * `key` names them for the backends' cos/sin table caches: equal keys mean equal frequencies.
 */
export interface RopeFreqs {
  readonly key: string;
  readonly invFreq: Float64Array;
}

export interface Backend {
  readonly name: string;
  /** Relative precision of the compute (fp32: ~1e-7, bf16: ~8e-3); tests derive tolerances from it. */
  readonly epsilon: number;
  /**
   * Whether a sequence's outputs are bit-identical whatever else is in its batch. Where false they
   * agree within the compute precision's rounding (README, "Batch invariance"); the same batch always
   * gives the same bits.
   */
  batchInvariant(): boolean;

  uploadMatrix(m: Matrix): WeightHandle;
  uploadVector(v: Float32Array): WeightHandle;

  /** rows of `table` for each id: [N, H] */
  embedding(table: WeightHandle, ids: Int32Array): Act;
  /**
   * x / rms(x) * w over each group of w.cols values: [N, G * w.cols] with G >= 1 groups per row (G = 1:
   * the row; G = heads: Qwen-3/Gemma-3's per-head q/k norms).
   */
  rmsnorm(x: Act, weight: WeightHandle, eps: number): Act;
  /** x W^T: [N, in] x [out, in] -> [N, out] */
  matmul(x: Act, w: WeightHandle): Act;
  /**
   * Rotary embedding (Hugging Face rotate_half layout), in place on [N, nHeads*headDim]: angle
   * position * invFreq[i] in float64, for the pair (i, i + headDim/2).
   */
  rope(x: Act, positions: Int32Array, nHeads: number, headDim: number, freqs: RopeFreqs): void;
  /** Scaled dot-product attention per sequence of the packed batch, GQA: [N, nHeads*headDim]. */
  attention(q: Act, k: Act, v: Act, batch: PackedBatch, shape: AttentionShape): Act;
  /** silu(gate) * up, elementwise: [N, F] */
  siluMul(gate: Act, up: Act): Act;
  /** gelu_tanh(gate) * up, elementwise (Gemma's GeGLU, PyTorch's gelu(approximate='tanh')): [N, F] */
  geluTanhMul(gate: Act, up: Act): Act;
  /** x[n, :] += b, in place (Qwen-2's q/k/v biases): x [N, b.cols] */
  addBias(x: Act, b: WeightHandle): void;
  /** x *= s, in place (Gemma's embedding normalizer) */
  scaleInPlace(x: Act, s: number): void;
  /** x += y in place */
  addInPlace(x: Act, y: Act): void;
  copy(x: Act): Act;
  /**
   * One pooled vector per sequence: [B, H], over its batch.poolSpans range, else its valid tokens.
   * last/first: the range's last/first row; avg: its mean; weighted: weights 1..n over its n rows.
   */
  pool(x: Act, batch: PackedBatch, mode: Pooling): Act;
  download(x: Act): Float32Array;
  free(x: Act): void;
  freeWeight(w: WeightHandle): void;
}

/** For backends that grow one op at a time: a missing op fails loudly with its name. */
export function notImplemented(backend: string, op: string): never {
  throw new Error(`not implemented on ${backend}: ${op}`);
}
