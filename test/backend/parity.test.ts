// The shared op suite (tfjs's run-every-backend-on-core's-tests, STYLE.md section 2): every available
// backend against the CPU reference build, op by op through the Backend interface (upload, op,
// download), on seeded random inputs: odd sizes, GQA and MQA, packed varlen and BiLLM-compat padded
// batches, causal and bidirectional masks, every pooling.
//
// Tolerance follows the backend's precision, not the test: |got - want| <= ABS x eps x max|want|
// + REL x eps x |want|, eps = backend.epsilon (fp32 ~1.2e-7, bf16 ~8e-3). A failure names the op,
// the shapes, the max diff and the first bad index. A backend that cannot run here is skipped with
// its reason (logged), never silently; with BELLM_REQUIRE_GPU=1 an unavailable GPU backend fails.
//
// Adding a backend: one entry in CANDIDATES returning the backend or a skip reason.
import test, { type ExecutionContext } from 'ava';
import { loadOpenBlas, openBlasStatus } from '../../src/backend/cpu/blas.ts';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import type { Act, Backend, MaskMode, PackedBatch, Pooling } from '../../src/backend/ops.ts';
import { POOLINGS } from '../../src/backend/ops.ts';
import { packBatch, packBatchBillmCompat } from '../../src/model/arch/batch.ts';
import { mulberry32 as rng } from '../../src/eval/sentence-level.ts';
import { invFreqOf } from '../../src/model/arch/rope.ts';

const ABS = 8;
const REL = 8;

interface Candidate { label: string; make: () => Promise<Backend | string> }

/**
 * src/backend/cuda/backend.ts's CudaBackend with these options, or why not: no such module in
 * this build, no library, no GPU. Imported by a computed path so a CPU-only tree still compiles.
 */
async function cudaBackend(opts: Record<string, unknown>): Promise<Backend | string> {
  const path = '../../src/backend/cuda/backend.ts';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(path)) as Record<string, unknown>;
  } catch (e) {
    return `no CUDA backend in this build (${(e as Error).message.split('\n')[0]})`;
  }
  const Ctor = mod.CudaBackend as (new (o: Record<string, unknown>) => Backend) | undefined;
  if (typeof Ctor !== 'function') return 'src/backend/cuda/backend.ts exports no CudaBackend class';
  try {
    return new Ctor(opts);
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

const CANDIDATES: Candidate[] = [
  { label: 'cpu (openblas)', make: async () => (loadOpenBlas() ? new CpuBackend({ blas: 'openblas' }) : openBlasStatus()) },
  { label: 'cpu (js)', make: async () => new CpuBackend({ blas: 'js' }) },
  { label: 'cuda fp32', make: () => cudaBackend({ precision: 'fp32' }) },
  { label: 'cuda bf16', make: () => cudaBackend({ precision: 'bf16' }) },
  // the CUDA kernels compiled for the CPU (native/cuda emulation build), when it is built
  { label: 'cuda-emu fp32', make: () => cudaBackend({ precision: 'fp32', library: 'emu' }) },
  { label: 'cuda-emu bf16', make: () => cudaBackend({ precision: 'bf16', library: 'emu' }) },
];

const REQUIRE_GPU = process.env.BELLM_REQUIRE_GPU === '1';
const reference = new CpuBackend({ reference: true });
const made = new Map<string, Promise<Backend | string>>();
const backendFor = (c: Candidate): Promise<Backend | string> => {
  if (!made.has(c.label)) made.set(c.label, c.make());
  return made.get(c.label)!;
};

// ---------------------------------------------------------------------------------------------
function rand(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + (2 * r() - 1) * scale;
  return a;
}

function mismatch(label: string, got: Float32Array, want: Float32Array, eps: number): string | null {
  if (got.length !== want.length) return `${label}: ${got.length} values, expected ${want.length}`;
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  let maxDiff = 0, first = -1, bad = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= maxDiff)) maxDiff = d;
    if (!(d <= ABS * eps * maxAbs + REL * eps * Math.abs(want[i]))) { bad++; if (first < 0) first = i; }
  }
  if (bad === 0) return null;
  return `${label}: ${bad} of ${want.length} values off, max |diff| ${maxDiff.toExponential(3)} (max |ref| ${maxAbs.toExponential(3)}, eps ${eps}), first bad [${first}]: got ${got[first]}, want ${want[first]}`;
}

/** Runs `op` on the backend under test and on the reference with the same uploaded inputs, compares the download. */
function same(t: ExecutionContext, b: Backend, label: string, op: (k: Backend) => Act): void {
  const got = op(b), want = op(reference);
  t.is(`${got.rows}x${got.cols}`, `${want.rows}x${want.cols}`, `${label}: shape`);
  t.is(mismatch(`${b.name} ${label}`, b.download(got).slice(), reference.download(want).slice(), b.epsilon), null);
  b.free(got);
  reference.free(want);
}

const act = (b: Backend, rows: number, cols: number, data: Float32Array): Act => {
  // Activations enter a backend as the output of an op: embedding of an identity table does it portably.
  const table = b.uploadMatrix({ rows, cols, data });
  return b.embedding(table, Int32Array.from({ length: rows }, (_, i) => i));
};

