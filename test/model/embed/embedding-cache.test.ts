// The embedding cache: vectors come back exactly; concurrent writers and crashes never shift a row; any
// damage to the files on disk is detected, so a vector is either returned exactly as stored or not at
// all (then recomputed), with a one-line notice. These tests damage whatever files the cache wrote, so
// they hold for any on-disk format.
import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { EmbeddingCache, MemoryStore } from '../../../src/model/embed/embedding-cache.ts';
import { tempDir } from '../../helpers/damaged.ts';
import { repoRoot } from '../../helpers/shared.ts';

const DIM = 16;
/** A distinct, finite vector per text. */
function vecOf(text: string): Float32Array {
  const v = new Float32Array(DIM);
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  for (let i = 0; i < DIM; i++) { h = Math.imul(h ^ i, 16777619) >>> 0; v[i] = (h / 2 ** 32) * 2 - 1; }
  return v;
}
const texts = (n: number, tag = 's') => Array.from({ length: n }, (_, i) => `${tag} sentence ${i}`);
const open = (dir: string, notes: string[] = []) => new EmbeddingCache(dir, 'k'.repeat(64), DIM, { m: 1 }, { log: (m) => notes.push(m) });

/** Every text is either absent or exactly its vector; returns how many are present. */
function checkExact(t: Parameters<typeof tempDir>[0], c: EmbeddingCache, all: readonly string[]): number {
  let present = 0;
  for (const s of all) {
    const v = c.get(s);
    t.is(c.has(s), v !== undefined, s);
    if (v === undefined) continue;
    present++;
    t.deepEqual(Array.from(v), Array.from(vecOf(s)), `wrong vector for "${s}"`);
  }
  return present;
}

/** The data files the cache wrote (everything except small metadata), biggest first. */
function dataFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
}

function fill(dir: string, n = 40): string[] {
  const all = texts(n);
  const c = open(dir);
  for (let i = 0; i < n; i += 8) c.putBatch(all.slice(i, i + 8), all.slice(i, i + 8).map(vecOf));
  c.close(); // the writer is done (as after its process exits)
  return all;
}

test('vectors come back after a reopen; duplicates are stored once; the memory store behaves the same', (t) => {
  const dir = tempDir(t);
  const a = open(dir);
  a.putBatch(['one', 'two'], [vecOf('one'), vecOf('two')]);
  a.putBatch(['two', 'three'], [vecOf('two'), vecOf('three')]);
  t.is(a.size, 3);
  t.deepEqual(Array.from(a.get('three')!), Array.from(vecOf('three')));
  const b = open(dir);
  t.is(b.size, 3);
  t.is(checkExact(t, b, ['one', 'two', 'three', 'four']), 3);
  const m = new MemoryStore(DIM);
  m.putBatch(['x'], [vecOf('x')]);
  t.true(m.has('x'));
  t.deepEqual(Array.from(m.get('x')!), Array.from(vecOf('x')));
  t.is(m.get('y'), undefined);
});

test('two writers on one cache (overlapping sentences), then a torn tail: every vector is still right', (t) => {
  const dir = tempDir(t);
  const all = texts(60);
  const w1 = open(dir), w2 = open(dir);
  // interleaved batches; both store sentences 20..39, and w2 writes them first
  for (let k = 0; k < 8; k++) {
    w1.putBatch(all.slice(5 * k, 5 * k + 5), all.slice(5 * k, 5 * k + 5).map(vecOf));
    if (k < 4) w2.putBatch(all.slice(20 + 5 * k, 25 + 5 * k), all.slice(20 + 5 * k, 25 + 5 * k).map(vecOf));
  }
  w2.putBatch(all.slice(45, 60), all.slice(45, 60).map(vecOf));
  w1.close();
  w2.close();
  // a crash mid-append: half a record at the end of the biggest file
  const f = dataFiles(dir)[0];
  fs.appendFileSync(f, Buffer.alloc(DIM * 2 + 3, 7));
  const notes: string[] = [];
  const r = open(dir, notes);
  t.is(checkExact(t, r, all), all.length - 5); // 40..44 were never stored
  // appends after the repair line up
  r.putBatch(all.slice(40, 45), all.slice(40, 45).map(vecOf));
  t.is(checkExact(t, open(dir), all), all.length);
});

