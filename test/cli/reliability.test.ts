// Issue 13 through the real CLI on the tiny fixture: numbers never go stale (weights identity, resume
// identity, merge identity, --no-cache), and hostile or mistaken input ends in one line, exit code 2,
// before the long work starts.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyDir, readSafetensorsParts, tempDir, writeSafetensorsParts } from '../helpers/damaged.ts';
import { fixture, goldens, sentevalDir } from '../helpers/shared.ts';
import { cli } from '../helpers/cli.ts';

interface Run { code: number; stdout: string; stderr: string }

/** Runs the CLI with a private weight-hash memo; never throws. */
function bb(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return cli(args, { env: { BELLM_WEIGHT_HASH_MEMO: memoFile, ...env } });
}

const shared = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'bb-rel-'));
test.after.always(() => fs.rmSync(shared, { recursive: true, force: true }));
const memoFile = path.join(shared, 'weight-hashes.jsonl');

/** One line on stderr starting with `bellm-bench:`, exit code 2, no stack trace. */
function oneLine(t: ExecutionContext, r: Run, re: RegExp, what: string): void {
  t.is(r.code, 2, `${what}: exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `${what}: ${r.stderr}`);
  t.regex(lines[0], /^bellm-bench: /, what);
  t.regex(lines[0], re, what);
  t.notRegex(r.stderr, /\n\s+at /, what);
}

const readJsonl = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).embedding as number[]);

/** Flip the sign of every bf16 value of one tensor in place (same shape, same size, same inode). */
function retrainInPlace(file: string, tensor: string): void {
  const { header, data } = readSafetensorsParts(file);
  const [b, e] = (header[tensor] as { data_offsets: [number, number] }).data_offsets;
  const st = fs.statSync(file);
  const hdrLen = fs.readFileSync(file).readBigUInt64LE(0);
  const fd = fs.openSync(file, 'r+');
  const bytes = Buffer.from(data.subarray(b, e));
  for (let i = 1; i < bytes.length; i += 2) bytes[i] ^= 0x80;
  fs.writeSync(fd, bytes, 0, bytes.length, 8 + Number(hdrLen) + b);
  fs.closeSync(fd);
  fs.utimesSync(file, st.atime, st.mtime);
}

test('D1: a retrained same-shape checkpoint at the same path gets its own embeddings from a shared cache', async (t) => {
  const dir = tempDir(t);
  const model = copyDir(fixture('tiny-llama'), path.join(dir, 'model'));
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, `${goldens().sentences.slice(0, 6).join('\n')}\n`);
  const cache = path.join(dir, 'cache');
  const embed = async (out: string, extra: string[]) => {
    const r = await bb(['embed', '--model', model, '--input', input, '--output', path.join(dir, out), '--max-length', '64', ...extra]);
    t.is(r.code, 0, r.stderr);
    return readJsonl(path.join(dir, out));
  };
  const before = await embed('a.jsonl', ['--cache-dir', cache]);
  // retrained: new file, same name, same shapes (the normal research loop)
  const shard = path.join(model, 'model-00001-of-00002.safetensors');
  const { header, data } = readSafetensorsParts(shard);
  const [b, e] = (header['model.layers.0.mlp.down_proj.weight'] as { data_offsets: [number, number] }).data_offsets;
  const next = Buffer.from(data);
  for (let i = b + 1; i < e; i += 2) next[i] ^= 0x80;
  writeSafetensorsParts(`${shard}.new`, header, next);
  fs.renameSync(`${shard}.new`, shard);
  const cached = await embed('b.jsonl', ['--cache-dir', cache]);
  const fresh = await embed('c.jsonl', ['--no-cache']);
  t.deepEqual(cached, fresh);
  t.notDeepEqual(cached, before);
  // edited in place with the mtime set back: still detected (inode, size, mtime equal; ctime differs)
  retrainInPlace(shard, 'model.layers.1.self_attn.q_proj.weight');
  const cached2 = await embed('d.jsonl', ['--cache-dir', cache]);
  const fresh2 = await embed('e.jsonl', ['--no-cache']);
  t.deepEqual(cached2, fresh2);
  t.notDeepEqual(cached2, cached);
});

// ---- resume and merge identity (D2, D8), --no-cache (D3) ----

const M = fixture('tiny-llama');
const D = ['--data-dir', sentevalDir];
const SWEEP = ['degrade', '--mode', 'truncate', '--layers', '1..2', '--tasks', 'STS-B', ...D];

/** A copy of tiny-llama at <dir>/<name> with one tensor's sign flipped: same shapes, other weights. */
function retrainedCopy(dir: string, name = 'tiny-llama'): string {
  const model = copyDir(M, path.join(dir, name));
  retrainInPlace(path.join(model, 'model-00001-of-00002.safetensors'), 'model.layers.0.mlp.down_proj.weight');
  return model;
}

test('D2: degrade resumes only a results file of the same sweep; any other identity is refused naming the difference', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'sweep.json');
  const first = await bb([...SWEEP, '--model', M, '--out', out, '--no-cache']);
  t.is(first.code, 0, first.stderr);
  const results = JSON.parse(fs.readFileSync(out, 'utf8'));
  const rows = results.rows;
  // the results record every file's content hash and the identity they are resumed and merged by
  const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  t.deepEqual(results.provenance.model.files, Object.fromEntries(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json'].map((f) => [f, sha(path.join(M, f))])));
  t.deepEqual(Object.keys(results.provenance.tokenizer.files), ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
  t.deepEqual(Object.keys(results.identity.parts), ['weights', 'adapter', 'tokenizer', 'backend', 'settings', 'tasks', 'data']);
  const cases: [string, string[], RegExp][] = [
    ['other weights, same dir name', ['--model', retrainedCopy(dir)], /the model weights or config\.json differ/],
    ['an adapter', ['--model', M, '--lora', fixture('tiny-lora')], /the LoRA adapter differ/],
    ['pooling', ['--model', M, '--pooling', 'avg'], /the settings differ \(pooling: "last" vs "avg"\)/],
    ['max length', ['--model', M, '--max-length', '32'], /the settings differ \(maxLength: 64 vs 32\)/],
    ['preprocessing', ['--model', M, '--preprocess', 'none'], /the settings differ \(preprocess: "bellm-degrade" vs "none"\)/],
    ['prompt', ['--model', M, '--prompt', 'bellm'], /the settings differ \(prompt: /],
  ];
  for (const [what, args, re] of cases) {
    const r = await bb([...SWEEP, ...args, '--out', out, '--no-cache']);
    oneLine(t, r, new RegExp(`sweep\\.json holds another sweep, not resumed: ${re.source}`), what);
  }
  const tasks = await bb([...SWEEP.map((a) => (a === 'STS-B' ? 'SICK-R' : a)), '--model', M, '--out', out, '--no-cache']);
  oneLine(t, tasks, /the task list differ \(STSBenchmark vs SICKRelatedness\)/, 'tasks');
  // the refused runs left the file as it was; the same sweep still resumes
  t.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')).rows, rows);
  const again = await bb([...SWEEP, '--model', M, '--out', out, '--no-cache']);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')).rows.map((r: { table: unknown }) => r.table), rows.map((r: { table: unknown }) => r.table));
});

test('D2: the default --out of two models whose folders share a name cannot mix their rows', async (t) => {
  const dir = tempDir(t);
  const a = copyDir(M, path.join(dir, 'a', 'llama'));
  const b = retrainedCopy(path.join(dir, 'b'), 'llama');
  const run = (model: string) => cli([...SWEEP, '--model', model, '--no-cache'], { cwd: dir, env: { BELLM_WEIGHT_HASH_MEMO: memoFile } });
  t.is((await run(a)).code, 0);
  const files = () => fs.readdirSync(path.join(dir, 'reports')).sort();
  const before = files().map((f) => fs.readFileSync(path.join(dir, 'reports', f), 'utf8'));
  const second = await run(b);
  if (second.code === 0) {
    // a distinct default name (settings/model hash in the name): both files exist, each with its own rows
    t.is(files().length, 2);
  } else {
    oneLine(t, second, /holds another sweep, not resumed: the model weights or config\.json differ/, 'default out');
    t.deepEqual(files().map((f) => fs.readFileSync(path.join(dir, 'reports', f), 'utf8')), before);
  }
});

test('D8: merge refuses shards of another model, another task list or another setting', async (t) => {
  const dir = tempDir(t);
  const shard = (i: number, extra: string[], name: string) => bb(['degrade', '--mode', 'truncate', '--layers', '1..2', '--shard', `${i}/2`, ...D, '--no-cache', '--out', path.join(dir, name), ...extra]);
  const ok = async (p: Promise<Run>) => { const r = await p; t.is(r.code, 0, r.stderr); };
  await ok(shard(1, ['--model', M, '--tasks', 'STS-B'], 's1.json'));
  await ok(shard(2, ['--model', M, '--tasks', 'STS-B'], 's2.json'));
  await ok(shard(2, ['--model', retrainedCopy(dir), '--tasks', 'STS-B'], 'other-model.json'));
  await ok(shard(2, ['--model', M, '--tasks', 'SICK-R'], 'other-tasks.json'));
  await ok(shard(2, ['--model', M, '--tasks', 'STS-B', '--pooling', 'avg'], 'other-pooling.json'));
  const merged = await bb(['merge', path.join(dir, 's1.json'), path.join(dir, 's2.json'), '--out', path.join(dir, 'm.json')]);
  t.is(merged.code, 0, merged.stderr);
  for (const [name, re] of [['other-model.json', /the model weights or config\.json differ/], ['other-tasks.json', /the task list differ/], ['other-pooling.json', /the settings differ \(pooling/]] as const) {
    const r = await bb(['merge', path.join(dir, 's1.json'), path.join(dir, name), '--out', path.join(dir, 'bad.json')]);
    oneLine(t, r, new RegExp(`${name.replace('.', '\\.')}: not a shard of the same sweep as .*s1\\.json: ${re.source}`), name);
  }
});

test('D3: degrade --no-cache neither reads nor writes the cache', async (t) => {
  const dir = tempDir(t);
  const cache = path.join(dir, 'cache');
  const r = await bb([...SWEEP, '--model', M, '--out', path.join(dir, 'd.json'), '--cache-dir', cache, '--no-cache']);
  t.is(r.code, 0, r.stderr);
  t.false(fs.existsSync(cache) && fs.readdirSync(cache, { recursive: true }).length > 0);
  // and with a cache of poisoned vectors present, --no-cache results equal fresh ones
  const withCache = await bb([...SWEEP, '--model', M, '--out', path.join(dir, 'c.json'), '--cache-dir', cache]);
  t.is(withCache.code, 0, withCache.stderr);
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'c.json'), 'utf8')).rows.map((x: { table: unknown }) => x.table),
    JSON.parse(fs.readFileSync(path.join(dir, 'd.json'), 'utf8')).rows.map((x: { table: unknown }) => x.table));
});

test('D4/D5: concurrent sts and degrade on one cache, then a torn tail and flipped bytes: the same numbers as no cache', async (t) => {
  const dir = tempDir(t);
  const cache = path.join(dir, 'cache');
  const sts = (out: string, extra: string[]) => bb(['sts', '--model', M, '--preset', 'bellm-degrade', '--billm-start-index', '2', '--tasks', 'STS-B', ...D,
    '--no-sentence-stats', '--out', path.join(dir, out), ...extra]);
  const sweep = (out: string) => bb(['degrade', '--model', M, '--layers', '2', '--tasks', 'STS-B', ...D, '--cache-dir', cache, '--out', path.join(dir, out)]);
  const [a, b] = await Promise.all([sts('s1.json', ['--cache-dir', cache]), sweep('d1.json')]);
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  const ref = await sts('ref.json', ['--no-cache']);
  t.is(ref.code, 0, ref.stderr);
  const table = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).table;
  const row = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).rows[0].table;
  t.deepEqual(table('s1.json'), table('ref.json'));
  t.deepEqual(row('d1.json'), table('ref.json'));
  // damage every data file of the cache: a torn tail on one, a flipped byte in the middle of another
  const files = (fs.readdirSync(cache, { recursive: true }) as string[]).map((f) => path.join(cache, f)).filter((f) => fs.statSync(f).isFile() && !f.endsWith('.json'));
  t.true(files.length >= 2, files.join(', '));
  files.forEach((f, i) => {
    if (i % 2 === 0) fs.truncateSync(f, fs.statSync(f).size - 37);
    else { const buf = fs.readFileSync(f); buf[buf.length >> 1] ^= 0xff; fs.writeFileSync(f, buf); }
  });
  const c = await sts('s2.json', ['--cache-dir', cache]);
  t.is(c.code, 0, c.stderr);
  t.regex(c.stderr, /embedding cache .*damaged record.*recomputed/);
  t.deepEqual(table('s2.json'), table('ref.json'));
  const d = await sweep('d2.json');
  t.is(d.code, 0, d.stderr);
  t.deepEqual(row('d2.json'), table('ref.json'));
});
