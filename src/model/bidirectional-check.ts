// The bidirectionality self-check: before a run with bidirectional layers, prove on the loaded model
// and backend that layers with index >= k see later tokens and causal layers do not. The most common
// silent failure in this field is a model meant to run bidirectional layers that quietly ran causal
// ones (llm2vec issues 74 and 79, transformers issue 33676); its numbers look plausible.
//
// Probe: a few short prompts, each twice, the copies differing only in their last token, packed in one
// batch. The residual stream is advanced through the layers causally (so before every layer the
// earlier tokens of both copies are identical), and at layer l:
//   causal pass:        the earlier tokens' update (output - input) must be the same in both copies;
//   bidirectional pass: (layers >= k) from the same input, the update must differ: those tokens see the
//                       last one.
// The statistic per layer is the largest relative difference of the earlier tokens' updates,
// |u_A - u_B| / |u_A|, over tokens and probes. On a correct backend it is exactly 0 for a causal
// layer (the same arithmetic on the same values) and of order 1e-2..1 for a bidirectional one; the
// thresholds (1e-6 and 1e-4) leave orders of magnitude on both sides. Cost: about (2L - k) layer
// passes over a few dozen tokens.
import type { Act, Backend } from '../backend/ops.ts';
import { packBatch } from './batch.ts';
import type { Decoder } from './decoder.ts';
import type { Tokenizer } from './types.ts';

export const PROBES = [
  'The cat sat on the mat.',
  'A man is playing a guitar on the stage.',
  'Sentence embeddings from a decoder model',
];

export interface BidirectionalCheck {
  passed: boolean;
  backend: string;
  /** Layers with index >= bidirectionalFrom were checked to see later tokens. */
  bidirectionalFrom: number;
  layers: number;
  probes: number;
  /** Per layer: the largest relative change of earlier tokens' update, causal mask. Must be <= causalMax. */
  causalLeak: number[];
  /** Per layer >= bidirectionalFrom (null below): the same with the bidirectional mask. Must be >= bidirectionalMin. */
  bidirectionalLeak: (number | null)[];
  causalMax: number;
  bidirectionalMin: number;
  /** One line per failing layer (empty when passed). */
  failures: string[];
}

export const CAUSAL_MAX = 1e-6;
export const BIDIRECTIONAL_MIN = 1e-4;

/** Probe pairs: token ids of each probe, and the same with a different last token. */
export function probePairs(tok: Tokenizer, vocab: number): [number[], number[]][] {
  return PROBES.map((text) => {
    const a = tok.encode(text).filter((id) => id < vocab);
    if (a.length < 3) throw new Error(`bidirectionality probe "${text}" is too short after tokenization`);
    const last = a[a.length - 1];
    let other = a[1] !== last ? a[1] : (last + 1000) % vocab;
    if (other === last || other < 3) other = last > 3 ? last - 1 : last + 1;
    return [a, [...a.slice(0, -1), other]];
  });
}

/** Largest |u_A - u_B| / |u_A| over the earlier tokens of every pair (u = after - before, per token). */
function leakOf(after: Float32Array, before: Float32Array, starts: Int32Array, H: number): number {
  let worst = 0;
  for (let p = 0; p + 1 < starts.length - 1; p += 2) {
    const a0 = starts[p], b0 = starts[p + 1], T = starts[p + 1] - starts[p];
    for (let t = 0; t < T - 1; t++) {
      let diff = 0, norm = 0;
      for (let j = 0; j < H; j++) {
        const ua = after[(a0 + t) * H + j] - before[(a0 + t) * H + j];
        const ub = after[(b0 + t) * H + j] - before[(b0 + t) * H + j];
        diff += (ua - ub) * (ua - ub);
        norm += ua * ua;
      }
      const r = diff === 0 ? 0 : Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
      if (!(r <= worst)) worst = r;                // NaN counts as the worst
    }
  }
  return worst;
}

/**
 * Checks layers [0, layers) of `decoder`: every layer causal when asked to be, and layers >=
 * `bidirectionalFrom` bidirectional when asked to be.
 */
export function checkBidirectionality(decoder: Decoder, tok: Tokenizer, o: { bidirectionalFrom: number; layers?: number | null }): BidirectionalCheck {
  const b: Backend = decoder.backend;
  const n = decoder.resolveLayers(o.layers);
  const H = decoder.config.hidden_size;
  const pairs = probePairs(tok, decoder.config.vocab_size);
  const batch = packBatch(pairs.flat());
  const causalLeak: number[] = [];
  const bidirectionalLeak: (number | null)[] = [];
  const h: Act = decoder.embedTokens(batch);
  try {
    for (let l = 0; l < n; l++) {
      const before = b.download(h).slice();
      if (l >= o.bidirectionalFrom) {
        const c = b.copy(h);
        decoder.layer(c, l, batch, 'bidirectional');
        bidirectionalLeak.push(leakOf(b.download(c), before, batch.starts, H));
        b.free(c);
      } else bidirectionalLeak.push(null);
      decoder.layer(h, l, batch, 'causal');
      causalLeak.push(leakOf(b.download(h), before, batch.starts, H));
    }
  } finally {
    b.free(h);
  }
  const failures: string[] = [];
  causalLeak.forEach((x, l) => {
    if (!(x <= CAUSAL_MAX)) failures.push(`layer ${l} run causally lets earlier tokens see the last one (relative change ${x.toExponential(2)} > ${CAUSAL_MAX}): the backend ignores the causal mask`);
  });
  bidirectionalLeak.forEach((x, l) => {
    if (x !== null && !(x >= BIDIRECTIONAL_MIN)) failures.push(`layer ${l} run bidirectionally does not let earlier tokens see the last one (relative change ${x.toExponential(2)} < ${BIDIRECTIONAL_MIN}): the backend ignores the bidirectional mask, so the run would be causal`);
  });
  return {
    passed: failures.length === 0, backend: b.name, bidirectionalFrom: o.bidirectionalFrom, layers: n, probes: pairs.length,
    causalLeak, bidirectionalLeak, causalMax: CAUSAL_MAX, bidirectionalMin: BIDIRECTIONAL_MIN, failures,
  };
}