const seqs = (lens: number[]): number[][] => lens.map((L, s) => Array.from({ length: L }, (_, i) => ((s * 131 + i * 7) % 90) + 1));
const BATCHES: [string, PackedBatch][] = [
  ['packed varlen [1, 2, 7, 16, 33, 70]', packBatch(seqs([1, 2, 7, 16, 33, 70]))],
  ['packed one sequence [19]', packBatch(seqs([19]))],
  ['compat padded [3, 20, 1, 17] -> 20', packBatchBillmCompat(seqs([3, 20, 1, 17]), 0)],
];
const tokens = (b: PackedBatch): number => b.starts[b.count];

// ---------------------------------------------------------------------------------------------
type OpCase = (t: ExecutionContext, b: Backend) => void;
const OPS: Record<string, OpCase> = {
  embedding(t, b) {
    const V = 50, H = 37;
    const data = rand(V * H, 1);
    const ids = Int32Array.from([0, 49, 3, 3, 17, 0, 48]);
    same(t, b, `embedding [${V}x${H}] ids ${ids.length}`, (k) => k.embedding(k.uploadMatrix({ rows: V, cols: H, data }), ids));
  },
  rmsnorm(t, b) {
    for (const [N, H, scale] of [[13, 37, 1], [1, 4096, 1], [5, 64, 1e-3], [3, 129, 200]]) {
      const x = rand(N * H, N + H, scale), w = rand(H, H, 0.2, 1);
      same(t, b, `rmsnorm [${N}, ${H}] scale ${scale}`, (k) => k.rmsnorm(act(k, N, H, x), k.uploadVector(w), 1e-5));
    }
  },
  matmul(t, b) {
    for (const [N, K, O] of [[1, 1, 1], [7, 37, 19], [33, 130, 67], [64, 256, 176], [3, 1000, 5], [130, 64, 32]]) {
      const x = rand(N * K, N * 7 + K), w = rand(O * K, O * 3 + K, 1 / Math.sqrt(K));
      same(t, b, `matmul [${N}x${K}] x [${O}x${K}]^T`, (k) => k.matmul(act(k, N, K, x), k.uploadMatrix({ rows: O, cols: K, data: w })));
    }
  },
  rope(t, b) {
    for (const [name, batch] of BATCHES) {
      for (const [nH, D, theta] of [[3, 16, 10000], [2, 64, 10000], [1, 128, 500000]]) {
        const N = tokens(batch);
        const x = rand(N * nH * D, N + D, 2);
        same(t, b, `rope ${name} nHeads ${nH} D ${D} theta ${theta}`, (k) => {
          const a = act(k, N, nH * D, x);
          k.rope(a, batch.positions, nH, D, { key: `t${theta}`, invFreq: invFreqOf({ rope_type: 'default', rope_theta: theta }, D) });
          return a;
        });
      }
    }
  },
  attention(t, b) {
    for (const [name, batch] of BATCHES) {
      for (const [nH, nKV, D] of [[4, 2, 16], [3, 3, 64], [6, 1, 8], [2, 1, 128]]) {
        for (const mask of ['causal', 'bidirectional'] as MaskMode[]) {
          const N = tokens(batch);
          const q = rand(N * nH * D, N + nH, 2), kk = rand(N * nKV * D, N + nKV, 2), v = rand(N * nKV * D, N + D);
          same(t, b, `attention ${name} nH ${nH} nKV ${nKV} D ${D} ${mask}`, (k) =>
            k.attention(act(k, N, nH * D, q), act(k, N, nKV * D, kk), act(k, N, nKV * D, v), batch, { nHeads: nH, nKvHeads: nKV, headDim: D, mask }));
        }
      }
    }
  },
  siluMul(t, b) {
    for (const [N, F] of [[9, 177], [1, 1], [40, 2048]]) {
      const g = rand(N * F, N + F, 8), u = rand(N * F, F, 2);
      same(t, b, `siluMul [${N}, ${F}]`, (k) => k.siluMul(act(k, N, F, g), act(k, N, F, u)));
    }
  },
  addInPlace(t, b) {
    const N = 9, H = 37;
    const x = rand(N * H, 1), y = rand(N * H, 2);
    same(t, b, `addInPlace [${N}, ${H}]`, (k) => {
      const a = act(k, N, H, x);
      const c = act(k, N, H, y);
      k.addInPlace(a, c);
      k.free(c);
      return a;
    });
  },
  copy(t, b) {
    const N = 5, H = 33;
    const x = rand(N * H, 3);
    same(t, b, `copy [${N}, ${H}] is independent of its source`, (k) => {
      const a = act(k, N, H, x);
      const c = k.copy(a);
      k.addInPlace(a, a); // changing the source must not change the copy
      k.free(a);
      return c;
    });
  },
  pool(t, b) {
    for (const [name, batch] of BATCHES) {
      const N = tokens(batch), H = 23;
      const x = rand(N * H, N, 3);
      for (const mode of POOLINGS as readonly Pooling[]) {
        same(t, b, `pool ${mode} ${name}`, (k) => k.pool(act(k, N, H, x), batch, mode));
      }
    }
  },
};


