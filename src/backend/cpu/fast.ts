// Fast CPU kernels on Float32Array (the role of llm.c's train_gpt2.cu beside train_gpt2.c): the same
// functions as kernels.ts, each checked against its reference twin in test/backend/cpu-fast.test.ts.
// What makes them faster:
//   matmulBlocked  cache-blocked 4x4 register tiles (the fallback when OpenBLAS is missing)
//   rmsnormFast    a WebAssembly SIMD kernel when the width is a multiple of 8, else a JS loop
//   RopeTable      cos/sin per (position, frequency) computed once per (headDim, theta) and grown;
//   ropeFast       RoPE from the table, bit-identical to ropeRef
//   attentionFast  per (sequence, head): QK^T and PV through sgemm (one OpenBLAS thread) when
//                  OpenBLAS is present, the masked softmax in place by a SIMD kernel; no work on
//                  padding except in BiLLM mask-compat batches, which carry padding rows.
//                  attentionRange does a range of sequences (the helper thread's half)
//   siluMulFast    SwiGLU by a SIMD kernel, else a JS loop with a table-driven exp
//   BufferPool     activations reused across layers instead of freshly zeroed allocations
//   SIMD kernels   at the end of the file: a WebAssembly module assembled from bytes
import type { MaskMode, PackedBatch } from '../ops.ts';
import type { OpenBlas } from './blas.ts';
import { attentionExtras, keyRange, type AttentionExtras } from './kernels.ts';

// ---------------------------------------------------------------------------------------------
// exp(y) for y in [-88, 88] (float32's range; Math.exp outside): y = k ln2 / 32 + r with integer k,
// 2^(k/32) from a table and exp(r), |r| <= ln2/64, from a degree-4 polynomial.
// Relative error ~1.3e-12 against Math.exp: far below float32 rounding. About 3x faster than Math.exp.
const EXP_SHIFT = 6755399441055744.0; // 1.5 * 2^52: (x + SHIFT) - SHIFT rounds x to an integer
const EXP_STEPS = 32;
const EXP_INV_STEP = EXP_STEPS / Math.LN2;
const EXP_STEP_HI = 0.6931471803691238 / EXP_STEPS; // ln2 split in two so k * STEP_HI is exact
const EXP_STEP_LO = 1.9082149292705877e-10 / EXP_STEPS;
const EXP_OFF = 4100; // 88 * 32 / ln2 = 4062.5 < 4100
const EXP_TABLE = (() => {
  const t = new Float64Array(2 * EXP_OFF + 1);
  for (let k = -EXP_OFF; k <= EXP_OFF; k++) t[k + EXP_OFF] = Math.pow(2, k / EXP_STEPS);
  return t;
})();

/** exp(y): the table for y in [-88, 88], Math.exp outside. Inlined by hand in the hot loops below. */
export function fastExp(y: number): number {
  if (y > 88 || y < -88 || y !== y) return Math.exp(y);
  const kf = (y * EXP_INV_STEP + EXP_SHIFT) - EXP_SHIFT;
  const r = y - kf * EXP_STEP_HI - kf * EXP_STEP_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))));
  return p * EXP_TABLE[(kf | 0) + EXP_OFF];
}

// ---------------------------------------------------------------------------------------------
/**
 * out[n, o] = sum_i x[n, i] * w[o, i] (x: [N, K], w: [O, K], out: [N, O]), the TypeScript fallback
 * for sgemm. Blocks of OB weight rows x KB columns stay in L2 while every row of x streams past;
 * inside, 4 x rows times 4 w rows = 16 running sums per pass over k.
 */
