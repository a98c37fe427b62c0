// Builds a report (tables, figures, comparisons) from results and writes it in the chosen formats.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.ts';
import type { Results, SentenceStat, StsResults } from '../experiments/results/results.ts';
import { DEFAULT_TURNING_POINT, type TurningPointMethod } from '../experiments/stats/turning-point.ts';
import type { Split } from '../tasks/split.ts';
import { bootstrapCompare, type BootstrapComparison } from './bootstrap.ts';
import { boxplotFigures, degradeFigures, taskBarFigure } from './charts.ts';
import { tableToCsv } from './csv.ts';
import { DEFAULT_STYLE, type FigureStyle } from './figure-style.ts';
import { toHtml, type HtmlFigure } from './html.ts';
import { applyLabels } from './labels.ts';
import { figuresToLatex, tableToLatex } from './latex.ts';
import { isDegrade, isSts, uniqueLabels, type LoadedResults } from './load.ts';
import { tableToMarkdown } from './markdown.ts';
import { MTEB_NOTE, mtebFiles } from './mteb.ts';
import { paperReference } from './paper.ts';
import { renderPdf, renderPng, renderSvg, type FigureSpec } from './render.ts';
import { bootstrapTable, degradeTable, fileParts, paperTable, settingsTable, stsTable, subsetTable, type Table } from './tables.ts';

/** Every output format; `mteb` is an export, written only when asked for. */
export const ALL_FORMATS = ['md', 'csv', 'json', 'html', 'tex', 'png', 'svg', 'pdf', 'mteb'] as const;
export type Format = (typeof ALL_FORMATS)[number];
/** The default formats: everything but the MTEB export. */
export const FORMATS: readonly Format[] = ALL_FORMATS.filter((f) => f !== 'mteb');
export const DEFAULT_RESAMPLES = 1000;

export interface ReportOptions {
  formats?: readonly Format[];       // default: FORMATS
  comparePaper?: boolean;
  /** Paired-bootstrap resamples; 0 skips; undefined runs 1000 when every sts run has pairs, else skips with a note. */
  bootstrap?: number;
  seed?: number;                     // default 1
  baseline?: string;                 // bootstrap's A (label); default the first sts run of each split
  statistic?: SentenceStat['statistic']; // box plots; default 'pivot-spearman'
  perTask?: boolean;                 // per-task lines in degradation curves
  title?: string;
  /** Figure size and whether titles go inside plots (default: single column, no titles). */
  figure?: FigureStyle;
  /** The turning point degradation figures mark and tables name (default largest-drop). */
  turningPoint?: TurningPointMethod;
  /** --label RESULT=NAME renames. */
  labels?: readonly string[];
}

export interface Report {
  title: string;
  intro: string[];
  /** Every table in document order: `lead` first (headline), then the long ones. */
  tables: Table[];
  /** How many of `tables` are headline tables shown before the figures. */
  lead: number;
  figures: FigureSpec[];
  bootstrap: BootstrapComparison[];
  sources: LoadedResults[];
}

/** Parse a --formats value ('md,csv,png') into formats; unknown names are a UserError. */
export function parseFormats(spec: string | readonly string[] | undefined): Format[] {
  if (spec === undefined) return [...FORMATS];
  const names = (Array.isArray(spec) ? spec : String(spec).split(',')).flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = names.filter((n) => !(ALL_FORMATS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new UserError(`--formats: unknown ${bad.map((b) => `'${b}'`).join(', ') || '(empty)'}; choose from ${ALL_FORMATS.join(',')}`);
  return [...new Set(names)] as Format[];
}

function sourceLine(l: LoadedResults): string {
  const p = l.results.provenance;
  const ext = l.results.kind === 'sts' && l.results.external;
  const bits = [ext ? 'score (predictions made outside bellm-bench)' : `${l.results.kind}`, p?.createdAt && `created ${p.createdAt}`, p?.backend && `backend ${p.backend}`, p?.model?.fingerprint && `model ${p.model.fingerprint}`, p?.tool?.version && `bellm-bench ${p.tool.version}`].filter(Boolean);
  return `${l.results.label}: ${l.file} (${bits.join(', ')})`;
}

const splitOf = (r: { split?: Split }): Split => r.split ?? 'test';

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
    if (found) base = found; // else: the baseline is in the other split's group
  }
  const seed = opts.seed ?? 1;
  return sts.filter((s) => s !== base).map((s) => bootstrapCompare(base.results, s.results, { resamples, seed, fileA: base.file, fileB: s.file }));
}

