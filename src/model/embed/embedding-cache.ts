// On-disk embedding cache, safe under crashes, damage and concurrent writers.
//
// Layout: `<dir>/v2/<key>/` per cache key (the key is a hash of everything that changes an embedding:
// src/experiments/results/run-identity.ts), holding `meta.json` (what the key stands for, for people) and
// segment files `<host>-<pid>-<time>-<random>.seg`. Each process appends only to its own segment, so
// two processes (an `sts` and a `degrade` on one cache) never write the same file and need no lock.
//
// A segment is a sequence of fixed-size records:
//   magic u32 LE 'BEC2' | sha256(text) 32 bytes | dim float32 LE | check 16 bytes
// where check = sha256(key, sha256(text), vector bytes)[0..16]. A record is used only when its check
// matches and every value is finite, so flipped bytes, NaNs, a record from another key or a record cut
// short are detected and dropped; after damage the reader looks for the next magic, so bytes inserted
// or cut out cost only the records they touch. Duplicates (two writers storing one sentence) are
// harmless: each record stands alone and the first valid one wins.
//
// A segment whose writer is gone (same host, process not running) and that holds damage or a torn tail
// is rewritten with only its valid records (new file, then the old one is removed), so the notice about
// it is printed once. Segments of a running writer, or of another host, are never touched: their tail
// may be a record being written right now.
// Files of the first format (`<key>.f32` + `<key>.idx`, no checksums) are ignored; delete them at will.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What embedders read and write: the disk cache below, or a MemoryStore (`--no-cache`). */
export interface EmbeddingStore {
  readonly size: number;
  has(text: string): boolean;
  get(text: string): Float32Array | undefined;
  putBatch(texts: readonly string[], vecs: readonly Float32Array[]): void;
}

/** Vectors held in memory for one run only; nothing is read from or written to disk. */
export class MemoryStore implements EmbeddingStore {
  private readonly m = new Map<string, Float32Array>();
  constructor(readonly dim: number) {}
  get size(): number {
    return this.m.size;
  }
  has(text: string): boolean {
    return this.m.has(text);
  }
  get(text: string): Float32Array | undefined {
    return this.m.get(text);
  }
  putBatch(texts: readonly string[], vecs: readonly Float32Array[]): void {
    texts.forEach((t, i) => { if (!this.m.has(t)) this.m.set(t, Float32Array.from(vecs[i])); });
  }
}

export const CACHE_FORMAT_DIR = 'v2';
const MAGIC = 0x32434542; // 'BEC2' little-endian
const MAGIC_BYTES = Buffer.from([0x42, 0x45, 0x43, 0x32]);
const isPrefixOfRecord = (tail: Buffer) => tail.length < 4 ? MAGIC_BYTES.subarray(0, tail.length).equals(tail) : tail.readUInt32LE(0) === MAGIC;
/** Segments this process has open for writing (a segment of this pid that is not open is finished). */
const openSegments = new Set<string>();
const HASH = 32;
const CHECK = 16;

export interface CacheOptions {
  /** One-line notices: damage found and dropped. Default: stderr. */
  log?: (msg: string) => void;
}

const textHash = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Whether a process of this host is running (a writer that died leaves its segment to be repaired). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const HOST = os.hostname().replace(/[^\w.-]+/g, '_') || 'host';

interface SegmentScan {
  valid: number;
  damaged: number;   // stretches not covered by a valid record, in record-sized units (at least 1 each)
  torn: boolean;     // ends with the prefix of one record
}

export class EmbeddingCache implements EmbeddingStore {
  readonly dir: string;
  private readonly recSize: number;
  private readonly keyBytes: Buffer;
  private readonly rows = new Map<string, Float32Array>(); // hex sha256(text) -> vector
  private fd: number | null = null;
  private segment: string | null = null;
  private readonly log: (msg: string) => void;

