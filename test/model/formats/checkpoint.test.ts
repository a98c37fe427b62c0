// safetensors reading, dtype conversion, sharded/single checkpoints, loadModel, and damaged checkpoints
// (each error must name the file or tensor).
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { Checkpoint, neededTensors } from '../../../src/model/formats/checkpoint.ts';
import { bf16ToF32, f16ToF32, firstNonFinite, halfToNumber } from '../../../src/model/formats/dtype.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { SafetensorsFile } from '../../../src/model/formats/safetensors.ts';
import type { LoadedModel, Matrix } from '../../../src/model/arch/types.ts';
import { copyDir, editHeader, readSafetensorsParts, tempDir, truncateFile, writeSafetensorsParts } from '../../helpers/damaged.ts';
import { fixture } from '../../helpers/shared.ts';

const SHARD1 = 'model-00001-of-00002.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';
const bytesOf = (words: number[]) => new Uint8Array(new Uint16Array(words).buffer);

// ---- dtype ----

test('bf16 -> f32 is the 16-bit shift', (t) => {
  const out = bf16ToF32(bytesOf([0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x3e20]));
  t.deepEqual([...out.slice(0, 6)], [1, -2, 0, -0, Infinity, -Infinity]);
  t.true(Number.isNaN(out[6]));
  t.is(out[7], 2 ** -133);             // bf16 subnormal
  t.is(out[8], 0.15625);
  // misaligned input (odd byteOffset) is copied, not misread
  const buf = new Uint8Array(5);
  buf.set([0x80, 0x3f, 0x00, 0x40], 1);
  t.deepEqual([...bf16ToF32(buf.subarray(1))], [1, 2]);
});

test('f16 -> f32: normals, subnormals, zeros, inf, nan (all 65536 values against the formula)', (t) => {
  const cases: [number, number][] = [
    [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
    [0x8001, -(2 ** -24)], [0x0000, 0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3555, 0.333251953125],
  ];
  const out = f16ToF32(bytesOf(cases.map((c) => c[0])));
  cases.forEach(([, v], i) => t.is(out[i], v, `0x${cases[i][0].toString(16)}`));
  t.true(Object.is(f16ToF32(bytesOf([0x8000]))[0], -0));
  t.true(Number.isNaN(f16ToF32(bytesOf([0x7e00]))[0]) && Number.isNaN(f16ToF32(bytesOf([0xfd01]))[0]));
  const all = f16ToF32(bytesOf(Array.from({ length: 65536 }, (_, h) => h)));
  let bad = 0;
  for (let h = 0; h < 65536; h++) {
    const e = (h >> 10) & 31, f = h & 1023, s = h >> 15 ? -1 : 1;
    const want = e === 31 ? (f ? NaN : s * Infinity) : e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15);
    if (!Object.is(all[h], want) && !(Number.isNaN(want) && Number.isNaN(all[h]))) bad++;
    if (!Object.is(halfToNumber(h), Math.fround(want)) && !Number.isNaN(want)) bad++;
  }
  t.is(bad, 0);
});

test('firstNonFinite', (t) => {
  t.is(firstNonFinite(new Float32Array([1, 2, 3])), -1);
  t.is(firstNonFinite(new Float32Array([1, NaN, Infinity])), 1);
  t.is(firstNonFinite(new Float32Array([0, -Infinity])), 1);
});

// ---- safetensors and checkpoints ----

test('safetensors header: entries, absolute offsets, lazy single-tensor read', (t) => {
  const f = SafetensorsFile.open(fixture('tiny-llama-fp16/model.safetensors'));
  t.deepEqual(f.metadata, { format: 'pt' });
  t.is(f.names().length, 1 + 4 * 9 + 1 + 1); // embed_tokens, 4 layers x 9, norm, lm_head
  const e = f.entry('model.norm.weight');
  t.deepEqual([e.dtype, e.shape, e.end - e.begin], ['F16', [64], 128]);
  t.true(e.begin >= 8 + f.header.length);
  const norm = f.read('model.norm.weight');
  t.is(norm.length, 64);
  t.is(firstNonFinite(norm), -1);
  t.throws(() => f.read('model.nope.weight'), { instanceOf: UserError, message: /tensor model\.nope\.weight is missing from .*model\.safetensors/ });
});