/** Everything the report shows, built from loaded results (nothing written yet). */
export function buildReport(loaded: LoadedResults[], opts: ReportOptions = {}): Report {
  if (loaded.length === 0) throw new UserError('report: no results files given; pass the JSON written by `bellm-bench sts`, `degrade` or `score --out`, or a folder of them');
  const items = uniqueLabels(applyLabels(loaded, opts.labels ?? []));
  const sts = items.filter(isSts), deg = items.filter(isDegrade);
  const runs = sts.map((s) => s.results);
  const style = opts.figure ?? DEFAULT_STYLE;
  const method = opts.turningPoint ?? DEFAULT_TURNING_POINT;
  const intro = ['Spearman x100 to two decimals as BeLLM\'s eval_sts.py prints them; Avg is the mean of the printed task numbers.', ...items.map((l) => `Source: ${sourceLine(l)}`)];
  if (opts.comparePaper && !runs.some((r) => splitOf(r) === 'test')) throw new UserError('--compare-paper: needs an sts results file of the test split (from `bellm-bench sts`); none was given');
  if (opts.baseline !== undefined && !runs.some((r) => r.label === opts.baseline)) {
    throw new UserError(`--baseline: no sts results labelled '${opts.baseline}'; labels are ${runs.map((r) => `'${r.label}'`).join(', ')}`);
  }
  const lead: Table[] = [];
  const rest: Table[] = [];
  const figures: FigureSpec[] = [];
  const boot: BootstrapComparison[] = [];
  for (const split of ['test', 'dev'] as const) {
    const group = sts.filter((s) => splitOf(s.results) === split);
    if (group.length === 0) continue;
    const groupRuns = group.map((g) => g.results);
    lead.push(stsTable(groupRuns, split));
    if (opts.comparePaper && split === 'test') lead.push(paperTable(groupRuns));
    boot.push(...comparisons(group, opts, intro));
    figures.push(taskBarFigure(groupRuns, opts.comparePaper && split === 'test', style, split));
  }
  // one file name per label: labels that slug alike ("k 1", "k_1") get a hash each, never one file
  const parts = fileParts(items.map((l) => l.results.label));
  rest.push(...boot.map((c) => bootstrapTable(c, parts)));
  rest.push(...deg.map((d) => degradeTable(d.results, method, parts)));
  rest.push(...runs.map((r) => subsetTable(r, parts)));
  rest.push(settingsTable(items.map((l) => ({ label: l.results.label, settings: l.results.settings, file: l.file }))));
  figures.push(...boxplotFigures(runs, opts.statistic ?? 'pivot-spearman', style));
  figures.push(...degradeFigures(deg.map((d) => d.results), { style, method, perTask: opts.perTask, parts }));
  if (runs.some((r) => r.sentenceStats?.length) && !figures.some((f) => f.id.startsWith('boxplot-'))) {
    intro.push(`No box plot: no sts results carry sentenceStats for '${opts.statistic ?? 'pivot-spearman'}' (try --statistic).`);
  }
  const title = opts.title ?? `bellm-bench report: ${items.map((l) => l.results.label).join(', ')}`;
  return { title, intro, tables: [...lead, ...rest], lead: lead.length, figures, bootstrap: boot, sources: items };
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
    figures: r.figures.map((f) => ({ id: f.id, title: f.title, caption: f.caption, size: f.size, files: figureFiles[f.id] ?? [] })),
  };
}

/** Markdown: headline tables, the figures, then the long tables. */
export function reportMarkdown(r: Report, figureFiles: Record<string, string[]>): string {
  const parts = [`# ${r.title}`, '', ...r.intro.map((l) => `- ${l}`)];
  for (const t of r.tables.slice(0, r.lead)) parts.push('', tableToMarkdown(t));
  const shown = r.figures.filter((f) => figureFiles[f.id]?.length);
  if (shown.length) parts.push('', '## Figures');
  for (const f of shown) {
    const files = figureFiles[f.id];
    const img = files.find((p) => p.endsWith('.png')) ?? files.find((p) => p.endsWith('.svg')) ?? files[0];
    const links = files.length > 1 || !/\.(png|svg)$/.test(img) ? ` (${files.map((p) => `[${p.split('.').pop()}](${p})`).join(', ')})` : '';
    parts.push('', /\.(png|svg)$/.test(img) ? `![${f.title}](${img})` : `**${f.title}**`, '', `*${f.caption}*${links}`);
  }
  for (const t of r.tables.slice(r.lead)) parts.push('', tableToMarkdown(t));
  return parts.join('\n') + '\n';
}

export interface WrittenReport { outDir: string; files: string[]; report: Report }

const asLoaded = (r: Results | LoadedResults, i: number): LoadedResults =>
  'results' in r && 'file' in r ? r : { file: `results[${i}] (${(r as Results).label})`, results: r as Results };

/**
 * Write the report for `results` into `outDir`: report.md, report.html, report.json, tables/<id>.csv and
 * .tex, figures/<id>.png|svg|pdf, figures.tex, and with `mteb` the MTEB export, as chosen by `formats`.
 * Callable by `sts` and `degrade` with in-memory results.
 */
export async function writeReport(results: readonly (Results | LoadedResults)[], outDir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
  return writeBuiltReport(buildReport(results.map(asLoaded), opts), outDir, opts);
}

