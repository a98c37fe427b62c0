// The CUDA backend: the op contract (src/backend/ops.ts) on libbellm_cuda.so (native/cuda/), checked
// against the CPU reference by test/backend/cuda.test.ts.
//
// Precision (one per backend instance):
//   'bf16' (default): weights and activations stored as bf16, every kernel and GEMM accumulates in fp32
//                     and rounds once on store (as a bf16 Hugging Face model runs); epsilon 2^-7.
//   'fp16':           the same with IEEE fp16 storage (fp16 GEMMs through cuBLAS, fp32 accumulation):
//                     BeLLM's README runs the published evaluation in fp16; epsilon 2^-10. Values past
//                     65504 overflow to inf (the embedder then refuses a non-finite embedding).
//   'fp32':           weights and activations fp32, GEMM in fp32 (CUBLAS_COMPUTE_32F, no TF32); for
//                     checking the decoder against the float32 goldens; epsilon 2^-23.
// Pooled vectors (pool) are always fp32.
//
// Index arrays of a PackedBatch (ids, positions, starts, valid, and the attention tiles derived from
// starts) are uploaded once and cached by array identity (verified by content on every use), so the 32
// layers of a forward pass reuse one upload. RoPE cos/sin tables are built on the host from the layer
// type's inverse frequencies (RopeFreqs) and cached by their key. Device memory comes from a
// stream-ordered pool: free() is cheap and never waits for the GPU.
import type { Matrix } from '../ops.ts';
import type { Act, AttentionShape, Backend, PackedBatch, Pooling, RopeFreqs, WeightHandle } from '../ops.ts';
import {
  CudaUnavailableError, DTYPE, MASK_CODE, POOL_CODE, probeCuda,
  type CudaLib, type DevicePtr, type DTypeCode, type LibraryKind,
} from './lib.ts';

export type CudaPrecision = 'bf16' | 'fp16' | 'fp32';
export const CUDA_PRECISIONS: readonly CudaPrecision[] = ['bf16', 'fp16', 'fp32'];

export interface CudaBackendOptions {
  precision?: CudaPrecision;
  /** CUDA device index (one device per process). */
  device?: number;
  /** 'cuda' (default) or 'emu' (the CPU emulation build, for tests), or an explicit path to a build. */
  library?: LibraryKind | { kind: LibraryKind; path: string };
  /** Synchronize and check after every op (slow; pinpoints the failing op). Default: BELLM_CUDA_SYNC=1. */
  syncDebug?: boolean;
}

/** An activation or weight on the device. `ptr` is null once freed. */
export class CudaTensor implements Act, WeightHandle {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly dtype: DTypeCode,
    public ptr: DevicePtr | null,
  ) {}
}

export interface CudaMemoryStats {
  liveBytes: number;      // held by bellm tensors now
  peakBytes: number;      // most held at once since the last resetPeakMemory()
  deviceFreeBytes: number;
  deviceTotalBytes: number;
}

interface IntEntry {
  copy: Int32Array;       // host copy, to detect an array mutated after upload
  ptr: DevicePtr;
  max: number;
  tiles?: { ptr: DevicePtr; n: number };
}

interface RopeTable { rows: number; cos: DevicePtr; sin: DevicePtr; invFreq: Float64Array }

