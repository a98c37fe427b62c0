// The table formatter against Python's '%.2f' and SimCSE's evaluation.py averaging.
import test from 'ava';
import { formatStsTable, pyFixed2, tableCells } from '../../src/eval/table.ts';

test('pyFixed2 is Python\'s "%.2f" (exact ties round half to even)', (t) => {
  // python3 -c "print(['%.2f' % x for x in [...]])"
  const cases: [number, string][] = [[12.125, '12.12'], [-12.125, '-12.12'], [12.375, '12.38'], [-0, '-0.00'], [-0.001, '-0.00'],
    [78.365, '78.36'], [0.78365 * 100, '78.36'], [1.005, '1.00'], [2.675, '2.67'], [0.125, '0.12'], [0.135, '0.14'],
    [99.995, '100.00'], [100, '100.00'], [5e-324, '0.00'], [12.135, '12.13'], [NaN, 'nan']];
  for (const [x, s] of cases) t.is(pyFixed2(x), s, String(x));
});

test('Avg is the mean of the seven printed numbers (SimCSE paper, unsup-SimCSE-BERTbase row: avg 76.25)', (t) => {
  const printed = [68.40, 82.41, 74.38, 80.91, 78.56, 76.85, 72.23];
  const scores = Object.fromEntries(['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark', 'SICKRelatedness'].map((n, i) => [n, printed[i] / 100]));
  t.deepEqual(tableCells(scores), ['68.40', '82.41', '74.38', '80.91', '78.56', '76.85', '72.23', '76.25']);
});

test('Avg averages the rounded numbers, not the raw ones', (t) => {
  // Python: p = ['%.2f' % (x * 100) for x in v]; '%.2f' % (sum(map(float, p)) / 7) -> '50.01',
  // while '%.2f' % (sum(x * 100 for x in v) / 7) -> '50.00'.
  const v = [0.49998, 0.500050001, 0.500050001, 0.500050001, 0.500050001, 0.500050001, 0.500050001];
  const s = Object.fromEntries(['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R'].map((l, i) => [l, v[i]]));
  t.deepEqual(tableCells(s), ['50.00', '50.01', '50.01', '50.01', '50.01', '50.01', '50.01', '50.01']);
});

test('missing tasks print "-" and leave Avg "-"; labels and names both key a row', (t) => {
  t.deepEqual(tableCells({ 'STS-B': 0.8, SICKRelatedness: 0.7 }), ['-', '-', '-', '-', '-', '80.00', '70.00', '-']);
  const md = formatStsTable([{ label: 'run', scores: { STS12: 0.5 } }], 'markdown', 'model');
  t.is(md.split('\n')[0], '| model | STS12 | STS13 | STS14 | STS15 | STS16 | STS-B | SICK-R | Avg |');
  t.is(md.split('\n')[2], '| run | 50.00 | - | - | - | - | - | - | - |');
  const text = formatStsTable([{ label: 'a', scores: { STS12: 0.5 } }]).split('\n');
  t.is(text.length, 2);
  t.regex(text[1], /^a\s+50\.00\s+-/);
});
