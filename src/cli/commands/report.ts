// `bellm-bench report <results or folders...>`: tables, figures and comparisons from results files (no recomputing).
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { TURNING_POINT_METHODS, DEFAULT_TURNING_POINT, type TurningPointMethod } from '../../experiments/stats/turning-point.ts';
import { info } from '../../experiments/run/progress.ts';
import { parseFigureSize } from '../../report/figure-style.ts';
import { collectResults } from '../../report/load.ts';
import { ALL_FORMATS, parseFormats, writeReport } from '../../report/report.ts';
import { tableToMarkdown } from '../../report/markdown.ts';
import { slug } from '../../report/tables.ts';
import { checkWritableFolder } from '../options/guards.ts';
import { COMMANDS } from '../command-list.ts';
import { MAX_RESAMPLES, resamplesProblem } from '../../eval/resampling.ts';

interface ReportArgs {
  results: string[];
  out: string | undefined;
  name: string | undefined;
  formats: string | undefined;
  'compare-paper': boolean;
  bootstrap: number | undefined;
  seed: number;
  baseline: string | undefined;
  statistic: 'pivot-spearman' | 'group-spearman';
  'per-task': boolean;
  title: string | undefined;
  'figure-size': string;
  'figure-titles': boolean;
  label: string[] | undefined;
  'turning-point': TurningPointMethod;
  quiet: boolean;
}

export const reportCommand: CommandModule<{ quiet: boolean }, ReportArgs> = {
  ...COMMANDS.report,
  builder: (y) => y
    .positional('results', { type: 'string', array: true, demandOption: true, describe: 'results JSON files written by `sts`, `degrade` or `score --out`, or folders holding them' })
    .option('out', { type: 'string', describe: 'output folder (default: FOLDER/report/ when the first argument is a folder, else reports/<name>/)' })
    .option('name', { type: 'string', describe: 'report name for the default folder (default: the first file\'s or folder\'s base name)' })
    .option('formats', { type: 'string', alias: 'format', describe: `comma list of ${ALL_FORMATS.join(',')} (default all but mteb; mteb: MTEB TaskResult files)` })
    .option('compare-paper', { type: 'boolean', default: false, describe: 'add BeLLM\'s published numbers and the deltas' })
    .option('bootstrap', { type: 'number', describe: 'paired-bootstrap resamples between sts runs (default 1000 when all have pairs; 0 skips)' })
    .option('seed', { type: 'number', default: 1, describe: 'bootstrap PRNG seed' })
    .option('baseline', { type: 'string', describe: 'label of the sts run the others are compared with (default the first)' })
    .option('statistic', { choices: ['pivot-spearman', 'group-spearman'] as const, default: 'pivot-spearman' as const, describe: 'per-sentence (pivot) or per-group statistic for the box plot' })
    .option('per-task', { type: 'boolean', default: false, describe: 'per-task lines in degradation curves' })
    .option('turning-point', { type: 'string', choices: [...TURNING_POINT_METHODS], default: DEFAULT_TURNING_POINT, describe: 'turning point the degradation figure marks: largest-drop (largest one-step fall of Avg) or change-point (two-line fit)' })
    .option('figure-size', { type: 'string', default: 'single', describe: 'single (3.3 in), double (6.9 in) or WxH in inches, e.g. 3.3x2.2; text is 7-9 pt at that size' })
    .option('figure-titles', { type: 'boolean', default: false, describe: 'draw titles and definitions inside the figures (by default they are only in the captions)' })
    .option('label', { type: 'string', array: true, describe: 'RESULT=NAME: rename a configuration (RESULT: a results file name or its label); repeatable' })
    .option('title', { type: 'string', describe: 'report title' }) as never,
  handler: async (argv: ReportArgs) => {
    const why = argv.bootstrap === undefined ? null : resamplesProblem(argv.bootstrap, true);
    if (why) {
      throw new UserError(`--bootstrap: ${argv.bootstrap} is ${argv.bootstrap! > MAX_RESAMPLES ? `too many: ${why}` : why}`);
    }
    if (!Number.isInteger(argv.seed)) throw new UserError(`--seed: ${argv.seed} is not an integer`);
    const formats = parseFormats(argv.formats);
    const size = parseFigureSize(argv['figure-size']);
    const { loaded, skipped } = collectResults(argv.results);
    if (skipped.length) info(argv.quiet, `skipped ${skipped.length} JSON file(s) that are not results: ${skipped.map((f) => basename(f)).join(', ')}`);
    const name = argv.name ?? slug(basename(resolve(argv.results[0])).replace(/\.json$/i, ''));
    // a folder of results gets its report beside them (`report reports/` writes reports/report/, not reports/reports/)
    const firstIsFolder = existsSync(argv.results[0]) && statSync(argv.results[0]).isDirectory();
    const outDir = argv.out ?? (argv.name === undefined && firstIsFolder ? join(argv.results[0], 'report') : `reports/${name}`);
    checkWritableFolder(outDir, '--out');
    const { files: written, report } = await writeReport(loaded, outDir, {
      formats, comparePaper: argv['compare-paper'], bootstrap: argv.bootstrap, seed: argv.seed, baseline: argv.baseline,
      statistic: argv.statistic, perTask: argv['per-task'], title: argv.title,
      figure: { size, titles: argv['figure-titles'] }, turningPoint: argv['turning-point'], labels: argv.label ?? [],
    });
    if (argv.quiet) return;
    const shown = report.tables.filter((t) => t.id === 'sts' || t.id === 'sts-dev' || t.id === 'paper' || t.id.startsWith('bootstrap-') || t.id.startsWith('degrade-'));
    process.stdout.write(shown.map((t) => tableToMarkdown(t, 3)).join('\n\n') + '\n\n');
    process.stdout.write(`Wrote ${written.length} files to ${outDir}/\n${written.map((f) => `  ${f}`).join('\n')}\n`);
  },
};
