// The three loaders on the real files, against SentEval's reading rules as written out in Python
// (test/tasks/senteval_reference.py -> senteval-expected.ts) and the raw bytes of the files.
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { allSentences, loadTask, scoredSubsets } from '../../src/tasks/load.ts';
import { TASK_ORDER, getTask } from '../../src/tasks/registry.ts';
import { readUtf8, splitLines } from '../../src/tasks/text.ts';
import type { LoadedTask } from '../../src/tasks/types.ts';
import { sentevalDir } from '../helpers/shared.ts';
import { SENTEVAL_REF } from './senteval-expected.ts';

const tasks = new Map<string, LoadedTask>();
const load = (name: string): LoadedTask => {
  if (!tasks.has(name)) tasks.set(name, loadTask(name, sentevalDir));
  return tasks.get(name)!;
};
const C1 = /[\u0080-\u009f]/;

for (const name of TASK_ORDER) {
  test(`${name}: subset counts and first/last pairs match the Python reference`, (t) => {
    const task = load(name);
    const ref = SENTEVAL_REF[name].firstLast;
    t.deepEqual(task.subsets.map((s) => s.name), Object.keys(ref));
    for (const sub of task.subsets) {
      const r = ref[sub.name];
      t.is(sub.pairs.length, r.count, `${name} ${sub.name} count`);
      const pick = (i: number) => [sub.pairs[i].s1, sub.pairs[i].s2, sub.pairs[i].gold];
      t.deepEqual(pick(0), r.first, `${name} ${sub.name} first`);
      t.deepEqual(pick(sub.pairs.length - 1), r.last, `${name} ${sub.name} last`);
    }
  });
}

test('scored totals are SentEval\'s (README): 3108 1500 3750 3000 1186 1379 4927', (t) => {
  const totals = TASK_ORDER.map((n) => scoredSubsets(load(n)).reduce((a, s) => a + s.pairs.length, 0));
  t.deepEqual(totals, [3108, 1500, 3750, 3000, 1186, 1379, 4927]);
});

test('allSentences: the unique sentences of the scored pairs', (t) => {
  for (const name of TASK_ORDER) t.is(allSentences(load(name)).length, SENTEVAL_REF[name].uniqueSentences, name);
  const stsb = load('STSBenchmark');
  t.deepEqual(allSentences(stsb).slice(0, 2), ['a girl is styling her hair .', 'a girl is brushing her hair .']);
});

test('empty gold lines drop their pairs (STS15 answers-forums: 2000 input lines, 375 scored)', (t) => {
  const dir = join(sentevalDir, 'STS/STS15-en-test');
  const gold = splitLines(readUtf8(join(dir, 'STS.gs.answers-forums.txt')));
  t.is(gold.length, 2000);
  t.is(gold.filter((g) => g !== '').length, 375);
  const sub = load('STS15').subsets.find((s) => s.name === 'answers-forums')!;
  t.deepEqual(sub.pairs.map((p) => p.line), gold.flatMap((g, i) => (g === '' ? [] : [i + 1])));
});

test('STS15 belief: C1 control characters decode as text and sit only on unscored lines', (t) => {
  const dir = join(sentevalDir, 'STS/STS15-en-test');
  const input = splitLines(readUtf8(join(dir, 'STS.input.belief.txt')));
  const gold = splitLines(readUtf8(join(dir, 'STS.gs.belief.txt')));
  t.is(input.length, 2000); // no C1 character is a line break (U+0085 would be one)
  const withC1 = input.flatMap((l, i) => (C1.test(l) ? [i + 1] : []));
  t.true(withC1.length > 0);
  t.is(withC1[0], 10);
  t.true(input[9].includes('the ship \u0092 s project manager')); // bytes C2 92, kept as is
  t.true(withC1.every((n) => gold[n - 1] === ''));
  const belief = load('STS15').subsets.find((s) => s.name === 'belief')!;
  t.false(belief.pairs.some((p) => C1.test(p.s1) || C1.test(p.s2)));
});

test('sentences are whitespace-split and re-joined: the STS14 tweet-news trailing space goes', (t) => {
  const raw = splitLines(readUtf8(join(sentevalDir, 'STS/STS14-en-test/STS.input.tweet-news.txt')))[720];
  t.true(raw.startsWith("women have ' taken their posts with such seamless calm that the country barely noticed . ' \t"));
  const pair = load('STS14').subsets.find((s) => s.name === 'tweet-news')!.pairs.find((p) => p.line === 721)!;
  t.is(pair.s1, "women have ' taken their posts with such seamless calm that the country barely noticed . '");
  t.is(pair.gold, 2);
});

