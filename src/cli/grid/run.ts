// `bellm-bench run EXP --out DIR [--shard i/n|auto] [--merge [--from DIRS..]]`: an experiment grid. Every cell
// runs through the `sts` / `degrade` command's own code (cellSpec, then executeSts / executeDegrade) with the arguments
// the command line would give it; each model opens once per process for all its cells.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import type { Cell } from '../../experiments/grid/cells.ts';
import { cellDone, runJobs, type Failure, type JobRunner } from '../../experiments/grid/grid-run.ts';
import { GridStore, jobName } from '../../experiments/grid/grid-store.ts';
import { info } from '../../experiments/run/progress.ts';
import { parseShardOption, planShards, type Shard } from '../../experiments/grid/shard.ts';
import { writeGridReport, type GridCellOutcome } from '../../report/grid.ts';
import { tableToMarkdown } from '../../report/markdown.ts';
import type { TurningPointMethod } from '../../experiments/stats/turning-point.ts';
import { executeDegrade } from '../commands/degrade.ts';
import { loadGrid, type Grid } from './experiment-options.ts';
import { estimateCosts } from './grid-cost.ts';
import { cellIdentityProblem, cellSpec } from './cell-identity.ts';
import type { ModelArgs } from '../options/model-options.ts';
import { modelSource, openModel, type OpenedModel } from '../options/open-model.ts';
import { executeSts } from '../commands/sts.ts';
import { COMMANDS } from '../command-list.ts';

interface RunArgs {
  experiment: string;
  'data-dir': string;
  out: string;
  shard?: string;
  merge: boolean;
  from?: string[];
  quiet: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  ...COMMANDS.run,
  builder: (y) => y
    .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment file (see the README, "Running on a cluster")' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder: cells/<id>/ per cell, report/; a rerun resumes it' })
    .option('shard', { type: 'string', describe: "i/n: run the i-th of n cost-balanced shares of the cells; auto: the Slurm array task's share (the whole grid outside an array)" })
    .option('merge', { type: 'boolean', default: false, describe: "run nothing: join the shards' outputs (in --out, and in the --from folders) and write the report" })
    .option('from', { type: 'string', array: true, describe: 'with --merge: other output folders of the same experiment to take finished cells from' }) as never,
  handler: async (a: RunArgs) => {
    if (a.merge && a.shard !== undefined) throw new UserError('--merge joins every shard: run it once, without --shard');
    if (a.from && !a.merge) throw new UserError('--from names folders for --merge to take finished cells from; add --merge');
    const out = resolve(a.out);
    const shard = a.merge ? { index: 1, count: 1 } : parseShardOption(a.shard);
    // One embedding cache per experiment, shared by its shards (the cache is safe for concurrent writers).
    const grid = loadGrid(a.experiment, { out, quiet: a.quiet, cacheDir: join(out, 'cache'), dataDir: a['data-dir'] });
    const store = new GridStore(out, grid.experiment.name, cellIdentityProblem);
    store.claim(resolve(a.experiment), grid.cells);
    if (a.merge) return mergeOutputs(grid, store, (a.from ?? []).map((d) => resolve(d)), a.quiet);

    const plan = planShards(estimateCosts(grid.cells, a.experiment), shard.count);
    const mine = plan.jobs.filter((j) => j.shard === shard.index);
    const split = plan.pieces.filter((m) => m > 1).length;
    info(a.quiet, `experiment ${grid.experiment.name}: ${grid.cells.length} cells${shard.count > 1 ? `; shard ${shard.index}/${shard.count} runs ${mine.length} of ${plan.jobs.length} jobs${split ? ` (${split} sweep${split > 1 ? 's' : ''} split into pieces)` : ''}` : ''}`);
    const release = store.lock(shard, (msg) => info(a.quiet, msg));
    let summary;
    try {
      summary = await runJobs(store, grid.cells, mine, cellRunner(store), { shard, quiet: a.quiet });
    } finally {
      release();
    }
    info(a.quiet, `${summary.ran} job${summary.ran === 1 ? '' : 's'} run, ${summary.skipped} already done, ${summary.failed.length} failed`);
    if (shard.count === 1) await report(grid, store, a.quiet);
    else info(a.quiet, `shard ${shard.index}/${shard.count} finished; when every shard has: bellm-bench run ${a.experiment} --out ${a.out} --merge`);
    failWith(summary.failed.map((f) => describeFailure(f)));
  },
};

/** Runs a job through the command's own code: the arguments the CLI would parse, the shared open model. */
function cellRunner(store: GridStore): JobRunner<OpenedModel> {
  return {
    open: (cell) => openModel(modelSource(cell.args as unknown as ModelArgs)),
    run: async (cell, piece, model) => {
      const c = await cellSpec(cell, { out: store.resultsFile(cell, piece), ...(piece ? { shard: `${piece.index}/${piece.count}` } : {}) });
      if (c.command === 'sts') await executeSts(c.spec, model);
      else await executeDegrade(c.spec, model);
    },
    release: (model) => {
      model.embedder.decoder.dispose();
      (model.embedder.backend as { dispose?: () => void }).dispose?.();
    },
  };
}

