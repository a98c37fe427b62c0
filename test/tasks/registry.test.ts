// The registry against SentEval (SimCSE's sts.py subset lists, the fixture README's scored-pair counts)
// and data/checksums.json against the reference files.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { loadChecksums } from '../../src/tasks/checksums.ts';
import { REGISTRY, TASK_ORDER, TASK_SPECS, defineRegistry, getTask, taskFiles } from '../../src/tasks/registry.ts';
import { sentevalDir } from '../helpers/shared.ts';

// SimCSE's SentEval/senteval/sts.py `self.datasets` lists (STS13 without SMT).
const SENTEVAL_SUBSETS: Record<string, string[]> = {
  STS12: ['MSRpar', 'MSRvid', 'SMTeuroparl', 'surprise.OnWN', 'surprise.SMTnews'],
  STS13: ['FNWN', 'headlines', 'OnWN'],
  STS14: ['deft-forum', 'deft-news', 'headlines', 'images', 'OnWN', 'tweet-news'],
  STS15: ['answers-forums', 'answers-students', 'belief', 'headlines', 'images'],
  STS16: ['answer-answer', 'headlines', 'plagiarism', 'postediting', 'question-question'],
  STSBenchmark: ['train', 'dev', 'test'],
  SICKRelatedness: ['train', 'dev', 'test'],
};
// ../shared/fixtures/README.md, "Scored pairs".
const SCORED = { STS12: 3108, STS13: 1500, STS14: 3750, STS15: 3000, STS16: 1186, STSBenchmark: 1379, SICKRelatedness: 4927 };

test('tasks, labels and order follow SimCSE evaluation.py', (t) => {
  t.deepEqual([...TASK_ORDER], ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark', 'SICKRelatedness']);
  t.deepEqual(TASK_ORDER.map((n) => getTask(n).label), ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R']);
  t.deepEqual(TASK_SPECS.map((s) => s.name), [...TASK_ORDER]);
});

test('subsets are SentEval\'s lists, in its order', (t) => {
  for (const spec of TASK_SPECS) t.deepEqual(spec.subsets.map((s) => s.name), SENTEVAL_SUBSETS[spec.name], spec.name);
});

test('expected scored pairs are SentEval\'s counts, and per-subset counts add up to them', (t) => {
  for (const spec of TASK_SPECS) {
    t.is(spec.expectedPairs, SCORED[spec.name], spec.name);
    const scored = spec.subsets.filter((s) => spec.scored.includes(s.name)).reduce((a, s) => a + s.pairs, 0);
    t.is(scored, SCORED[spec.name], spec.name);
  }
});

test('main score: all-subsets Spearman for STS12-16, test Spearman for STS-B and SICK-R', (t) => {
  for (const n of ['STS12', 'STS13', 'STS14', 'STS15', 'STS16']) t.deepEqual(getTask(n).mainScore, { subset: 'all', metric: 'spearman' });
  for (const n of ['STSBenchmark', 'SICKRelatedness']) {
    t.deepEqual(getTask(n).mainScore, { subset: 'test', metric: 'spearman' });
    t.deepEqual([...getTask(n).scored], ['test']);
  }
});

test('file layout is SentEval\'s data/downstream layout', (t) => {
  t.deepEqual([...getTask('STS13').subsets[0].files], ['STS/STS13-en-test/STS.input.FNWN.txt', 'STS/STS13-en-test/STS.gs.FNWN.txt']);
  t.deepEqual(getTask('STSBenchmark').subsets.map((s) => s.files[0]), ['STS/STSBenchmark/sts-train.csv', 'STS/STSBenchmark/sts-dev.csv', 'STS/STSBenchmark/sts-test.csv']);
  t.deepEqual(getTask('SICKRelatedness').subsets.map((s) => s.files[0]), ['SICK/SICK_train.txt', 'SICK/SICK_trial.txt', 'SICK/SICK_test_annotated.txt']);
  t.deepEqual(getTask('STSBenchmark').columns, { s1: 5, s2: 6, gold: 4 });
  t.deepEqual(getTask('SICKRelatedness').columns, { s1: 1, s2: 2, gold: 3 });
});

test('aliases resolve case-insensitively', (t) => {
  for (const [alias, name] of [['sts-b', 'STSBenchmark'], ['STSB', 'STSBenchmark'], ['stsbenchmark', 'STSBenchmark'], ['SICK-R', 'SICKRelatedness'],
    ['sick', 'SICKRelatedness'], ['SickRelatedness', 'SICKRelatedness'], ['sts12', 'STS12'], ['STS2015', 'STS15']]) {
    t.is(REGISTRY.get(alias).name as string, name, alias);
  }
});

test('an unknown name is a UserError listing the tasks and the closest match', (t) => {
  const err = t.throws(() => getTask('STS-BB'), { instanceOf: UserError });
  t.regex(err!.message, /did you mean STSBenchmark\?/);
  t.regex(err!.message, /STS12, STS13, STS14, STS15, STS16, STSBenchmark, SICKRelatedness/);
  t.notRegex(err!.message, /\n/);
  t.regex(t.throws(() => getTask('SICKRelatednes'))!.message, /did you mean SICKRelatedness\?/);
});

test('duplicate names are rejected', (t) => {
  t.throws(() => defineRegistry([TASK_SPECS[0], TASK_SPECS[0]]), { message: /names both STS12 and STS12/ });
  t.throws(() => defineRegistry([TASK_SPECS[5], { ...TASK_SPECS[6], aliases: ['stsb'] }]), { message: /"stsb" names both STSBenchmark and SICKRelatedness/ });
});

test('data/checksums.json lists exactly the files the loaders read, with the reference files\' sha256', (t) => {
  const sums = loadChecksums().files;
  t.deepEqual(Object.keys(sums).sort(), taskFiles().sort());
  t.is(Object.keys(sums).length, 54);
  for (const [rel, hash] of Object.entries(sums)) {
    t.is(createHash('sha256').update(readFileSync(join(sentevalDir, rel))).digest('hex'), hash, rel);
  }
});
