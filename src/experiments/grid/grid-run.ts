// Running a shard's jobs: skip what is done, open each model once for all the jobs that share it,
// record every job as done or failed (a failure never stops the others), and join the pieces of split
// degradation sweeps. What a job does is the command's own code, handed in as a JobRunner.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { UserError } from '../../errors.ts';
import type { Cell } from './cells.ts';
import { writeAtomic } from '../results/atomic-write.ts';
import { jobName, type GridStore, type JobState } from './grid-store.ts';
import { mergeDegrade } from '../results/merge.ts';
import { info } from '../run/progress.ts';
import type { Results } from '../results/results.ts';
import type { Job, Shard } from './shard.ts';

export interface JobRunner<M> {
  /** Opens the model of a group of cells (they agree on every option that changes loading). */
  open(cell: Cell): Promise<M>;
  /** Runs one job with the open model; writes the job's results file. */
  run(cell: Cell, piece: Shard | null, model: M): Promise<void>;
  /** Frees the model before the next one opens. */
  release(model: M): void;
}

export interface Failure { cell: Cell; piece: Shard | null; error: string }

export interface RunSummary {
  /** Jobs of this shard already done before the run. */
  skipped: number;
  ran: number;
  failed: Failure[];
}

/** One line for any error: a UserError's message, or the error's name and first line. */
export function errorLine(e: unknown): string {
  if (e instanceof UserError) return e.message.split('\n')[0];
  if (e instanceof Error) return `${e.name}: ${e.message.split('\n')[0]}`;
  return String(e);
}

const tag = (cell: Cell, piece: Shard | null) => `"${cell.label}"${piece ? ` (${jobName(piece)})` : ''}`;

/** Whether a cell is finished: its whole results are done (or the pieces of a split sweep are, and get joined). */
export async function cellDone(store: GridStore, cell: Cell, quiet: boolean, whole?: JobState): Promise<boolean> {
  if ((whole ?? await store.jobState(cell, null)).done) return true;
  if (cell.command !== 'degrade') return false;
  const [m] = await store.completeSplits(cell);
  if (m === undefined) return false;
  joinPieces(store, cell, m, quiet);
  return true;
}

/** Joins the finished pieces part-1ofM .. part-MofM of a sweep into the cell's results file. */
function joinPieces(store: GridStore, cell: Cell, m: number, quiet: boolean): void {
  const t0 = performance.now();
  const files = Array.from({ length: m }, (_, j) => store.resultsFile(cell, { index: j + 1, count: m }));
  const merged = mergeDegrade(files);
  merged.label = cell.label;
  writeAtomic(store.resultsFile(cell, null), merged);
  const first = store.readStatus(cell, { index: 1, count: m });
  store.markDone(cell, null, { seconds: (performance.now() - t0) / 1000, shard: first?.shard ?? { index: 1, count: 1 } });
  info(quiet, `${tag(cell, null)}: joined its ${m} sweep pieces`);
}

/**
 * Makes a job's leftovers safe to rerun: drops a stale or failed status, and a results file that is not
 * current (a partial degradation sweep whose run identity still matches is kept: `degrade` resumes it).
 */
async function prepareRerun(store: GridStore, cell: Cell, piece: Shard | null, stale: string | undefined, quiet: boolean): Promise<void> {
  const results = store.resultsFile(cell, piece);
  if (stale) info(quiet, `${tag(cell, piece)}: ${stale}; running it again`);
  rmSync(store.statusFile(cell, piece), { force: true });
  if (!existsSync(results)) return;
  let keep = false;
  if (cell.command === 'degrade' && !stale) {
    try {
      keep = (await store.identityProblem(cell, JSON.parse(readFileSync(results, 'utf8')) as Results)) === null;
    } catch {
      keep = false;
    }
  }
  if (!keep) rmSync(results, { force: true });
}

/** Runs the jobs (of this shard) that are not done, grouped so each model opens once. */
export async function runJobs<M>(store: GridStore, cells: readonly Cell[], jobs: readonly Job[], runner: JobRunner<M>, o: { shard: Shard; quiet: boolean }): Promise<RunSummary> {
  const summary: RunSummary = { skipped: 0, ran: 0, failed: [] };
  const todo: { cell: Cell; piece: Shard | null; stale?: string }[] = [];
  for (const j of jobs) {
    const cell = cells[j.cell];
    const whole = await store.jobState(cell, null);
    if (await cellDone(store, cell, o.quiet, whole)) { summary.skipped++; continue; }
    const st = j.piece ? await store.jobState(cell, j.piece) : whole;
    if (st.done) { summary.skipped++; continue; }
    if (!o.quiet && 'failed' in st && st.failed) info(o.quiet, `${tag(cell, j.piece)} failed before (${st.failed}); running it again`);
    todo.push({ cell, piece: j.piece, stale: 'stale' in st ? st.stale : undefined });
  }
  const groups = new Map<string, typeof todo>();
  for (const t of todo) groups.set(t.cell.group, [...(groups.get(t.cell.group) ?? []), t]);
  let n = 0;
  const total = todo.length;
  const record = (t: (typeof todo)[number], e: unknown, seconds: number) => {
    const error = errorLine(e);
    store.markFailed(t.cell, t.piece, error, { seconds, shard: o.shard });
    summary.failed.push({ cell: t.cell, piece: t.piece, error });
    process.stderr.write(`bellm-bench: cell ${tag(t.cell, t.piece)} failed: ${error}\n`);
  };
  for (const group of groups.values()) {
    let model: M;
    const t0 = performance.now();
    try {
      info(o.quiet, `opening the model of ${group.length} job${group.length > 1 ? 's' : ''}: ${String(group[0].cell.args.model)}${group[0].cell.args.lora ? ` + ${String(group[0].cell.args.lora)}` : ''}`);
      model = await runner.open(group[0].cell);
    } catch (e) {
      for (const t of group) { n++; store.writeCell(t.cell); record(t, e, (performance.now() - t0) / 1000); }
      continue;
    }
    try {
      for (const t of group) {
        n++;
        store.writeCell(t.cell);
        await prepareRerun(store, t.cell, t.piece, t.stale, o.quiet);
        info(o.quiet, `[${n}/${total}] ${t.cell.command} ${tag(t.cell, t.piece)}`);
        const s0 = performance.now();
        try {
          await runner.run(t.cell, t.piece, model);
          store.markDone(t.cell, t.piece, { seconds: (performance.now() - s0) / 1000, shard: o.shard });
          summary.ran++;
        } catch (e) {
          record(t, e, (performance.now() - s0) / 1000);
        }
      }
    } finally {
      runner.release(model);
    }
  }
  return summary;
}
