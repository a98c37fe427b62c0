// The second hostile audit (issue 24): each case failed before its fix.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSentences } from '../../src/cli/commands/embed.ts';
import { hubEnv } from '../../src/model/hub/cache.ts';
import { cli, expectOneLine } from '../helpers/cli.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'bb-audit2-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const M = ['--model', fixture('tiny-llama'), '--cache-dir', join(dir, 'cache')];

const oneLine = expectOneLine;

test('a UTF-8 byte order mark at the start of embed --input is not part of the first sentence', async (t) => {
  const plain = join(dir, 'plain.txt'), bom = join(dir, 'bom.txt');
  writeFileSync(plain, 'A man is playing a guitar.\nA woman slices an onion.\n');
  writeFileSync(bom, '\uFEFFA man is playing a guitar.\nA woman slices an onion.\n');
  t.deepEqual(readSentences(bom), readSentences(plain));
  const outs = [join(dir, 'plain.jsonl'), join(dir, 'bom.jsonl')];
  for (const [input, output] of [[plain, outs[0]], [bom, outs[1]]]) t.is((await cli(['embed', ...M, '--input', input, '--output', output])).code, 0);
  t.is(readFileSync(outs[1], 'utf8'), readFileSync(outs[0], 'utf8'));
});

test('embed --output never replaces its own --input, and an existing output only with --overwrite', async (t) => {
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, 'A man is playing a guitar.\n');
  oneLine(t, await cli(['embed', ...M, '--input', input, '--output', input, '--overwrite']), /--output .*in\.jsonl is the --input file: name another output file$/);
  const link = join(dir, 'link.jsonl');
  symlinkSync(input, link);
  oneLine(t, await cli(['embed', ...M, '--input', input, '--output', link, '--overwrite']), /is the --input file/);
  t.is(readFileSync(input, 'utf8'), 'A man is playing a guitar.\n');
  const out = join(dir, 'out.jsonl');
  writeFileSync(out, 'keep me\n');
  oneLine(t, await cli(['embed', ...M, '--input', input, '--output', out]), /--output .*out\.jsonl exists: pass --overwrite to replace it, or another --output$/);
  t.is(readFileSync(out, 'utf8'), 'keep me\n');
  t.is((await cli(['embed', ...M, '--input', input, '--output', out, '--overwrite'])).code, 0);
  t.not(readFileSync(out, 'utf8'), 'keep me\n');
});

test('a key given twice in a .json experiment file is refused, as in YAML, naming the line', async (t) => {
  const file = join(dir, 'dup.json');
  writeFileSync(file, '{\n  "name": "a",\n  "runs": [{"model": "m"}],\n  "name": "b"\n}\n');
  oneLine(t, await cli(['run', file, '--out', join(dir, 'dup-out')]), /dup\.json:4:3: a key is given twice in one object; keep one$/);
  const nested = join(dir, 'dup-nested.json');
  writeFileSync(nested, '{"name": "a", "runs": [{"model": "m", "model": "n"}]}');
  oneLine(t, await cli(['run', nested, '--out', join(dir, 'dup-out2')]), /dup-nested\.json:1:\d+: a key is given twice/);
});

test('--bootstrap 2000000000 is refused in one line before any work (sts, report, an experiment file)', async (t) => {
  const D = ['--data-dir', sentevalDir];
  oneLine(t, await cli(['sts', ...M, ...D, '--preset', 'bellm-sts,echo', '--bootstrap', '2000000000', '--out', join(dir, 'cmp')]), /--bootstrap 2000000000: at most 100,000 resamples/);
  oneLine(t, await cli(['report', dir, '--bootstrap', '2000000000', '--out', join(dir, 'rep')]), /--bootstrap: 2000000000 is too many: at most 100,000 resamples/);
  const exp = join(dir, 'boot.yaml');
  writeFileSync(exp, `name: boot\nreport: {bootstrap: 2000000000}\nruns:\n  - model: ${fixture('tiny-llama')}\n`);
  for (const cmd of ['run', 'slurm']) oneLine(t, await cli([cmd, exp, '--out', join(dir, `boot-${cmd}`)]), /report\.bootstrap.*too many: at most 100,000 resamples/);
  t.is((await cli(['sts', ...M, ...D, '--preset', 'bellm-sts,echo', '--bootstrap', '100001', '--tasks', 'STS-B', '--out', join(dir, 'cmp2')])).code, 2);
});

