// Default results names: a readable stem plus a hash of everything that makes the file what it is.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../src/errors.ts';
import { shortHash } from '../../src/experiments/results/identity.ts';
import { checkExplicitOut, defaultResultsPath, degradeDefaultPath, modelRef, resultsStem, stsDefaultPath, type ResultsIdentity } from '../../src/experiments/results/names.ts';
import { chosenTurningPoint } from '../../src/experiments/stats/turning-point.ts';
import { handRun, settings } from '../report/fixtures/synthetic.ts';

const base: ResultsIdentity = {
  kind: 'sts', model: '/m/tiny-llama', adapter: null, tasks: ['STSBenchmark'], split: 'test',
  settings: settings(), extra: { device: 'cpu' },
};

test('the name is <kind>-<stem>-<shortHash of the identity>.json, in reports/ by default', (t) => {
  t.is(defaultResultsPath(base, 'tiny-llama'), join('reports', `sts-tiny-llama-${shortHash(base)}.json`));
  t.is(defaultResultsPath(base, 's', { dir: 'out', shard: { index: 2, count: 4 } }), join('out', `sts-s-${shortHash(base)}.shard2of4.json`));
});

test('any change of any setting, task, split, model, adapter or extra option changes the name (property)', (t) => {
  const value = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean());
  fc.assert(fc.property(fc.constantFrom('preset', 'preprocess', 'prompt', 'pooling', 'maxLength', 'mask', 'billmStartIndex', 'nLayers', 'dtype', 'template'), value, (key, v) => {
    const s = { ...(base.settings as Record<string, unknown>) };
    fc.pre(s[key] !== v);
    s[key] = v;
    return defaultResultsPath({ ...base, settings: s }, 'x') !== defaultResultsPath(base, 'x');
  }));
  const variants: Partial<ResultsIdentity>[] = [
    { model: '/m/other' }, { adapter: '/a/lora' }, { tasks: ['STSBenchmark', 'SICKRelatedness'] }, { split: 'dev' },
    { kind: 'degrade' }, { extra: { device: 'cuda-bf16' } }, { extra: { device: 'cpu', batchSize: 16 } },
  ];
  const names = new Set([base, ...variants.map((v) => ({ ...base, ...v }))].map((id) => defaultResultsPath(id, 'x')));
  t.is(names.size, variants.length + 1);
  // a settings field another issue adds later is covered without touching names.ts
  t.not(defaultResultsPath({ ...base, settings: { ...(base.settings as object), dtype: 'bf16' } }, 'x'), defaultResultsPath(base, 'x'));
  // the same identity written in another key order is the same name
  t.is(defaultResultsPath({ ...base, settings: Object.fromEntries(Object.entries(base.settings as object).reverse()) }, 'x'), defaultResultsPath(base, 'x'));
});

test('sts: pooling, mask compat, k and the split give different names; the stem stays readable', (t) => {
  const run = handRun('r', { 'STS-B': 0.5 }, { billmStartIndex: null });
  const o = { model: 'models/tiny-llama', adapter: 'adapters/tiny-lora', backend: 'cpu (openblas)' };
  const plain = stsDefaultPath(run, o);
  t.regex(plain, /^reports\/sts-tiny-llama\+tiny-lora-[0-9a-f]{8}\.json$/);
  const avg = stsDefaultPath({ ...run, settings: { ...run.settings, pooling: 'avg' } }, o);
  const compat = stsDefaultPath({ ...run, settings: { ...run.settings, mask: 'billm' } }, o);
  const k3 = stsDefaultPath({ ...run, settings: { ...run.settings, billmStartIndex: 3 } }, o);
  const k3compat = stsDefaultPath({ ...run, settings: { ...run.settings, billmStartIndex: 3, mask: 'billm' } }, o);
  const dev = stsDefaultPath({ ...run, split: 'dev' }, o);
  t.is(new Set([plain, avg, compat, k3, k3compat, dev]).size, 6);
  t.regex(k3, /sts-tiny-llama\+tiny-lora\+k3-/);
  t.regex(dev, /sts-tiny-llama\+tiny-lora\+dev-/);
  // OpenBLAS or not is the same CPU numbers (to the last bits); a CUDA precision is not
  t.is(stsDefaultPath(run, { ...o, backend: 'cpu (js)' }), plain);
  t.not(stsDefaultPath(run, { ...o, backend: 'cuda-bf16' }), plain);
  t.not(stsDefaultPath(run, { ...o, extra: { sentenceStats: { pivot: { layer: '2' } } } }), plain);
});

