// OpenBLAS through koffi: `cblas_sgemm` for the CPU backend's matmul (x W^T) and, per (sequence,
// head), attention's QK^T and PV. Optional: when the library is missing the backend falls back to
// the cache-blocked TypeScript matmul in fast.ts and says so in its name ('cpu (js)').
//
// Debian/Ubuntu: `apt-get install -y libopenblas0-pthread`. Threads: OpenBLAS reads
// OPENBLAS_NUM_THREADS (then OMP_NUM_THREADS) when it is loaded and otherwise uses every core;
// `setThreads` changes it afterwards. BELLM_OPENBLAS_LIB=/path/to/libopenblas.so.0 picks a library.
//
// Thread timeout: after a call, OpenBLAS's worker threads spin (sched_yield) for 2^28 cycles
// (~0.1 s) before they sleep, so between matmuls they hold the other cores while JavaScript does the
// rest of the layer there. We load the library with OPENBLAS_THREAD_TIMEOUT=4 (sleep at once; a
// wake-up costs microseconds per matmul), 9% faster end to end on the 100M model on 2 cores, unless
// the environment sets it. The variable is set only around dlopen (OpenBLAS reads it once, at load),
// so child processes do not inherit it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import koffi from 'koffi';
import type { MatmulFn } from './kernels.ts';

const CblasRowMajor = 101;
const CblasNoTrans = 111;
const CblasTrans = 112;

export interface OpenBlas {
  /** The shared library that was loaded. */
  readonly path: string;
  /** openblas_get_config(), e.g. 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64' */
  readonly config: string;
  /** openblas_get_parallel(): how the library was built to use threads. */
  readonly parallel: 'sequential' | 'pthreads' | 'openmp' | 'unknown';
  threads(): number;
  setThreads(n: number): void;
  /**
   * Row-major C[M, N] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T. A, B, C may be
   * subarray views (the pointer is the view's start); lda/ldb/ldc are row strides in elements.
   * With beta = 0, C is written without being read.
   */
  sgemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  /** y += alpha * x over x.length elements (cblas_saxpy; vectorized, threaded above 10000 elements). */
  saxpy(alpha: number, x: Float32Array, y: Float32Array): void;
}

const MULTIARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu', loong64: 'loongarch64-linux-gnu',
};

