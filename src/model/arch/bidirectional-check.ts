// The bidirectionality self-check: before a run with bidirectional layers, prove on the loaded model
// and backend that layers with index >= k see later tokens and causal layers do not. The most common
// silent failure in this field is a model meant to run bidirectional layers that quietly ran causal
// ones (llm2vec issues 74 and 79, transformers issue 33676); its numbers look plausible.
//
// Probe: a few short prompts. Each prompt A has a twin B that differs only in its last TAIL tokens.
// Two batches of the same layout run side by side, each prompt in R copies (R = 1 in fp32, 8 in 16-bit
// compute) per half:
//   X = [A_1 .. A_P] x R, [A_1 .. A_P] x R      Y = [B_1 .. B_P] x R, [A_1 .. A_P] x R
// Both residual streams are advanced through the layers causally, and at layer l each token's update
// u = output - input, averaged over its R copies, is compared on the tokens before the tail:
//   leak:  the first halves, A in X against B in Y. They sit at the same rows of batches of the same
//          shape, so a deterministic backend computes them with the same arithmetic: a causal layer
//          gives exactly 0, however its kernels round.
//   floor: this backend's noise, measured in the same probe on identical tokens: X's first half
//          against its second (the same prompts at other rows: kernels that round a row by where it
//          sits, e.g. OpenBLAS's Haswell/Zen sgemm) and the second halves of X and Y (the same rows in
//          another batch: run-to-run or batch-content noise, e.g. non-deterministic reductions).
// The limit of a layer is  max(NOISE_FACTOR x floor, PRECISION_FACTOR x epsilon)  (epsilon: the
// backend's compute precision). Each layer is run as the run will run it (Decoder.runLayers with the
// run's k, so a wrong layer-to-mask mapping is caught too): it must change the earlier tokens by more
// than the limit where it is bidirectional and by at most the limit where it is causal. Layers >= k
// are also run causally, which must leak nothing (that pass advances the streams).
// Statistic: the largest |u_X - u_Y| / |u_X| over tokens and prompts. A layer's true leak is of order
// 0.1..1 on the fixture model; the floor is 0 on a deterministic backend, about 1e-6 on OpenBLAS's
// AVX2 kernels, and whatever a noisy backend makes. Cost: 2 x (2L - k) layer passes over 2R x ~30
// tokens.
import type { Act, Backend, PackedBatch } from '../../backend/ops.ts';
import { packBatch } from './batch.ts';
import type { Decoder } from './decoder.ts';
import type { Tokenizer } from './types.ts';

export const PROBES = [
  'The cat sat on the mat.',
  'A man is playing a guitar on the stage.',
  'Sentence embeddings from a decoder model',
];

/**
 * Leak and floor are maxima of the same statistic over a few dozen tokens. Measured with rounding
 * noise injected into every matmul and attention output (test/model/arch/bidirectional-check.test.ts;
 * 150 seeds x 4 layers, with and without the LoRA): a correct backend's leak is at most 1.65 x its
 * floor, at 1e-5 relative noise (fp32) and at 1e-2 (bf16/fp16, with COPIES_16BIT). 3 leaves 1.8x
 * beyond that; under the 1e-2 noise the smallest bidirectional change on the fixture model is still
 * 2x the resulting limit (1,000x at fp32 noise).
 */
export const NOISE_FACTOR = 3;
/**
 * A limit above this cannot confirm a bidirectional layer (true leaks are of order 0.1..1): a failure
 * there is put down to the backend's noise, not to the mask.
 */
export const TOO_NOISY = 0.25;
/** With a zero floor (a deterministic backend): a leak above one unit of the compute precision is real. */
export const PRECISION_FACTOR = 1;

export interface BidirectionalCheck {
  passed: boolean;
  backend: string;
  /** Layers with index >= bidirectionalFrom were checked to see later tokens. */
  bidirectionalFrom: number;
  layers: number;
  probes: number;
  /** Per layer: the largest relative change of earlier tokens' update when run causally. Must be <= limit. */
  causalLeak: number[];
  /** Per layer >= bidirectionalFrom (null below): the same when run bidirectionally. Must be > limit. */
  bidirectionalLeak: (number | null)[];
  /** Per layer: the noise floor measured on identical copies (largest over that layer's passes). */
  floor: number[];
  /** Per layer: max(noiseFactor x floor, precisionFactor x epsilon). */
  limit: number[];
  noiseFactor: number;
  precisionFactor: number;
  /** The backend's compute precision the limits were derived from. */
  epsilon: number;
  /** One line per failing layer (empty when passed). */
  failures: string[];
}

/** Tokens at the end of each probe that its twin replaces; the tokens before them are the ones checked. */
export const TAIL = 3;

