// `bellm-bench report <results...>`: tables, figures and comparisons from results files (no recomputing).
import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { loadResults } from '../report/load.ts';
import { parseFormats, writeReport } from '../report/report.ts';
import { tableToMarkdown } from '../report/markdown.ts';
import { slug } from '../report/tables.ts';
import { checkWritableFolder } from './guards.ts';

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
  quiet: boolean;
}

export const reportCommand: CommandModule<{ quiet: boolean }, ReportArgs> = {
  command: 'report <results..>',
  describe: 'write Markdown, CSV, JSON, HTML tables and PNG/SVG figures from sts/degrade results files',
  builder: (y) => y
    .positional('results', { type: 'string', array: true, demandOption: true, describe: 'results JSON files written by `sts` or `degrade`' })
    .option('out', { type: 'string', describe: 'output folder (default reports/<name>/)' })
    .option('name', { type: 'string', describe: 'report name for the default folder (default: first file\'s base name)' })
    .option('formats', { type: 'string', describe: 'comma list of md,csv,json,html,png,svg (default all)' })
    .option('compare-paper', { type: 'boolean', default: false, describe: 'add BeLLM\'s published numbers and the deltas' })
    .option('bootstrap', { type: 'number', describe: 'paired-bootstrap resamples between sts runs (default 1000 when all have pairs; 0 skips)' })
    .option('seed', { type: 'number', default: 1, describe: 'bootstrap PRNG seed' })
    .option('baseline', { type: 'string', describe: 'label of the sts run the others are compared with (default the first)' })
    .option('statistic', { choices: ['pivot-spearman', 'group-spearman'] as const, default: 'pivot-spearman' as const, describe: 'per-sentence statistic for the box plot' })
    .option('per-task', { type: 'boolean', default: false, describe: 'per-task lines in degradation curves' })
    .option('title', { type: 'string', describe: 'report title' }),
  handler: async (argv) => {
    const files = argv.results;
    if (argv.bootstrap !== undefined && !(Number.isInteger(argv.bootstrap) && argv.bootstrap >= 0)) {
      throw new UserError(`--bootstrap: ${argv.bootstrap} is not a whole number of resamples; give e.g. 1000, or 0 to skip`);
    }
    if (!Number.isInteger(argv.seed)) throw new UserError(`--seed: ${argv.seed} is not an integer`);
    const formats = parseFormats(argv.formats);
    const loaded = files.map(loadResults);
    const name = argv.name ?? slug(basename(files[0]).replace(/\.json$/i, ''));
    const outDir = argv.out ?? `reports/${name}`;
    checkWritableFolder(outDir, '--out');
    const { files: written, report } = await writeReport(loaded, outDir, {
      formats, comparePaper: argv['compare-paper'], bootstrap: argv.bootstrap, seed: argv.seed, baseline: argv.baseline,
      statistic: argv.statistic, perTask: argv['per-task'], title: argv.title,
    });
    if (argv.quiet) return;
    const shown = report.tables.filter((t) => t.id === 'sts' || t.id === 'paper' || t.id.startsWith('bootstrap-') || t.id.startsWith('degrade-'));
    process.stdout.write(shown.map((t) => tableToMarkdown(t, 3)).join('\n\n') + '\n\n');
    process.stdout.write(`Wrote ${written.length} files to ${outDir}/\n${written.map((f) => `  ${f}`).join('\n')}\n`);
  },
};
