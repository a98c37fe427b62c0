// Reader for `torch.save` files (zip format, torch >= 1.6) WITHOUT Python and without executing
// anything. Layout: `<prefix>/data.pkl` (a pickle of the state dict), `<prefix>/data/<key>` (raw
// storages, stored uncompressed), `<prefix>/byteorder`. The pickle is parsed with pickleparser, whose
// only calls are the few functions we register below; each builds a plain descriptor (storage key,
// dtype, offset, shape, stride). Any other global in the pickle is refused. Descriptors are frozen when
// built and checked again after the pickle ends (BUILD opcodes cannot rewrite them), every storage must
// be a stored (uncompressed) zip entry of exactly the size the pickle declares, and every tensor must lie
// inside its storage: no byte outside a tensor's own storage is ever read as a weight.
import fs from 'node:fs';
import { Parser } from 'pickleparser';
import { UserError } from '../../errors.ts';
import { DTYPE_BYTES, toFloat32, type WeightDtype } from './dtype.ts';
import { fmtShape, numel, readRange, type TensorSource } from './safetensors.ts';

// ---- zip central directory (ranged reads only) ----

interface ZipEntry {
  name: string;
  method: number;        // 0 stored (torch always), 8 deflate
  compSize: number;
  size: number;
  localOffset: number;   // offset of the local file header
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 0x100000000;

function readCentralDirectory(file: string, size: number): ZipEntry[] {
  const notZip = () => new UserError(`${file} is not a zip-format torch.save file (saved by torch < 1.6, or truncated); re-save it with a recent torch or as safetensors`);
  const tailLen = Math.min(size, 22 + 0xffff + 20);
  const tailStart = size - tailLen;
  const tail = readRange(file, tailStart, tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (u32(tail, i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw notZip();
  let count = u16(tail, eocd + 10), cdSize = u32(tail, eocd + 12), cdOffset = u32(tail, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // zip64: the locator sits just before the EOCD and points at the zip64 EOCD record
    if (eocd < 20 || u32(tail, eocd - 20) !== 0x07064b50) throw notZip();
    const rec = readRange(file, u64(tail, eocd - 12), 56);
    if (u32(rec, 0) !== 0x06064b50) throw notZip();
    count = u64(rec, 32); cdSize = u64(rec, 40); cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > size) throw notZip();
  const cd = readRange(file, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  for (let p = 0, k = 0; k < count; k++) {
    if (u32(cd, p) !== 0x02014b50) throw notZip();
    const nameLen = u16(cd, p + 28), extraLen = u16(cd, p + 30), commentLen = u16(cd, p + 32);
    const e: ZipEntry = {
      name: new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen)),
      method: u16(cd, p + 10), compSize: u32(cd, p + 20), size: u32(cd, p + 24), localOffset: u32(cd, p + 42),
    };
    // zip64 extended information (id 1): the 0xffffffff fields, in this order
    for (let x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; x += 4 + u16(cd, x + 2)) {
      if (u16(cd, x) !== 1) continue;
      let q = x + 4;
      if (e.size === 0xffffffff) { e.size = u64(cd, q); q += 8; }
      if (e.compSize === 0xffffffff) { e.compSize = u64(cd, q); q += 8; }
      if (e.localOffset === 0xffffffff) e.localOffset = u64(cd, q);
    }
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

// ---- pickle -> descriptors ----

/** One tensor of the pickled state dict: where its bytes are, no data yet. */
export interface TorchTensorRef {
  storageKey: string;    // entry `<prefix>/data/<storageKey>`
  dtype: WeightDtype;
  storageNumel: number;  // elements in the whole storage
  offset: number;        // storage_offset, in elements
  shape: number[];
  stride: number[];      // in elements
}

interface StorageRef { storageKey: string; dtype: WeightDtype; storageNumel: number }

const STORAGE_DTYPES: Record<string, WeightDtype> = { FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16' };

function parseStateDict(file: string, pkl: Uint8Array): Map<string, TorchTensorRef> {
  const refuse = (what: string) => new UserError(`${file}: the pickle refers to ${what}, which this reader does not load (only BF16/F16/F32 tensors); re-save the weights as safetensors`);
  const storageTypes = new Map<Function, WeightDtype>();
  const isInts = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
  const tensor = (storage: unknown, offset: unknown, shape: unknown, stride: unknown): TorchTensorRef => {
    const s = storage as StorageRef;
    if (typeof s?.storageKey !== 'string' || !Number.isSafeInteger(offset) || (offset as number) < 0 || !isInts(shape) || !isInts(stride) || shape.length !== stride.length)
      throw new UserError(`${file}: malformed tensor record in the pickle; re-save the file`);
    return Object.freeze({ storageKey: s.storageKey, dtype: s.dtype, storageNumel: s.storageNumel, offset: offset as number, shape: Object.freeze([...shape]) as number[], stride: Object.freeze([...stride]) as number[] });
  };
  const globals: Record<string, Function> = {
    'collections.OrderedDict': () => new Map(),
    'torch._utils._rebuild_tensor_v2': (st: unknown, off: unknown, size: unknown, stride: unknown) => tensor(st, off, size, stride),
    'torch._utils._rebuild_tensor': (st: unknown, off: unknown, size: unknown, stride: unknown) => tensor(st, off, size, stride),
    'torch._utils._rebuild_parameter': (data: unknown) => data,
  };
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    nameResolver: {
      resolve(module: string, name: string) {
        const fn = globals[`${module}.${name}`];
        if (fn) return fn as (...a: unknown[]) => unknown;
        if (module === 'torch' && name.endsWith('Storage')) {
          const dtype = STORAGE_DTYPES[name];
          if (!dtype) throw refuse(`torch.${name} (dtype not supported)`);
          const marker = () => { throw refuse(`a call of torch.${name}`); };
          storageTypes.set(marker, dtype);
          return marker;
        }
        throw refuse(`${module}.${name}`);
      },
    },
    // persistent id of a storage: ('storage', torch.XStorage, key, location, numel)
    persistentResolver: {
      resolve(pid: unknown): StorageRef {
        const [tag, type, key, , n] = Array.isArray(pid) ? pid : [];
        const dtype = storageTypes.get(type as Function);
        if (tag !== 'storage' || !dtype || typeof key !== 'string' || !Number.isSafeInteger(n) || (n as number) < 0)
          throw new UserError(`${file}: unknown persistent id in the pickle; re-save the weights as safetensors`);
        return Object.freeze({ storageKey: key, dtype, storageNumel: n as number });
      },
    },
  });
  let root: unknown;
  try {
    root = parser.parse(pkl);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot parse data.pkl (${(e as Error).message}); re-save the weights as safetensors`);
  }
  if (!(root instanceof Map)) throw new UserError(`${file}: the pickle is not a state dict (name -> tensor)`);
  const out = new Map<string, TorchTensorRef>();
  for (const [k, v] of root) if (typeof k === 'string' && (v as TorchTensorRef)?.storageKey !== undefined) out.set(k, checkedRef(file, k, v));
  return out;
}

/** A descriptor checked again after the whole pickle ran, copied into a fresh frozen object. */
function checkedRef(file: string, name: string, v: unknown): TorchTensorRef {
  const r = v as Record<string, unknown>;
  const bad = (why: string) => new UserError(`${file}: malformed tensor record for ${name} in the pickle (${why}); re-save the weights as safetensors`);
  const nonNeg = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  const ints = (a: unknown): a is number[] => Array.isArray(a) && a.length <= 8 && a.every(nonNeg);
  if (!Object.isFrozen(r)) throw bad('not built by _rebuild_tensor');
  if (typeof r.storageKey !== 'string' || !/^\w{1,64}$/.test(r.storageKey)) throw bad(`storage key ${JSON.stringify(r.storageKey)}`);
  if (!Object.values(STORAGE_DTYPES).includes(r.dtype as WeightDtype)) throw bad(`dtype ${String(r.dtype)}`);
  if (!nonNeg(r.storageNumel) || !nonNeg(r.offset)) throw bad('storage size or offset');
  if (!ints(r.shape) || !ints(r.stride) || r.shape.length !== r.stride.length) throw bad('shape or stride');
  return Object.freeze({ storageKey: r.storageKey, dtype: r.dtype as WeightDtype, storageNumel: r.storageNumel as number, offset: r.offset as number, shape: [...r.shape], stride: [...r.stride] });
}

/** Elements from a tensor's first to its last one, plus one: what it needs of its storage. */
function span(shape: readonly number[], stride: readonly number[]): number {
  let last = 0;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  return last + 1;
}

const MAX_PICKLE = 256 << 20;

/** Row-major strides of `shape`; size-1 dimensions may carry any stride. */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

// ---- the file ----

export class TorchBinFile implements TensorSource {
  private constructor(
    readonly path: string,
    private readonly prefix: string,                       // e.g. 'archive' or 'adapter_model'
    private readonly entries: Map<string, ZipEntry>,
    readonly tensors: Map<string, TorchTensorRef>,
  ) {}

  static open(file: string): TorchBinFile {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new UserError(`${file}: no such file`);
    }
    const entries = new Map(readCentralDirectory(file, size).map((e) => [e.name, e]));
    // torch.save stores every entry uncompressed; a compressed one was rewritten by another tool and
    // could be a zip bomb: refused before anything is inflated.
    for (const e of entries.values()) {
      if (e.method !== 0)
        throw new UserError(`${file}: zip entry ${e.name} is compressed (method ${e.method}); torch.save never compresses entries, so this file was rewritten by another tool: re-save it with torch.save or as safetensors`);
      if (e.compSize !== e.size) throw new UserError(`${file}: zip entry ${e.name} declares ${e.size} bytes but stores ${e.compSize}; the file is damaged`);
    }
    const pklName = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pklName) throw new UserError(`${file} is a zip but not a torch.save archive (no <name>/data.pkl)`);
    const prefix = pklName.slice(0, -'/data.pkl'.length);
    const partial = new TorchBinFile(file, prefix, entries, new Map());
    if (entries.has(`${prefix}/byteorder`)) {
      const order = new TextDecoder().decode(partial.entryBytes(`${prefix}/byteorder`));
      if (order !== 'little') throw new UserError(`${file} was saved on a ${order}-endian machine; re-save it as safetensors`);
    }
    const pkl = entries.get(pklName)!;
    if (pkl.size > MAX_PICKLE) throw new UserError(`${file}: data.pkl is ${pkl.size} bytes, more than any state dict needs; re-save the weights as safetensors`);
    const tensors = parseStateDict(file, partial.entryBytes(pklName));
    // Every storage: one dtype and size across its tensors, a zip entry of exactly that many bytes, and
    // every tensor inside it.
    const storages = new Map<string, { dtype: WeightDtype; numel: number }>();
    for (const [name, t] of tensors) {
      const known = storages.get(t.storageKey);
      if (known && (known.dtype !== t.dtype || known.numel !== t.storageNumel))
        throw new UserError(`${file}: storage ${t.storageKey} is declared twice with different types or sizes; the file is damaged`);
      storages.set(t.storageKey, { dtype: t.dtype, numel: t.storageNumel });
      const entry = entries.get(`${prefix}/data/${t.storageKey}`);
      const bytes = t.storageNumel * DTYPE_BYTES[t.dtype];
      if (!entry) throw new UserError(`${file}: zip entry ${prefix}/data/${t.storageKey} is missing; the file is damaged`);
      if (entry.size !== bytes) throw new UserError(`${file}: storage ${t.storageKey} should hold ${bytes} bytes (${t.storageNumel} x ${t.dtype}) but its zip entry has ${entry.size}; the file is damaged`);
      if (numel(t.shape) > 0 && t.offset + span(t.shape, t.stride) > t.storageNumel)
        throw new UserError(`tensor ${name} in ${file} reaches past the end of its storage; the file is damaged`);
    }
    return new TorchBinFile(file, prefix, entries, tensors);
  }

  /** Bytes of one zip entry, or a `[start, start+length)` slice of a stored entry. */
  private entryBytes(name: string, start = 0, length?: number): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new UserError(`${this.path}: zip entry ${name} is missing; the file is damaged`);
    const local = readRange(this.path, e.localOffset, 30);
    if (u32(local, 0) !== 0x04034b50) throw new UserError(`${this.path}: bad zip local header for ${name}; the file is damaged`);
    const dataAt = e.localOffset + 30 + u16(local, 26) + u16(local, 28);
    const len = length ?? e.size - start;
    if (start + len > e.size) throw new UserError(`${this.path}: entry ${name} has ${e.size} bytes, need ${start + len}; the file is damaged`);
    if (start < 0 || len < 0) throw new UserError(`${this.path}: entry ${name}: negative range; the file is damaged`);
    if (e.method !== 0) throw new UserError(`${this.path}: zip entry ${name} is compressed (method ${e.method}); torch.save never compresses entries: re-save the file`);
    if (u16(local, 8) !== 0) throw new UserError(`${this.path}: zip entry ${name} is compressed in its local header; the file is damaged`);
    return readRange(this.path, dataAt + start, len);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  ref(name: string): TorchTensorRef {
    const t = this.tensors.get(name);
    if (!t) throw new UserError(`tensor ${name} is missing from ${this.path}`);
    return t;
  }

  shape(name: string): number[] {
    return this.ref(name).shape;
  }

  dtype(name: string): string {
    return this.ref(name).dtype;
  }

  read(name: string): Float32Array {
    const t = this.ref(name);
    if (!isContiguous(t.shape, t.stride))
      throw new UserError(`tensor ${name} in ${this.path} is non-contiguous (shape ${fmtShape(t.shape)}, stride ${fmtShape(t.stride)}); save it with .contiguous() or as safetensors`);
    const n = numel(t.shape), item = DTYPE_BYTES[t.dtype];
    if (t.offset < 0 || t.offset + n > t.storageNumel) throw new UserError(`tensor ${name} in ${this.path} reaches past the end of its storage; the file is damaged`);
    return toFloat32(t.dtype, this.entryBytes(`${this.prefix}/data/${t.storageKey}`, t.offset * item, n * item));
  }
}
