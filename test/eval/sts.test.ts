// evaluateTask on the real tasks: Jaccard word-overlap predictions scored against scipy/numpy
// (test/tasks/senteval_reference.py), and gold-as-prediction sanity.
import test from 'ava';
import { evaluateTask, splitScored } from '../../src/eval/sts.ts';
import { loadTask, scoredSubsets } from '../../src/tasks/load.ts';
import { TASK_ORDER } from '../../src/tasks/registry.ts';
import type { LoadedTask } from '../../src/tasks/types.ts';
import { sentevalDir } from '../helpers/shared.ts';
import { SENTEVAL_REF } from '../tasks/senteval-expected.ts';

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;
/** |A n B| / |A u B| over space-separated tokens: the same formula as the Python reference. */
const jaccard = (a: string, b: string) => {
  const A = new Set(a.split(' '));
  const B = new Set(b.split(' '));
  return [...A].filter((w) => B.has(w)).length / new Set([...A, ...B]).size;
};
const jaccardPredictions = (task: LoadedTask) =>
  task.subsets.map((s) => (task.spec.scored.includes(s.name) ? s.pairs.map((p) => jaccard(p.s1, p.s2)) : []));

for (const name of TASK_ORDER) {
  test(`${name}: per-subset, all, mean, wmean match scipy/numpy to 1e-9`, (t) => {
    const task = loadTask(name, sentevalDir);
    const r = evaluateTask(task, jaccardPredictions(task));
    const ref = SENTEVAL_REF[name];
    t.deepEqual(r.subsets.map((s) => s.name), Object.keys(ref.subsets));
    for (const s of r.subsets) {
      t.is(s.n, ref.subsets[s.name].n);
      t.true(close(s.spearman, ref.subsets[s.name].spearman), `${s.name} spearman`);
      t.true(close(s.pearson, ref.subsets[s.name].pearson), `${s.name} pearson`);
    }
    for (const k of ['all', 'mean', 'wmean'] as const) {
      t.true(close(r[k].spearman, ref[k].spearman), `${k} spearman ${r[k].spearman} vs ${ref[k].spearman}`);
      t.true(close(r[k].pearson, ref[k].pearson), `${k} pearson`);
    }
    t.is(r.main, task.spec.mainScore.subset === 'all' ? r.all.spearman : r.subsets.find((s) => s.name === 'test')!.spearman);
    t.is(r.label, task.spec.label);
  });
}

test('STS12-16 `all` differs from `mean`: pooling is not averaging (the SimCSE number is `all`)', (t) => {
  const task = loadTask('STS12', sentevalDir);
  const r = evaluateTask(task, jaccardPredictions(task));
  t.true(Math.abs(r.all.spearman - r.mean.spearman) > 0.05);
  t.is(r.main, r.all.spearman);
});

test('gold scores as predictions give Spearman and Pearson 1 everywhere', (t) => {
  for (const name of TASK_ORDER) {
    const task = loadTask(name, sentevalDir);
    const r = evaluateTask(task, task.subsets.map((s) => s.pairs.map((p) => p.gold)));
    t.true(close(r.main, 1), name);
    t.true(close(r.all.pearson, 1) && close(r.wmean.spearman, 1), name);
    // STS-B/SICK-R: train and dev are reported per split but do not enter all/mean/wmean
    t.is(r.all.n, task.spec.expectedPairs, name);
  }
});

test('splitScored cuts a flat list in registry order; train/dev get no predictions', (t) => {
  const task = loadTask('STSBenchmark', sentevalDir);
  const gold = scoredSubsets(task).flatMap((s) => s.pairs.map((p) => p.gold));
  const parts = splitScored(task, gold);
  t.deepEqual(parts.map((p) => p.length), [0, 0, 1379]);
  const r = evaluateTask(task, parts);
  t.deepEqual(r.subsets.map((s) => s.name), ['test']);
  t.throws(() => splitScored(task, gold.slice(1)), { message: /1378 predictions for 1379 scored pairs/ });
  t.throws(() => evaluateTask(task, [[], [], gold.slice(1)]), { message: /test: 1378 predictions for 1379 pairs/ });
});

test('constant predictions give NaN (scipy), which the main score reports as is', (t) => {
  const task = loadTask('SICK-R', sentevalDir);
  const r = evaluateTask(task, [[], [], task.subsets[2].pairs.map(() => 0.5)]);
  t.true(Number.isNaN(r.main));
});
