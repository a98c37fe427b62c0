import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { repoRoot } from '../helpers/shared.ts';
import { UserError } from '../../src/errors.ts';
import { parseFormats, writeReport } from '../../src/report/report.ts';
import { handRun, syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'bb-report-'));
const A = syntheticSts('synthetic A', 1, 0.35, 20), B = syntheticSts('synthetic B', 2, 0.25, 20);

test('writeReport writes every default format; HTML is self-contained, figures before the long tables', async (t) => {
  const out = tmp();
  const { files } = await writeReport([A, B, syntheticDegrade()], out, { comparePaper: true, bootstrap: 100, seed: 1 });
  const rel = files.map((f) => f.slice(out.length + 1)).sort();
  const tables = ['bootstrap-synthetic-a-vs-synthetic-b', 'degrade-synthetic-degrade', 'paper', 'settings', 'sts', 'subsets-synthetic-a', 'subsets-synthetic-b'];
  const figs = ['boxplot-pivot-spearman-stsbenchmark', 'degradation', 'tasks-bar'];
  t.deepEqual(rel, [
    ...figs.flatMap((f) => ['pdf', 'png', 'svg'].map((e) => `figures/${f}.${e}`)), 'figures.tex',
    'report.html', 'report.json', 'report.md',
    ...tables.flatMap((x) => (x === 'settings' ? [`tables/${x}.csv`] : [`tables/${x}.csv`, `tables/${x}.tex`])),
  ].sort());
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.notRegex(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, 'no remote src/href');
  t.notRegex(html, /<link\b|<script\b|@import|url\(\s*["']?https?:/i, 'no external stylesheets or scripts');
  t.is(html.match(/<img [^>]*src="data:image\/svg\+xml;base64,/g)?.length, 3);
  for (const m of html.matchAll(/src="data:image\/svg\+xml;base64,([^"]+)"/g)) t.regex(Buffer.from(m[1], 'base64').toString('utf8'), /<svg\b/);
  t.true(html.includes('<td class="num">86.29</td>'), 'paper Avg printed');
  // order: contents, STS and paper tables, figures, then the long tables
  const at = (s: string) => { const i = html.indexOf(s); t.true(i >= 0, s); return i; };
  t.true(at('<nav class="contents">') < at('<section id="sts">'));
  t.true(at('<section id="sts">') < at('<section id="paper">'));
  t.true(at('<section id="paper">') < at('<h2 id="figures">'));
  t.true(at('<figure id="degradation">') < at('<section id="bootstrap-synthetic-a-vs-synthetic-b">'));
  t.true(at('<figure id="degradation">') < at('<section id="subsets-synthetic-a">'));
  for (const id of [...tables, ...figs]) t.true(html.includes(`<a href="#${id}">`), `contents links ${id}`);
  t.regex(html, /<img [^>]*style="width: 6\.6in"/); // twice the 3.3 in print width
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.deepEqual(json.tables.map((x: { id: string }) => x.id), ['sts', 'paper', 'bootstrap-synthetic-a-vs-synthetic-b', 'degrade-synthetic-degrade', 'subsets-synthetic-a', 'subsets-synthetic-b', 'settings']);
  t.is(json.paperReference.scores.Avg, 86.29);
  t.deepEqual(json.figures[0].size, { name: 'single', width: 3.3, height: 2.5 });
  const md = readFileSync(join(out, 'report.md'), 'utf8');
  t.true(md.includes('![Per-sentence pivot-spearman on STS-B test](figures/boxplot-pivot-spearman-stsbenchmark.png)'));
  t.true(md.indexOf('## Figures') < md.indexOf('## Paired bootstrap'), 'Markdown: figures before the long tables too');
  t.true(md.includes('[pdf](figures/degradation.pdf)'));
  const figTex = readFileSync(join(out, 'figures.tex'), 'utf8');
  t.true(figTex.includes('\\includegraphics[width=\\columnwidth]{figures/degradation.pdf}'));
});

test('tables in CSV and JSON carry the same hand-checkable numbers', async (t) => {
  const out = tmp();
  const run = handRun('bellm-like', { STS12: 0.78364, STS13: 0.90876, STS14: 0.862849, STS15: 0.89891, STS16: 0.865949, 'STS-B': 0.888851, 'SICK-R': 0.831749 });
  await writeReport([run], out, { formats: ['csv', 'json'] });
  t.deepEqual(readdirSync(out).sort(), ['report.json', 'tables']);
  const csv = parse(readFileSync(join(out, 'tables', 'sts.csv'), 'utf8')) as string[][];
  t.deepEqual(csv[1], ['bellm-like', '78.36', '90.88', '86.28', '89.89', '86.59', '88.89', '83.17', '86.29']);
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.deepEqual(json.tables[0].rows[0], ['bellm-like', 78.36, 90.88, 86.28, 89.89, 86.59, 88.89, 83.17, 86.29]);
  const settings = parse(readFileSync(join(out, 'tables', 'settings.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  t.is(settings[0].prompt, 'The representative word for sentence {text} is:"');
  t.is(settings[0].billmStartIndex, '31');
});

test('bootstrap of a run against a copy of itself: zeros', async (t) => {
  const out = tmp();
  const { report } = await writeReport([A, { ...structuredClone(A), label: 'copy' }], out, { formats: ['json'], bootstrap: 50 });
  for (const r of report.bootstrap[0].rows) t.deepEqual([r.delta, r.ciLow, r.ciHigh, r.signFlip], [0, 0, 0, 1]);
});

test('bootstrap skipped with a note when pairs are missing and not asked for; error when asked', async (t) => {
  const noPairs = handRun('no pairs', { STS12: 0.5 });
  const { report } = await writeReport([A, noPairs], tmp(), { formats: ['json'] });
  t.deepEqual(report.bootstrap, []);
  t.true(report.intro.some((l) => l.startsWith('Paired bootstrap skipped: results[1] (no pairs) has no per-pair predictions')));
  await t.throwsAsync(writeReport([A, noPairs], tmp(), { formats: ['json'], bootstrap: 10 }), { instanceOf: UserError });
});

test('option errors are UserErrors', async (t) => {
  t.throws(() => parseFormats('md,docx'), { instanceOf: UserError, message: "--formats: unknown 'docx'; choose from md,csv,json,html,tex,png,svg,pdf,mteb" });
  t.deepEqual(parseFormats('PNG, md,pdf'), ['png', 'md', 'pdf']);
  t.false(parseFormats(undefined).includes('mteb'), 'the MTEB export only when asked for');
  await t.throwsAsync(writeReport([syntheticDegrade()], tmp(), { comparePaper: true }), { instanceOf: UserError, message: /^--compare-paper: needs an sts results file/ });
  await t.throwsAsync(writeReport([A, B], tmp(), { formats: ['json'], baseline: 'C' }), { instanceOf: UserError, message: /^--baseline: no sts results labelled 'C'/ });
});

const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'bellm-bench.js'), 'report', ...args], { cwd: repoRoot, encoding: 'utf8' });

test('CLI: writes the report and prints the STS table', (t) => {
  const out = tmp();
  const fa = join(out, 'a.json'), fb = join(out, 'b.json');
  writeFileSync(fa, JSON.stringify(A));
  writeFileSync(fb, JSON.stringify(B));
  const r = cli([fa, fb, '--out', join(out, 'rep'), '--formats', 'md,csv', '--bootstrap', '20', '--compare-paper']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /\| Configuration \| STS12 \|/);
  t.regex(r.stdout, /\| BeLLM \(paper\) \| 78\.36 \|/);
  t.true(existsSync(join(out, 'rep', 'report.md')));
  t.true(existsSync(join(out, 'rep', 'tables', 'bootstrap-synthetic-a-vs-synthetic-b.csv')));
});

test('CLI: a foreign JSON fails with one line naming the file', (t) => {
  const out = tmp();
  const f = join(out, 'package.json');
  writeFileSync(f, '{"name": "x"}');
  const r = cli([f, '--out', join(out, 'rep')]);
  t.is(r.status, 2);
  t.is(r.stderr.trim().split('\n').length, 1);
  t.true(r.stderr.startsWith(`bellm-bench: ${f}: not a bellm-bench results file`));
});
