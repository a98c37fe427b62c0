// The output folder of an experiment grid, and what is done in it.
//
//   DIR/experiment.json                 the experiment's name and cells (a folder holds one experiment)
//   DIR/cells/<id>/cell.json            the cell: key, label, every resolved setting
//   DIR/cells/<id>/results.json         its results file (as `sts` / `degrade` write it)
//   DIR/cells/<id>/status.json          done (with the results' sha256) or failed (with the error)
//   DIR/cells/<id>/part-JofM.json       pieces of a split degradation sweep, each with part-JofM.status.json
//   DIR/report/                         the grid report
//
// <id> is the first 16 hex digits of the cell's key. A job is done when its status says so, names the
// same key, the results file still has the recorded sha256, and the store's IdentityCheck (the run
// identity of issue 13: src/cli/grid/cell-identity.ts) finds the results still current.
// Every file is written to a temporary name and renamed, so a killed process leaves no torn file.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../errors.ts';
import { sha256 } from '../../tasks/checksums.ts';
import { folderProblem, makeFolder, writeFileAtomic } from '../results/atomic-write.ts';
import { isAlive } from '../../model/embed/embedding-cache.ts';
import type { Cell } from './cells.ts';
import type { Results } from '../results/results.ts';
import type { Shard } from './shard.ts';

export interface JobStatus {
  experiment: string;
  /** The cell's full key. */
  cell: string;
  job: string;                    // 'all' or 'part-JofM'
  status: 'done' | 'failed';
  error?: string;
  resultsSha256?: string;
  seconds: number;
  finishedAt: string;
  host: string;
  shard: Shard;
}

export const jobName = (piece: Shard | null): string => (piece ? `part-${piece.index}of${piece.count}` : 'all');

const lockName = (shard: Shard): string => `shard-${shard.index}of${shard.count}.lock`;