const damages: [string, (f: string) => void][] = [
  ['one flipped byte in the middle', (f) => { const b = fs.readFileSync(f); b[b.length >> 1] ^= 0x10; fs.writeFileSync(f, b); }],
  ['a NaN written over a value', (f) => { const b = fs.readFileSync(f); b.writeUInt32LE(0x7fc00000, (b.length >> 1) & ~3); fs.writeFileSync(f, b); }],
  ['7 bytes cut out of the middle (a split record)', (f) => { const b = fs.readFileSync(f); const m = b.length >> 1; fs.writeFileSync(f, Buffer.concat([b.subarray(0, m), b.subarray(m + 7)])); }],
  ['5 bytes inserted inside a record', (f) => { const b = fs.readFileSync(f); const m = (b.length >> 1) + 13; fs.writeFileSync(f, Buffer.concat([b.subarray(0, m), Buffer.from('xxxxx'), b.subarray(m)])); }],
  ['the first quarter zeroed', (f) => { const b = fs.readFileSync(f); b.fill(0, 0, b.length >> 2); fs.writeFileSync(f, b); }],
  ['the file deleted', (f) => fs.rmSync(f)],
  ['the file truncated to a third', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 3))],
];
for (const [name, damage] of damages) {
  test(`damage is detected, never trusted: ${name}`, (t) => {
    const dir = tempDir(t);
    const all = fill(dir);
    for (const f of dataFiles(dir)) damage(f);
    const notes: string[] = [];
    const c = open(dir, notes);
    const present = checkExact(t, c, all);
    t.true(present < all.length, 'something was lost');
    if (name !== 'the file deleted') {
      t.is(notes.length, 1, notes.join(' | '));
      t.regex(notes[0], /embedding cache .*: \d+ damaged .* recomputed/);
    }
    // recomputing the lost ones makes the cache whole again, and a reopen is quiet
    const missing = all.filter((s) => !c.has(s));
    c.putBatch(missing, missing.map(vecOf));
    const quiet: string[] = [];
    t.is(checkExact(t, open(dir, quiet), all), all.length);
    t.deepEqual(quiet, []);
  });
}

test('concurrent writer processes on one cache key: every vector right afterwards', async (t) => {
  const dir = tempDir(t);
  const script = `import { EmbeddingCache } from ${JSON.stringify(path.join(repoRoot, 'src/model/embed/embedding-cache.ts'))};
    const [dir, from, to] = process.argv.slice(1).map((x, i) => i ? Number(x) : x);
    const DIM = ${DIM};
    const vecOf = ${vecOf.toString()};
    const c = new EmbeddingCache(dir, 'k'.repeat(64), ${DIM}, { m: 1 });
    for (let i = from; i < to; i += 3) {
      const ts = []; for (let j = i; j < Math.min(i + 3, to); j++) ts.push('s sentence ' + j);
      c.putBatch(ts, ts.map(vecOf));
    }`.replace('const vecOf = function vecOf', 'const vecOf = function');
  const run = promisify(execFile);
  const args = (from: number, to: number) => [process.execPath, ['--import=tsx', '--input-type=module', '-e', script, dir, String(from), String(to)], { cwd: repoRoot }] as const;
  await Promise.all([run(...args(0, 300)), run(...args(100, 400)), run(...args(200, 500))]);
  t.is(checkExact(t, open(dir), texts(500)), 500);
});

test('files of the old format (<key>.f32 / <key>.idx) are ignored', (t) => {
  const dir = tempDir(t);
  const key = 'k'.repeat(64);
  fs.writeFileSync(path.join(dir, `${key}.f32`), Buffer.from(vecOf('zzz').buffer));
  fs.writeFileSync(path.join(dir, `${key}.idx`), 'not an index line\n');
  const c = open(dir);
  t.is(c.size, 0);
  t.false(c.has('s sentence 0'));
});

test("a segment still being written is never reported or repaired: its partial tail is a write in flight", (t) => {
  const dir = tempDir(t);
  const all = texts(10);
  const writer = open(dir);
  writer.putBatch(all.slice(0, 5), all.slice(0, 5).map(vecOf));
  const seg = dataFiles(dir)[0];
  const size = fs.statSync(seg).size;
  // the first bytes of the next record, as another process would see them mid-write
  fs.appendFileSync(seg, fs.readFileSync(seg).subarray(0, 40));
  const notes: string[] = [];
  const reader = open(dir, notes);
  t.deepEqual(notes, []);
  t.is(checkExact(t, reader, all), 5);
  t.is(fs.statSync(seg).size, size + 40);
  writer.close();
});
