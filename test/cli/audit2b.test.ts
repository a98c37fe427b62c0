// The second hostile audit (issue 24), continued: report file names of labels that slug alike, one grid
// run per output folder (sharded or not), and `embed --normalize`. Each case failed before its fix.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DegradeResults, StsResults } from '../../src/experiments/results/results.ts';
import { l2Normalize } from '../../src/cli/commands/embed.ts';
import { writeGridReport } from '../../src/report/grid.ts';
import { syntheticDegrade, syntheticSts } from '../report/fixtures/synthetic.ts';
import { cli, expectOneLine } from '../helpers/cli.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'bb-audit2b-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const M = ['--model', fixture('tiny-llama'), '--cache-dir', join(dir, 'cache')];

const oneLine = expectOneLine;

/** CSV rows (no quoted fields in these tables). */
const csvRows = (file: string): string[][] => readFileSync(file, 'utf8').trimEnd().split('\r\n').map((l) => l.split(','));

test('report: labels "k 1" and "k_1" get two subset tables and two MTEB folders, each with its own numbers', async (t) => {
  const folder = join(dir, 'k1');
  mkdirSync(folder);
  const runs: Record<string, StsResults> = { 'k 1': syntheticSts('k 1', 1, 0.2, 20), k_1: syntheticSts('k_1', 2, 0.9, 20) };
  const sts12 = (r: StsResults) => r.tasks.find((x) => x.task === 'STS12')!;
  t.true(Math.abs(sts12(runs['k 1']).all.spearman - sts12(runs.k_1).all.spearman) > 0.05, 'the two runs differ');
  writeFileSync(join(folder, 'a.json'), JSON.stringify(runs['k 1']));
  writeFileSync(join(folder, 'b.json'), JSON.stringify(runs.k_1));
  const out = join(dir, 'k1-report');
  const r = await cli(['report', folder, '--formats', 'csv,tex,mteb', '--bootstrap', '0', '--out', out]);
  t.is(r.code, 0, r.stderr);
  const tables = readdirSync(join(out, 'tables'));
  for (const ext of ['csv', 'tex']) t.is(tables.filter((f) => f.startsWith('subsets-') && f.endsWith(`.${ext}`)).length, 2, tables.join(', '));
  // each .tex names one label in its caption, and its CSV twin has that run's STS12 (all) Spearman x100
  const seen = new Set<string>();
  for (const tex of tables.filter((f) => f.startsWith('subsets-') && f.endsWith('.tex'))) {
    const caption = /\\caption\{Per-subset scores x100: (.*)\}/.exec(readFileSync(join(out, 'tables', tex), 'utf8'))![1];
    const label = caption.replace(/\\_/g, '_');
    t.true(label in runs, caption);
    seen.add(label);
    const row = csvRows(join(out, 'tables', tex.replace(/\.tex$/, '.csv'))).find((x) => x[0] === 'STS12' && x[1] === 'all')!;
    t.true(Math.abs(Number(row[4]) - 100 * sts12(runs[label]).all.spearman) <= 0.005 + 1e-9, `${label}: ${row[4]}`);
  }
  t.deepEqual([...seen].sort(), ['k 1', 'k_1']);
  // MTEB: one folder per configuration, its own score
  const folders = readdirSync(join(out, 'mteb')).filter((f) => f !== 'README.md');
  t.is(folders.length, 2, folders.join(', '));
  const labels = folders.map((f) => {
    const [rev] = readdirSync(join(out, 'mteb', f));
    const json = JSON.parse(readFileSync(join(out, 'mteb', f, rev, 'STS12.json'), 'utf8'));
    t.is(json.scores.test[0].main_score, runs[json.bellm_bench.configuration].tasks[0].main);
    return json.bellm_bench.configuration as string;
  });
  t.deepEqual(labels.sort(), ['k 1', 'k_1']);
});

