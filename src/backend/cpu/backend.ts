// The CPU backend: the op contract on fp32 Float32Arrays, in two builds that share this class.
//   new CpuBackend()                    fast: OpenBLAS sgemm (else the blocked TS matmul), the
//                                       kernels of fast.ts, saxpy for residual adds, and a helper
//                                       thread (threads.ts) that takes half of every SwiGLU,
//                                       RMSNorm, RoPE and attention; name 'cpu (openblas)' or 'cpu (js)'
//   new CpuBackend({ reference: true }) the plain loops of kernels.ts, name 'cpu (reference)'
// Every fast kernel is checked against its reference twin (test/backend/cpu-fast.test.ts), both
// builds against the goldens (test/model/arch/decoder-goldens.test.ts), and every op through this
// interface in test/backend/parity.test.ts. The fast build's embeddings of a sentence do not depend
// on the rest of its batch bit for bit where `batchInvariant()` says so (the JS matmul, and OpenBLAS
// kernels that round a row alike at every position: see rowInvariant in blas.ts); elsewhere (OpenBLAS's
// Haswell/Zen kernels) they agree within float32 rounding (README, "Batch invariance").
//
// Activations of the fast build come from a buffer pool: an array returned by download() stays
// valid until free() of the same tensor (the decoder copies before freeing).
import type { HalfMatrix, Matrix } from '../ops.ts';
import type { Act, AttentionShape, Backend, PackedBatch, Pooling, RopeFreqs, WeightHandle } from '../ops.ts';
import { loadOpenBlas, openBlasMatmul, openBlasStatus, rowInvariant, type OpenBlas } from './blas.ts';
import {
  addInPlaceFast, attentionFast, AttentionScratch, ATTENTION_GEMM_MIN_LEN, BufferPool, matmulBlocked, rmsnormFast, ropeFast, siluMulFast,
} from './fast.ts';
import { addBiasRef, attentionRef, geluTanhMulRef, matmulRef, poolRef, rmsnormRef, ropeRef, siluMulRef, type MatmulFn } from './kernels.ts';
import { allShared, CpuHelper, MIN_PARALLEL_WORK, ropeTable, runJob, type HelperJob, type JobContext } from './threads.ts';

export type { MatmulFn } from './kernels.ts';

export interface CpuTensor extends Act {
  readonly data: Float32Array;
}
export interface CpuWeight extends WeightHandle {
  /** fp32 values; for a 16-bit weight (`half`), empty: widened per use instead. */
  readonly data: Float32Array;
  /** A weight held as 16-bit values (--dtype bf16|fp16), widened to fp32 into a scratch buffer per matmul. */
  readonly half?: HalfMatrix;
}

export interface CpuBackendOptions {
  /** The plain reference loops of kernels.ts for every op (default false: the fast kernels). */
  reference?: boolean;
  /**
   * Matmul implementation: 'auto' (default) = OpenBLAS when it loads, else the blocked TS matmul;
   * 'openblas' = OpenBLAS or throw; 'js' = the blocked TS matmul. BELLM_CPU_BLAS overrides 'auto'.
   */
  blas?: 'auto' | 'openblas' | 'js';
  /** A custom matmul (takes precedence over `blas` for matmul; attention still uses `blas`). */
  matmul?: MatmulFn;
  /** OpenBLAS threads (openblas_set_num_threads); default: OPENBLAS_NUM_THREADS or every core. */
  threads?: number;
  /** Shortest sequence whose attention goes through sgemm (default ATTENTION_GEMM_MIN_LEN). */
  attentionGemmMinLen?: number;
  /**
   * Split SwiGLU, RMSNorm, RoPE and attention with a helper thread (threads.ts). Default: off
   * (experimental), on with BELLM_CPU_THREADS=2 and a second core. Results are the same either way.
   */
  helper?: boolean;
  name?: string;
}

const d = (a: Act): Float32Array => (a as CpuTensor).data;
const wd = (w: WeightHandle): Float32Array => (w as CpuWeight).data;

export class CpuBackend implements Backend {
  readonly name: string;
  readonly epsilon = 1.2e-7;
  /** Which kernels and matmul run: 'reference' | 'openblas' | 'js' | 'custom'. */
  readonly kind: 'reference' | 'openblas' | 'js' | 'custom';
  /** The loaded OpenBLAS, when the fast build uses it. */
  readonly blas: OpenBlas | null;
  private readonly mm: MatmulFn;
  private readonly buffers: BufferPool | null;
  private readonly ctx: JobContext;
  private readonly gemmMinLen: number;
  private readonly ref: boolean;
  private readonly helper: CpuHelper | null;
  /** fp32 copy of the 16-bit weight a matmul is using, reused (grown to the largest such weight). */
  private widened = new Float32Array(0);

