// Packing tokenized sequences into one varlen batch for the backend.
import type { PackedBatch, PoolSpans } from '../../backend/ops.ts';

/** A pooled token range [from, to) within one sequence; null = every valid token. */
export interface SeqSpan { from: number; to: number }

/** Per-sequence pool ranges for a batch (absent when no sequence has a span). Checked against lengths. */
function poolSpans(seqs: readonly (readonly number[])[], spans: readonly (SeqSpan | null)[] | undefined): PoolSpans | undefined {
  if (!spans || spans.every((x) => x === null)) return undefined;
  if (spans.length !== seqs.length) throw new Error(`${spans.length} pool spans for ${seqs.length} sequences`);
  const from = new Int32Array(seqs.length);
  const to = new Int32Array(seqs.length);
  spans.forEach((sp, s) => {
    const n = seqs[s].length;
    const [f, t] = sp ? [sp.from, sp.to] : [0, n];
    if (!(Number.isInteger(f) && Number.isInteger(t) && f >= 0 && f < t && t <= n)) throw new Error(`sequence ${s}: pool span [${f}, ${t}) outside its ${n} tokens`);
    from[s] = f;
    to[s] = t;
  });
  return { from, to };
}

/** Sequences back to back, no padding (the default: correct masking, no padding waste). */
export function packBatch(seqs: readonly (readonly number[])[], spans?: readonly (SeqSpan | null)[]): PackedBatch {
  const count = seqs.length;
  const starts = new Int32Array(count + 1);
  for (let s = 0; s < count; s++) {
    if (seqs[s].length === 0) throw new Error(`sequence ${s} is empty: every input needs at least the BOS token`);
    starts[s + 1] = starts[s] + seqs[s].length;
  }
  const ids = new Int32Array(starts[count]);
  const positions = new Int32Array(starts[count]);
  const valid = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    ids.set(seqs[s], starts[s]);
    for (let t = 0; t < seqs[s].length; t++) positions[starts[s] + t] = t;
    valid[s] = seqs[s].length;
  }
  const pool = poolSpans(seqs, spans);
  return { count, starts, valid, ids, positions, padKeysVisibleInBidirectional: false, ...(pool ? { poolSpans: pool } : {}) };
}

/**
 * BiLLM's released behaviour (--billm-mask-compat): the batch as given, right-padded with `padId` to
 * its longest sequence, positions 0..T-1, and bidirectional layers attending to the padding keys.
 */
export function packBatchBillmCompat(seqs: readonly (readonly number[])[], padId: number, spans?: readonly (SeqSpan | null)[]): PackedBatch {
  const T = Math.max(...seqs.map((s) => s.length));
  const count = seqs.length;
  const starts = new Int32Array(count + 1);
  const ids = new Int32Array(count * T).fill(padId);
  const positions = new Int32Array(count * T);
  const valid = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    starts[s + 1] = (s + 1) * T;
    ids.set(seqs[s], s * T);
    for (let t = 0; t < T; t++) positions[s * T + t] = t;
    valid[s] = seqs[s].length;
  }
  const pool = poolSpans(seqs, spans);
  return { count, starts, valid, ids, positions, padKeysVisibleInBidirectional: true, ...(pool ? { poolSpans: pool } : {}) };
}
