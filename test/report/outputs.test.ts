// Report inputs and exports: folders, --label, dev-split runs, score results as configurations, MTEB files.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.ts';
import type { StsResults } from '../../src/experiments/results/results.ts';
import { applyLabels } from '../../src/report/labels.ts';
import { collectResults, parseResults, type LoadedResults } from '../../src/report/load.ts';
import { MTEB_NOTE } from '../../src/report/mteb.ts';
import { buildReport, writeReport } from '../../src/report/report.ts';
import { repoRoot } from '../helpers/shared.ts';
import { syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'bb-outputs-'));
const A = syntheticSts('synthetic A', 1, 0.35, 20), B = syntheticSts('synthetic B', 2, 0.25, 20);
const loaded = (file: string, results: LoadedResults['results']): LoadedResults => ({ file, results });

/** A dev-split run: STS-B and SICK-R only, marked split 'dev'. */
function devRun(label: string, seed: number): StsResults {
  const r = syntheticSts(label, seed, 0.3, 20, 11);
  return { ...r, split: 'dev', tasks: r.tasks.filter((x) => x.label === 'STS-B' || x.label === 'SICK-R'), sentenceStats: r.sentenceStats!.map((s) => ({ ...s, split: 'dev' as const })) };
}

test('--label RESULT=NAME: by file name, with or without .json, or by label (labels may hold "=")', (t) => {
  const k2 = { ...B, label: 'tiny+lora k=2' };
  const items = [loaded('runs/a.json', A), loaded('runs/b.json', k2)];
  t.deepEqual(applyLabels(items, ['a=Base', 'tiny+lora k=2=Adapter k=2']).map((x) => x.results.label), ['Base', 'Adapter k=2']);
  t.deepEqual(applyLabels(items, ['b.json=B']).map((x) => x.results.label), ['synthetic A', 'B']);
  t.deepEqual(applyLabels(items, ['runs/a.json=X']).map((x) => x.results.label), ['X', 'tiny+lora k=2']);
  t.is(A.label, 'synthetic A', 'inputs are not changed');
  const err = (specs: string[], re: RegExp) => t.throws(() => applyLabels(items, specs), { instanceOf: UserError, message: re });
  err(['c=Z'], /^--label c=Z: no results file or label 'c'; results: a\.json \('synthetic A'\), b\.json \('tiny\+lora k=2'\)$/);
  err(['Base'], /write RESULT=NAME/);
  err(['a='], /the new name is empty/);
  err(['a=X', 'a.json=Y'], /a\.json is already renamed to 'X'/);
  t.throws(() => applyLabels([loaded('x/a.json', A), loaded('y/b.json', A)], ['synthetic A=Q']), { instanceOf: UserError, message: /names more than one result \(a\.json, b\.json\)/ });
});

test('a report renames configurations everywhere (tables, bootstrap, figures)', (t) => {
  const r = buildReport([loaded('a.json', A), loaded('b.json', B)], { labels: ['a=Base', 'b=LoRA'], bootstrap: 20 });
  t.deepEqual(r.tables[0].rows.map((row) => row[0]), ['Base', 'LoRA']);
  t.deepEqual(r.tables.map((x) => x.id), ['sts', 'bootstrap-base-vs-lora', 'subsets-base', 'subsets-lora', 'settings']);
  t.deepEqual(r.figures.find((f) => f.id === 'tasks-bar')!.config().data.datasets.map((d) => d.label), ['Base', 'LoRA']);
});

