// Paper-ready outputs end to end through the CLI on the tiny fixture: default results names, --overwrite,
// --split dev, cached-rerun throughput, --batch-size, embed .npy, pairs -> score -> report, the OpenBLAS hint.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, sentevalDir } from '../helpers/shared.ts';
import { cli } from '../helpers/cli.ts';
import { SENTEVAL_REF } from '../tasks/senteval-expected.ts';

interface Out { code: number; stdout: string; stderr: string }
/** The CLI in `cwd` (default names land in <cwd>/reports); never throws, returns the exit code. */
function bb(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Out> {
  return cli(args, { cwd, env, quiet: false });
}
const tmp = () => mkdtempSync(join(tmpdir(), 'bb-out-'));
const D = ['--data-dir', sentevalDir];
const M = ['--model', fixture('tiny-llama'), '--device', 'cpu'];
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const reports = (dir: string) => readdirSync(join(dir, 'reports')).sort();
const jaccard = (a: string, b: string) => { const A = new Set(a.split(' ')); const B = new Set(b.split(' ')); return [...A].filter((w) => B.has(w)).length / new Set([...A, ...B]).size; };

test('sts default names differ whenever settings differ; a rerun of the same settings replaces its own file, saying so', async (t) => {
  const dir = tmp();
  const cache = ['--cache-dir', join(dir, 'cache')];
  const common = [...M, ...D, '--tasks', 'STS-B', '--no-sentence-stats', ...cache];
  const first = await bb(['sts', ...common], dir);
  t.is(first.code, 0, first.stderr);
  const [plain] = reports(dir);
  t.regex(plain, /^sts-tiny-llama-[0-9a-f]{8}\.json$/);
  const avg = await bb(['sts', ...common, '--pooling', 'avg', '--batch-size', '8'], dir);
  t.is(avg.code, 0, avg.stderr);
  t.regex(avg.stderr, /--batch-size acts only with --billm-mask-compat .* --batch-size is ignored/);
  const compat = await bb(['sts', ...common, '--billm-mask-compat', '--batch-size', '8'], dir);
  t.is(compat.code, 0, compat.stderr);
  t.notRegex(compat.stderr, /--batch-size acts only/);
  const names = reports(dir);
  t.is(names.length, 3, names.join(' '));
  t.true(names.every((n) => /^sts-tiny-llama-[0-9a-f]{8}\.json$/.test(n)));
  const settings = names.map((n) => json(join(dir, 'reports', n)).settings);
  t.deepEqual(settings.map((s) => `${s.pooling}/${s.mask}`).sort(), ['avg/correct', 'last/billm', 'last/correct']);
  // the same settings again: the same name, replaced with a message; throughput from embedded sentences only
  const again = await bb(['sts', ...common], dir);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stderr, new RegExp(`replacing reports/${plain.replace(/[.+]/g, '\\$&')}: an earlier run with the same model, adapter, tasks, split and settings`));
  t.is(reports(dir).length, 3);
  const r1 = json(join(dir, 'reports', plain)).timings;
  t.is(r1.cached, r1.sentences, 'the rerun read every sentence from the cache');
  t.is(r1.sentencesPerSecond, null, 'no throughput from cached sentences');
  t.regex(again.stderr, /sentences in [\d.]+ s \(all from the cache\)/);
  const avgTimings = json(join(dir, 'reports', names.find((n) => json(join(dir, 'reports', n)).settings.pooling === 'avg')!)).timings;
  t.is(avgTimings.cached, 0);
  t.true(avgTimings.sentencesPerSecond > 0 && avgTimings.sentencesPerSecond === avgTimings.sentences / avgTimings.embedSeconds);
});

test('an explicit --out that exists is refused before the model loads, unless --overwrite', async (t) => {
  const dir = tmp();
  const out = join(dir, 'mine.json');
  writeFileSync(out, '{"precious": true}');
  const common = [...M, ...D, '--tasks', 'STS-B', '--no-sentence-stats', '--cache-dir', join(dir, 'cache'), '--out', out];
  const refused = await bb(['sts', ...common], dir);
  t.is(refused.code, 2);
  t.deepEqual(refused.stderr.trim().split('\n'), [`bellm-bench: --out ${out} exists: pass --overwrite to replace it, or another --out (without --out the name is chosen from the settings)`]);
  t.deepEqual(json(out), { precious: true });
  const ok = await bb(['sts', ...common, '--overwrite'], dir);
  t.is(ok.code, 0, ok.stderr);
  t.is(json(out).kind, 'sts');
});

