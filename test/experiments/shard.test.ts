// Sharding a grid: --shard auto under a Slurm array, and the cost-balanced plan.
import test from 'ava';
import fc from 'fast-check';
import { shardLayers } from '../../src/experiments/run/layers.ts';
import { parseShardOption, planShards, slurmArrayShard, sweepPieceCost, type CellCost } from '../../src/experiments/grid/shard.ts';
import { sweepCost } from '../../src/experiments/run/sweep.ts';
import { UserError } from '../../src/errors.ts';

const env = (id?: number, min?: number, count?: number, max?: number): NodeJS.ProcessEnv => ({
  ...(id !== undefined ? { SLURM_ARRAY_TASK_ID: String(id) } : {}),
  ...(min !== undefined ? { SLURM_ARRAY_TASK_MIN: String(min) } : {}),
  ...(count !== undefined ? { SLURM_ARRAY_TASK_COUNT: String(count) } : {}),
  ...(max !== undefined ? { SLURM_ARRAY_TASK_MAX: String(max) } : {}),
});

test('--shard auto: i = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, n = SLURM_ARRAY_TASK_COUNT; one shard elsewhere', (t) => {
  t.deepEqual(slurmArrayShard(env(0, 0, 3, 2)), { index: 1, count: 3 });
  t.deepEqual(slurmArrayShard(env(2, 0, 3, 2)), { index: 3, count: 3 });
  t.deepEqual(slurmArrayShard(env(12, 10, 4, 13)), { index: 3, count: 4 }); // --array=10-13
  t.deepEqual(slurmArrayShard(env(5, 5, 1)), { index: 1, count: 1 });
  t.is(slurmArrayShard({}), null);
  t.is(slurmArrayShard({ SLURM_JOB_ID: '77' }), null); // a plain (non-array) job
  t.deepEqual(parseShardOption('auto', {}), { index: 1, count: 1 });
  t.deepEqual(parseShardOption('auto', env(1, 0, 3, 2)), { index: 2, count: 3 });
  t.deepEqual(parseShardOption(undefined, env(1, 0, 3, 2)), { index: 1, count: 1 }); // only `auto` reads the environment
  t.deepEqual(parseShardOption('2/5', env(1, 0, 3, 2)), { index: 2, count: 5 });
});

test('--shard: bad specs and arrays the plan cannot follow are one-line errors', (t) => {
  for (const bad of ['0/3', '4/3', '1/0', 'x', '1-3', '']) t.throws(() => parseShardOption(bad), { instanceOf: UserError, message: /--shard/ });
  t.throws(() => slurmArrayShard(env(4, 0, 3, 6)), { instanceOf: UserError, message: /gaps or steps; submit a dense array --array=0-2/ }); // --array=0-6:2
  t.throws(() => slurmArrayShard(env(3, 0, 3, 3)), { instanceOf: UserError, message: /gaps or steps/ });
  t.throws(() => slurmArrayShard(env(1)), { instanceOf: UserError, message: /SLURM_ARRAY_TASK_MIN\/SLURM_ARRAY_TASK_COUNT are not set/ });
  t.throws(() => slurmArrayShard({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: 'x', SLURM_ARRAY_TASK_COUNT: '2' }), { instanceOf: UserError, message: /SLURM_ARRAY_TASK_MIN=x is not a non-negative integer/ });
});

const fixed = (cost: number): CellCost => ({ kind: 'fixed', cost });
const sweep = (tokens: number, L: number): CellCost => ({ kind: 'sweep', tokens, ks: Array.from({ length: L + 1 }, (_, k) => k), layers: L, mode: 'bidirectional' });

test('cells are balanced by cost (longest first to the least loaded shard)', (t) => {
  const p = planShards([fixed(5), fixed(3), fixed(3), fixed(2), fixed(2), fixed(1)], 2);
  t.deepEqual(p.loads, [8, 8]);
  t.deepEqual(p.jobs.map((j) => j.shard), [1, 2, 2, 1, 2, 1]);
  t.deepEqual(planShards([fixed(5), fixed(3)], 1).jobs.map((j) => j.shard), [1, 1]);
  // more shards than cells: the extra shards have nothing to do
  t.deepEqual(planShards([fixed(5), fixed(3)], 4).loads, [5, 3, 0, 0]);
});

test('a sweep stays whole while its shared causal prefix saves more than splitting it', (t) => {
  // One 32-layer sweep (560 layer passes shared, 1056 as independent runs) among 16 sts cells of 32 passes each.
  const costs = [sweep(1, 32), ...Array.from({ length: 16 }, () => fixed(32))];
  t.is(sweepPieceCost(costs[0] as never, null), sweepCost(Array.from({ length: 33 }, (_, k) => k), 32, 'bidirectional').shared);
  t.is(sweepPieceCost(costs[0] as never, null), 560);
  // On 2 shards keeping it whole is best (560 vs 16 x 32 = 512): no split.
  t.deepEqual(planShards(costs, 2).pieces[0], 1);
  // On 8 shards the sweep alone would take 560 while the rest averages 64: it is split.
  const p8 = planShards(costs, 8);
  t.true(p8.pieces[0] > 1);
  t.true(Math.max(...p8.loads) < 560);
  // one shard: never split (it only repeats the prefix)
  t.is(planShards(costs, 1).pieces[0], 1);
});

test('property: every job runs on exactly one shard, pieces partition each sweep, the plan is deterministic', (t) => {
  const costArb = fc.oneof(
    fc.integer({ min: 1, max: 1000 }).map(fixed),
    fc.record({ tokens: fc.integer({ min: 1, max: 50 }), L: fc.integer({ min: 1, max: 12 }) }).map(({ tokens, L }) => sweep(tokens, L)),
  );
  fc.assert(fc.property(fc.array(costArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 9 }), (costs, n) => {
    const p = planShards(costs, n);
    if (JSON.stringify(planShards(costs, n)) !== JSON.stringify(p)) return false;
    if (p.jobs.some((j) => j.shard < 1 || j.shard > n)) return false;
    const loads = new Array<number>(n).fill(0);
    for (const j of p.jobs) loads[j.shard - 1] += j.cost;
    if (loads.some((l, i) => l !== p.loads[i])) return false;
    // LPT's guarantee: no shard exceeds the mean load plus the largest job
    const total = loads.reduce((a, b) => a + b, 0);
    if (Math.max(...loads) > total / n + Math.max(...p.jobs.map((j) => j.cost)) + 1e-9) return false;
    return costs.every((c, i) => {
      const mine = p.jobs.filter((j) => j.cell === i);
      if (c.kind === 'fixed') return mine.length === 1 && mine[0].piece === null && mine[0].cost === c.cost;
      if (p.pieces[i] === 1) return mine.length === 1 && mine[0].piece === null;
      const ks = mine.flatMap((j) => shardLayers(c.ks, j.piece));
      return mine.length === p.pieces[i] && JSON.stringify([...ks].sort((a, b) => a - b)) === JSON.stringify(c.ks);
    });
  }), { seed: 16, numRuns: 300 });
  t.pass();
});
