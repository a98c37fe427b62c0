// PEFT LoRA adapters (safetensors and torch.save .bin), merge math, and refusals. Parity of the merged
// model with goldens.json is checked by the decoder tests.
import test from 'ava';
import { unzipSync, zipSync } from 'fflate';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { loadOpenBlas, openBlasStatus } from '../../../src/backend/cpu/blas.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { isTargeted, mergeLora, normalizeAdapterConfig, openAdapter, patternValue, peftSelects } from '../../../src/model/adapters/lora.ts';
import { readConfig } from '../../../src/model/formats/config.ts';
import { SafetensorsFile } from '../../../src/model/formats/safetensors.ts';
import { TorchBinFile } from '../../../src/model/formats/torch-bin.ts';
import { copyDir, editZip, indexOfBytes, seededFloats, tempDir, writeF32Safetensors } from '../../helpers/damaged.ts';
import { fixture } from '../../helpers/shared.ts';

const BIN = fixture('tiny-lora-bin/adapter_model.bin');
const ST = fixture('tiny-lora/adapter_model.safetensors');
const KEY = (l: number, block: string, m: string, ab: 'A' | 'B') => `base_model.model.model.layers.${l}.${block}.${m}.lora_${ab}.weight`;
const baseConfig = () => readConfig(fixture('tiny-llama-fp16'));
const adapterConfig = () => JSON.parse(fs.readFileSync(fixture('tiny-lora/adapter_config.json'), 'utf8')) as Record<string, unknown>;

/** A writable copy of tiny-lora with adapter_config.json edited. */
function adapterWith(t: Parameters<typeof tempDir>[0], edit: (c: Record<string, unknown>) => void, from = 'tiny-lora'): string {
  const dir = copyDir(fixture(from), tempDir(t));
  const c = adapterConfig();
  edit(c);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(c));
  return dir;
}

/** W + scale * B @ A in float64, summed over k ascending, rounded to f32 once. */
function naiveMerge(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inn: number, r: number, scale: number): Float32Array {
  const res = new Float32Array(w.length);
  for (let o = 0; o < out; o++)
    for (let j = 0; j < inn; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[o * r + k] * a[k * inn + j];
      res[o * inn + j] = w[o * inn + j] + scale * s;
    }
  return res;
}

test('adapter_model.bin (torch.save zip) gives bit-identical tensors to adapter_model.safetensors', (t) => {
  const bin = TorchBinFile.open(BIN);
  const st = SafetensorsFile.open(ST);
  t.deepEqual(bin.names().sort(), st.names().sort());
  t.is(bin.names().length, 4 * 7 * 2);
  for (const n of st.names()) {
    t.deepEqual(bin.shape(n), st.shape(n), n);
    t.is(bin.dtype(n), 'F32');
    const x = bin.read(n), y = st.read(n);
    t.deepEqual(new Uint8Array(x.buffer), new Uint8Array(y.buffer), n);
  }
  const ref = bin.ref(KEY(0, 'self_attn', 'q_proj', 'A'));
  t.deepEqual([ref.shape, ref.stride, ref.offset], [[8, 64], [64, 1], 0]);
});

test('merged W equals W + scale * B @ A computed naively (q_proj and down_proj)', (t) => {
  const base = loadModel(fixture('tiny-llama-fp16'));
  const logs: string[] = [];
  const m = loadModel(fixture('tiny-llama-fp16'), { lora: fixture('tiny-lora'), loraMerge: 'js', log: (s) => logs.push(s) });
  const st = SafetensorsFile.open(ST);
  for (const [l, block, mod, out, inn] of [[0, 'self_attn', 'q_proj', 64, 64], [3, 'mlp', 'down_proj', 64, 176]] as const) {
    const a = st.read(KEY(l, block, mod, 'A')), b = st.read(KEY(l, block, mod, 'B'));
    const want = naiveMerge(base.weights.layers[l][mod].data, a, b, out, inn, 8, 2);
    t.deepEqual(m.weights.layers[l][mod].data, want, `${mod} layer ${l}`);
    t.notDeepEqual(m.weights.layers[l][mod].data, base.weights.layers[l][mod].data);
  }
  t.deepEqual(m.weights.layers[1].input_layernorm, base.weights.layers[1].input_layernorm);
  t.deepEqual(m.lora, {
    dir: fixture('tiny-lora'), format: 'safetensors', r: 8, lora_alpha: 16, use_rslora: false, scale: 2,
    target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], mergedTensors: 28,
    sha256: crypto.createHash('sha256').update(fs.readFileSync(ST)).digest('hex'),
    files: {
      'adapter_config.json': crypto.createHash('sha256').update(fs.readFileSync(fixture('tiny-lora/adapter_config.json'))).digest('hex'),
      'adapter_model.safetensors': crypto.createHash('sha256').update(fs.readFileSync(ST)).digest('hex'),
    },
  });
  t.deepEqual(logs, [`merged LoRA ${fixture('tiny-lora')} (safetensors, r=8, alpha=16, scale=2) into 28 tensors with JS reference`]);
});