/** Probe pairs: token ids of each probe, and the same with its last TAIL tokens replaced. */
export function probePairs(tok: Tokenizer, vocab: number): [number[], number[]][] {
  const others = tok.encode('Purple elephants quietly juggle seven umbrellas').filter((id) => id < vocab && id >= 3);
  return PROBES.map((text) => {
    const a = tok.encode(text).filter((id) => id < vocab);
    if (a.length < TAIL + 2) throw new Error(`bidirectionality probe "${text}" is too short after tokenization`);
    const b = a.slice();
    for (let i = 0; i < TAIL; i++) {
      const at = a.length - TAIL + i;
      let other = others[(others.length - TAIL + i) % others.length];
      if (other === a[at]) other = other + 1 < vocab ? other + 1 : other - 1;
      b[at] = other;
    }
    return [a, b];
  });
}

/**
 * Copies of each prompt whose updates are averaged before comparing: 16-bit compute rounds coarsely
 * enough that one copy's noise is a tenth of a layer's true leak; 8 copies divide it by about 2.8.
 */
export function copiesFor(epsilon: number): number {
  return epsilon > 1e-4 ? COPIES_16BIT : 1;
}
export const COPIES_16BIT = 8;

interface Stream { after: Float32Array; before: Float32Array }

/** Mean update (after - before) of token t over copies r of prompt p in the half `half` of a batch. */
function meanUpdate(s: Stream, batch: PackedBatch, P: number, R: number, half: number, p: number, t: number, H: number, out: Float64Array): void {
  out.fill(0);
  for (let r = 0; r < R; r++) {
    const row = batch.starts[half * P * R + r * P + p] + t;
    for (let j = 0; j < H; j++) out[j] += (s.after[row * H + j] - s.before[row * H + j]) / R;
  }
}

