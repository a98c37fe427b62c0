// loadModel: config.json + safetensors checkpoint (+ optional PEFT LoRA merged at load time) -> fp32
// ModelWeights, read now or (stream) when each weight is uploaded. Everything is validated (config,
// shapes, adapter) before the first tensor is read.
import { loadOpenBlas } from '../../backend/cpu/blas.ts';
import { UserError } from '../../errors.ts';
import { Checkpoint, layerVectors, LINEAR_MODULES, linearPath, linearShape, neededTensors } from './checkpoint.ts';
import { readConfig } from './config.ts';
import { firstNonFinite, firstNonFiniteHalf, isWeightDtype, toHalfBits, widenHalf, type HalfDtype } from './dtype.ts';
import { digestOfHashes, type HashOptions } from './file-hash.ts';
import { halfMatrix } from './half-matrix.ts';
import { hashAdapterFiles, hashWeightFiles } from './model-files.ts';
import { loraInfo, mergeLora, openAdapter, type Adapter, type LoraPair } from '../adapters/lora.ts';
import type { TensorSource } from './safetensors.ts';
import type { LayerWeights, LoadedModel, Matrix } from '../arch/types.ts';

export interface LoadOptions {
  /** PEFT adapter directory to merge (W += scale * B @ A). */
  lora?: string;
  /** Load only the first n decoder layers (0 <= n <= num_hidden_layers). */
  maxLayers?: number;
  /** Called after each tensor: done of total tensors. */
  onProgress?: (done: number, total: number) => void;
  /** One-line notes, e.g. "merged LoRA ...". */
  log?: (msg: string) => void;
  /**
   * How to compute W += scale * B @ A: 'auto' (default) uses OpenBLAS sgemm when it loads (about 30x
   * faster: minutes -> seconds for a 7B adapter), else the float64-accumulating JS reference; 'js' forces
   * the reference. The two differ only in float32 rounding.
   */
  loraMerge?: 'auto' | 'js';
  /**
   * Stream the linear weights: each Matrix reads its tensor (and merges its LoRA pair) when `data` is
   * accessed, and keeps nothing. For a backend that uploads each weight once and keeps its own copy
   * (CUDA), so host memory holds one fp32 tensor at a time instead of the whole model (27 GB at 7B).
   * Every access reads the file again: read `data` once per upload.
   */
  stream?: boolean;
  /**
   * Content hashes of the weight and adapter files (the model's identity for caches and results):
   * memoized per file, `verify` re-reads them (see file-hash.ts).
   */
  hash?: HashOptions;
  /**
   * How matrices (embeddings and linears) are held: 'fp32' (default), or 'bf16' / 'fp16': 16-bit
   * values widened per matmul (HalfMatrix; about half the memory). A tensor stored in another type is
   * rounded to it (nearest even); a LoRA pair is kept in fp32 and merged on widening. Norm vectors
   * are rounded to the 16-bit type as well and held as fp32 arrays (they are small). Not with `stream`.
   */
  weightDtype?: 'fp32' | HalfDtype;
}

type MergeFn = (w: Matrix, a: Float32Array, b: Float32Array, r: number, scale: number) => void;

/** The merge to use, and its name for the log. */
function pickMerge(mode: 'auto' | 'js'): [MergeFn, string] {
  const blas = mode === 'auto' ? loadOpenBlas() : null;
  if (!blas) return [mergeLora, 'JS reference'];
  // row-major C[out, in] = scale * B[out, r] @ A[r, in] + 1 * C
  return [(w, a, b, r, scale) => blas.sgemm(false, false, w.rows, w.cols, r, scale, b, r, a, w.cols, 1, w.data, w.cols), 'OpenBLAS sgemm'];
}

/** Read one tensor as fp32 and refuse NaN/Inf, naming tensor and file. */
function readFinite(src: TensorSource, name: string, file: string): Float32Array {
  const a = src.read(name);
  const bad = firstNonFinite(a);
  if (bad >= 0) throw new UserError(`tensor ${name} in ${file} holds ${a[bad]} at flat index ${bad}; the checkpoint is damaged`);
  return a;
}

