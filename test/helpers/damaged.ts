// Writable temp copies of the read-only fixtures, and ways to damage them: truncation, edited
// safetensors headers, synthetic safetensors files, rewritten torch.save zips.
import type { ExecutionContext } from 'ava';
import { unzipSync, zipSync } from 'fflate';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh temp directory, removed when the test ends. */
export function tempDir(t: ExecutionContext, name = 'bellm-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), name));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copy every file of `src` (or only `only`) into `dst`, writable. */
export function copyDir(src: string, dst: string, only?: string[]): string {
  fs.mkdirSync(dst, { recursive: true });
  for (const f of only ?? fs.readdirSync(src)) {
    fs.copyFileSync(path.join(src, f), path.join(dst, f));
    fs.chmodSync(path.join(dst, f), 0o644);
  }
  return dst;
}

export type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;

/** Split a safetensors file into its parsed header and its data bytes. */
export function readSafetensorsParts(file: string): { header: Header; data: Uint8Array } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), data: buf.subarray(8 + n) };
}

/** Write a safetensors file from a header object (or raw header text) and data bytes. */
export function writeSafetensorsParts(file: string, header: Header | string, data: Uint8Array): void {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, data]));
}

/** Rewrite `file` in place with an edited header (data unchanged). */
export function editHeader(file: string, edit: (h: Header) => void): void {
  const { header, data } = readSafetensorsParts(file);
  edit(header);
  writeSafetensorsParts(file, header, data);
}

/** Write F32 tensors as a safetensors file. */
export function writeF32Safetensors(file: string, tensors: Record<string, { shape: number[]; data: Float32Array }>): void {
  const header: Header = {};
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  writeSafetensorsParts(file, header, Buffer.concat(parts));
}

/** Keep only the first `length` bytes of `file`. */
export function truncateFile(file: string, length: number): void {
  fs.truncateSync(file, length);
}

/** Rewrite a torch.save zip, editing its entries (name -> bytes); stored uncompressed like torch. */
export function editZip(src: string, dst: string, edit: (entries: Record<string, Uint8Array>) => void): void {
  const entries = unzipSync(fs.readFileSync(src));
  edit(entries);
  fs.writeFileSync(dst, zipSync(entries, { level: 0 }));
}

/** Index of the first occurrence of `needle` in `hay`, or -1. */
export function indexOfBytes(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function seededFloats(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