test('sharded bf16 and single fp16 checkpoints hold identical fp32 numbers (every tensor)', (t) => {
  const a = Checkpoint.open(fixture('tiny-llama'));
  const b = Checkpoint.open(fixture('tiny-llama-fp16'));
  t.is(a.files.length, 2);
  t.is(b.files.length, 1);
  t.deepEqual(a.names().sort(), b.names().sort());
  for (const n of a.names()) {
    t.is(a.dtype(n), 'BF16');
    t.is(b.dtype(n), 'F16');
    t.deepEqual(a.read(n), b.read(n), n);
  }
});

/** Rewrite a safetensors file without one tensor (its bytes removed too, so the ranges stay contiguous). */
function dropTensor(file: string, name: string): void {
  const { header, data } = readSafetensorsParts(file);
  const keep = Object.entries(header).filter(([k]) => k !== name && k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
  keep.sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  const out: typeof header = header.__metadata__ ? { __metadata__: header.__metadata__ } : {};
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [k, e] of keep) {
    const bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
    out[k] = { ...e, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  writeSafetensorsParts(file, out, Buffer.concat(parts));
}

const sameMatrix = (x: Matrix, y: Matrix) => x.rows === y.rows && x.cols === y.cols && x.data.every((v, i) => v === y.data[i]);
function sameWeights(x: LoadedModel, y: LoadedModel): boolean {
  if (!sameMatrix(x.weights.embed_tokens, y.weights.embed_tokens) || x.weights.layers.length !== y.weights.layers.length) return false;
  if (!x.weights.norm.every((v, i) => v === y.weights.norm[i])) return false;
  return x.weights.layers.every((l, i) => {
    const m = y.weights.layers[i];
    return (['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const).every((k) => sameMatrix(l[k], m[k])) &&
      l.input_layernorm.every((v, j) => v === m.input_layernorm[j]) && l.post_attention_layernorm.every((v, j) => v === m.post_attention_layernorm[j]);
  });
}

test('loadModel: shapes, bf16 == fp16, progress, no LoRA', (t) => {
  const seen: [number, number][] = [];
  const a = loadModel(fixture('tiny-llama'), { onProgress: (d, n) => seen.push([d, n]) });
  const b = loadModel(fixture('tiny-llama-fp16'));
  t.is(a.lora, null);
  t.is(a.weights.layers.length, 4);
  t.deepEqual([a.weights.embed_tokens.rows, a.weights.embed_tokens.cols], [32000, 64]);
  const l = a.weights.layers[0];
  t.deepEqual([l.q_proj.rows, l.q_proj.cols, l.k_proj.rows, l.v_proj.rows, l.o_proj.cols, l.gate_proj.rows, l.down_proj.cols], [64, 64, 32, 32, 64, 176, 176]);
  t.is(l.input_layernorm.length, 64);
  t.true(sameWeights(a, b));
  t.is(seen.length, neededTensors(a.config).length);
  t.deepEqual(seen.at(-1), [38, 38]);
  // identity: the content of config.json and every tensor file; bf16 and fp16 files differ
  t.regex(a.fingerprint, /^[0-9a-f]{64}$/);
  t.not(a.fingerprint, b.fingerprint);
  t.is(loadModel(fixture('tiny-llama')).fingerprint, a.fingerprint);
  const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(fixture(f))).digest('hex');
  t.deepEqual(a.files, Object.fromEntries(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json'].map((f) => [f, sha(`tiny-llama/${f}`)])));
});

test('loadModel maxLayers loads only the first n layers; out of range is refused', (t) => {
  const full = loadModel(fixture('tiny-llama-fp16'));
  const two = loadModel(fixture('tiny-llama-fp16'), { maxLayers: 2 });
  t.is(two.weights.layers.length, 2);
  t.true(sameMatrix(two.weights.layers[1].down_proj, full.weights.layers[1].down_proj));
  t.is(loadModel(fixture('tiny-llama-fp16'), { maxLayers: 0 }).weights.layers.length, 0);
  t.throws(() => loadModel(fixture('tiny-llama-fp16'), { maxLayers: 5 }), { instanceOf: UserError, message: /maxLayers 5 is out of range: .* has 4 layers/ });
});

test('transformers 5 and mistral-style config.json load the same weights', (t) => {
  const ref = loadModel(fixture('tiny-llama-fp16'));
  const raw = JSON.parse(fs.readFileSync(fixture('tiny-llama-fp16/config.json'), 'utf8'));
  const v5 = { ...raw, rope_parameters: { rope_theta: 10000.0, rope_type: 'default' }, dtype: 'float16', head_dim: 16 };
  delete v5.rope_theta; delete v5.torch_dtype; delete v5.rope_scaling;
  const mistral = { ...raw, model_type: 'mistral', architectures: ['MistralForCausalLM'], sliding_window: 4096, head_dim: 16 };
  for (const [name, cfg] of [['v5', v5], ['mistral', mistral]] as const) {
    const dir = copyDir(fixture('tiny-llama-fp16'), path.join(tempDir(t), name), ['model.safetensors']);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    const m = loadModel(dir);
    t.is(m.config.model_type, name === 'mistral' ? 'mistral' : 'llama');
    t.is(m.config.rope_theta, 10000);
    t.true(sameWeights(m, ref), name);
  }
});

test('checkpoints saved from the bare LlamaModel (no "model." prefix) load too', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  editHeader(path.join(dir, 'model.safetensors'), (h) => {
    for (const k of Object.keys(h)) if (k.startsWith('model.')) { h[k.slice(6)] = h[k]; delete h[k]; }
  });
  t.true(sameWeights(loadModel(dir), loadModel(fixture('tiny-llama-fp16'))));
});

// ---- damaged checkpoints ----

test('truncated safetensors: data cut short, header cut short, tiny file', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  const file = path.join(dir, 'model.safetensors');
  const size = fs.statSync(file).size;
  truncateFile(file, size - 100);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: new RegExp(`${file.replace(/[.]/g, '\\.')} is truncated: header needs ${size} bytes \\(tensor .+\\) but the file has ${size - 100}; re-download it`) });
  truncateFile(file, 1000);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /model\.safetensors is truncated: its header alone needs \d+ bytes but the file has 1000/ });
  truncateFile(file, 5);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /model\.safetensors is not a safetensors file \(5 bytes\)/ });
});

