// Shared-prefix sweeps. The hidden states of the causal prefix are identical for every
// billmStartIndex k, so one batch runs its causal layers once and branches at each requested k.
import type { PackedBatch, Pooling } from '../../backend/ops.ts';
import { withScope } from '../../backend/scope.ts';
import type { Decoder } from '../../model/arch/decoder.ts';
import type { SweepMode } from './layers.ts';

export interface SweepBatchResult {
  pooled: Map<number, Float32Array>; // k -> [B * H]
  layerPasses: number;
}

/** Layer passes a sweep needs for one batch, shared vs independent runs. */
export function sweepCost(ks: readonly number[], L: number, mode: SweepMode): { shared: number; naive: number } {
  if (ks.length === 0) return { shared: 0, naive: 0 };
  if (mode === 'truncate') return { shared: Math.max(...ks), naive: ks.reduce((a, k) => a + k, 0) };
  const causal = Math.max(...ks);
  const branches = ks.reduce((a, k) => a + (L - k), 0);
  return { shared: causal + branches, naive: ks.length * L };
}

export function sweepBatch(dec: Decoder, batch: PackedBatch, ks: readonly number[], mode: SweepMode, pooling: Pooling): SweepBatchResult {
  const b = dec.backend;
  const L = dec.numLayers;
  const sorted = [...ks].sort((x, y) => x - y);
  const pooled = new Map<number, Float32Array>();
  let passes = 0;
  // The prefix and each branch are freed even when an op throws (no device memory leaks into the next batch).
  withScope(b, (s) => {
    const h = s.add(dec.embedTokens(batch));
    let cur = 0;
    for (const k of sorted) {
      dec.runLayers(h, batch, cur, k, null); // causal prefix, extended up to k
      passes += k - cur;
      cur = k;
      if (mode === 'truncate' || k === L) {
        pooled.set(k, dec.pool(h, batch, [pooling])[pooling]!);
        continue;
      }
      const branch = s.add(b.copy(h));
      dec.runLayers(branch, batch, k, L, k); // layers >= k bidirectional
      passes += L - k;
      pooled.set(k, dec.pool(branch, batch, [pooling])[pooling]!);
      s.free(branch);
    }
  });
  return { pooled, layerPasses: passes };
}