const describeFailure = (f: Failure) => `${f.cell.label}${f.piece ? ` (${jobName(f.piece)})` : ''} [cells/${f.cell.id}]: ${f.error}`;

function failWith(lines: string[]): void {
  if (lines.length === 0) return;
  process.stderr.write(`bellm-bench: ${lines.length} failed:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  process.exitCode = 1;
}

/** Copies the finished jobs of cells that are not done in `store` from another output folder. */
async function adopt(store: GridStore, from: string, cells: readonly Cell[], quiet: boolean): Promise<number> {
  store.checkOwner(from);
  const src = new GridStore(from, store.experiment, store.identityProblem);
  let n = 0;
  for (const cell of cells) {
    if (await cellDone(store, cell, quiet)) continue;
    const owner = src.cellOwner(cell);
    if (!owner) continue;
    if (owner.key !== cell.key || owner.experiment !== store.experiment) throw new UserError(`${src.cellDir(cell)} belongs to another cell or experiment; merge refuses it`);
    const dir = src.cellDir(cell);
    const done: (Shard | null)[] = [];
    for (const p of statusFiles(dir).map(parsePiece)) if ((await src.jobState(cell, p)).done) done.push(p);
    if (done.length === 0) continue;
    mkdirSync(store.cellDir(cell), { recursive: true });
    copyFileSync(join(dir, 'cell.json'), join(store.cellDir(cell), 'cell.json'));
    for (const p of done) {
      copyFileSync(src.resultsFile(cell, p), store.resultsFile(cell, p));
      copyFileSync(src.statusFile(cell, p), store.statusFile(cell, p));
    }
    n++;
  }
  return n;
}

async function mergeOutputs(grid: Grid, store: GridStore, sources: string[], quiet: boolean): Promise<void> {
  for (const from of sources) {
    if (resolve(from) === resolve(store.dir)) continue;
    const n = await adopt(store, from, grid.cells, quiet);
    info(quiet, `${from}: took the finished jobs of ${n} cell${n === 1 ? '' : 's'}`);
  }
  const outcomes = await report(grid, store, quiet);
  failWith(outcomes.filter((o) => o.status !== 'done').map((o) => `${o.label} [cells/${o.id}]: ${o.status === 'failed' ? `failed: ${o.error}` : 'not run (a shard did not finish it)'}`));
}

/** Outcome of every cell: its results when done; otherwise failed (with the error) or not run. */
async function outcomes(grid: Grid, store: GridStore, quiet: boolean): Promise<GridCellOutcome[]> {
  const out: GridCellOutcome[] = [];
  for (const cell of grid.cells) {
    const base = {
      id: cell.id, label: cell.label, command: cell.command, file: relative(store.dir, store.resultsFile(cell, null)), settings: cell.identity.options,
      ...(cell.command === 'degrade' ? { turningPoint: cell.args['turning-point'] as TurningPointMethod } : {}),
    };
    // done, or a split sweep whose finished pieces are joined now (then read again)
    let st = await store.jobState(cell, null);
    if (!st.done && await cellDone(store, cell, quiet, st)) st = await store.jobState(cell, null);
    if (st.done) { out.push({ ...base, status: 'done', results: { ...st.results, label: cell.label } }); continue; }
    const failed = statusFiles(store.cellDir(cell)).map((f) => store.readStatus(cell, parsePiece(f))).find((s) => s?.status === 'failed' && s.cell === cell.key);
    out.push(failed ? { ...base, status: 'failed', error: failed.error } : { ...base, status: 'missing' });
  }
  return out;
}

/** status.json and part-JofM.status.json in a cell folder. */
function statusFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f === 'status.json' || /^part-\d+of\d+\.status\.json$/.test(f)) : [];
}

/** The piece a status file is for (null: the whole cell). */
function parsePiece(f: string): Shard | null {
  const m = /^part-(\d+)of(\d+)\.status\.json$/.exec(f);
  return m ? { index: Number(m[1]), count: Number(m[2]) } : null;
}

async function report(grid: Grid, store: GridStore, quiet: boolean): Promise<GridCellOutcome[]> {
  const cells = await outcomes(grid, store, quiet);
  const dir = join(store.dir, 'report');
  const { report: r } = await writeGridReport({
    name: grid.experiment.name, file: grid.experiment.file, cells, baseline: grid.baseline?.label ?? null,
    bootstrap: grid.experiment.report.bootstrap, seed: grid.experiment.report.seed,
  }, dir);
  const shown = r.tables.filter((t) => t.id === 'grid' || t.id === 'grid-deltas');
  if (shown.length) process.stdout.write(`${shown.map((t) => tableToMarkdown(t, 3)).join('\n\n')}\n\n`);
  process.stdout.write(`report: ${join(dir, 'report.md')} (${cells.filter((c) => c.status === 'done').length} of ${cells.length} cells)\n`);
  return cells;
}
