import test from 'ava';
import { bootstrapCompare, mulberry32, pairedBootstrap, summarizeDiffs } from '../../src/report/bootstrap.ts';
import { UserError } from '../../src/errors.ts';
import { quantileSorted } from '../../src/report/stats.ts';
import { spearman } from '../../src/eval/correlation.ts';
import { syntheticSts } from './fixtures/synthetic.ts';

const gold = Array.from({ length: 40 }, (_, i) => (i * 7) % 11); // ties on purpose
const noisy = gold.map((g, i) => g + Math.sin(i * 1.7) * 3);
const noisier = gold.map((g, i) => g + Math.cos(i * 0.9) * 5);

test('identical configurations: delta 0, CI [0, 0], sign flips 1', (t) => {
  const r = pairedBootstrap(gold, noisy, noisy, 500, mulberry32(1));
  t.is(r.delta, 0);
  t.is(r.ciLow, 0);
  t.is(r.ciHigh, 0);
  t.is(r.signFlip, 1);
});

test('hand case: perfect vs reversed ranking gives Δ = -2 on every resample', (t) => {
  const g = Array.from({ length: 30 }, (_, i) => i);
  const r = pairedBootstrap(g, g.map((x) => x * 2), g.map((x) => -x), 300, mulberry32(5));
  t.is(r.a, 1);
  t.is(r.b, -1);
  t.true(Math.abs(r.delta + 2) < 1e-12 && Math.abs(r.ciLow + 2) < 1e-12 && Math.abs(r.ciHigh + 2) < 1e-12);
  t.is(r.signFlip, 0);
});

test('resampled deltas equal Spearman on explicitly resampled arrays (same index stream)', (t) => {
  const B = 200;
  const r = pairedBootstrap(gold, noisy, noisier, B, mulberry32(42));
  const rng = mulberry32(42);
  const n = gold.length;
  const want: number[] = [];
  for (let b = 0; b < B; b++) {
    const idx = Array.from({ length: n }, () => Math.floor(rng() * n));
    const g = idx.map((i) => gold[i]);
    want.push(spearman(g, idx.map((i) => noisier[i])) - spearman(g, idx.map((i) => noisy[i])));
  }
  for (let b = 0; b < B; b++) t.true(Math.abs(r.diffs[b] - want[b]) < 1e-12, `resample ${b}`);
  t.true(Math.abs(r.delta - (spearman(gold, noisier) - spearman(gold, noisy))) < 1e-12);
  const sorted = [...want].sort((x, y) => x - y);
  t.true(Math.abs(r.ciLow - quantileSorted(sorted, 0.025)) < 1e-12);
  t.true(Math.abs(r.ciHigh - quantileSorted(sorted, 0.975)) < 1e-12);
});

test('summarizeDiffs: percentile CI and sign-flip share by hand', (t) => {
  const diffs = Float64Array.from({ length: 100 }, (_, i) => i / 100); // 0.00 .. 0.99
  const s = summarizeDiffs(0.5, diffs);
  t.true(Math.abs(s.ciLow - 0.02475) < 1e-12);
  t.true(Math.abs(s.ciHigh - 0.96525) < 1e-12);
  t.is(s.signFlip, 0.01); // only 0.00 is not > 0
  t.is(summarizeDiffs(-0.1, diffs).signFlip, 1);
  t.is(summarizeDiffs(0.1, Float64Array.from([NaN, 1, 2])).dropped, 1);
});

test('deterministic given the seed; another seed differs', (t) => {
  const A = syntheticSts('A', 1, 0.35, 30), B = syntheticSts('B', 2, 0.25, 30);
  const one = bootstrapCompare(A, B, { resamples: 200, seed: 3 });
  const two = bootstrapCompare(A, B, { resamples: 200, seed: 3 });
  const other = bootstrapCompare(A, B, { resamples: 200, seed: 4 });
  t.deepEqual(one, two);
  t.notDeepEqual(one.rows.map((r) => r.ciLow), other.rows.map((r) => r.ciLow));
  t.is(one.rows.length, 8);
  t.is(one.rows[7].task, 'Avg');
  t.deepEqual(one.warnings, []);
  // point estimates are the runs' own main values
  for (const [i, row] of one.rows.slice(0, 7).entries()) {
    t.true(Math.abs(row.delta - (B.tasks[i].main - A.tasks[i].main)) < 1e-12);
  }
});

test('pairs that differ in count or gold are refused, naming the file', (t) => {
  const A = syntheticSts('A', 1, 0.35, 20), B = syntheticSts('B', 2, 0.25, 20);
  const shorter = structuredClone(B);
  shorter.tasks[5].pairs = shorter.tasks[5].pairs!.slice(1);
  const e1 = t.throws(() => bootstrapCompare(A, shorter, { resamples: 10, seed: 1, fileA: 'a.json', fileB: 'b.json' }), { instanceOf: UserError });
  t.regex(e1!.message, /^b\.json: task STS-B has 19 pairs but a\.json has 20/);
  const moved = structuredClone(B);
  moved.tasks[0].pairs![3].gold += 0.5;
  const e2 = t.throws(() => bootstrapCompare(A, moved, { resamples: 10, seed: 1, fileA: 'a.json', fileB: 'b.json' }), { instanceOf: UserError });
  t.regex(e2!.message, /^b\.json: task STS12 pair 3 has gold/);
  const none = structuredClone(B);
  delete none.tasks[2].pairs;
  t.throws(() => bootstrapCompare(A, none, { resamples: 10, seed: 1, fileA: 'a.json', fileB: 'b.json' }), { instanceOf: UserError, message: /^b\.json: task STS14 has no per-pair predictions/ });
});