test('OpenBLAS merge (the default when it loads) matches the JS reference to float32 rounding', (t) => {
  if (!loadOpenBlas()) {
    t.log(`skipped: ${openBlasStatus()}`);
    t.pass();
    return;
  }
  const logs: string[] = [];
  const ref = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora'), loraMerge: 'js' });
  const fast = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora'), log: (s) => logs.push(s) });
  t.regex(logs[0], /with OpenBLAS sgemm$/);
  let worst = 0;
  for (let l = 0; l < 4; l++)
    for (const mod of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) {
      const x = ref.weights.layers[l][mod].data, y = fast.weights.layers[l][mod].data;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-3, Math.abs(x[i])));
    }
  t.true(worst < 1e-5, `worst relative difference ${worst}`);
});

test('.bin adapter merges to the same weights; maxLayers merges only loaded layers', (t) => {
  const a = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
  const b = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora-bin') });
  t.is(b.lora?.format, 'bin');
  for (let l = 0; l < 4; l++) t.deepEqual(a.weights.layers[l].gate_proj.data, b.weights.layers[l].gate_proj.data);
  t.is(loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora'), maxLayers: 2 }).lora?.mergedTensors, 14);
});

test('mergeLora on a small hand-computed case', (t) => {
  const w = { rows: 2, cols: 3, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
  // A [r=1, 3] = [1, 0, -1]; B [2, 1] = [[2], [0.5]]; scale 3 -> delta = [[6, 0, -6], [1.5, 0, -1.5]]
  mergeLora(w, new Float32Array([1, 0, -1]), new Float32Array([2, 0.5]), 1, 3);
  t.deepEqual([...w.data], [7, 2, -3, 5.5, 5, 4.5]);
});

test('rsLoRA and alpha_pattern / rank_pattern set the per-module scale', (t) => {
  const rs = openAdapter(adapterWith(t, (c) => { c.use_rslora = true; }), baseConfig());
  t.true(rs.pairs.every((p) => p.scale === 16 / Math.sqrt(8)));
  const dir = adapterWith(t, (c) => { c.alpha_pattern = { 'layers.1.self_attn.q_proj': 32 }; });
  const ad = openAdapter(dir, baseConfig());
  t.deepEqual(ad.pairs.filter((p) => p.scale !== 2).map((p) => [p.module, p.scale]), [['model.layers.1.self_attn.q_proj', 4]]);
  const base = loadModel(fixture('tiny-llama-fp16'));
  const m = loadModel(fixture('tiny-llama-fp16'), { lora: dir, loraMerge: 'js' });
  const st = SafetensorsFile.open(ST);
  const want = naiveMerge(base.weights.layers[1].q_proj.data, st.read(KEY(1, 'self_attn', 'q_proj', 'A')), st.read(KEY(1, 'self_attn', 'q_proj', 'B')), 64, 64, 8, 4);
  t.deepEqual(m.weights.layers[1].q_proj.data, want);
});

test("patternValue follows PEFT's get_pattern_key; isTargeted follows target_modules", (t) => {
  const pat = { q_proj: 4, 'layers\\.1\\.mlp\\.up_proj': 2, 'layers.*.k_proj': 16 };
  t.is(patternValue(pat, 'model.layers.0.self_attn.q_proj', 8), 4);
  t.is(patternValue(pat, 'model.layers.1.mlp.up_proj', 8), 2);
  t.is(patternValue(pat, 'model.layers.11.mlp.up_proj', 8), 8);      // "layers.1" does not match "layers.11"
  t.is(patternValue(pat, 'model.layers.3.self_attn.k_proj', 8), 16);
  t.is(patternValue(pat, 'model.layers.0.self_attn.xq_proj', 8), 8);  // whole dotted segments only
  t.true(isTargeted(['q_proj', 'v_proj'], 'model.layers.0.self_attn.q_proj'));
  t.false(isTargeted(['q_proj'], 'model.layers.0.self_attn.k_proj'));
  t.true(isTargeted('.*\\.(q|v)_proj', 'model.layers.0.self_attn.v_proj'));
  t.false(isTargeted('.*\\.(q|v)_proj', 'model.layers.0.self_attn.o_proj'));
  t.true(isTargeted('all-linear', 'model.layers.0.mlp.up_proj'));
});

test('target_modules as a regex string loads; one that misses a saved module is refused', (t) => {
  const ok = adapterWith(t, (c) => { c.target_modules = 'model\\.layers\\.\\d+\\.(self_attn|mlp)\\.\\w+_proj'; });
  t.is(openAdapter(ok, baseConfig()).pairs.length, 28);
  const bad = adapterWith(t, (c) => { c.target_modules = ['k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']; });
  t.throws(() => openAdapter(bad, baseConfig()), { instanceOf: UserError, message: /adapter module model\.layers\.\d\.self_attn\.q_proj in adapter_model\.safetensors is not selected by target_modules/ });
});

test('wrong rank: r in adapter_config.json (or rank_pattern) disagrees with lora_A rows', (t) => {
  const dir = adapterWith(t, (c) => { c.r = 4; });
  t.throws(() => loadModel(fixture('tiny-llama'), { lora: dir }), { instanceOf: UserError, message: /adapter key base_model\.model\.model\.layers\.\d\.\w+\.\w+_proj\.lora_A\.weight in adapter_model\.safetensors has 8 rows but adapter_config\.json says r=4/ });
  const dir2 = adapterWith(t, (c) => { c.rank_pattern = { 'layers.2.mlp.up_proj': 16 }; }, 'tiny-lora-bin');
  t.throws(() => openAdapter(dir2, baseConfig()), { instanceOf: UserError, message: /adapter key base_model\.model\.model\.layers\.2\.mlp\.up_proj\.lora_A\.weight in adapter_model\.bin has 8 rows but adapter_config\.json says r=16/ });
});

test('adapter for another model shape names the key and the base weight', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(adapterConfig()));
  writeF32Safetensors(path.join(dir, 'adapter_model.safetensors'), {
    [KEY(0, 'self_attn', 'q_proj', 'A')]: { shape: [8, 32], data: seededFloats(8 * 32) },
    [KEY(0, 'self_attn', 'q_proj', 'B')]: { shape: [64, 8], data: seededFloats(64 * 8) },
  });
  t.throws(() => loadModel(fixture('tiny-llama'), { lora: dir }), { instanceOf: UserError, message: /adapter key base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight in adapter_model\.safetensors has shape \[8, 32\] but base model\.layers\.0\.self_attn\.q_proj\.weight is \[64, 64\]; adapter for another model shape\?/ });

  writeF32Safetensors(path.join(dir, 'adapter_model.safetensors'), {
    [KEY(7, 'mlp', 'up_proj', 'A')]: { shape: [8, 64], data: seededFloats(8 * 64) },
    [KEY(7, 'mlp', 'up_proj', 'B')]: { shape: [176, 8], data: seededFloats(176 * 8) },
  });
  t.throws(() => openAdapter(dir, baseConfig()), { instanceOf: UserError, message: /adapter key .*layers\.7\.mlp\.up_proj\.lora_A\.weight targets layer 7 but the base model has 4 layers/ });

  writeF32Safetensors(path.join(dir, 'adapter_model.safetensors'), { [KEY(0, 'mlp', 'up_proj', 'A')]: { shape: [8, 64], data: seededFloats(8 * 64) } });
  t.throws(() => openAdapter(dir, baseConfig()), { instanceOf: UserError, message: /adapter module model\.layers\.0\.mlp\.up_proj in adapter_model\.safetensors has lora_A but no lora_B/ });

  writeF32Safetensors(path.join(dir, 'adapter_model.safetensors'), { 'base_model.model.model.layers.0.mlp.up_proj.lora_magnitude_vector': { shape: [176], data: seededFloats(176) } });
  t.throws(() => openAdapter(dir, baseConfig()), { instanceOf: UserError, message: /adapter key base_model\.model\.model\.layers\.0\.mlp\.up_proj\.lora_magnitude_vector in adapter_model\.safetensors is not a LoRA A\/B weight/ });
});

