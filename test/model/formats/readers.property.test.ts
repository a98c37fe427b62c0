// Property test (fast-check, fixed seed, bounded runs) of every reader that takes a user's file:
// safetensors, torch.save zip + pickle, config.json, tokenizer.json, task files and predictions.
// Random bytes and mutations of valid files each either load exactly what an independent reference
// decoder says they hold, or throw a UserError of one line. Never another exception type, never a hang
// (each run is timed), never unbounded memory (resident memory is checked after each run).
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { parsePredictions } from '../../../src/eval/predictions.ts';
import { readConfig } from '../../../src/model/formats/config.ts';
import { halfToNumber } from '../../../src/model/formats/dtype.ts';
import { SafetensorsFile } from '../../../src/model/formats/safetensors.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { TorchBinFile } from '../../../src/model/formats/torch-bin.ts';
import { loadTask } from '../../../src/tasks/load.ts';
import { tempDir, writeSafetensorsParts } from '../../helpers/damaged.ts';
import { fixture, sentevalDir } from '../../helpers/shared.ts';

const SEED = 13;
// CPU time of this process, not wall-clock: another process's load does not count against it. One
// run of any reader on these small inputs takes about a millisecond; 5 s means a runaway loop.
const RUN_CPU_MS = 5_000;
const RSS_GROWTH = 768 << 20;       // a zip bomb or a header asking for gigabytes would exceed this

/**
 * Runs `f`: a UserError of one line counts as a refusal (returns null); any other exception fails the
 * property. Also checks CPU time and memory.
 */
