// The ranked comparison of several configurations (sts --preset a,b,c): order by Avg, and each row's
// paired bootstrap against the first configuration exactly as bootstrapCompare computes it.
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { bootstrapCompare } from '../../src/report/bootstrap.ts';
import { x100 } from '../../src/report/format.ts';
import { tableToMarkdown } from '../../src/report/markdown.ts';
import { rankedTable, rankRuns } from '../../src/report/rank.ts';
import { syntheticSts } from './fixtures/synthetic.ts';

// Same gold scores (goldSeed), different noise: less noise = higher Spearman.
const base = syntheticSts('base', 1, 0.5);
const good = syntheticSts('good', 2, 0.15);
const bad = syntheticSts('bad', 3, 0.9);

test('ranks by Avg, best first; the baseline has no delta; the others carry bootstrapCompare\'s Avg row', (t) => {
  const c = rankRuns([base, bad, good], { resamples: 300, seed: 5 });
  t.is(c.key, 'Avg');
  t.is(c.baseline, 'base');
  t.deepEqual(c.entries.map((e) => e.label), ['good', 'base', 'bad']);
  t.deepEqual(c.entries.map((e) => e.rank), [1, 2, 3]);
  t.true(good.table.Avg > base.table.Avg && base.table.Avg > bad.table.Avg);
  t.is(c.entries[1].vsBaseline, null);
  for (const [run, e] of [[good, c.entries[0]], [bad, c.entries[2]]] as const) {
    const want = bootstrapCompare(base, run, { resamples: 300, seed: 5 }).rows.find((r) => r.task === 'Avg')!;
    t.deepEqual(e.vsBaseline, want);
  }
  t.true(c.entries[0].vsBaseline!.delta > 0 && c.entries[0].vsBaseline!.ciLow > 0, 'much less noise: CI above zero');
  t.true(c.entries[2].vsBaseline!.ciHigh < 0);
});

test('the table: one row per configuration with scores, delta and CI x100; Markdown renders', (t) => {
  const c = rankRuns([base, good], { resamples: 200, seed: 1 });
  const tb = rankedTable(c);
  t.is(tb.rows.length, 2);
  const col = (k: string) => tb.columns.findIndex((x) => x.key === k);
  t.is(tb.rows[0][col('config')], 'good');
  t.is(tb.rows[0][col('Avg')], good.table.Avg);
  t.is(tb.rows[0][col('delta')], x100(c.entries[0].vsBaseline!.delta));
  t.is(tb.rows[1][col('delta')], null);
  t.regex(tableToMarkdown(tb), /\| 1 \| good \|/);
});

test('errors: fewer than two runs, duplicate labels', (t) => {
  t.throws(() => rankRuns([base], { resamples: 10, seed: 1 }), { instanceOf: UserError, message: /at least two/ });
  t.throws(() => rankRuns([base, syntheticSts('base', 2, 0.2)], { resamples: 10, seed: 1 }), { instanceOf: UserError, message: /labelled "base"/ });
});