/** libopenblas paths from `ldconfig -p` (empty when ldconfig is unavailable). */
function ldconfigPaths(): string[] {
  for (const exe of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const r = spawnSync(exe, ['-p'], { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0 || !r.stdout) continue;
    const out: string[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(libopenblas\S*\.so\S*)\s.*=>\s*(\S+)\s*$/.exec(line);
      if (m) out.push(m[2]);
    }
    // libopenblas.so.0 first (the runtime name), then any other variant.
    return out.sort((a, b) => Number(!a.endsWith('libopenblas.so.0')) - Number(!b.endsWith('libopenblas.so.0')));
  }
  return [];
}

/**
 * Where to look for OpenBLAS, in order: BELLM_OPENBLAS_LIB (only that, when set), the multiarch
 * directories (honouring Debian's alternatives symlink), ldconfig's cache (only asked when those
 * fail), the explicit Debian variants, other usual prefixes, and the bare soname for dlopen's search.
 */
function* candidates(): Generator<string> {
  const forced = process.env.BELLM_OPENBLAS_LIB;
  if (forced) {
    yield forced;
    return;
  }
  const ma = MULTIARCH[process.arch];
  const names = process.platform === 'darwin' ? ['libopenblas.0.dylib', 'libopenblas.dylib'] : ['libopenblas.so.0', 'libopenblas.so'];
  const inDirs = function* (dirs: string[]): Generator<string> {
    for (const d of dirs) for (const n of names) if (existsSync(`${d}/${n}`)) yield `${d}/${n}`;
  };
  yield* inDirs(ma ? [`/usr/lib/${ma}`, `/lib/${ma}`] : []);
  for (const p of ldconfigPaths()) if (existsSync(p)) yield p;
  yield* inDirs([
    ...(ma ? [`/usr/lib/${ma}/openblas-pthread`, `/usr/lib/${ma}/openblas-openmp`, `/usr/lib/${ma}/openblas-serial`] : []),
    '/usr/lib64', '/usr/lib', '/usr/local/lib', '/opt/homebrew/opt/openblas/lib', '/usr/local/opt/openblas/lib',
  ]);
  yield names[0];
}

/** Every place loadOpenBlas() would try, in order (runs ldconfig). */
export function openBlasCandidates(): string[] {
  return [...new Set(candidates())];
}

function bind(path: string): OpenBlas {
  const lib = koffi.load(path);
  const gemm = lib.func('void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)');
  const axpy = lib.func('void cblas_saxpy(int n, float alpha, const float *x, int incx, float *y, int incy)');
  const optional = (proto: string): ((...a: unknown[]) => unknown) | null => {
    try { return lib.func(proto); } catch { return null; }
  };
  const getConfig = optional('const char *openblas_get_config(void)');
  const getParallel = optional('int openblas_get_parallel(void)');
  const getThreads = optional('int openblas_get_num_threads(void)');
  const setThreads = optional('void openblas_set_num_threads(int n)');
  const par = getParallel ? Number(getParallel()) : -1;
  return {
    path,
    config: getConfig ? String(getConfig()) : 'cblas (not OpenBLAS: no openblas_get_config)',
    parallel: par === 0 ? 'sequential' : par === 1 ? 'pthreads' : par === 2 ? 'openmp' : 'unknown',
    threads: () => (getThreads ? Number(getThreads()) : 1),
    setThreads: (n: number) => {
      if (!Number.isInteger(n) || n < 1) throw new Error(`OpenBLAS thread count must be a positive integer, got ${n}`);
      if (!setThreads) throw new Error(`${path} has no openblas_set_num_threads`);
      setThreads(n);
    },
    sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      if (M === 0 || N === 0) return;
      if (K === 0) { // BLAS would only scale C by beta
        for (let r = 0; r < M; r++) for (let c = 0; c < N; c++) C[r * ldc + c] = beta === 0 ? 0 : beta * C[r * ldc + c];
        return;
      }
      gemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    },
    saxpy(alpha, x, y) {
      if (y.length < x.length) throw new Error(`saxpy: y has ${y.length} elements, x ${x.length}`);
      if (x.length > 0) axpy(x.length, alpha, x, 1, y, 1);
    },
  };
}

let cached: { blas: OpenBlas | null; tried: string[]; errors: string[] } | null = null;

/** log2 of the cycles OpenBLAS threads spin before sleeping, unless OPENBLAS_THREAD_TIMEOUT says otherwise. */
export const THREAD_TIMEOUT = 4;
const timeoutAtLoad = process.env.OPENBLAS_THREAD_TIMEOUT ?? `${THREAD_TIMEOUT} (ours)`;

/**
 * Loads OpenBLAS once per thread; null when no candidate loads (see `openBlasStatus()` for why).
 * `path` skips the search: the helper thread (threads.ts) gets the main thread's path, because the
 * search may run ldconfig, and forking while OpenBLAS works in another thread deadlocks (OpenBLAS's
 * pthread_atfork handler stops its worker threads).
 */
export function loadOpenBlas(path?: string): OpenBlas | null {
  if (cached) return cached.blas;
  const tried: string[] = [];
  const errors: string[] = [];
  for (const p of path ? [path] : candidates()) {
    if (tried.includes(p)) continue;
    tried.push(p);
    const ownTimeout = process.env.OPENBLAS_THREAD_TIMEOUT === undefined;
    if (ownTimeout) process.env.OPENBLAS_THREAD_TIMEOUT = String(THREAD_TIMEOUT);
    try {
      cached = { blas: bind(p), tried, errors };
      return cached.blas;
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      if (ownTimeout) delete process.env.OPENBLAS_THREAD_TIMEOUT;
    }
  }
  cached = { blas: null, tried, errors };
  return null;
}

