import test from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddingCache, sha1 } from '../../src/model/embedding-cache.ts';

const vec = (x: number) => Float32Array.from([x, x + 0.5, -x]);

test('vectors come back after a reopen; duplicates are stored once', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cache-'));
  const a = new EmbeddingCache(dir, 'k', 3, { m: 1 });
  a.putBatch(['one', 'two'], [vec(1), vec(2)]);
  a.putBatch(['two', 'three'], [vec(9), vec(3)]);
  t.deepEqual(Array.from(a.get('three')!), [3, 3.5, -3]);
  const b = new EmbeddingCache(dir, 'k', 3, { m: 1 });
  t.is(b.size, 3);
  t.deepEqual(Array.from(b.get('two')!), [2, 2.5, -2]);
  t.is(b.get('four'), undefined);
  t.deepEqual(JSON.parse(readFileSync(join(dir, 'k.json'), 'utf8')), { m: 1 });
});

test('a torn tail (crash mid-append) is dropped and appends line up again', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cache-'));
  const a = new EmbeddingCache(dir, 'k', 3, {});
  a.putBatch(['one', 'two'], [vec(1), vec(2)]);
  // The vectors of a third batch were half written and its index line never came.
  appendFileSync(join(dir, 'k.f32'), Buffer.alloc(7));
  appendFileSync(join(dir, 'k.idx'), sha1('three').slice(0, 10));
  const b = new EmbeddingCache(dir, 'k', 3, {});
  t.is(b.size, 2);
  t.false(b.has('three'));
  b.putBatch(['three'], [vec(3)]);
  const c = new EmbeddingCache(dir, 'k', 3, {});
  t.is(c.size, 3);
  t.deepEqual(Array.from(c.get('three')!), [3, 3.5, -3]);
  t.deepEqual(Array.from(c.get('one')!), [1, 1.5, -1]);
});

test('an index line without its vector is not trusted', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-cache-'));
  const a = new EmbeddingCache(dir, 'k', 3, {});
  a.putBatch(['one'], [vec(1)]);
  writeFileSync(join(dir, 'k.idx'), `${sha1('one')}\n${sha1('two')}\n`);
  const b = new EmbeddingCache(dir, 'k', 3, {});
  t.true(b.has('one'));
  t.false(b.has('two'));
});