test("HF_HUB_OFFLINE and HF_TOKEN are read as huggingface_hub reads them (Python's `or`: an empty variable defers to the older name)", (t) => {
  const home = { HF_HOME: join(dir, 'hf-home') };
  // constants.py: HF_HUB_OFFLINE = _is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")),
  // _is_true: value.upper() in {"1", "ON", "YES", "TRUE"}
  const cases: [Record<string, string>, boolean][] = [
    [{ HF_HUB_OFFLINE: '', TRANSFORMERS_OFFLINE: '1' }, true],
    [{ HF_HUB_OFFLINE: '0', TRANSFORMERS_OFFLINE: '1' }, false],
    [{ TRANSFORMERS_OFFLINE: 'yes' }, true],
    [{ HF_HUB_OFFLINE: 'On' }, true],
    [{ HF_HUB_OFFLINE: 'false', TRANSFORMERS_OFFLINE: '1' }, false],
    [{}, false],
  ];
  for (const [env, offline] of cases) t.is(hubEnv({ ...home, ...env }).offline, offline, JSON.stringify(env));
  // _get_token_from_environment: _clean_token(os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"))
  t.like(hubEnv({ ...home, HF_TOKEN: '', HUGGING_FACE_HUB_TOKEN: ' hf_old\n' }), { token: 'hf_old', tokenSource: 'HUGGING_FACE_HUB_TOKEN' });
  t.like(hubEnv({ ...home, HF_TOKEN: 'hf_new', HUGGING_FACE_HUB_TOKEN: 'hf_old' }), { token: 'hf_new', tokenSource: 'HF_TOKEN' });
});

test('the MTEB export stays inside --out whatever the label or revision ("..", ".")', async (t) => {
  const { writeReport } = await import('../../src/report/report.ts');
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const { mtebModelName } = await import('../../src/report/mteb.ts');
  for (const name of ['..', '.', '...']) t.false(/^\.+$/.test(mtebModelName(name)), name);
  const base = syntheticSts('x', 1, 0.3, 20);
  const out = join(dir, 'mteb-out', 'inner');
  const hostile = { ...base, label: '..', provenance: { ...base.provenance, model: { ...base.provenance.model, revision: '..' } } } as unknown as typeof base;
  const { files } = await writeReport([{ file: 'h.json', results: hostile }], out, { formats: ['mteb'] });
  t.true(files.length > 1);
  for (const f of files) t.true(f.startsWith(`${out}/`), f);
});

test('report FOLDER writes FOLDER/report/ by default, not reports/<folder name>/', async (t) => {
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const folder = join(dir, 'reports');
  const { mkdirSync, existsSync } = await import('node:fs');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'a.json'), JSON.stringify(syntheticSts('a', 1, 0.3, 20)));
  const r = await cli(['report', folder, '--formats', 'md', '--bootstrap', '0'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.true(existsSync(join(folder, 'report', 'report.md')));
  t.false(existsSync(join(dir, 'reports', 'reports')));
});

test('BELLM_DATA_DIR is the default --data-dir, and --help says so', async (t) => {
  const data = sentevalDir;
  const r = await cli(['tasks'], { cwd: dir, env: { BELLM_DATA_DIR: data } });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /STS12 \(STS12\): 3108 scored pairs.*\[loaded\]/);
  const without = await cli(['tasks'], { cwd: dir, env: { BELLM_DATA_DIR: '' } });
  t.notRegex(without.stdout, /\[loaded\]/);
  t.regex((await cli(['tasks', '--help'], { cwd: dir })).stdout, /default: \$BELLM_DATA_DIR, else\s+data\//);
});