export function matmulBlocked(x: Float32Array, w: Float32Array, N: number, K: number, O: number, out: Float32Array): void {
  const OB = 64;
  const KB = 512;
  for (let o0 = 0; o0 < O; o0 += OB) {
    const o1 = Math.min(O, o0 + OB);
    for (let k0 = 0; k0 < K; k0 += KB) {
      const k1 = Math.min(K, k0 + KB);
      const first = k0 === 0;
      let n = 0;
      for (; n + 4 <= N; n += 4) {
        const x0 = n * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K;
        const r0 = n * O, r1 = r0 + O, r2 = r1 + O, r3 = r2 + O;
        let o = o0;
        for (; o + 4 <= o1; o += 4) {
          const w0 = o * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
          let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
          let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
          for (let i = k0; i < k1; i++) {
            const a0 = x[x0 + i], a1 = x[x1 + i], a2 = x[x2 + i], a3 = x[x3 + i];
            const b0 = w[w0 + i], b1 = w[w1 + i], b2 = w[w2 + i], b3 = w[w3 + i];
            s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
            s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
            s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
            s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
          }
          if (first) {
            out[r0 + o] = s00; out[r0 + o + 1] = s01; out[r0 + o + 2] = s02; out[r0 + o + 3] = s03;
            out[r1 + o] = s10; out[r1 + o + 1] = s11; out[r1 + o + 2] = s12; out[r1 + o + 3] = s13;
            out[r2 + o] = s20; out[r2 + o + 1] = s21; out[r2 + o + 2] = s22; out[r2 + o + 3] = s23;
            out[r3 + o] = s30; out[r3 + o + 1] = s31; out[r3 + o + 2] = s32; out[r3 + o + 3] = s33;
          } else {
            out[r0 + o] += s00; out[r0 + o + 1] += s01; out[r0 + o + 2] += s02; out[r0 + o + 3] += s03;
            out[r1 + o] += s10; out[r1 + o + 1] += s11; out[r1 + o + 2] += s12; out[r1 + o + 3] += s13;
            out[r2 + o] += s20; out[r2 + o + 1] += s21; out[r2 + o + 2] += s22; out[r2 + o + 3] += s23;
            out[r3 + o] += s30; out[r3 + o + 1] += s31; out[r3 + o + 2] += s32; out[r3 + o + 3] += s33;
          }
        }
        for (; o < o1; o++) { // leftover weight rows
          const wo = o * K;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let i = k0; i < k1; i++) {
            const b = w[wo + i];
            s0 += x[x0 + i] * b; s1 += x[x1 + i] * b; s2 += x[x2 + i] * b; s3 += x[x3 + i] * b;
          }
          if (first) { out[r0 + o] = s0; out[r1 + o] = s1; out[r2 + o] = s2; out[r3 + o] = s3; }
          else { out[r0 + o] += s0; out[r1 + o] += s1; out[r2 + o] += s2; out[r3 + o] += s3; }
        }
      }
      for (; n < N; n++) { // leftover x rows
        const xo = n * K;
        const ro = n * O;
        for (let o = o0; o < o1; o++) {
          const wo = o * K;
          let s = 0;
          for (let i = k0; i < k1; i++) s += x[xo + i] * w[wo + i];
          if (first) out[ro + o] = s; else out[ro + o] += s;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
/** RMSNorm: the WebAssembly SIMD kernel when it applies (H % 8 == 0), else the JS loop. */
export function rmsnormFast(x: Float32Array, w: Float32Array, N: number, H: number, eps: number, out: Float32Array): void {
  if (!rmsnormSimd(x, w, N, H, eps, out)) rmsnormJs(x, w, N, H, eps, out);
}

export function rmsnormJs(x: Float32Array, w: Float32Array, N: number, H: number, eps: number, out: Float32Array): void {
  for (let n = 0; n < N; n++) {
    const off = n * H;
    let s0 = 0, s1 = 0;
    let i = 0;
    for (; i + 2 <= H; i += 2) {
      const a = x[off + i], b = x[off + i + 1];
      s0 += a * a; s1 += b * b;
    }
    for (; i < H; i++) s0 += x[off + i] * x[off + i];
    const inv = 1 / Math.sqrt((s0 + s1) / H + eps);
    for (let j = 0; j < H; j++) out[off + j] = x[off + j] * inv * w[j];
  }
}

// ---------------------------------------------------------------------------------------------
/**
 * cos/sin of position p times inverse frequency i (src/model/arch/rope.ts), in float64 exactly as
 * ropeRef computes them, for positions 0..capacity-1; grows by doubling on demand.
 */
export class RopeTable {
  readonly half: number;
  private readonly invFreq: Float64Array;
  cos = new Float64Array(0); // [capacity, half]
  sin = new Float64Array(0);
  capacity = 0;

  constructor(readonly headDim: number, invFreq: Float64Array, initial = 256) {
    if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) throw new Error(`RoPE head dim must be even, got ${headDim}`);
    this.half = headDim / 2;
    if (invFreq.length !== this.half) throw new Error(`rope: ${invFreq.length} inverse frequencies for head dim ${headDim}`);
    this.invFreq = Float64Array.from(invFreq);
    this.ensure(initial);
  }

  /** Makes positions 0..maxPos-1 available. */
  ensure(maxPos: number): void {
    if (maxPos <= this.capacity) return;
    let cap = Math.max(this.capacity, 16);
    while (cap < maxPos) cap *= 2;
    const half = this.half;
    const cos = new Float64Array(cap * half);
    const sin = new Float64Array(cap * half);
    cos.set(this.cos);
    sin.set(this.sin);
    for (let p = this.capacity; p < cap; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * this.invFreq[i];
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    this.cos = cos;
    this.sin = sin;
    this.capacity = cap;
  }
}

/** RoPE (rotate_half) in place on [N, nHeads * D], angles from the table. */
export function ropeFast(x: Float32Array, positions: Int32Array, nHeads: number, table: RopeTable): void {
  const D = table.headDim;
  const half = table.half;
  let maxPos = 0;
  for (let n = 0; n < positions.length; n++) {
    const p = positions[n];
    if (p < 0) throw new Error(`RoPE position ${p} at row ${n} is negative`);
    if (p > maxPos) maxPos = p;
  }
  table.ensure(maxPos + 1);
  const cos = table.cos, sin = table.sin;
  const width = nHeads * D;
  for (let n = 0; n < positions.length; n++) {
    const t = positions[n] * half;
    for (let h = 0; h < nHeads; h++) {
      const off = n * width + h * D;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i], s = sin[t + i];
        const a = x[off + i];
        const b = x[off + i + half];
        x[off + i] = a * c - b * s;
        x[off + i + half] = b * c + a * s;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
/** Scratch buffers for attention, kept by the backend between calls. */
export class AttentionScratch {
  scores = new Float32Array(4096);
  acc = new Float64Array(128);
  scoresFor(n: number): Float32Array {
    if (this.scores.length < n) this.scores = new Float32Array(Math.max(n, this.scores.length * 2));
    return this.scores;
  }
  accFor(n: number): Float64Array {
    if (this.acc.length < n) this.acc = new Float64Array(n);
    return this.acc;
  }
}

/** Sequences at least this long use sgemm for QK^T and PV when OpenBLAS is present (see benchmarks/README.md). */
export const ATTENTION_GEMM_MIN_LEN = 4;

/**
 * Softmax attention per sequence and head, GQA (query head h reads kv head floor(h / (nH / nKV))),
 * the same contract as attentionRef. Keys a query may see: keyEnd() of kernels.ts.
 */
export function attentionFast(
  q: Float32Array, k: Float32Array, v: Float32Array, batch: PackedBatch,
  nH: number, nKV: number, D: number, mask: MaskMode, out: Float32Array,
  blas: OpenBlas | null, scratch: AttentionScratch, gemmMinLen = ATTENTION_GEMM_MIN_LEN, useSimd = true, extras: AttentionExtras = {},
): void {
  if (nH % nKV !== 0) throw new Error(`attention: ${nH} query heads are not a multiple of ${nKV} KV heads`);
  // Per-head products are small (T x T x D); OpenBLAS would hand those above ~262k multiply-adds to
  // its second thread, and the hand-off costs more than the product (a lot more when another process
  // holds that core). One thread here; matmul gets them all back afterwards.
  const threads = blas ? blas.threads() : 1;
  if (blas && threads > 1) blas.setThreads(1);
  try {
    attentionRange(q, k, v, batch, nH, nKV, D, mask, out, blas, scratch, gemmMinLen, useSimd, 0, batch.count, extras);
  } finally {
    if (blas && threads > 1) blas.setThreads(threads);
  }
}

/**
 * attentionFast for sequences [seqFrom, seqTo) of the batch only (their rows of `out`), leaving
 * OpenBLAS's thread count alone: the helper thread (threads.ts) runs one range while the main
 * thread runs the other.
 */
export function attentionRange(
  q: Float32Array, k: Float32Array, v: Float32Array, batch: PackedBatch,
  nH: number, nKV: number, D: number, mask: MaskMode, out: Float32Array,
  blas: OpenBlas | null, scratch: AttentionScratch, gemmMinLen: number, useSimd: boolean, seqFrom: number, seqTo: number,
  extras: AttentionExtras = {},
): void {
  const qW = nH * D;
  const kW = nKV * D;
  const group = nH / nKV;
  const { scale, softcap, window } = attentionExtras(D, extras);
  const padVisible = batch.padKeysVisibleInBidirectional;
  for (let s = seqFrom; s < seqTo; s++) {
    const start = batch.starts[s];
    const T = batch.starts[s + 1] - start;
    if (T === 0) continue;
    const valid = batch.valid[s];
    // Widest key range any query row of this sequence sees.
    const Tk = mask === 'causal' ? Math.min(T, valid) : padVisible ? T : valid;
    // A window narrower than the sequence, or soft-capping: the JS softmax, which knows both.
    const plain = softcap === null && (window === null || window >= T);
    if (blas && T >= gemmMinLen) {
      // Scores in the SIMD kernels' memory when there is one (softmax in place there), else a scratch
      // array and the JS softmax. Row stride ld >= Tk.
      const sm = useSimd && plain ? simdScores(T, Tk) : null;
      const ld = sm ? sm.ld : Tk;
      const S = sm ? sm.S : scratch.scoresFor(T * Tk);
      for (let h = 0; h < nH; h++) {
        const kvh = (h / group) | 0;
        const qOff = start * qW + h * D;
        const kOff = start * kW + kvh * D;
        // S[T, Tk] = scale * Q_h K^T (the causal upper triangle is computed and then ignored:
        // cheaper than many small calls at these lengths)
        blas.sgemm(false, true, T, Tk, D, scale, q.subarray(qOff), qW, k.subarray(kOff), kW, 0, S, ld);
        if (sm) softmaxRowsSimd(T, ld, valid, mask, padVisible);
        else softmaxRows(S, T, Tk, valid, mask, padVisible, softcap, plain ? null : window);
        // O_h[T, D] = P V
        blas.sgemm(false, false, T, D, Tk, 1, S, ld, v.subarray(kOff), kW, 0, out.subarray(qOff), qW);
      }
      continue;
    }
    const sc = scratch.scoresFor(Tk);
    const acc = scratch.accFor(D);
    for (let h = 0; h < nH; h++) {
      const kvh = (h / group) | 0;
      for (let i = 0; i < T; i++) {
        const [from, end] = keyRange(i, T, valid, mask, padVisible, window);
        const qo = (start + i) * qW + h * D;
        const oo = qo;
        if (end <= from) { for (let c = 0; c < D; c++) out[oo + c] = 0; continue; }
        let max = -Infinity;
        for (let j = from; j < end; j++) {
          const ko = (start + j) * kW + kvh * D;
          let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
          let c = 0;
          for (; c + 4 <= D; c += 4) {
            d0 += q[qo + c] * k[ko + c];
            d1 += q[qo + c + 1] * k[ko + c + 1];
            d2 += q[qo + c + 2] * k[ko + c + 2];
            d3 += q[qo + c + 3] * k[ko + c + 3];
          }
          for (; c < D; c++) d0 += q[qo + c] * k[ko + c];
          let d = (d0 + d1 + d2 + d3) * scale;
          if (softcap !== null) d = softcap * Math.tanh(d / softcap);
          sc[j] = d;
          if (d > max) max = d;
        }
        let sum = 0;
        for (let j = from; j < end; j++) {
          const e = expNonPositive(sc[j] - max);
          sc[j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let c = 0; c < D; c++) acc[c] = 0;
        for (let j = from; j < end; j++) {
          const p = sc[j] * inv;
          const vo = (start + j) * kW + kvh * D;
          for (let c = 0; c < D; c++) acc[c] += p * v[vo + c];
        }
        for (let c = 0; c < D; c++) out[oo + c] = acc[c];
      }
    }
  }
}

/** exp(y) for y <= 0: table lookup times a degree-4 polynomial; Math.exp below -88. */
function expNonPositive(y: number): number {
  if (y < -88) return Math.exp(y);
  const kf = (y * EXP_INV_STEP + EXP_SHIFT) - EXP_SHIFT;
  const r = y - kf * EXP_STEP_HI - kf * EXP_STEP_LO;
  return (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))))) * EXP_TABLE[(kf | 0) + EXP_OFF];
}

/**
 * Row-wise masked softmax in place on S [T, Tk]; row i keeps keys keyRange(i) (all of [0, keyEnd(i))
 * without a window), the rest become 0. With `softcap`, scores become cap * tanh(score / cap) first.
 */
function softmaxRows(
  S: Float32Array, T: number, Tk: number, valid: number, mask: MaskMode, padVisible: boolean,
  softcap: number | null = null, window: number | null = null,
): void {
  for (let i = 0; i < T; i++) {
    const [from, end] = keyRange(i, T, valid, mask, padVisible, window);
    const ro = i * Tk;
    if (softcap !== null) for (let j = from; j < end; j++) S[ro + j] = softcap * Math.tanh(S[ro + j] / softcap);
    let max = -Infinity;
    for (let j = from; j < end; j++) if (S[ro + j] > max) max = S[ro + j];
    let sum = 0;
    for (let j = from; j < end; j++) {
      const e = expNonPositive(S[ro + j] - max);
      S[ro + j] = e;
      sum += e;
    }
    const inv = end > from ? 1 / sum : 0;
    for (let j = 0; j < from; j++) S[ro + j] = 0;
    for (let j = from; j < end; j++) S[ro + j] *= inv;
    for (let j = end; j < Tk; j++) S[ro + j] = 0;
  }
}

// ---------------------------------------------------------------------------------------------
/** silu(gate) * up: the WebAssembly SIMD kernel when it is available, else the JS loop. */
export function siluMulFast(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  const done = siluMulSimd(gate, up, out);
  if (done < gate.length) siluMulJs(gate, up, out, done);
}

/** silu(gate) * up = gate / (1 + exp(-gate)) * up, elementwise, from index `from` on (float64 math). */
export function siluMulJs(gate: Float32Array, up: Float32Array, out: Float32Array, from = 0): void {
  const n = gate.length;
  for (let i = from; i < n; i++) {
    const g = gate[i];
    const y = -g;
    let e: number;
    if (y > 88 || y < -88 || y !== y) e = Math.exp(y); // rare: outside the table (and NaN)
    else {
      const kf = (y * EXP_INV_STEP + EXP_SHIFT) - EXP_SHIFT;
      const r = y - kf * EXP_STEP_HI - kf * EXP_STEP_LO;
      e = (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))))) * EXP_TABLE[(kf | 0) + EXP_OFF];
    }
    out[i] = (g / (1 + e)) * up[i];
  }
}