/** |u1 - u2| / |u1| */
function change(u1: Float64Array, u2: Float64Array): number {
  let diff = 0, norm = 0;
  for (let j = 0; j < u1.length; j++) {
    diff += (u1[j] - u2[j]) ** 2;
    norm += u1[j] ** 2;
  }
  return diff === 0 ? 0 : Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

interface Pass { leak: number; floor: number }

/**
 * The leak (first halves of X and Y: A against B, earlier tokens) and the floor (identical tokens:
 * X's halves against each other, second halves of X and Y) of one pass, on updates averaged over copies.
 */
function measure(x: Stream, y: Stream, batch: PackedBatch, P: number, R: number, H: number): Pass {
  let leak = 0, floor = 0;
  const worse = (cur: number, r: number) => (r <= cur ? cur : r); // NaN counts as the worst
  const xa = new Float64Array(H), xc = new Float64Array(H), ya = new Float64Array(H), yc = new Float64Array(H);
  for (let p = 0; p < P; p++) {
    const T = batch.starts[p + 1] - batch.starts[p];
    for (let t = 0; t < T - TAIL; t++) {
      meanUpdate(x, batch, P, R, 0, p, t, H, xa);
      meanUpdate(x, batch, P, R, 1, p, t, H, xc);
      meanUpdate(y, batch, P, R, 0, p, t, H, ya);
      meanUpdate(y, batch, P, R, 1, p, t, H, yc);
      leak = worse(leak, change(xa, ya));
      floor = worse(floor, change(xa, xc));
      floor = worse(floor, change(xc, yc));
    }
  }
  return { leak, floor };
}

const fmt = (x: number) => x.toExponential(2);

/**
 * Checks layers [0, layers) of `decoder`: every layer causal when asked to be, and layers >=
 * `bidirectionalFrom` bidirectional when run as a run with that k runs them.
 */
export function checkBidirectionality(decoder: Decoder, tok: Tokenizer, o: { bidirectionalFrom: number; layers?: number | null }): BidirectionalCheck {
  const b: Backend = decoder.backend;
  const n = decoder.resolveLayers(o.layers);
  const k = o.bidirectionalFrom;
  const H = decoder.config.hidden_size;
  const pairs = probePairs(tok, decoder.config.vocab_size);
  const P = pairs.length;
  const R = copiesFor(b.epsilon);
  const A = pairs.map((p) => p[0]), B = pairs.map((p) => p[1]);
  const rep = (s: number[][]) => Array.from({ length: R }, () => s).flat();
  const bx = packBatch([...rep(A), ...rep(A)]);
  const by = packBatch([...rep(B), ...rep(A)]);
  const causalLeak: number[] = [], bidirectionalLeak: (number | null)[] = [], floor: number[] = [];
  const epsilon = b.epsilon;
  const limitOf = (f: number) => Math.max(NOISE_FACTOR * f, PRECISION_FACTOR * epsilon); // NaN stays NaN
  let hx: Act = decoder.embedTokens(bx);
  let hy: Act | null = null;
  try {
    hy = decoder.embedTokens(by);
    for (let l = 0; l < n; l++) {
      const before = { x: b.download(hx).slice(), y: b.download(hy).slice() };
      // as the run runs it (bidirectional for l >= k, causal below), on copies of the inputs
      const cx = b.copy(hx);
      const cy = b.copy(hy);
      let asRun: Pass;
      try {
        decoder.runLayers(cx, bx, l, l + 1, k);
        decoder.runLayers(cy, by, l, l + 1, k);
        asRun = measure({ after: b.download(cx), before: before.x }, { after: b.download(cy), before: before.y }, bx, P, R, H);
      } catch (e) {
        b.free(cx);
        b.free(cy);
        throw e;
      }
      if (l < k && asRun.leak <= limitOf(asRun.floor)) {
        // a causal layer that leaked nothing: its output advances the streams
        bidirectionalLeak.push(null);
        causalLeak.push(asRun.leak);
        floor.push(asRun.floor);
        b.free(hx);
        hx = cx;
        b.free(hy);
        hy = cy;
        continue;
      }
      b.free(cx);
      b.free(cy);
      // the causal pass advances the streams, so the next layer starts from identical earlier tokens
      decoder.layer(hx, l, bx, 'causal');
      decoder.layer(hy, l, by, 'causal');
      const causal = measure({ after: b.download(hx), before: before.x }, { after: b.download(hy), before: before.y }, bx, P, R, H);
      // below k the as-run pass is the layer's causal run (it leaked); at k and above it is the bidirectional one
      bidirectionalLeak.push(l >= k ? asRun.leak : null);
      causalLeak.push(l >= k ? causal.leak : asRun.leak);
      floor.push(Math.max(asRun.floor, causal.floor)); // NaN when either is
    }
  } finally {
    b.free(hx);
    if (hy) b.free(hy);
  }
  const limit = floor.map(limitOf);
  const failures: string[] = [];
  const rule = (l: number) => `limit ${fmt(limit[l])} = max(${NOISE_FACTOR} x noise floor ${fmt(floor[l])}, ${PRECISION_FACTOR} x precision ${fmt(epsilon)})`;
  for (let l = 0; l < n; l++) {
    if (!Number.isFinite(floor[l]) || !Number.isFinite(causalLeak[l]) || (bidirectionalLeak[l] !== null && !Number.isFinite(bidirectionalLeak[l]))) {
      failures.push(`layer ${l} gives non-finite hidden states on the probe (leak ${causalLeak[l]}, floor ${floor[l]}): the backend or the weights are broken`);
      continue;
    }
    if (causalLeak[l] > limit[l]) {
      failures.push(`layer ${l} run causally lets earlier tokens see the last one (relative change ${fmt(causalLeak[l])} > ${rule(l)}): ` +
        `${l >= k ? 'the backend ignores the causal mask' : `layer ${l} runs bidirectionally although k = ${k}, or the backend ignores the causal mask`}`);
    }
    const bi = bidirectionalLeak[l];
    if (bi !== null && !(bi > limit[l])) {
      failures.push(limit[l] > TOO_NOISY
        ? `layer ${l} run bidirectionally changes earlier tokens by ${fmt(bi)}, not above the ${rule(l)}: ` +
          `this backend's rounding noise is too large to confirm that the layer sees later tokens`
        : `layer ${l} run bidirectionally does not let earlier tokens see the last one (relative change ${fmt(bi)} <= ${rule(l)}): ` +
          `the backend ignores the bidirectional mask, or layer ${l} is run causally, so the run would be causal there`);
    }
  }
  return {
    passed: failures.length === 0, backend: b.name, bidirectionalFrom: k, layers: n, probes: P,
    causalLeak, bidirectionalLeak, floor, limit, noiseFactor: NOISE_FACTOR, precisionFactor: PRECISION_FACTOR, epsilon, failures,
  };
}

export interface CheckMargins {
  /** Smallest change of a bidirectional layer, and its ratio to that layer's limit (> 1 passes). */
  smallestBidirectional: number;
  bidirectionalOverLimit: number;
  /** Largest leak of a causal pass, and its ratio to that layer's limit (<= 1 passes). */
  largestCausal: number;
  causalOverLimit: number;
  largestFloor: number;
}

/** The check's margins on both sides, for logs and the README's table. */
export function checkMargins(c: BidirectionalCheck): CheckMargins {
  let smallestBidirectional = Infinity, bidirectionalOverLimit = Infinity, largestCausal = 0, causalOverLimit = 0;
  c.bidirectionalLeak.forEach((x, l) => {
    if (x === null) return;
    smallestBidirectional = Math.min(smallestBidirectional, x);
    bidirectionalOverLimit = Math.min(bidirectionalOverLimit, x / c.limit[l]);
  });
  c.causalLeak.forEach((x, l) => {
    largestCausal = Math.max(largestCausal, x);
    causalOverLimit = Math.max(causalOverLimit, x / c.limit[l]);
  });
  return { smallestBidirectional, bidirectionalOverLimit, largestCausal, causalOverLimit, largestFloor: Math.max(...c.floor) };
}