test('a bad --out for run, slurm and report (a file, a link to nothing, a folder that cannot exist) is one line, exit 2', async (t) => {
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const { existsSync, mkdirSync } = await import('node:fs');
  const results = join(dir, 'bad-out-results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'a.json'), JSON.stringify(syntheticSts('a', 1, 0.3, 20)));
  const exp = join(dir, 'bad-out.yaml');
  writeFileSync(exp, `name: bad-out\ndata_dir: ${sentevalDir}\nruns:\n  - model: ${fixture('tiny-llama')}\n    tasks: [STSBenchmark]\n`);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const dangling = join(dir, 'dangling');
  symlinkSync(join(dir, 'nothing-here'), dangling);
  const outs: [string, RegExp][] = [[file, /is not a folder/], [dangling, /is a link to nothing/], [join(file, 'below'), /is not a folder/]];
  if (existsSync('/proc/self')) outs.push(['/proc/bellm-bench-x', /cannot be created/]);
  for (const [out, re] of outs) {
    // the timeout only turns a hang (Node's recursive mkdir under /proc) into a failure
    for (const args of [['run', exp, '--out', out], ['slurm', exp, '--out', out], ['report', results, '--out', out, '--formats', 'md', '--bootstrap', '0']]) {
      oneLine(t, await cli(args, { timeout: 60_000 }), re);
    }
  }
});

test('messages: a YAML key "constructor", --shard -1/2, and --input - (standard input)', async (t) => {
  const exp = join(dir, 'ctor.yaml');
  writeFileSync(exp, `name: ctor\nruns:\n  - model: ${fixture('tiny-llama')}\n    constructor: 1\n`);
  oneLine(t, await cli(['run', exp, '--out', join(dir, 'ctor-out')]), /runs\[0\]: unknown key "constructor" \(not an option of `bellm-bench sts`\)/);
  oneLine(t, await cli(['degrade', ...M, '--data-dir', sentevalDir, '--shard', '-1/2']), /--shard "-1\/2" must look like i\/n/);
  const { spawnSync } = await import('node:child_process');
  const { repoRoot } = await import('../helpers/shared.ts');
  const out = join(dir, 'stdin.jsonl');
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/bellm-bench.js'), 'embed', ...M, '--input', '-', '--output', out, '--quiet'], { input: 'A man is playing a guitar.\nA woman slices an onion.\n', encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const file = join(dir, 'stdin-file.txt'), fromFile = join(dir, 'from-file.jsonl');
  writeFileSync(file, 'A man is playing a guitar.\nA woman slices an onion.\n');
  t.is((await cli(['embed', ...M, '--input', file, '--output', fromFile])).code, 0);
  t.is(readFileSync(out, 'utf8'), readFileSync(fromFile, 'utf8'));
});

test('a hostile results file is refused in one line: main 5 (would print 500.00), split "xyz" (would drop out of every table)', async (t) => {
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const { parseResults } = await import('../../src/report/load.ts');
  const { UserError } = await import('../../src/errors.ts');
  const good = syntheticSts('ok', 1, 0.3, 20);
  t.notThrows(() => parseResults(JSON.parse(JSON.stringify(good)), 'ok.json'));
  const five = JSON.parse(JSON.stringify(good));
  five.tasks[0].main = 5;
  t.throws(() => parseResults(five, 'five.json'), { instanceOf: UserError, message: /^five\.json: malformed sts results \(tasks\[0\]\.main is 5, not a correlation in \[-1, 1\]\)/ });
  const xyz = { ...JSON.parse(JSON.stringify(good)), split: 'xyz' };
  t.throws(() => parseResults(xyz, 'xyz.json'), { instanceOf: UserError, message: /"split" is "xyz", not "test" or "dev"/ });
});

test('a label clash between two cells of one run names the options that tell them apart, not "runs[0] and runs[0]"', async (t) => {
  const exp = join(dir, 'clash.yaml');
  writeFileSync(exp, `name: clash\nruns:\n  - model: ${fixture('tiny-llama')}\n    label: same\n    billm_start_index: [1, 2]\n`);
  oneLine(t, await cli(['run', exp, '--out', join(dir, 'clash-out'), '--data-dir', sentevalDir]), /runs\[0\] \(billm_start_index: 2\) and runs\[0\] \(billm_start_index: 1\) both have the label "same"/);
});

test('slurm refuses, before writing any script, values that would only fail inside the job array', async (t) => {
  const { existsSync } = await import('node:fs');
  const cases: [string, RegExp][] = [
    ['  - model: MODEL\n    billm_start_index: 2.5\n', /runs\[0\] \(cell "tiny-llama"\): --billm-start-index 2\.5 is outside 0\.\.4/],
    ['  - degrade: {model: MODEL, layers: 0..999999999}\n', /runs\[0\]\.degrade \(cell "degrade tiny-llama"\): --layers "0\.\.999999999": 999999999 is outside 0\.\.4/],
  ];
  for (const [i, [run, re]] of cases.entries()) {
    const exp = join(dir, `slurm-bad-${i}.yaml`), out = join(dir, `slurm-bad-out-${i}`);
    writeFileSync(exp, `name: slurm-bad-${i}\ndata_dir: ${sentevalDir}\nruns:\n${run.replace('MODEL', fixture('tiny-llama'))}`);
    oneLine(t, await cli(['slurm', exp, '--out', out]), re);
    t.false(existsSync(join(out, 'slurm')), 'no script written');
  }
});

test('figures.tex includes only figure files the report wrote (PNG without PDF, none without either); a blank line in a label stays out of \\caption{}', async (t) => {
  const { writeReport } = await import('../../src/report/report.ts');
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const { existsSync } = await import('node:fs');
  const runs = [{ file: 'a.json', results: syntheticSts('a\n\nb', 1, 0.3, 20) }];
  const png = join(dir, 'fig-png');
  await writeReport(runs, png, { formats: ['png', 'tex'], bootstrap: 0 });
  const tex = readFileSync(join(png, 'figures.tex'), 'utf8');
  const included = [...tex.matchAll(/\\includegraphics\[[^\]]*\]\{([^}]+)\}/g)].map((m) => m[1]);
  t.true(included.length > 0);
  for (const f of included) t.true(f.endsWith('.png') && existsSync(join(png, f)), f);
  const none = join(dir, 'fig-none');
  await writeReport(runs, none, { formats: ['md', 'tex'], bootstrap: 0 });
  t.false(existsSync(join(none, 'figures.tex')));
  const { readdirSync } = await import('node:fs');
  const texFiles = [join(png, 'figures.tex'), ...readdirSync(join(png, 'tables')).filter((f) => f.endsWith('.tex')).map((f) => join(png, 'tables', f))];
  t.true(texFiles.some((f) => readFileSync(f, 'utf8').includes('a b')), 'the label is in a caption');
  for (const file of texFiles) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\\caption\{([^}]*)\}/g)) t.false(/\n\s*\n/.test(m[1]), `${file}: ${m[1]}`);
  }
});

