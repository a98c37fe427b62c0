// koffi bindings of native/cuda/bb.h (the C ABI of libbellm_cuda.so), one typed function per symbol,
// plus probeCuda(): can this process run the CUDA backend, and if not, why.
//
// Two builds of the same source (scripts/build-cuda.mjs): 'cuda' = libbellm_cuda.so (nvcc, needs an
// sm_80+ GPU and cuBLAS at run time), 'emu' = libbellm_cuda_emu.so (the kernels run on the CPU by
// native/cuda/emu.h, for tests on machines without a GPU).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { findCublas } from './cublas-path.ts';
import type { MaskMode, Pooling } from '../ops.ts';

/** Must equal BB_ABI_VERSION in native/cuda/bb.h. */
export const ABI_VERSION = 5;

export const DTYPE = { fp32: 0, bf16: 1, fp16: 2 } as const;   // BB_F32, BB_BF16, BB_F16
export type DTypeCode = (typeof DTYPE)[keyof typeof DTYPE];
export const MASK_CODE: Record<MaskMode, number> = { causal: 0, bidirectional: 1 };
export const POOL_CODE: Record<Pooling, number> = { last: 0, avg: 1, first: 2, weighted: 3 };

/** A device pointer returned by bb_malloc (a koffi External): opaque to TypeScript. */
export type DevicePtr = object;

export type LibraryKind = 'cuda' | 'emu';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUILD_DIR = join(repoRoot, 'native', 'cuda', 'build');

/** Where the library is looked for: BELLM_CUDA_LIB (real build only), else native/cuda/build/. */
export function libraryPath(kind: LibraryKind = 'cuda'): string {
  if (kind === 'cuda' && process.env.BELLM_CUDA_LIB) return resolve(process.env.BELLM_CUDA_LIB);
  return join(BUILD_DIR, kind === 'cuda' ? 'libbellm_cuda.so' : 'libbellm_cuda_emu.so');
}

/** The CUDA backend cannot be used here (library missing or stale, no GPU, no cuBLAS). */
export class CudaUnavailableError extends Error {
  override name = 'CudaUnavailableError';
}

/** A native call failed; the message is bb_last_error(). */
export class CudaError extends Error {
  override name = 'CudaError';
  constructor(readonly op: string, readonly code: number, detail: string) {
    super(`${op} failed (${['ok', 'bad argument', 'CUDA error', 'cuBLAS error', 'bad state'][code] ?? `code ${code}`}): ${detail}`);
  }
}

export interface CudaLib {
  readonly path: string;
  readonly kind: LibraryKind;
  readonly emulated: boolean;
  readonly buildInfo: string;

  lastError(): string;
  /** Throws CudaError(op, rc, bb_last_error()) unless rc is 0. */
  check(rc: number, op: string): void;

  deviceCount(): number;
  deviceDescribe(device: number): string;
  init(device: number): number;
  /** bb_shutdown: destroy the cuBLAS handle and the stream (freeAll: free live buffers first). */
  shutdown(freeAll: number): number;
  cublasInfo(): string;
  synchronize(): number;
  setOption(name: string, value: number): number;

  malloc(bytes: number): DevicePtr | null;
  free(p: DevicePtr): number;
  /** [live bytes, peak live bytes, device free, device total] */
  memStats(): [number, number, number, number];
  memResetPeak(): number;
  upload(dst: DevicePtr, dt: DTypeCode, src: Float32Array, n: number): number;
  download(dst: Float32Array, src: DevicePtr, dt: DTypeCode, n: number): number;
  uploadI32(dst: DevicePtr, src: Int32Array, n: number): number;
  copy(dst: DevicePtr, src: DevicePtr, bytes: number): number;
  fillNormal(dst: DevicePtr, dt: DTypeCode, n: number, mean: number, std: number, seed: bigint): number;
  fill(dst: DevicePtr, dt: DTypeCode, n: number, value: number): number;

  f32ToBf16(src: Float32Array, dst: Uint16Array, n: number): void;
  bf16ToF32(src: Uint16Array, dst: Float32Array, n: number): void;
  f32ToF16(src: Float32Array, dst: Uint16Array, n: number): void;
  f16ToF32(src: Uint16Array, dst: Float32Array, n: number): void;
  attentionBlockQ(): number;
  attentionPlan(starts: Int32Array, count: number, blockQ: number, tiles: Int32Array, cap: number): number;