test('truncated shard of a sharded checkpoint names that shard', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t));
  truncateFile(path.join(dir, SHARD2), 4000);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: new RegExp(`${SHARD2.replace(/[.]/g, '\\.')} is truncated`) });
});

test('corrupt header JSON names the file', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  const file = path.join(dir, 'model.safetensors');
  const { header, data } = readSafetensorsParts(file);
  writeSafetensorsParts(file, JSON.stringify(header).slice(0, -3) + '#@!', data);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /model\.safetensors: corrupt safetensors header \(not valid JSON/ });
  writeSafetensorsParts(file, '[1, 2]', data);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /model\.safetensors: corrupt safetensors header \(not a JSON object\)/ });
});

test('header whose data_offsets disagree with dtype x shape names the tensor', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  editHeader(path.join(dir, 'model.safetensors'), (h) => {
    (h['model.norm.weight'] as { shape: number[] }).shape = [65];
  });
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /model\.safetensors: corrupt safetensors header: tensor model\.norm\.weight is F16 \[65\] \(130 bytes\) but its data_offsets span 128 bytes/ });
});

test('mis-shaped tensor (same size, wrong shape) names tensor, file and expected shape', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t));
  editHeader(path.join(dir, SHARD1), (h) => {
    (h['model.layers.1.self_attn.k_proj.weight'] as { shape: number[] }).shape = [64, 32];
  });
  const e = t.throws(() => loadModel(dir), { instanceOf: UserError });
  t.regex(e!.message, /tensor model\.layers\.1\.self_attn\.k_proj\.weight in .*model-00001-of-00002\.safetensors has shape \[64, 32\] but config\.json implies \[32, 64\]/);
  // a layer beyond maxLayers is not checked
  t.is(loadModel(dir, { maxLayers: 1 }).weights.layers.length, 1);
});

test('config.json from another model: every mismatch counted', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 128 }));
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /tensor model\.layers\.0\.mlp\.gate_proj\.weight in .*model\.safetensors has shape \[176, 64\] but config\.json implies \[128, 64\] \(and 11 more mismatched tensors\)/ });
});