test('grid report: degrade cells "sweep 1" and "sweep_1" get their own table and figure files', async (t) => {
  const sweeps: Record<string, DegradeResults> = { 'sweep 1': syntheticDegrade('sweep 1'), sweep_1: { ...syntheticDegrade('sweep_1'), rows: syntheticDegrade().rows.slice(0, 20), layers: syntheticDegrade().layers.slice(0, 20) } };
  const out = join(dir, 'grid-report');
  await writeGridReport({
    name: 'g', file: 'g.yaml', baseline: null, bootstrap: 0, seed: 1,
    cells: Object.entries(sweeps).map(([label, results], i) => ({ id: `c${i}`, label, command: 'degrade' as const, status: 'done' as const, results, file: `cells/c${i}/results.json`, settings: {} })),
  }, out, ['csv', 'svg']);
  const csvs = readdirSync(join(out, 'tables')).filter((f) => f.startsWith('degrade-'));
  t.is(csvs.length, 2, csvs.join(', '));
  t.deepEqual(csvs.map((f) => csvRows(join(out, 'tables', f)).length - 1).sort((a, b) => a - b), [20, 32], 'each sweep its own rows');
  t.is(readdirSync(join(out, 'figures')).filter((f) => f.startsWith('degrade-') && f.endsWith('.svg')).length, 2);
});

// One grid run per output folder: a lock of another split held by a live process (this test's own)
// refuses the run before any cell is computed, naming the lock file and the process; a dead one's
// lock is removed; shards of one split run side by side.
const exp = join(dir, 'lock.yaml');
writeFileSync(exp, `name: lock\ndata_dir: ${sentevalDir}\ntasks: [STSBenchmark]\ndevice: cpu\nsentence_stats: false\nreport: {bootstrap: 0}\nruns:\n  - model: ${fixture('tiny-llama')}\n`);
/** The folder as the first run leaves it while it runs: its manifest (claim rewrites the same) and locks/. */
const started = (out: string) => {
  mkdirSync(join(out, 'locks'), { recursive: true });
  writeFileSync(join(out, 'experiment.json'), JSON.stringify({ tool: 'bellm-bench run', name: 'lock', file: exp, cells: [] }));
};
const statusFiles = (out: string) => (existsSync(join(out, 'cells')) ? readdirSync(join(out, 'cells'), { recursive: true }).map(String).filter((f) => f.endsWith('status.json')) : []);

test('run and run --shard 1/2 on one --out: the second is refused while the first runs, and computes nothing', async (t) => {
  const out = join(dir, 'lock-out');
  started(out);
  const held = (name: string, holder = `${hostname()} ${process.pid}`) => {
    for (const f of readdirSync(join(out, 'locks'))) rmSync(join(out, 'locks', f));
    writeFileSync(join(out, 'locks', name), `${holder}\n`);
  };
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  held('shard-1of2.lock');
  oneLine(t, await cli(['run', exp, '--out', out]), new RegExp(`${esc(join(out, 'locks', 'shard-1of2.lock'))}: \`run --shard 1/2\` is running on .* \\(process ${process.pid}\\) and this run \\(every cell\\) would compute its cells again`));
  held('shard-1of1.lock');
  oneLine(t, await cli(['run', exp, '--out', out, '--shard', '2/2']), new RegExp(`${esc(join(out, 'locks', 'shard-1of1.lock'))}: \`run\` without --shard is running on .* \\(process ${process.pid}\\) and this run \\(shard 2/2\\)`));
  held('shard-1of2.lock');
  oneLine(t, await cli(['run', exp, '--out', out, '--shard', '1/3']), /shard-1of2\.lock: `run --shard 1\/2` is running .*\(process \d+\) and this run \(shard 1\/3\)/);
  held('shard-1of2.lock', 'another-host 4242');
  oneLine(t, await cli(['run', exp, '--out', out]), /shard-1of2\.lock: `run --shard 1\/2` holds .* \(process 4242 on host another-host, not checkable from here\).*remove the lock file if it no longer runs/);
  t.deepEqual(statusFiles(out), [], 'no cell computed by a refused run');
  t.deepEqual(readdirSync(join(out, 'locks')), ['shard-1of2.lock'], 'the refused run released its own lock and left the holder\'s');
  // a sibling shard of the same split runs beside it
  held('shard-1of2.lock');
  const sibling = await cli(['run', exp, '--out', out, '--shard', '2/2']);
  t.is(sibling.code, 0, sibling.stderr);
  t.deepEqual(readdirSync(join(out, 'locks')), ['shard-1of2.lock']);
});

