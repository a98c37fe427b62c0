// The CPU backend: the op contract on fp32 Float32Arrays, in two builds that share this class.
//   new CpuBackend()                    fast: OpenBLAS sgemm (else the blocked TS matmul) and the
//                                       kernels of fast.ts; name 'cpu (openblas)' or 'cpu (js)'
//   new CpuBackend({ reference: true }) the plain loops of kernels.ts, name 'cpu (reference)'
// Every fast kernel is checked against its reference twin (test/backend/cpu-fast.test.ts), and both
// builds against the goldens (test/model/decoder-goldens.test.ts).
//
// Activations of the fast build come from a buffer pool: an array returned by download() stays
// valid until free() of the same tensor (the decoder copies before freeing).
import type { Matrix } from '../../model/types.ts';
import type { Act, AttentionShape, Backend, PackedBatch, Pooling, WeightHandle } from '../ops.ts';
import { loadOpenBlas, openBlasMatmul, openBlasStatus, type OpenBlas } from './blas.ts';
import {
  addInPlaceFast, attentionFast, AttentionScratch, ATTENTION_GEMM_MIN_LEN, BufferPool, matmulBlocked,
  RopeTable, rmsnormFast, ropeFast, siluMulFast,
} from './fast.ts';
import { attentionRef, matmulRef, poolRef, rmsnormRef, ropeRef, siluMulRef } from './kernels.ts';

export interface CpuTensor extends Act {
  readonly data: Float32Array;
}
export interface CpuWeight extends WeightHandle {
  readonly data: Float32Array;
}

/** x W^T for x: [N, K], W: [O, K]. Replaceable by a faster implementation checked against matmulRef. */
export type MatmulFn = (x: Float32Array, w: Float32Array, N: number, K: number, O: number, out: Float32Array) => void;

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
  private readonly ropeTables = new Map<string, RopeTable>();
  private readonly scratch = new AttentionScratch();
  private readonly gemmMinLen: number;
  private readonly ref: boolean;

  constructor(opts: CpuBackendOptions = {}) {
    this.gemmMinLen = opts.attentionGemmMinLen ?? ATTENTION_GEMM_MIN_LEN;
    this.ref = opts.reference === true;
    if (opts.reference) {
      this.kind = opts.matmul ? 'custom' : 'reference';
      this.blas = null;
      this.mm = opts.matmul ?? matmulRef;
      this.buffers = null;
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
    this.buffers = new BufferPool();
    this.name = opts.name ?? `cpu (${this.kind})`;
  }

  /** One line for logs: kernels, BLAS library and threads. */
  describe(): string {
    if (this.ref) return `${this.name}: reference loops of kernels.ts${this.kind === 'custom' ? ', custom matmul' : ''}`;
    return `${this.name}: fast kernels; matmul ${this.blas ? openBlasStatus() : this.kind === 'custom' ? 'custom' : 'blocked TypeScript (no OpenBLAS)'}`;
  }

  private t(rows: number, cols: number): CpuTensor {
    const n = rows * cols;
    return { rows, cols, data: this.buffers ? this.buffers.take(n) : new Float32Array(n) };
  }

  uploadMatrix(m: Matrix): WeightHandle {
    if (m.data.length !== m.rows * m.cols) throw new Error(`uploadMatrix: ${m.data.length} values for [${m.rows}, ${m.cols}]`);
    return { rows: m.rows, cols: m.cols, data: m.data } as CpuWeight;
  }
  uploadVector(v: Float32Array): WeightHandle {
    return { rows: 1, cols: v.length, data: v } as CpuWeight;
  }

  embedding(table: WeightHandle, ids: Int32Array): Act {
    const H = table.cols;
    const out = this.t(ids.length, H);
    const src = wd(table);
    for (let n = 0; n < ids.length; n++) {
      const id = ids[n];
      if (id < 0 || id >= table.rows) throw new Error(`token id ${id} outside the vocabulary (size ${table.rows})`);
      out.data.set(src.subarray(id * H, (id + 1) * H), n * H);
    }
    return out;
  }
  rmsnorm(x: Act, weight: WeightHandle, eps: number): Act {
    const out = this.t(x.rows, x.cols);
    if (this.ref) rmsnormRef(d(x), wd(weight), x.rows, x.cols, eps, out.data);
    else rmsnormFast(d(x), wd(weight), x.rows, x.cols, eps, out.data);
    return out;
  }
  matmul(x: Act, w: WeightHandle): Act {
    if (x.cols !== w.cols) throw new Error(`matmul: x is [${x.rows}, ${x.cols}] but W is [${w.rows}, ${w.cols}]`);
    const out = this.t(x.rows, w.rows);
    this.mm(d(x), wd(w), x.rows, x.cols, w.rows, out.data);
    return out;
  }
  rope(x: Act, positions: Int32Array, nHeads: number, headDim: number, theta: number): void {
    if (positions.length !== x.rows || nHeads * headDim !== x.cols) {
      throw new Error(`rope: x is [${x.rows}, ${x.cols}], expected [${positions.length}, ${nHeads}*${headDim}]`);
    }
    if (this.ref) return ropeRef(d(x), positions, nHeads, headDim, theta);
    const key = `${headDim}:${theta}`;
    let table = this.ropeTables.get(key);
    if (!table) this.ropeTables.set(key, (table = new RopeTable(headDim, theta)));
    ropeFast(d(x), positions, nHeads, table);
  }
  attention(q: Act, k: Act, v: Act, batch: PackedBatch, s: AttentionShape): Act {
    const out = this.t(q.rows, s.nHeads * s.headDim);
    if (this.ref) {
      attentionRef(d(q), d(k), d(v), batch, s.nHeads, s.nKvHeads, s.headDim, s.mask, out.data);
    } else {
      attentionFast(d(q), d(k), d(v), batch, s.nHeads, s.nKvHeads, s.headDim, s.mask, out.data, this.blas, this.scratch, this.gemmMinLen);
    }
    return out;
  }
  siluMul(gate: Act, up: Act): Act {
    const out = this.t(gate.rows, gate.cols);
    if (this.ref) siluMulRef(d(gate), d(up), out.data);
    else siluMulFast(d(gate), d(up), out.data);
    return out;
  }
  addInPlace(x: Act, y: Act): void {
    addInPlaceFast(d(x), d(y));
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
