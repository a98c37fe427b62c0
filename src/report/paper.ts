// BeLLM's published numbers (paper-reference.json, with their source) and the comparison against them.
import type { StsResults } from '../experiments/results/results.ts';
import reference from './paper-reference.json' with { type: 'json' };
import { AVG, STS_COLUMNS, fixed, round2, signed } from './format.ts';

export interface PaperReference {
  about: string;
  source: { repository: string; readmeCommit: string; paper: string; paperUrl: string; title: string };
  label: string;
  model: string;
  baseModel: string;
  adapter: string;
  billmStartIndex: number;
  command: string;
  scores: Record<string, number>;
}

export const paperReference: PaperReference = reference;
export const PAPER_COLUMNS: string[] = [...STS_COLUMNS, AVG];

/** One line naming where the reference numbers come from. */
export function paperSourceLine(ref: PaperReference = paperReference): string {
  return `Reference: ${ref.label}, ${ref.model} (adapter ${ref.adapter}, billmStartIndex ${ref.billmStartIndex}), from ${ref.source.repository} README; paper ${ref.source.paper}.`;
}

/** Deltas (row - paper) per column, on the printed numbers; null where the row lacks the column. */
export function paperDeltas(row: Record<string, number>, ref: PaperReference = paperReference): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const c of PAPER_COLUMNS) out[c] = c in row && c in ref.scores ? round2(row[c] - ref.scores[c]) : null;
  return out;
}

/**
 * A plain-text (Markdown) table of one run beside BeLLM's published numbers and the deltas, for the
 * `sts` command to print. `row` is a results file's `table` (label -> Spearman x100, plus 'Avg').
 */
export function formatPaperComparison(row: Record<string, number>, label = 'this run', ref: PaperReference = paperReference): string {
  const d = paperDeltas(row, ref);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const widths = ['', ...PAPER_COLUMNS];
  return [
    line(['', ...PAPER_COLUMNS]),
    line(widths.map((_, i) => (i === 0 ? '---' : '---:'))),
    line([ref.label, ...PAPER_COLUMNS.map((c) => fixed(ref.scores[c]))]),
    line([label.replace(/\|/g, '\\|'), ...PAPER_COLUMNS.map((c) => fixed(row[c]))]),
    line(['Δ (run − paper)', ...PAPER_COLUMNS.map((c) => signed(d[c]))]),
    '',
    paperSourceLine(ref),
  ].join('\n');
}

/**
 * Where a run differs from the published configuration (model, adapter, preset, GPU fp16 compute),
 * one line each, printed under the comparison so a delta is read for what it is.
 */
export function paperConfigNotes(r: StsResults, ref: PaperReference = paperReference): string[] {
  const notes: string[] = [];
  const hub = r.provenance.hub;
  const model = hub?.model?.id ?? r.provenance.model.dir;
  const adapter = hub?.adapter?.id ?? (r.provenance.adapter ? String(r.provenance.adapter.dir) : 'none');
  if (model !== ref.baseModel) notes.push(`note: the published run uses ${ref.baseModel}; this run's model is ${model}`);
  if (adapter !== ref.adapter) notes.push(`note: the published run uses the adapter ${ref.adapter}; this run's is ${adapter}`);
  if (r.settings.preset !== 'bellm-paper') notes.push('note: --preset bellm-paper sets every setting the published run fixes; this run used ' + r.settings.preset);
  else if (r.settings.billmStartIndex !== ref.billmStartIndex) notes.push(`note: the published run makes layers >= ${ref.billmStartIndex} bidirectional; this run ${r.settings.billmStartIndex ?? 'none'}`);
  if (r.settings.computeDtype && r.settings.computeDtype !== 'fp16') notes.push(`note: the published run computed in fp16 on a GPU; this run's activations are ${r.settings.computeDtype}${r.provenance.backend.startsWith('cpu') ? ' (CPU)' : ''}, so small deltas are expected`);
  if (r.tasks.length < 7) notes.push(`note: ${r.tasks.length} of the 7 tasks ran; Avg is over those`);
  return notes;
}