test('missing adapter files', (t) => {
  const dir = copyDir(fixture('tiny-lora'), tempDir(t), ['adapter_config.json']);
  t.throws(() => loadModel(fixture('tiny-llama'), { lora: dir }), { instanceOf: UserError, message: /no adapter_model\.safetensors or adapter_model\.bin in / });
  const dir2 = copyDir(fixture('tiny-lora'), tempDir(t), ['adapter_model.safetensors']);
  t.throws(() => loadModel(fixture('tiny-llama'), { lora: dir2 }), { instanceOf: UserError, message: /no adapter_config\.json in .*: expected a PEFT adapter directory/ });
  t.throws(() => loadModel(fixture('tiny-llama'), { lora: path.join(dir, 'nope') }), { instanceOf: UserError, message: /LoRA adapter directory .*nope does not exist/ });
});

const unsupported: [string, (c: Record<string, unknown>) => void, RegExp][] = [
  ['use_dora', (c) => { c.use_dora = true; }, /adapter_config\.json: DoRA \(use_dora\) is not supported/],
  ['fan_in_fan_out', (c) => { c.fan_in_fan_out = true; }, /adapter_config\.json: fan_in_fan_out true .* is not supported/],
  ['bias all', (c) => { c.bias = 'all'; }, /adapter_config\.json: bias "all" is not supported \(only "none"\)/],
  ['modules_to_save embed_tokens', (c) => { c.modules_to_save = ['embed_tokens', 'lm_head']; }, /adapter_config\.json: modules_to_save \["embed_tokens"\] is not supported/],
  ['peft_type IA3', (c) => { c.peft_type = 'IA3'; }, /adapter_config\.json: peft_type "IA3" is not supported \(only LORA\)/],
  ['layer_replication', (c) => { c.layer_replication = [[0, 2]]; }, /layer_replication is not supported/],
];
for (const [name, edit, msg] of unsupported) {
  test(`unsupported adapter option refused: ${name}`, (t) => {
    t.throws(() => openAdapter(adapterWith(t, edit), baseConfig()), { instanceOf: UserError, message: msg });
  });
}