test('embed says what it wrote; a shard says its turning point covers only its own k values', async (t) => {
  const input = join(dir, 'say.txt');
  writeFileSync(input, 'A man is playing a guitar.\nA woman slices an onion.\nA dog runs.\n');
  const r = await cli(['embed', ...M, '--input', input, '--output', join(dir, 'say.npy')], { quiet: false });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /^wrote .*say\.npy: 3 rows x 64 dimensions \(float32 \.npy\) in \d+\.\d s$/m);
  const shard = await cli(['degrade', ...M, '--data-dir', sentevalDir, '--tasks', 'STS-B', '--layers', '0..4', '--shard', '1/2', '--out', join(dir, 'shard.json')]);
  t.is(shard.code, 0, shard.stderr);
  t.regex(shard.stdout, /^turning point \(largest-drop\) \(shard 1\/2: over its own k values 0, 2, 4 only; merge the shards for the sweep's\): /m);
});

test('a hub cache whose refs/main holds no commit hash says so, not "missing refs/main"', async (t) => {
  const { mkdirSync } = await import('node:fs');
  const { resolveSource } = await import('../../src/model/hub/resolve.ts');
  const cache = join(dir, 'hub-cache');
  mkdirSync(join(cache, 'models--org--name', 'refs'), { recursive: true });
  writeFileSync(join(cache, 'models--org--name', 'refs', 'main'), 'not-a-hash\n');
  const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1', HF_HOME: join(dir, 'hf-home') };
  const e = await t.throwsAsync(resolveSource('org/name', { kind: 'model', flag: '--model', env }));
  t.regex(e!.message, /missing refs\/main holds no commit hash \(damaged; a download rewrites it\)\) and HF_HUB_OFFLINE is set/);
});