export function addInPlaceFast(a: Float32Array, b: Float32Array): void {
  const n = a.length;
  for (let i = 0; i < n; i++) a[i] += b[i];
}

// ---------------------------------------------------------------------------------------------
/**
 * Reuses activation buffers: `take(n)` hands out a Float32Array view of length n over a pooled
 * ArrayBuffer whose size is n rounded up to a bucket (at most 1/8 larger), `give(view)` returns it.
 * Contents of a taken buffer are undefined (every kernel writes all of its output). Only buffers this
 * pool handed out come back; a second give of the same buffer is ignored. At most `maxPerBucket`
 * buffers per size and `maxBytes` in all are kept; the rest are left to the garbage collector.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBufferLike[]>();
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  /** `shared`: SharedArrayBuffers, which a helper thread (threads.ts) can write into. */
  constructor(readonly maxBytes = 1 << 30, readonly maxPerBucket = 8, readonly shared = false) {}

  static bucket(n: number): number {
    if (n <= 1024) return 1024;
    const step = 2 ** (Math.floor(Math.log2(n)) - 3); // 8 buckets per power of two
    return Math.ceil(n / step) * step;
  }

  take(n: number): Float32Array {
    const cap = BufferPool.bucket(n);
    const list = this.free.get(cap);
    const buf = list?.pop();
    if (buf) {
      this.pooled.delete(buf);
      this.bytes -= buf.byteLength;
      this.hits++;
      return new Float32Array(buf, 0, n);
    }
    this.misses++;
    const fresh = this.shared ? new SharedArrayBuffer(cap * 4) : new ArrayBuffer(cap * 4);
    this.owned.add(fresh);
    return new Float32Array(fresh, 0, n);
  }

  give(a: Float32Array): void {
    const buf = a.buffer;
    if (!this.owned.has(buf) || this.pooled.has(buf)) return;
    if (this.bytes + buf.byteLength > this.maxBytes) return;
    const cap = buf.byteLength / 4;
    let list = this.free.get(cap);
    if (!list) this.free.set(cap, (list = []));
    if (list.length >= this.maxPerBucket) return;
    list.push(buf);
    this.pooled.add(buf);
    this.bytes += buf.byteLength;
  }

  /** Drops every pooled buffer. */
  clear(): void {
    this.free.clear();
    this.bytes = 0;
  }

  get pooledBytes(): number {
    return this.bytes;
  }
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD kernels: four float32 lanes per instruction where JS has one float64 lane.
// The module is assembled below from bytes (nothing to compile or ship); each function is written
// out in a WAT-like comment beside its code. Data moves through the module's own memory:
//   silu_mul(g, u, o, n)        o = g / (1 + exp(-g)) * u                       (buffers, copied)
//   rmsnorm(x, w, o, rows, H, eps)   o = x / rms(x) * w per row, H % 8 == 0     (buffers, copied)
//   softmax_rows(S, T, ld, causal, valid, bidirEnd)   masked softmax in place on S [T, ld],
//                                ld % 4 == 0; attention's score matrix lives in this memory, so
//                                sgemm writes and reads it there and nothing is copied
// exp in float32 (Cephes expf, within 2 ulps):
//   y = pmax(pmin(y, 88), -88); k = nearest(y log2 e); r = y - k ln2_hi - k ln2_lo
//   exp(y) = (((((P0 r + P1) r + P2) r + P3) r + P4) r + P5) r^2 + r + 1) * 2^k,
//   2^k = bits((k + 2^23 + 127) << 23)  (the float k + 2^23 + 127 holds k + 127 in its low bits)
// Results agree with the float64 reference loops within a few float32 ulps, except that an exp
// argument below -88 gives exactly 0 where the reference gives a number below 1e-37.
const SIMD_BUF = 16384;                    // floats per buffer (64 KiB)
const SIMD_SCORES = 4 * SIMD_BUF * 4;      // byte offset of softmax's score matrix
const SILU_STEP = 8;                       // floats per silu loop turn

