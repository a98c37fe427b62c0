// Builds a report (tables, figures, comparisons) from results and writes it in the chosen formats.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { Results, SentenceStat, StsResults } from '../experiments/results.ts';
import { bootstrapCompare, type BootstrapComparison } from './bootstrap.ts';
import { boxplotFigures, degradeFigure, taskBarFigure } from './charts.ts';
import { tableToCsv } from './csv.ts';
import { toHtml, type HtmlFigure } from './html.ts';
import { isDegrade, isSts, uniqueLabels, type LoadedResults } from './load.ts';
import { tableToMarkdown } from './markdown.ts';
import { paperReference } from './paper.ts';
import { renderPng, renderSvg, type FigureSpec } from './render.ts';
import { bootstrapTable, degradeTable, paperTable, settingsTable, stsTable, subsetTable, type Table } from './tables.ts';

export const FORMATS = ['md', 'csv', 'json', 'html', 'png', 'svg'] as const;
export type Format = (typeof FORMATS)[number];
export const DEFAULT_RESAMPLES = 1000;

export interface ReportOptions {
  formats?: readonly Format[];       // default: all
  comparePaper?: boolean;
  /** Paired-bootstrap resamples; 0 skips; undefined runs 1000 when every sts run has pairs, else skips with a note. */
  bootstrap?: number;
  seed?: number;                     // default 1
  baseline?: string;                 // bootstrap's A (label); default the first sts run
  statistic?: SentenceStat['statistic']; // box plots; default 'pivot-spearman'
  perTask?: boolean;                 // per-task lines in degradation curves
  title?: string;
}

export interface Report {
  title: string;
  intro: string[];
  tables: Table[];
  figures: FigureSpec[];
  bootstrap: BootstrapComparison[];
  sources: LoadedResults[];
}