test('degrade: shards share a default name and merge; --overwrite starts over where a restart resumes', async (t) => {
  const dir = tmp();
  const common = ['degrade', ...M, ...D, '--tasks', 'STS-B', '--mode', 'truncate', '--layers', '1..4', '--cache-dir', join(dir, 'cache')];
  for (const s of ['1/2', '2/2']) {
    const r = await bb([...common, '--shard', s], dir);
    t.is(r.code, 0, r.stderr);
  }
  const shards = reports(dir);
  t.is(shards.length, 2);
  const m = /^(degrade-tiny-llama\+truncate-[0-9a-f]{8})\.shard1of2\.json$/.exec(shards[0]);
  t.truthy(m, shards[0]);
  t.is(shards[1], `${m![1]}.shard2of2.json`);
  const merged = join(dir, 'merged.json');
  const mg = await bb(['merge', ...shards.map((s) => join(dir, 'reports', s)), '--out', merged], dir);
  t.is(mg.code, 0, mg.stderr);
  t.deepEqual(json(merged).rows.map((r: { k: number }) => r.k), [1, 2, 3, 4]);
  const again = await bb(['merge', ...shards.map((s) => join(dir, 'reports', s)), '--out', merged], dir);
  t.is(again.code, 2);
  t.regex(again.stderr, /--out .*merged\.json exists: pass --overwrite/);

  // the merged sweep under the whole sweep's default name: a restart resumes it and keeps finished rows
  // (even a tampered one); --overwrite recomputes them
  const file = join(dir, 'reports', `${m![1]}.json`);
  t.is((await bb(['merge', ...shards.map((s) => join(dir, 'reports', s)), '--out', file], dir)).code, 0);
  const d = json(file);
  const truth = d.rows[0].tasks[0].main;
  d.rows[0].tasks[0].main = 0.999;
  writeFileSync(file, JSON.stringify(d));
  const resumed = await bb(common, dir);
  t.is(resumed.code, 0, resumed.stderr);
  t.is(json(file).rows[0].tasks[0].main, 0.999, 'resumed: the finished row is kept');
  t.regex(resumed.stdout, /^turning point \(largest-drop\): /m);
  const fresh = await bb([...common, '--overwrite', '--turning-point', 'change-point'], dir);
  t.is(fresh.code, 0, fresh.stderr);
  t.regex(fresh.stderr, /--overwrite: starting reports\/.* over/);
  t.is(json(file).rows[0].tasks[0].main, truth);
  t.regex(fresh.stdout, /^turning point \(change-point\): two-line change point at k = \d/m);
});

const devRun = (async () => {
  const dir = tmp();
  const r = await bb(['sts', ...M, ...D, '--split', 'dev', '--no-sentence-stats', '--no-cache', '--out', join(dir, 'dev.json')], dir);
  return { dir, r, file: join(dir, 'dev.json') };
})();

test('--split dev scores STS-B dev (1,500 pairs) and SICK-R trial (500 pairs); STS12-16 are refused in one line', async (t) => {
  const { r, file } = await devRun;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /--split dev: STS12-16 have no dev split; scoring STSBenchmark, SICKRelatedness/);
  const res = json(file);
  t.is(res.split, 'dev');
  t.deepEqual(res.tasks.map((x: { task: string; pairs: unknown[]; subsets: { name: string }[] }) => [x.task, x.pairs.length, x.subsets.map((s) => s.name)]),
    [['STSBenchmark', 1500, ['dev']], ['SICKRelatedness', 500, ['dev']]]);
  t.deepEqual(Object.keys(res.table), ['STS-B', 'SICK-R', 'Avg']);
  const dir = tmp();
  const bad = await bb(['sts', ...M, ...D, '--split', 'dev', '--tasks', 'STS12', 'STS-B'], dir);
  t.is(bad.code, 2);
  t.deepEqual(bad.stderr.trim().split('\n'), ["bellm-bench: STS12 has no dev split: SentEval's STS12-16 are test sets only; --split dev works for STS-B (dev, 1,500 pairs) and SICK-R (trial, 500 pairs)"]);
  const badPairs = await bb(['pairs', '--task', 'STS15', '--split', 'dev', ...D], dir);
  t.is(badPairs.code, 2);
  t.regex(badPairs.stderr, /^bellm-bench: STS15 has no dev split/);
});

