// Predictions files for `score`: accepted shapes and one-line errors that name the line.
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { formatFromPath, parsePredictions } from '../../src/eval/predictions.ts';

test('JSONL: numbers or {"score": x}, CRLF and a final newline allowed', (t) => {
  t.deepEqual(parsePredictions('0.5\n{"score": -1e-3}\r\n2\n', 'jsonl', 'p.jsonl'), [0.5, -0.001, 2]);
});

test('CSV: one column, optional header, quotes allowed', (t) => {
  t.deepEqual(parsePredictions('score\n0.5\n"0.25"\n1e2\n', 'csv', 'p.csv'), [0.5, 0.25, 100]);
  t.deepEqual(parsePredictions('0.5\r\n0.25', 'csv', 'p.csv'), [0.5, 0.25]);
});

test('bad values name the file and line', (t) => {
  const bad: [string, 'jsonl' | 'csv', RegExp][] = [
    ['0.5\nNaN\n', 'jsonl', /^p:2: not a finite number: NaN$/],
    ['0.5\n{"score": null}\n', 'jsonl', /^p:2: not a finite number/],
    ['0.5\n"0.5"\n', 'jsonl', /^p:2: not a finite number/],
    ['0.5\n\n0.1\n', 'jsonl', /^p:2: empty line/],
    ['score\n0.5\nnan\n', 'csv', /^p:3: not a finite number: nan$/],
    ['NaN\n0.5\n', 'csv', /^p:1: not a finite number: NaN$/],
    ['0.5\n0.1,0.2\n', 'csv', /^p:2: expected one column, found 2$/],
    ['0.5\n\n0.2\n', 'csv', /^p:2: empty line/],
    ['0.5\ninf\n', 'csv', /^p:2: not a finite number: inf$/],
  ];
  for (const [text, format, msg] of bad) t.throws(() => parsePredictions(text, format, 'p'), { instanceOf: UserError, message: msg }, JSON.stringify(text));
});

test('format follows the extension', (t) => {
  t.is(formatFromPath('a.csv'), 'csv');
  t.is(formatFromPath('a.jsonl'), 'jsonl');
  t.is(formatFromPath('a.json'), 'jsonl');
});