function guarded<T>(what: string, f: () => T): T | null {
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  try {
    return f();
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`${what}: threw ${(e as Error)?.constructor?.name} instead of a UserError: ${(e as Error)?.stack ?? e}`);
    if (e.message.includes('\n') || e.message.length === 0) throw new Error(`${what}: UserError is not one line: ${JSON.stringify(e.message)}`);
    return null;
  } finally {
    const used = process.cpuUsage(cpu0);
    const ms = (used.user + used.system) / 1000;
    if (ms > RUN_CPU_MS) throw new Error(`${what}: used ${ms.toFixed(0)} ms of CPU`);
    const grew = process.memoryUsage().rss - rss0;
    if (grew > RSS_GROWTH) throw new Error(`${what}: resident memory grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  }
}

function check<Ts extends [unknown, ...unknown[]]>(t: ExecutionContext, prop: fc.IPropertyWithHooks<Ts>, numRuns: number): void {
  t.timeout(120_000);
  fc.assert(prop, { seed: SEED, numRuns, endOnFailure: true });
  t.pass();
}

/** Byte-level mutations of a valid file. */
const byteMutation = (len: number) => fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(len - 1), x: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(len - 1) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(len), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(len - 1), n: fc.integer({ min: 1, max: 16 }) }),
);
type ByteMutation = { kind: 'flip'; at: number; x: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; n: number };
function mutate(buf: Uint8Array, m: ByteMutation): Buffer {
  const b = Buffer.from(buf);
  switch (m.kind) {
    case 'flip': b[m.at] ^= m.x; return b;
    case 'truncate': return b.subarray(0, m.at);
    case 'insert': return Buffer.concat([b.subarray(0, m.at), m.bytes, b.subarray(m.at)]);
    case 'delete': return Buffer.concat([b.subarray(0, m.at), b.subarray(m.at + m.n)]);
  }
}

// ---- safetensors ----

/** Independent decoder: what a safetensors file holds, or null when the format says it is invalid. */
function referenceSafetensors(buf: Buffer): Map<string, number[]> | null {
  if (buf.length < 8) return null;
  const n = Number(buf.readBigUInt64LE(0));
  if (n > 100 << 20 || 8 + n > buf.length) return null;
  let h: unknown;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch {
    return null;
  }
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return null;
  const size = { F32: 4, F16: 2, BF16: 2 } as Record<string, number>;
  const out = new Map<string, number[]>();
  const ranges: [number, number][] = [];
  for (const [name, v] of Object.entries(h as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const ints = (a: unknown) => Array.isArray(a) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (typeof e?.dtype !== 'string' || !ints(e.shape) || !ints(e.data_offsets) || (e.data_offsets as number[]).length !== 2) return null;
    const [b, en] = e.data_offsets as number[];
    const count = (e.shape as number[]).reduce((a, x) => a * x, 1);
    if (en < b || !(e.dtype in size) || en - b !== count * size[e.dtype]) return null;
    if (8 + n + en > buf.length) return null;
    ranges.push([b, en]);
    const vals: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = 8 + n + b + i * size[e.dtype];
      vals.push(e.dtype === 'F32' ? buf.readFloatLE(at) : e.dtype === 'F16' ? halfToNumber(buf.readUInt16LE(at)) : new Float32Array(new Uint32Array([buf.readUInt16LE(at) << 16]).buffer)[0]);
    }
    out.set(name, vals);
  }
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, en] of ranges) { if (b !== at) return null; at = en; }
  return 8 + n + at === buf.length ? out : null;
}

const sameValues = (a: ArrayLike<number>, b: readonly number[]) => a.length === b.length && b.every((x, i) => Object.is(Math.fround(x), a[i]) || (Number.isNaN(x) && Number.isNaN(a[i])));

test('safetensors: random bytes and mutated files load exactly what they hold, or are refused in one line', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'x.safetensors');
  const f32 = new Float32Array([1, -2.5, 3e-3, 0, 7, 8, 9, 10, -11, 12, 13, 14]);
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000]);
  const bf16 = new Uint16Array([0x3f80, 0xc000, 0x0000, 0x7f80, 0x3e20, 0x4049]);
  const data = Buffer.concat([Buffer.from(f32.buffer), Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]);
  writeSafetensorsParts(file, {
    __metadata__: { format: 'pt' },
    'a.weight': { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] },
    'b.weight': { dtype: 'F16', shape: [5], data_offsets: [48, 58] },
    'c.weight': { dtype: 'BF16', shape: [2, 3], data_offsets: [58, 70] },
  }, data);
  const valid = fs.readFileSync(file);
  const headerLen = Number(valid.readBigUInt64LE(0));
  const header = JSON.parse(valid.subarray(8, 8 + headerLen).toString('utf8'));
  const entryName = fc.constantFrom('a.weight', 'b.weight', 'c.weight');
  const headerMutation = fc.record({ name: entryName, field: fc.constantFrom('dtype', 'shape', 'data_offsets'), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.integer({ min: -4, max: 80 }), { maxLength: 3 }), fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'F64')) });
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    byteMutation(valid.length).map((m) => mutate(valid, m)),
    headerMutation.map(({ name, field, value }) => {
      const h = structuredClone(header);
      h[name][field] = value;
      const hb = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(hb.length));
      return Buffer.concat([len, hb, data]);
    }),
  );
  check(t, fc.property(input, (buf) => {
    fs.writeFileSync(file, buf);
    const ref = referenceSafetensors(buf);
    const got = guarded('safetensors', () => {
      const s = SafetensorsFile.open(file);
      return new Map(s.names().map((n) => [n, s.read(n)] as const));
    });
    if (ref === null) return got === null;
    if (got === null) return false;
    return got.size === ref.size && [...ref].every(([n, v]) => got.has(n) && sameValues(got.get(n)!, v));
  }), 400);
});

// ---- torch.save zip + pickle ----

test('torch zip + pickle: random bytes, mutated zips and pickles are refused in one line or read within their storages', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'adapter_model.bin');
  const valid = fs.readFileSync(fixture('tiny-lora-bin/adapter_model.bin'));
  const entries = unzipSync(valid);
  const pkl = entries['adapter_model/data.pkl'];
  const storageNames = Object.keys(entries).filter((k) => k.includes('/data/'));
  const rezip = (pickle: Uint8Array, storages: Record<string, Uint8Array> = {}) =>
    Buffer.from(zipSync({ ...entries, ...storages, 'adapter_model/data.pkl': pickle }, { level: 0 }));
  const input = fc.oneof(
    fc.record({ buf: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), dataOnly: fc.constant(null) }),
    fc.record({ buf: byteMutation(valid.length).map((m) => mutate(valid, m)), dataOnly: fc.constant(null) }),
    fc.record({ buf: byteMutation(pkl.length).map((m) => rezip(mutate(pkl, m))), dataOnly: fc.constant(null) }),
    // pickle opcodes spliced in at random places
    fc.record({
      buf: fc.tuple(fc.nat(pkl.length), fc.array(fc.constantFrom(...'()tRQbsue}]NK\x85\x86\x87\x89\x88.'.split('').map((c) => c.charCodeAt(0))), { minLength: 1, maxLength: 6 }))
        .map(([at, ops]) => rezip(Buffer.concat([pkl.subarray(0, at), Buffer.from(ops), pkl.subarray(at)]))),
      dataOnly: fc.constant(null),
    }),
    // bytes of one storage changed: every tensor must read exactly the new bytes
    fc.record({ storage: fc.constantFrom(...storageNames), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }).map(({ storage, at, x }) => {
      const s = Buffer.from(entries[storage]);
      s[at % s.length] ^= x;
      return { buf: rezip(pkl, { [storage]: s }), dataOnly: { storage, bytes: s } };
    }),
  );
  const ref = TorchBinFile.open(fixture('tiny-lora-bin/adapter_model.bin'));
  check(t, fc.property(input, ({ buf, dataOnly }) => {
    fs.writeFileSync(file, buf);
    const got = guarded('torch-bin', () => {
      const f = TorchBinFile.open(file);
      return new Map(f.names().map((n) => [n, { data: guarded(`read ${n}`, () => f.read(n)), ref: f.ref(n) }] as const));
    });
    if (dataOnly) {
      // the pickle is intact: same tensors, each equal to its own storage bytes
      if (got === null) return false;
      return [...got].every(([n, g]) => {
        const r = ref.ref(n);
        const storage = entries[`adapter_model/data/${r.storageKey}`];
        const bytes = r.storageKey === dataOnly.storage.split('/').pop() ? dataOnly.bytes : storage;
        const want = new Float32Array(Uint8Array.from(bytes).buffer, r.offset * 4, r.shape.reduce((a, x) => a * x, 1));
        return g.data !== null && sameValues(g.data, Array.from(want));
      });
    }
    if (got === null) return true;
    // whatever loads reads exactly numel(shape) values and stays inside its storage
    return [...got].every(([, g]) => g.data === null || (g.data.length === g.ref.shape.reduce((a, x) => a * x, 1) && g.ref.offset >= 0 && g.ref.offset + g.data.length <= g.ref.storageNumel));
  }), 250);
});

// ---- config.json ----

test('config.json: random JSON and mutated configs load the values given, or are refused in one line', (t) => {
  const dir = tempDir(t);
  const original = JSON.parse(fs.readFileSync(fixture('tiny-llama/config.json'), 'utf8'));
  const base = readConfig(fixture('tiny-llama'));
  const keys = ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'rms_norm_eps', 'rope_theta', 'model_type', 'head_dim', 'bos_token_id', 'pad_token_id', 'hidden_act', 'rope_scaling', 'max_position_embeddings', 'some_unknown_key'];
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -3, max: 200 }), fc.double(), fc.constantFrom(null, 'llama', 'mistral', 'silu', 64, 32, 2, 16));
  const input = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) ?? 'null', key: null as string | null, value: undefined as unknown })),
    fc.uint8Array({ maxLength: 100 }).map((b) => ({ text: Buffer.from(b).toString('latin1'), key: null as string | null, value: undefined as unknown })),
    fc.record({ key: fc.constantFrom(...keys), value }).map(({ key, value: v }) => ({ text: JSON.stringify({ ...original, [key]: v }), key, value: v as unknown })),
  );
  check(t, fc.property(input, ({ text, key, value: v }) => {
    fs.writeFileSync(path.join(dir, 'config.json'), text);
    const got = guarded('config', () => readConfig(dir));
    if (got === null || key === null) return true;
    // a mutated key that loads: that field took the given value (or its documented default for null),
    // and nothing else moved (but `arch`, which is derived from several keys: its own tests are in config.test.ts)
    const field = key as keyof typeof got;
    const same = (Object.keys(base) as (keyof typeof got)[]).filter((k) => k !== field && k !== 'arch' && !(['num_attention_heads', 'hidden_size'].includes(key) && k === 'head_dim') && !(key === 'rope_theta'));
    if (!same.every((k) => JSON.stringify(got[k]) === JSON.stringify(base[k]))) return false;
    if (['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'vocab_size', 'bos_token_id', 'head_dim', 'max_position_embeddings'].includes(key) && v !== null && v !== undefined) return got[field] === v;
    return true;
  }), 400);
});

// ---- tokenizer.json ----

test('tokenizer.json: random JSON and mutated tokenizers give in-vocabulary ids or one-line refusals', (t) => {
  const dir = tempDir(t);
  fs.copyFileSync(fixture('tiny-llama/tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const real = JSON.parse(fs.readFileSync(fixture('tiny-llama/tokenizer.json'), 'utf8'));
  const paths: string[][] = [['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['normalizer'], ['normalizer', 'normalizers'], ['pre_tokenizer'], ['post_processor'], ['decoder'], ['added_tokens'], ['model', 'byte_fallback'], ['model', 'unk_token']];
  const small = fc.jsonValue({ maxDepth: 2 });
  const input = fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 3, arbitrary: fc.record({ model: fc.record({ type: fc.constantFrom('BPE', 'WordPiece', 'Unigram', 'WordLevel', 'x'), vocab: small, merges: small }), added_tokens: small }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.record({ path: fc.constantFrom(...paths), value: fc.oneof(small, fc.constant(undefined)) }).map(({ path: p, value: v }) => {
      const copy = { ...real, model: { ...real.model } } as Record<string, unknown>;
      let o = copy as Record<string, unknown>;
      for (const k of p.slice(0, -1)) o = o[k] as Record<string, unknown>;
      if (v === undefined) delete o[p.at(-1)!];
      else o[p.at(-1)!] = v;
      return JSON.stringify(copy);
    }) },
  );
  check(t, fc.property(input, (text) => {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), text);
    const tok = guarded('tokenizer', () => loadTokenizer(dir, { impl: 'tokenizer.json', hash: { memo: null } }));
    if (tok === null) return true;
    return ['a sentence.', 'The representative word for sentence <s> ü 🙂 is:"', ''].every((s) => {
      const ids = guarded('encode', () => tok.encode(s));
      return ids === null || (ids[0] === tok.bosId && ids.every((id) => Number.isSafeInteger(id) && id >= 0 && id < tok.vocabSize));
    });
  }), 60);
});

// ---- task files ----

test('task files: random bytes and mutated SentEval files load the pinned pair counts or are refused in one line', (t) => {
  const dir = tempDir(t);
  const files = ['STS/STSBenchmark/sts-train.csv', 'STS/STSBenchmark/sts-dev.csv', 'STS/STSBenchmark/sts-test.csv', 'SICK/SICK_train.txt', 'SICK/SICK_trial.txt', 'SICK/SICK_test_annotated.txt',
    ...['MSRpar', 'MSRvid', 'SMTeuroparl', 'surprise.OnWN', 'surprise.SMTnews'].flatMap((s) => [`STS/STS12-en-test/STS.input.${s}.txt`, `STS/STS12-en-test/STS.gs.${s}.txt`])];
  const original = new Map(files.map((f) => [f, fs.readFileSync(path.join(sentevalDir, f))]));
  for (const [f, b] of original) { fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true }); fs.writeFileSync(path.join(dir, f), b); }
  const targets: [string, string][] = [['STSBenchmark', 'STS/STSBenchmark/sts-test.csv'], ['SICKRelatedness', 'SICK/SICK_trial.txt'], ['STS12', 'STS/STS12-en-test/STS.gs.MSRpar.txt'], ['STS12', 'STS/STS12-en-test/STS.input.MSRpar.txt']];
  const input = fc.record({
    target: fc.constantFrom(...targets),
    how: fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => ({ random: Buffer.from(b) as Buffer | null, m: null as ByteMutation | null })),
      fc.record({ at: fc.nat(), x: fc.integer({ min: 1, max: 255 }), kind: fc.constantFrom('flip', 'truncate', 'delete') }).map((r) => ({ random: null as Buffer | null, m: r as unknown as ByteMutation | null })),
    ),
  });
  check(t, fc.property(input, ({ target: [task, f], how }) => {
    const orig = original.get(f)!;
    const m = how.m ? { ...how.m, at: (how.m as { at: number }).at % orig.length, n: 3 } as ByteMutation : null;
    fs.writeFileSync(path.join(dir, f), how.random ?? mutate(orig, m!));
    try {
      const got = guarded('task', () => loadTask(task, dir));
      if (got === null) return true;
      // loaded: SentEval's counts, gold inside the range, sentences are single lines
      const [lo, hi] = got.spec.goldRange;
      return got.subsets.every((s, i) => s.pairs.length === got.spec.subsets[i].pairs && s.pairs.every((p) => p.gold >= lo && p.gold <= hi && !/[\n\r\t]/.test(p.s1 + p.s2)));
    } finally {
      fs.writeFileSync(path.join(dir, f), orig);
    }
  }), 120);
});

// ---- predictions ----

test('predictions: random text is refused in one line or gives finite numbers; printed numbers read back exactly', (t) => {
  const format = fc.constantFrom('jsonl' as const, 'csv' as const);
  check(t, fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')), fc.array(fc.oneof(fc.constantFrom('1e999', '-1e999', 'NaN', 'inf', '', ' ', '"1"', '{"score": 2}', '0x10', '1_0'), fc.double().map(String)), { maxLength: 6 }).map((a) => a.join('\n'))), format, (text, fmt) => {
    const got = guarded('predictions', () => parsePredictions(text, fmt, 'p'));
    return got === null || got.every((x) => Number.isFinite(x));
  }), 1000);
  check(t, fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 30 }), format, (xs, fmt) => {
    const text = fmt === 'csv' ? `score\n${xs.map((x) => (Object.is(x, -0) ? '0' : String(x))).join('\n')}\n` : `${xs.map((x) => JSON.stringify({ score: x })).join('\n')}\n`;
    const got = parsePredictions(text, fmt, 'p');
    return got.length === xs.length && got.every((x, i) => x === xs[i] || (x === 0 && xs[i] === 0));
  }), 300);
});