  embedding(out: DevicePtr, table: DevicePtr, dt: DTypeCode, ids: DevicePtr, n: number, vocab: number, h: number): number;
  rmsnorm(out: DevicePtr, x: DevicePtr, w: DevicePtr, dt: DTypeCode, n: number, h: number, eps: number): number;
  matmul(out: DevicePtr, x: DevicePtr, w: DevicePtr, dt: DTypeCode, n: number, k: number, o: number): number;
  rope(x: DevicePtr, dt: DTypeCode, positions: DevicePtr, n: number, nHeads: number, headDim: number,
    cos: DevicePtr, sin: DevicePtr, tabRows: number): number;
  attentionVarlen(out: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, dt: DTypeCode, starts: DevicePtr,
    valid: DevicePtr, tiles: DevicePtr, nTiles: number, nHeads: number, nKvHeads: number, headDim: number,
    mask: number, padKeysVisible: number, scale: number, softcap: number, window: number): number;
  siluMul(out: DevicePtr, gate: DevicePtr, up: DevicePtr, dt: DTypeCode, n: number): number;
  geluTanhMul(out: DevicePtr, gate: DevicePtr, up: DevicePtr, dt: DTypeCode, n: number): number;
  add(x: DevicePtr, y: DevicePtr, dt: DTypeCode, n: number): number;
  addBias(x: DevicePtr, b: DevicePtr, dt: DTypeCode, rows: number, cols: number): number;
  scale(x: DevicePtr, dt: DTypeCode, n: number, s: number): number;
  pool(out: DevicePtr, x: DevicePtr, dt: DTypeCode, starts: DevicePtr, valid: DevicePtr, count: number, h: number, mode: number): number;
  poolSpan(out: DevicePtr, x: DevicePtr, dt: DTypeCode, starts: DevicePtr, from: DevicePtr, to: DevicePtr, count: number, h: number, mode: number): number;
}

const loaded = new Map<string, CudaLib>();

/**
 * Loads (once per path) and binds the library. Throws CudaUnavailableError with what to do when the
 * file is missing, does not load, or was built from another ABI version.
 */
export function loadCudaLibrary(kind: LibraryKind = 'cuda', path = libraryPath(kind)): CudaLib {
  const cached = loaded.get(path);
  if (cached) return cached;
  const rebuild = kind === 'cuda'
    ? 'run `npm run build:cuda` (needs nvcc; see native/cuda/bb.h)'
    : 'run `node scripts/build-cuda.mjs --emu-only` (needs g++ only)';
  if (!existsSync(path)) throw new CudaUnavailableError(`${path} not found: ${rebuild}`);
  let h: ReturnType<typeof koffi.load>;
  try {
    h = koffi.load(path);
  } catch (e) {
    throw new CudaUnavailableError(`${path} does not load (${(e as Error).message}): ${rebuild}`);
  }
  const f = (sig: string) => h.func(sig);
  const abi = f('int bb_abi_version()')() as number;
  if (abi !== ABI_VERSION) {
    throw new CudaUnavailableError(`${path} has ABI version ${abi}, this code expects ${ABI_VERSION}: ${rebuild}`);
  }
  const lastError = f('const char *bb_last_error()');
  const describe = f('int bb_device_describe(int device, _Out_ char *buf, int len)');
  const memStats = f('int bb_mem_stats(_Out_ uint64_t *out)');
  const lib: CudaLib = {
    path,
    kind,
    emulated: (f('int bb_is_emulated()')() as number) === 1,
    buildInfo: f('const char *bb_build_info()')() as string,
    lastError: () => lastError() as string,
    check(rc, op) {
      if (rc !== 0) throw new CudaError(op, rc, lib.lastError());
    },
    deviceCount: f('int bb_device_count()'),
    deviceDescribe(device) {
      const buf = Buffer.alloc(512);
      const rc = describe(device, buf, buf.length) as number;
      if (rc !== 0) return `device ${device} (${lib.lastError()})`;
      return buf.toString('utf8', 0, buf.indexOf(0) >= 0 ? buf.indexOf(0) : buf.length);
    },
    init: f('int bb_init(int device)'),
    shutdown: f('int bb_shutdown(int free_all)'),
    cublasInfo: f('const char *bb_cublas_info()'),
    synchronize: f('int bb_synchronize()'),
    setOption: f('int bb_set_option(const char *name, int64_t value)'),

    malloc: f('void *bb_malloc(size_t bytes)'),
    free: f('int bb_free(void *p)'),
    memStats() {
      const out = new BigUint64Array(4);
      lib.check(memStats(out) as number, 'bb_mem_stats');
      return [Number(out[0]), Number(out[1]), Number(out[2]), Number(out[3])];
    },
    memResetPeak: f('int bb_mem_reset_peak()'),
    upload: f('int bb_upload(void *dst, int dt, const float *src, size_t n)'),
    download: f('int bb_download(_Out_ float *dst, const void *src, int dt, size_t n)'),
    uploadI32: f('int bb_upload_i32(void *dst, const int32_t *src, size_t n)'),
    copy: f('int bb_copy(void *dst, const void *src, size_t bytes)'),
    fillNormal: f('int bb_fill_normal(void *dst, int dt, size_t n, float mean, float std, uint64_t seed)'),
    fill: f('int bb_fill(void *dst, int dt, size_t n, float value)'),

    f32ToBf16: f('void bb_f32_to_bf16(const float *src, _Out_ uint16_t *dst, size_t n)'),
    bf16ToF32: f('void bb_bf16_to_f32(const uint16_t *src, _Out_ float *dst, size_t n)'),
    f32ToF16: f('void bb_f32_to_f16(const float *src, _Out_ uint16_t *dst, size_t n)'),
    f16ToF32: f('void bb_f16_to_f32(const uint16_t *src, _Out_ float *dst, size_t n)'),
    attentionBlockQ: f('int bb_attention_block_q()'),
    attentionPlan: f('int bb_attention_plan(const int32_t *starts, int count, int block_q, _Out_ int32_t *tiles, int cap)'),

    embedding: f('int bb_embedding(void *out, const void *table, int dt, const void *ids, int n, int vocab, int h)'),
    rmsnorm: f('int bb_rmsnorm(void *out, const void *x, const void *w, int dt, int n, int h, float eps)'),
    matmul: f('int bb_matmul(void *out, const void *x, const void *w, int dt, int n, int k, int o)'),
    rope: f('int bb_rope(void *x, int dt, const void *positions, int n, int n_heads, int head_dim, const void *cos_tab, const void *sin_tab, int tab_rows)'),
    attentionVarlen: f('int bb_attention_varlen(void *out, const void *q, const void *k, const void *v, int dt, const void *starts, const void *valid, const void *tiles, int n_tiles, int n_heads, int n_kv_heads, int head_dim, int mask, int pad_keys_visible, float scale, float softcap, int window)'),
    siluMul: f('int bb_silu_mul(void *out, const void *gate, const void *up, int dt, size_t n)'),
    geluTanhMul: f('int bb_gelu_tanh_mul(void *out, const void *gate, const void *up, int dt, size_t n)'),
    add: f('int bb_add(void *x, const void *y, int dt, size_t n)'),
    addBias: f('int bb_add_bias(void *x, const void *b, int dt, int rows, int cols)'),
    scale: f('int bb_scale(void *x, int dt, size_t n, float s)'),
    pool: f('int bb_pool(void *out, const void *x, int dt, const void *starts, const void *valid, int count, int h, int mode)'),
    poolSpan: f('int bb_pool_span(void *out, const void *x, int dt, const void *starts, const void *from, const void *to, int count, int h, int mode)'),
  };
  loaded.set(path, lib);
  return lib;
}

