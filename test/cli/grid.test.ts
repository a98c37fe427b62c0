// `bellm-bench run` end to end on the tiny fixture: cells through the commands' own code, failures
// recorded, resume after kill -9, edits rerun only changed cells, shards + merge equal one run, and
// merge refusing another experiment's outputs.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixture, repoRoot, sentevalDir } from '../helpers/shared.ts';

const exec = promisify(execFile);
const BIN = join(repoRoot, 'bin/bellm-bench.js');
const bb = (args: string[]) => exec(process.execPath, [BIN, ...args], { cwd: repoRoot, maxBuffer: 1 << 26 });
const bbResult = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await bb(args);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};

const root = mkdtempSync(join(tmpdir(), 'bb-grid-'));
const model = fixture('tiny-llama');
const lora = fixture('tiny-lora');
const head = (name: string, extra = '') => `name: ${name}\ndata_dir: ${sentevalDir}\ntasks: [STSBenchmark]\ndevice: cpu\nsentence_stats: false\nreport: {bootstrap: 200}\n${extra}`;
const RUNS = `runs:
  - model: ${model}
    lora: [null, ${lora}]
    billm_start_index: [null, 2]
  - degrade: {model: ${model}, layers: 0..4}
baseline: {lora: null, billm_start_index: null}
`;
const write = (name: string, text: string) => {
  const f = join(root, name);
  writeFileSync(f, text);
  return f;
};

interface CellFiles { id: string; results: Record<string, unknown>; status: Record<string, unknown> }
const cells = (dir: string): Map<string, CellFiles> => {
  const m = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as { cells: { id: string; label: string }[] };
  const read = (f: string) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
  return new Map(m.cells.filter((c) => existsSync(join(dir, 'cells', c.id, 'status.json'))).map((c) => [c.label, {
    id: c.id,
    results: read(join(dir, 'cells', c.id, 'results.json')),
    status: JSON.parse(readFileSync(join(dir, 'cells', c.id, 'status.json'), 'utf8')),
  }]));
};
/** What must not differ between two runs of a cell: everything but timings, dates, paths and work counts. */
const numbers = (r: Record<string, unknown>) => {
  const { provenance: _p, timings: _t, work: _w, ...rest } = r;
  return JSON.stringify(rest);
};