// ---------------------------------------------------------------------------------------------
// The ops added for Qwen-2/3, Llama-3 and Gemma-2/3 (ops.ts): GeGLU, biases, scaling, per-group RMSNorm,
// RoPE from inverse frequencies, attention scale / soft-capping / sliding window.
const NEW_OPS: Record<string, OpCase> = {
  geluTanhMul(t, b) {
    for (const [N, F] of [[9, 177], [1, 1], [40, 2048]]) {
      const g = rand(N * F, N + F + 1, 8), u = rand(N * F, F + 2, 2);
      same(t, b, `geluTanhMul [${N}, ${F}]`, (k) => k.geluTanhMul(act(k, N, F, g), act(k, N, F, u)));
    }
  },
  addBias(t, b) {
    for (const [N, H] of [[9, 37], [1, 1], [33, 640]]) {
      const x = rand(N * H, N + H, 2), bias = rand(H, H + 5, 1);
      same(t, b, `addBias [${N}, ${H}]`, (k) => {
        const a = act(k, N, H, x);
        k.addBias(a, k.uploadVector(bias));
        return a;
      });
    }
  },
  scaleInPlace(t, b) {
    const N = 7, H = 129;
    const x = rand(N * H, 4, 3);
    for (const s of [Math.sqrt(2048), 0.125, -3]) {
      same(t, b, `scaleInPlace [${N}, ${H}] by ${s}`, (k) => {
        const a = act(k, N, H, x);
        k.scaleInPlace(a, s);
        return a;
      });
    }
  },
  rmsnormGroups(t, b) {
    for (const [N, G, H] of [[13, 4, 16], [5, 32, 128], [3, 3, 37]]) {
      const x = rand(N * G * H, N + G + H, 2), w = rand(H, H + 1, 0.2, 1);
      same(t, b, `rmsnorm [${N}, ${G} groups of ${H}]`, (k) => k.rmsnorm(act(k, N, G * H, x), k.uploadVector(w), 1e-6));
    }
  },
  ropeFreqs(t, b) {
    for (const [name, batch] of BATCHES) {
      for (const [nH, D, theta, factor] of [[3, 16, 10000, 1], [2, 64, 1e6, 8], [1, 128, 500000, 32]]) {
        const N = tokens(batch);
        const x = rand(N * nH * D, N + D + 3, 2);
        // linear scaling: frequencies divided by `factor`; a non-uniform change in the upper half
        const invFreq = invFreqOf({ rope_type: 'default', rope_theta: theta }, D).map((f, i) => (i < D / 4 ? f : f / factor));
        same(t, b, `rope ${name} nHeads ${nH} D ${D} theta ${theta} factor ${factor}`, (k) => {
          const a = act(k, N, nH * D, x);
          k.rope(a, batch.positions, nH, D, { key: `parity:${theta}:${factor}:${D}`, invFreq });
          return a;
        });
      }
    }
  },
  attentionExtras(t, b) {
    const extras: { label: string; scale?: number; softcap?: number; window?: number }[] = [
      { label: 'window 1', window: 1 },
      { label: 'window 4', window: 4 },
      { label: 'window 17 + softcap 2', window: 17, softcap: 2 },
      { label: 'window 1000 (> every T)', window: 1000 },
      { label: 'softcap 50, scale 1/sqrt(256)', softcap: 50, scale: 1 / 16 },
      { label: 'scale 0.3, softcap 1', scale: 0.3, softcap: 1 },
    ];
    for (const [name, batch] of BATCHES) {
      for (const [nH, nKV, D] of [[4, 2, 16], [2, 1, 64]]) {
        for (const e of extras) {
          for (const mask of ['causal', 'bidirectional'] as MaskMode[]) {
            const N = tokens(batch);
            const q = rand(N * nH * D, N + nH + 7, 2), kk = rand(N * nKV * D, N + nKV + 7, 2), v = rand(N * nKV * D, N + D + 7);
            same(t, b, `attention ${name} nH ${nH} nKV ${nKV} D ${D} ${mask} ${e.label}`, (k) =>
              k.attention(act(k, N, nH * D, q), act(k, N, nKV * D, kk), act(k, N, nKV * D, v), batch,
                { nHeads: nH, nKvHeads: nKV, headDim: D, mask, scale: e.scale, softcap: e.softcap, window: e.window }));
          }
        }
      }
    }
  },
};

for (const c of CANDIDATES) {
  for (const [op, run] of Object.entries({ ...OPS, ...NEW_OPS })) {
    test(`${c.label}: ${op} matches the CPU reference`, async (t) => {
      const b = await backendFor(c);
      if (typeof b === 'string') {
        // A run asked for a GPU (BELLM_REQUIRE_GPU=1, set by scripts/gpu/remote.sh) fails instead.
        if (REQUIRE_GPU && c.label.startsWith('cuda ')) return t.fail(`BELLM_REQUIRE_GPU=1 but ${c.label} is unavailable: ${b}`);
        t.log(`skipped ${c.label}: ${b}`);
        t.pass();
        return;
      }
      run(t, b);
    });
  }
}
