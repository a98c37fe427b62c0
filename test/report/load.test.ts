import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.ts';
import { loadResults } from '../../src/report/load.ts';
import { handRun } from './fixtures/synthetic.ts';

const dir = mkdtempSync(join(tmpdir(), 'bb-report-load-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

test('a good file loads', (t) => {
  const p = file('good.json', JSON.stringify(handRun('good', { STS12: 0.5 })));
  t.is(loadResults(p).results.label, 'good');
});

const bad: [string, string, RegExp][] = [
  ['broken.json', '{"kind": "sts",', /not valid JSON/],
  ['foreign.json', '{"name": "package", "version": "1.0.0"}', /not a bellm-bench results file/],
  ['array.json', '[1, 2, 3]', /not a bellm-bench results file/],
  ['malformed.json', JSON.stringify({ ...handRun('m', { STS12: 0.5 }), tasks: [{ label: 'STS12', main: '0.5', subsets: [] }] }), /malformed sts results \(tasks\[0\]\.main is not a number\)/],
  ['degrade.json', JSON.stringify({ kind: 'degrade', label: 'd', settings: {}, mode: 'sideways' }), /malformed degrade results \("mode"/],
];
for (const [name, text, msg] of bad) {
  test(`bad input ${name}: one-line UserError naming the file`, (t) => {
    const p = file(name, text);
    const e = t.throws(() => loadResults(p), { instanceOf: UserError });
    t.true(e!.message.startsWith(`${p}: `));
    t.regex(e!.message, msg);
    t.false(e!.message.includes('\n'));
  });
}

test('a missing file is a UserError naming it', (t) => {
  const p = join(dir, 'nope.json');
  t.throws(() => loadResults(p), { instanceOf: UserError, message: new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read it \\(ENOENT\\)`) });
});