test('missing shard, missing tensor, index pointing at the wrong shard', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t));
  fs.rmSync(path.join(dir, SHARD2));
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /shard model-00002-of-00002\.safetensors listed in .*model\.safetensors\.index\.json is missing/ });

  const dir2 = copyDir(fixture('tiny-llama'), tempDir(t));
  const idx = path.join(dir2, 'model.safetensors.index.json');
  const index = JSON.parse(fs.readFileSync(idx, 'utf8'));
  const shardOfNorm = index.weight_map['model.norm.weight'];
  index.weight_map['model.norm.weight'] = shardOfNorm === SHARD1 ? SHARD2 : SHARD1;
  fs.writeFileSync(idx, JSON.stringify(index));
  t.throws(() => loadModel(dir2), { instanceOf: UserError, message: /index\.json puts tensor model\.norm\.weight in model-0000\d-of-00002\.safetensors, but that file does not hold it/ });

  const dir3 = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  dropTensor(path.join(dir3, 'model.safetensors'), 'model.layers.2.input_layernorm.weight');
  t.throws(() => loadModel(dir3), { instanceOf: UserError, message: /tensor model\.layers\.2\.input_layernorm\.weight is missing from the checkpoint in .* \(model\.safetensors\)/ });
});

test('directory without safetensors: pytorch_model.bin only, nothing, not a directory', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['config.json']);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /has neither model\.safetensors nor model\.safetensors\.index\.json/ });
  fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'x');
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /has only PyTorch \.bin weights; convert them to safetensors/ });
  t.throws(() => Checkpoint.open(path.join(dir, 'nope')), { instanceOf: UserError, message: /model directory .*nope does not exist/ });
});

test('NaN in a weight names the tensor and file', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  const file = path.join(dir, 'model.safetensors');
  const f = SafetensorsFile.open(file);
  const e = f.entry('model.layers.3.mlp.up_proj.weight');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, new Uint8Array([0x00, 0x7e]), 0, 2, e.begin + 2 * 10); // element 10 := f16 NaN
  fs.closeSync(fd);
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /tensor model\.layers\.3\.mlp\.up_proj\.weight in .*model\.safetensors holds NaN at flat index 10/ });
});

test('unsupported dtype (I16) names the tensor', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  editHeader(path.join(dir, 'model.safetensors'), (h) => { (h['model.norm.weight'] as { dtype: string }).dtype = 'I16'; });
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /tensor model\.norm\.weight in .*model\.safetensors has dtype I16; only BF16, F16 and F32/ });
});

test('D16: overlapping, aliased, gapped or trailing safetensors data is refused (the format requires contiguous ranges)', (t) => {
  const dir = tempDir(t);
  const f = path.join(dir, 'x.safetensors');
  const data = new Uint8Array(48);
  const e = (a: number, b: number) => ({ dtype: 'F32', shape: [(b - a) / 4], data_offsets: [a, b] as [number, number] });
  const cases: [string, Record<string, ReturnType<typeof e>>, number, RegExp][] = [
    ['aliased', { a: e(0, 16), b: e(0, 16), c: e(16, 48) }, 48, /tensors a and b overlap/],
    ['overlapping', { a: e(0, 24), b: e(16, 32), c: e(32, 48) }, 48, /tensors a and b overlap/],
    ['gap', { a: e(0, 16), b: e(24, 48) }, 48, /bytes 16\.\.24 belong to no tensor/],
    ['not from 0', { a: e(8, 24), b: e(24, 48) }, 48, /bytes 0\.\.8 belong to no tensor/],
    ['trailing bytes', { a: e(0, 16), b: e(16, 32) }, 48, /16 bytes after the last tensor/],
  ];
  for (const [name, header, size, re] of cases) {
    writeSafetensorsParts(f, header, data.subarray(0, size));
    t.throws(() => SafetensorsFile.open(f), { instanceOf: UserError, message: re }, name);
  }
  writeSafetensorsParts(f, { b: e(16, 48), a: e(0, 16), z: e(48, 48) }, data); // key order free, empty tensor fine
  t.deepEqual(SafetensorsFile.open(f).names(), ['b', 'a', 'z']);
});

test('config.json with fewer layers than the checkpoint is refused (the extra layers would be dropped silently)', (t) => {
  const dir = copyDir(fixture('tiny-llama-fp16'), tempDir(t));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
  t.throws(() => loadModel(dir), { instanceOf: UserError, message: /holds tensors of layer 3 but config\.json says num_hidden_layers 3/ });
  t.throws(() => loadModel(dir, { maxLayers: 2 }), { instanceOf: UserError, message: /num_hidden_layers 3/ });
});