/** A one-line account of the BLAS in use, or of why there is none. */
export function openBlasStatus(): string {
  const b = loadOpenBlas();
  if (b) return `${b.config.trim()} (${b.parallel}, ${b.threads()} threads, thread timeout 2^${timeoutAtLoad}) from ${b.path}`;
  return `OpenBLAS not found (tried ${cached!.tried.join(', ')}); install libopenblas0-pthread or set BELLM_OPENBLAS_LIB`;
}

/**
 * Fewest rows a matmul call gets so that, on kernels that round a row alike at every position (see
 * rowInvariant), each output row does not depend on the other rows of the batch. OpenBLAS 0.3.21 sends small products to other kernels with another summation order: the
 * SkylakeX/Cooperlake "small matrix" kernel (for this row-major x W^T: when rows * O <= 1200 and
 * K >= 32, or when O is 8, 16 or 32 and rows * O * K <= 1e6) and gemv for a single row. A sentence
 * embedded alone would then differ in the last bits from the same sentence in a batch; padding such
 * calls with zero rows keeps embeddings bit-identical whatever the batch there (checked in cpu-fast.test.ts).
 */
export function minInvariantRows(K: number, O: number): number {
  let m = 2;
  if (K >= 32) m = Math.max(m, Math.floor(1200 / O) + 1);
  if (O === 8 || O === 16 || O === 32) m = Math.max(m, Math.floor(1e6 / (O * K)) + 1);
  return m;
}

/**
 * Whether this OpenBLAS, at its current thread count, computes a row of x W^T with the same bits
 * wherever the row sits in the batch (through openBlasMatmul's padding). True on the SkylakeX,
 * Cooperlake and Sandybridge kernels of 0.3.21; false on Haswell and Zen (AVX2), whose sgemm rounds a
 * row by its position within the kernel's 12-row block and the threads' split of the rows, so a
 * sentence's embedding then depends on its batch in the last bits (README, "Batch invariance").
 * Probed once per thread count on random data (two shapes, rows at 12 offsets in 3 batch sizes).
 */
export function rowInvariant(b: OpenBlas): boolean {
  const threads = b.threads();
  const known = invariance.get(b)?.get(threads);
  if (known !== undefined) return known;
  const mm = openBlasMatmul(b);
  let same = true;
  let seed = 12345;
  const rand = (n: number) => Float32Array.from({ length: n }, () => { // LCG, values in [-0.5, 0.5)
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  });
  for (const [K, O] of [[64, 48], [256, 96]] as const) {
    const rows = 64, x = rand(rows * K), w = rand(O * K);
    const full = new Float32Array(rows * O);
    mm(x, w, rows, K, O, full);
    for (let off = 1; off <= 12 && same; off++) {
      for (const M of [1, 7, 29]) {
        const out = new Float32Array(M * O);
        mm(x.subarray(off * K), w, M, K, O, out);
        for (let i = 0; i < out.length && same; i++) same = out[i] === full[off * O + i];
      }
    }
  }
  if (!invariance.has(b)) invariance.set(b, new Map());
  invariance.get(b)!.set(threads, same);
  return same;
}
const invariance = new WeakMap<OpenBlas, Map<number, boolean>>();

/** x W^T through sgemm: x [N, K] row-major, W [O, K] row-major (the checkpoint layout), out [N, O]. */
export function openBlasMatmul(b: OpenBlas): MatmulFn {
  return (x, w, N, K, O, out) => {
    const M = minInvariantRows(K, O);
    if (N === 0 || N >= M) return b.sgemm(false, true, N, O, K, 1, x, K, w, K, 0, out, O);
    const xp = new Float32Array(M * K);
    xp.set(x.subarray(0, N * K));
    const op = new Float32Array(M * O);
    b.sgemm(false, true, M, O, K, 1, xp, K, w, K, 0, op, O);
    out.set(op.subarray(0, N * O));
  };
}