test('modules_to_save with only a head (lm_head) is ignored: the embedding forward never uses it', (t) => {
  t.is(openAdapter(adapterWith(t, (c) => { c.modules_to_save = ['lm_head']; }), baseConfig()).pairs.length, 28);
});

// ---- torch.save reader refusals ----

test('torch-bin: not a zip, a pickle calling os.system, non-contiguous tensor, big-endian, missing storage', (t) => {
  const dir = tempDir(t);
  const junk = path.join(dir, 'junk.bin');
  fs.writeFileSync(junk, Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e])); // a bare pickle, legacy torch.save
  t.throws(() => TorchBinFile.open(junk), { instanceOf: UserError, message: /junk\.bin is not a zip-format torch\.save file/ });

  // PROTO 2; GLOBAL 'os system'; BINUNICODE 'touch pwned'; TUPLE1; REDUCE; STOP -- must never run
  const marker = path.join(dir, 'pwned');
  const cmd = Buffer.from(`touch ${marker}`);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(cmd.length);
  const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n'), Buffer.from('X'), len, cmd, Buffer.from([0x85, 0x52, 0x2e])]);
  const evilFile = path.join(dir, 'evil.bin');
  fs.writeFileSync(evilFile, zipSync({ 'archive/data.pkl': evil, 'archive/byteorder': Buffer.from('little') }, { level: 0 }));
  t.throws(() => TorchBinFile.open(evilFile), { instanceOf: UserError, message: /evil\.bin: the pickle refers to os\.system, which this reader does not load/ });
  t.false(fs.existsSync(marker));

  // first tensor's stride (64, 1) -> (1, 8): non-contiguous
  const nc = path.join(dir, 'nc.bin');
  editZip(BIN, nc, (e) => {
    const pkl = e['adapter_model/data.pkl'];
    const at = indexOfBytes(pkl, [0x4b, 64, 0x4b, 1, 0x86]);
    pkl.set([0x4b, 1, 0x4b, 8, 0x86], at);
  });
  const f = TorchBinFile.open(nc);
  t.throws(() => f.read(KEY(0, 'self_attn', 'q_proj', 'A')), { instanceOf: UserError, message: /tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight in .*nc\.bin is non-contiguous \(shape \[8, 64\], stride \[1, 8\]\)/ });

  const be = path.join(dir, 'be.bin');
  editZip(BIN, be, (e) => { e['adapter_model/byteorder'] = Buffer.from('big'); });
  t.throws(() => TorchBinFile.open(be), { instanceOf: UserError, message: /be\.bin was saved on a big-endian machine/ });

  const ms = path.join(dir, 'ms.bin');
  editZip(BIN, ms, (e) => { delete e['adapter_model/data/0']; });
  t.throws(() => TorchBinFile.open(ms).read(KEY(0, 'self_attn', 'q_proj', 'A')), { instanceOf: UserError, message: /ms\.bin: zip entry adapter_model\/data\/0 is missing/ });
});

