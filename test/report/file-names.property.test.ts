// Property test (fast-check, fixed seed, bounded runs) of label -> file name in reports (issue 24,
// defect 1): whatever the labels (unicode, "..", "/", NUL, case, "-vs-", long), distinct labels always
// give distinct files, each inside the output folder and within file-name limits, for every format the
// report writes (md, csv, json, html, tex, png, svg, pdf figures, the MTEB export), in `bellm-bench
// report` and in the grid report of `bellm-bench run`. Names are taken from reportFiles, the list the
// writer writes (it renders nothing), and checked here with path.resolve, not with the code's own checks.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { DegradeResults, StsResults } from '../../src/experiments/results/results.ts';
import { buildGridReport, type GridCellOutcome } from '../../src/report/grid.ts';
import type { LoadedResults } from '../../src/report/load.ts';
import { ALL_FORMATS, buildReport, reportFiles, type Report } from '../../src/report/report.ts';
import { syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const SEED = 24;
const OUT = resolve('/tmp/bb-names/out');

// Small results to relabel: building a report of a few of them takes milliseconds.
const STS = syntheticSts('s', 1, 0.3, 4);
const DEV: StsResults = { ...syntheticSts('d', 2, 0.3, 4, 11), split: 'dev' };
DEV.tasks = DEV.tasks.filter((x) => x.label === 'STS-B' || x.label === 'SICK-R');
DEV.sentenceStats = DEV.sentenceStats!.map((s) => ({ ...s, split: 'dev' as const }));
const DEG = syntheticDegrade('g');

type Kind = 'sts' | 'dev' | 'degrade';
const make = (label: string, kind: Kind): LoadedResults['results'] =>
  kind === 'sts' ? { ...STS, label } : kind === 'dev' ? { ...DEV, label } : { ...DEG, label };

/** Labels built to collide after slugging: case, separators, dots, slashes, NUL, "-vs-", unicode, length. */
const piece = fc.constantFrom('README.md', 'k', 'K', '1', ' ', '_', '-', '.', '..', '/', '\\', '\u0000', 'vs', '-vs-', 'é', 'É', '😀', 'dev', '--', 'a');
const label = fc.oneof(
  { weight: 6, arbitrary: fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('sweep ', 'sweep_', 'Sweep-'), fc.nat(3), fc.nat(400)).map(([p, n, len]) => `${p}${n}${'x'.repeat(len)}`) },
);
const configs = fc.uniqueArray(fc.tuple(label, fc.constantFrom<Kind>('sts', 'dev', 'degrade')), { minLength: 2, maxLength: 7, selector: ([l]) => l });

/** Independent checks of every planned name: inside OUT, one file each (also without case), legal names. */
function checkNames(rels: readonly string[]): void {
  const seen = new Set<string>();
  for (const rel of rels) {
    const abs = resolve(OUT, rel);
    const inside = relative(OUT, abs);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside) || !abs.startsWith(OUT + sep)) throw new Error(`${JSON.stringify(rel)} leaves the output folder`);
    for (const seg of rel.split('/')) {
      if (seg === '' || seg === '.' || seg === '..' || seg.includes('\u0000') || seg.includes('\\')) throw new Error(`${JSON.stringify(rel)}: bad path segment ${JSON.stringify(seg)}`);
      if (Buffer.byteLength(seg) > 255) throw new Error(`${JSON.stringify(rel)}: a name over 255 bytes`);
    }
    const key = abs.toLowerCase();
    if (seen.has(key)) throw new Error(`two files named ${JSON.stringify(rel)} (case-insensitive)`);
    seen.add(key);
  }
  // no file where another one needs a folder (mteb/README.md beside a folder mteb/README.md/)
  for (const rel of rels) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = resolve(OUT, parts.slice(0, i).join('/')).toLowerCase();
      if (seen.has(folder)) throw new Error(`${JSON.stringify(rel)} needs a folder where a file is written`);
    }
  }
}