// The reference: the base grid, unsharded, in one uninterrupted run.
const baseDir = join(root, 'base');
const baseFile = write('base.yaml', head('grid-test') + RUNS);
let baseStdout = '';
test.before(async () => {
  baseStdout = (await bb(['run', baseFile, '--out', baseDir, '--quiet'])).stdout;
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test.serial('run: every cell through the command\'s own code, the grid report with baseline deltas and CIs', async (t) => {
  const done = cells(baseDir);
  t.deepEqual([...done.keys()], [
    'lora=none, billm_start_index=none', 'lora=none, billm_start_index=2', 'lora=tiny-lora, billm_start_index=none',
    'lora=tiny-lora, billm_start_index=2', 'degrade tiny-llama',
  ]);
  t.true([...done.values()].every((c) => c.status.status === 'done'));
  // A cell is exactly what `bellm-bench sts` with the same options writes.
  const direct = join(root, 'direct.json');
  await bb(['sts', '--model', model, '--lora', lora, '--billm-start-index', '2', '--tasks', 'STSBenchmark', '--data-dir', sentevalDir,
    '--device', 'cpu', '--no-sentence-stats', '--no-cache', '--label', 'lora=tiny-lora, billm_start_index=2', '--out', direct, '--quiet']);
  t.is(numbers(done.get('lora=tiny-lora, billm_start_index=2')!.results), numbers(JSON.parse(readFileSync(direct, 'utf8'))));
  // and the sweep is what `bellm-bench degrade` writes
  const sweep = done.get('degrade tiny-llama')!.results as { rows: { k: number }[]; layers: number[] };
  t.deepEqual(sweep.layers, [0, 1, 2, 3, 4]);
  t.deepEqual(sweep.rows.map((r) => r.k), [0, 1, 2, 3, 4]);
  // The report: the grid table, the deltas against the baseline with CIs, the degradation figure.
  const report = JSON.parse(readFileSync(join(baseDir, 'report', 'report.json'), 'utf8'));
  const ids = report.tables.map((x: { id: string }) => x.id);
  t.deepEqual(ids, ['grid', 'grid-deltas', 'degrade-degrade-tiny-llama', 'grid-cells']);
  const grid = report.tables[0];
  t.deepEqual(grid.columns.map((c: { title: string }) => c.title), ['Cell', 'STS-B', 'Avg', 'status']);
  const stsb = (label: string) => (done.get(label)!.results as { table: Record<string, number> }).table['STS-B'];
  t.deepEqual(grid.rows[3], ['lora=tiny-lora, billm_start_index=2', stsb('lora=tiny-lora, billm_start_index=2'), stsb('lora=tiny-lora, billm_start_index=2'), 'done']);
  t.is(report.bootstrap.length, 3);
  for (const cmp of report.bootstrap) {
    t.is(cmp.labelA, 'lora=none, billm_start_index=none');
    t.is(cmp.resamples, 200);
    const row = cmp.rows[0];
    t.true(row.ciLow <= row.delta && row.delta <= row.ciHigh);
  }
  t.regex(report.tables[1].rows[0][1], /^[+-]?\d+\.\d\d \[[+-]?\d+\.\d\d, [+-]?\d+\.\d\d\]( \*)?$/);
  // main's report pipeline: print-size figures in PNG, SVG and PDF, LaTeX tables (not of the cells' settings)
  for (const f of ['report.md', 'report.html', 'figures/degradation.png', 'figures/degradation.svg', 'figures/degradation.pdf', 'figures.tex',
    'tables/grid.csv', 'tables/grid-deltas.csv', 'tables/grid.tex', 'tables/grid-deltas.tex', 'tables/degrade-degrade-tiny-llama.tex']) {
    t.true(existsSync(join(baseDir, 'report', f)), f);
  }
  t.false(existsSync(join(baseDir, 'report', 'tables', 'grid-cells.tex')));
  t.regex(readFileSync(join(baseDir, 'report', 'tables', 'grid-deltas.tex'), 'utf8'), /\\begin\{tabular\}/);
  t.is(report.figures[0].size.name, 'single');
  // one embedding cache for the experiment
  t.true(existsSync(join(baseDir, 'cache')));
  // every cell records issue 13's run identity
  t.true([...done.values()].every((c) => /^[0-9a-f]{64}$/.test((c.results.identity as { hash: string }).hash)));
  t.regex(baseStdout, /\| lora=none, billm_start_index=2 \| \d+\.\d\d \|/);
  t.regex(baseStdout, /difference from the baseline/);
});

test.serial('a failing cell is recorded with its error, the others run, and the command exits non-zero listing it', async (t) => {
  const dir = join(root, 'failing');
  const file = write('failing.yaml', head('failing', `cache_dir: ${join(baseDir, 'cache')}\n`) + `runs:
  - model: ${model}
    billm_start_index: [null, 9, 2]
  - model: ${join(root, 'no-such-model')}
`);
  const r = await bbResult(['run', file, '--out', dir, '--quiet']);
  t.is(r.code, 1);
  t.regex(r.stderr, /bellm-bench: 2 failed:\n {2}model=tiny-llama, billm_start_index=9 \[cells\/[0-9a-f]{16}\]: --billm-start-index 9 is outside 0\.\.4/);
  t.regex(r.stderr, /model=no-such-model, billm_start_index=none \[cells\/[0-9a-f]{16}\]: .*no-such-model/);
  const c = cells(dir);
  t.is(c.get('model=tiny-llama, billm_start_index=9')!.status.status, 'failed');
  t.is(c.get('model=tiny-llama, billm_start_index=2')!.status.status, 'done'); // ran after the failure, on the same open model
  t.is(c.get('model=tiny-llama, billm_start_index=none')!.status.status, 'done');
  const grid = JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')).tables[0];
  t.deepEqual(grid.rows[1].slice(1, 3), [null, null]);
  t.regex(grid.rows[1][3], /^failed: --billm-start-index 9/);
  // A rerun retries the failed cells only.
  const again = await bbResult(['run', file, '--out', dir]);
  t.is(again.code, 1);
  t.regex(again.stderr, /^0 jobs run, 2 already done, 2 failed$/m);
});

test.serial('an edited file reruns only the cells that changed', async (t) => {
  const dir = join(root, 'edited');
  const text = head('edited', `cache_dir: ${join(baseDir, 'cache')}\n`) + RUNS;
  const file = write('edited.yaml', text);
  await bb(['run', file, '--out', dir, '--quiet']);
  const before = cells(dir);
  // k = 2 becomes k = 3 for both adapters; a pooling axis is added to nothing else; the label of the sweep changes.
  writeFileSync(file, text.replace('billm_start_index: [null, 2]', 'billm_start_index: [null, 3]').replace('layers: 0..4}', 'layers: 0..4, label: "the sweep"}'));
  const r = await bbResult(['run', file, '--out', dir]);
  t.is(r.code, 0);
  t.regex(r.stderr, /^2 jobs run, 3 already done, 0 failed$/m);
  const after = cells(dir);
  for (const label of ['lora=none, billm_start_index=none', 'lora=tiny-lora, billm_start_index=none']) {
    t.is(after.get(label)!.status.finishedAt, before.get(label)!.status.finishedAt, label);
  }
  t.is(after.get('the sweep')!.id, before.get('degrade tiny-llama')!.id); // a new label is not a new cell
  t.true(after.has('lora=tiny-lora, billm_start_index=3'));
  const report = JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8'));
  t.deepEqual(report.tables[0].rows.map((r: unknown[]) => r[0]), [
    'lora=none, billm_start_index=none', 'lora=none, billm_start_index=3', 'lora=tiny-lora, billm_start_index=none', 'lora=tiny-lora, billm_start_index=3',
  ]);
  t.true(report.tables.some((x: { id: string }) => x.id === 'degrade-the-sweep'));
});

test.serial('kill -9 in the middle of a run, rerun: the same results, finished cells not redone', async (t) => {
  const dir = join(root, 'killed');
  const file = write('killed.yaml', head('grid-test') + RUNS);
  const child = spawn(process.execPath, [BIN, 'run', file, '--out', dir, '--quiet'], { cwd: repoRoot, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
  const countDone = () => (existsSync(join(dir, 'cells')) ? readdirSync(join(dir, 'cells')).filter((id) => existsSync(join(dir, 'cells', id, 'status.json'))).length : 0);
  const t0 = Date.now();
  while (countDone() < 2 && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 25));
  child.kill('SIGKILL');
  t.is(await exited, 'SIGKILL', 'the run was still going when it was killed');
  const before = cells(dir);
  t.true(before.size >= 2 && before.size < 5, `${before.size} cells done at the kill`);
  const r = await bbResult(['run', file, '--out', dir]);
  t.is(r.code, 0);
  t.regex(r.stderr, new RegExp(`^${5 - before.size} jobs run, ${before.size} already done, 0 failed$`, 'm'));
  const after = cells(dir), ref = cells(baseDir);
  t.is(after.size, 5);
  for (const [label, c] of after) {
    t.is(numbers(c.results), numbers(ref.get(label)!.results), label);
    if (before.has(label)) t.is(c.status.finishedAt, before.get(label)!.status.finishedAt, `${label} was not redone`);
  }
  t.is(JSON.stringify(JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')).tables), JSON.stringify(JSON.parse(readFileSync(join(baseDir, 'report', 'report.json'), 'utf8')).tables));
});

test.serial('a damaged results file or a changed task file makes the cell run again; a second run of a shard is refused', async (t) => {
  const dir = join(root, 'damaged');
  // A private copy of the STS-B files, so one can be changed.
  const data = join(root, 'data-copy');
  cpSync(join(sentevalDir, 'STS', 'STSBenchmark'), join(data, 'STS', 'STSBenchmark'), { recursive: true });
  for (const f of readdirSync(join(data, 'STS', 'STSBenchmark'))) chmodSync(join(data, 'STS', 'STSBenchmark', f), 0o644);
  const file = write('damaged.yaml', head('damaged', `cache_dir: ${join(baseDir, 'cache')}\n`).replace(`data_dir: ${sentevalDir}`, `data_dir: ${data}`)
    + `runs:\n  - model: ${model}\n    billm_start_index: [null, 2]\n`);
  await bb(['run', file, '--out', dir, '--quiet']);
  const before = cells(dir);
  const [a, b] = [...before.values()];
  // flip one digit of a stored prediction
  const resultsA = join(dir, 'cells', a.id, 'results.json');
  writeFileSync(resultsA, readFileSync(resultsA, 'utf8').replace(/"pred": ?(-?)0\.(\d)/, (_m, sign, d) => `"pred":${sign}0.${(Number(d) + 1) % 10}`));
  const r = await bbResult(['run', file, '--out', dir]);
  t.regex(r.stderr, /its results file changed or was damaged after it was written; running it again/);
  t.regex(r.stderr, /^1 jobs? run, 1 already done, 0 failed$/m);
  t.is(numbers(cells(dir).get(before.keys().next().value!)!.results), numbers(a.results));
  // change a gold score of the test split: every cell's results are stale
  const csv = join(data, 'STS', 'STSBenchmark', 'sts-test.csv');
  const lines = readFileSync(csv, 'utf8').split('\n');
  const cols = lines[0].split('\t');
  cols[4] = String((Number(cols[4]) + 1) % 5);
  lines[0] = cols.join('\t');
  writeFileSync(csv, lines.join('\n'));
  const r2 = await bbResult(['run', file, '--out', dir]);
  t.regex(r2.stderr, /its results are stale: the task data files differ; running it again/);
  t.regex(r2.stderr, /^2 jobs run, 0 already done, 0 failed$/m);
  t.not(numbers(cells(dir).get([...before.keys()][1])!.results), numbers(b.results));
  // the same shard twice at once: the second is refused
  const lock = join(dir, 'locks', 'shard-1of1.lock');
  writeFileSync(lock, `${hostname()} ${process.pid}\n`); // this (live) test process holds it
  const r3 = await bbResult(['run', file, '--out', dir]);
  t.is(r3.code, 2);
  t.regex(r3.stderr, /shard 1\/1 is already running \(process \d+\)/);
  writeFileSync(lock, `${hostname()} 999999999\n`); // a dead process: taken over
  const r4 = await bbResult(['run', file, '--out', dir]);
  t.is(r4.code, 0);
  t.regex(r4.stderr, /taking over the lock of shard 1\/1 .*no longer running/);
  t.false(existsSync(lock));
});

/** Flips the lowest bit of the value ending `fromEnd` bytes before the end of a file (a retrained weight, say). */
const touchBytes = (file: string, fromEnd: number) => {
  const buf = readFileSync(file);
  buf[buf.length - fromEnd] ^= 1;
  writeFileSync(file, buf);
};

test.serial('changed adapter or weight bytes (same paths, same settings) make exactly the cells that use them run again', async (t) => {
  const dir = join(root, 'weights');
  const modelCopy = join(root, 'model-copy'), loraCopy = join(root, 'lora-copy');
  for (const [from, to] of [[model, modelCopy], [lora, loraCopy]]) {
    cpSync(from, to, { recursive: true });
    for (const f of readdirSync(to)) chmodSync(join(to, f), 0o644);
  }
  const file = write('weights.yaml', head('weights', `cache_dir: ${join(root, 'weights-cache')}\n`) + `runs:\n  - model: ${modelCopy}\n    lora: [null, ${loraCopy}]\n`);
  t.is((await bbResult(['run', file, '--out', dir, '--quiet'])).code, 0);
  const before = cells(dir);
  const again = await bbResult(['run', file, '--out', dir]);
  t.regex(again.stderr, /^0 jobs run, 2 already done, 0 failed$/m, 'unchanged files: nothing reruns');
  // the adapter's last fp32 value changes in its lowest bit: only the adapter cell is stale
  touchBytes(join(loraCopy, 'adapter_model.safetensors'), 4);
  const r1 = await bbResult(['run', file, '--out', dir]);
  t.is(r1.code, 0, r1.stderr);
  t.regex(r1.stderr, /"lora=lora-copy": its results are stale: the LoRA adapter differ; running it again/);
  t.regex(r1.stderr, /^1 jobs? run, 1 already done, 0 failed$/m);
  const mid = cells(dir);
  t.is(mid.get('lora=none')!.status.finishedAt, before.get('lora=none')!.status.finishedAt);
  t.not(mid.get('lora=lora-copy')!.status.finishedAt, before.get('lora=lora-copy')!.status.finishedAt);
  t.not((mid.get('lora=lora-copy')!.results.identity as { parts: { adapter: string } }).parts.adapter,
    (before.get('lora=lora-copy')!.results.identity as { parts: { adapter: string } }).parts.adapter);
  // a weight shard's last bf16 value changes: both cells are stale
  touchBytes(join(modelCopy, 'model-00002-of-00002.safetensors'), 2);
  const r2 = await bbResult(['run', file, '--out', dir]);
  t.is(r2.code, 0, r2.stderr);
  t.regex(r2.stderr, /its results are stale: the model weights or config\.json differ; running it again/);
  t.regex(r2.stderr, /^2 jobs run, 0 already done, 0 failed$/m);
  // and a merge of that folder (the check a Slurm merge job makes) finds every cell current
  const m = await bbResult(['run', file, '--out', dir, '--merge']);
  t.is(m.code, 0, m.stderr);
  t.regex(m.stdout, /\(2 of 2 cells\)/);
});

test.serial('shards (a sweep split into pieces) merged equal one unsharded run', async (t) => {
  const dir = join(root, 'sharded');
  // The shards read the reference's embedding cache (to keep the test fast): this checks the plan, the
  // pieces and the merge. CI's Slurm run (scripts/ci/slurm-grid.sh) compares with nothing shared.
  const file = write('sharded.yaml', head('grid-test', `cache_dir: ${join(baseDir, 'cache')}\n`) + RUNS);
  const logs: string[] = [];
  for (const i of [1, 2, 3]) {
    const r = await bbResult(['run', file, '--out', dir, '--shard', `${i}/3`]);
    t.is(r.code, 0, r.stderr);
    logs.push(r.stderr);
    t.false(existsSync(join(dir, 'report')), 'a shard writes no report');
  }
  t.regex(logs[0], /shard 1\/3 runs \d+ of \d+ jobs \(1 sweep split into pieces\)/);
  const sweepDir = readdirSync(join(dir, 'cells')).map((id) => join(dir, 'cells', id)).find((d) => readdirSync(d).some((f) => f.startsWith('part-')))!;
  t.truthy(sweepDir, 'the sweep ran as pieces');
  const m = await bbResult(['run', file, '--out', dir, '--merge']);
  t.is(m.code, 0, m.stderr);
  t.regex(m.stderr, /joined its \d sweep pieces/);
  const cmp = await exec(process.execPath, ['--import=tsx', join(repoRoot, 'scripts/ci/compare-grid-outputs.ts'), baseDir, dir], { cwd: repoRoot });
  t.regex(cmp.stdout, /grid outputs agree: 4 report tables, 3 bootstrap comparisons, 5 cells/);
  // the joined sweep equals the one computed whole
  t.true(statSync(join(sweepDir, 'results.json')).size > 0);
});

test.serial('merge and run refuse another experiment\'s outputs; an unfinished merge exits non-zero', async (t) => {
  const other = write('other.yaml', head('other-experiment') + `runs:\n  - model: ${model}\n`);
  const r1 = await bbResult(['run', other, '--out', baseDir]);
  t.is(r1.code, 2);
  t.regex(r1.stderr, /^bellm-bench: \S+base holds the outputs of experiment "grid-test" \(\S+base\.yaml\), not "other-experiment"; pass another --out\n$/);
  const otherDir = join(root, 'other-out');
  await bb(['slurm', other, '--out', otherDir, '--gpus-per-task', '0', '--quiet']); // claims the folder, runs nothing
  const fresh = join(root, 'merged-into');
  const r2 = await bbResult(['run', baseFile, '--out', fresh, '--merge', '--from', otherDir]);
  t.is(r2.code, 2);
  t.regex(r2.stderr, /other-out holds the outputs of experiment "other-experiment" .* merge refuses another experiment's outputs/);
  // merging the reference's cells from their folder works, and is complete
  const r3 = await bbResult(['run', baseFile, '--out', fresh, '--merge', '--from', baseDir]);
  t.is(r3.code, 0, r3.stderr);
  t.regex(r3.stdout, /report: \S+ \(5 of 5 cells\)/);
  // a merge with cells missing writes the report of what exists and exits 1 naming them
  const empty = join(root, 'nothing-run');
  const r4 = await bbResult(['run', baseFile, '--out', empty, '--merge']);
  t.is(r4.code, 1);
  t.regex(r4.stderr, /5 failed:\n {2}lora=none, billm_start_index=none \[cells\/[0-9a-f]{16}\]: not run \(a shard did not finish it\)/);
});

test.serial('experiment file errors through the CLI: one line, exit 2', async (t) => {
  const bad = write('bad.yaml', head('bad') + `runs:\n  - model: ${model}\n    billm_start_idx: 3\n`);
  const r = await bbResult(['run', bad, '--out', join(root, 'bad-out')]);
  t.is(r.code, 2);
  t.is(r.stderr, `bellm-bench: ${bad}: runs[0]: unknown key "billm_start_idx" (not an option of \`bellm-bench sts\`); did you mean "billm_start_index"?\n`);
  t.false(existsSync(join(root, 'bad-out')), 'nothing written before the file is valid');
  const badTask = write('bad-task.yaml', head('bad').replace('[STSBenchmark]', '[STS99]') + `runs:\n  - model: ${model}\n`);
  const r2 = await bbResult(['run', badTask, '--out', join(root, 'bad-task-out')]);
  t.is(r2.code, 2);
  t.regex(r2.stderr, /^bellm-bench: \S+bad-task\.yaml: runs\[0\] \("tiny-llama"\): unknown task "STS99"/);
});