test('D9: compressed zip entries (never written by torch) are refused: a zip bomb allocates nothing', (t) => {
  const dir = tempDir(t);
  const z = path.join(dir, 'deflated.bin');
  fs.writeFileSync(z, zipSync(unzipSync(fs.readFileSync(BIN)), { level: 6 }));
  t.throws(() => TorchBinFile.open(z), { instanceOf: UserError, message: /deflated\.bin: zip entry adapter_model\/data\.pkl is compressed \(method 8\); torch\.save never compresses/ });
  // 256 MiB of zeros as one deflated storage, declared honestly; the pickle stored plainly
  const entries = unzipSync(fs.readFileSync(BIN));
  const bombFile = path.join(dir, 'bomb.bin');
  const bomb = zipSync({
    'adapter_model/data.pkl': [entries['adapter_model/data.pkl'], { level: 0 }],
    'adapter_model/byteorder': [Buffer.from('little'), { level: 0 }],
    'adapter_model/data/0': [new Uint8Array(256 << 20), { level: 9 }],
  });
  t.true(bomb.length < 2 << 20);
  fs.writeFileSync(bombFile, bomb);
  const before = process.memoryUsage().arrayBuffers;
  t.throws(() => TorchBinFile.open(bombFile).read(KEY(0, 'self_attn', 'q_proj', 'A')), { instanceOf: UserError, message: /bomb\.bin: zip entry adapter_model\/data\/0 is compressed/ });
  t.true(process.memoryUsage().arrayBuffers - before < 64 << 20);
});

// ---- hand-written pickles (protocol 2) for the reader's refusals ----

