// Plain CPU reference kernels on Float32Array (the role of llm.c's train_gpt2.c): readable loops,
// float64 accumulation where it is free. Fast paths elsewhere are checked against these.
import type { MaskMode, PackedBatch, Pooling } from '../ops.ts';

/** x W^T for x: [N, K], W: [O, K]. Replaceable by a faster implementation checked against matmulRef. */
export type MatmulFn = (x: Float32Array, w: Float32Array, N: number, K: number, O: number, out: Float32Array) => void;

/** out[n, o] = sum_i x[n, i] * w[o, i]   (x: [N, K], w: [O, K], out: [N, O]) */
export function matmulRef(x: Float32Array, w: Float32Array, N: number, K: number, O: number, out: Float32Array): void {
  // Four weight rows at a time so each x row is read once per four outputs.
  for (let n = 0; n < N; n++) {
    const xo = n * K;
    const oo = n * O;
    let o = 0;
    for (; o + 4 <= O; o += 4) {
      const w0 = o * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < K; i++) {
        const xv = x[xo + i];
        s0 += xv * w[w0 + i];
        s1 += xv * w[w1 + i];
        s2 += xv * w[w2 + i];
        s3 += xv * w[w3 + i];
      }
      out[oo + o] = s0; out[oo + o + 1] = s1; out[oo + o + 2] = s2; out[oo + o + 3] = s3;
    }
    for (; o < O; o++) {
      const wo = o * K;
      let s = 0;
      for (let i = 0; i < K; i++) s += x[xo + i] * w[wo + i];
      out[oo + o] = s;
    }
  }
}

export function rmsnormRef(x: Float32Array, w: Float32Array, N: number, H: number, eps: number, out: Float32Array): void {
  for (let n = 0; n < N; n++) {
    const off = n * H;
    let ss = 0;
    for (let i = 0; i < H; i++) ss += x[off + i] * x[off + i];
    const inv = 1 / Math.sqrt(ss / H + eps);
    for (let i = 0; i < H; i++) out[off + i] = x[off + i] * inv * w[i];
  }
}

