// A ranked comparison of configurations scored on the same pairs (e.g. `sts --preset a,b,c`): rows by
// Avg, each with a paired bootstrap CI of its difference to the first configuration (the baseline).
import { UserError } from '../errors.ts';
import type { StsResults } from '../experiments/results/results.ts';
import { bootstrapCompare, type BootstrapRow } from './bootstrap.ts';
import { AVG, STS_COLUMNS, x100 } from './format.ts';
import { taskColumns, type Table } from './tables.ts';

export interface RankedEntry {
  rank: number;
  label: string;
  preset: string;
  table: Record<string, number>;      // the run's printed table row (x100), Avg included
  /** Bootstrap of this run minus the baseline on Avg (or the one task); null for the baseline. */
  vsBaseline: BootstrapRow | null;
}

export interface RankedComparison {
  baseline: string;
  resamples: number;
  seed: number;
  level: number;
  key: string;                        // the column ranked by: 'Avg' or the one task's label
  entries: RankedEntry[];             // best first
  warnings: string[];
}

/** Ranks runs by Avg (their one task's score when they share a single task), bootstrapping each against runs[0]. */
export function rankRuns(runs: readonly StsResults[], opts: { resamples: number; seed: number; level?: number }): RankedComparison {
  if (runs.length < 2) throw new UserError('a ranked comparison needs at least two runs');
  const labels = runs.map((r) => r.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new UserError(`two runs are labelled "${dup}": labels must differ to be compared`);
  const base = runs[0];
  const warnings: string[] = [];
  const vs = runs.map((r, i) => {
    if (i === 0) return null;
    const c = bootstrapCompare(base, r, { ...opts, fileA: base.label, fileB: r.label });
    warnings.push(...c.warnings);
    return c.rows.find((x) => x.task === AVG) ?? c.rows[0];
  });
  const key = taskColumns(runs.map((r) => r.tasks)).length === 1 ? runs[0].tasks[0].label : AVG;
  const order = runs.map((_, i) => i).sort((a, b) => (runs[b].table[key] ?? -Infinity) - (runs[a].table[key] ?? -Infinity) || a - b);
  return {
    baseline: base.label,
    resamples: opts.resamples,
    seed: opts.seed,
    level: opts.level ?? 0.95,
    key,
    entries: order.map((i, r) => ({ rank: r + 1, label: runs[i].label, preset: runs[i].settings.preset, table: runs[i].table, vsBaseline: vs[i] })),
    warnings,
  };
}

/** The comparison as a report table (renders to Markdown, CSV and HTML like the others). */
export function rankedTable(c: RankedComparison): Table {
  const tasks = [...new Set(c.entries.flatMap((e) => Object.keys(e.table)))].filter((k) => k !== AVG);
  const sts: readonly string[] = STS_COLUMNS;
  const cols = [...STS_COLUMNS.filter((k) => tasks.includes(k)), ...tasks.filter((k) => !sts.includes(k))];
  const pct = Math.round(c.level * 100);
  return {
    id: 'ranked',
    title: `Ranked by ${c.key} (Spearman x100), paired bootstrap against ${c.baseline}`,
    columns: [
      { key: 'rank', title: 'rank', decimals: 0 }, { key: 'config', title: 'Configuration' }, { key: 'preset', title: 'preset' },
      ...cols.map((k) => ({ key: k, title: k })), ...(c.key === AVG ? [{ key: AVG, title: AVG }] : []),
      { key: 'delta', title: `Δ ${c.key} vs ${c.baseline}`, signed: true },
      { key: 'ciLow', title: `${pct}% CI low`, signed: true }, { key: 'ciHigh', title: `${pct}% CI high`, signed: true },
      { key: 'signFlip', title: 'sign flips', decimals: 3 },
    ],
    rows: c.entries.map((e) => {
      const b = e.vsBaseline;
      return [e.rank, e.label, e.preset, ...cols.map((k) => e.table[k] ?? null), ...(c.key === AVG ? [e.table[AVG] ?? null] : []),
        b ? x100(b.delta) : null, b ? x100(b.ciLow) : null, b ? x100(b.ciHigh) : null, b ? b.signFlip : null];
    }),
    notes: [
      `Paired bootstrap over each task's scored pairs (${c.resamples} resamples, seed ${c.seed}); Δ = configuration − ${c.baseline} from unrounded values, x100; `
        + `${c.key === AVG ? 'Avg: per resample the mean of the task Δs; ' : ''}CI: ${pct}% percentile interval; sign flips: share of resamples whose Δ is not on the point estimate's side.`,
      ...c.warnings.map((w) => `Warning: ${w}.`),
    ],
  };
}