test('pairs: TSV and JSONL in the order score expects; Jaccard on the exported pairs scores as scipy does', async (t) => {
  const dir = tmp();
  const tsv = await bb(['pairs', '--task', 'STS12', ...D], dir);
  t.is(tsv.code, 0, tsv.stderr);
  const lines = tsv.stdout.trimEnd().split('\n');
  t.is(lines[0], 'index\tsubset\tgold\tsentence1\tsentence2');
  t.is(lines.length, 1 + 3108);
  const rows = lines.slice(1).map((l) => l.split('\t'));
  t.true(rows.every((r, i) => r.length === 5 && Number(r[0]) === i));
  t.deepEqual([...new Set(rows.map((r) => r[1]))], ['MSRpar', 'MSRvid', 'SMTeuroparl', 'surprise.OnWN', 'surprise.SMTnews']);
  const ref = SENTEVAL_REF.STS12.firstLast.MSRpar.first;
  t.deepEqual([rows[0][3], rows[0][4], Number(rows[0][2])], ref);
  writeFileSync(join(dir, 'sts12.txt'), rows.map((r) => String(jaccard(r[3], r[4]))).join('\n') + '\n');
  const scored = await bb(['score', '--task', 'STS12', '--predictions', join(dir, 'sts12.txt'), '--json', ...D], dir);
  t.is(scored.code, 0, scored.stderr);
  t.true(Math.abs(JSON.parse(scored.stdout).main - SENTEVAL_REF.STS12.all.spearman) < 1e-9);

  const jl = await bb(['pairs', '--task', 'SICK-R', '--split', 'dev', '--out', join(dir, 'sick.jsonl'), ...D], dir);
  t.is(jl.code, 0, jl.stderr);
  t.regex(jl.stderr, /500 pairs of SICKRelatedness \(dev\) -> .*sick\.jsonl/);
  const objs = readFileSync(join(dir, 'sick.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.is(objs.length, 500);
  t.deepEqual(Object.keys(objs[0]), ['index', 'subset', 'gold', 'sentence1', 'sentence2']);
  t.deepEqual([objs[0].sentence1, objs[0].gold], ['The young boys are playing outdoors and the man is smiling nearby', 3.6]);
  t.is((await bb(['pairs', '--task', 'STS12', '--out', join(dir, 'x.csv'), ...D], dir)).code, 2);
});

test('score --out keeps outside predictions as a configuration; report compares it with an sts run (bootstrap)', async (t) => {
  const dir = tmp();
  const preds: string[] = [];
  for (const task of ['STS-B', 'SICK-R']) {
    const p = await bb(['pairs', '--task', task, '--split', 'dev', '--format', 'jsonl', ...D], dir);
    const file = join(dir, `${task}.jsonl`);
    writeFileSync(file, p.stdout.trimEnd().split('\n').map((l) => { const o = JSON.parse(l); return JSON.stringify({ score: jaccard(o.sentence1, o.sentence2) }); }).join('\n') + '\n');
    preds.push('--task', task, '--predictions', file);
  }
  const out = join(dir, 'jaccard.json');
  const s = await bb(['score', ...preds, '--split', 'dev', '--out', out, '--label', 'Jaccard', ...D], dir);
  t.is(s.code, 0, s.stderr);
  const res = json(out);
  t.is(res.kind, 'score');
  t.is(res.split, 'dev');
  // scipy on the raw files (SentEval's reading rules): Jaccard Spearman on STS-B dev and SICK trial
  t.true(Math.abs(res.tasks[0].main - 0.6298886072981267) < 1e-9);
  t.true(Math.abs(res.tasks[1].main - 0.5515004127116683) < 1e-9);
  t.is(res.tasks[0].pairs.length, 1500);
  t.is(res.sources.length, 2);
  const { file } = await devRun;
  const rep = await bb(['report', file, out, '--out', join(dir, 'rep'), '--bootstrap', '200', '--formats', 'json', '--quiet'], dir);
  t.is(rep.code, 0, rep.stderr);
  const report = json(join(dir, 'rep', 'report.json'));
  t.deepEqual(report.tables.map((x: { id: string }) => x.id).slice(0, 2), ['sts-dev', `bootstrap-tiny-llama-vs-jaccard`]);
  const boot = report.bootstrap[0].rows.find((r: { task: string }) => r.task === 'STS-B');
  t.true(Math.abs(boot.b - res.tasks[0].main) < 1e-9);
  t.true(Math.abs(boot.a - json(file).tasks[0].main) < 1e-9);
  t.true(boot.ciLow <= boot.delta && boot.delta <= boot.ciHigh);
  const wrong = await bb(['score', '--task', 'STS-B', '--predictions', preds[3], '--split', 'test', ...D], dir);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /expected 1379 scores for STSBenchmark \(one per scored pair, in order: test 1379; `bellm-bench pairs --task STSBenchmark` lists them\), got 1500/);
});

test('embed --output x.npy writes float32 .npy (one row per sentence, numpy\'s header); other extensions are refused', async (t) => {
  const dir = tmp();
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'A man is playing a guitar.\nA woman slices an onion.\nA man is playing a guitar.\n');
  const npy = await bb(['embed', ...M, '--input', input, '--output', join(dir, 'e.npy'), '--no-cache', '--quiet'], dir);
  t.is(npy.code, 0, npy.stderr);
  const jl = await bb(['embed', ...M, '--input', input, '--output', join(dir, 'e.jsonl'), '--no-cache', '--quiet'], dir);
  t.is(jl.code, 0, jl.stderr);
  const buf = readFileSync(join(dir, 'e.npy'));
  // numpy.save(np.zeros((3, 64), '<f4')) writes exactly this 128-byte header (numpy 2.4)
  const header = `\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 64), }${' '.repeat(57)}\n`;
  t.is(buf.subarray(0, 128).toString('latin1'), header);
  t.is(buf.length, 128 + 3 * 64 * 4);
  const rows = readFileSync(join(dir, 'e.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).embedding as number[]);
  const got = Array.from({ length: 3 }, (_, i) => Array.from({ length: 64 }, (_, j) => buf.readFloatLE(128 + (i * 64 + j) * 4)));
  t.deepEqual(got, rows.map((r) => r.map((v) => Math.fround(v))));
  const bad = await bb(['embed', '--model', '/nonexistent', '--input', input, '--output', join(dir, 'e.txt')], dir);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim(), `bellm-bench: --output ${join(dir, 'e.txt')}: name a .jsonl file ({"text", "embedding"} per line) or a .npy file (float32, one row per sentence)`);
  t.false(existsSync(join(dir, 'e.txt')));
});

test('without OpenBLAS the run says in one line what to install and how much faster it gets', async (t) => {
  const dir = tmp();
  const input = join(dir, 'in.txt');
  writeFileSync(input, 'hello world\n');
  const r = await bb(['embed', ...M, '--input', input, '--output', join(dir, 'e.jsonl'), '--no-cache'], dir, { BELLM_OPENBLAS_LIB: '/nonexistent/libopenblas.so.0' });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^device: cpu: cpu \(js\)/m);
  t.regex(r.stderr, /^OpenBLAS not found, so matrix products run in TypeScript: install it \(Debian\/Ubuntu: sudo apt-get install libopenblas0-pthread\) and embedding gets 5-7x faster$/m);
  const forced = await bb(['embed', ...M, '--input', input, '--output', join(dir, 'f.jsonl'), '--no-cache'], dir, { BELLM_CPU_BLAS: 'js' });
  t.notRegex(forced.stderr, /OpenBLAS not found/, 'not when the JS path was chosen on purpose');
});
