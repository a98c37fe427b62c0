// `bellm-bench slurm EXP --out DIR`: sbatch scripts for the grid (a job array of `run --shard auto`
// plus a merge job after it), and with --submit, their submission.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { GridStore } from '../../experiments/grid/grid-store.ts';
import { info } from '../../experiments/run/progress.ts';
import { planShards } from '../../experiments/grid/shard.ts';
import { arrayScript, checkSlurmOptions, mergeScript, parseJobId, shellQuote, submitScript, type SlurmOptions } from '../../experiments/grid/slurm.ts';
import { cellIdentityProblem, cellSpec } from './cell-identity.ts';
import { NotInHubCache } from '../../model/hub/resolve.ts';
import { loadGrid } from './experiment-options.ts';
import type { Cell } from '../../experiments/grid/cells.ts';
import { estimateCosts } from './grid-cost.ts';
import { COMMANDS } from '../command-list.ts';

interface SlurmArgs {
  experiment: string;
  'data-dir': string;
  out: string;
  shards?: number;
  'array-parallelism'?: number;
  'gpus-per-task': number;
  'cpus-per-task'?: number;
  mem?: string;
  partition?: string;
  time?: string;
  account?: string;
  submit: boolean;
  quiet: boolean;
}

/** Default number of array tasks: one per cell, at most this many. */
export const DEFAULT_MAX_SHARDS = 16;

export const slurmCommand: CommandModule<object, SlurmArgs> = {
  ...COMMANDS.slurm,
  builder: (y) => y
    .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment file (YAML or JSON)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder on a file system every node sees; scripts go to DIR/slurm/' })
    .option('shards', { type: 'number', describe: `array tasks (default: one per cell, at most ${DEFAULT_MAX_SHARDS})` })
    .option('array-parallelism', { type: 'number', describe: 'at most this many array tasks at once (--array=...%P)' })
    .option('gpus-per-task', { type: 'number', default: 1, describe: 'GPUs per array task (0: none)' })
    .option('cpus-per-task', { type: 'number', describe: 'CPUs per array task' })
    .option('mem', { type: 'string', describe: 'memory per array task, e.g. 64G' })
    .option('partition', { type: 'string', describe: 'Slurm partition' })
    .option('time', { type: 'string', describe: 'time limit per job, e.g. 12:00:00' })
    .option('account', { type: 'string', describe: 'Slurm account' })
    .option('submit', { type: 'boolean', default: false, describe: 'submit the array and the merge job with sbatch and print their ids' }) as never,
  handler: async (a: SlurmArgs) => {
    const out = resolve(a.out);
    const experiment = resolve(a.experiment);
    const grid = loadGrid(a.experiment, { out, quiet: a.quiet, cacheDir: join(out, 'cache'), dataDir: a['data-dir'] });
    await checkCells(grid.cells, a.quiet);
    const shards = a.shards ?? Math.min(grid.cells.length, DEFAULT_MAX_SHARDS);
    const o: SlurmOptions = {
      name: grid.experiment.name, experiment, out, workdir: process.cwd(), node: process.execPath,
      bin: fileURLToPath(new URL('../../../bin/bellm-bench.js', import.meta.url)), shards,
      parallelism: a['array-parallelism'], gpusPerTask: a['gpus-per-task'], cpusPerTask: a['cpus-per-task'],
      mem: a.mem, partition: a.partition, time: a.time, account: a.account, dataDir: resolve(a['data-dir']),
    };
    checkSlurmOptions(o);
    // The checks `run` makes before any work: the output folder, every cell's tasks and data.
    const store = new GridStore(out, grid.experiment.name, cellIdentityProblem);
    store.checkFolder();
    const plan = planShards(estimateCosts(grid.cells, a.experiment), shards);
    store.claim(experiment, grid.cells);
    const dir = join(out, 'slurm');
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const files = { array: join(dir, 'array.sbatch'), merge: join(dir, 'merge.sbatch'), submit: join(dir, 'submit.sh') };
    writeFileSync(files.array, arrayScript(o));
    writeFileSync(files.merge, mergeScript(o));
    writeFileSync(files.submit, submitScript(o, files.array, files.merge));
    chmodSync(files.submit, 0o755);
    const loads = plan.loads;
    const idle = loads.filter((l) => l === 0).length;
    info(a.quiet, `${grid.cells.length} cells in ${plan.jobs.length} jobs over ${shards} array tasks; estimated load of the busiest task ${(Math.max(...loads) / (loads.reduce((s, l) => s + l, 0) / shards)).toFixed(2)}x the mean${idle ? `; ${idle} task${idle > 1 ? 's have' : ' has'} nothing to do (pass fewer --shards)` : ''}`);
    if (!a.submit) {
      process.stdout.write(`wrote ${files.array}, ${files.merge} and ${files.submit}\nsubmit both jobs with:\n  bash ${shellQuote(files.submit)}\n` +
        `(or: sbatch --parsable ${shellQuote(files.array)}, then sbatch --dependency=afterok:<array job id> ${shellQuote(files.merge)})\n`);
      return;
    }
    const arrayId = parseJobId(sbatch(['--parsable', files.array]));
    const mergeId = parseJobId(sbatch(['--parsable', `--dependency=afterok:${arrayId}`, '--kill-on-invalid-dep=yes', files.merge]));
    process.stdout.write(`submitted array job ${arrayId} (${shards} task${shards > 1 ? 's' : ''}) and merge job ${mergeId} (after the array succeeds)\n` +
      `logs: ${join(dir, 'logs')}/\nreport, once the merge job ran: ${join(out, 'report', 'report.md')}\n`);
  },
};

function sbatch(args: string[]): string {
  try {
    return execFileSync('sbatch', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new UserError('sbatch not found: run --submit on a Slurm login node, or submit later with the printed command');
    throw new UserError(`sbatch ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`);
  }
}

/**
 * Every check `run` makes on a cell before its weights load (the commands' own stsSpec / degradeSpec,
 * Hub ids from the hub cache only), so a value that would fail inside the job array (billm_start_index
 * 2.5, layers past the model's depth) fails here, before any script is written. Cells whose Hub models
 * are not cached on this machine are checked as far as that allows.
 */
async function checkCells(cells: readonly Cell[], quiet: boolean): Promise<void> {
  let uncached = 0;
  for (const c of cells) {
    try {
      // no cache: checking writes nothing (the output folder must stay empty until it is claimed)
      await cellSpec(c, { quiet: true, cache: false }, { offline: true });
    } catch (e) {
      if (e instanceof NotInHubCache) {
        uncached++;
        continue;
      }
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`${c.where} (cell "${c.label}"): ${e.message}`);
    }
  }
  if (uncached) info(quiet, `${uncached} cell(s) name Hugging Face models that are not in this machine's hub cache: their layer options are checked against config.json when the jobs run`);
}
