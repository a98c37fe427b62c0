// Content hashes (sha256) of model files, streamed in chunks so a 13 GB checkpoint is never held in
// memory, and remembered per file in a small memo so it is hashed once, not on every run.
//
// The memo is keyed by (real path, device, inode, size, mtime, ctime), all in nanoseconds where the file
// system has them. Rewriting a file in place changes its mtime and ctime (ctime cannot be set back by
// a user, not even with `touch -d`), and writing a new file changes the inode, so a retrained checkpoint
// at the same path is always re-hashed. `verify: true` (`--verify-weights`) re-reads every file anyway.
//
// Memo format: JSON lines, each record written with one append (O_APPEND) and framed by newlines, each
// carrying a checksum of its own fields. Concurrent writers interleave whole records; a record torn by
// a crash, or damaged later, fails its checksum and is ignored (the file is simply hashed again).
// A memo entry can be lost, never trusted wrongly. When it grows past MAX_LINES it is rewritten with
// the newest record per file (temp file + rename, so readers see the old or the new file, never half).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.ts';

export interface HashOptions {
  /** Re-read every file even when the memo knows it (`--verify-weights`). */
  verify?: boolean;
  /** Memo file; null: no memo. Default `defaultMemoPath()`. */
  memo?: string | null;
  /** Bytes hashed so far of `total`, for files of at least `progressMinBytes` (default 256 MiB). */
  onProgress?: (done: number, total: number, file: string) => void;
  progressMinBytes?: number;
  /** One-line notices (a memo that cannot be written, a memo entry contradicted by --verify-weights). */
  log?: (msg: string) => void;
}

export const CHUNK_BYTES = 16 << 20;
export const PROGRESS_MIN_BYTES = 256 << 20;
const MAX_LINES = 4096;
const MEMO_VERSION = 1;

/**
 * The memo file: `$BELLM_WEIGHT_HASH_MEMO` (a path, or `off`), else
 * `$XDG_CACHE_HOME/bellm-bench/weight-hashes.jsonl`, else `~/.cache/bellm-bench/weight-hashes.jsonl`.
 */
export function defaultMemoPath(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.BELLM_WEIGHT_HASH_MEMO;
  if (v === 'off' || v === '') return null;
  if (v) return path.resolve(v);
  const base = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : null);
  return base ? path.join(base, 'bellm-bench', 'weight-hashes.jsonl') : null;
}