test('sts --preset a,b,c: a preset that fails at run time does not end the others; they are compared and the failure is named', async (t) => {
  const { stsSpec, executeSts } = await import('../../src/cli/commands/sts.ts');
  const args = {
    model: fixture('tiny-llama'), preset: 'bellm-sts,echo,sgpt', tasks: ['STSBenchmark'], split: 'test', overwrite: false, out: join(dir, 'multi'),
    'compare-paper': false, 'sentence-stats': false, 'group-size': 100, 'pivot-layer': 'final', 'pivot-bos': true, 'pivot-prompt': true,
    bootstrap: 50, seed: 1, device: 'cpu', 'cache-dir': join(dir, 'cache'), cache: false, 'verify-weights': false, quiet: true, 'data-dir': sentevalDir,
  };
  const spec = await stsSpec(args as never);
  // the echo preset's settings broken after the door: its template now needs an instruction it does not have
  spec.allSettings[1] = { ...spec.allSettings[1], prompt: '{instruction} {text}', instruction: undefined, tokenize: undefined };
  const r = await executeSts(spec);
  t.deepEqual(r.runs.map((x) => x.settings.preset), ['bellm-sts', 'sgpt']);
  t.is(r.failed?.length, 1);
  t.is(r.failed?.[0].preset, 'echo');
  t.truthy(r.comparison);
  t.regex(r.comparison!.markdown, /tiny-llama\+sgpt/);
});

test('two 120-character labels: the report is written whole, with short distinct file names (no ENAMETOOLONG)', async (t) => {
  const { syntheticSts } = await import('../report/fixtures/synthetic.ts');
  const { readdirSync } = await import('node:fs');
  const folder = join(dir, 'long-labels');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(folder, { recursive: true });
  const a = 'A'.repeat(110) + ' variant 1', b = 'A'.repeat(110) + ' variant 2';
  writeFileSync(join(folder, 'a.json'), JSON.stringify(syntheticSts(a, 1, 0.3, 20)));
  writeFileSync(join(folder, 'b.json'), JSON.stringify(syntheticSts(b, 2, 0.3, 20)));
  const r = await cli(['report', folder, '--formats', 'md,csv,tex', '--bootstrap', '20']);
  t.is(r.code, 0, r.stderr);
  const tables = readdirSync(join(folder, 'report', 'tables'));
  t.true(tables.every((f) => Buffer.byteLength(f) < 160), tables.join(', '));
  const subsets = tables.filter((f) => f.startsWith('subsets-') && f.endsWith('.tex'));
  t.is(subsets.length, 2, 'one per configuration');
  t.true(tables.some((f) => f.startsWith('bootstrap-')));
});
