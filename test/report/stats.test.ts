import test from 'ava';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/shared.ts';
import { mulberry32, pairedBootstrap } from '../../src/report/bootstrap.ts';
import { quantileSorted } from '../../src/report/stats.ts';

test('quantileSorted interpolates like numpy (type 7)', (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => i / 100);
  // h = 99 * 0.025 = 2.475 -> 0.02 + 0.475 * 0.01
  t.true(Math.abs(quantileSorted(xs, 0.025) - 0.02475) < 1e-12);
  t.true(Math.abs(quantileSorted(xs, 0.975) - 0.96525) < 1e-12);
  t.is(quantileSorted([3], 0.5), 3);
});

test("the bootstrap's own ranking reproduces scipy's Spearman on the full sample (ties included)", (t) => {
  const g = JSON.parse(readFileSync(fixture('correlation-goldens.json'), 'utf8')) as { cases: { x: number[]; y: number[]; spearman: number }[] };
  for (const c of g.cases) {
    const r = pairedBootstrap(c.x, c.y, c.y, 1, mulberry32(1));
    t.true(Math.abs(r.a - c.spearman) < 1e-12, `n=${c.x.length}: ${r.a} vs ${c.spearman}`);
  }
});
