// spearman/pearson against scipy.stats (../shared/fixtures/correlation-goldens.json) to 1e-9.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { averageRanks, pearson, spearman } from '../../src/eval/correlation.ts';
import { fixture } from '../helpers/shared.ts';

interface Case { x: number[]; y: number[]; spearman: number; pearson: number }
const cases = (JSON.parse(readFileSync(fixture('correlation-goldens.json'), 'utf8')) as { cases: Case[] }).cases;

test('every golden case, to 1e-9', (t) => {
  t.is(cases.length, 5);
  for (const [i, c] of cases.entries()) {
    t.true(Math.abs(spearman(c.x, c.y) - c.spearman) < 1e-9, `case ${i} (n=${c.x.length}) spearman ${spearman(c.x, c.y)} vs ${c.spearman}`);
    t.true(Math.abs(pearson(c.x, c.y) - c.pearson) < 1e-9, `case ${i} (n=${c.x.length}) pearson ${pearson(c.x, c.y)} vs ${c.pearson}`);
  }
});

test('the heavy-ties case needs average ranks (ordinal ranks would miss)', (t) => {
  const c = cases.find((k) => k.x.length === 40)!;
  t.true(new Set(c.x).size < 20);
  const ordinal = (v: number[]) => { const r = new Array<number>(v.length); v.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]).forEach(([, i], k) => (r[i] = k + 1)); return r; };
  t.true(Math.abs(pearson(ordinal(c.x), ordinal(c.y)) - c.spearman) > 1e-3);
  t.true(Math.abs(spearman(c.x, c.y) - c.spearman) < 1e-9);
});

test('averageRanks is scipy.stats.rankdata(method="average")', (t) => {
  // rankdata([0, 2, 3, 2]) -> [1, 2.5, 4, 2.5]; rankdata([-0.0, 0.0, 1]) -> [1.5, 1.5, 3]
  t.deepEqual(averageRanks([0, 2, 3, 2]), [1, 2.5, 4, 2.5]);
  t.deepEqual(averageRanks([-0, 0, 1]), [1.5, 1.5, 3]);
  t.deepEqual(averageRanks([Infinity, -Infinity, 0]), [3, 1, 2]);
});

test('constant input gives NaN, like scipy', (t) => {
  t.true(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  t.true(Number.isNaN(pearson([1, 2, 3], [2, 2, 2])));
  t.true(Number.isNaN(spearman([1], [2])));
  t.true(Number.isNaN(spearman([1, NaN, 3], [1, 2, 3])));
  t.throws(() => spearman([1, 2], [1, 2, 3]));
});