const count = (rels: readonly string[], re: RegExp) => rels.filter((r) => re.test(r)).length;

/** Each label has its own files: one per-label table, figure and MTEB folder each, holding that label. */
async function checkReport(report: Report, items: readonly [string, Kind][]): Promise<void> {
  // the MTEB export takes sts results (degrade alone is refused in one line)
  const formats = items.some(([, k]) => k !== 'degrade') ? ALL_FORMATS : ALL_FORMATS.filter((f) => f !== 'mteb');
  const files = reportFiles(report, { formats });
  const rels = files.map((f) => f.rel);
  checkNames(rels);
  const of = (k: Kind) => items.filter(([, kind]) => kind === k).map(([l]) => l);
  const [sts, dev, deg] = [of('sts'), of('dev'), of('degrade')];
  const expect = (n: number, want: number, what: string) => {
    if (n !== want) throw new Error(`${what}: ${n} files, ${want} expected (${JSON.stringify(rels)})`);
  };
  for (const ext of ['csv', 'tex']) {
    expect(count(rels, new RegExp(`^tables/subsets-.*\\.${ext}$`)), sts.length + dev.length, `subset tables (.${ext})`);
    expect(count(rels, new RegExp(`^tables/degrade-.*\\.${ext}$`)), deg.length, `degrade tables (.${ext})`);
    expect(count(rels, new RegExp(`^tables/bootstrap-.*\\.${ext}$`)), Math.max(0, sts.length - 1) + Math.max(0, dev.length - 1), `bootstrap tables (.${ext})`);
  }
  for (const ext of ['png', 'svg', 'pdf']) {
    expect(count(rels, new RegExp(`^figures/degrade-.*\\.${ext}$`)), deg.length > 1 ? deg.length : 0, `per-sweep figures (.${ext})`);
    expect(count(rels, new RegExp(`^figures/boxplot-.*\\.${ext}$`)), (sts.length ? 1 : 0) + (dev.length ? 1 : 0), `box plots (.${ext})`);
  }
  // each per-label table is its label's: the title names it, and no two labels share a file stem
  const stemOf = new Map<string, string>();
  for (const t of report.tables) {
    const m = /^(?:Per-subset scores x100|Degradation \((?:bidirectional|truncate)\)): ([\s\S]*?)(?:, Spearman x100 by .*)?$/.exec(t.title);
    if (!m || !/^(subsets|degrade)-/.test(t.id)) continue;
    const kind = t.id.startsWith('subsets-') ? 'subsets' : 'degrade';
    if (stemOf.has(`${kind}:${m[1]}`)) throw new Error(`two ${kind} tables for ${JSON.stringify(m[1])}`);
    stemOf.set(`${kind}:${m[1]}`, t.id);
  }
  for (const l of [...sts, ...dev]) if (!stemOf.has(`subsets:${l}`)) throw new Error(`no subset table for ${JSON.stringify(l)}`);
  for (const l of deg) if (!stemOf.has(`degrade:${l}`)) throw new Error(`no degrade table for ${JSON.stringify(l)}`);
  // MTEB: one folder per sts label, every file in it that label's
  if (sts.length + dev.length === 0) return;
  const folders = new Map<string, Set<string>>();
  for (const f of files.filter((x) => /^mteb\/.+\/.+\/[^/]+\.json$/.test(x.rel))) {
    const folder = f.rel.split('/')[1];
    const json = JSON.parse(String(await f.data())) as { bellm_bench: { configuration: string } };
    folders.set(folder, (folders.get(folder) ?? new Set()).add(json.bellm_bench.configuration));
  }
  expect(folders.size, sts.length + dev.length, 'MTEB folders');
  for (const [folder, labels] of folders) if (labels.size !== 1) throw new Error(`MTEB folder ${folder} holds ${[...labels].map((l) => JSON.stringify(l)).join(', ')}`);
  const covered = new Set([...folders.values()].flatMap((s) => [...s]));
  for (const l of [...sts, ...dev]) if (!covered.has(l)) throw new Error(`no MTEB folder for ${JSON.stringify(l)}`);
}

