// Decoder parity with ../shared/fixtures/goldens.json (an independent float64 forward checked
// against transformers and PEFT), at the fixture README's float32 tolerances.
import test from 'ava';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { POOLINGS } from '../../../src/backend/ops.ts';
import { packBatch, packBatchBillmCompat } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import type { LoadedModel } from '../../../src/model/arch/types.ts';
import { fixture, goldens } from '../../helpers/shared.ts';
import { BATCH_VARIANCE_REL, firstFailure } from '../../helpers/tolerance.ts';

const g = goldens();
const H = 64;
const split = (flat: Float32Array): Float32Array[] => Array.from({ length: flat.length / H }, (_, i) => flat.subarray(i * H, (i + 1) * H));

const models = new Map<string, LoadedModel>();
function model(base: string, lora: string | null): LoadedModel {
  const key = `${base}+${lora}`;
  if (!models.has(key)) models.set(key, loadModel(fixture(base), lora ? { lora: fixture(lora) } : {}));
  return models.get(key)!;
}

const variants: { base: string; lora: string | null; goldLora: 'none' | 'tiny-lora' }[] = [
  { base: 'tiny-llama', lora: null, goldLora: 'none' },
  { base: 'tiny-llama-fp16', lora: null, goldLora: 'none' },
  { base: 'tiny-llama', lora: 'tiny-lora', goldLora: 'tiny-lora' },
  { base: 'tiny-llama-fp16', lora: 'tiny-lora-bin', goldLora: 'tiny-lora' },
];

for (const v of variants) {
  test(`every golden case (${v.base}${v.lora ? ` + ${v.lora}` : ''}), all 51 sentences in one packed batch`, (t) => {
    const m = model(v.base, v.lora);
    if (v.lora) t.is(m.lora?.scale, g.loraScale);
    const dec = new Decoder(new CpuBackend(), m.config, m.weights);
    const batch = packBatch(g.inputIds);
    const cases = g.cases.filter((c) => c.lora === v.goldLora);
    t.true(cases.length >= 5);
    for (const c of cases) {
      const out = dec.forward(batch, { billmStartIndex: c.billmStartIndex, nLayers: c.nLayers, poolings: POOLINGS });
      for (const p of POOLINGS) {
        const label = `billmStartIndex=${c.billmStartIndex} nLayers=${c.nLayers} pooling=${p}`;
        t.is(firstFailure(label, split(out[p]!), c.pooling[p]), null);
      }
    }
  });
}

test('per-layer trace (sentence 0, billmStartIndex 2): names the first diverging layer', (t) => {
  const m = model('tiny-llama', null);
  const dec = new Decoder(new CpuBackend(), m.config, m.weights);
  const tr = g.layerTrace;
  const batch = packBatch([g.inputIds[tr.sentence]]);
  const T = g.inputIds[tr.sentence].length;
  for (let l = 0; l < tr.hiddenStates.length; l++) {
    const hs = split(dec.hiddenStates(batch, { billmStartIndex: tr.billmStartIndex, layer: l }));
    t.is(hs.length, T);
    t.is(firstFailure(`layer ${l} (0 = embeddings)`, hs, tr.hiddenStates[l]), null);
  }
  const fin = split(dec.hiddenStates(batch, { billmStartIndex: tr.billmStartIndex, layer: 'final' }));
  t.is(firstFailure('final norm', fin, tr.final), null);
});

test('BiLLM mask compat (right padding, pad id 0, bidirectional layers see padding) reproduces billmMaskCompat', (t) => {
  const m = model('tiny-llama', null);
  const dec = new Decoder(new CpuBackend(), m.config, m.weights);
  for (const c of g.billmMaskCompat) {
    t.is(c.padding, 'right');
    const batch = packBatchBillmCompat(c.sentences.map((i) => g.inputIds[i]), c.padId);
    const out = dec.forward(batch, { billmStartIndex: c.billmStartIndex, poolings: ['last', 'avg'] });
    t.is(firstFailure(`compat k=${c.billmStartIndex} last`, split(out.last!), c.pooling.last), null);
    t.is(firstFailure(`compat k=${c.billmStartIndex} avg`, split(out.avg!), c.pooling.avg), null);
    // Correct masking on the same batch differs from the compat numbers (padding is not attended).
    const correct = dec.forward(packBatch(c.sentences.map((i) => g.inputIds[i])), { billmStartIndex: c.billmStartIndex, poolings: ['avg'] });
    t.not(firstFailure('correct vs compat', split(correct.avg!), c.pooling.avg), null);
  }
});

test('batched embeddings equal one-at-a-time: bit for bit where the backend is batch-invariant, else each within the goldens\' tolerance and within BATCH_VARIANCE_REL of the other', (t) => {
  const m = model('tiny-llama', 'tiny-lora');
  const backend = new CpuBackend();
  const dec = new Decoder(backend, m.config, m.weights);
  const from = 20, to = 32;
  const ids = g.inputIds.slice(from, to);
  for (const k of [null, 0, 2]) {
    const batched = split(dec.forward(packBatch(ids), { billmStartIndex: k, poolings: ['last'] }).last!);
    const single = ids.map((x) => dec.forward(packBatch([x]), { billmStartIndex: k, poolings: ['last'] }).last!);
    if (backend.batchInvariant()) {
      // Same arithmetic per sequence, so bit-identical.
      t.deepEqual(batched.map((x) => Array.from(x)), single.map((x) => Array.from(x)), `k=${k}`);
      continue;
    }
    // A kernel that rounds a row by its batch position (OpenBLAS Haswell/Zen): both are float32 runs of
    // the same forward, so each meets the goldens' float32 tolerance, and they differ only in rounding.
    const c = g.cases.find((x) => x.lora === 'tiny-lora' && x.billmStartIndex === k && x.nLayers === null)!;
    const gold = c.pooling.last.slice(from, to);
    t.is(firstFailure(`batched k=${k} vs goldens`, batched, gold), null);
    t.is(firstFailure(`one at a time k=${k} vs goldens`, single, gold), null);
    t.is(firstFailure(`batched vs one at a time k=${k}`, batched, single, BATCH_VARIANCE_REL, 1 - 1e-9), null);
  }
  t.log(`${backend.name}: batch-invariant ${backend.batchInvariant()}`);
});
