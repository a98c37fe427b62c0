// On-disk embedding cache: one append-only pair of files per (model, adapter, settings) key.
// `<key>.f32` holds vectors back to back; `<key>.idx` one line per vector ("<sha1 of text>\n").
// Vectors are appended before their index line, so a crash loses at most the batch in flight,
// and a torn tail (index line without its vector, or a partial line) is ignored on load.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

export class EmbeddingCache {
  private readonly vecPath: string;
  private readonly idxPath: string;
  private readonly rows = new Map<string, number>();
  private count = 0;
  private data: Float32Array | null = null;
  private pending: Float32Array[] = [];

  constructor(dir: string, readonly key: string, readonly dim: number, meta: unknown) {
    mkdirSync(dir, { recursive: true });
    this.vecPath = join(dir, `${key}.f32`);
    this.idxPath = join(dir, `${key}.idx`);
    const metaPath = join(dir, `${key}.json`);
    if (!existsSync(metaPath)) writeFileSync(metaPath, JSON.stringify(meta, null, 2));
    if (existsSync(this.vecPath) && existsSync(this.idxPath)) this.load();
  }

  private load(): void {
    const bytes = statSync(this.vecPath).size;
    const stored = Math.floor(bytes / (4 * this.dim));
    const lines = readFileSync(this.idxPath, 'utf8').split('\n');
    // The last element is '' after a complete file, or a torn line after a crash.
    for (let i = 0; i < lines.length - 1 && i < stored; i++) this.rows.set(lines[i], i);
    this.count = Math.min(lines.length - 1, stored);
    if (this.count > 0) {
      const buf = readFileSync(this.vecPath);
      this.data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + this.count * this.dim * 4));
    }
    if (this.count * this.dim * 4 !== bytes || this.count !== lines.length - 1) this.rewrite();
  }

  /** Drops a torn tail so appends line up again. */
  private rewrite(): void {
    const keys = [...this.rows.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
    writeFileSync(this.vecPath, this.data ? Buffer.from(this.data.buffer, this.data.byteOffset, this.count * this.dim * 4) : Buffer.alloc(0));
    writeFileSync(this.idxPath, keys.map((k) => `${k}\n`).join(''));
  }

  get size(): number {
    return this.rows.size;
  }

  has(text: string): boolean {
    return this.rows.has(sha1(text));
  }

  get(text: string): Float32Array | undefined {
    const row = this.rows.get(sha1(text));
    if (row === undefined) return undefined;
    if (!this.data || (row + 1) * this.dim > this.data.length) this.flushMemory();
    return this.data!.subarray(row * this.dim, (row + 1) * this.dim);
  }

  /** Appends a batch durably (vectors first, then their index lines). */
  putBatch(texts: readonly string[], vecs: readonly Float32Array[]): void {
    const fresh: number[] = [];
    texts.forEach((t, i) => { if (!this.rows.has(sha1(t))) fresh.push(i); });
    if (fresh.length === 0) return;
    const block = new Float32Array(fresh.length * this.dim);
    fresh.forEach((i, j) => block.set(vecs[i], j * this.dim));
    appendFileSync(this.vecPath, Buffer.from(block.buffer));
    appendFileSync(this.idxPath, fresh.map((i) => `${sha1(texts[i])}\n`).join(''));
    for (const i of fresh) this.rows.set(sha1(texts[i]), this.count++);
    this.pending.push(block);
  }

  private flushMemory(): void {
    const old = this.data ?? new Float32Array(0);
    const merged = new Float32Array(this.count * this.dim);
    merged.set(old);
    let off = old.length;
    for (const b of this.pending) { merged.set(b, off); off += b.length; }
    this.pending = [];
    this.data = merged;
  }
}
