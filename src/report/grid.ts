// The report of an experiment grid (`bellm-bench run`): one table of every cell (tasks + Avg), each
// sts cell's difference from the baseline cell with paired-bootstrap CIs, the degradation tables and
// figures (print size, as `bellm-bench report` draws them), and every cell's settings and status.
// Written by the same writer as `bellm-bench report` (Markdown, HTML, CSV, LaTeX, PNG/SVG/PDF).
import { UserError } from '../errors.ts';
import type { DegradeResults, Results, StsResults } from '../experiments/results/results.ts';
import { DEFAULT_TURNING_POINT, type TurningPointMethod } from '../experiments/stats/turning-point.ts';
import type { Split } from '../tasks/split.ts';
import { bootstrapCompare, type BootstrapComparison } from './bootstrap.ts';
import { degradeFigures } from './charts.ts';
import { DEFAULT_STYLE, type FigureStyle } from './figure-style.ts';
import { AVG, signed, stsTableRow, x100 } from './format.ts';
import type { LoadedResults } from './load.ts';
import { writeBuiltReport, type Format, type Report, type WrittenReport } from './report.ts';
import { degradeTable, fileParts, taskColumns, type Cell as TableCell, type Table } from './tables.ts';

export interface GridCellOutcome {
  /** The cell's folder name (its key's first 16 hex digits). */
  id: string;
  label: string;
  command: 'sts' | 'degrade';
  status: 'done' | 'failed' | 'missing';
  error?: string;
  /** The cell's results (when done), labelled as the experiment file labels the cell now. */
  results?: Results;
  /** Where its results file is, relative to the output folder. */
  file: string;
  /** Every setting in the cell's key (option name -> value). */
  settings: Record<string, unknown>;
  /** A degrade cell's --turning-point: the one its table names. */
  turningPoint?: TurningPointMethod;
}

export interface GridReportInput {
  name: string;
  file: string;
  cells: GridCellOutcome[];
  /** Label of the baseline cell, or null. */
  baseline: string | null;
  bootstrap: number;
  seed: number;
  /** Figure size and titles (default: single column, no titles, as `bellm-bench report`). */
  figure?: FigureStyle;
}

const splitOf = (r: { split?: Split }): Split => r.split ?? 'test';

const isSts = (c: GridCellOutcome): c is GridCellOutcome & { results: StsResults } => c.status === 'done' && c.results?.kind === 'sts';
const isDeg = (c: GridCellOutcome): c is GridCellOutcome & { results: DegradeResults } => c.status === 'done' && c.results?.kind === 'degrade';

/** Rows = sts cells (failed and missing ones included, without numbers), columns = tasks + Avg + status. */
export function gridTable(input: GridReportInput): Table {
  const sts = input.cells.filter((c) => c.command === 'sts');
  const labels = taskColumns(sts.filter(isSts).map((c) => c.results.tasks));
  const degrade = input.cells.filter((c) => c.command === 'degrade').length;
  return {
    id: 'grid',
    title: `${input.name}: every cell, Spearman x100 (STS12-16: all; STS-B, SICK-R: ${sts.some((c) => isSts(c) && splitOf(c.results) === 'dev') ? 'test, or dev where a cell says so' : 'test'})`,
    columns: [{ key: 'cell', title: 'Cell' }, ...[...labels, AVG].map((c) => ({ key: c, title: c })), { key: 'status', title: 'status' }],
    rows: sts.map((c) => {
      const row = isSts(c) ? stsTableRow(c.results.tasks) : {};
      const status = c.status === 'failed' ? `failed: ${c.error ?? ''}` : isSts(c) && splitOf(c.results) === 'dev' ? 'done (dev split)' : c.status;
      return [c.label, ...[...labels, AVG].map((l) => row[l] ?? null), status];
    }),
    notes: [
      'Avg is the mean of the printed task numbers (over the tasks a cell has).',
      ...(input.baseline ? [`Baseline: ${input.baseline}.`] : []),
      ...(degrade ? [`${degrade} degradation sweep cell${degrade > 1 ? 's are' : ' is'} in the degradation tables.`] : []),
    ],
  };
}