const INT_CACHE_SIZE = 32;

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function sameFloats(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export class CudaBackend implements Backend {
  readonly name: string;
  readonly epsilon: number;
  readonly precision: CudaPrecision;
  /** e.g. 'NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0; cuBLAS libcublas.so.13 (...); bellm_cuda abi 1, ...' */
  readonly description: string;
  readonly lib: CudaLib;
  private readonly dt: DTypeCode;
  private readonly ints = new Map<Int32Array, IntEntry>();
  private readonly ropeTables = new Map<string, RopeTable>();

  constructor(opts: CudaBackendOptions = {}) {
    this.precision = opts.precision ?? 'bf16';
    if (!CUDA_PRECISIONS.includes(this.precision)) throw new Error(`CUDA precision must be bf16, fp16 or fp32, got ${this.precision}`);
    const lib = opts.library ?? 'cuda';
    const probe = typeof lib === 'string' ? probeCuda({ kind: lib, device: opts.device }) : probeCuda({ ...lib, device: opts.device });
    if (!probe.ok || !probe.lib) throw new CudaUnavailableError(`CUDA backend unavailable: ${probe.reason}`);
    this.lib = probe.lib;
    this.description = probe.reason;
    this.dt = DTYPE[this.precision];
    this.epsilon = { bf16: 2 ** -7, fp16: 2 ** -10, fp32: 2 ** -23 }[this.precision];
    this.name = `${this.lib.emulated ? 'cuda-emu' : 'cuda'}-${this.precision}`;
    const sync = opts.syncDebug ?? process.env.BELLM_CUDA_SYNC === '1';
    this.lib.check(this.lib.setOption('sync_debug', sync ? 1 : 0), 'bb_set_option');
  }

  /**
   * cuBLAS picks its GEMM algorithm by shape, so a sequence's rows may be summed in another order in
   * another batch: not promised (measured on the GPU: README, "Batch invariance").
   */
  batchInvariant(): boolean {
    return false;
  }

  // ---- memory ----
  private alloc(rows: number, cols: number, dtype: DTypeCode = this.dt): CudaTensor {
    const bytes = rows * cols * (dtype === DTYPE.fp32 ? 4 : 2);
    const ptr = this.lib.malloc(bytes);
    if (!ptr) throw new Error(`cuda: cannot allocate [${rows}, ${cols}] (${(bytes / 2 ** 20).toFixed(1)} MiB): ${this.lib.lastError()}`);
    return new CudaTensor(rows, cols, dtype, ptr);
  }

  private live(x: Act | WeightHandle, op: string): CudaTensor {
    if (!(x instanceof CudaTensor)) throw new Error(`${op}: not a tensor of the CUDA backend`);
    if (x.ptr === null) throw new Error(`${op}: tensor [${x.rows}, ${x.cols}] used after free`);
    return x;
  }
  private act(x: Act | WeightHandle, op: string): DevicePtr {
    const t = this.live(x, op);
    if (t.dtype !== this.dt) throw new Error(`${op}: expects ${this.precision} tensors (pooled vectors are fp32 and final)`);
    return t.ptr!;
  }

  /** Device copy of an index array, cached by identity and checked by content. */
  private intEntry(a: Int32Array): IntEntry {
    let e = this.ints.get(a);
    if (e && !sameInts(e.copy, a)) {
      this.dropInts(a, e);
      e = undefined;
    }
    if (e) {
      this.ints.delete(a);   // most recently used last
      this.ints.set(a, e);
      return e;
    }
    const ptr = this.lib.malloc(Math.max(4, a.length * 4));
    if (!ptr) throw new Error(`cuda: cannot allocate an index array: ${this.lib.lastError()}`);
    if (a.length) this.lib.check(this.lib.uploadI32(ptr, a, a.length), 'bb_upload_i32');
    let max = -Infinity;
    for (let i = 0; i < a.length; i++) if (a[i] > max) max = a[i];
    e = { copy: a.slice(), ptr, max };
    this.ints.set(a, e);
    while (this.ints.size > INT_CACHE_SIZE) {
      const [oldest, old] = this.ints.entries().next().value as [Int32Array, IntEntry];
      this.dropInts(oldest, old);
    }
    return e;
  }
  private dropInts(a: Int32Array, e: IntEntry): void {
    this.lib.free(e.ptr);   // stream-ordered: queued kernels that read it finish first
    if (e.tiles) this.lib.free(e.tiles.ptr);
    this.ints.delete(a);
  }

  private batchOnDevice(batch: PackedBatch, rows: number, op: string): { starts: DevicePtr; valid: DevicePtr; tiles: { ptr: DevicePtr; n: number } } {
    const B = batch.count;
    if (batch.starts.length !== B + 1 || batch.valid.length !== B) throw new Error(`${op}: batch of ${B} sequences has ${batch.starts.length} starts and ${batch.valid.length} valid counts`);
    if (batch.starts[0] !== 0 || batch.starts[B] !== rows) throw new Error(`${op}: batch covers rows ${batch.starts[0]}..${batch.starts[B]}, tensor has ${rows}`);
    for (let s = 0; s < B; s++) {
      const T = batch.starts[s + 1] - batch.starts[s];
      if (!(T >= 1 && batch.valid[s] >= 1 && batch.valid[s] <= T)) throw new Error(`${op}: sequence ${s} has ${T} rows and ${batch.valid[s]} valid tokens`);
    }
    const se = this.intEntry(batch.starts);
    if (!se.tiles) {
      const bq = this.lib.attentionBlockQ();
      let cap = 0;
      for (let s = 0; s < B; s++) cap += Math.ceil((batch.starts[s + 1] - batch.starts[s]) / bq);
      const tiles = new Int32Array(2 * cap);
      const n = this.lib.attentionPlan(batch.starts, B, bq, tiles, cap);
      if (n < 0) throw new Error(`${op}: ${this.lib.lastError()}`);
      const ptr = this.lib.malloc(Math.max(8, tiles.length * 4))!;
      this.lib.check(this.lib.uploadI32(ptr, tiles, tiles.length), 'bb_upload_i32');
      se.tiles = { ptr, n };
    }
    return { starts: se.ptr, valid: this.intEntry(batch.valid).ptr, tiles: se.tiles };
  }

  /**
   * The fp32 cos/sin table [rows, headDim/2] of `freqs`, cached by freqs.key (checked by content: a key
   * reused for other frequencies rebuilds the table) and grown (doubling) when a position is past it.
   */
  private ropeTable(freqs: RopeFreqs, headDim: number, rowsNeeded: number): RopeTable {
    const key = `${freqs.key}/${headDim}`;
    const half = headDim / 2;
    let have = this.ropeTables.get(key);
    if (have && !sameFloats(have.invFreq, freqs.invFreq)) {
      this.lib.free(have.cos);
      this.lib.free(have.sin);
      this.ropeTables.delete(key);
      have = undefined;
    }
    if (have && have.rows >= rowsNeeded) return have;
    const rows = Math.max(rowsNeeded, 2 * (have?.rows ?? 0), 512);
    // Exactly ropeRef's angles: position * invFreq[i] and cos/sin in float64, then stored as fp32.
    const invFreq = freqs.invFreq.slice();
    const cos = new Float32Array(rows * half);
    const sin = new Float32Array(rows * half);
    for (let p = 0; p < rows; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * invFreq[i];
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    const c = this.alloc(rows, half, DTYPE.fp32);
    const s = this.alloc(rows, half, DTYPE.fp32);
    this.lib.check(this.lib.upload(c.ptr!, DTYPE.fp32, cos, cos.length), 'bb_upload');
    this.lib.check(this.lib.upload(s.ptr!, DTYPE.fp32, sin, sin.length), 'bb_upload');
    if (have) {
      this.lib.free(have.cos);
      this.lib.free(have.sin);
    }
    const t = { rows, cos: c.ptr!, sin: s.ptr!, invFreq };
    this.ropeTables.set(key, t);
    return t;
  }

  // ---- the op contract ----
  uploadMatrix(m: Matrix): WeightHandle {
    const data = m.data;   // once: a streamed weight (loadModel's stream option) reads its file on each access
    if (data.length !== m.rows * m.cols) throw new Error(`uploadMatrix: [${m.rows}, ${m.cols}] but ${data.length} values`);
    const t = this.alloc(m.rows, m.cols);
    this.lib.check(this.lib.upload(t.ptr!, this.dt, data, data.length), 'bb_upload');
    return t;
  }
  uploadVector(v: Float32Array): WeightHandle {
    return this.uploadMatrix({ rows: 1, cols: v.length, data: v });
  }

  embedding(table: WeightHandle, ids: Int32Array): Act {
    const tp = this.act(table, 'embedding');
    if (ids.length === 0) throw new Error('embedding: empty batch');
    for (let n = 0; n < ids.length; n++) {
      const id = ids[n];
      if (id < 0 || id >= table.rows) throw new Error(`token id ${id} outside the vocabulary (size ${table.rows})`);
    }
    const out = this.alloc(ids.length, table.cols);
    this.lib.check(this.lib.embedding(out.ptr!, tp, this.dt, this.intEntry(ids).ptr, ids.length, table.rows, table.cols), 'bb_embedding');
    return out;
  }

  rmsnorm(x: Act, weight: WeightHandle, eps: number): Act {
    const xp = this.act(x, 'rmsnorm');
    const wp = this.act(weight, 'rmsnorm');
    const h = weight.rows * weight.cols;
    if (h === 0 || x.cols % h !== 0) throw new Error(`rmsnorm: x is [${x.rows}, ${x.cols}] but the weight has ${h} values (not a divisor of ${x.cols})`);
    // G groups of h per row (G = 1: the row; G = heads: per-head q/k norms): the kernel's rows are groups.
    const groups = x.cols / h;
    const out = this.alloc(x.rows, x.cols);
    this.lib.check(this.lib.rmsnorm(out.ptr!, xp, wp, this.dt, x.rows * groups, h, eps), 'bb_rmsnorm');
    return out;
  }

  matmul(x: Act, w: WeightHandle): Act {
    const xp = this.act(x, 'matmul');
    const wp = this.act(w, 'matmul');
    if (x.cols !== w.cols) throw new Error(`matmul: x is [${x.rows}, ${x.cols}] but W is [${w.rows}, ${w.cols}]`);
    const out = this.alloc(x.rows, w.rows);
    this.lib.check(this.lib.matmul(out.ptr!, xp, wp, this.dt, x.rows, x.cols, w.rows), 'bb_matmul');
    return out;
  }

  rope(x: Act, positions: Int32Array, nHeads: number, headDim: number, freqs: RopeFreqs): void {
    const xp = this.act(x, 'rope');
    if (x.cols !== nHeads * headDim || headDim % 2 !== 0) throw new Error(`rope: x is [${x.rows}, ${x.cols}], ${nHeads} heads of ${headDim} (must be even)`);
    if (!(freqs?.invFreq instanceof Float64Array) || freqs.invFreq.length !== headDim / 2) {
      throw new Error(`rope: frequencies ${JSON.stringify(freqs?.key)} have ${freqs?.invFreq?.length} values, head_dim ${headDim} needs ${headDim / 2}`);
    }
    if (positions.length !== x.rows) throw new Error(`rope: ${positions.length} positions for ${x.rows} rows`);
    const pe = this.intEntry(positions);
    let min = 0;
    for (let i = 0; i < positions.length; i++) if (positions[i] < min) min = positions[i];
    if (min < 0) throw new Error(`rope: negative position ${min}`);
    const tab = this.ropeTable(freqs, headDim, pe.max + 1);
    this.lib.check(this.lib.rope(xp, this.dt, pe.ptr, x.rows, nHeads, headDim, tab.cos, tab.sin, tab.rows), 'bb_rope');
  }

  attention(q: Act, k: Act, v: Act, batch: PackedBatch, s: AttentionShape): Act {
    const [qp, kp, vp] = [this.act(q, 'attention'), this.act(k, 'attention'), this.act(v, 'attention')];
    const D = s.headDim;
    if (q.cols !== s.nHeads * D || k.cols !== s.nKvHeads * D || v.cols !== s.nKvHeads * D || k.rows !== q.rows || v.rows !== q.rows) {
      throw new Error(`attention: q [${q.rows}, ${q.cols}], k [${k.rows}, ${k.cols}], v [${v.rows}, ${v.cols}] do not fit ${s.nHeads} heads, ${s.nKvHeads} kv heads of ${D}`);
    }
    if (s.nHeads % s.nKvHeads !== 0) throw new Error(`attention: ${s.nHeads} heads is not a multiple of ${s.nKvHeads} kv heads`);
    if (D > 256) throw new Error(`attention: head_dim ${D} > 256 is not supported by the CUDA kernel`);
    const scale = s.scale ?? 1 / Math.sqrt(D);   // as a float, the value the kernel computed before
    if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`attention: scale must be a positive number, got ${scale}`);
    const softcap = s.softcap ?? 0;              // 0: none
    if (s.softcap != null && !(Number.isFinite(s.softcap) && s.softcap > 0)) throw new Error(`attention: softcap must be a positive number (or null: none), got ${s.softcap}`);
    if (s.window != null && !(Number.isInteger(s.window) && s.window >= 1)) throw new Error(`attention: window must be an integer >= 1 (or null: none), got ${s.window}`);
    // A window as long as the longest sequence changes nothing (|i - j| < T always): 0, none.
    const window = s.window != null && s.window < q.rows ? s.window : 0;
    const dev = this.batchOnDevice(batch, q.rows, 'attention');
    const out = this.alloc(q.rows, q.cols);
    this.lib.check(this.lib.attentionVarlen(out.ptr!, qp, kp, vp, this.dt, dev.starts, dev.valid, dev.tiles.ptr, dev.tiles.n,
      s.nHeads, s.nKvHeads, D, MASK_CODE[s.mask], batch.padKeysVisibleInBidirectional ? 1 : 0, scale, softcap, window), 'bb_attention_varlen');
    return out;
  }

  siluMul(gate: Act, up: Act): Act {
    const [gp, upp] = [this.act(gate, 'siluMul'), this.act(up, 'siluMul')];
    if (gate.rows !== up.rows || gate.cols !== up.cols) throw new Error(`siluMul: gate [${gate.rows}, ${gate.cols}] vs up [${up.rows}, ${up.cols}]`);
    const out = this.alloc(gate.rows, gate.cols);
    this.lib.check(this.lib.siluMul(out.ptr!, gp, upp, this.dt, gate.rows * gate.cols), 'bb_silu_mul');
    return out;
  }

  geluTanhMul(gate: Act, up: Act): Act {
    const [gp, upp] = [this.act(gate, 'geluTanhMul'), this.act(up, 'geluTanhMul')];
    if (gate.rows !== up.rows || gate.cols !== up.cols) throw new Error(`geluTanhMul: gate [${gate.rows}, ${gate.cols}] vs up [${up.rows}, ${up.cols}]`);
    const out = this.alloc(gate.rows, gate.cols);
    this.lib.check(this.lib.geluTanhMul(out.ptr!, gp, upp, this.dt, gate.rows * gate.cols), 'bb_gelu_tanh_mul');
    return out;
  }

  addBias(x: Act, b: WeightHandle): void {
    const [xp, bp] = [this.act(x, 'addBias'), this.act(b, 'addBias')];
    if (b.rows * b.cols !== x.cols) throw new Error(`addBias: x is [${x.rows}, ${x.cols}] but the bias has ${b.rows * b.cols} values`);
    this.lib.check(this.lib.addBias(xp, bp, this.dt, x.rows, x.cols), 'bb_add_bias');
  }

  scaleInPlace(x: Act, s: number): void {
    const xp = this.act(x, 'scaleInPlace');
    this.lib.check(this.lib.scale(xp, this.dt, x.rows * x.cols, s), 'bb_scale');
  }

  addInPlace(x: Act, y: Act): void {
    const [xp, yp] = [this.act(x, 'addInPlace'), this.act(y, 'addInPlace')];
    if (x.rows !== y.rows || x.cols !== y.cols) throw new Error(`addInPlace: x [${x.rows}, ${x.cols}] vs y [${y.rows}, ${y.cols}]`);
    this.lib.check(this.lib.add(xp, yp, this.dt, x.rows * x.cols), 'bb_add');
  }

  copy(x: Act): Act {
    const t = this.live(x, 'copy');
    const out = this.alloc(x.rows, x.cols, t.dtype);
    this.lib.check(this.lib.copy(out.ptr!, t.ptr!, x.rows * x.cols * (t.dtype === DTYPE.fp32 ? 4 : 2)), 'bb_copy');
    return out;
  }

  pool(x: Act, batch: PackedBatch, mode: Pooling): Act {
    const xp = this.act(x, 'pool');
    if (!(mode in POOL_CODE)) throw new Error(`pool: unknown pooling ${mode}`);
    const dev = this.batchOnDevice(batch, x.rows, 'pool');
    const out = this.alloc(batch.count, x.cols, DTYPE.fp32);
    const sp = batch.poolSpans;
    if (!sp) {
      this.lib.check(this.lib.pool(out.ptr!, xp, this.dt, dev.starts, dev.valid, batch.count, x.cols, POOL_CODE[mode]), 'bb_pool');
      return out;
    }
    // A span pooled on the device: only [B, H] comes back, never the tokens.
    if (sp.from.length !== batch.count || sp.to.length !== batch.count) throw new Error(`pool: ${sp.from.length}/${sp.to.length} span bounds for ${batch.count} sequences`);
    for (let s = 0; s < batch.count; s++) {
      if (!(sp.from[s] >= 0 && sp.from[s] < sp.to[s] && sp.to[s] <= batch.valid[s])) throw new Error(`pool: sequence ${s} span [${sp.from[s]}, ${sp.to[s]}) outside its ${batch.valid[s]} valid tokens`);
    }
    const [from, to] = [this.intEntry(sp.from).ptr, this.intEntry(sp.to).ptr];
    this.lib.check(this.lib.poolSpan(out.ptr!, xp, this.dt, dev.starts, from, to, batch.count, x.cols, POOL_CODE[mode]), 'bb_pool_span');
    return out;
  }

  download(x: Act): Float32Array {
    const t = this.live(x, 'download');
    const out = new Float32Array(x.rows * x.cols);
    this.lib.check(this.lib.download(out, t.ptr!, t.dtype, out.length), 'bb_download');
    return out;
  }

  free(x: Act): void {
    if (!(x instanceof CudaTensor) || x.ptr === null) return;   // idempotent, like the CPU backend
    this.lib.check(this.lib.free(x.ptr), 'bb_free');
    x.ptr = null;
  }
  freeWeight(w: WeightHandle): void {
    this.free(w);
  }

  // ---- beyond the op contract (benchmarks, tests) ----
  /** A [rows, cols] weight filled on the device with N(0, std^2) from (seed, index): no host copy. */
  randomWeight(rows: number, cols: number, std: number, seed: number): WeightHandle {
    const t = this.alloc(rows, cols);
    this.lib.check(this.lib.fillNormal(t.ptr!, this.dt, rows * cols, 0, std, BigInt(seed)), 'bb_fill_normal');
    return t;
  }
  /** A [rows, cols] weight with every value `value`. */
  constantWeight(rows: number, cols: number, value: number): WeightHandle {
    const t = this.alloc(rows, cols);
    this.lib.check(this.lib.fill(t.ptr!, this.dt, rows * cols, value), 'bb_fill');
    return t;
  }
  synchronize(): void {
    this.lib.check(this.lib.synchronize(), 'bb_synchronize');
  }
  memoryStats(): CudaMemoryStats {
    const [liveBytes, peakBytes, deviceFreeBytes, deviceTotalBytes] = this.lib.memStats();
    return { liveBytes, peakBytes, deviceFreeBytes, deviceTotalBytes };
  }
  resetPeakMemory(): void {
    this.lib.check(this.lib.memResetPeak(), 'bb_mem_reset_peak');
  }
  /** Frees the cached index arrays and RoPE tables (tensors and weights are the caller's). */
  dispose(): void {
    for (const [a, e] of [...this.ints]) this.dropInts(a, e);
    for (const t of this.ropeTables.values()) {
      this.lib.free(t.cos);
      this.lib.free(t.sin);
    }
    this.ropeTables.clear();
  }
}