  constructor(root: string, readonly key: string, readonly dim: number, meta: unknown, opts: CacheOptions = {}) {
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.dir = path.join(root, CACHE_FORMAT_DIR, key);
    this.recSize = 4 + HASH + 4 * dim + CHECK;
    this.keyBytes = Buffer.from(key, 'utf8');
    fs.mkdirSync(this.dir, { recursive: true });
    const metaPath = path.join(this.dir, 'meta.json');
    if (!fs.existsSync(metaPath)) {
      const tmp = `${metaPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ key, dim, format: 'bellm-bench embedding cache v2', meta }, null, 2));
      fs.renameSync(tmp, metaPath);
    }
    this.load();
  }

  private check(hash: Uint8Array, vec: Uint8Array): Buffer {
    return createHash('sha256').update(this.keyBytes).update(hash).update(vec).digest().subarray(0, CHECK);
  }

  /** The record at `p` if whole and intact. */
  private recordAt(buf: Buffer, p: number): { hash: string; vec: Float32Array } | null {
    if (p + this.recSize > buf.length || buf.readUInt32LE(p) !== MAGIC) return null;
    const hash = buf.subarray(p + 4, p + 4 + HASH);
    const vecBytes = buf.subarray(p + 4 + HASH, p + 4 + HASH + 4 * this.dim);
    const check = buf.subarray(p + 4 + HASH + 4 * this.dim, p + this.recSize);
    if (!this.check(hash, vecBytes).equals(check)) return null;
    const vec = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) {
      const x = vecBytes.readFloatLE(4 * i);
      if (!Number.isFinite(x)) return null;
      vec[i] = x;
    }
    return { hash: hash.toString('hex'), vec };
  }

  private scan(buf: Buffer, onRecord: (hash: string, vec: Float32Array, at: number) => void): SegmentScan {
    let p = 0, valid = 0, damaged = 0;
    while (p < buf.length) {
      const r = this.recordAt(buf, p);
      if (r) {
        onRecord(r.hash, r.vec, p);
        valid++;
        p += this.recSize;
        continue;
      }
      const next = buf.indexOf(MAGIC_BYTES, p + 1);
      // The prefix of one record at the very end: an append cut short.
      if (next < 0 && buf.length - p < this.recSize && isPrefixOfRecord(buf.subarray(p))) return { valid, damaged, torn: true };
      // Damage: skip to the next place a record may start.
      const end = next < 0 ? buf.length : next;
      damaged += Math.max(1, Math.round((end - p) / this.recSize));
      p = end;
    }
    return { valid, damaged, torn: false };
  }

  private load(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.seg')).sort();
    } catch {
      return;
    }
    let dropped = 0, tornTails = 0;
    const bad: string[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch {
        continue; // removed by a concurrent repair: its records are elsewhere or get recomputed
      }
      const s = this.scan(buf, (h, v) => { if (!this.rows.has(h)) this.rows.set(h, v); });
      const gone = this.writerGone(name);
      // A partial record at the end of a running writer's segment is a write in flight, not damage.
      const torn = s.torn && gone;
      if (!s.damaged && !torn) continue;
      dropped += s.damaged + (torn ? 1 : 0);
      if (torn) tornTails++;
      bad.push(name);
      if (gone) this.repair(file, buf);
    }
    if (dropped) {
      const why = [dropped > tornTails ? 'bad checksum or value' : '', tornTails ? 'torn tail of a run that crashed' : ''].filter(Boolean).join('; ');
      this.log(`embedding cache ${this.dir}: ${dropped} damaged record${dropped > 1 ? 's' : ''} (${why}) dropped from ${bad.join(', ')}; those sentences are recomputed`);
    }
  }

  /** Same host and the writing process no longer runs. */
  private writerGone(name: string): boolean {
    const m = /^(.*)-(\d+)-\d+-[0-9a-f]+\.seg$/.exec(name);
    if (!m || m[1] !== HOST) return false;
    const pid = Number(m[2]);
    return pid === process.pid ? !openSegments.has(name) : !isAlive(pid);
  }

  /** Replace a dead writer's segment by one holding only its valid records. */
  private repair(file: string, buf: Buffer): void {
    const keep: Buffer[] = [];
    this.scan(buf, (_h, _v, at) => keep.push(buf.subarray(at, at + this.recSize)));
    const fresh = path.join(this.dir, this.segmentName());
    try {
      if (keep.length) {
        fs.writeFileSync(`${fresh}.tmp`, Buffer.concat(keep));
        fs.renameSync(`${fresh}.tmp`, fresh);
      }
      fs.rmSync(file, { force: true });
    } catch {
      // a read-only or full cache: the damage is skipped again next time, never trusted
    }
  }

  private segmentName(): string {
    return `${HOST}-${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}.seg`;
  }

  get size(): number {
    return this.rows.size;
  }

  has(text: string): boolean {
    return this.rows.has(textHash(text).toString('hex'));
  }

  get(text: string): Float32Array | undefined {
    return this.rows.get(textHash(text).toString('hex'));
  }

  /** Appends the batch's new sentences to this process's segment in one write. */
  putBatch(texts: readonly string[], vecs: readonly Float32Array[]): void {
    const parts: Buffer[] = [];
    const added = new Map<string, Float32Array>();
    texts.forEach((t, i) => {
      const h = textHash(t);
      const hex = h.toString('hex');
      if (this.rows.has(hex) || added.has(hex)) return;
      const v = vecs[i];
      if (v.length !== this.dim) throw new Error(`EmbeddingCache: vector of ${v.length} values, expected ${this.dim}`);
      const rec = Buffer.alloc(this.recSize);
      rec.writeUInt32LE(MAGIC, 0);
      h.copy(rec, 4);
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      bytes.copy(rec, 4 + HASH);
      this.check(h, rec.subarray(4 + HASH, 4 + HASH + 4 * this.dim)).copy(rec, 4 + HASH + 4 * this.dim);
      parts.push(rec);
      added.set(hex, Float32Array.from(v));
    });
    if (!parts.length) return;
    if (this.fd === null) {
      const name = this.segmentName();
      this.segment = path.join(this.dir, name);
      this.fd = fs.openSync(this.segment, 'wx');
      openSegments.add(name);
    }
    const block = Buffer.concat(parts);
    for (let off = 0; off < block.length; ) off += fs.writeSync(this.fd, block, off, block.length - off);
    for (const [h, v] of added) this.rows.set(h, v);
  }

  /** Closes this process's segment (also closed at exit). */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    if (this.segment) openSegments.delete(path.basename(this.segment));
    this.fd = null;
  }
}
