// Decoder.dispose frees every uploaded weight once (an experiment grid opens one model after another).
import test from 'ava';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import type { WeightHandle } from '../../../src/backend/ops.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { CONFIGS, randomWeights } from '../../../benchmarks/cpu-throughput/workload.ts';

test('dispose frees the embedding, the final norm and the 9 weights of every layer, each once', (t) => {
  const config = CONFIGS.tiny;
  const backend = new CpuBackend();
  const uploaded: WeightHandle[] = [];
  const freed: WeightHandle[] = [];
  const upM = backend.uploadMatrix.bind(backend), upV = backend.uploadVector.bind(backend);
  backend.uploadMatrix = (m) => { const h = upM(m); uploaded.push(h); return h; };
  backend.uploadVector = (v) => { const h = upV(v); uploaded.push(h); return h; };
  backend.freeWeight = (w) => { freed.push(w); };
  const dec = new Decoder(backend, config, randomWeights(config, 3));
  dec.dispose();
  t.is(uploaded.length, 2 + 9 * config.num_hidden_layers);
  t.is(freed.length, uploaded.length);
  t.is(new Set(freed).size, freed.length);
  t.true(uploaded.every((h) => freed.includes(h)));
});
