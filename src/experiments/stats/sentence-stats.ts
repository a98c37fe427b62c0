// Per-sentence statistics for the box plots, computed from per-token hidden states of one layer.
import { packBatch } from '../../model/arch/batch.ts';
import type { Embedder } from '../../model/embed/embedder.ts';
import { planBatches, tokenizeAll } from '../../model/embed/embedder.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import { parseTemplate } from '../../model/tokenize/template.ts';
import { UserError } from '../../errors.ts';
import { PIVOT_SPEARMAN_DEFINITION, pivotSpearman } from '../../eval/pivot-spearman.ts';
import type { SentenceStat } from '../results/results.ts';

export interface PivotRunOptions {
  billmStartIndex: number | null;
  nLayers?: number | null;
  /** 'final' (after the final norm, the default) or a residual-stream index 0..L. */
  layer: number | 'final';
  includeBos: boolean;
  /** Leave out the prompt's own tokens (before and after {text}); BOS follows includeBos. */
  excludePrompt?: boolean;
  batchTokens?: number;
}

/**
 * Token positions of the sentence inside its prompt: after the ids of the template's prefix and before
 * those of its suffix. Found by tokenizing prefix and suffix alone, which is exact when the text does
 * not merge with the prompt at a boundary (a space or quote separates them in every named prompt);
 * where the prefix ids are not a prefix of the sequence, the whole sequence is kept.
 */
export function sentenceSpan(e: Embedder, s: EmbedSettings, ids: readonly number[]): { from: number; to: number } {
  checkSimplePrompt(s);
  const [pre, post] = s.prompt.split('{text}');
  const preIds = e.tokenizer.encode(pre.trimEnd());
  const probe = e.tokenizer.encode('a');
  const postLen = post === undefined ? 0 : e.tokenizer.encode(`a${post}`).length - probe.length;
  const untruncated = ids.length < s.maxLength;
  const from = preIds.every((x, i) => ids[i] === x) ? preIds.length : e.tokenizer.bosId === null ? 0 : 1;
  const to = untruncated ? Math.max(from, ids.length - postLen) : ids.length;
  return { from, to };
}

/** sentenceSpan's rule holds for fixed text around one {text}, tokenized whole (BeLLM's prompts). */
function checkSimplePrompt(s: EmbedSettings): void {
  const t = parseTemplate(s.prompt);
  const simple = (s.tokenize ?? 'whole') === 'whole' && !t.pooled
    && t.pieces.every((p) => !p.group && (p.parts[0].kind === 'fixed' || p.parts[0].kind === 'text'))
    && t.pieces.filter((p) => p.parts[0].kind === 'text').length === 1 && !s.prompt.includes('{{') && !s.prompt.includes('}}');
  if (!simple) throw new UserError(`--no-pivot-prompt needs a template of fixed text around one {text} (not ${JSON.stringify(s.prompt)})`);
}

/** pivot-spearman of each sentence (pivot = the pooled last token), in input order. */
export function pivotSpearmanStat(e: Embedder, sentences: readonly string[], task: string, s: EmbedSettings, o: PivotRunOptions): SentenceStat {
  if (o.excludePrompt) checkSimplePrompt(s);
  const ids = tokenizeAll(e.tokenizer, sentences, s);
  const values = new Array<number>(sentences.length);
  const H = e.dim;
  for (const b of planBatches(ids.map((x) => x.length), o.batchTokens ?? 2048)) {
    const batch = packBatch(b.map((i) => ids[i]));
    const hs = e.decoder.hiddenStates(batch, { billmStartIndex: o.billmStartIndex, nLayers: o.nLayers, layer: o.layer });
    b.forEach((i, j) => {
      const T = batch.starts[j + 1] - batch.starts[j];
      const span = o.excludePrompt ? sentenceSpan(e, s, ids[i]) : undefined;
      // without a BOS (Qwen) position 0 is the text's first token: it always takes part
      values[i] = pivotSpearman(hs.subarray(batch.starts[j] * H, batch.starts[j + 1] * H), T, H, { includeBos: o.includeBos || e.tokenizer.bosId === null, span });
    });
  }
  return {
    statistic: 'pivot-spearman',
    definition: PIVOT_SPEARMAN_DEFINITION,
    options: { layer: o.layer, pivot: 'last (pooled) token', includeBos: o.includeBos, excludePrompt: o.excludePrompt ?? false, billmStartIndex: o.billmStartIndex, nLayers: o.nLayers ?? null },
    task,
    values,
  };
}