  constructor(opts: CpuBackendOptions = {}) {
    this.gemmMinLen = opts.attentionGemmMinLen ?? ATTENTION_GEMM_MIN_LEN;
    this.ref = opts.reference === true;
    if (opts.reference) {
      this.kind = opts.matmul ? 'custom' : 'reference';
      this.blas = null;
      this.mm = opts.matmul ?? matmulRef;
      this.buffers = null;
      this.helper = null;
      this.ctx = { blas: null, scratch: new AttentionScratch(), ropeTables: new Map() };
      this.name = opts.name ?? 'cpu (reference)';
      return;
    }
    const env = process.env.BELLM_CPU_BLAS;
    const want = opts.blas ?? (env === 'js' || env === 'openblas' ? env : 'auto');
    const blas = want === 'js' ? null : loadOpenBlas();
    if (want === 'openblas' && !blas) throw new Error(`CPU backend: ${openBlasStatus()}`);
    if (blas && opts.threads !== undefined) blas.setThreads(opts.threads);
    this.blas = blas;
    this.kind = opts.matmul ? 'custom' : blas ? 'openblas' : 'js';
    this.mm = opts.matmul ?? (blas ? openBlasMatmul(blas) : matmulBlocked);
    // Off by default: a CI run hung in it under heavy load (see README); opt in with helper: true or BELLM_CPU_THREADS=2.
    this.helper = opts.helper === true || (opts.helper === undefined && process.env.BELLM_CPU_THREADS === '2') ? CpuHelper.shared() : null;
    this.buffers = new BufferPool(undefined, undefined, this.helper !== null);
    this.ctx = { blas, scratch: new AttentionScratch(), ropeTables: new Map() };
    this.name = opts.name ?? `cpu (${this.kind})`;
  }

  /**
   * Whether a sentence's embedding is bit-identical whatever else is in its batch: every op but the
   * matmul works row by row or sequence by sequence, so this is the matmul's row invariance (probed for
   * OpenBLAS at its current thread count; unknown, so false, for a custom matmul).
   */
  batchInvariant(): boolean {
    if (this.kind === 'reference' || this.kind === 'js') return true;
    if (this.kind === 'openblas' && this.blas) return rowInvariant(this.blas);
    return false;
  }

  /** Whether ops are split with the helper thread: it starts in the background on the first CpuBackend. */
  helperState(): 'off' | 'starting' | 'ready' | 'failed' {
    if (!this.helper) return 'off';
    if (this.helper.ready) return 'ready';
    return this.helper.failure ? 'failed' : 'starting';
  }

