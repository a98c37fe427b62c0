// Per-sentence statistics for the box plots, computed from per-token hidden states of one layer.
import { packBatch } from '../model/batch.ts';
import type { Embedder } from '../model/embedder.ts';
import { planBatches, tokenizeAll } from '../model/embedder.ts';
import type { EmbedSettings } from '../model/presets.ts';
import { PIVOT_SPEARMAN_DEFINITION, pivotSpearman } from '../eval/pivot-spearman.ts';
import type { SentenceStat } from './results.ts';

export interface PivotRunOptions {
  billmStartIndex: number | null;
  nLayers?: number | null;
  /** 'final' (after the final norm, the default) or a residual-stream index 0..L. */
  layer: number | 'final';
  includeBos: boolean;
  batchTokens?: number;
}

/** pivot-spearman of each sentence (pivot = the pooled last token), in input order. */
export function pivotSpearmanStat(e: Embedder, sentences: readonly string[], task: string, s: EmbedSettings, o: PivotRunOptions): SentenceStat {
  const ids = tokenizeAll(e.tokenizer, sentences, s);
  const values = new Array<number>(sentences.length);
  const H = e.dim;
  for (const b of planBatches(ids.map((x) => x.length), o.batchTokens ?? 2048)) {
    const batch = packBatch(b.map((i) => ids[i]));
    const hs = e.decoder.hiddenStates(batch, { billmStartIndex: o.billmStartIndex, nLayers: o.nLayers, layer: o.layer });
    b.forEach((i, j) => {
      const T = batch.starts[j + 1] - batch.starts[j];
      values[i] = pivotSpearman(hs.subarray(batch.starts[j] * H, batch.starts[j + 1] * H), T, H, { includeBos: o.includeBos });
    });
  }
  return {
    statistic: 'pivot-spearman',
    definition: PIVOT_SPEARMAN_DEFINITION,
    options: { layer: o.layer, pivot: 'last (pooled) token', includeBos: o.includeBos, billmStartIndex: o.billmStartIndex, nLayers: o.nLayers ?? null },
    task,
    values,
  };
}
