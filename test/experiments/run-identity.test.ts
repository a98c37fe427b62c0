// The run identity: every part counts, a setting added later counts without listing it, and a
// difference is named.
import test from 'ava';
import { embeddingSettings, identityDifference, runIdentity, type RunIdentityInput } from '../../src/experiments/results/run-identity.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';

const base: RunIdentityInput = {
  files: { weights: { 'config.json': 'a'.repeat(64), 'model.safetensors': 'b'.repeat(64) }, adapter: null, tokenizer: { 'tokenizer.model': 'c'.repeat(64) } },
  backend: 'cpu (openblas)',
  settings: { ...resolveSettings('bellm-sts', {}), billmStartIndex: null, nLayers: null },
  tasks: ['STSBenchmark'],
  data: { 'STS/STSBenchmark/sts-test.csv': 'd'.repeat(64) },
};

test('each part changes the hash and is named; equal inputs in any key order give equal identities', (t) => {
  const id = runIdentity(base);
  t.regex(id.hash, /^[0-9a-f]{64}$/);
  t.is(runIdentity({ ...base, settings: Object.fromEntries(Object.entries(base.settings).reverse()) }).hash, id.hash);
  const variants: [Partial<RunIdentityInput>, RegExp][] = [
    [{ files: { ...base.files, weights: { ...base.files.weights, 'model.safetensors': 'e'.repeat(64) } } }, /the model weights or config\.json differ/],
    [{ files: { ...base.files, adapter: { 'adapter_config.json': 'f'.repeat(64) } } }, /the LoRA adapter differ/],
    [{ files: { ...base.files, tokenizer: { 'tokenizer.json': 'c'.repeat(64) } } }, /the tokenizer files differ/],
    [{ backend: 'cuda-bf16' }, /the backend differ/],
    [{ settings: { ...base.settings, pooling: 'avg' } }, /the settings differ \(pooling: "last" vs "avg"\)/],
    // a setting no version of this file knows about still counts (e.g. a dtype added by another issue)
    [{ settings: { ...base.settings, dtype: 'fp16' } }, /the settings differ \(dtype: unset vs "fp16"\)/],
    [{ tasks: ['STS12', 'STSBenchmark'] }, /the task list differ \(STSBenchmark vs STS12,STSBenchmark\)/],
    [{ data: { 'STS/STSBenchmark/sts-test.csv': 'e'.repeat(64) } }, /the task data files differ/],
  ];
  for (const [change, re] of variants) {
    const other = { ...base, ...change };
    const b = runIdentity(other);
    t.not(b.hash, id.hash);
    t.regex(identityDifference({ identity: id, settings: base.settings, tasks: base.tasks }, { identity: b, settings: other.settings, tasks: other.tasks })!, re);
  }
  t.is(identityDifference({ identity: id }, { identity: runIdentity(base) }), null);
  t.regex(identityDifference({ identity: undefined }, { identity: id })!, /no recorded run identity/);
});

test('embedding settings: everything but batching, caching, progress and the preset name', (t) => {
  const s = resolveSettings('bellm-degrade', {});
  const e = embeddingSettings({ ...s, billmStartIndex: 2, batchTokens: 99, batchSize: 3, onProgress: () => {}, cache: null, newKnob: 7 } as never);
  t.deepEqual(e, { preprocess: s.preprocess, prompt: s.prompt, pooling: s.pooling, maxLength: s.maxLength, mask: s.mask, billmStartIndex: 2, nLayers: null, newKnob: 7 });
});
