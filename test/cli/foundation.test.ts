// The CLI end to end (node bin/bellm-bench.js): tasks, data verify/fetch, score, and their errors.
// Predictions come straight from the raw files (the gold column) or from the Python reference.
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadTask, scoredSubsets } from '../../src/tasks/load.ts';
import { sentevalDir } from '../helpers/shared.ts';
import { cli } from '../helpers/cli.ts';
import { SENTEVAL_REF } from '../tasks/senteval-expected.ts';

const run = (...args: string[]) => cli(args, { quiet: false });
const tmp = mkdtempSync(join(tmpdir(), 'bellm-cli-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => { writeFileSync(join(tmp, name), text); return join(tmp, name); };
const D = ['--data-dir', sentevalDir];
// STS-B test gold scores read from the raw file's fifth column (not through our loader).
const stsbGold = readFileSync(join(sentevalDir, 'STS/STSBenchmark/sts-test.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[4]);

test('--help lists the commands', async (t) => {
  const r = await run('--help');
  t.is(r.code, 0);
  for (const c of ['tasks', 'data', 'score']) t.regex(r.stdout, new RegExp(`bellm-bench ${c}`));
});

test('tasks: SentEval\'s counts from the files, or expected counts and what is missing', async (t) => {
  const r = await run('tasks', ...D);
  t.is(r.code, 0);
  for (const [task, n] of [['STS12', 3108], ['STS13', 1500], ['STS14', 3750], ['STS15', 3000], ['STS16', 1186], ['STSBenchmark', 1379], ['SICKRelatedness', 4927]]) {
    t.regex(r.stdout, new RegExp(`^${task} \\(.*\\): ${n} scored pairs.*\\[loaded\\]$`, 'm'));
  }
  t.regex(r.stdout, /^ {2}belief +375$/m);
  t.regex(r.stdout, /^ {2}train +5749 {2}\(not scored\)$/m);
  const missing = await run('tasks', '--data-dir', join(tmp, 'nothing-here'));
  t.is(missing.code, 0);
  t.regex(missing.stdout, /^STS13 \(STS13\): 1500 scored pairs.*\[MISSING 6 file\(s\)/m);
  t.regex(missing.stdout, /^ {2}FNWN +189$/m);
  t.regex(missing.stdout, /54 task file\(s\) missing under .*: run `bellm-bench data fetch`/);
});

test('data verify: the reference folder passes; an empty one fails with the fix', async (t) => {
  const ok = await run('data', 'verify', ...D);
  t.is(ok.code, 0);
  t.regex(ok.stdout, /all 54 task files .* match data\/checksums\.json/);
  const bad = await run('data', 'verify', '--data-dir', join(tmp, 'empty'));
  t.is(bad.code, 2);
  t.regex(bad.stderr, /^bellm-bench: data verify: 54 of 54 task files missing .* run `bellm-bench data fetch`/);
});

/** A local port with nothing listening: bind one, then free it. */
const closedPort = () => new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  });
});

test('data fetch offline: one line, exit 2, nothing written', async (t) => {
  const url = `http://127.0.0.1:${await closedPort()}/senteval.tar`;
  const r = await run('data', 'fetch', '--quiet', '--url', url, '--data-dir', join(tmp, 'offline'));
  t.is(r.code, 2);
  t.is(r.stderr.trimEnd().split('\n').length, 1);
  t.true(r.stderr.startsWith(`bellm-bench: data fetch: cannot download ${url} (ECONNREFUSED); offline?`), r.stderr);
  t.false(existsSync(join(tmp, 'offline')));
});

test('score: gold as predictions gives 100.00 on STS-B test', async (t) => {
  const r = await run('score', '--task', 'STS-B', '--predictions', write('gold.jsonl', `${stsbGold.join('\n')}\n`), ...D);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^STS-B: 100\.00 \(test Spearman x100/m);
  t.regex(r.stdout, /^test +1379 +100\.00 +100\.00$/m);
});

test('score: STS12 Jaccard predictions (CSV with header) give scipy\'s all/mean/wmean', async (t) => {
  const task = loadTask('STS12', sentevalDir);
  const jac = (a: string, b: string) => { const A = new Set(a.split(' ')); const B = new Set(b.split(' ')); return [...A].filter((w) => B.has(w)).length / new Set([...A, ...B]).size; };
  const preds = scoredSubsets(task).flatMap((s) => s.pairs.map((p) => jac(p.s1, p.s2)));
  const file = write('sts12.csv', `similarity\n${preds.map((x) => x.toPrecision(17)).join('\n')}\n`);
  const r = await run('score', '--task', 'sts12', '--predictions', file, '--json', ...D);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { main: number; all: { spearman: number }; mean: { spearman: number }; wmean: { spearman: number } };
  const ref = SENTEVAL_REF.STS12;
  t.true(Math.abs(out.main - ref.all.spearman) < 1e-9);
  t.true(Math.abs(out.mean.spearman - ref.mean.spearman) < 1e-9);
  t.true(Math.abs(out.wmean.spearman - ref.wmean.spearman) < 1e-9);
  const text = await run('score', '--task', 'STS12', '--predictions', file, ...D);
  t.regex(text.stdout, /^STS12: 43\.02 \(all Spearman x100/m); // '%.2f' % (0.43015175380205395 * 100)
});

test('score errors: count mismatch, NaN, unknown task, missing data', async (t) => {
  const short = await run('score', '--task', 'STSBenchmark', '--predictions', write('short.jsonl', stsbGold.slice(1).join('\n')), ...D);
  t.is(short.code, 2);
  t.regex(short.stderr, /short\.jsonl: expected 1379 scores for STSBenchmark \(one per scored pair, in order: test 1379; `bellm-bench pairs --task STSBenchmark` lists them\), got 1378/);

  const nan = [...stsbGold];
  nan[41] = 'NaN';
  const r = await run('score', '--task', 'STSBenchmark', '--predictions', write('nan.jsonl', nan.join('\n')), ...D);
  t.is(r.code, 2);
  t.regex(r.stderr, /nan\.jsonl:42: not a finite number: NaN/);

  const unknown = await run('score', '--task', 'STS17', '--predictions', write('x.jsonl', '1\n'), ...D);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown task "STS17" \(did you mean STS1\d\?\); valid tasks: STS12, .*SICKRelatedness/);

  const noData = await run('score', '--task', 'SICK-R', '--predictions', write('y.jsonl', '1\n'), '--data-dir', join(tmp, 'no-data'));
  t.is(noData.code, 2);
  t.regex(noData.stderr, /missing task file .*no-data\/SICK\/SICK_train\.txt: run `bellm-bench data fetch` or pass --data-dir/);
  for (const e of [short, r, unknown, noData]) t.is(e.stderr.trimEnd().split('\n').length, 1);
});