const u32le = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
const P = {
  proto: Buffer.from([0x80, 0x02]),
  global: (mod: string, name: string) => Buffer.from(`c${mod}\n${name}\n`),
  str: (s: string) => Buffer.concat([Buffer.from('X'), u32le(Buffer.byteLength(s)), Buffer.from(s)]),
  int: (n: number) => (n >= 0 && n < 256 ? Buffer.from([0x4b, n]) : Buffer.concat([Buffer.from('J'), u32le(n)])),
  tuple1: Buffer.from([0x85]), mark: Buffer.from('('), tuple: Buffer.from('t'), reduce: Buffer.from('R'),
  binpersid: Buffer.from('Q'), newfalse: Buffer.from([0x89]), emptyTuple: Buffer.from(')'), emptyDict: Buffer.from('}'),
  setitem: Buffer.from('s'), build: Buffer.from('b'), stop: Buffer.from('.'),
};
const orderedDict = () => Buffer.concat([P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce]);
/** _rebuild_tensor_v2(storage(key, F32, numel), offset, (n,), (1,), False, OrderedDict()) */
const tensorPkl = (key: string, numel: number, offset: number, n: number) => Buffer.concat([
  P.global('torch._utils', '_rebuild_tensor_v2'), P.mark,
  P.mark, P.str('storage'), P.global('torch', 'FloatStorage'), P.str(key), P.str('cpu'), P.int(numel), P.tuple, P.binpersid,
  P.int(offset), P.int(n), P.tuple1, P.int(1), P.tuple1, P.newfalse, orderedDict(), P.tuple, P.reduce,
]);
/** A torch.save zip holding `{name: tensor}` with the given pickle body for the tensor, storages as given. */
function torchZip(file: string, tensor: Buffer, storages: Record<string, Uint8Array>): void {
  const pkl = Buffer.concat([P.proto, orderedDict(), P.str('w'), tensor, P.setitem, P.stop]);
  const entries: Record<string, Uint8Array> = { 'archive/data.pkl': pkl, 'archive/byteorder': Buffer.from('little') };
  for (const [k, v] of Object.entries(storages)) entries[`archive/data/${k}`] = v;
  fs.writeFileSync(file, zipSync(entries, { level: 0 }));
}

test('hand-written torch zip: a plain tensor reads back exactly', (t) => {
  const f = path.join(tempDir(t), 'ok.bin');
  torchZip(f, tensorPkl('0', 8, 2, 4), { 0: new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]).buffer) });
  t.deepEqual(Array.from(TorchBinFile.open(f).read('w')), [2, 3, 4, 5]);
});

test('D15: a negative storage_offset is refused (it would read other bytes of the zip as weights)', (t) => {
  const dir = tempDir(t);
  const f = path.join(dir, 'neg.bin');
  torchZip(f, tensorPkl('0', 8, -2, 4), { 0: new Uint8Array(32), 1: new Uint8Array(32).fill(0x41) });
  t.throws(() => TorchBinFile.open(f).read('w'), { instanceOf: UserError, message: /neg\.bin: (malformed tensor record|tensor w)/ });
  // the real adapter with its first storage_offset made -1
  const g = path.join(dir, 'neg-real.bin');
  editZip(BIN, g, (e) => {
    const pkl = Buffer.from(e['adapter_model/data.pkl']);
    const at = pkl.indexOf(Buffer.from([0x51, 0x4b, 0x00])); // BINPERSID, then BININT1 0: the first offset
    t.true(at > 0);
    e['adapter_model/data.pkl'] = Buffer.concat([pkl.subarray(0, at + 1), Buffer.from('J'), u32le(-1), pkl.subarray(at + 3)]);
  });
  t.throws(() => { const b = TorchBinFile.open(g); for (const n of b.names()) b.read(n); }, { instanceOf: UserError });
});

test('D15: BUILD cannot rewrite a tensor record after it was checked', (t) => {
  const dir = tempDir(t);
  for (const [field, value] of [['offset', P.int(-4)], ['storageKey', P.str('1')], ['shape', Buffer.concat([P.int(64), P.tuple1])], ['stride', Buffer.concat([P.int(7), P.tuple1])]] as const) {
    const f = path.join(dir, `build-${field}.bin`);
    const rewrite = Buffer.concat([P.emptyDict, P.str(field), value, P.setitem, P.build]);
    torchZip(f, Buffer.concat([tensorPkl('0', 8, 0, 4), rewrite]), { 0: new Uint8Array(32), 1: new Uint8Array(4096).fill(0x41) });
    const err = t.throws(() => { const b = TorchBinFile.open(f); b.read('w'); });
    t.true(err instanceof UserError, `${field}: ${err?.message}`);
  }
});

test('torch-bin: a storage whose size disagrees with the pickle, or a storage key that is a path, is refused', (t) => {
  const dir = tempDir(t);
  const short = path.join(dir, 'short.bin');
  torchZip(short, tensorPkl('0', 8, 0, 4), { 0: new Uint8Array(16) });
  t.throws(() => TorchBinFile.open(short), { instanceOf: UserError, message: /short\.bin: storage 0 .*32 bytes.*16/ });
  const trav = path.join(dir, 'trav.bin');
  torchZip(trav, tensorPkl('../x', 8, 0, 4), {});
  t.throws(() => TorchBinFile.open(trav), { instanceOf: UserError, message: /trav\.bin: .*storage key/ });
});

