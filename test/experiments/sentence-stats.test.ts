// pivot-spearman and the STS-B sample against the goldens (scipy values from a float64 forward).
import test from 'ava';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { cosine } from '../../src/eval/cosine.ts';
import { pearson, spearman } from '../../src/eval/correlation.ts';
import { pivotSpearman } from '../../src/eval/pivot-spearman.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Decoder } from '../../src/model/arch/decoder.ts';
import { loadModel } from '../../src/model/formats/load.ts';
import { fixture, goldens } from '../helpers/shared.ts';

const g = goldens();
const m = loadModel(fixture('tiny-llama'));
const dec = new Decoder(new CpuBackend(), m.config, m.weights);
const H = m.config.hidden_size;

test('pivot-spearman matches sentenceStats (with and without BOS) to 1e-3 for every golden sentence', (t) => {
  t.is(g.sentenceStats.cases.length, 2);
  for (const c of g.sentenceStats.cases) {
    const batch = packBatch(g.inputIds);
    const hs = dec.hiddenStates(batch, { billmStartIndex: c.billmStartIndex, layer: 'final' });
    g.inputIds.forEach((ids, i) => {
      const states = hs.subarray(batch.starts[i] * H, batch.starts[i + 1] * H);
      const withBos = pivotSpearman(states, ids.length, H, { includeBos: true });
      const noBos = pivotSpearman(states, ids.length, H, { includeBos: false });
      t.true(Math.abs(withBos - c.pivotSpearman[i]) <= 1e-3, `k=${c.billmStartIndex} #${i}: ${withBos} vs ${c.pivotSpearman[i]}`);
      t.true(Math.abs(noBos - c.pivotSpearmanWithoutBos[i]) <= 1e-3, `k=${c.billmStartIndex} #${i} without BOS: ${noBos} vs ${c.pivotSpearmanWithoutBos[i]}`);
    });
  }
});

test('STS-B sample: cosines of last-pooled causal embeddings and their Spearman/Pearson match scipy', (t) => {
  const n = g.stsbSample.pairs.length;
  t.is(n, 23);
  const out = dec.forward(packBatch(g.inputIds.slice(0, 2 * n)), { billmStartIndex: null, poolings: ['last'] }).last!;
  const v = (i: number) => out.subarray(i * H, (i + 1) * H);
  // The first 46 golden sentences are the 23 pairs, s1 then s2.
  g.stsbSample.pairs.forEach(([a, b], i) => { t.is(g.sentences[2 * i], a); t.is(g.sentences[2 * i + 1], b); });
  const cos = Array.from({ length: n }, (_, i) => cosine(v(2 * i), v(2 * i + 1)));
  cos.forEach((c, i) => t.true(Math.abs(c - g.stsbSample.cosine[i]) < 1e-5, `pair ${i}: ${c} vs ${g.stsbSample.cosine[i]}`));
  t.true(Math.abs(spearman(cos, g.stsbSample.gold) - g.stsbSample.spearman) < 1e-9);
  t.true(Math.abs(pearson(cos, g.stsbSample.gold) - g.stsbSample.pearson) < 1e-5);
});

test('sentenceSpan: the sentence tokens inside the prompt are the sentence tokenized alone', async (t) => {
  const { sentenceSpan } = await import('../../src/experiments/stats/sentence-stats.ts');
  const { Embedder } = await import('../../src/model/embed/embedder.ts');
  const { loadTokenizer } = await import('../../src/model/tokenize/tokenizer.ts');
  const { preprocess, resolveSettings } = await import('../../src/model/presets/presets.ts');
  const tok = loadTokenizer(fixture('tiny-llama'));
  const e = new Embedder(m, tok, new CpuBackend());
  const s = resolveSettings('bellm-sts', {});
  let checked = 0;
  g.sentencepieceIds.forEach((ids, i) => {
    const { from, to } = sentenceSpan(e, s, ids);
    t.is(from, 6, `sentence ${i}`);
    t.is(ids.length - to, 2, `sentence ${i}`);
    t.deepEqual(ids.slice(from, to), tok.encode(preprocess(g.sentences[i], 'bellm-sts')).slice(1), `sentence ${i}`);
    checked++;
  });
  t.is(checked, 51);
  // Leaving out BOS and the prompt changes the statistic (fewer, different tokens take part).
  const batch = packBatch([g.sentencepieceIds[0]]);
  const hs = dec.hiddenStates(batch, { billmStartIndex: null, layer: 'final' });
  const T = g.sentencepieceIds[0].length;
  const all = pivotSpearman(hs, T, H, { includeBos: true });
  const own = pivotSpearman(hs, T, H, { includeBos: false, span: sentenceSpan(e, s, g.sentencepieceIds[0]) });
  t.not(all, own);
});