export function loadModel(dir: string, opts: LoadOptions = {}): LoadedModel {
  const config = readConfig(dir);
  const L = config.num_hidden_layers;
  const n = opts.maxLayers ?? L;
  if (!Number.isInteger(n) || n < 0 || n > L) throw new UserError(`maxLayers ${n} is out of range: ${dir} has ${L} layers`);

  const ckpt = Checkpoint.open(dir);
  ckpt.validate(config, n);
  const adapter: Adapter | null = opts.lora ? openAdapter(opts.lora, config) : null;
  // Identity: every byte of the weights, config and adapter (after validation, so bad files fail first).
  const files = hashWeightFiles(dir, opts.hash);
  const adapterFiles = opts.lora ? hashAdapterFiles(opts.lora, opts.hash) : undefined;
  const pairOf = new Map<string, LoraPair>((adapter?.pairs ?? []).map((p) => [p.module, p]));
  const [merge, mergeName] = adapter ? pickMerge(opts.loraMerge ?? 'auto') : [mergeLora, ''];

  const total = neededTensors(config, n).length;
  let done = 0, merged = 0;
  const tick = () => opts.onProgress?.(++done, total);
  const half = opts.weightDtype === 'bf16' || opts.weightDtype === 'fp16' ? opts.weightDtype : null;
  // Gemma's RMSNorm computes output * (1 + w) in float32: the 1 is added here, once, after any 16-bit rounding of w.
  const plusOne = config.arch.norm_plus_one;
  const vec = (name: string, norm = true) => {
    const v = readFinite(ckpt, name, ckpt.fileOf(name).path);
    // 16-bit weights: the norm vectors hold 16-bit values too (as a model cast to bf16/fp16 does), kept as fp32 arrays
    if (half) widenHalf(half, toHalfBits(half, v), v);
    if (norm && plusOne) for (let i = 0; i < v.length; i++) v[i] = Math.fround(1 + v[i]);
    tick();
    return v;
  };
  const read = (name: string, rows: number, cols: number, pair: LoraPair | undefined): Float32Array => {
    const data = readFinite(ckpt, name, ckpt.fileOf(name).path);
    if (pair && adapter) {
      const a = readFinite(adapter.source, pair.keyA, adapter.file); // [r, in]
      const b = readFinite(adapter.source, pair.keyB, adapter.file); // [out, r]
      merge({ rows, cols, data }, a, b, pair.r, pair.scale);
    }
    tick();
    return data;
  };
  if (half && opts.stream) throw new Error('loadModel: weightDtype 16-bit and stream cannot go together');
  const readHalf = (name: string, rows: number, cols: number, pair: LoraPair | undefined, dt: HalfDtype): Matrix => {
    const file = ckpt.fileOf(name);
    const stored = ckpt.resolve(name)!;
    const kind = file.dtype(stored);
    let bits: Uint16Array;
    if ((kind === 'BF16' && dt === 'bf16') || (kind === 'F16' && dt === 'fp16')) {
      const bytes = file.readBytes(stored);   // a fresh buffer at offset 0: aligned for 16-bit views
      bits = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
    } else if (kind === 'F32') {
      const bytes = file.readBytes(stored);   // rounded straight from the file's bytes: no second fp32 copy
      const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
      const nonFinite = firstNonFinite(values);
      if (nonFinite >= 0) throw new UserError(`tensor ${name} in ${file.path} holds ${values[nonFinite]} at flat index ${nonFinite}; the checkpoint is damaged`);
      bits = toHalfBits(dt, values);
    } else {
      if (!isWeightDtype(kind)) file.read(stored); // throws the loader's one-line error for this dtype
      bits = toHalfBits(dt, readFinite(ckpt, name, file.path));
    }
    const bad = firstNonFiniteHalf(dt, bits);
    if (bad >= 0) {
      const one = new Float32Array(1);
      widenHalf(dt, bits.subarray(bad, bad + 1), one);
      const v = one[0];
      throw new UserError(`tensor ${name} in ${file.path} holds ${v} at flat index ${bad} as ${dt}` +
        (kind === 'BF16' || kind === 'F16' ? '; the checkpoint is damaged' : ` (the ${kind} value does not fit ${dt}: use --dtype bf16 or fp32)`));
    }
    const lora = pair && adapter
      ? { a: readFinite(adapter.source, pair.keyA, adapter.file), b: readFinite(adapter.source, pair.keyB, adapter.file), r: pair.r, scale: pair.scale, merge }
      : null;
    tick();
    return halfMatrix(rows, cols, dt, bits, lora);
  };
  const mat = (name: string, rows: number, cols: number, pair?: LoraPair): Matrix => {
    if (pair) merged++;
    if (half) return readHalf(name, rows, cols, pair, half);
    if (!opts.stream) return { rows, cols, data: read(name, rows, cols, pair) };
    return { rows, cols, get data() { return read(name, rows, cols, pair); } };
  };

  const H = config.hidden_size;
  const embed_tokens = mat('model.embed_tokens.weight', config.vocab_size, H); // [V, H]
  const layers: LayerWeights[] = [];
  for (let i = 0; i < n; i++) {
    const lin = {} as Record<(typeof LINEAR_MODULES)[number], Matrix>;
    for (const m of LINEAR_MODULES) {
      const [rows, cols] = linearShape(config, m);
      lin[m] = mat(`${linearPath(i, m)}.weight`, rows, cols, pairOf.get(linearPath(i, m)));  // no pairs without an adapter
    }
    const vectors: Record<string, Float32Array> = {};
    for (const v of layerVectors(config, i)) vectors[v.field] = vec(v.name, v.norm); // norms [H] or [D], biases
    layers.push({ ...(vectors as Pick<LayerWeights, 'input_layernorm' | 'post_attention_layernorm'>), ...lin });
  }
  const norm = vec('model.norm.weight'); // [H]

  const lora = adapter ? loraInfo(adapter, merged, adapterFiles) : null;
  if (lora)
    opts.log?.(`merged LoRA ${lora.dir} (${lora.format}, r=${lora.r}, alpha=${lora.lora_alpha}, scale=${lora.scale}) into ${merged} tensors with ${mergeName}${opts.stream ? ' (as each weight is uploaded)' : half ? ` (kept in fp32 beside the ${half} weights, merged as each matmul widens them)` : ''}`);
  return { dir, config, weights: { embed_tokens, layers, norm }, lora, files, fingerprint: digestOfHashes(files), weightDtype: half ?? 'fp32' };
}
