import test from 'ava';
import { parse } from 'csv-parse/sync';
import { tableToCsv } from '../../src/report/csv.ts';
import { tableToMarkdown } from '../../src/report/markdown.ts';
import { formatPaperComparison } from '../../src/report/paper.ts';
import { degradeTable, paperTable, stsTable, subsetTable } from '../../src/report/tables.ts';
import type { DegradeResults } from '../../src/experiments/results/results.ts';
import { handRun, syntheticDegrade } from './fixtures/synthetic.ts';

// Raw Spearman values chosen to print as BeLLM's README row.
const bellmLike = handRun('bellm-like', { STS12: 0.78364, STS13: 0.90876, STS14: 0.862849, STS15: 0.89891, STS16: 0.865949, 'STS-B': 0.888851, 'SICK-R': 0.831749 });
const other = handRun('other', { STS12: 0.80001, STS13: 0.9, STS14: 0.8551, STS15: 0.9, STS16: 0.8701, 'STS-B': 0.88, 'SICK-R': 0.8 }, { billmStartIndex: null, mask: 'billm' });

test('STS table as Markdown, hand-checked', (t) => {
  const md = tableToMarkdown(stsTable([bellmLike, other]));
  const expected = [
    '## STS: Spearman correlation x100 (STS12-16: all; STS-B, SICK-R: test)',
    '',
    '| Configuration | STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R | Avg |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    '| bellm-like | 78.36 | 90.88 | 86.28 | 89.89 | 86.59 | 88.89 | 83.17 | 86.29 |',
    '| other | 80.00 | 90.00 | 85.51 | 90.00 | 87.01 | 88.00 | 80.00 | 85.79 |',
    '',
    '| Settings | preset | preprocess | prompt | pooling | maxLength | mask | billmStartIndex | nLayers | dtype |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    '| bellm-like | bellm-sts | bellm-sts | `The representative word for sentence {text} is:"` | last | 512 | correct | 31 | — | — |',
    '| other | bellm-sts | bellm-sts | `The representative word for sentence {text} is:"` | last | 512 | billm | — | — | — |',
  ].join('\n');
  t.is(md, expected);
});

test('compare-paper: deltas against the README numbers', (t) => {
  const tab = paperTable([bellmLike, other]);
  t.deepEqual(tab.rows[0], ['BeLLM (paper)', 78.36, 90.88, 86.28, 89.89, 86.59, 88.89, 83.17, 86.29]);
  t.deepEqual(tab.rows[2], ['Δ bellm-like − paper', 0, 0, 0, 0, 0, 0, 0, 0]);
  // 80.00-78.36, 90.00-90.88, 85.51-86.28, 90.00-89.89, 87.01-86.59, 88.00-88.89, 80.00-83.17, 85.79-86.29
  t.deepEqual(tab.rows[4], ['Δ other − paper', 1.64, -0.88, -0.77, 0.11, 0.42, -0.89, -3.17, -0.5]);
  const md = tableToMarkdown(tab);
  t.true(md.includes('| Δ other − paper | +1.64 | -0.88 | -0.77 | +0.11 | +0.42 | -0.89 | -3.17 | -0.50 |'));
  t.true(md.includes('https://github.com/4AI/BeLLM'));
  t.true(md.includes('arXiv:2311.05296'));
  t.true(md.includes('other: billmStartIndex none, the paper\'s is 31.'));
});

test('formatPaperComparison (for `sts`): the run beside the paper', (t) => {
  const text = formatPaperComparison({ STS12: 80, STS13: 90, STS14: 85.51, STS15: 90, STS16: 87.01, 'STS-B': 88, 'SICK-R': 80, Avg: 85.79 }, 'run');
  const lines = text.split('\n');
  t.is(lines[2], '| BeLLM (paper) | 78.36 | 90.88 | 86.28 | 89.89 | 86.59 | 88.89 | 83.17 | 86.29 |');
  t.is(lines[3], '| run | 80.00 | 90.00 | 85.51 | 90.00 | 87.01 | 88.00 | 80.00 | 85.79 |');
  t.is(lines[4], '| Δ (run − paper) | +1.64 | -0.88 | -0.77 | +0.11 | +0.42 | -0.89 | -3.17 | -0.50 |');
  t.regex(lines[6], /LLaMA-2-7B \+ BeLLM LoRA .*billmStartIndex 31.*github\.com\/4AI\/BeLLM.*2311\.05296/);
});