interface SimdKernels {
  silu: (g: number, u: number, o: number, n: number) => void;
  rmsnorm: (x: number, w: number, o: number, rows: number, H: number, eps: number) => void;
  softmax: (S: number, T: number, ld: number, causal: number, valid: number, bidirEnd: number) => void;
  memory: WebAssembly.Memory;
}
let simd: SimdKernels | null | undefined;

/** The kernels, assembled on first use; null when this runtime has no WebAssembly SIMD. */
export function simdKernels(): SimdKernels | null {
  if (simd === undefined) {
    try {
      const inst = new WebAssembly.Instance(new WebAssembly.Module(assembleKernels()));
      const e = inst.exports as Record<string, unknown>;
      simd = {
        silu: e.silu_mul as SimdKernels['silu'], rmsnorm: e.rmsnorm as SimdKernels['rmsnorm'],
        softmax: e.softmax_rows as SimdKernels['softmax'], memory: e.mem as WebAssembly.Memory,
      };
    } catch {
      simd = null;
    }
  }
  return simd;
}

/** Float32 view of the kernels' memory from `byteOffset`, growing the memory to hold `n` floats there. */
function simdView(k: SimdKernels, byteOffset: number, n: number): Float32Array {
  const need = byteOffset + 4 * n;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  return new Float32Array(k.memory.buffer, byteOffset, n);
}

