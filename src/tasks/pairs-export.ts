// The scored pairs of a task in the order `score` expects its predictions: scored subsets in registry
// order (STS12-16: every subset; STS-B/SICK-R: the chosen split), pairs in file order. The sentences are
// SentEval's text (whitespace-normalized; before bellm-bench's own preprocessing and prompt), so any other
// tool can embed them and bring back one similarity per line for `bellm-bench score`.
import { scoredSubsets, type LoadedTask } from './load.ts';

export interface ExportedPair {
  index: number;                // 0-based position in the predictions file
  subset: string;
  gold: number;
  s1: string;
  s2: string;
}

export function scoredPairs(task: LoadedTask): ExportedPair[] {
  let index = 0;
  return scoredSubsets(task).flatMap((sub) => sub.pairs.map((p) => ({ index: index++, subset: sub.name, gold: p.gold, s1: p.s1, s2: p.s2 })));
}

export const PAIR_FORMATS = ['tsv', 'jsonl'] as const;
export type PairFormat = (typeof PAIR_FORMATS)[number];

/** TSV with a header line; sentences never hold tabs or line breaks (SentEval's whitespace split removes them). */
export function pairsToTsv(pairs: readonly ExportedPair[]): string {
  const lines = ['index\tsubset\tgold\tsentence1\tsentence2'];
  for (const p of pairs) {
    if (/[\t\r\n]/.test(p.s1 + p.s2)) throw new Error(`pair ${p.index}: a sentence holds a tab or line break`);
    lines.push(`${p.index}\t${p.subset}\t${p.gold}\t${p.s1}\t${p.s2}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One JSON object per line: {"index", "subset", "gold", "sentence1", "sentence2"}. */
export function pairsToJsonl(pairs: readonly ExportedPair[]): string {
  return pairs.map((p) => JSON.stringify({ index: p.index, subset: p.subset, gold: p.gold, sentence1: p.s1, sentence2: p.s2 })).join('\n') + (pairs.length ? '\n' : '');
}
