// Rank error and group-spearman against Python (scipy.stats.rankdata/spearmanr; mulberry32 and
// Fisher-Yates written out in Python: test/tasks/senteval_reference.py).
import { readFileSync } from 'node:fs';
import test from 'ava';
import { spearman } from '../../src/eval/correlation.ts';
import { groupSpearman, mulberry32, pairRows, seededPermutation, taskGroupSpearman } from '../../src/eval/sentence-level.ts';
import { loadTask } from '../../src/tasks/load.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';
import { GROUP_REF, SENTEVAL_REF } from '../tasks/senteval-expected.ts';

const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) < tol;
const golden = (JSON.parse(readFileSync(fixture('correlation-goldens.json'), 'utf8')) as { cases: { x: number[]; y: number[]; spearman: number }[] }).cases;

test('mulberry32 and the seeded permutation match the Python port bit for bit', (t) => {
  const r = mulberry32(1111);
  t.deepEqual([r(), r(), r()], GROUP_REF.mulberry32_1111_first3);
  t.deepEqual(seededPermutation(10, 1111), GROUP_REF.perm10_seed1111);
});

test('group-spearman: 13 groups of 100 from 1379 pairs (79 dropped), each equal to scipy', (t) => {
  const c = golden[3];
  const g = groupSpearman(c.y, c.x, { groupSize: 100, seed: 1111 });
  t.is(g.values.length, 13);
  t.is(g.dropped, 79);
  g.values.forEach((v, i) => t.true(close(v, GROUP_REF.fixture1379_g100_s1111[i]), `group ${i}`));
  const g7 = groupSpearman(c.y, c.x, { groupSize: 250, seed: 7 });
  t.is(g7.dropped, 129);
  g7.values.forEach((v, i) => t.true(close(v, GROUP_REF.fixture1379_g250_s7[i]), `group ${i} (seed 7)`));
});

test('group-spearman with one group of all pairs is scipy\'s Spearman (order does not matter)', (t) => {
  for (const c of golden) {
    const g = groupSpearman(c.y, c.x, { groupSize: c.x.length, seed: 3 });
    t.is(g.values.length, 1);
    t.true(close(g.values[0], c.spearman));
  }
});

test('group-spearman defaults: groups of 100, seed 1111; gold as predictions gives 1 in every group', (t) => {
  const task = loadTask('STSBenchmark', sentevalDir);
  const g = taskGroupSpearman(task, task.subsets.map((s) => s.pairs.map((p) => p.gold)));
  t.is(g.groupSize, 100);
  t.is(g.seed, 1111);
  t.is(g.values.length, 13);
  t.true(g.values.every((v) => close(v, 1)));
  t.throws(() => groupSpearman([1, 2], [1, 2], { groupSize: 1 }));
});

test('rank error on STS-B test with Jaccard predictions matches scipy rankdata', (t) => {
  const task = loadTask('STSBenchmark', sentevalDir);
  const jac = (a: string, b: string) => { const A = new Set(a.split(' ')); const B = new Set(b.split(' ')); return [...A].filter((w) => B.has(w)).length / new Set([...A, ...B]).size; };
  const rows = pairRows(task, task.subsets.map((s) => (s.name === 'test' ? s.pairs.map((p) => jac(p.s1, p.s2)) : [])));
  const ref = SENTEVAL_REF.STSBenchmark.rankError!;
  t.is(rows.length, 1379);
  rows.slice(0, 5).forEach((r, i) => t.true(close(r.rankError, ref.first5[i]), `row ${i}`));
  t.true(close(rows.reduce((a, r) => a + r.rankError, 0) / rows.length, ref.mean));
  const worst = rows.reduce((best, r, i) => (r.rankError > rows[best].rankError ? i : best), 0);
  t.is(worst, ref.argmax);
  t.true(close(rows[worst].rankError, ref.max));
  t.is(rows[0].line, 1);
  t.is(rows[0].subset, 'test');
  // Spearman is the Pearson correlation of these same ranks.
  t.true(close(spearman(rows.map((r) => r.pred), rows.map((r) => r.gold)), SENTEVAL_REF.STSBenchmark.all.spearman));
});