test('a lock of another split left by a dead process is removed, with a note, and the run goes on', async (t) => {
  const out = join(dir, 'stale-out');
  started(out);
  const lock = join(out, 'locks', 'shard-1of2.lock');
  writeFileSync(lock, `${hostname()} 999999999\n`); // no such process (above any pid_max)
  const r = await cli(['run', exp, '--out', out], { quiet: false });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /removing the stale lock .*shard-1of2\.lock of `run --shard 1\/2`: process 999999999 is no longer running/);
  t.false(existsSync(lock));
  t.is(statusFiles(out).length, 1);
  t.deepEqual(readdirSync(join(out, 'locks')), []);
});

/** A float32 .npy matrix read here (little-endian '<f4', C order), independently of src/model/formats/npy.ts. */
function readNpy(file: string): Float32Array[] {
  const buf = readFileSync(file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.subarray(major === 1 ? 10 : 12, start).toString('latin1');
  if (!/'descr': '<f4'/.test(header) || !/'fortran_order': False/.test(header)) throw new Error(`unexpected header ${header}`);
  const [rows, cols] = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + 4 * rows * cols));
  return Array.from({ length: rows }, (_, i) => data.slice(i * cols, (i + 1) * cols));
}

test('embed --normalize: unit rows equal to the plain rows over their float64 norm; recorded in the provenance file', async (t) => {
  const input = join(dir, 'norm.txt');
  writeFileSync(input, 'A man is playing a guitar.\nA woman slices an onion.\nIs it "raining"?\n');
  const plain = join(dir, 'plain.npy'), unit = join(dir, 'unit.npy'), unitJsonl = join(dir, 'unit.jsonl');
  for (const [out, extra] of [[plain, []], [unit, ['--normalize']], [unitJsonl, ['--normalize']]] as const) {
    const r = await cli(['embed', ...M, '--input', input, '--output', out, ...extra]);
    t.is(r.code, 0, r.stderr);
  }
  const raw = readNpy(plain), normed = readNpy(unit);
  t.is(normed.length, 3);
  raw.forEach((row, i) => {
    let sq = 0;
    for (const x of row) sq += x * x;
    const norm = Math.sqrt(sq);
    t.true(norm > 0 && Math.abs(norm - 1) > 1e-3, 'the plain rows are not unit already');
    t.deepEqual(Array.from(normed[i]), Array.from(row, (x) => Math.fround(x / norm)), `row ${i}`);
    t.true(Math.abs(Math.hypot(...normed[i]) - 1) < 1e-6, `row ${i} has unit norm`);
  });
  const lines = readFileSync(unitJsonl, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { embedding: number[] });
  t.deepEqual(lines.map((l) => l.embedding), normed.map((r) => Array.from(r)));
  const meta = (f: string) => JSON.parse(readFileSync(`${f}.provenance.json`, 'utf8'));
  t.like(meta(unit), { tool: 'bellm-bench embed', normalize: true, rows: 3, dimensions: 64, format: 'npy', settings: { preset: 'bellm-sts' } });
  t.regex(meta(unit).normalization, /float64.*float32.*zero vector stays zero/);
  t.like(meta(unitJsonl), { normalize: true, format: 'jsonl' });
  t.like(meta(plain), { normalize: false, normalization: null });
  t.is(typeof meta(plain).provenance.model.fingerprint, 'string');
  // the provenance file is never replaced silently either
  rmSync(unit);
  oneLine(t, await cli(['embed', ...M, '--input', input, '--output', unit, '--normalize']), /unit\.npy\.provenance\.json exists .*pass --overwrite/);
  t.regex((await cli(['embed', '--help'])).stdout.replace(/\s+/g, ' '), /--normalize .*a zero vector stays zero/);
});

test('l2Normalize: a zero vector stays zero; others are divided by their float64 norm, rounded once to float32', (t) => {
  const [zero, v, tiny] = l2Normalize([new Float32Array(4), Float32Array.of(3, 4), Float32Array.of(1e-30, -1e-30)]);
  t.deepEqual(Array.from(zero), [0, 0, 0, 0]);
  t.deepEqual(Array.from(v), [Math.fround(0.6), Math.fround(0.8)]);
  // (1e-30)^2 underflows float32 but not float64: still a unit vector
  t.deepEqual(Array.from(tiny), [Math.fround(Math.SQRT1_2), Math.fround(-Math.SQRT1_2)]);
});