/** Parse a --formats value ('md,csv,png') into formats; unknown names are a UserError. */
export function parseFormats(spec: string | readonly string[] | undefined): Format[] {
  if (spec === undefined) return [...FORMATS];
  const names = (Array.isArray(spec) ? spec : String(spec).split(',')).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = names.filter((n) => !(FORMATS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new UserError(`--formats: unknown ${bad.map((b) => `'${b}'`).join(', ') || '(empty)'}; choose from ${FORMATS.join(',')}`);
  return [...new Set(names)] as Format[];
}

function sourceLine(l: LoadedResults): string {
  const p = l.results.provenance;
  const bits = [`${l.results.kind}`, p?.createdAt && `created ${p.createdAt}`, p?.backend && `backend ${p.backend}`, p?.model?.fingerprint && `model ${p.model.fingerprint}`, p?.tool?.version && `bellm-bench ${p.tool.version}`].filter(Boolean);
  return `${l.results.label}: ${l.file} (${bits.join(', ')})`;
}

function comparisons(sts: (LoadedResults & { results: StsResults })[], opts: ReportOptions, intro: string[]): BootstrapComparison[] {
  const resamples = opts.bootstrap ?? DEFAULT_RESAMPLES;
  if (resamples === 0 || sts.length < 2) return [];
  if (opts.bootstrap === undefined) {
    const lacking = sts.find((s) => s.results.tasks.some((t) => !t.pairs?.length));
    if (lacking) {
      intro.push(`Paired bootstrap skipped: ${lacking.file} has no per-pair predictions ("pairs").`);
      return [];
    }
  }
  let base = sts[0];
  if (opts.baseline !== undefined) {
    const found = sts.find((s) => s.results.label === opts.baseline);
    if (!found) throw new UserError(`--baseline: no sts results labelled '${opts.baseline}'; labels are ${sts.map((s) => `'${s.results.label}'`).join(', ')}`);
    base = found;
  }
  const seed = opts.seed ?? 1;
  return sts.filter((s) => s !== base).map((s) => bootstrapCompare(base.results, s.results, { resamples, seed, fileA: base.file, fileB: s.file }));
}

/** Everything the report shows, built from loaded results (nothing written yet). */
export function buildReport(loaded: LoadedResults[], opts: ReportOptions = {}): Report {
  if (loaded.length === 0) throw new UserError('report: no results files given; pass the JSON written by `bellm-bench sts` or `degrade`');
  const items = uniqueLabels(loaded);
  const sts = items.filter(isSts), deg = items.filter(isDegrade);
  const runs = sts.map((s) => s.results);
  const intro = ['Spearman x100 to two decimals as BeLLM\'s eval_sts.py prints them; Avg is the mean of the printed task numbers.', ...items.map((l) => `Source: ${sourceLine(l)}`)];
  if (opts.comparePaper && runs.length === 0) throw new UserError('--compare-paper: needs an sts results file (from `bellm-bench sts`); only degrade results were given');
  const tables: Table[] = [];
  const figures: FigureSpec[] = [];
  if (runs.length) {
    tables.push(stsTable(runs));
    if (opts.comparePaper) tables.push(paperTable(runs));
  }
  const boot = comparisons(sts, opts, intro);
  tables.push(...boot.map(bootstrapTable));
  tables.push(...deg.map((d) => degradeTable(d.results)));
  tables.push(...runs.map(subsetTable));
  tables.push(settingsTable(items.map((l) => ({ label: l.results.label, settings: l.results.settings, file: l.file }))));
  if (runs.length) figures.push(taskBarFigure(runs, opts.comparePaper));
  figures.push(...boxplotFigures(runs, opts.statistic ?? 'pivot-spearman'));
  figures.push(...deg.map((d) => degradeFigure(d.results, opts.perTask)));
  if (runs.some((r) => r.sentenceStats?.length) && !figures.some((f) => f.id.startsWith('boxplot-'))) {
    intro.push(`No box plot: no sts results carry sentenceStats for '${opts.statistic ?? 'pivot-spearman'}' (try --statistic).`);
  }
  const title = opts.title ?? `bellm-bench report: ${items.map((l) => l.results.label).join(', ')}`;
  return { title, intro, tables, figures, bootstrap: boot, sources: items };
}

/** The report's tables and metadata as JSON (bootstrap without its per-resample arrays). */
export function reportJson(r: Report, opts: ReportOptions, figureFiles: Record<string, string[]>): unknown {
  return {
    tool: 'bellm-bench report',
    title: r.title,
    notes: r.intro,
    sources: r.sources.map((l) => ({ file: l.file, kind: l.results.kind, label: l.results.label, settings: l.results.settings, provenance: l.results.provenance })),
    tables: r.tables,
    bootstrap: r.bootstrap,
    paperReference: opts.comparePaper ? paperReference : undefined,
    figures: r.figures.map((f) => ({ id: f.id, title: f.title, caption: f.caption, files: figureFiles[f.id] ?? [] })),
  };
}

export function reportMarkdown(r: Report, figureFiles: Record<string, string[]>): string {
  const parts = [`# ${r.title}`, '', ...r.intro.map((l) => `- ${l}`)];
  for (const t of r.tables) parts.push('', tableToMarkdown(t));
  const shown = r.figures.filter((f) => figureFiles[f.id]?.length);
  if (shown.length) parts.push('', '## Figures');
  for (const f of shown) {
    const files = figureFiles[f.id];
    const img = files.find((p) => p.endsWith('.png')) ?? files[0];
    parts.push('', `![${f.title}](${img})`, '', `*${f.caption}*${files.length > 1 ? ` (${files.map((p) => `[${p.split('.').pop()}](${p})`).join(', ')})` : ''}`);
  }
  return parts.join('\n') + '\n';
}

export interface WrittenReport { outDir: string; files: string[]; report: Report }

const asLoaded = (r: Results | LoadedResults, i: number): LoadedResults =>
  'results' in r && 'file' in r ? r : { file: `results[${i}] (${(r as Results).label})`, results: r as Results };

/**
 * Write the report for `results` into `outDir`: report.md, report.html, report.json, tables/<id>.csv,
 * figures/<id>.png|svg, as chosen by `formats`. Callable by `sts` and `degrade` with in-memory results.
 */
export async function writeReport(results: readonly (Results | LoadedResults)[], outDir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
  return writeBuiltReport(buildReport(results.map(asLoaded), opts), outDir, opts);
}

/**
 * Writes a built report in every chosen format. The one writer of reports: `report` and the grid
 * report of `bellm-bench run` (src/report/grid.ts) both come here, so a new output format added here
 * (LaTeX tables, issue 17) covers both.
 */
export async function writeBuiltReport(report: Report, outDir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
  const formats = new Set(opts.formats ?? FORMATS);
  const files: string[] = [];
  const put = (rel: string, data: string | Buffer) => {
    const path = join(outDir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, data);
    files.push(path);
  };
  const figureFiles: Record<string, string[]> = {};
  const svgs: HtmlFigure[] = [];
  const needSvg = formats.has('svg') || formats.has('html');
  for (const f of report.figures) {
    figureFiles[f.id] = [];
    if (formats.has('png')) {
      put(`figures/${f.id}.png`, await renderPng(f));
      figureFiles[f.id].push(`figures/${f.id}.png`);
    }
    if (needSvg) {
      const svg = renderSvg(f);
      svgs.push({ id: f.id, title: f.title, caption: f.caption, svg });
      if (formats.has('svg')) {
        put(`figures/${f.id}.svg`, svg);
        figureFiles[f.id].push(`figures/${f.id}.svg`);
      }
    }
  }
  if (formats.has('csv')) for (const t of report.tables) put(`tables/${t.id}.csv`, tableToCsv(t));
  if (formats.has('json')) put('report.json', JSON.stringify(reportJson(report, opts, figureFiles), null, 2) + '\n');
  if (formats.has('md')) put('report.md', reportMarkdown(report, figureFiles));
  if (formats.has('html')) put('report.html', toHtml(report.title, report.intro, report.tables, svgs));
  return { outDir, files, report };
}