/** Creates `file` holding `text` if no file of that name exists (false if one does): written to a temporary name, then hard-linked into place. */
function createWhole(file: string, text: string): boolean {
  const tmp = `${file}.${hostname()}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  try {
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
      writeFileSync(file, text, { flag: 'wx' }); // a file system without hard links: create exclusively
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A lock file's holder ("host pid"), whether it is a live process of this host, or null if the file is gone. */
function readHolder(file: string): { text: string; host: string; pid: string; alive: boolean } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  const [host = '', pid = ''] = text.split(' ');
  const n = Number(pid);
  return { text, host, pid, alive: host === hostname() && Number.isInteger(n) && n > 0 && isAlive(n) };
}


function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export type JobState =
  | { done: true; results: Results }
  | { done: false; failed?: string; stale?: string };

/**
 * Why finished results are no longer what the cell would compute now (its run identity differs: the
 * weights, adapter, tokenizer or task files changed, or what its options resolve to), or null.
 */
export type IdentityCheck = (cell: Cell, results: Results) => Promise<string | null>;

export class GridStore {
  constructor(readonly dir: string, readonly experiment: string, readonly identityProblem: IdentityCheck) {}

  cellDir(cell: Pick<Cell, 'id'>): string {
    return join(this.dir, 'cells', cell.id);
  }

  resultsFile(cell: Pick<Cell, 'id'>, piece: Shard | null): string {
    return join(this.cellDir(cell), piece ? `${jobName(piece)}.json` : 'results.json');
  }

  statusFile(cell: Pick<Cell, 'id'>, piece: Shard | null): string {
    return join(this.cellDir(cell), piece ? `${jobName(piece)}.status.json` : 'status.json');
  }

  /**
   * Makes DIR this experiment's folder, or refuses one that holds another experiment (or other files).
   * Writes experiment.json (no timestamps: shards starting together write the same bytes).
   */
  claim(file: string, cells: readonly Cell[]): void {
    this.checkFolder();
    makeFolder(join(this.dir, 'cells'), '--out');
    writeFileAtomic(join(this.dir, 'experiment.json'), JSON.stringify({
      tool: 'bellm-bench run', name: this.experiment, file,
      cells: cells.map((c) => ({ id: c.id, key: c.key, command: c.command, label: c.label })),
    }, null, 1) + '\n');
  }

  /** Refuses DIR when it holds another experiment's outputs or files of its own (writes nothing). */
  checkFolder(): void {
    const problem = folderProblem(this.dir);
    if (problem) throw new UserError(`--out ${this.dir}: ${problem}; pass another folder`);
    const manifest = join(this.dir, 'experiment.json');
    if (existsSync(this.dir)) {
      const prev = readJson(manifest) as { name?: unknown; file?: unknown } | undefined;
      if (existsSync(manifest) && (prev === undefined || typeof prev.name !== 'string')) {
        throw new UserError(`${manifest} is not a bellm-bench experiment manifest; pass another --out`);
      }
      if (prev && prev.name !== this.experiment) {
        throw new UserError(`${this.dir} holds the outputs of experiment "${String(prev.name)}" (${String(prev.file)}), not "${this.experiment}"; pass another --out`);
      }
      if (!prev && readdirSync(this.dir).length > 0) {
        throw new UserError(`${this.dir} is not empty and holds no experiment.json; pass a new or empty folder as --out`);
      }
    }
  }

  /** Refuses a folder that is not this experiment's (for --merge inputs). */
  checkOwner(dir: string): void {
    const manifest = join(dir, 'experiment.json');
    const prev = readJson(manifest) as { name?: unknown; file?: unknown } | undefined;
    if (!prev) throw new UserError(`${dir}: no readable experiment.json; not the output folder of \`bellm-bench run\``);
    if (prev.name !== this.experiment) {
      throw new UserError(`${dir} holds the outputs of experiment "${String(prev.name)}" (${String(prev.file)}), not "${this.experiment}": merge refuses another experiment's outputs`);
    }
  }

  /**
   * One grid run per output folder at a time, except the shards of one split (i/n and j/n, the same n:
   * a Slurm array), which run different jobs. Two runs of one shard, `run` beside `run --shard 1/2`, or
   * 1/2 beside 1/3 would compute the same cells twice. A run takes locks/shard-IofN.lock (written whole,
   * then linked into place, so no one ever reads a half-written lock), then reads every other lock in
   * the folder: one of another split held by a live process refuses the run in one line naming the lock
   * file and the process (two such runs started in the same instant may both refuse; neither computes a
   * cell twice). A lock left by a process that died on this host is removed; one of this shard from
   * another host (a requeued Slurm task) is taken over with a note, since its liveness cannot be
   * checked; one of another split from another host refuses, saying to remove it if nothing runs.
   * Returns the release function.
   */
  lock(shard: Shard, note: (msg: string) => void): () => void {
    const dir = join(this.dir, 'locks');
    mkdirSync(dir, { recursive: true });
    const release = this.shardLock(dir, shard, note);
    try {
      this.checkOtherLocks(dir, shard, note);
    } catch (e) {
      release();
      throw e;
    }
    return release;
  }

  /** This shard's own lock file, taken over from a dead holder. */
  private shardLock(dir: string, shard: Shard, note: (msg: string) => void): () => void {
    const file = join(dir, lockName(shard));
    for (let attempt = 0; attempt < 2; attempt++) {
      if (createWhole(file, `${hostname()} ${process.pid}\n`)) return () => rmSync(file, { force: true });
      const holder = readHolder(file);
      if (!holder) continue; // released meanwhile
      if (holder.host === hostname() && holder.alive) {
        throw new UserError(`${file}: shard ${shard.index}/${shard.count} is already running (process ${holder.pid}); wait for it, or stop it first`);
      }
      note(`taking over the lock of shard ${shard.index}/${shard.count} left by ${holder.text || 'an unknown process'} (${holder.host === hostname() ? 'no longer running' : 'another host'})`);
      rmSync(file, { force: true });
    }
    throw new UserError(`${file}: cannot take the shard lock; remove it if no run is going`);
  }

  /** Refuses the run while a run of another split of the grid holds this folder; removes dead ones' locks. */
  private checkOtherLocks(dir: string, shard: Shard, note: (msg: string) => void): void {
    const me = shard.count === 1 ? 'this run (every cell)' : `this run (shard ${shard.index}/${shard.count})`;
    for (const name of readdirSync(dir).sort()) {
      const m = /^shard-(\d+)of(\d+)\.lock$/.exec(name);
      if (!m || name === lockName(shard)) continue;
      const other = { index: Number(m[1]), count: Number(m[2]) };
      if (other.count === shard.count) continue; // another shard of the same split: other jobs
      const file = join(dir, name);
      const holder = readHolder(file);
      if (!holder) continue; // released meanwhile
      const what = other.count === 1 ? '`run` without --shard' : `\`run --shard ${other.index}/${other.count}\``;
      if (holder.host !== hostname()) {
        throw new UserError(`${file}: ${what} holds ${this.dir} (process ${holder.pid} on host ${holder.host}, not checkable from here) and ${me} would compute its cells again; wait for it, or remove the lock file if it no longer runs`);
      }
      if (holder.alive) {
        throw new UserError(`${file}: ${what} is running on ${this.dir} (process ${holder.pid}) and ${me} would compute its cells again; wait for it to finish, or stop it first`);
      }
      note(`removing the stale lock ${file} of ${what}: process ${holder.pid} is no longer running`);
      rmSync(file, { force: true });
    }
  }

  writeCell(cell: Cell): void {
    mkdirSync(this.cellDir(cell), { recursive: true });
    writeFileAtomic(join(this.cellDir(cell), 'cell.json'), JSON.stringify({
      experiment: this.experiment, key: cell.key, command: cell.command, label: cell.label, where: cell.where, identity: cell.identity,
    }, null, 1) + '\n');
  }

  /** The experiment a cell folder was written by (cell.json), or undefined. */
  cellOwner(cell: Pick<Cell, 'id'>, dir = this.dir): { experiment?: unknown; key?: unknown } | undefined {
    return readJson(join(dir, 'cells', cell.id, 'cell.json')) as { experiment?: unknown; key?: unknown } | undefined;
  }

  readStatus(cell: Pick<Cell, 'id'>, piece: Shard | null): JobStatus | undefined {
    const s = readJson(this.statusFile(cell, piece)) as JobStatus | undefined;
    return s && typeof s === 'object' && (s.status === 'done' || s.status === 'failed') ? s : undefined;
  }

  /** Whether a job is done (and its results still current), failed, or not run. */
  async jobState(cell: Cell, piece: Shard | null): Promise<JobState> {
    const s = this.readStatus(cell, piece);
    if (!s) return { done: false };
    if (s.cell !== cell.key || s.experiment !== this.experiment) return { done: false, stale: 'its status file belongs to another cell or experiment' };
    if (s.status === 'failed') return { done: false, failed: s.error ?? 'failed' };
    let buf: Buffer;
    try {
      buf = readFileSync(this.resultsFile(cell, piece));
    } catch {
      return { done: false, stale: 'its results file is missing' };
    }
    if (sha256(buf) !== s.resultsSha256) return { done: false, stale: 'its results file changed or was damaged after it was written' };
    let results: Results;
    try {
      results = JSON.parse(buf.toString('utf8')) as Results;
    } catch {
      return { done: false, stale: 'its results file is not valid JSON' };
    }
    if (results.kind !== cell.command) return { done: false, stale: `its results file holds ${String(results.kind)} results` };
    const problem = await this.identityProblem(cell, results);
    return problem ? { done: false, stale: problem } : { done: true, results };
  }

  markDone(cell: Cell, piece: Shard | null, info: { seconds: number; shard: Shard }): void {
    const buf = readFileSync(this.resultsFile(cell, piece));
    this.writeStatus(cell, piece, { status: 'done', resultsSha256: sha256(buf), ...info });
  }

  markFailed(cell: Cell, piece: Shard | null, error: string, info: { seconds: number; shard: Shard }): void {
    this.writeStatus(cell, piece, { status: 'failed', error, ...info });
  }

  private writeStatus(cell: Cell, piece: Shard | null, s: Pick<JobStatus, 'status' | 'error' | 'resultsSha256' | 'seconds' | 'shard'>): void {
    mkdirSync(this.cellDir(cell), { recursive: true });
    const full: JobStatus = {
      experiment: this.experiment, cell: cell.key, job: jobName(piece), ...s,
      finishedAt: new Date().toISOString(), host: hostname(),
    };
    writeFileAtomic(this.statusFile(cell, piece), JSON.stringify(full, null, 1) + '\n');
  }

  /** Removes a job's results and status (before a rerun of a stale or failed job). */
  clearJob(cell: Cell, piece: Shard | null): void {
    rmSync(this.statusFile(cell, piece), { force: true });
    rmSync(this.resultsFile(cell, piece), { force: true });
  }

  /** Piece counts M for which every piece part-JofM of the cell is done. */
  async completeSplits(cell: Cell): Promise<number[]> {
    let names: string[];
    try {
      names = readdirSync(this.cellDir(cell));
    } catch {
      return [];
    }
    const counts = new Set(names.map((n) => /^part-\d+of(\d+)\.status\.json$/.exec(n)?.[1]).filter((m): m is string => !!m).map(Number));
    const complete: number[] = [];
    for (const m of [...counts].sort((a, b) => a - b)) {
      let all = true;
      for (let j = 1; j <= m && all; j++) all = (await this.jobState(cell, { index: j, count: m })).done;
      if (all) complete.push(m);
    }
    return complete;
  }
}