export interface CudaProbe {
  ok: boolean;
  /** One human-readable line: the device and cuBLAS when ok, else why not and what to do. */
  reason: string;
  lib?: CudaLib;
  device?: string;
}

/**
 * Can the CUDA backend run here? Loads the library, counts devices, and initializes `device` (which
 * creates the CUDA context and loads cuBLAS: the same steps CudaBackend takes). Never throws.
 */
export function probeCuda(opts: { kind?: LibraryKind; path?: string; device?: number } = {}): CudaProbe {
  const kind = opts.kind ?? 'cuda';
  const device = opts.device ?? 0;
  let lib: CudaLib;
  try {
    lib = loadCudaLibrary(kind, opts.path ?? libraryPath(kind));
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const n = lib.deviceCount();
  if (n < 0) return { ok: false, lib, reason: `no usable CUDA device (${lib.lastError()})` };
  if (n === 0) return { ok: false, lib, reason: 'no CUDA device' };
  if (device < 0 || device >= n) return { ok: false, lib, reason: `CUDA device ${device} does not exist (${n} found)` };
  const desc = lib.deviceDescribe(device);
  if (!lib.emulated) locateCublas();
  if (lib.init(device) !== 0) return { ok: false, lib, device: desc, reason: `${desc}: ${lib.lastError()}` };
  shutdownAtExit(lib);
  return { ok: true, lib, device: desc, reason: `${desc}; cuBLAS ${lib.cublasInfo()}; ${lib.buildInfo}` };
}

/** Point BELLM_CUBLAS at a cuBLAS that only a Python environment holds (cublas-path.ts), once. */
let cublasLocated = false;
function locateCublas(): void {
  if (cublasLocated) return;
  cublasLocated = true;
  const found = findCublas({
    loads: (name) => {
      try {
        koffi.load(name);
        return true;
      } catch {
        return false;
      }
    },
  });
  if (found.path) process.env.BELLM_CUBLAS = found.path;   // getenv() in bb_init sees it
}

/** Destroy the cuBLAS handle and the stream when the process exits (weights are freed with them). */
const exitHooks = new Set<CudaLib>();
function shutdownAtExit(lib: CudaLib): void {
  if (exitHooks.has(lib)) return;
  exitHooks.add(lib);
  process.once('exit', () => {
    lib.shutdown(1);
  });
}
