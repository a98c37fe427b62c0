import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { parseLayers, parseShard, shardLayers } from '../../src/experiments/run/layers.ts';
import { sweepCost } from '../../src/experiments/run/sweep.ts';
import { lineSse, turningPoint } from '../../src/experiments/stats/turning-point.ts';

test('--layers ranges, lists and mixes', (t) => {
  t.deepEqual(parseLayers('0..4', 4, 'bidirectional'), [0, 1, 2, 3, 4]);
  t.deepEqual(parseLayers('0,8,16', 32, 'bidirectional'), [0, 8, 16]);
  t.deepEqual(parseLayers('16, 0..2,2', 32, 'bidirectional'), [0, 1, 2, 16]);
  t.deepEqual(parseLayers('1..4', 4, 'truncate'), [1, 2, 3, 4]);
});

test('--layers errors: beyond the depth, empty, reversed, junk, 0 when truncating', (t) => {
  t.throws(() => parseLayers('0..33', 32, 'bidirectional'), { instanceOf: UserError, message: /33 is outside 0\.\.32/ });
  t.throws(() => parseLayers('', 32, 'bidirectional'), { instanceOf: UserError, message: /empty/ });
  t.throws(() => parseLayers('8..2', 32, 'bidirectional'), { instanceOf: UserError, message: /reversed; write 2\.\.8/ });
  t.throws(() => parseLayers('a..b', 32, 'bidirectional'), { instanceOf: UserError, message: /not a non-negative integer/ });
  t.throws(() => parseLayers('0,,1', 32, 'bidirectional'), { instanceOf: UserError });
  t.throws(() => parseLayers('0..4', 4, 'truncate'), { instanceOf: UserError, message: /0 is outside 1\.\.4/ });
});

test('--layers: huge ends are refused before a range is expanded (no hang, no allocation)', (t) => {
  t.throws(() => parseLayers('100000000000000000000', 32, 'bidirectional'), { instanceOf: UserError, message: /"100000000000000000000": 100000000000000000000 is outside 0\.\.32/ });
  t.throws(() => parseLayers('0..30000000', 32, 'bidirectional'), { instanceOf: UserError, message: /30000000 is outside 0\.\.32/ });
  t.throws(() => parseLayers('1..9007199254740993', 4, 'truncate'), { instanceOf: UserError, message: /9007199254740993 is outside 1\.\.4/ });
  t.throws(() => parseLayers('0..4,0..1000000000', 4, 'bidirectional'), { instanceOf: UserError, message: /1000000000 is outside/ });
});

test('--shard i/n splits k values round-robin and covers each exactly once', (t) => {
  const ks = [0, 1, 2, 3, 4, 5, 6];
  const parts = [1, 2, 3].map((i) => shardLayers(ks, parseShard(`${i}/3`)));
  t.deepEqual(parts, [[0, 3, 6], [1, 4], [2, 5]]);
  t.throws(() => parseShard('0/2'), { instanceOf: UserError });
  t.throws(() => parseShard('3/2'), { instanceOf: UserError });
  t.throws(() => parseShard('1-2'), { instanceOf: UserError });
});

test('layer passes: shared prefix vs independent runs', (t) => {
  // k = 0..4 on 4 layers: causal prefix 4 passes + branches 4+3+2+1+0 = 14, vs 5 runs x 4 layers = 20.
  t.deepEqual(sweepCost([0, 1, 2, 3, 4], 4, 'bidirectional'), { shared: 14, naive: 20 });
  // LLaMA-2-7B, k = 0..32: 32 + 528 = 560 vs 33 x 32 = 1056.
  t.deepEqual(sweepCost(Array.from({ length: 33 }, (_, k) => k), 32, 'bidirectional'), { shared: 560, naive: 1056 });
  t.deepEqual(sweepCost([1, 2, 3, 4], 4, 'truncate'), { shared: 4, naive: 10 });
});

test('turning point: largest one-step drop and the two-line change point', (t) => {
  const ks = [0, 1, 2, 3, 4, 5, 6, 7];
  const y = [80, 80.5, 81, 81.5, 82, 60, 58, 56];
  const tp = turningPoint(ks, y);
  t.deepEqual(tp.largestDrop, { k: 4, drop: 22 });
  t.is(tp.changePoint!.k, 5); // the second segment starts at k = 5: two exact lines, SSE 0
  t.true(tp.changePoint!.sse < 1e-12);
  t.deepEqual(turningPoint([0, 1, 2], [1, 2, 3]), { largestDrop: null, changePoint: null });
});

test('lineSse: 0 on a line, hand-computed residuals otherwise', (t) => {
  t.true(lineSse([0, 1, 2, 3], [1, 3, 5, 7]) < 1e-20);
  // Least-squares line y = 1 + 0.5x; residuals -0.5, 1, -0.5 (by hand): SSE 1.5.
  t.is(lineSse([1, 2, 3], [1, 3, 2]), 1.5);
});