// ---- layers_to_transform / exclude_modules (PEFT's check_target_module_exists) ----

test("layers_to_transform and exclude_modules select modules as PEFT does; weights they exclude are refused", (t) => {
  const c = (extra: Record<string, unknown>) => normalizeAdapterConfig({ ...adapterConfig(), ...extra });
  const mod = (l: number, m: string) => `model.layers.${l}.${m === 'up_proj' ? 'mlp' : 'self_attn'}.${m}`;
  t.true(peftSelects(c({ layers_to_transform: [0, 2] }), mod(2, 'q_proj')));
  t.false(peftSelects(c({ layers_to_transform: [0, 2] }), mod(1, 'q_proj')));
  t.true(peftSelects(c({ layers_to_transform: 3 }), mod(3, 'up_proj')));
  t.false(peftSelects(c({ layers_to_transform: 3 }), mod(0, 'up_proj')));
  t.true(peftSelects(c({ layers_to_transform: [], }), mod(1, 'q_proj')));                    // empty list: no filter
  t.true(peftSelects(c({ layers_to_transform: [1], layers_pattern: 'layers' }), mod(1, 'q_proj')));
  t.false(peftSelects(c({ layers_to_transform: [1], layers_pattern: ['h', 'blocks'] }), mod(1, 'q_proj'))); // pattern misses
  t.true(peftSelects(c({ layers_to_transform: [0], target_modules: '.*q_proj' }), mod(3, 'q_proj')));    // regex: no layer filter
  t.true(peftSelects(c({ layers_to_transform: [0], target_modules: [mod(3, 'q_proj')] }), mod(3, 'q_proj'))); // exact name: no filter
  t.false(peftSelects(c({ exclude_modules: ['q_proj'] }), mod(0, 'q_proj')));
  t.true(peftSelects(c({ exclude_modules: ['q_proj'] }), mod(0, 'up_proj')));
  t.false(peftSelects(c({ exclude_modules: 'model\\.layers\\.[23]\\..*' }), mod(2, 'up_proj')));
  t.true(peftSelects(c({ exclude_modules: 'model\\.layers\\.[23]\\..*' }), mod(1, 'up_proj')));
  t.throws(() => c({ layers_to_transform: ['a'] }), { instanceOf: UserError, message: /layers_to_transform must be/ });
  t.throws(() => c({ exclude_modules: 5 }), { instanceOf: UserError, message: /exclude_modules must be/ });

  // the fixture adapter has weights in every layer: a config restricting layers makes them inconsistent
  const restricted = adapterWith(t, (x) => { x.layers_to_transform = [0, 1]; });
  t.throws(() => openAdapter(restricted, baseConfig()), { instanceOf: UserError, message: /adapter module model\.layers\.2\.\w+\.\w+ in adapter_model\.safetensors is excluded by layers_to_transform \[0,1\]/ });
  const excluded = adapterWith(t, (x) => { x.exclude_modules = ['v_proj']; });
  t.throws(() => openAdapter(excluded, baseConfig()), { instanceOf: UserError, message: /adapter module model\.layers\.0\.self_attn\.v_proj in adapter_model\.safetensors is excluded by exclude_modules \["v_proj"\]/ });
  // an adapter saved with layers_to_transform [2, 3] holds only those layers: it loads and merges only them
  const dir2 = tempDir(t);
  fs.writeFileSync(path.join(dir2, 'adapter_config.json'), JSON.stringify({ ...adapterConfig(), layers_to_transform: [2, 3] }));
  const st = SafetensorsFile.open(ST);
  writeF32Safetensors(path.join(dir2, 'adapter_model.safetensors'), Object.fromEntries(st.names().filter((n) => /layers\.[23]\./.test(n)).map((n) => [n, { shape: st.shape(n), data: st.read(n) }])));
  const ad = openAdapter(dir2, baseConfig());
  t.deepEqual([...new Set(ad.pairs.map((p) => p.layer))], [2, 3]);
});