/** Each sts cell minus the baseline cell: Δ per task and Avg, with the paired bootstrap's percentile CI. */
export function deltaTable(input: GridReportInput): { table: Table | null; comparisons: BootstrapComparison[] } {
  const done = input.cells.filter(isSts);
  const base = done.find((c) => c.label === input.baseline);
  if (!base) return { table: null, comparisons: [] };
  // Only cells scored on the baseline's split are compared with it (the other split has other pairs).
  const sts = done.filter((c) => splitOf(c.results) === splitOf(base.results));
  const otherSplit = done.length - sts.length;
  const others = sts.filter((c) => c !== base);
  if (others.length === 0) return { table: null, comparisons: [] };
  const labels = taskColumns([base.results.tasks]);
  const comparisons: BootstrapComparison[] = [];
  const rows: TableCell[][] = [];
  const refused: string[] = [];
  for (const c of others) {
    if (input.bootstrap > 0) {
      let cmp: BootstrapComparison;
      try {
        cmp = bootstrapCompare(base.results, c.results, { resamples: input.bootstrap, seed: input.seed, fileA: base.file, fileB: c.file });
      } catch (e) {
        // e.g. a cell that scored other tasks: its row says why instead of failing the whole report
        if (!(e instanceof UserError)) throw e;
        refused.push(`${c.label}: not compared (${e.message})`);
        rows.push([c.label, ...labels.map(() => null), null]);
        continue;
      }
      comparisons.push(cmp);
      const cellOf = (task: string): TableCell => {
        const r = cmp.rows.find((x) => x.task === task);
        if (!r) return null;
        const star = r.ciLow > 0 || r.ciHigh < 0 ? ' *' : '';
        return `${signed(x100(r.delta))} [${signed(x100(r.ciLow))}, ${signed(x100(r.ciHigh))}]${star}`;
      };
      rows.push([c.label, ...labels.map(cellOf), cmp.rows.length > 1 ? cellOf(AVG) : null]);
    } else {
      const deltas = labels.map((l) => {
        const a = base.results.tasks.find((t) => t.label === l), b = c.results.tasks.find((t) => t.label === l);
        return a && b ? b.main - a.main : null;
      });
      const have = deltas.filter((d): d is number => d !== null);
      rows.push([c.label, ...deltas.map((d) => (d === null ? null : signed(x100(d)))), have.length > 1 ? signed(x100(have.reduce((s, d) => s + d, 0) / have.length)) : null]);
    }
  }
  const pct = 95;
  const notes = input.bootstrap > 0
    ? [
      `Δ = cell − baseline (${base.label}) from unrounded Spearman, x100; [${pct}% CI] from a paired bootstrap over each task's scored pairs (${input.bootstrap} resamples, seed ${input.seed}); * marks a CI that excludes 0.`,
      'Avg: per resample, the mean of the task Δs. The per-task sign flips and the full intervals are in report.json ("bootstrap").',
    ]
    : [`Δ = cell − baseline (${base.label}) from unrounded Spearman, x100; no bootstrap (report: {bootstrap: 0}).`];
  notes.push(...comparisons.flatMap((cmp) => cmp.warnings.map((w) => `Warning: ${w}.`)), ...refused);
  if (otherSplit) notes.push(`${otherSplit} cell${otherSplit > 1 ? 's' : ''} scored on another split than the baseline's (${splitOf(base.results)}) ${otherSplit > 1 ? 'are' : 'is'} not compared.`);
  return {
    table: {
      id: 'grid-deltas',
      title: `${input.name}: difference from the baseline (${base.label}), Spearman x100${input.bootstrap > 0 ? `, ${pct}% CI` : ''}`,
      columns: [{ key: 'cell', title: 'Cell' }, ...[...labels, AVG].map((c) => ({ key: c, title: `Δ ${c}` }))],
      rows,
      notes,
    },
    comparisons,
  };
}

const showSetting = (v: unknown): TableCell => (v === null || v === undefined ? null : Array.isArray(v) ? v.join(' ') : typeof v === 'number' || typeof v === 'string' ? v : String(v));

