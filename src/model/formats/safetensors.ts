// safetensors reader: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}}, then raw
// row-major data. Only the header is read on open; each tensor is read with a ranged read when asked,
// so a 13 GB checkpoint is never loaded whole.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { DTYPE_BYTES, isWeightDtype, toFloat32 } from './dtype.ts';

/** Anything that holds named tensors: a safetensors file, a torch.save zip (torch-bin.ts), a checkpoint. */
export interface TensorSource {
  readonly path: string;
  names(): string[];
  has(name: string): boolean;
  /** Stored shape; throws UserError naming the tensor when absent. */
  shape(name: string): number[];
  /** Stored dtype, e.g. 'BF16'. */
  dtype(name: string): string;
  /** The tensor as fp32, row-major. */
  read(name: string): Float32Array;
}

export interface SafetensorsEntry {
  dtype: string;          // 'BF16' | 'F16' | 'F32' | others we can list but not read
  shape: number[];
  begin: number;          // absolute byte offsets in the file
  end: number;
}

const MAX_HEADER = 100 * 1024 * 1024; // the format caps headers at 100 MB
const CHUNK = 1 << 30;                // readSync takes at most 2 GiB per call

/** Read `length` bytes at `position`; a short read means the file is shorter than expected. */
export function readRange(file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, Math.min(CHUNK, length - done), position + done);
      if (n === 0) throw new UserError(`${file} is truncated: wanted ${length} bytes at offset ${position}, file ends after ${position + done}; re-download it`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

export class SafetensorsFile implements TensorSource {
  readonly entries = new Map<string, SafetensorsEntry>();
  readonly metadata: Record<string, string> | null;

  private constructor(
    readonly path: string,
    readonly size: number,          // file size in bytes
    readonly header: Uint8Array,    // the raw JSON header bytes (for fingerprints)
    json: Record<string, unknown>,
  ) {
    const base = 8 + header.length;
    const corrupt = (msg: string) => new UserError(`${path}: corrupt safetensors header: ${msg}; re-download or re-save the file`);
    this.metadata = (json.__metadata__ as Record<string, string> | undefined) ?? null;
    let last = { name: '', end: 0 };
    for (const [name, v] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const okInts = (a: unknown, n?: number): a is number[] =>
        Array.isArray(a) && (n === undefined || a.length === n) && a.every((x) => Number.isSafeInteger(x) && x >= 0);
      if (typeof e?.dtype !== 'string' || !okInts(e.shape) || !okInts(e.data_offsets, 2) || e.data_offsets[1] < e.data_offsets[0])
        throw corrupt(`bad entry for tensor ${name}`);
      const [b, en] = e.data_offsets;
      if (isWeightDtype(e.dtype) && en - b !== numel(e.shape) * DTYPE_BYTES[e.dtype])
        throw corrupt(`tensor ${name} is ${e.dtype} ${fmtShape(e.shape)} (${numel(e.shape) * DTYPE_BYTES[e.dtype]} bytes) but its data_offsets span ${en - b} bytes`);
      if (en > last.end) last = { name, end: en };
      this.entries.set(name, { dtype: e.dtype, shape: e.shape, begin: base + b, end: base + en });
    }
    if (base + last.end > size)
      throw new UserError(`${path} is truncated: header needs ${base + last.end} bytes (tensor ${last.name}) but the file has ${size}; re-download it`);
    // The format requires the data to be covered exactly: ranges back to back from 0, no overlap (two
    // names aliasing one range), no hole, nothing after the last tensor.
    const ranges = [...this.entries].map(([n, e]) => ({ n, b: e.begin - base, e: e.end - base })).sort((x, y) => x.b - y.b || x.e - y.e);
    let at = 0, prev = '';
    for (const r of ranges) {
      if (r.b < at) throw corrupt(`tensors ${prev} and ${r.n} overlap (data_offsets ${r.b} < ${at})`);
      if (r.b > at) throw corrupt(`bytes ${at}..${r.b} belong to no tensor`);
      at = r.e;
      prev = r.n;
    }
    if (base + at < size) throw corrupt(`${size - base - at} bytes after the last tensor belong to no tensor`);
  }

  /** Open a file and parse its header; tensors are not read. */
  static open(file: string): SafetensorsFile {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new UserError(`${file}: no such safetensors file`);
    }
    if (size < 8) throw new UserError(`${file} is not a safetensors file (${size} bytes); re-download it`);
    const lenBytes = readRange(file, 0, 8);
    const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    if (n > MAX_HEADER) throw new UserError(`${file} is not a safetensors file (header length ${n} is implausible)`);
    if (8 + n > size) throw new UserError(`${file} is truncated: its header alone needs ${8 + n} bytes but the file has ${size}; re-download it`);
    const header = readRange(file, 8, n);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
    } catch (e) {
      throw new UserError(`${file}: corrupt safetensors header (not valid JSON: ${(e as Error).message}); re-download or re-save the file`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw new UserError(`${file}: corrupt safetensors header (not a JSON object); re-download or re-save the file`);
    return new SafetensorsFile(file, size, header, json as Record<string, unknown>);
  }

  get name(): string {
    return path.basename(this.path);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new UserError(`tensor ${name} is missing from ${this.path}`);
    return e;
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  dtype(name: string): string {
    return this.entry(name).dtype;
  }

  /** Raw little-endian bytes of one tensor (a single ranged read). */
  readBytes(name: string): Uint8Array {
    const e = this.entry(name);
    return readRange(this.path, e.begin, e.end - e.begin);
  }

  read(name: string): Float32Array {
    const e = this.entry(name);
    if (!isWeightDtype(e.dtype))
      throw new UserError(`tensor ${name} in ${this.path} has dtype ${e.dtype}; only BF16, F16 and F32 weights are supported (dequantize or re-save the checkpoint)`);
    return toFloat32(e.dtype, this.readBytes(name));
  }
}