function check(t: ExecutionContext, prop: fc.IAsyncPropertyWithHooks<[[string, Kind][]]>, examples: [[string, Kind][]][]): Promise<void> {
  return fc.assert(prop, { seed: SEED, numRuns: 150, endOnFailure: true, includeErrorInReport: true, examples }).then(() => {
    t.pass();
  });
}

test('bellm-bench report: distinct labels give distinct files inside the folder, in every format', (t) =>
  check(t, fc.asyncProperty(configs, async (items) => {
    const loaded = items.map(([l, kind], i) => ({ file: `r${i}.json`, results: make(l, kind) }));
    await checkReport(buildReport(loaded, { bootstrap: 2, perTask: true }), items);
  }), [
    [[['k 1', 'sts'], ['k_1', 'sts']]],
    [[['sweep 1', 'degrade'], ['sweep_1', 'degrade']]],
    [[['K', 'sts'], ['k', 'sts'], ['k--5c1b5ea4', 'sts']]],
    // bootstrap ids: test a vs b-vs-c and dev a-vs-b vs c both read "a-vs-b-vs-c"
    [[['a', 'sts'], ['b-vs-c', 'sts'], ['a-vs-b', 'dev'], ['c', 'dev']]],
    [[['README.md', 'sts'], ['readme.md', 'dev'], ['tables', 'sts']]],
    [[['..', 'sts'], ['.', 'sts'], ['/', 'dev'], ['\u0000', 'degrade'], ['x'.repeat(300), 'sts'], ['x'.repeat(301), 'degrade'], ['x'.repeat(302), 'degrade']]],
  ]));

test('bellm-bench run: the grid report of degrade cells gives each cell its own files', (t) =>
  check(t, fc.asyncProperty(configs.map((xs) => xs.map(([l]) => [l, 'degrade'] as [string, Kind])), async (items) => {
    const cells: GridCellOutcome[] = items.map(([l], i) => ({
      id: `cell${i}`, label: l, command: 'degrade', status: 'done', results: { ...DEG, label: l } as DegradeResults, file: `cells/cell${i}/results.json`, settings: {},
    }));
    const report = buildGridReport({ name: 'grid', file: 'grid.yaml', cells, baseline: null, bootstrap: 0, seed: 1 });
    const rels = reportFiles(report, { formats: ALL_FORMATS.filter((f) => f !== 'mteb') }).map((f) => f.rel);
    checkNames(rels);
    for (const ext of ['csv', 'tex']) if (count(rels, new RegExp(`^tables/degrade-.*\\.${ext}$`)) !== items.length) throw new Error(`degrade tables: ${JSON.stringify(rels)}`);
    for (const ext of ['png', 'svg', 'pdf']) if (count(rels, new RegExp(`^figures/degrade-.*\\.${ext}$`)) !== items.length) throw new Error(`degrade figures: ${JSON.stringify(rels)}`);
  }), [[[['sweep 1', 'degrade'], ['sweep_1', 'degrade']]]]));

test('box plots: task names from results files that slug alike (or end in "-dev" beside a dev split) get distinct files', async (t) => {
  const { boxplotFigures } = await import('../../src/report/charts.ts');
  const stat = STS.sentenceStats![0];
  const run: StsResults = {
    ...STS, label: 'r',
    sentenceStats: [{ ...stat, task: 'x-dev' }, { ...stat, task: 'x', split: 'dev' }, { ...stat, task: 'STS B' }, { ...stat, task: 'sts-b' }, { ...stat, task: 'STSBenchmark' }],
  };
  const ids = boxplotFigures([run], stat.statistic).map((f) => f.id);
  t.is(ids.length, 5);
  t.is(new Set(ids).size, 5, ids.join(', '));
  t.true(ids.includes(`boxplot-${stat.statistic}-stsbenchmark`), 'a task of its own keeps its plain name');
});