interface FileKey {
  path: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface MemoRecord extends FileKey {
  v: number;
  sha256: string;
  check: string;
}

const recordCheck = (k: FileKey, sha256: string) =>
  createHash('sha256').update([MEMO_VERSION, k.path, k.dev, k.ino, k.size, k.mtimeNs, k.ctimeNs, sha256].join('\0')).digest('hex').slice(0, 16);

function keyOf(file: string): FileKey {
  let real: string;
  let st: fs.BigIntStats;
  try {
    real = fs.realpathSync(file);
    st = fs.statSync(real, { bigint: true });
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!st.isFile()) throw new UserError(`${file} is not a regular file`);
  return { path: real, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

const sameKey = (a: FileKey, b: FileKey) =>
  a.path === b.path && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

function parseRecord(line: string): MemoRecord | null {
  if (!line.startsWith('{')) return null;
  let r: MemoRecord;
  try {
    r = JSON.parse(line) as MemoRecord;
  } catch {
    return null;
  }
  if (r === null || typeof r !== 'object' || r.v !== MEMO_VERSION || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return null;
  for (const k of ['path', 'dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const) if (typeof r[k] !== 'string') return null;
  return r.check === recordCheck(r, r.sha256) ? r : null;
}

/** Every intact record of the memo, oldest first (unreadable memo: none). */
function readMemo(memo: string): { records: MemoRecord[]; lines: number } {
  let text: string;
  try {
    text = fs.readFileSync(memo, 'utf8');
  } catch {
    return { records: [], lines: 0 };
  }
  const lines = text.split('\n').filter((l) => l !== '');
  return { records: lines.map(parseRecord).filter((r): r is MemoRecord => r !== null), lines: lines.length };
}

function lookup(memo: string, key: FileKey): string | null {
  const { records } = readMemo(memo);
  for (let i = records.length - 1; i >= 0; i--) if (sameKey(records[i], key)) return records[i].sha256;
  return null;
}

const warned = new Set<string>();

function remember(memo: string, key: FileKey, sha256: string, log?: (msg: string) => void): void {
  const rec: MemoRecord = { v: MEMO_VERSION, ...key, sha256, check: recordCheck(key, sha256) };
  try {
    fs.mkdirSync(path.dirname(memo), { recursive: true });
    // Leading and trailing newline: a record torn by a crash never swallows the next one.
    fs.appendFileSync(memo, `\n${JSON.stringify(rec)}\n`);
    const { records, lines } = readMemo(memo);
    if (lines > MAX_LINES) compact(memo, records);
  } catch (e) {
    if (!warned.has(memo)) {
      warned.add(memo);
      log?.(`weight hash memo ${memo} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); weights will be hashed again next run (set BELLM_WEIGHT_HASH_MEMO to another file, or off)`);
    }
  }
}

/** Keep the newest record per path whose file still exists with the same key. */
function compact(memo: string, records: MemoRecord[]): void {
  const newest = new Map<string, MemoRecord>();
  for (const r of records) newest.set(r.path, r);
  const keep = [...newest.values()].filter((r) => {
    try {
      return sameKey(keyOf(r.path), r);
    } catch {
      return false;
    }
  });
  const tmp = `${memo}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
  fs.renameSync(tmp, memo);
}

/** sha256 of a file's bytes, read in CHUNK_BYTES pieces. */
export function sha256Stream(file: string, onProgress?: (done: number, total: number) => void): string {
  return hashStream(file, { onProgress });
}

/**
 * A digest of a file read in CHUNK_BYTES pieces (never the whole file in memory): sha256 by default;
 * `prefix` is hashed first (git's blob hash is sha1 over `blob <size>\0` and the bytes).
 */
export function hashStream(file: string, o: { algorithm?: 'sha256' | 'sha1'; prefix?: string; onProgress?: (done: number, total: number) => void } = {}): string {
  const h = createHash(o.algorithm ?? 'sha256');
  if (o.prefix !== undefined) h.update(o.prefix);
  const onProgress = o.onProgress;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const total = fs.fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(1, total)));
    let done = 0;
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      h.update(buf.subarray(0, n));
      done += n;
      onProgress?.(done, total);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: read error while hashing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** The sha256 of one file: from the memo when its key matches (and not `verify`), else read and remembered. */
export function hashFile(file: string, o: HashOptions = {}): string {
  const memo = o.memo === undefined ? defaultMemoPath() : o.memo;
  const key = keyOf(file);
  const known = memo ? lookup(memo, key) : null;
  if (known && !o.verify) return known;
  const size = Number(key.size);
  const sha = sha256Stream(key.path, size >= (o.progressMinBytes ?? PROGRESS_MIN_BYTES) && o.onProgress ? (d, n) => o.onProgress!(d, n, file) : undefined);
  // The key again: a file that changed while it was read is not remembered under either state.
  const after = keyOf(file);
  if (!sameKey(key, after)) throw new UserError(`${file} changed while it was being hashed; run again when it is no longer being written`);
  if (known && known !== sha) o.log?.(`${file}: content differs from the remembered hash although size and times match; using the new hash`);
  if (memo && known !== sha) remember(memo, key, sha, o.log);
  return sha;
}

/** `{ name relative to dir: sha256 }` for the given files of one directory, in sorted order. */
export function hashFiles(dir: string, names: readonly string[], o: HashOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of [...names].sort()) out[n] = hashFile(path.join(dir, n), o);
  return out;
}

/** One hex digest over `{name: sha256}` (names sorted): the identity of a set of files. */
export function digestOfHashes(files: Record<string, string>): string {
  const h = createHash('sha256');
  for (const n of Object.keys(files).sort()) h.update(`${n}\0${files[n]}\n`);
  return h.digest('hex');
}