  /** Resolves once the helper thread is ready (or off, or failed, or after `timeoutMs`). */
  async helperSettled(timeoutMs = 10_000): Promise<'off' | 'starting' | 'ready' | 'failed'> {
    const t0 = Date.now();
    while (this.helperState() === 'starting' && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
    return this.helperState();
  }

  /** The helper thread, when it is running and these arrays are shared memory it can write. */
  private parallel(work: number, ...arrays: ArrayBufferView[]): CpuHelper | null {
    const h = this.helper;
    return h && work >= MIN_PARALLEL_WORK && h.ready && allShared(...arrays) ? h : null;
  }

  /** Runs `mine` here and `theirs` on the helper at the same time. */
  private split(h: CpuHelper, mine: HelperJob, theirs: HelperJob): void {
    h.start(theirs);
    try {
      runJob(mine, this.ctx);
    } finally {
      h.finish(this.ctx);
    }
  }


  /** One line for logs: kernels, BLAS library and threads. */
  describe(): string {
    if (this.ref) return `${this.name}: reference loops of kernels.ts${this.kind === 'custom' ? ', custom matmul' : ''}`;
    const mm = this.blas ? openBlasStatus() : this.kind === 'custom' ? 'custom' : 'blocked TypeScript (no OpenBLAS)';
    const helper = !this.helper ? 'no helper thread' : this.helper.failure ? `helper thread failed: ${this.helper.failure}` : 'a helper thread for the other ops';
    return `${this.name}: fast kernels, ${helper}; matmul ${mm}`;
  }

  private t(rows: number, cols: number): CpuTensor {
    const n = rows * cols;
    return { rows, cols, data: this.buffers ? this.buffers.take(n) : new Float32Array(n) };
  }

  uploadMatrix(m: Matrix): WeightHandle {
    if ((m as Partial<HalfMatrix>).bits instanceof Uint16Array) {
      const h = m as HalfMatrix;
      if (h.bits.length !== h.rows * h.cols) throw new Error(`uploadMatrix: ${h.bits.length} values for [${h.rows}, ${h.cols}]`);
      return { rows: h.rows, cols: h.cols, data: new Float32Array(0), half: h } as CpuWeight;
    }
    if (m.data.length !== m.rows * m.cols) throw new Error(`uploadMatrix: ${m.data.length} values for [${m.rows}, ${m.cols}]`);
    return { rows: m.rows, cols: m.cols, data: m.data } as CpuWeight;
  }

  /** The fp32 values of a weight: its own array, or a 16-bit weight widened into the reusable buffer. */
  private weightValues(w: WeightHandle): Float32Array {
    const h = (w as CpuWeight).half;
    if (!h) return wd(w);
    const n = h.rows * h.cols;
    if (this.widened.length < n) this.widened = new Float32Array(n);
    const out = this.widened.subarray(0, n);
    h.widenInto(out);
    return out;
  }
  uploadVector(v: Float32Array): WeightHandle {
    return { rows: 1, cols: v.length, data: v } as CpuWeight;
  }

  embedding(table: WeightHandle, ids: Int32Array): Act {
    const H = table.cols;
    const out = this.t(ids.length, H);
    const half = (table as CpuWeight).half;
    // A 16-bit table without an adapter is widened row by row (no full fp32 copy of the vocabulary).
    const rowsOnly = half && !half.hasLora ? half : null;
    const src = rowsOnly ? null : this.weightValues(table);
    for (let n = 0; n < ids.length; n++) {
      const id = ids[n];
      if (id < 0 || id >= table.rows) throw new Error(`token id ${id} outside the vocabulary (size ${table.rows})`);
      if (rowsOnly) rowsOnly.widenRows(id, 1, out.data.subarray(n * H, (n + 1) * H));
      else out.data.set(src!.subarray(id * H, (id + 1) * H), n * H);
    }
    return out;
  }
  rmsnorm(x: Act, weight: WeightHandle, eps: number): Act {
    if (weight.cols < 1 || x.cols % weight.cols !== 0) throw new Error(`rmsnorm: x is [${x.rows}, ${x.cols}], not groups of the weight's ${weight.cols}`);
    const out = this.t(x.rows, x.cols);
    // G groups per row are G rows of the weight's width: the same memory, [N * G, w]
    const N = x.rows * (x.cols / weight.cols), H = weight.cols, xs = d(x), w = wd(weight), o = out.data;
    if (this.ref) {
      rmsnormRef(xs, w, N, H, eps, o);
      return out;
    }
    const h = this.parallel(N * H, xs, o);
    if (h) {
      const m = N >> 1;
      this.split(h,
        { op: 'rmsnorm', x: xs.subarray(0, m * H), w, out: o.subarray(0, m * H), N: m, H, eps },
        { op: 'rmsnorm', x: xs.subarray(m * H, N * H), w, out: o.subarray(m * H, N * H), N: N - m, H, eps });
    } else rmsnormFast(xs, w, N, H, eps, o);
    return out;
  }
  matmul(x: Act, w: WeightHandle): Act {
    if (x.cols !== w.cols) throw new Error(`matmul: x is [${x.rows}, ${x.cols}] but W is [${w.rows}, ${w.cols}]`);
    const out = this.t(x.rows, w.rows);
    this.mm(d(x), this.weightValues(w), x.rows, x.cols, w.rows, out.data);
    return out;
  }
  rope(x: Act, positions: Int32Array, nHeads: number, headDim: number, freqs: RopeFreqs): void {
    if (positions.length !== x.rows || nHeads * headDim !== x.cols) {
      throw new Error(`rope: x is [${x.rows}, ${x.cols}], expected [${positions.length}, ${nHeads}*${headDim}]`);
    }
    if (this.ref) return ropeRef(d(x), positions, nHeads, headDim, freqs.invFreq);
    const xs = d(x), W = x.cols, N = x.rows;
    const h = this.parallel(N * W, xs);
    if (h) {
      const m = N >> 1;
      this.split(h,
        { op: 'rope', x: xs.subarray(0, m * W), positions: positions.subarray(0, m), nHeads, headDim, freqs },
        { op: 'rope', x: xs.subarray(m * W, N * W), positions: positions.subarray(m, N), nHeads, headDim, freqs });
    } else ropeFast(xs, positions, nHeads, ropeTable(this.ctx, headDim, freqs));
  }
  attention(q: Act, k: Act, v: Act, batch: PackedBatch, s: AttentionShape): Act {
    const out = this.t(q.rows, s.nHeads * s.headDim);
    const [qs, ks, vs, o] = [d(q), d(k), d(v), out.data];
    const extras = { scale: s.scale, softcap: s.softcap, window: s.window };
    if (this.ref) {
      attentionRef(qs, ks, vs, batch, s.nHeads, s.nKvHeads, s.headDim, s.mask, o, extras);
      return out;
    }
    // work ~ sum over sequences of T^2 (scores), split where half of it is done
    let total = 0;
    for (let i = 0; i < batch.count; i++) total += (batch.starts[i + 1] - batch.starts[i]) ** 2;
    const h = batch.count >= 2 ? this.parallel(total * s.nHeads * s.headDim / 16, qs, ks, vs, o) : null;
    if (!h) {
      attentionFast(qs, ks, vs, batch, s.nHeads, s.nKvHeads, s.headDim, s.mask, o, this.blas, this.ctx.scratch, this.gemmMinLen, true, extras);
      return out;
    }
    let cut = 0;
    for (let acc = 0; cut < batch.count - 1 && acc < total / 2; cut++) acc += (batch.starts[cut + 1] - batch.starts[cut]) ** 2;
    const job = (seqFrom: number, seqTo: number): HelperJob => ({
      op: 'attention', q: qs, k: ks, v: vs, out: o, batch, nH: s.nHeads, nKV: s.nKvHeads, D: s.headDim, mask: s.mask,
      gemmMinLen: this.gemmMinLen, useSimd: true, seqFrom, seqTo, useBlas: this.blas !== null, extras,
    });
    // both threads call sgemm at once: one OpenBLAS thread each (as attentionFast does for itself)
    const threads = this.blas ? this.blas.threads() : 1;
    if (this.blas && threads > 1) this.blas.setThreads(1);
    try {
      this.split(h, job(0, cut), job(cut, batch.count));
    } finally {
      if (this.blas && threads > 1) this.blas.setThreads(threads);
    }
    return out;
  }
  siluMul(gate: Act, up: Act): Act {
    const out = this.t(gate.rows, gate.cols);
    const [g, u, o] = [d(gate), d(up), out.data];
    if (this.ref) {
      siluMulRef(g, u, o);
      return out;
    }
    const n = g.length;
    const h = this.parallel(n, g, u, o);
    if (h) {
      const m = (n >> 4) << 3; // about half, a multiple of 8 (the SIMD kernel's step)
      this.split(h,
        { op: 'silu', gate: g.subarray(0, m), up: u.subarray(0, m), out: o.subarray(0, m) },
        { op: 'silu', gate: g.subarray(m), up: u.subarray(m), out: o.subarray(m) });
    } else siluMulFast(g, u, o);
    return out;
  }
  geluTanhMul(gate: Act, up: Act): Act {
    if (gate.rows !== up.rows || gate.cols !== up.cols) throw new Error(`geluTanhMul: [${gate.rows}, ${gate.cols}] and [${up.rows}, ${up.cols}]`);
    const out = this.t(gate.rows, gate.cols);
    geluTanhMulRef(d(gate), d(up), out.data); // Gemma only: no fast kernel yet
    return out;
  }
  addBias(x: Act, b: WeightHandle): void {
    if (b.cols !== x.cols) throw new Error(`addBias: x is [${x.rows}, ${x.cols}] but the bias has ${b.cols} values`);
    addBiasRef(d(x), wd(b));
  }
  scaleInPlace(x: Act, s: number): void {
    const xs = d(x);
    for (let i = 0; i < xs.length; i++) xs[i] *= s;
  }
  addInPlace(x: Act, y: Act): void {
    if (x.rows !== y.rows || x.cols !== y.cols) throw new Error(`addInPlace: [${x.rows}, ${x.cols}] += [${y.rows}, ${y.cols}]`);
    if (this.blas && !this.ref) this.blas.saxpy(1, d(y), d(x)); // one rounding, like the loop
    else addInPlaceFast(d(x), d(y));
  }
  copy(x: Act): Act {
    const out = this.t(x.rows, x.cols);
    out.data.set(d(x));
    return out;
  }
  pool(x: Act, batch: PackedBatch, mode: Pooling): Act {
    const out = this.t(batch.count, x.cols);
    poolRef(d(x), x.cols, batch, mode, out.data);
    return out;
  }
  download(x: Act): Float32Array {
    return d(x);
  }
  free(x: Act): void {
    this.buffers?.give(d(x));
  }
  freeWeight(_w: WeightHandle): void {}
}
