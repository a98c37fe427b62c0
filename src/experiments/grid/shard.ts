// Splitting a grid's cells over shards (`run --shard i/n`, or `--shard auto` inside a Slurm job array).
// Every shard computes the same plan from the same file, independently: the plan depends only on the
// cells and their estimated costs, never on what is already done, so no two shards run the same job.
// Cells are balanced by estimated cost (tokens x layer passes) with longest-processing-time-first. A
// degradation sweep is one job while keeping its shared causal prefix saves more than splitting it; it
// is split into pieces (the `degrade --shard j/m` pieces, joined as `bellm-bench merge` joins them) only
// when that shortens the longest shard.
import { UserError } from '../../errors.ts';
import { parseShard, shardLayers, type SweepMode } from '../run/layers.ts';
import { sweepCost } from '../run/sweep.ts';

/** 1-based shard index i of n. */
export interface Shard { index: number; count: number }

const intEnv = (env: NodeJS.ProcessEnv, name: string): number | undefined => {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) throw new UserError(`--shard auto: ${name}=${v} is not a non-negative integer`);
  return Number(v);
};

/**
 * The shard of this process inside a Slurm job array: i = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN
 * (0-based, so shard i + 1 of n), n = SLURM_ARRAY_TASK_COUNT; null outside an array job.
 */
export function slurmArrayShard(env: NodeJS.ProcessEnv = process.env): Shard | null {
  const id = intEnv(env, 'SLURM_ARRAY_TASK_ID');
  if (id === undefined) return null;
  const min = intEnv(env, 'SLURM_ARRAY_TASK_MIN');
  const count = intEnv(env, 'SLURM_ARRAY_TASK_COUNT');
  const max = intEnv(env, 'SLURM_ARRAY_TASK_MAX');
  if (min === undefined || count === undefined || count < 1) {
    throw new UserError(`--shard auto: SLURM_ARRAY_TASK_ID is ${id} but SLURM_ARRAY_TASK_MIN/SLURM_ARRAY_TASK_COUNT are not set; run it as an sbatch --array job or pass --shard i/n`);
  }
  if (id < min || id - min >= count || (max !== undefined && max - min + 1 !== count)) {
    throw new UserError(`--shard auto: array task ${id} of ${min}..${max ?? '?'} with ${count} tasks has gaps or steps; submit a dense array --array=0-${count - 1} (as \`bellm-bench slurm\` writes it) or pass --shard i/n`);
  }
  return { index: id - min + 1, count };
}

/** `--shard i/n` (1-based), `auto` (the Slurm array task, else the whole grid) or nothing (the whole grid). */
export function parseShardOption(spec: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (spec === undefined) return { index: 1, count: 1 };
  if (spec.trim() === 'auto') return slurmArrayShard(env) ?? { index: 1, count: 1 };
  return parseShard(spec);
}

/** Estimated cost of a cell: a fixed amount, or a layer sweep whose cost depends on how it is split. */
export type CellCost =
  | { kind: 'fixed'; cost: number }
  | { kind: 'sweep'; tokens: number; ks: readonly number[]; layers: number; mode: SweepMode };

export interface Job {
  /** Index of the cell. */
  cell: number;
  /** A piece of a split sweep (`degrade --shard index/count`), or null for the whole cell. */
  piece: Shard | null;
  cost: number;
  /** 1-based shard that runs it. */
  shard: number;
}

export function sweepPieceCost(c: Extract<CellCost, { kind: 'sweep' }>, piece: Shard | null): number {
  return c.tokens * sweepCost(shardLayers(c.ks, piece), c.layers, c.mode).shared;
}

function jobsFor(costs: readonly CellCost[], pieces: readonly number[]): Omit<Job, 'shard'>[] {
  return costs.flatMap((c, cell): Omit<Job, 'shard'>[] => {
    if (c.kind === 'fixed') return [{ cell, piece: null, cost: c.cost }];
    const m = pieces[cell];
    if (m === 1) return [{ cell, piece: null, cost: sweepPieceCost(c, null) }];
    return Array.from({ length: m }, (_, j) => {
      const piece = { index: j + 1, count: m };
      return { cell, piece, cost: sweepPieceCost(c, piece) };
    });
  });
}

/** Longest processing time first: each job (largest first) to the least loaded shard (lowest index on ties). */
function assign(jobs: readonly Omit<Job, 'shard'>[], n: number): { jobs: Job[]; loads: number[] } {
  const order = jobs.map((_, i) => i).sort((a, b) =>
    jobs[b].cost - jobs[a].cost || jobs[a].cell - jobs[b].cell || (jobs[a].piece?.index ?? 0) - (jobs[b].piece?.index ?? 0));
  const loads = new Array<number>(n).fill(0);
  const shardOf = new Array<number>(jobs.length);
  for (const i of order) {
    let s = 0;
    for (let t = 1; t < n; t++) if (loads[t] < loads[s]) s = t;
    shardOf[i] = s + 1;
    loads[s] += jobs[i].cost;
  }
  return { jobs: jobs.map((j, i) => ({ ...j, shard: shardOf[i] })), loads };
}

export interface ShardPlan {
  jobs: Job[];
  /** Estimated cost per shard (index 0 = shard 1). */
  loads: number[];
  /** Pieces per cell (1 unless a sweep is split). */
  pieces: number[];
}

/** a < b comparing shard loads sorted from the largest down (first the longest shard, then the next...). */
function lighter(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/**
 * Jobs of every cell, each assigned to one of `n` shards. Deterministic in (costs, n). A sweep is split
 * only when that lightens the shards (the longest first, then the next longest, ...); a final pass takes
 * back every split that does not shorten the longest shard, since splitting repeats the causal prefix.
 */
export function planShards(costs: readonly CellCost[], n: number): ShardPlan {
  if (!Number.isInteger(n) || n < 1) throw new Error(`planShards: ${n} shards`);
  const pieces = costs.map(() => 1);
  const loads = () => assign(jobsFor(costs, pieces), n).loads.sort((x, y) => y - x);
  const sweeps = costs.map((_, i) => i).filter((i) => costs[i].kind === 'sweep')
    .sort((a, b) => sweepPieceCost(costs[b] as never, null) - sweepPieceCost(costs[a] as never, null) || a - b);
  const most = (i: number) => (n > 1 ? Math.min(n, (costs[i] as Extract<CellCost, { kind: 'sweep' }>).ks.length) : 1);
  for (let pass = 0; pass < 3; pass++) {
    for (const i of sweeps) {
      let best = pieces[i], bestLoads = loads();
      for (let m = 1; m <= most(i); m++) {
        pieces[i] = m;
        const l = loads();
        if (lighter(l, bestLoads)) { best = m; bestLoads = l; }
      }
      pieces[i] = best;
    }
  }
  for (const i of sweeps) {
    const span = loads()[0], cur = pieces[i];
    for (let m = 1; m < cur; m++) {
      pieces[i] = m;
      if (loads()[0] <= span) break;
      pieces[i] = cur;
    }
  }
  const { jobs, loads: l } = assign(jobsFor(costs, pieces), n);
  return { jobs, loads: l, pieces };
}