/** SwiGLU over the longest prefix of whole 8-float steps; returns how many elements it did (0 without SIMD). */
export function siluMulSimd(gate: Float32Array, up: Float32Array, out: Float32Array): number {
  const k = simdKernels();
  if (!k) return 0;
  const buf = simdView(k, 0, 3 * SIMD_BUF);
  const total = gate.length - (gate.length % SILU_STEP);
  for (let i = 0; i < total; i += SIMD_BUF) {
    const m = Math.min(SIMD_BUF, total - i);
    buf.set(gate.subarray(i, i + m), 0);
    buf.set(up.subarray(i, i + m), SIMD_BUF);
    k.silu(0, 4 * SIMD_BUF, 8 * SIMD_BUF, m);
    out.set(buf.subarray(2 * SIMD_BUF, 2 * SIMD_BUF + m), i);
  }
  return total;
}

/** RMSNorm through the SIMD kernel; false (nothing done) without SIMD or when H % 8 != 0 or H > 16384. */
export function rmsnormSimd(x: Float32Array, w: Float32Array, N: number, H: number, eps: number, out: Float32Array): boolean {
  const k = H % 8 === 0 && H <= SIMD_BUF ? simdKernels() : null;
  if (!k) return false;
  const buf = simdView(k, 0, 4 * SIMD_BUF);
  buf.set(w, 3 * SIMD_BUF);
  const rowsPer = Math.floor(SIMD_BUF / H);
  for (let r = 0; r < N; r += rowsPer) {
    const m = Math.min(rowsPer, N - r);
    buf.set(x.subarray(r * H, (r + m) * H), 0);
    k.rmsnorm(0, 12 * SIMD_BUF, 4 * SIMD_BUF, m, H, eps);
    out.set(buf.subarray(SIMD_BUF, SIMD_BUF + m * H), r * H);
  }
  return true;
}

