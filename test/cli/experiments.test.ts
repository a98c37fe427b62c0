// The model-running commands end to end through the real CLI, on the tiny fixture.
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMPTS } from '../../src/model/presets/presets.ts';
import { fixture, goldens, sentevalDir } from '../helpers/shared.ts';
import { cliFails, cliOk } from '../helpers/cli.ts';
import { firstFailure } from '../helpers/tolerance.ts';

const bb = (args: string[]) => cliOk(args);
const fails = (args: string[]) => cliFails(args);

test('embed: JSONL vectors equal the goldens (last pooling, all causal, max length 64)', async (t) => {
  const g = goldens();
  const dir = mkdtempSync(join(tmpdir(), 'bb-cli-'));
  writeFileSync(join(dir, 'in.txt'), `${g.sentences.join('\n')}\n`);
  await bb(['embed', '--model', fixture('tiny-llama'), '--input', join(dir, 'in.txt'), '--output', join(dir, 'out.jsonl'), '--max-length', '64', '--no-cache']);
  const rows = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; embedding: number[] });
  t.deepEqual(rows.map((r) => r.text), g.sentences);
  const want = g.cases.find((c) => c.lora === 'none' && c.billmStartIndex === null && c.nLayers === null)!.pooling.last;
  t.is(firstFailure('embed', rows.map((r) => r.embedding), want), null);
});

test('sts on STS-B records the resolved settings, per-pair predictions and both sentence statistics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cli-'));
  const out = join(dir, 'r.json');
  const { stdout } = await bb(['sts', '--model', fixture('tiny-llama'), '--lora', fixture('tiny-lora'), '--data-dir', sentevalDir,
    '--tasks', 'STS-B', '--billm-start-index', '2', '--pooling', 'avg', '--no-cache', '--out', out]);
  t.regex(stdout, /STS-B/);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  t.deepEqual(r.settings, {
    preset: 'bellm-sts', preprocess: 'bellm-sts', prompt: PROMPTS.bellm, pooling: 'avg', maxLength: 512, mask: 'correct', billmStartIndex: 2, nLayers: null,
    dtype: 'bf16', computeDtype: 'fp32',   // batchSize: recorded only under mask compat; --dtype auto on the CPU: the bf16 checkpoint held as bf16 (lossless)
  });
  t.like(r.bidirectionalCheck, { passed: true, bidirectionalFrom: 2, layers: 4 });
  t.is(r.provenance.hub, null);
  t.is(r.tasks.length, 1);
  t.is(r.tasks[0].pairs.length, 1379);
  t.is(r.provenance.adapter.scale, 2);
  t.is(Object.keys(r.provenance.data.checksums).length, 3);
  t.deepEqual(r.sentenceStats.map((s: { statistic: string }) => s.statistic), ['pivot-spearman', 'group-spearman']);
  t.is(r.sentenceStats[1].values.length, 13); // 1379 pairs in groups of 100, 79 dropped
  t.is(r.table['STS-B'], Number((r.tasks[0].main * 100).toFixed(2)));
});

test('degrade (truncate) records its settings and prints the turning point', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cli-'));
  const out = join(dir, 'd.json');
  const { stdout } = await bb(['degrade', '--model', fixture('tiny-llama'), '--data-dir', sentevalDir, '--tasks', 'STS-B',
    '--mode', 'truncate', '--layers', '1..4', '--cache-dir', join(dir, 'cache'), '--out', out]);
  t.regex(stdout, /layers\s+STS12/);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  t.like(r.settings, { preset: 'bellm-degrade', prompt: PROMPTS.summarize, maxLength: 64, pooling: 'last' });
  t.deepEqual(r.rows.map((x: { k: number }) => x.k), [1, 2, 3, 4]);
  t.true(r.work.layerPasses < r.work.naiveLayerPasses);
});

test('presets lists every preset with its source', async (t) => {
  const { stdout } = await bb(['presets']);
  for (const p of ['bellm-sts', 'bellm-degrade', 'prompteol', 'none', 'bellm-paper']) t.regex(stdout, new RegExp(`^${p}$`, 'm'));
  // bellm-paper: every setting with its source
  const paper = stdout.slice(stdout.indexOf('bellm-paper\n'));
  for (const k of ['preprocess', 'prompt', 'pooling', 'maxLength', 'mask', 'dtype', 'billmStartIndex', 'batchSize']) t.regex(paper, new RegExp(`^  ${k}: .*\n {19}source: \\S`, 'm'), k);
  t.regex(paper, /dtype: +fp16/);
  t.regex(paper, /billmStartIndex: +31 \(for 32 layers\)/);
  t.regex(paper, /billm 0\.1\.3/);
  t.regex(stdout, /eval_sts\.py/);
  t.regex(stdout, /eval_degradation\.py/);
});

test('bad input: one line, exit 2, naming the problem', async (t) => {
  const m = fixture('tiny-llama');
  const cases: [string[], RegExp][] = [
    [['sts', '--model', m, '--tasks', 'STS99', '--data-dir', sentevalDir], /unknown task "STS99"/],
    [['sts', '--model', m, '--data-dir', '/nonexistent-data'], /missing task file .*STS\.input\.MSRpar\.txt: run `bellm-bench data fetch`/],
    [['degrade', '--model', m, '--layers', '3..1', '--data-dir', sentevalDir], /reversed/],
    [['degrade', '--model', m, '--layers', '0..40', '--data-dir', sentevalDir], /40 is outside 0\.\.4/],
    [['sts', '--model', m, '--billm-start-index', '9', '--data-dir', sentevalDir, '--tasks', 'STS-B'], /outside 0\.\.4/],
    [['sts', '--model', m, '--preset', 'nope', '--data-dir', sentevalDir], /unknown preset "nope"/],
    [['sts', '--model', '/nonexistent-model', '--data-dir', sentevalDir, '--tasks', 'STS-B'], /nonexistent-model/],
    [['sts', '--model', m, '--preset', 'bellm-paper', '--data-dir', sentevalDir, '--tasks', 'STS-B'], /preset bellm-paper fixes billmStartIndex 31 for a 32-layer model .* this model has 4 layers: pass --billm-start-index 3 /],
    [['sts', '--model', m, '--dtype', 'fp64', '--data-dir', sentevalDir], /dtype/],
    [['sts', '--model', m, '--revision', 'main', '--data-dir', sentevalDir, '--tasks', 'STS-B'], /--revision applies to Hugging Face ids only/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, re);
    t.is(r.stderr.split('\n').filter((l) => l.startsWith('bellm-bench:')).length, 1, r.stderr);
  }
});