/** Hugging Face RoPE (rotate_half: pairs i and i + D/2), angle position * invFreq[i] in float64. In place. */
export function ropeRef(x: Float32Array, positions: Int32Array, nHeads: number, D: number, invFreq: Float64Array): void {
  const half = D / 2;
  if (invFreq.length !== half) throw new Error(`rope: ${invFreq.length} inverse frequencies for head dim ${D}`);
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const width = nHeads * D;
  for (let n = 0; n < positions.length; n++) {
    const p = positions[n];
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i];
      cos[i] = Math.cos(a);
      sin[i] = Math.sin(a);
    }
    for (let h = 0; h < nHeads; h++) {
      const off = n * width + h * D;
      for (let i = 0; i < half; i++) {
        const a = x[off + i];
        const b = x[off + i + half];
        x[off + i] = a * cos[i] - b * sin[i];
        x[off + i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}

/** Keys that query row i (of a sequence of length T with `valid` real tokens) may attend to: [0, end). */
export function keyEnd(i: number, T: number, valid: number, mask: MaskMode, padVisibleBidir: boolean): number {
  if (mask === 'causal') return Math.min(i + 1, valid);
  return padVisibleBidir ? T : valid;
}

/** With a sliding window (|i - j| < window): the keys [from, to) of row i; without one, [0, keyEnd). */
export function keyRange(i: number, T: number, valid: number, mask: MaskMode, padVisibleBidir: boolean, window: number | null | undefined): [number, number] {
  const end = keyEnd(i, T, valid, mask, padVisibleBidir);
  if (window == null) return [0, end];
  return [Math.max(0, i - window + 1), Math.min(end, i + window)];
}

/** The optional parts of an attention call (AttentionShape's scale, softcap and window). */
export interface AttentionExtras {
  scale?: number;
  softcap?: number | null;
  window?: number | null;
}

/** Checks the extras once per call: a scale and cap > 0 and finite, an integer window >= 1. */
export function attentionExtras(D: number, x: AttentionExtras = {}): { scale: number; softcap: number | null; window: number | null } {
  const scale = x.scale ?? 1 / Math.sqrt(D);
  const softcap = x.softcap ?? null;
  const window = x.window ?? null;
  if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`attention: scale must be a positive number, got ${scale}`);
  if (softcap !== null && !(softcap > 0 && Number.isFinite(softcap))) throw new Error(`attention: softcap must be a positive number, got ${softcap}`);
  if (window !== null && !(Number.isInteger(window) && window >= 1)) throw new Error(`attention: window must be an integer >= 1, got ${window}`);
  return { scale, softcap, window };
}

/** Softmax attention per sequence and head, GQA (query head h reads kv head floor(h / (nH / nKV))). */
export function attentionRef(
  q: Float32Array, k: Float32Array, v: Float32Array, batch: PackedBatch,
  nH: number, nKV: number, D: number, mask: MaskMode, out: Float32Array, extras: AttentionExtras = {},
): void {
  const qW = nH * D;
  const kW = nKV * D;
  const group = nH / nKV;
  const { scale, softcap, window } = attentionExtras(D, extras);
  let scores = new Float64Array(64);
  const acc = new Float64Array(D);
  for (let s = 0; s < batch.count; s++) {
    const start = batch.starts[s];
    const T = batch.starts[s + 1] - start;
    const valid = batch.valid[s];
    for (let h = 0; h < nH; h++) {
      const kvh = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const [from, end] = keyRange(i, T, valid, mask, batch.padKeysVisibleInBidirectional, window);
        if (scores.length < end) scores = new Float64Array(end * 2);
        const qo = (start + i) * qW + h * D;
        let max = -Infinity;
        for (let j = from; j < end; j++) {
          const ko = (start + j) * kW + kvh * D;
          let d = 0;
          for (let c = 0; c < D; c++) d += q[qo + c] * k[ko + c];
          d *= scale;
          if (softcap !== null) d = softcap * Math.tanh(d / softcap);
          scores[j] = d;
          if (d > max) max = d;
        }
        let sum = 0;
        for (let j = from; j < end; j++) {
          const e = Math.exp(scores[j] - max);
          scores[j] = e;
          sum += e;
        }
        acc.fill(0);
        for (let j = from; j < end; j++) {
          const p = scores[j] / sum;
          const vo = (start + j) * kW + kvh * D;
          for (let c = 0; c < D; c++) acc[c] += p * v[vo + c];
        }
        const oo = (start + i) * qW + h * D;
        for (let c = 0; c < D; c++) out[oo + c] = acc[c];
      }
    }
  }
}

export function siluMulRef(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** gelu_tanh(gate) * up: PyTorch's gelu(approximate='tanh'), 0.5 g (1 + tanh(sqrt(2/pi) (g + 0.044715 g^3))), in float64. */
export function geluTanhMulRef(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    out[i] = 0.5 * g * (1 + Math.tanh(GELU_K * (g + 0.044715 * g * g * g))) * up[i];
  }
}

/** x[n, :] += b for each of the N rows of x [N, b.length], in place. */
export function addBiasRef(x: Float32Array, b: Float32Array): void {
  const W = b.length;
  for (let o = 0; o < x.length; o += W) for (let i = 0; i < W; i++) x[o + i] += b[i];
}

/** One vector per sequence from its pool span (default: its valid tokens): [B, H]. */
export function poolRef(x: Float32Array, H: number, batch: PackedBatch, mode: Pooling, out: Float32Array): void {
  const acc = new Float64Array(H);
  for (let s = 0; s < batch.count; s++) {
    const from = batch.poolSpans ? batch.poolSpans.from[s] : 0;
    const start = batch.starts[s] + from;
    const n = (batch.poolSpans ? batch.poolSpans.to[s] : batch.valid[s]) - from;
    const oo = s * H;
    if (mode === 'last' || mode === 'first') {
      const row = start + (mode === 'last' ? n - 1 : 0);
      for (let c = 0; c < H; c++) out[oo + c] = x[row * H + c];
      continue;
    }
    acc.fill(0);
    let wsum = 0;
    for (let t = 0; t < n; t++) {
      const wt = mode === 'avg' ? 1 : t + 1; // SGPT position weights 1..n
      wsum += wt;
      const ro = (start + t) * H;
      for (let c = 0; c < H; c++) acc[c] += wt * x[ro + c];
    }
    for (let c = 0; c < H; c++) out[oo + c] = acc[c] / wsum;
  }
}
