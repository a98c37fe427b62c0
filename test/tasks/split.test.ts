import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { evaluateTask } from '../../src/eval/sts.ts';
import { loadTasks } from '../../src/experiments/run/sts.ts';
import { scoredSubsets } from '../../src/tasks/load.ts';
import { getTask, TASK_SPECS } from '../../src/tasks/registry.ts';
import { defaultTaskNames, parseSplit, splitSpec } from '../../src/tasks/split.ts';
import { sentevalDir } from '../helpers/shared.ts';

test('dev split: STS-B dev and SICK-R trial are scored alone and reported; test is unchanged', (t) => {
  const stsb = splitSpec(getTask('STS-B'), 'dev');
  t.deepEqual([stsb.scored, stsb.mainScore.subset, stsb.expectedPairs], [['dev'], 'dev', 1500]);
  t.is(splitSpec(getTask('SICK-R'), 'dev').expectedPairs, 500);
  t.is(splitSpec(getTask('STS12'), 'test'), getTask('STS12'));
  for (const n of ['STS12', 'STS13', 'STS14', 'STS15', 'STS16']) {
    t.throws(() => splitSpec(getTask(n), 'dev'), { instanceOf: UserError, message: new RegExp(`^${n} has no dev split: SentEval's STS12-16 are test sets only`) });
  }
  t.deepEqual(defaultTaskNames(TASK_SPECS, 'dev'), ['STSBenchmark', 'SICKRelatedness']);
  t.is(defaultTaskNames(TASK_SPECS, 'test').length, 7);
  t.is(parseSplit(undefined), 'test');
  t.throws(() => parseSplit('train'), { instanceOf: UserError, message: /--split train: choose test .* or dev/ });
});

test('the reported number of a dev task is the dev split\'s Spearman (gold as prediction: 1; reversed: -1)', (t) => {
  const [stsb, sick] = loadTasks(['SICK-R', 'STS-B'], sentevalDir, 'dev');
  t.deepEqual([stsb.spec.name, sick.spec.name], ['STSBenchmark', 'SICKRelatedness'], 'table order');
  for (const task of [stsb, sick]) {
    const dev = scoredSubsets(task);
    t.deepEqual(dev.map((s) => s.name), ['dev']);
    const gold = dev[0].pairs.map((p) => p.gold);
    const preds = task.subsets.map((s) => (s.name === 'dev' ? gold : []));
    const r = evaluateTask(task, preds);
    t.true(Math.abs(r.main - 1) < 1e-12);
    t.deepEqual(r.subsets.map((s) => [s.name, s.n]), [['dev', task.spec.expectedPairs]]);
    t.true(Math.abs(evaluateTask(task, task.subsets.map((s) => (s.name === 'dev' ? gold.map((g) => -g) : []))).main + 1) < 1e-12);
  }
});