test('dev-split runs get their own table, bar chart and box plot; bootstrap only within a split; no paper comparison', (t) => {
  const r = buildReport([loaded('t.json', A), loaded('d1.json', devRun('dev one', 3)), loaded('d2.json', devRun('dev two', 4))], { bootstrap: 20, comparePaper: true });
  t.deepEqual(r.tables.map((x) => x.id), ['sts', 'paper', 'sts-dev', 'bootstrap-dev-one-vs-dev-two', 'subsets-synthetic-a', 'subsets-dev-one', 'subsets-dev-two', 'settings']);
  t.is(r.lead, 3);
  const dev = r.tables.find((x) => x.id === 'sts-dev')!;
  t.regex(dev.title, /dev split.*STS-B dev, SICK-R trial; not the reported test numbers/);
  t.deepEqual(dev.columns.map((c) => c.key), ['config', 'STS-B', 'SICK-R', 'Avg']);
  t.deepEqual(r.tables.find((x) => x.id === 'paper')!.rows.map((row) => row[0]).filter((x) => !String(x).startsWith('Δ')), ['BeLLM (paper)', 'synthetic A']);
  t.deepEqual(r.figures.map((f) => f.id), ['tasks-bar', 'tasks-bar-dev', 'boxplot-pivot-spearman-stsbenchmark', 'boxplot-pivot-spearman-stsbenchmark-dev']);
  t.throws(() => buildReport([loaded('d1.json', devRun('d', 3))], { comparePaper: true }), { instanceOf: UserError, message: /--compare-paper: needs an sts results file of the test split/ });
});

test('a score results file is a configuration: settings unknown, bootstrap against sts runs works', (t) => {
  const score = {
    kind: 'score', label: 'outside tool', sources: [{ task: 'STSBenchmark', file: '/x/p.jsonl', format: 'jsonl', sha256: 'ab' }],
    provenance: { tool: { name: 'bellm-bench', version: '0' }, createdAt: '2000-01-01T00:00:00.000Z', data: { dir: '/d', checksums: {} } },
    tasks: B.tasks, table: B.table,
  };
  const parsed = parseResults(JSON.parse(JSON.stringify(score)), 'score.json') as StsResults;
  t.is(parsed.kind, 'sts');
  t.deepEqual(parsed.external!.sources[0].task, 'STSBenchmark');
  const r = buildReport([loaded('a.json', A), loaded('score.json', parsed)], { bootstrap: 50 });
  const boot = r.bootstrap[0];
  t.is(boot.labelB, 'outside tool');
  t.is(boot.rows.find((x) => x.task === 'STS-B')!.b, B.tasks.find((x) => x.label === 'STS-B')!.main);
  t.true(r.intro.some((l) => l.startsWith('Source: outside tool: score.json (score (predictions made outside bellm-bench)')));
  t.deepEqual(r.tables.find((x) => x.id === 'settings')!.rows[1].slice(0, 3), ['outside tool', 'external (score)', null]);
});

test('--formats mteb: one TaskResult file per task under mteb/<model>/<revision>/, with the note', async (t) => {
  const out = tmp();
  const { files } = await writeReport([loaded('a.json', A), loaded('d.json', devRun('dev run', 5))], out, { formats: ['mteb'] });
  const rel = files.map((f) => f.slice(out.length + 1)).sort();
  t.deepEqual(rel, [
    'mteb/README.md',
    ...['SICK-R', 'STSBenchmark'].map((x) => `mteb/dev_run/no_revision_available/${x}.json`),
    ...['SICK-R', 'STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark'].map((x) => `mteb/synthetic_A/no_revision_available/${x}.json`),
  ]);
  const sts12 = JSON.parse(readFileSync(join(out, 'mteb/synthetic_A/no_revision_available/STS12.json'), 'utf8'));
  // the fields MTEB's TaskResult requires, with their types
  t.is(sts12.task_name, 'STS12');
  t.is(typeof sts12.dataset_revision, 'string');
  t.is(sts12.mteb_version, null);
  t.is(sts12.evaluation_time, null);
  const s = A.tasks[0];
  t.deepEqual(sts12.scores, { test: [{ main_score: s.main, cosine_spearman: s.main, cosine_pearson: s.all.pearson, hf_subset: 'default', languages: ['eng-Latn'] }] });
  const stsb = JSON.parse(readFileSync(join(out, 'mteb/synthetic_A/no_revision_available/STSBenchmark.json'), 'utf8'));
  const tb = A.tasks.find((x) => x.task === 'STSBenchmark')!;
  t.is(stsb.scores.test[0].cosine_pearson, tb.subsets.find((x) => x.name === 'test')!.pearson);
  const dev = JSON.parse(readFileSync(join(out, 'mteb/dev_run/no_revision_available/SICK-R.json'), 'utf8'));
  t.deepEqual(Object.keys(dev.scores), ['validation']);
  const note = readFileSync(join(out, 'mteb/README.md'), 'utf8');
  t.is(note, `${MTEB_NOTE}\n`);
  t.regex(note, /NOT interchangeable/);
  t.regex(note, /SentEval's SICK test split \(4,927 pairs\); MTEB's SICK-R scores all 9,927 SICK pairs/);
  t.regex(note, /SimCSE's `all` aggregation/);
  await t.throwsAsync(writeReport([loaded('d.json', syntheticDegrade())], tmp(), { formats: ['mteb'] }), { instanceOf: UserError, message: /--formats mteb: needs sts or score results/ });
});

const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'bellm-bench.js'), 'report', ...args], { cwd: repoRoot, encoding: 'utf8' });

