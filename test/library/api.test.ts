// The library entry (src/index.ts): the documented functions are there, and `score` gives SentEval's
// numbers (scipy's, from test/tasks/senteval_reference.py) for predictions made outside bellm-bench.
import test from 'ava';
import * as lib from '../../src/index.ts';
import { loadTask, scoredSubsets } from '../../src/tasks/load.ts';
import { sentevalDir } from '../helpers/shared.ts';
import { SENTEVAL_REF } from '../tasks/senteval-expected.ts';

test('the documented entry points are exported', (t) => {
  for (const name of ['embed', 'score', 'openEmbedder', 'loadTasks', 'runSts', 'runDegrade', 'loadModel', 'loadTokenizer', 'resolveSource', 'resolveSettings', 'checkBidirectionality'] as const) {
    t.is(typeof lib[name], 'function', name);
  }
});

test("score: Jaccard predictions for every task give scipy's all/mean/wmean and per-subset Spearman", (t) => {
  const jac = (a: string, b: string) => { const A = new Set(a.split(' ')); const B = new Set(b.split(' ')); return [...A].filter((w) => B.has(w)).length / new Set([...A, ...B]).size; };
  for (const [name, ref] of Object.entries(SENTEVAL_REF)) {
    const preds = scoredSubsets(loadTask(name, sentevalDir)).flatMap((s) => s.pairs.map((p) => jac(p.s1, p.s2)));
    const { evaluation, result } = lib.score(name, preds, { dataDir: sentevalDir });
    t.true(Math.abs(evaluation.all.spearman - ref.all.spearman) < 1e-9, `${name} all`);
    t.true(Math.abs(evaluation.mean.spearman - ref.mean.spearman) < 1e-9, `${name} mean`);
    t.true(Math.abs(evaluation.wmean.spearman - ref.wmean.spearman) < 1e-9, `${name} wmean`);
    for (const s of evaluation.subsets) t.true(Math.abs(s.spearman - ref.subsets[s.name].spearman) < 1e-9, `${name} ${s.name}`);
    t.is(result.pairs?.length, preds.length);
  }
});

test('score refuses a wrong count with one line naming the order', (t) => {
  const e = t.throws(() => lib.score('STSBenchmark', [0.5, 0.25], { dataDir: sentevalDir, source: 'mine' }), { instanceOf: lib.UserError });
  t.is(e!.message, 'mine: expected 1379 scores for STSBenchmark (one per scored pair, in order: test 1379; `bellm-bench pairs --task STSBenchmark` lists them), got 2');
});