/** A [T, ld] score matrix in the kernels' memory (ld = Tk rounded up to 4), for sgemm to write into. */
export function simdScores(T: number, Tk: number): { S: Float32Array; ld: number } | null {
  const k = simdKernels();
  if (!k) return null;
  const ld = (Tk + 3) & ~3;
  return { S: simdView(k, SIMD_SCORES, T * ld), ld };
}

/** Masked softmax in place on the matrix from simdScores (rows see keys [0, keyEnd(i)), the rest become 0). */
export function softmaxRowsSimd(T: number, ld: number, valid: number, mask: MaskMode, padVisible: boolean): void {
  const bidirEnd = padVisible ? T : valid;
  simd!.softmax(SIMD_SCORES, T, ld, mask === 'causal' ? 1 : 0, valid, bidirEnd);
}

function assembleKernels(): Uint8Array<ArrayBuffer> {
  const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
  const sleb = (n: number): number[] => {
    const o: number[] = [];
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { o.push(b); return o; }
      o.push(b | 0x80);
    }
  };
  const section = (id: number, b: number[]): number[] => [id, ...uleb(b.length), ...b];
  const str = (x: string): number[] => [...uleb(x.length), ...Array.from(x, (c) => c.charCodeAt(0))];
  const [I32, F64, V128] = [0x7f, 0x7c, 0x7b];
  // scalar opcodes
  const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, SELECT = 0x1b, VOID = 0x40;
  const I32_ADD = 0x6a, I32_MUL = 0x6c, I32_SHL = 0x74, I32_SHR_U = 0x76, I32_LT_S = 0x48, I32_GE_U = 0x4f;
  const F32_ADD = 0x92, F32_DIV = 0x95, F32_MAX = 0x97, F64_ADD = 0xa0, F64_DIV = 0xa3, F64_SQRT = 0x9f;
  const F32_DEMOTE = 0xb6, F64_CONVERT_I32 = 0xb7, F64_PROMOTE = 0xbb;
  const get = (i: number): number[] => [0x20, ...uleb(i)];
  const set = (i: number): number[] => [0x21, ...uleb(i)];
  const i32 = (n: number): number[] => [0x41, ...sleb(n)];
  const f32c = (x: number): number[] => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)];
  const f64c = (x: number): number[] => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)];
  // SIMD opcodes (0xfd prefix)
  const v = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
  const LOAD = 0x00, STORE = 0x0b, CONST = 0x0c, I32X4_SPLAT = 0x11, F32X4_SPLAT = 0x13, F32X4_EXTRACT = 0x1f;
  const I32X4_LT_S = 0x39, F32X4_LT = 0x43, F32X4_GE = 0x46, AND = 0x4e, BITSELECT = 0x52, NEAREST = 0x6a;
  const I32X4_SHL = 0xab, I32X4_ADD = 0xae, NEG = 0xe1, ADD = 0xe4, SUB = 0xe5, MUL = 0xe6, DIV = 0xe7, PMIN = 0xea, PMAX = 0xeb;
  const mem = (off = 0): number[] => [4, ...uleb(off)]; // align 16 bytes, offset
  const vconst = (lanes: Float32Array | Int32Array): number[] => v(CONST, ...new Uint8Array(lanes.buffer));
  const f4 = (x: number): number[] => vconst(new Float32Array([x, x, x, x]));
  /** for ($i = 0; $i < $end; $i += step) { body } with byte counters */
  const forBytes = (i: number, end: number[], step: number, body: number[]): number[] => [
    ...i32(0), ...set(i), BLOCK, VOID, LOOP, VOID,
    ...get(i), ...end, I32_GE_U, BR_IF, 1,
    ...body,
    ...get(i), ...i32(step), I32_ADD, ...set(i), BR, 0, END, END,
  ];
  const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  /** exp of the v128 in local y (clamped to [-88, 88]) onto the stack; k and r are scratch locals. */
  const exp = (y: number, k: number, r: number): number[] => {
    const poly = [...f4(P[0]), ...get(r), ...v(MUL)];
    for (let j = 1; j < P.length; j++) poly.push(...f4(P[j]), ...v(ADD), ...(j < P.length - 1 ? [...get(r), ...v(MUL)] : []));
    return [
      ...get(y), ...f4(88), ...v(PMIN), ...f4(-88), ...v(PMAX), ...set(y),
      ...get(y), ...f4(Math.LOG2E), ...v(MUL), ...v(NEAREST), ...set(k),
      ...get(y), ...get(k), ...f4(0.693359375), ...v(MUL), ...v(SUB), ...get(k), ...f4(-2.12194440e-4), ...v(MUL), ...v(SUB), ...set(r),
      ...poly, ...get(r), ...v(MUL), ...get(r), ...v(MUL), ...get(r), ...v(ADD), ...f4(1), ...v(ADD),
      ...get(k), ...f4(127 + 8388608), ...v(ADD), ...i32(23), ...v(I32X4_SHL), ...v(MUL),
    ];
  };
  const hsum = (x: number): number[] => [...get(x), ...v(F32X4_EXTRACT, 0), ...get(x), ...v(F32X4_EXTRACT, 1), F32_ADD,
    ...get(x), ...v(F32X4_EXTRACT, 2), F32_ADD, ...get(x), ...v(F32X4_EXTRACT, 3), F32_ADD];
  const hmax = (x: number): number[] => [...get(x), ...v(F32X4_EXTRACT, 0), ...get(x), ...v(F32X4_EXTRACT, 1), F32_MAX,
    ...get(x), ...v(F32X4_EXTRACT, 2), F32_MAX, ...get(x), ...v(F32X4_EXTRACT, 3), F32_MAX];

  // silu_mul(g, u, o, n): for i in 0..n step 8 floats, two vectors per turn
  //   x = g[i]; y = -x; e = exp(y); o[i] = x < -88 ? 0 : x / (1 + e) * u[i]
  const silu = (() => {
    const [G, U, O, N, I] = [0, 1, 2, 3, 4];
    const one = (off: number, X: number, Y: number, K: number, R: number, E: number): number[] => [
      ...get(G), ...get(I), I32_ADD, ...v(LOAD, ...mem(off)), ...set(X),
      ...get(X), ...v(NEG), ...set(Y), ...exp(Y, K, R), ...set(E),
      ...get(O), ...get(I), I32_ADD,
      ...vconst(new Int32Array(4)),
      ...get(X), ...get(E), ...f4(1), ...v(ADD), ...v(DIV), ...get(U), ...get(I), I32_ADD, ...v(LOAD, ...mem(off)), ...v(MUL),
      ...get(X), ...f4(-88), ...v(F32X4_LT), ...v(BITSELECT),
      ...v(STORE, ...mem(off)),
    ];
    const body = [
      ...get(N), ...i32(2), I32_SHL, ...set(N),
      ...forBytes(I, get(N), 4 * SILU_STEP, [...one(0, 5, 6, 7, 8, 9), ...one(16, 10, 11, 12, 13, 14)]),
      END,
    ];
    return { params: [I32, I32, I32, I32], locals: [[1, I32], [10, V128]], body };
  })();

  // rmsnorm(x, w, o, rows, H, eps): per row, ss = sum x^2 (two f32x4 accumulators), then in f64
  //   inv = 1 / sqrt(ss / H + eps), and o = x * f32(inv) * w
  const rmsnorm = (() => {
    const [X, W, O, ROWS, H, EPS, R, J, RB, XR, OR, ACC0, ACC1, T, VINV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const sq = (off: number, acc: number): number[] => [
      ...get(XR), ...get(J), I32_ADD, ...v(LOAD, ...mem(off)), ...set(T), ...get(acc), ...get(T), ...get(T), ...v(MUL), ...v(ADD), ...set(acc)];
    const scale = (off: number): number[] => [
      ...get(OR), ...get(J), I32_ADD,
      ...get(XR), ...get(J), I32_ADD, ...v(LOAD, ...mem(off)), ...get(VINV), ...v(MUL), ...get(W), ...get(J), I32_ADD, ...v(LOAD, ...mem(off)), ...v(MUL),
      ...v(STORE, ...mem(off))];
    const row = [
      ...get(X), ...get(R), ...get(RB), I32_MUL, I32_ADD, ...set(XR),
      ...get(O), ...get(R), ...get(RB), I32_MUL, I32_ADD, ...set(OR),
      ...f4(0), ...set(ACC0), ...f4(0), ...set(ACC1),
      ...forBytes(J, get(RB), 32, [...sq(0, ACC0), ...sq(16, ACC1)]),
      ...get(ACC0), ...get(ACC1), ...v(ADD), ...set(ACC0),
      ...f64c(1), ...hsum(ACC0), F64_PROMOTE, ...get(H), F64_CONVERT_I32, F64_DIV, ...get(EPS), F64_ADD, F64_SQRT, F64_DIV, F32_DEMOTE,
      ...v(F32X4_SPLAT), ...set(VINV),
      ...forBytes(J, get(RB), 32, [...scale(0), ...scale(16)]),
    ];
    const body = [
      ...get(H), ...i32(2), I32_SHL, ...set(RB),
      ...forBytes(R, get(ROWS), 1, row),
      END,
    ];
    return { params: [I32, I32, I32, I32, I32, F64], locals: [[5, I32], [4, V128]], body };
  })();

  // softmax_rows(S, T, ld, causal, valid, bidirEnd): row i of S [T, ld] keeps keys [0, end),
  //   end = causal ? min(i + 1, valid) : bidirEnd; lanes at or past end are masked by index
  //   max pass; e = exp(s - max) (0 if masked or s - max < -88); sum; e *= 1/sum; zero the rest
  const softmax = (() => {
    const [S, T, LD, CAUSAL, VALID, BEND, I, END_, ROW, J, NV, LDB, VMAX, VSUM, VEND, VIDX, XV, Y, K, R, E, VINV] =
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
    const lanesIn = [...get(VIDX), ...get(VEND), ...v(I32X4_LT_S)];
    const nextIdx = [...get(VIDX), ...vconst(new Int32Array([4, 4, 4, 4])), ...v(I32X4_ADD), ...set(VIDX)];
    const iota = [...vconst(new Int32Array([0, 1, 2, 3])), ...set(VIDX)];
    const at = [...get(ROW), ...get(J), I32_ADD];
    const row = [
      // end = causal ? (i + 1 < valid ? i + 1 : valid) : bidirEnd
      ...get(I), ...i32(1), I32_ADD, ...get(VALID), ...get(I), ...i32(1), I32_ADD, ...get(VALID), I32_LT_S, SELECT,
      ...get(BEND), ...get(CAUSAL), SELECT, ...set(END_),
      ...get(S), ...get(I), ...get(LDB), I32_MUL, I32_ADD, ...set(ROW),
      ...get(END_), ...i32(3), I32_ADD, ...i32(2), I32_SHR_U, ...i32(4), I32_SHL, ...set(NV), // bytes of ceil(end / 4) vectors
      ...get(END_), ...v(I32X4_SPLAT), ...set(VEND),
      // max
      ...f4(-Infinity), ...set(VMAX), ...iota,
      ...forBytes(J, get(NV), 16, [
        ...get(VMAX), ...at, ...v(LOAD, ...mem()), ...f4(-Infinity), ...lanesIn, ...v(BITSELECT), ...v(PMAX), ...set(VMAX), ...nextIdx]),
      ...hmax(VMAX), ...v(F32X4_SPLAT), ...set(VMAX),
      // exp and sum
      ...f4(0), ...set(VSUM), ...iota,
      ...forBytes(J, get(NV), 16, [
        ...at, ...v(LOAD, ...mem()), ...get(VMAX), ...v(SUB), ...set(XV), ...get(XV), ...set(Y),
        ...at,
        ...exp(Y, K, R), ...f4(0), ...lanesIn, ...get(XV), ...f4(-88), ...v(F32X4_GE), ...v(AND), ...v(BITSELECT), ...set(E),
        ...get(E), ...v(STORE, ...mem()),
        ...get(VSUM), ...get(E), ...v(ADD), ...set(VSUM), ...nextIdx]),
      ...f32c(1), ...hsum(VSUM), F32_DIV, ...v(F32X4_SPLAT), ...set(VINV),
      // normalize, then zero the rest of the row
      ...forBytes(J, get(NV), 16, [...at, ...at, ...v(LOAD, ...mem()), ...get(VINV), ...v(MUL), ...v(STORE, ...mem())]),
      ...get(NV), ...set(J),
      BLOCK, VOID, LOOP, VOID, ...get(J), ...get(LDB), I32_GE_U, BR_IF, 1,
      ...at, ...f4(0), ...v(STORE, ...mem()),
      ...get(J), ...i32(16), I32_ADD, ...set(J), BR, 0, END, END,
    ];
    const body = [
      ...get(LD), ...i32(2), I32_SHL, ...set(LDB),
      ...forBytes(I, get(T), 1, row),
      END,
    ];
    return { params: [I32, I32, I32, I32, I32, I32], locals: [[6, I32], [10, V128]], body };
  })();

  const fns = [silu, rmsnorm, softmax];
  const names = ['silu_mul', 'rmsnorm', 'softmax_rows'];
  const types = fns.map((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]);
  const codes = fns.map((f) => {
    const c = [...uleb(f.locals.length), ...f.locals.flatMap(([n, t]) => [...uleb(n), t]), ...f.body];
    return [...uleb(c.length), ...c];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [...uleb(fns.length), ...types.flat()]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(5, [1, 0x00, ...uleb(SIMD_SCORES / 65536 + 1)]), // memory: the buffers and a first page for scores; grows
    ...section(7, [...uleb(fns.length + 1), ...names.flatMap((n, i) => [...str(n), 0x00, i]), ...str('mem'), 0x02, 0]),
    ...section(10, [...uleb(fns.length), ...codes.flat()]),
  ]);
}