test('STS-B splits on tabs only: quotes are literal, even unbalanced ones', (t) => {
  const test_ = load('STSBenchmark').subsets.find((s) => s.name === 'test')!;
  const p649 = test_.pairs[648];
  t.is(p649.s2, 'i always go by the rule " when in doubt , throw it out !');
  t.is(test_.pairs[649].s1, 'this is not a good idea .');
  t.is(test_.pairs[407].s1, 'a young boy jumping into a pool that says " no diving " .');
});

test('SICK: header skipped, CRLF removed, trial file is the dev split', (t) => {
  const raw = readFileSync(join(sentevalDir, 'SICK/SICK_test_annotated.txt'), 'latin1');
  t.true(raw.startsWith('pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\r\n'));
  const sick = load('SICK-R');
  t.deepEqual(sick.subsets.map((s) => s.name), ['train', 'dev', 'test']);
  t.is(sick.subsets[1].pairs.length, 500);
  for (const s of sick.subsets) t.false(s.pairs.some((p) => /[\r\n\t]/.test(p.s1 + p.s2)));
  t.is(sick.subsets[2].pairs[0].line, 2);
});

// A temporary copy of one task's files with one file changed: the loaders must refuse it.
function alteredCopy(task: string, rel: string, change: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bellm-data-'));
  for (const f of getTask(task).subsets.flatMap((s) => s.files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    const bytes = readFileSync(join(sentevalDir, f));
    writeFileSync(join(dir, f), f === rel ? change(bytes.toString('utf8')) : bytes);
  }
  return dir;
}

test('a pair count that differs from SentEval\'s fails loudly', (t) => {
  const dir = alteredCopy('STSBenchmark', 'STS/STSBenchmark/sts-test.csv', (s) => s.split('\n').slice(1).join('\n'));
  const err = t.throws(() => loadTask('STSBenchmark', dir), { instanceOf: UserError });
  t.regex(err!.message, /sts-test\.csv: loaded 1378 scored pairs, SentEval has 1379/);
});

test('an extra gold score changes the STS count and fails', (t) => {
  const rel = 'STS/STS16-en-test/STS.gs.headlines.txt';
  const dir = alteredCopy('STS16', rel, (s) => s.replace(/^\n/, '3\n'));
  t.throws(() => loadTask('STS16', dir), { instanceOf: UserError, message: /loaded 250 scored pairs, SentEval has 249/ });
});

test('invalid UTF-8 fails with the file name', (t) => {
  const rel = 'SICK/SICK_trial.txt';
  const dir = alteredCopy('SICK-R', rel, (s) => s);
  writeFileSync(join(dir, rel), Buffer.concat([readFileSync(join(sentevalDir, rel)), Buffer.from([0xff, 0x0a])]));
  t.throws(() => loadTask('SICK-R', dir), { instanceOf: UserError, message: /SICK_trial\.txt is not valid UTF-8/ });
});

test('a missing file is a one-line UserError naming the path and the fix', (t) => {
  const dir = join(tmpdir(), 'bellm-no-such-dir');
  const err = t.throws(() => loadTask('STS13', dir), { instanceOf: UserError });
  t.is(err!.message, `missing task file ${join(dir, 'STS/STS13-en-test/STS.input.FNWN.txt')}: run \`bellm-bench data fetch\` or pass --data-dir <folder holding STS/ and SICK/>`);
});

test('STS input and gold files must have the same number of lines, and two sentences a line', (t) => {
  const gs = 'STS/STS13-en-test/STS.gs.FNWN.txt';
  const short = alteredCopy('STS13', gs, (s) => s.split('\n').slice(1).join('\n'));
  t.throws(() => loadTask('STS13', short), { instanceOf: UserError, message: /STS\.input\.FNWN\.txt has 189 lines but .*STS\.gs\.FNWN\.txt has 188/ });
  const input = 'STS/STS13-en-test/STS.input.OnWN.txt';
  const tab = alteredCopy('STS13', input, (s) => s.replace('\t', '\tx\t'));
  t.throws(() => loadTask('STS13', tab), { instanceOf: UserError, message: /STS\.input\.OnWN\.txt:1: expected 2 tab-separated sentences, found 3 columns/ });
});