test('CSV parses back to the printed values', (t) => {
  const csv = tableToCsv(stsTable([bellmLike, handRun('with "quotes", comma', { STS12: 0.5 })]));
  const rows = parse(csv) as string[][];
  t.deepEqual(rows, [
    ['Configuration', 'STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R', 'Avg'],
    ['bellm-like', '78.36', '90.88', '86.28', '89.89', '86.59', '88.89', '83.17', '86.29'],
    ['with "quotes", comma', '50.00', '', '', '', '', '', '', '50.00'],
  ]);
});

test('a run with fewer tasks: Avg over those present, and a note saying so', (t) => {
  const tab = stsTable([handRun('two', { 'STS-B': 0.8, 'SICK-R': 0.7 })]);
  t.deepEqual(tab.columns.map((c) => c.key), ['config', 'STS-B', 'SICK-R', 'Avg']);
  t.deepEqual(tab.rows[0], ['two', 80, 70, 75]);
  t.deepEqual(tab.notes, ['two: Avg is over 2 of 7 STS tasks.']);
});

test('a stored table that disagrees with tasks[].main is flagged', (t) => {
  const run = structuredClone(bellmLike);
  run.table['STS13'] = 90.87;
  t.true(stsTable([run]).notes.some((n) => n.includes('differs at STS13 (90.87 vs 90.88)')));
});

test('per-subset table: subsets then all / mean / wmean', (t) => {
  const run = structuredClone(bellmLike);
  run.tasks = [{
    task: 'STS12', label: 'STS12', main: 0.7,
    all: { pearson: 0.71, spearman: 0.7 }, mean: { pearson: 0.65, spearman: 0.66 }, wmean: { pearson: 0.68, spearman: 0.675 },
    subsets: [{ name: 'MSRpar', n: 750, pearson: 0.6, spearman: 0.61 }, { name: 'MSRvid', n: 750, pearson: 0.7, spearman: 0.71 }],
  }];
  const tab = subsetTable(run);
  t.deepEqual(tab.rows, [
    ['STS12', 'MSRpar', 750, 60, 61],
    ['STS12', 'MSRvid', 750, 70, 71],
    ['STS12', 'all', 1500, 71, 70],
    ['STS12', 'mean', null, 65, 66],
    ['STS12', 'wmean', null, 68, 67.5],
  ]);
  t.true(tableToMarkdown(tab).includes('| STS12 | wmean | — | 68.00 | 67.50 |'));
});

function tinyDegrade(): DegradeResults {
  const d = syntheticDegrade();
  const row = (k: number, v: number) => {
    const tasks = handRun('x', { STS12: v, STS13: v, STS14: v, STS15: v, STS16: v, 'STS-B': v, 'SICK-R': v }).tasks;
    return { k, tasks, table: {} };
  };
  return { ...d, mode: 'bidirectional', layers: [29, 30, 31, 32], rows: [row(29, 0.75), row(30, 0.76), row(31, 0.7)],
    turningPoint: { largestDrop: { k: 30, drop: 6 }, changePoint: null }, work: { layerPasses: 35, naiveLayerPasses: 96 } };
}

test('degradation table: k rows, turning point and layer passes stated', (t) => {
  const tab = degradeTable(tinyDegrade());
  t.deepEqual(tab.rows.map((r) => [r[0], r[8]]), [[29, 75], [30, 76], [31, 70]]);
  t.is(tab.columns[0].title, 'k (causal layers)');
  const notes = tab.notes.join('\n');
  t.true(notes.includes('after k = 30, Avg 76.00 → 70.00 at k = 31 (-6.00)'));
  t.true(notes.includes('Layer passes: 35 done vs 96 for independent runs per k (63.5% saved'));
  t.true(notes.includes('Two-segment change point: none'));
  t.true(notes.includes('Not finished: k = 32.'));
  t.true(tableToMarkdown(tab).includes('| 30 | 76.00 | 76.00 | 76.00 | 76.00 | 76.00 | 76.00 | 76.00 | 76.00 |'));
});