test('degrade: every shard of one sweep shares stem and hash; mode and layers change it', (t) => {
  const o = { model: 'm/tiny-llama', backend: 'cpu', tasks: ['STSBenchmark'], split: 'test' as const, settings: settings(), mode: 'truncate', layers: [1, 2, 3, 4] };
  const whole = degradeDefaultPath(o);
  const s1 = degradeDefaultPath({ ...o, shard: { index: 1, count: 2 } });
  const s2 = degradeDefaultPath({ ...o, shard: { index: 2, count: 2 } });
  t.is(s1, whole.replace(/\.json$/, '.shard1of2.json'));
  t.is(s2, whole.replace(/\.json$/, '.shard2of2.json'));
  t.not(degradeDefaultPath({ ...o, mode: 'bidirectional' }), whole);
  t.not(degradeDefaultPath({ ...o, layers: [1, 2, 3] }), whole);
  t.regex(whole, /^reports\/degrade-tiny-llama\+truncate-[0-9a-f]{8}\.json$/);
});

test('helpers: model references, stems, and the --out refusal', (t) => {
  t.is(modelRef('.'), resolve('.'));
  t.is(modelRef('NousResearch/Llama-2-7b-hf'), 'NousResearch/Llama-2-7b-hf', 'a Hub id stays as given');
  t.is(resultsStem(['../x/tiny-llama/', 'NousResearch/Llama-2-7b-hf', null, false, 'k 3']), 'tiny-llama+Llama-2-7b-hf+k_3');
  const dir = mkdtempSync(join(tmpdir(), 'bb-names-'));
  const f = join(dir, 'r.json');
  t.notThrows(() => checkExplicitOut(f, false));
  writeFileSync(f, '{}');
  t.throws(() => checkExplicitOut(f, false), { instanceOf: UserError, message: `--out ${f} exists: pass --overwrite to replace it, or another --out (without --out the name is chosen from the settings)` });
  t.notThrows(() => checkExplicitOut(f, true));
});

test('turning point choice: largest-drop names the k before the steepest fall, change-point the two-line split', (t) => {
  const tp = { largestDrop: { k: 26, drop: 5 }, changePoint: { k: 23, sse: 0.1 } };
  t.deepEqual(chosenTurningPoint(tp, 'largest-drop'), { k: 26, method: 'largest-drop', text: 'largest one-step drop of Avg after k = 26' });
  t.deepEqual(chosenTurningPoint(tp, 'change-point'), { k: 23, method: 'change-point', text: 'two-line change point at k = 23' });
  t.is(chosenTurningPoint({ largestDrop: null, changePoint: null }, 'largest-drop'), null);
});

test('sts: a setting resolved for the run but not (yet) recorded in the results still changes the name', (t) => {
  const run = handRun('r', { 'STS-B': 0.5 }, { billmStartIndex: null });
  const o = { model: 'm/tiny-llama', backend: 'cpu' };
  const given = { ...run.settings };
  t.is(stsDefaultPath(run, { ...o, resolved: given }), stsDefaultPath(run, o), 'nothing new: the same name');
  t.not(stsDefaultPath(run, { ...o, resolved: { ...given, dtype: 'bf16' } }), stsDefaultPath(run, o));
});