/** One file of a report: its path relative to the report folder, and its bytes (made when written). */
export interface ReportFile { rel: string; data: () => string | Buffer | Promise<string | Buffer> }

/**
 * Every file a built report writes in the chosen formats, in writing order, nothing rendered yet:
 * report.md, report.html, report.json, tables/<id>.csv and .tex, figures/<id>.png|svg|pdf, figures.tex,
 * and with `mteb` the MTEB export. writeBuiltReport checks the names (distinct, inside the folder)
 * before it writes the first file.
 */
export function reportFiles(report: Report, opts: ReportOptions = {}): ReportFile[] {
  const formats = new Set(opts.formats ?? FORMATS);
  const files: ReportFile[] = [];
  const put = (rel: string, data: ReportFile['data']) => files.push({ rel, data });
  const figureFiles: Record<string, string[]> = {};
  const svgCache = new Map<FigureSpec, Buffer>();
  const svgOf = (f: FigureSpec): Buffer => {
    if (!svgCache.has(f)) svgCache.set(f, renderSvg(f));
    return svgCache.get(f)!;
  };
  for (const f of report.figures) {
    figureFiles[f.id] = [];
    if (formats.has('png')) {
      put(`figures/${f.id}.png`, () => renderPng(f));
      figureFiles[f.id].push(`figures/${f.id}.png`);
    }
    if (formats.has('svg')) {
      put(`figures/${f.id}.svg`, () => svgOf(f));
      figureFiles[f.id].push(`figures/${f.id}.svg`);
    }
    if (formats.has('pdf')) {
      put(`figures/${f.id}.pdf`, () => renderPdf(f));
      figureFiles[f.id].push(`figures/${f.id}.pdf`);
    }
  }
  if (formats.has('csv')) for (const t of report.tables) put(`tables/${t.id}.csv`, () => tableToCsv(t));
  if (formats.has('tex')) {
    // every table but the settings (long prompts and paths: provenance, not a paper table)
    for (const t of report.tables) if (t.id !== 'settings' && t.latex !== false) put(`tables/${t.id}.tex`, () => tableToLatex(t));
    // figures.tex includes the figure files this report writes: PDF, else PNG (graphicx reads no SVG)
    const ext = formats.has('pdf') ? 'pdf' : formats.has('png') ? 'png' : null;
    if (report.figures.length && ext) put('figures.tex', () => figuresToLatex(report.figures, 'figures', ext));
  }
  if (formats.has('json')) put('report.json', () => JSON.stringify(reportJson(report, opts, figureFiles), null, 2) + '\n');
  if (formats.has('md')) put('report.md', () => reportMarkdown(report, figureFiles));
  if (formats.has('html')) {
    put('report.html', () => {
      const svgs: HtmlFigure[] = report.figures.map((f) => ({ id: f.id, title: f.title, caption: f.caption, svg: svgOf(f), widthIn: f.size.width }));
      return toHtml(report.title, report.intro, { lead: report.tables.slice(0, report.lead), figures: svgs, rest: report.tables.slice(report.lead) });
    });
  }
  if (formats.has('mteb')) {
    const runs = report.sources.filter(isSts);
    if (runs.length === 0) throw new UserError('--formats mteb: needs sts or score results; only degrade results were given');
    for (const m of mtebFiles(runs)) put(m.path, () => JSON.stringify(m.json, null, 2) + '\n');
    put('mteb/README.md', () => `${MTEB_NOTE}\n`);
  }
  return files;
}

/**
 * Writes a built report in every chosen format. The one writer of reports: `report` and the grid
 * report of `bellm-bench run` (src/report/grid.ts) both come here, so a new output format added here
 * (LaTeX tables, issue 17) covers both. Every name is checked before the first file is written: two
 * files of one name (one would silently replace the other) or a name leaving `outDir` is an internal
 * error, and nothing is written.
 */
export async function writeBuiltReport(report: Report, outDir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
  const planned = reportFiles(report, opts);
  const seen = new Map<string, string>();
  for (const { rel } of planned) {
    // every name is built from labels and results: none may leave the output folder or repeat
    const inside = relative(resolve(outDir), resolve(outDir, rel));
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new Error(`internal: report file name ${JSON.stringify(rel)} leaves ${outDir}`);
    const key = inside.toLowerCase(); // one file on case-insensitive file systems
    if (seen.has(key)) throw new Error(`internal: report files ${JSON.stringify(seen.get(key))} and ${JSON.stringify(rel)} would be one file`);
    seen.set(key, rel);
  }
  for (const { rel } of planned) {
    const parts = relative(resolve(outDir), resolve(outDir, rel)).split(sep);
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join(sep).toLowerCase();
      if (seen.has(folder)) throw new Error(`internal: report file ${JSON.stringify(seen.get(folder))} is where ${JSON.stringify(rel)} needs a folder`);
    }
  }
  const files: string[] = [];
  for (const f of planned) {
    const path = join(outDir, f.rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, await f.data());
    files.push(path);
  }
  return { outDir, files, report };
}