/**
 * Every cell: command, status, folder, the backend it ran on, and each setting that differs between the
 * cells that have it (sts and degrade have different options); the settings all cells share in a note.
 */
export function cellsTable(input: GridReportInput): Table {
  const names = [...new Set(input.cells.flatMap((c) => Object.keys(c.settings)))].sort();
  const having = (n: string) => input.cells.filter((c) => n in c.settings);
  const varying = names.filter((n) => new Set(having(n).map((c) => JSON.stringify(c.settings[n] ?? null))).size > 1);
  const same = names.filter((n) => !varying.includes(n) && having(n)[0].settings[n] !== null);
  return {
    id: 'grid-cells',
    title: `${input.name}: cells and settings`,
    columns: [
      { key: 'cell', title: 'Cell' }, { key: 'command', title: 'command' }, { key: 'status', title: 'status' }, { key: 'id', title: 'folder' },
      { key: 'backend', title: 'backend' },
      ...varying.map((n) => ({ key: n, title: n.replaceAll('-', '_'), decimals: 0 })),
      { key: 'error', title: 'error' },
    ],
    rows: input.cells.map((c) => [c.label, c.command, c.status, `cells/${c.id}`, c.results?.provenance?.backend ?? null,
      ...varying.map((n) => showSetting(c.settings[n])), c.error ?? null]),
    notes: [
      ...(same.length ? [`Every cell that has the option: ${same.map((n) => `${n.replaceAll('-', '_')} = ${JSON.stringify(having(n)[0].settings[n])}`).join('; ')}.`] : []),
      'backend: where the cell ran (with device: auto this depends on the machine; set device in the experiment file to pin it).',
    ],
  };
}

export function buildGridReport(input: GridReportInput): Report {
  const done = input.cells.filter((c) => c.status === 'done').length;
  const failed = input.cells.filter((c) => c.status === 'failed').length;
  const missing = input.cells.length - done - failed;
  const intro = [
    `Experiment ${input.name} (${input.file}): ${input.cells.length} cells, ${done} done${failed ? `, ${failed} failed` : ''}${missing ? `, ${missing} not run yet` : ''}.`,
    'Spearman x100 to two decimals as BeLLM\'s eval_sts.py prints them; every cell\'s results file is under cells/<folder>/results.json.',
  ];
  const lead: Table[] = [];
  if (input.cells.some((c) => c.command === 'sts')) lead.push(gridTable(input));
  const { table: deltas, comparisons } = deltaTable(input);
  if (deltas) lead.push(deltas);
  const deg = input.cells.filter(isDeg);
  // cells "sweep 1" and "sweep_1": two files each, never one (fileParts)
  const parts = fileParts(deg.map((c) => c.results.label));
  const rest: Table[] = [...deg.map((c) => degradeTable(c.results, c.turningPoint ?? DEFAULT_TURNING_POINT, parts)), { ...cellsTable(input), latex: false }];
  // The figures mark one turning point: the one every degrade cell names, else the default (with a note).
  const methods = [...new Set(deg.map((c) => c.turningPoint ?? DEFAULT_TURNING_POINT))];
  const method = methods.length === 1 ? methods[0] : DEFAULT_TURNING_POINT;
  if (methods.length > 1) intro.push(`The degradation figures mark the ${method} turning point; each sweep's table names its own cell's choice.`);
  const sources: LoadedResults[] = input.cells.filter((c) => c.status === 'done' && c.results).map((c) => ({ file: c.file, results: c.results! }));
  return {
    title: `bellm-bench grid: ${input.name}`,
    intro, tables: [...lead, ...rest], lead: lead.length,
    figures: degradeFigures(deg.map((c) => c.results), { style: input.figure ?? DEFAULT_STYLE, method, perTask: true, parts }),
    bootstrap: comparisons,
    sources,
  };
}

export async function writeGridReport(input: GridReportInput, outDir: string, formats?: readonly Format[]): Promise<WrittenReport> {
  return writeBuiltReport(buildGridReport(input), outDir, formats ? { formats } : {});
}
