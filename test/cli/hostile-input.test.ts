// Mistaken and hostile command lines and files (issue 13, D6 D7 D10-D14 D17, invalid UTF-8): each ends
// in one line on stderr naming the problem, exit code 2, no stack trace, and where the mistake is in the
// command line, before the model is loaded (a model folder holding only config.json proves it: loading
// it would fail with another message).
import test, { type ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { copyDir, readSafetensorsParts, tempDir, writeSafetensorsParts } from '../helpers/damaged.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';
import { cli } from '../helpers/cli.ts';

interface Run { code: number; stdout: string; stderr: string }
const shared = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'bb-hostile-'));
test.after.always(() => fs.rmSync(shared, { recursive: true, force: true }));

/** `timeout` only turns a hang into a failure (SIGKILL); no assertion depends on how long a run takes. */
function bb(args: string[], timeout = 120_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return cli(args, { cwd: shared, timeout, env: { BELLM_WEIGHT_HASH_MEMO: path.join(shared, 'memo.jsonl'), ...env } });
}

function oneLine(t: ExecutionContext, r: Run, re: RegExp, what: string): void {
  t.is(r.code, 2, `${what}: exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `${what}: ${r.stderr}`);
  t.regex(lines[0], /^bellm-bench: /, what);
  t.regex(lines[0], re, `${what}: ${lines[0]}`);
}

const M = fixture('tiny-llama');
const D = ['--data-dir', sentevalDir];
/** A model folder with only tiny-llama's config.json: anything that loads weights fails differently. */
const configOnly = copyDir(M, path.join(shared, 'config-only'), ['config.json']);

test('D6: huge or absurd --layers are refused at once, before the model loads, in a small heap', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--layers', '100000000000000000000'], /--layers "100000000000000000000": 100000000000000000000 is outside 0\.\.4/],
    [['--layers', '0..30000000'], /--layers "0\.\.30000000": 30000000 is outside 0\.\.4/],
    [['--layers', '0..4,99999999999999999999999'], /is outside 0\.\.4/],
    [['--mode', 'truncate', '--layers', '0..2'], /0 is outside 1\.\.4/],
    [['--layers', '1e3'], /"1e3" is not a non-negative integer/],
  ];
  // The work is bounded, not timed: 30 million layer indices would need 240 MB as numbers, and the
  // heap is capped at 96 MiB, so a range expanded before it is checked dies of V8's out-of-memory.
  for (const [args, re] of cases) {
    oneLine(t, await bb(['degrade', '--model', configOnly, '--tasks', 'STS-B', ...D, ...args], undefined, { NODE_OPTIONS: '--max-old-space-size=96' }), re, args.join(' '));
  }
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', ...D, '--n-layers', '1e30']), /--n-layers 1e\+30 is outside 1\.\.4/, 'n-layers');
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', ...D, '--billm-start-index', '99999999999999999999']), /--billm-start-index .* is outside 0\.\.4/, 'k');
});

test("D7: an empty or bare --billm-start-index (an unset shell variable) is refused, not run as k = 0", async (t) => {
  for (const args of [['--billm-start-index', ''], ['--billm-start-index=', '--tasks', 'STS-B'], ['--billm-start-index', '--tasks', 'STS-B'], ['--tasks', 'STS-B', '--billm-start-index']]) {
    oneLine(t, await bb(['sts', '--model', configOnly, ...D, ...args]), /--billm-start-index needs a value/, args.join(' '));
  }
  oneLine(t, await bb(['embed', '--model', configOnly, '--input', configOnly, '--output', 'x', '--n-layers', '']), /--n-layers needs a value/, 'n-layers ""');
  oneLine(t, await bb(['sts', '--model', configOnly, ...D, '--max-length', 'abc']), /--max-length/, 'max-length abc');
  oneLine(t, await bb(['sts', '--model', configOnly, ...D, '--lora', '']), /--lora needs a value/, 'lora ""');
});

test('D17: --tasks with nothing in it is refused', async (t) => {
  const cases: [string, string[]][] = [['sts', ['--tasks', '']], ['sts', ['--tasks', ',']], ['degrade', ['--tasks', ' , ']], ['degrade', ['--tasks']]];
  for (const [cmd, args] of cases) {
    oneLine(t, await bb([cmd, '--model', configOnly, ...D, ...args]), /--tasks (names no task|needs a value)/, `${cmd} ${args.join(' ')}`);
  }
});

test('D14: a repeated option is refused for every command, naming it', async (t) => {
  oneLine(t, await bb(['sts', '--model', M, '--model', configOnly, ...D]), /--model was given 2 times/, '--model twice');
  oneLine(t, await bb(['degrade', '--model', M, ...D, '--out', 'x.json', '--out', 'y.json']), /--out was given 2 times/, '--out twice');
  oneLine(t, await bb(['score', '--task', 'STS-B', '--predictions', 'p.jsonl', '--label', 'a', '--label', 'b', ...D]), /--label was given 2 times/, '--label twice');
  oneLine(t, await bb(['merge', 'a.json', '--out', 'x', '--out', 'y']), /--out was given 2 times/, 'merge --out twice');
  oneLine(t, await bb(['tasks', ...D, ...D]), /--data-dir was given 2 times/, '--data-dir twice');
  // options that take lists still take several values
  const ok = await bb(['score', '--task', 'STS-B', '--predictions', path.join(shared, 'nope.jsonl'), ...D]);
  oneLine(t, ok, /cannot read predictions file/, 'single options are fine');
});

test('D13: directories where files belong, files where folders belong: one line, before the run', async (t) => {
  const dir = tempDir(t);
  // a task file that is a directory
  const data = path.join(dir, 'data');
  fs.mkdirSync(path.join(data, 'STS', 'STSBenchmark'), { recursive: true });
  for (const f of ['sts-train.csv', 'sts-dev.csv']) fs.copyFileSync(path.join(sentevalDir, 'STS', 'STSBenchmark', f), path.join(data, 'STS', 'STSBenchmark', f));
  fs.mkdirSync(path.join(data, 'STS', 'STSBenchmark', 'sts-test.csv'));
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', '--data-dir', data]), /sts-test\.csv is a directory, not a task file/, 'task file is a dir');
  oneLine(t, await bb(['score', '--task', 'STS-B', '--predictions', fixture('tiny-llama/config.json'), '--data-dir', data]), /sts-test\.csv is a directory|not a finite number/, 'score task dir');
  // --data-dir is a file
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'x');
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', '--data-dir', file]), /--data-dir .*a-file is not a folder/, 'data-dir is a file');
  // --cache-dir is a file (checked before the model loads)
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', ...D, '--cache-dir', file]), /--cache-dir .*a-file is not a folder/, 'cache-dir is a file');
  oneLine(t, await bb(['degrade', '--model', configOnly, '--tasks', 'STS-B', ...D, '--cache-dir', path.join(file, 'sub')]), /--cache-dir .*a-file\/sub cannot be created/, 'cache-dir under a file');
  // --out is a directory, or under a file
  oneLine(t, await bb(['sts', '--model', configOnly, '--tasks', 'STS-B', ...D, '--out', dir]), /--out .* is a directory; name a results file/, 'out is a dir');
  oneLine(t, await bb(['degrade', '--model', configOnly, '--tasks', 'STS-B', ...D, '--out', path.join(file, 'r.json')]), /--out .*a-file\/r\.json: its folder cannot be created/, 'out under a file');
  oneLine(t, await bb(['merge', fixture('tiny-llama/config.json'), '--out', dir]), /--out .* is a directory/, 'merge out is a dir');
  // embed --output into a folder that does not exist is created; under a file it is refused before embedding
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, 'a sentence\n');
  oneLine(t, await bb(['embed', '--model', configOnly, '--input', input, '--output', path.join(file, 'out.jsonl')]), /--output .*a-file\/out\.jsonl: its folder cannot be created/, 'embed output under a file');
  oneLine(t, await bb(['embed', '--model', configOnly, '--input', dir, '--output', path.join(dir, 'o.jsonl')]), /--input .* is a directory/, 'embed input is a dir');
  const made = await bb(['embed', '--model', M, '--input', input, '--output', path.join(dir, 'new', 'deeper', 'out.jsonl'), '--no-cache']);
  t.is(made.code, 0, made.stderr);
  t.is(fs.readFileSync(path.join(dir, 'new', 'deeper', 'out.jsonl'), 'utf8').trim().split('\n').length, 1);
  t.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('D10: score refuses 1e999 (Infinity) in CSV as it does in JSONL', async (t) => {
  const gold = fs.readFileSync(path.join(sentevalDir, 'STS/STSBenchmark/sts-test.csv'), 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[4]);
  for (const [bad, ext] of [['1e999', 'csv'], ['-1e999', 'csv'], ['1e999', 'jsonl']]) {
    const vals = [...gold];
    vals[7] = bad;
    const f = path.join(shared, `inf-${bad}.${ext}`);
    fs.writeFileSync(f, `${vals.join('\n')}\n`);
    oneLine(t, await bb(['score', '--task', 'STS-B', '--predictions', f, ...D]), new RegExp(`inf-${bad}\\.${ext}:8: not a finite number: ${bad}`), `${bad} ${ext}`);
  }
});

test('D11: token ids the embedding table does not have are refused when the model loads, not mid-forward', async (t) => {
  const dir = tempDir(t);
  // a model whose embedding table has 1000 rows, with LLaMA-2's 32000-token tokenizer
  const small = copyDir(fixture('tiny-llama-fp16'), path.join(dir, 'small-vocab'));
  const st = path.join(small, 'model.safetensors');
  const { header, data } = readSafetensorsParts(st);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const parts: Buffer[] = [];
  let off = 0;
  const h2: typeof header = { __metadata__: header.__metadata__ };
  for (const n of names.sort((a, b) => (header[a] as { data_offsets: number[] }).data_offsets[0] - (header[b] as { data_offsets: number[] }).data_offsets[0])) {
    const e = header[n] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    let bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
    let shape = e.shape;
    if (n === 'model.embed_tokens.weight' || n === 'lm_head.weight') { shape = [1000, 64]; bytes = bytes.subarray(0, 1000 * 64 * 2); }
    h2[n] = { dtype: e.dtype, shape, data_offsets: [off, off + bytes.length] };
    parts.push(Buffer.from(bytes));
    off += bytes.length;
  }
  writeSafetensorsParts(st, h2, Buffer.concat(parts));
  const cfg = JSON.parse(fs.readFileSync(path.join(small, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(small, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 1000 }));
  oneLine(t, await bb(['sts', '--model', small, '--tasks', 'STS-B', ...D, '--no-cache']), /tokenizer .* ids up to 31999 but the model's embedding table has 1000 rows/, 'small vocab');
  // pad_token_id beyond the table, used only by --billm-mask-compat: refused before loading
  const pad = copyDir(fixture('tiny-llama-fp16'), path.join(dir, 'pad'));
  fs.writeFileSync(path.join(pad, 'config.json'), JSON.stringify({ ...cfg, pad_token_id: 40000 }));
  oneLine(t, await bb(['sts', '--model', pad, '--tasks', 'STS-B', ...D, '--no-cache', '--billm-mask-compat']), /pad_token_id 40000 is outside the vocabulary \(32000 ids\)/, 'pad id');
});

test('D12: a tokenizer.json that is valid JSON but not a tokenizer is one line', async (t) => {
  const dir = tempDir(t);
  // more bodies in test/model/tokenize/tokenizer.test.ts and the property test
  for (const [i, body] of ['{}', '{"model": {"type": "Unigram", "vocab": 5}}'].entries()) {
    const m = copyDir(fixture('tiny-llama-fp16'), path.join(dir, `tok${i}`), ['config.json', 'model.safetensors', 'tokenizer_config.json']);
    fs.writeFileSync(path.join(m, 'tokenizer.json'), body);
    oneLine(t, await bb(['embed', '--model', m, '--input', fixture('tiny-llama/config.json'), '--output', path.join(dir, 'o.jsonl'), '--no-cache']), /tokenizer\.json is not a usable tokenizer/, body);
  }
});

test('embed --input with invalid UTF-8 is refused naming the line, not turned into U+FFFD', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.txt');
  fs.writeFileSync(input, Buffer.concat([Buffer.from('fine line\nsecond \xff\xfe line\n', 'latin1')]));
  oneLine(t, await bb(['embed', '--model', configOnly, '--input', input, '--output', path.join(dir, 'o.jsonl')]), /bad\.txt:2: not valid UTF-8/, 'invalid utf-8');
  t.false(fs.existsSync(path.join(dir, 'o.jsonl')));
});