test('CLI: report takes a folder (every results file in it, others skipped), --label, --format mteb', (t) => {
  const dir = tmp();
  const runs = join(dir, 'runs');
  mkdirSync(join(runs, 'old-report'), { recursive: true });
  writeFileSync(join(runs, 'b.json'), JSON.stringify(B));
  writeFileSync(join(runs, 'a.json'), JSON.stringify(A));
  writeFileSync(join(runs, 'd.json'), JSON.stringify(syntheticDegrade()));
  writeFileSync(join(runs, 'report.json'), JSON.stringify({ tool: 'bellm-bench report' }));
  writeFileSync(join(runs, 'notes.txt'), 'not json');
  const r = cli([runs, '--out', join(dir, 'rep'), '--format', 'md,json,mteb', '--bootstrap', '0', '--label', 'a=Base']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /^skipped 1 JSON file\(s\) that are not results: report\.json$/m);
  const json = JSON.parse(readFileSync(join(dir, 'rep', 'report.json'), 'utf8'));
  t.deepEqual(json.sources.map((s: { label: string }) => s.label), ['Base', 'synthetic B', 'synthetic degrade']);
  t.deepEqual(readdirSync(join(dir, 'rep', 'mteb')).sort(), ['Base', 'README.md', 'synthetic_B']);
  // a folder lists its runs in the order they were made (provenance.createdAt), not by name
  const ordered = join(dir, 'ordered');
  mkdirSync(ordered);
  const at = (r: StsResults, createdAt: string) => ({ ...r, provenance: { ...r.provenance, createdAt } });
  writeFileSync(join(ordered, 'a.json'), JSON.stringify(at(A, '2024-01-02T00:00:00.000Z')));
  writeFileSync(join(ordered, 'z.json'), JSON.stringify(at(B, '2024-01-01T00:00:00.000Z')));
  t.deepEqual(collectResults([ordered]).loaded.map((l) => l.results.label), ['synthetic B', 'synthetic A']);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const e = cli([empty, '--out', join(dir, 'rep2')]);
  t.is(e.status, 2);
  t.is(e.stderr.trim(), `bellm-bench: ${empty}: no results files in this folder (*.json written by \`bellm-bench sts\`, \`degrade\` or \`score --out\`)`);
  const missing = cli([join(dir, 'nope'), '--out', join(dir, 'rep3')]);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /nope: cannot read it \(ENOENT\)/);
  const badLabel = cli([runs, '--out', join(dir, 'rep4'), '--label', 'zzz=Q']);
  t.is(badLabel.status, 2);
  t.deepEqual(badLabel.stderr.trim().split('\n').filter((l) => l.startsWith('bellm-bench:')), ["bellm-bench: --label zzz=Q: no results file or label 'zzz'; results: a.json ('synthetic A'), b.json ('synthetic B'), d.json ('synthetic degrade')"]);
});

test('the results files in reports/examples still load (older files without split or cached counts)', (t) => {
  const { loaded: l } = collectResults([join(repoRoot, 'reports', 'examples', 'tiny')]);
  t.true(l.length >= 2);
  const r = buildReport(l, { bootstrap: 0 });
  t.true(r.tables.some((x) => x.id.startsWith('degrade-')));
  t.true(r.figures.some((f) => f.id === 'degradation'));
});
