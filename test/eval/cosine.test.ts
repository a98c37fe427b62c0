// cosine against goldens.json's stsbSample (cosines of the tiny model's `last` embeddings, numpy) and
// SentEval's nan_to_num behaviour (expected values: numpy's nan_to_num(cosine(nan_to_num(u), nan_to_num(v))))
import test from 'ava';
import { cosine } from '../../src/eval/cosine.ts';
import { pearson, spearman } from '../../src/eval/correlation.ts';
import { goldens } from '../helpers/shared.ts';

test('stsbSample: cosine of the golden embeddings, and scipy\'s Spearman/Pearson of them', (t) => {
  const g = goldens();
  const base = g.cases.find((c) => c.lora === 'none' && c.billmStartIndex === null && c.nLayers === null)!;
  const s = g.stsbSample;
  const cos = s.pairs.map((_, i) => cosine(base.pooling.last[2 * i], base.pooling.last[2 * i + 1]));
  t.is(g.sentences[0], s.pairs[0][0]);
  cos.forEach((c, i) => t.true(Math.abs(c - s.cosine[i]) < 1e-12, `pair ${i}: ${c} vs ${s.cosine[i]}`));
  t.true(Math.abs(spearman(cos, s.gold) - s.spearman) < 1e-9);
  t.true(Math.abs(pearson(cos, s.gold) - s.pearson) < 1e-9);
});

test('nan_to_num before and after: zero vectors and NaN score 0', (t) => {
  t.is(cosine([0, 0, 0], [1, 2, 3]), 0);
  t.is(cosine([0, 0], [0, 0]), 0);
  t.is(cosine([NaN, NaN], [1, 2]), 0);                     // NaN -> 0 gives a zero vector
  t.true(Math.abs(cosine([NaN, 1], [0, 1]) - 1) < 1e-15);  // NaN -> 0, then [0,1].[0,1]
  t.is(cosine([Infinity, 0], [1, 0]), 0);                  // inf -> 1.8e308, dot/norm overflow -> nan -> 0
  t.is(cosine(new Float32Array([Infinity, 0]), [1, 0]), 0); // numpy: 0 with float32 or float64 arrays
  t.true(Math.abs(cosine([1, 2, 3], [-1, -2, -3]) + 1) < 1e-15);
});
